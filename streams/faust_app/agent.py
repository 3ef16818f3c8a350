"""The agent loop: each message of the event topics through the processor, in offset order.

Per message: skip a stale copy of a message whose effect is already committed, seek back
over offsets the consumer skipped (``streams.faust_app.offset_guard``), process it, send
its rejection to the DLQ, let the state TTL sweep its partition, and hand it to the
ack-after-flush protocol (``streams.faust_app.ack``), flushing when the buffer is due.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from streams.engine.buffer import OutputBuffer
from streams.engine.processor import MessageProcessor
from streams.faust_app import metrics
from streams.faust_app.ack import AckAfterFlush, say
from streams.faust_app.offset_guard import ConsumerSafety, OffsetGuard, seek_safely
from streams.faust_app.table_sweep import TableSweeper

DeadLetter = tuple[bytes | None, bytes, str]
"""A rejected message: its key, its value and the reason."""


@dataclass
class Agent:
    """Consumes the event stream; one instance per worker."""

    processor: MessageProcessor
    buffer: OutputBuffer
    flusher: AckAfterFlush
    safety: ConsumerSafety
    guard: OffsetGuard
    consumer: Callable[[], Any]
    """The app's consumer (created after the agent, hence a callable)."""
    send_dead: Callable[[DeadLetter, str], Awaitable[None]]
    """Sends a rejected message to the DLQ, with its source (topic/partition/offset)."""
    dead: list[DeadLetter]
    """Filled by the processor's ``dead_letter`` callback, drained after each message."""
    sweeper: TableSweeper | None = None
    auto_ack: bool = False
    """``--unsafe-auto-ack``: Faust acks each message as soon as it is processed."""
    started: float = field(default_factory=time.monotonic)
    positions: dict[Any, int] = field(default_factory=dict)
    """Per partition (Faust TP), the offset after the last message processed since the
    last assignment (what a version switch must cover, ``streams.faust_app.follow``)."""
    firsts: dict[Any, int] = field(default_factory=dict)
    """Per partition, the first offset processed since the last assignment: everything
    below it was processed before (by another worker, or before a restart)."""

    async def run(self, stream: Any) -> None:
        """The agent body: every event of ``stream``, until the worker stops."""
        # --unsafe-auto-ack exists to measure what ack-after-flush costs (benchmarks/):
        # Faust then acks each message as soon as it is processed, so a commit can
        # overtake a flush and a crash can lose effects.
        self.flusher.stream = stream if self.auto_ack else stream.noack()
        async for event in self.flusher.stream.events():
            await self.handle(event)

    async def handle(self, event: Any) -> None:
        """One message, from the stale-copy check to its (deferred) acknowledgement."""
        if not self.processor.counters.received:
            say(f"processing: first message {time.monotonic() - self.started:.1f}s "
                f"after start")
        message = event.message
        start = self.safety.start_of(self.consumer(), message.tp)
        if start is not None and message.offset < start:
            # A stale copy (prefetched before a rebalance or a seek) of a message
            # whose effect is committed: processing it again is wasted work, and
            # under a state TTL its lead may have expired since.
            if not self.auto_ack:
                await self.flusher.stream.ack(event)
            return
        skipped = self.guard.skipped_from(message.tp, message.offset)
        if skipped is not None and self.guard.should_seek(message.tp):
            say(f"{message.topic}/{message.partition}: offsets {skipped}.."
                f"{message.offset - 1} were skipped by the consumer; reading them again")
            if not await seek_safely(self.consumer(), {message.tp: skipped}):
                say(f"{message.topic}/{message.partition}: seek interrupted by a rebalance")
        processor = self.processor
        outcome = processor.process(message.key, event.value, message.topic,
                                    message.partition, message.offset)
        if message.tp not in self.positions:
            self.firsts[message.tp] = message.offset
        self.positions[message.tp] = message.offset + 1
        metrics.EVENTS.labels(outcome).inc()
        if self.sweeper is not None and processor.last_event_us is not None:
            self.sweeper.after_message(message.tp, message.offset, processor.last_event_us)
        while self.dead:
            await self.send_dead(self.dead.pop(),
                                 f"{message.topic}/{message.partition}/{message.offset}")
        if not self.auto_ack:
            self.flusher.unacked.append(event)
        if self.buffer.due() or self.buffer.full():
            await self.flusher.flush()
