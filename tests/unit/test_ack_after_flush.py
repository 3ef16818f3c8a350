"""Ack-after-flush: a message is acknowledged only after the flush that wrote its effect.

The protocol runs against the in-memory writer and a fake stream (what the agent's
``stream.noack()`` offers: ``ack(event)``); the write runs on the executor thread as in
the worker. No Kafka, no ClickHouse, no sleeping (the backoff's sleep is recorded).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from schemas.events import Touch
from streams.engine.accounting import Counters
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.exceptions import OutputError
from streams.engine.processor import MessageProcessor
from streams.engine.state import LeadState
from streams.faust_app.ack import AckAfterFlush
from tests.memory_port import MemoryWriter
from tests.messages import event_json

T0 = 1_767_225_600_000_000
TOPIC = "t.clicks"


class FakeStream:
    """Records acknowledgements, in order."""

    def __init__(self) -> None:
        self.acked: list[str] = []

    async def ack(self, event: str) -> None:
        self.acked.append(event)


class Harness:
    """An agent's side of the protocol: process a message, then leave it unacked."""

    def __init__(self, writer: MemoryWriter) -> None:
        self.writer = writer
        self.stream = FakeStream()
        self.buffer = OutputBuffer(EngineConfig())
        self.processor = MessageProcessor({}, self.buffer, lambda *_: None, Counters())
        self.dead: list[tuple[str, str]] = []
        self.sleeps: list[float] = []
        self.stops = 0
        self.logs: list[str] = []
        self.flusher = AckAfterFlush(self.buffer, writer, self._dead_letter,
                                     stream=self.stream, stop=self._stop, sleep=self._sleep,
                                     log=self.logs.append)
        self.offset = 0

    def receive(self, lead: str) -> str:
        """Process one click of ``lead``; return the event handle the stream would ack."""
        touch = Touch(f"e{self.offset}", lead, "spring", "click", T0 + self.offset)
        self.processor.process(lead.encode(), event_json(touch), TOPIC, 0, self.offset)
        event = f"{TOPIC}@{self.offset}"
        self.offset += 1
        self.flusher.unacked.append(event)
        return event

    async def _dead_letter(self, lead_id: str, state: LeadState, reason: str) -> None:
        self.dead.append((lead_id, reason))

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def _stop(self) -> None:
        self.stops += 1


def _run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(body())


def test_a_successful_flush_writes_then_acks_everything_in_order() -> None:
    harness = Harness(MemoryWriter())
    events = [harness.receive(lead) for lead in ("L", "M", "L")]
    harness.writer.on_write = lambda: _assert_nothing_acked(harness)
    _run(harness.flusher.flush)
    assert harness.stream.acked == events
    assert harness.flusher.unacked == []
    assert harness.buffer.pending() == 0
    assert harness.writer.writes == 1
    assert {key.lead_id: c.revision for key, c in harness.writer.leads.items()} == {
        "L": 2, "M": 1}
    assert len(harness.writer.ledger) == 3


def test_a_transient_failure_is_retried_with_backoff_and_nothing_acked_before() -> None:
    harness = Harness(MemoryWriter(transient_failures=3))
    events = [harness.receive("L"), harness.receive("M")]
    harness.writer.on_write = lambda: _assert_nothing_acked(harness)
    _run(harness.flusher.flush)
    assert harness.sleeps == [0.5, 1.0, 2.0]  # doubling, from 0.5 s
    assert harness.buffer.stats.failures == 3
    assert sum("retrying" in line for line in harness.logs) == 3
    assert harness.stream.acked == events
    assert harness.writer.writes == 1 and harness.buffer.pending() == 0
    assert harness.stops == 0 and harness.flusher.fatal is None


def test_a_fatal_failure_stops_the_worker_and_acks_nothing() -> None:
    harness = Harness(MemoryWriter(fatal="table lead_credits is missing"))
    events = [harness.receive("L"), harness.receive("M")]
    pending = harness.buffer.pending()
    with pytest.raises(OutputError, match="lead_credits"):
        _run(harness.flusher.flush)
    assert harness.stops == 1
    assert harness.flusher.fatal is not None and harness.flusher.fatal.retry_after is None
    assert harness.stream.acked == []
    assert harness.flusher.unacked == events  # processed again after the restart
    assert harness.buffer.pending() == pending  # the batch was given back
    assert harness.sleeps == []


def test_messages_arriving_during_a_flush_wait_for_the_next_one() -> None:
    writer = MemoryWriter()
    harness = Harness(writer)

    async def body() -> list[str]:
        loop = asyncio.get_running_loop()
        first = [harness.receive("L"), harness.receive("M")]
        later: list[str] = []

        async def arrive() -> None:
            later.extend([harness.receive("L"), harness.receive("N")])

        def during_write() -> None:  # on the executor thread, while the write runs
            writer.on_write = None
            asyncio.run_coroutine_threadsafe(arrive(), loop).result()

        writer.on_write = during_write
        await harness.flusher.flush()
        assert harness.stream.acked == first
        assert harness.flusher.unacked == later
        assert {k.lead_id: c.revision for k, c in writer.leads.items()} == {"L": 1, "M": 1}
        assert harness.buffer.pending() == 2 + 2  # leads L and N, two ledger rows
        await harness.flusher.flush()
        return first + later

    everything = _run(body)
    assert harness.stream.acked == everything
    assert {k.lead_id: c.revision for k, c in writer.leads.items()} == {
        "L": 2, "M": 1, "N": 1}
    assert writer.writes == 2


def test_a_refused_lead_is_dead_lettered_and_the_rest_acked() -> None:
    harness = Harness(MemoryWriter(refuse=frozenset({"M"})))
    events = [harness.receive("L"), harness.receive("M")]
    _run(harness.flusher.flush)
    assert harness.dead == [("M", "refused by the memory writer")]
    assert harness.stream.acked == events
    assert [key.lead_id for key in harness.writer.leads] == ["L"]


def test_an_empty_flush_still_acks_messages_whose_effects_were_written() -> None:
    harness = Harness(MemoryWriter())
    harness.receive("L")
    _run(harness.flusher.flush)
    event = harness.receive("L")
    harness.buffer.flush(harness.writer)  # written meanwhile, by another flush
    _run(harness.flusher.flush)
    assert harness.stream.acked[-1] == event


def _assert_nothing_acked(harness: Harness) -> None:
    assert harness.stream.acked == [], "acknowledged before the write"
