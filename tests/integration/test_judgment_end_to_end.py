"""Real broker, real worker: a registry loaded while it runs, and every §6 view equals the oracle.

The worker holds the embedded ClickHouse and shares it through its gateway, so
``leadclock campaigns load`` (another process) reaches the same database with the
same ``chdb://`` DSN (docs/embedded-sharing.md). A bad file is refused whole while the
worker runs; a good one lands between two halves of the events; the views, read
through the gateway while the worker still runs and directly after it stops, equal the
§6 oracle; the worker's live report prints the scorecard.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sinks import endpoint
from sinks.client import connect, route
from streams.demo_campaigns import demo_campaigns, registry_csv
from streams.engine.config import EngineConfig
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.integration.dataset import build
from tests.integration.harness import Worker, clickhouse_dsn, run_cli
from tests.judgment_db import assert_same_judgment, read_judgment
from tests.oracle_judgment import judge

pytestmark = pytest.mark.integration
LEADS = 300


def _wait_shared(worker: Worker, directory: Path, timeout: float = 120) -> None:
    """Block until the worker publishes its gateway (it holds the directory by then)."""
    deadline = time.monotonic() + timeout
    assert worker.process is not None
    while (found := endpoint.read(directory)) is None or found.pid != worker.process.pid:
        if worker.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the worker did not share its database:\n{worker.tail()}")
        time.sleep(0.2)


def test_registry_loaded_while_the_worker_runs_and_the_views_equal_the_oracle(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    data = build(leads=LEADS)
    topics = TopicNames.with_prefix(topic_prefix)
    ensure_topics(kafka_brokers, (*topics.events, topics.dlq), 4)
    dsn = clickhouse_dsn(tmp_path, "clickhouse")
    embedded = dsn.startswith("chdb://")
    worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                    dsn=dsn, extra=("--report-every", "2"))
    worker.start()
    if embedded:
        _wait_shared(worker, Path(os.path.realpath(dsn.removeprefix("chdb://"))))
    half = len(data.messages) // 2
    produce(data.messages[:half], kafka_brokers, topics)

    bad = tmp_path / "bad.csv"
    bad.write_text(registry_csv(LEADS).replace("2026-11-30,2026-11-30", "2026-11-30,2026-11-29"),
                   encoding="utf-8", newline="")
    refused = run_cli("campaigns", "load", str(bad), "--clickhouse", dsn)
    assert refused.returncode == 1
    assert b"bad.csv:11: ends_on: 2026-11-29 is before starts_on 2026-11-30" in refused.stderr
    good = tmp_path / "campaigns.csv"
    good.write_text(registry_csv(LEADS), encoding="utf-8", newline="")
    loaded = run_cli("campaigns", "load", str(good), "--clickhouse", dsn)
    assert loaded.returncode == 0, loaded.stderr.decode()
    if embedded and worker.process is not None:
        holder = f"held by pid {worker.process.pid} through http://127.0.0.1:"
        assert holder.encode() in loaded.stderr
    produce(data.messages[half:], kafka_brokers, topics)
    worker.wait_caught_up(topics.events)

    expected = judge(data.valid, EngineConfig(), demo_campaigns(LEADS))
    assert expected.scorecard["newsletter-jan"].verdict == "met"
    assert expected.scorecard["cyber-monday-blast"].verdict == "maturing"  # no events yet
    shared = connect(dsn)  # through the running worker's gateway
    found = route(shared)
    assert found is not None and (found.gateway is not None) == embedded
    assert_same_judgment(expected, read_judgment(shared))
    shared.close()
    listed = run_cli("campaigns", "list", "--clickhouse", dsn)
    assert listed.returncode == 0, listed.stderr.decode()
    assert len(listed.stdout.decode().splitlines()) == 2 + len(demo_campaigns(LEADS))

    deadline = time.monotonic() + 60
    while "newsletter-jan" not in worker.tail(1_000_000):  # the live scorecard
        assert time.monotonic() < deadline, worker.tail()
        time.sleep(0.5)
    assert worker.stop() == 0, worker.tail()
    log = worker.tail(1_000_000)
    assert "scorecard as of 2026-" in log
    assert "cyber-monday-blast" in log

    direct = connect(dsn)
    assert_same_judgment(expected, read_judgment(direct))
    direct.close()
