"""Effectively-once under kill -9, broker restarts, sink outages and worker takeover.

Each test streams a dataset with duplicates, late touches and malformed messages into
real Kafka while it breaks something, then checks that the views equal the oracle to
the minor unit and that every message is accounted for exactly once.
"""

from __future__ import annotations

import random
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from streams.engine.config import EngineConfig
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.integration.dataset import Dataset, build
from tests.integration.harness import (
    Worker,
    accounting,
    clickhouse_dsn,
    merge_stores,
    read_topic,
    read_views,
)
from tests.integration.private_broker import PrivateBroker
from tests.oracle import batch

pytestmark = pytest.mark.integration


def _stream(data: Dataset, brokers: str, topics: TopicNames, rate: float) -> threading.Thread:
    """Produce the dataset in the background at ``rate`` messages/s."""
    ensure_topics(brokers, (*topics.events, topics.dlq), 4)
    thread = threading.Thread(target=produce, args=(data.messages, brokers, topics),
                              kwargs={"rate": rate}, daemon=True)
    thread.start()
    return thread


def _check(data: Dataset, dsn: str, brokers: str, topics: TopicNames) -> None:
    assert_same(batch(data.valid, EngineConfig()), read_views(dsn))
    counts = accounting(dsn)
    distinct = len({(e.lead_id, e.event_id) for e in data.valid})
    assert counts == {
        "accepted": distinct,
        "duplicate": len(data.valid) - distinct,
        "rejected": len(data.rejected),
    }
    assert sum(counts.values()) == len(data.messages)
    dead = read_topic(brokers, topics.dlq)
    by_source = {headers["leadclock-source"]: value for _, value, headers in dead}
    assert sorted(by_source.values()) == sorted(data.rejected)


def _first_message_delays(worker: Worker) -> list[float]:
    return [float(s) for s in re.findall(r"first message ([0-9.]+)s after start",
                                         worker.tail(100_000))]


def _received(worker: Worker) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"worker: ([0-9,]+) received",
                                                         worker.tail(100_000))]


def test_kill_9_ten_times_while_streaming(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    data = build(leads=9_500, seed=21)
    assert len(data.messages) >= 50_000
    topics = TopicNames.with_prefix(topic_prefix)
    producer = _stream(data, kafka_brokers, topics, rate=2_500)
    worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                    extra=("--progress-every", "1", "--instance-id", "w-0"))
    rng = random.Random(4)
    worker.start()
    for run in range(10):
        worker.wait_processing(run + 1)  # kill while it works, not while it starts
        time.sleep(rng.uniform(0.2, 4.0))
        worker.stop(signal.SIGKILL)
        worker.start()
    producer.join()
    worker.wait_caught_up(topics.events, timeout=300)
    assert worker.stop() == 0, worker.tail()
    delays = _first_message_delays(worker)
    print(f"\nrecovery: first message {min(delays):.1f}-{max(delays):.1f}s after "
          f"(re)start, {len(delays)} starts; messages received in all runs: "
          f"{sum(_received_per_run(worker)):,} for {len(data.messages):,} produced")
    _check(data, worker.dsn, kafka_brokers, topics)


def _received_per_run(worker: Worker) -> list[int]:
    """Last 'received' count printed by each run (runs are separated by the banner)."""
    runs = worker.tail(1_000_000).split("processing: first message")
    last = []
    for run in runs[1:]:
        counts = [int(n.replace(",", "")) for n in
                  re.findall(r"worker: ([0-9,]+) received", run)]
        last.append(counts[-1] if counts else 0)
    return last


def test_sink_outage_is_retried_without_loss(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    data = build(leads=1_500, seed=22)
    topics = TopicNames.with_prefix(topic_prefix)
    _stream(data, kafka_brokers, topics, rate=0).join()
    worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                    env={"LEADCLOCK_FAULTS": "flush_transient=5"})
    worker.start()
    worker.wait_caught_up(topics.events)
    assert worker.stop() == 0, worker.tail()
    assert worker.tail(100_000).count("flush failed (injected fault") == 5
    _check(data, worker.dsn, kafka_brokers, topics)


