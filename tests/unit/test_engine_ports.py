"""The processor and the replay through the output port, in memory (no Kafka, no chdb).

Both write to an ``OutputBuffer`` drained into ``tests.memory_port.MemoryWriter``; what
the writer holds at the end must equal the oracle, and every message must be accounted
for once, the same way by the worker's processor and by the replay.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event, Purchase
from streams.engine.accounting import Counters
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.processor import MessageProcessor
from streams.engine.replay import Record, file_records, replay
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.memory_port import MemoryWriter
from tests.messages import event_json
from tests.oracle import batch
from tests.strategies import DAY_US, event_logs

CONFIG = EngineConfig(window="1d", lookback_us=3 * DAY_US, half_life_us=DAY_US)
TOPICS = TopicNames.with_prefix("t.")
BAD = [b"not json", b'{"type": "click"}', b"[1, 2]"]


def _topic(event: Event) -> str:
    return TOPICS.purchases if isinstance(event, Purchase) else TOPICS.for_type(event.touch_type)


def _messages(log: list[Event], bad_at: list[int]) -> list[tuple[bytes | None, bytes | None, str]]:
    """(key, value, topic) of each event, with malformed messages, a tombstone and a copy
    under another key mixed in (keys play no part: the copy is a duplicate)."""
    messages: list[tuple[bytes | None, bytes | None, str]] = [
        (e.lead_id.encode(), event_json(e), _topic(e)) for e in log]
    for n, at in enumerate(bad_at):
        messages.insert(min(at, len(messages)), (b"x", BAD[n % len(BAD)], TOPICS.clicks))
    messages.append((b"gone", None, TOPICS.calls))  # a tombstone: rejected
    if log:
        messages.append((b"\xffsomeone-else", event_json(log[0]), _topic(log[0])))
    return messages


def _run_processor(messages: list[tuple[bytes | None, bytes | None, str]], flush_after: set[int],
                   writer: MemoryWriter) -> Counters:
    counters, dead = Counters(), []
    buffer = OutputBuffer(CONFIG)
    processor = MessageProcessor({}, buffer, dead.append, counters)
    offsets = dict.fromkeys(TOPICS.events, 0)
    for n, (key, value, topic) in enumerate(messages):
        processor.process(key, value, topic, 0, offsets[topic])
        offsets[topic] += 1
        if n in flush_after:
            buffer.flush(writer)
    buffer.flush(writer)
    assert len(dead) == counters.rejected
    return counters


def _records(messages: list[tuple[bytes | None, bytes | None, str]]) -> list[Record]:
    offsets = dict.fromkeys(TOPICS.events, 0)
    records: list[Record] = []
    for key, value, topic in messages:
        records.append(((topic, 0, offsets[topic]), key, value))
        offsets[topic] += 1
    return records


@settings(max_examples=150, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False),
       bad_at=st.lists(st.integers(0, 30), max_size=3), data=st.data())
def test_processor_through_the_port_equals_the_oracle(log, order, bad_at, data) -> None:
    shuffled = list(log)
    order.shuffle(shuffled)
    messages = _messages(shuffled, bad_at)
    flush_after = data.draw(st.sets(st.integers(0, len(messages))))
    writer = MemoryWriter()
    counters = _run_processor(messages, flush_after, writer)
    assert_same(batch(log, CONFIG), writer.answer())
    distinct = {(e.lead_id, e.event_id) for e in log}
    assert counters.accepted == len(distinct)
    assert counters.received == len(messages) == len(writer.ledger)
    assert counters.rejected == len(bad_at) + 1 == len(writer.rejected)
    assert counters.duplicates == len(log) - len(distinct) + bool(log)
    assert counters.accepted + counters.duplicates + counters.rejected == counters.received


@settings(max_examples=150, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False),
       bad_at=st.lists(st.integers(0, 30), max_size=3), max_pending=st.integers(1, 8))
def test_replay_through_the_port_equals_the_oracle_and_the_worker(
    log, order, bad_at, max_pending
) -> None:
    shuffled = list(log)
    order.shuffle(shuffled)
    messages = _messages(shuffled, bad_at)
    writer = MemoryWriter()
    stats = replay(_records(messages), OutputBuffer(CONFIG, max_pending=max_pending), writer)
    assert_same(batch(log, CONFIG), writer.answer())
    # The worker's processor accounts for each message exactly as the replay did.
    streamed = MemoryWriter()
    counters = _run_processor(messages, set(), streamed)
    assert streamed.outcomes() == writer.outcomes()
    assert (stats.received, stats.accepted, stats.duplicates, stats.rejected) == (
        counters.received, counters.accepted, counters.duplicates, counters.rejected)
    assert writer.rejected.keys() == streamed.rejected.keys()


def test_file_replay_accounts_for_every_line() -> None:
    log = [Purchase("p1", "L", 10 * DAY_US, 500, "EUR")]
    lines = [event_json(log[0]) + b"\n", b"\n", b"{broken\n", event_json(log[0]) + b"\r\n"]
    writer = MemoryWriter()
    stats = replay(file_records(lines, "file:x"), OutputBuffer(CONFIG), writer)
    assert writer.outcomes() == {("file:x", -1, 1): "accepted", ("file:x", -1, 3): "rejected",
                                 ("file:x", -1, 4): "duplicate"}
    assert (stats.received, stats.accepted, stats.duplicates, stats.rejected) == (3, 1, 1, 1)
    assert_same(batch(log, CONFIG), writer.answer())


def test_several_events_of_a_lead_between_flushes_cost_one_contribution() -> None:
    buffer, writer = OutputBuffer(CONFIG), MemoryWriter()
    processor = MessageProcessor({}, buffer, lambda *_: None, Counters())
    for n in range(5):
        event = Purchase(f"p{n}", "L", (10 + n) * DAY_US, 100, "USD")
        processor.process(b"L", event_json(event), TOPICS.purchases, 0, n)
    assert buffer.pending() == 1 + 5  # one lead, five ledger rows
    assert buffer.flush(writer) == 1
    assert writer.writes == 1 and writer.leads[("L", "")].revision == 5
