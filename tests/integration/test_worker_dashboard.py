"""`leadclock worker --dashboard-port N`: a real worker serves the page over what it wrote."""

from __future__ import annotations

import re
import socket
import time
from collections import defaultdict
from pathlib import Path

import pytest

from streams.engine.config import EngineConfig
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.integration.dataset import build
from tests.integration.harness import Worker, run_cli
from tests.integration.private_broker import free_port
from tests.oracle import batch
from tests.web.http import call

pytestmark = pytest.mark.integration


def _page_url(worker: Worker, timeout: float = 120) -> str:
    """The URL of the worker's `dashboard: URL` line, once it has printed it."""
    deadline = time.monotonic() + timeout
    while True:
        found = re.search(r"^dashboard: (http://\S+)$", worker.tail(1_000_000), re.MULTILINE)
        if found:
            return found.group(1)
        assert worker.process is not None
        if worker.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no dashboard line:\n{worker.tail()}")
        time.sleep(0.2)


def _wait_for_line(worker: Worker, line: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while line not in worker.tail(1_000_000).splitlines():
        if time.monotonic() > deadline:
            raise AssertionError(f"no line {line!r}:\n{worker.tail()}")
        time.sleep(0.2)


def _linear_usd(url: str) -> dict[str, int]:
    reply = call(f"{url}api/model-comparison?currency=USD")
    assert reply.status == 200, reply.body
    body = reply.json()
    at = body["columns"].index
    return {str(row[at("campaign_id")]): int(row[at("linear")]) for row in body["rows"]}


def test_the_worker_serves_the_dashboard_over_its_data(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    data = build(leads=300)
    topics = TopicNames.with_prefix(topic_prefix)
    ensure_topics(kafka_brokers, (*topics.events, topics.dlq), 4)
    produce(data.messages, kafka_brokers, topics)
    port = free_port()
    worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                    extra=("--dashboard-port", str(port), "--report-every", "1"))
    worker.start()
    url = _page_url(worker)
    assert url == f"http://127.0.0.1:{port}/"
    assert call(url).status == 200  # the page itself, while the worker consumes
    worker.wait_caught_up(topics.events)

    expected: dict[str, int] = defaultdict(int)
    for (campaign, model, currency, _, _), revenue in batch(data.valid,
                                                             EngineConfig()).revenue.items():
        if model == "linear" and currency == "USD" and campaign != "(none)":
            expected[campaign] += revenue
    # Caught up means flushed (the sink writes before each commit); poll all the same,
    # so the test never depends on when another handle sees the last write.
    deadline = time.monotonic() + 60
    while (shown := _linear_usd(url)) != dict(expected) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert shown == dict(expected)
    meta = call(f"{url}api/meta").json()
    assert meta["as_of"] and "USD" in meta["currencies"]
    assert call(f"{url}api/scorecard?model=nope").status == 400
    # The live table in the terminal says where the page is, right under it.
    _wait_for_line(worker, f"dashboard: {url} (the same, with charts)")

    # `leadclock sql` in another process reads the same data through the worker.
    query = run_cli("sql", "SELECT campaign_id, linear FROM v_model_comparison WHERE "
                    "currency = 'USD' ORDER BY campaign_id", "--format", "csv",
                    "--clickhouse", worker.dsn)
    assert query.returncode == 0, query.stderr.decode()
    lines = query.stdout.decode().splitlines()
    assert lines[0] == "campaign_id,linear"
    assert lines[1:] == [f"{campaign},{revenue}" for campaign, revenue in sorted(shown.items())]
    if worker.dsn.startswith("chdb:"):
        assert worker.process is not None
        assert f"held by pid {worker.process.pid} through http://127.0.0.1:" in (
            query.stderr.decode())
    refused = run_cli("sql", "SELECT * FROM file('/etc/hostname', 'LineAsString')",
                      "--clickhouse", worker.dsn)
    assert refused.returncode == 1
    assert "(READONLY)" in refused.stderr.decode().splitlines()[-1]

    assert worker.stop() == 0, worker.tail()
    with socket.socket() as probe:  # nothing listens there any more (the page stopped)
        # As the server does: closed connections of the test (TIME_WAIT) are no listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()


def test_a_busy_dashboard_port_stops_the_worker_in_one_line(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                        extra=("--dashboard-port", str(port)))
        worker.start()
        assert worker.process is not None
        assert worker.process.wait(120) == 1
        assert worker.log is not None
        worker.log.close()
    log = worker.tail()
    assert "Traceback" not in log
    assert (f"leadclock worker: error: port {port} on 127.0.0.1 is already in use (another "
            "dashboard?); choose another with --dashboard-port") in log.splitlines()
