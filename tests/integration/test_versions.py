"""Re-attribution on a real broker: replay a new version beside the live one, diff, promote,
keep it live through the worker's handoff, retire the old one.

The worker holds the embedded ClickHouse and shares it through its gateway, so the
replay, ``diff``, ``promote`` run as other processes exactly as a user runs them.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from sinks.client import connect
from sinks.version_diff import diff
from streams.engine.config import EngineConfig
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.integration.dataset import build
from tests.integration.harness import Worker, answer_from_views, run_cli
from tests.integration.hostile import PARTITIONS, Hostile, crc32_partition
from tests.oracle import Answer, batch

pytestmark = pytest.mark.integration
DAY_US = 86_400_000_000


def _revenue_by_campaign(answer: Answer) -> dict[tuple[str, str, str], int]:
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    for (campaign, model, currency, _, _), revenue in answer.revenue.items():
        sums[(campaign, model, currency)] += revenue
    return {k: v for k, v in sums.items() if v}


def _stages_by_campaign(answer: Answer) -> dict[tuple[str, str], int]:
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for (campaign, stage, _), leads in answer.stages.items():
        sums[(campaign, stage)] += leads
    return dict(sums)


def _wait_for_log(worker: Worker, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in worker.tail(1_000_000):
        assert time.monotonic() < deadline, f"no {text!r} in the worker's log:\n{worker.tail()}"
        assert worker.process is not None and worker.process.poll() is None, worker.tail()
        time.sleep(0.3)


def _sender(kind: str, brokers: str, topics: TopicNames) -> Callable[[list[bytes]], None]:
    """``leadclock produce`` (murmur2, keyed by lead), or a producer nobody here wrote:
    librdkafka's CRC32 partitioner and keys that are not the lead (or no key at all)."""
    if kind == "murmur2":
        return lambda messages: produce(messages, brokers, topics)

    def send(messages: list[bytes]) -> None:
        hostile = Hostile(brokers, topics)
        for n, message in enumerate(messages):
            try:
                fields = orjson.loads(message)
            except orjson.JSONDecodeError:
                fields = None
            record = fields if isinstance(fields, dict) else {}
            lead = str(record.get("lead_id", ""))
            key = None if n % 3 == 0 else f"not-the-lead-{n % 7}".encode()
            hostile.send(topics.for_type(record.get("type")), crc32_partition(lead), key,
                         message)
        hostile.close()

    return send


@pytest.mark.parametrize("producer", ["murmur2", "crc32-and-foreign-keys"])
def test_replay_diff_promote_handoff_retire(kafka_brokers: str, topic_prefix: str,
                                            tmp_path: Path, producer: str) -> None:
    """Also with events on other partitions than their lead's and keys that are not the
    lead: the worker's handoff finds their leads through the rerouted topic and the
    values, so version 2 still ends up exact."""
    data = build(leads=400)
    third = len(data.messages) // 3
    batches = (data.messages[:third], data.messages[third:2 * third],
               data.messages[2 * third:])
    topics = TopicNames.with_prefix(topic_prefix)
    ensure_topics(kafka_brokers, topics.created, PARTITIONS, topics.configs)
    send = _sender(producer, kafka_brokers, topics)
    cli = ("--brokers", kafka_brokers, "--topic-prefix", topic_prefix)
    live, short = EngineConfig(), EngineConfig(lookback_us=30 * DAY_US)

    send(batches[0])
    worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w")
    worker.start()
    worker.wait_caught_up(topics.consumed)
    ch = ("--clickhouse", worker.dsn)

    # Version 2: the topics as they are now, with another lookback, beside version 1.
    replayed = run_cli("replay", "--from-topics", *cli, *ch, "--lookback", "30d",
                       "--processes", "2")
    assert replayed.returncode == 0, replayed.stderr.decode()
    assert b"-> version 2 of" in replayed.stderr
    # The worker goes on writing version 1 while these arrive: version 2 lacks them.
    send(batches[1])
    worker.wait_caught_up(topics.consumed)

    client = connect(worker.dsn)
    moves = diff(client, 1, 2)
    client.close()
    so_far = [m for m in data.messages[:2 * third]]
    v1 = batch(_valid(so_far), live)
    v2 = batch(_valid(batches[0]), short)
    want = {k: (_revenue_by_campaign(v1).get(k, 0), _revenue_by_campaign(v2).get(k, 0))
            for k in set(_revenue_by_campaign(v1)) | set(_revenue_by_campaign(v2))}
    assert {m.key: (m.before, m.after) for m in moves.revenue} == {
        k: v for k, v in want.items() if v[0] != v[1]}
    stages_want = {k: (_stages_by_campaign(v1).get(k, 0), _stages_by_campaign(v2).get(k, 0))
                   for k in set(_stages_by_campaign(v1)) | set(_stages_by_campaign(v2))}
    assert {m.key: (m.before, m.after) for m in moves.stages} == {
        k: v for k, v in stages_want.items() if v[0] != v[1]}
    shown = run_cli("diff", "1", "2", *ch)
    assert shown.returncode == 0, shown.stderr.decode()
    assert b"revenue moving from version 1 to 2" in shown.stdout

    promoted = run_cli("promote", "2", *ch)
    assert promoted.returncode == 0, promoted.stderr.decode()
    _wait_for_log(worker, "version 2 is current: writing it now")
    send(batches[2])
    worker.wait_caught_up(topics.consumed)
    _wait_for_log(worker, "version 2: rewrote")
    listed = run_cli("versions", *ch)
    assert worker.stop() == 0, worker.tail()

    # Version 2 kept up: everything, under its own lookback, nothing lost or doubled.
    client = connect(worker.dsn)
    assert_same(batch(data.valid, short), answer_from_views(client))
    client.close()
    assert listed.returncode == 0 and b"current" in listed.stdout, listed.stderr.decode()

    retired = run_cli("retire", "1", *ch)
    assert retired.returncode == 0, retired.stderr.decode()
    client = connect(worker.dsn)
    for table in ("lead_events", "lead_reach", "lead_stages", "lead_credits",
                  "lead_revisions"):
        left = client.query(f"SELECT count() FROM {table} WHERE version = 1").result_rows
        assert left == [(0,)], table
    statuses = dict(client.query("SELECT version, status FROM v_versions").result_rows)
    assert statuses == {1: "retired", 2: "current"}
    assert_same(batch(data.valid, short), answer_from_views(client))
    client.close()
    refused = run_cli("retire", "2", *ch)
    assert refused.returncode == 1 and b"is current" in refused.stderr


def _valid(messages: list[bytes]) -> list:  # type: ignore[type-arg]
    from schemas.events import Rejection
    from schemas.validation import parse_event

    return [e for e in (parse_event(m) for m in messages) if not isinstance(e, Rejection)]
