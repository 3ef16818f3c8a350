"""Real broker, real worker process, embedded ClickHouse: views equal the oracle."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from sinks.client import connect
from streams.engine.config import EngineConfig
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.integration.dataset import build
from tests.integration.harness import Worker, clickhouse_dsn, read_topic, read_views, run_cli
from tests.oracle import batch

pytestmark = pytest.mark.integration


def _by_type(messages: list[bytes]) -> dict[str, list[bytes]]:
    groups: dict[str, list[bytes]] = {"purchase": [], "touch": []}
    for message in messages:
        try:
            kind = orjson.loads(message).get("type")
        except (orjson.JSONDecodeError, AttributeError):
            kind = None
        groups["purchase" if kind == "purchase" else "touch"].append(message)
    return groups


def test_worker_and_replay_equal_the_oracle_with_touches_delayed(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    data = build(leads=500)
    topics = TopicNames.with_prefix(topic_prefix)
    ensure_topics(kafka_brokers, (*topics.events, topics.dlq), 4)
    # Purchases first, touches after: every touch is "late" for the worker.
    groups = _by_type(data.messages)
    produce(groups["purchase"], kafka_brokers, topics)
    produce(groups["touch"], kafka_brokers, topics)

    worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w")
    worker.start()
    worker.wait_caught_up(topics.events)
    assert worker.stop() == 0, worker.tail()

    expected = batch(data.valid, EngineConfig())
    assert_same(expected, read_views(worker.dsn))

    client = connect(worker.dsn)
    rejected = client.query("SELECT raw, reason FROM rejected_events FINAL").result_rows
    client.close()
    assert sorted(r[0].encode() for r in rejected) == sorted(
        m.decode("utf-8", errors="replace").encode() for m in data.rejected
    )
    assert all(reason for _, reason in rejected)

    dead = read_topic(kafka_brokers, topics.dlq)
    assert sorted(value for _, value, _ in dead) == sorted(data.rejected)
    assert all(headers.get("leadclock-reason") for _, _, headers in dead)

    # The same messages replayed from a file give the same views.
    log = tmp_path / "events.ndjson"
    log.write_bytes(b"".join(m + b"\n" for m in data.messages))
    replay_dsn = clickhouse_dsn(tmp_path, "replay-ch")
    result = run_cli("replay", "--input", str(log), "--clickhouse", replay_dsn)
    assert result.returncode == 0, result.stderr.decode()
    assert_same(expected, read_views(replay_dsn))

    # And re-attributed from the topics themselves.
    topics_dsn = clickhouse_dsn(tmp_path, "from-topics-ch")
    result = run_cli("replay", "--from-topics", "--brokers", kafka_brokers,
                     "--topic-prefix", topic_prefix, "--clickhouse", topics_dsn)
    assert result.returncode == 0, result.stderr.decode()
    assert_same(expected, read_views(topics_dsn))
