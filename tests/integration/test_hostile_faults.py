"""Stopping always works, and kill -9 during the repartition hop stays exact.

A worker asked to stop must stop within its ``--shutdown-timeout`` in every state: with
ClickHouse never coming back, after a bug, with a flush stuck in its thread. And a
worker killed while it moves misrouted events to their lead's partition must converge
to the exact views when restarted (a forward sent twice is a duplicate at the same
original position).
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest

from schemas.events import Purchase, Rejection
from schemas.validation import parse_event
from streams.kafka.topics import TopicNames
from tests.integration.dataset import build
from tests.integration.harness import Worker
from tests.integration.hostile import PARTITIONS, Hostile, crc32_partition
from tests.integration.test_hostile_input import _setup, check

pytestmark = pytest.mark.integration


def _some_events(hostile: Hostile, topics: TopicNames, leads: int, seed: int) -> None:
    """Demo events on CRC32 or random partitions (mostly away from their lead's)."""
    _send_events(hostile, topics, build(leads=leads, seed=seed).messages, random.Random(seed))


def _send_events(hostile: Hostile, topics: TopicNames, messages: list[bytes],
                 rng: random.Random) -> None:
    for message in messages:
        parsed = parse_event(message)
        if isinstance(parsed, Rejection):
            hostile.send(topics.calls, rng.randrange(PARTITIONS), None, message)
            continue
        partition = (crc32_partition(parsed.lead_id) if rng.random() < 0.5
                     else rng.randrange(PARTITIONS))
        topic = (topics.purchases if isinstance(parsed, Purchase)
                 else topics.for_type(parsed.touch_type))
        hostile.send(topic, partition, parsed.lead_id.encode(), message)


def _worker(brokers: str, prefix: str, tmp_path: Path, *extra: str,
            faults: str = "") -> Worker:
    worker = Worker(brokers, prefix, tmp_path, app_id=f"{prefix}w",
                    extra=("--progress-every", "1", *extra),
                    env={"LEADCLOCK_FAULTS": faults} if faults else {})
    worker.start()
    return worker


def _finish_and_check(worker: Worker, hostile: Hostile, brokers: str,
                      topics: TopicNames) -> None:
    """Restart without faults, catch up, stop cleanly: nothing was lost or doubled."""
    worker.env = {}
    worker.start()
    worker.wait_caught_up(topics.consumed, timeout=300)
    assert worker.stop() == 0, worker.tail()
    check(hostile, worker.dsn, brokers, topics, crashed=True)


def test_sigterm_while_clickhouse_never_comes_back_stops_in_time(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    _some_events(hostile, topics, leads=100, seed=51)
    hostile.close()
    worker = _worker(kafka_brokers, topic_prefix, tmp_path, "--shutdown-timeout", "8",
                     faults="flush_transient=1000000")
    worker.wait_processing(1)
    time.sleep(3)
    started = time.monotonic()
    assert worker.stop(signal.SIGTERM, timeout=60) == 0, worker.tail()
    took = time.monotonic() - started
    assert took < 8 + 5, f"took {took:.1f}s\n{worker.tail()}"
    assert "were not written in 4s" in worker.tail(200)
    _finish_and_check(worker, hostile, kafka_brokers, topics)


def test_an_internal_error_stops_the_worker_with_one_line(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    _some_events(hostile, topics, leads=60, seed=52)
    hostile.close()
    worker = _worker(kafka_brokers, topic_prefix, tmp_path, "--shutdown-timeout", "10",
                     faults="flush_bug=1")
    assert worker.process is not None
    assert worker.process.wait(timeout=120) == 1, worker.tail()
    last = worker.tail(1)
    assert last.startswith("leadclock worker: error: internal error: RuntimeError: "
                           "injected fault"), worker.tail()
    assert worker.tail(10_000).count("Traceback") == 1  # logged once, with its cause
    assert "were not written after the error" in worker.tail(10_000)
    _finish_and_check(worker, hostile, kafka_brokers, topics)


def test_a_stuck_flush_is_logged_and_the_worker_exits_3(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    _some_events(hostile, topics, leads=60, seed=53)
    hostile.close()
    worker = _worker(kafka_brokers, topic_prefix, tmp_path, "--shutdown-timeout", "6",
                     faults="flush_stuck=1")
    worker.wait_processing(1)
    time.sleep(3)
    started = time.monotonic()
    assert worker.stop(signal.SIGTERM, timeout=60) == 3, worker.tail()
    assert time.monotonic() - started < 6 + 6
    log = worker.tail(100_000)
    assert "did not stop within 6s" in log
    assert "in before_flush" in log  # the stuck thread's stack, from faulthandler
    _finish_and_check(worker, hostile, kafka_brokers, topics)


def test_kill_9_during_the_repartition_hop_keeps_views_exact(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    sender = threading.Thread(target=_paced, args=(hostile, topics), daemon=True)
    sender.start()
    worker = _worker(kafka_brokers, topic_prefix, tmp_path, "--instance-id", "w-0")
    rng = random.Random(5)
    for run in range(4):
        worker.wait_processing(run + 1)
        time.sleep(rng.uniform(0.3, 3.0))
        worker.stop(signal.SIGKILL)
        worker.start()
    sender.join()
    hostile.close()
    worker.wait_caught_up(topics.consumed, timeout=300)
    assert worker.stop() == 0, worker.tail()
    check(hostile, worker.dsn, kafka_brokers, topics, crashed=True)


def _paced(hostile: Hostile, topics: TopicNames) -> None:
    """Send ~15 000 messages, mostly misrouted, in ten bursts over ~10 s."""
    messages = build(leads=2_700, seed=61).messages
    rng = random.Random(61)
    started = time.monotonic()
    step = len(messages) // 10 + 1
    for burst, first in enumerate(range(0, len(messages), step), 1):
        _send_events(hostile, topics, messages[first:first + step], rng)
        ahead = burst - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
