"""A broker outage is one WARNING and one INFO, not thousands of lines (issue 7, repro 6).

The outage is made on a private broker (``deploy/local/kafka.sh`` with its own
``KAFKA_DIR`` and ports), never on the shared one other tests use. Before the fix an
8 s outage wrote 35,606 ERROR lines (~3,500 lines/s), tracebacks and terminal codes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streams.engine.config import EngineConfig
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.integration.dataset import build
from tests.integration.harness import Worker, read_views
from tests.integration.private_broker import PrivateBroker
from tests.oracle import batch

pytestmark = pytest.mark.integration
OUTAGE_S = 8.0
MAX_LINES = 50


def test_a_broker_outage_is_one_warning_and_one_info(
    private_broker: PrivateBroker, topic_prefix: str, tmp_path: Path
) -> None:
    brokers = private_broker.address
    topics = TopicNames.with_prefix(topic_prefix)
    ensure_topics(brokers, topics.created, 4, topics.configs)
    data = build(leads=400, seed=71)
    half = len(data.messages) // 2
    produce(data.messages[:half], brokers, topics)
    worker = Worker(brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                    extra=("--progress-every", "3600"))
    worker.start()
    worker.wait_caught_up(topics.consumed)
    log = tmp_path / f"{worker.app_id}.log"
    before = log.read_bytes()

    private_broker.stop()
    time.sleep(OUTAGE_S)
    private_broker.start()
    produce(data.messages[half:], brokers, topics)
    worker.wait_caught_up(topics.consumed, timeout=240)
    deadline = time.monotonic() + 30  # the outage's end is seen within a few seconds
    while b"reachable again" not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.5)
    during = log.read_bytes()[len(before):].decode(errors="replace").splitlines()
    assert worker.stop() == 0, worker.tail()

    print(f"\noutage of {OUTAGE_S:g}s (plus the broker's restart): {len(during)} log lines:\n"
          + "\n".join(during))
    assert len(during) < MAX_LINES
    assert sum("is unreachable" in line and "WARNING" in line for line in during) == 1
    assert sum("reachable again" in line and "INFO" in line for line in during) == 1
    assert not [line for line in during if "ERROR" in line or "Traceback" in line]
    assert b"\x1b[" not in log.read_bytes()  # no terminal control codes in a log file
    assert_same(batch(data.valid, EngineConfig()), read_views(worker.dsn))


def test_a_worker_started_before_its_broker_waits_for_it(
    private_broker: PrivateBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """--broker-wait: the worker retries at start instead of exiting with a traceback."""
    brokers = private_broker.address
    topics = TopicNames.with_prefix(topic_prefix)
    data = build(leads=100, seed=72)
    private_broker.stop()
    worker = Worker(brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                    extra=("--broker-wait", "150"))
    try:
        worker.start()
        _wait_for_log(worker, "retrying for up to", timeout=120)
    finally:
        private_broker.start()
    ensure_topics(brokers, topics.created, 4, topics.configs)  # the worker may be first
    produce(data.messages, brokers, topics)
    worker.wait_caught_up(topics.consumed, timeout=240)
    assert worker.stop() == 0, worker.tail()
    log = worker.tail(1000)
    assert "Traceback" not in log
    assert_same(batch(data.valid, EngineConfig()), read_views(worker.dsn))


def _wait_for_log(worker: Worker, text: str, timeout: float) -> None:
    """Block until the worker logged ``text`` (its first retry, not a guess at timing)."""
    deadline = time.monotonic() + timeout
    while text not in worker.tail(1000):
        assert worker.process is not None and worker.process.poll() is None, worker.tail()
        assert time.monotonic() < deadline, f"no {text!r} in {timeout}s:\n{worker.tail()}"
        time.sleep(0.2)