def test_two_workers_one_killed(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    data = build(leads=4_000, seed=23)
    topics = TopicNames.with_prefix(topic_prefix)
    producer = _stream(data, kafka_brokers, topics, rate=2_500)
    group = f"{topic_prefix}w"
    first = Worker(kafka_brokers, topic_prefix, tmp_path / "a", app_id=group)
    second = Worker(kafka_brokers, topic_prefix, tmp_path / "b", app_id=group)
    for worker in (first, second):
        worker.workdir.mkdir()
        worker.dsn = clickhouse_dsn(worker.workdir, "clickhouse")
        worker.start()
    time.sleep(12)
    first.stop(signal.SIGKILL)
    producer.join()
    second.wait_caught_up(topics.events, timeout=300)
    assert second.stop() == 0, second.tail()
    merged = clickhouse_dsn(tmp_path, "merged")
    merge_stores(merged, [first.dsn, second.dsn])
    _check(data, merged, kafka_brokers, topics)


def test_two_workers_starting_together_on_full_topics(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Partitions that move before anyone committed them are still read from offset 0.

    While a worker restores its table, Faust drains and drops records of its not yet
    active partitions, and its seek back to the committed offset does nothing for a
    partition with none (see ``streams/faust_app/offset_guard.py``). Full topics and two workers
    joining a new group at once make that window likely.
    """
    data = build(leads=2_000, seed=26)
    topics = TopicNames.with_prefix(topic_prefix)
    _stream(data, kafka_brokers, topics, rate=0).join()
    group = f"{topic_prefix}w"
    workers = [Worker(kafka_brokers, topic_prefix, tmp_path / name, app_id=group)
               for name in ("a", "b")]
    for worker in workers:
        worker.workdir.mkdir()
        worker.dsn = clickhouse_dsn(worker.workdir, "clickhouse")
        worker.start()
    workers[0].wait_caught_up(topics.events, timeout=120)
    for worker in workers:
        assert worker.stop() == 0, worker.tail()
    merged = clickhouse_dsn(tmp_path, "merged")
    merge_stores(merged, [worker.dsn for worker in workers])
    _check(data, merged, kafka_brokers, topics)


def test_broker_restart_mid_stream(
    private_broker: PrivateBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """On a broker of its own (stopping the shared one disturbed other tests)."""
    brokers = private_broker.address
    data = build(leads=3_000, seed=24)
    topics = TopicNames.with_prefix(topic_prefix)
    first_half = Dataset(data.messages[: len(data.messages) // 2], [], [], 0)
    second_half = Dataset(data.messages[len(data.messages) // 2:], [], [], 0)
    _stream(first_half, brokers, topics, rate=0).join()
    worker = Worker(brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w")
    worker.start()
    time.sleep(6)
    private_broker.stop()
    time.sleep(3)
    private_broker.start()
    _stream(second_half, brokers, topics, rate=0).join()
    worker.wait_caught_up(topics.consumed, timeout=240)
    assert worker.stop() == 0, worker.tail()
    _check(data, worker.dsn, brokers, topics)


def test_refused_lead_is_dead_lettered_and_does_not_block(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    data = build(leads=600, seed=25)
    refused = data.valid[0].lead_id
    topics = TopicNames.with_prefix(topic_prefix)
    _stream(data, kafka_brokers, topics, rate=0).join()
    worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                    env={"LEADCLOCK_FAULTS": f"refuse_lead={refused}"})
    worker.start()
    worker.wait_caught_up(topics.events)
    assert worker.stop() == 0, worker.tail()
    others = [e for e in data.valid if e.lead_id != refused]
    assert_same(batch(others, EngineConfig()), read_views(worker.dsn))
    dead = [(key, headers) for key, _, headers in read_topic(kafka_brokers, topics.dlq)
            if headers.get("leadclock-source") == b"sink"]
    assert dead and all(key == refused.encode() for key, _ in dead)
    assert all(h["leadclock-reason"].startswith(b"sink: ") for _, h in dead)
