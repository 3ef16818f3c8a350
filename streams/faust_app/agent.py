"""The agent loop: each consumed message through the processor, in offset order.

Per message: skip a stale copy of a message whose effect is already committed, seek back
over offsets the consumer skipped (``streams.faust_app.offset_guard``), process it
(whatever its key, value or headers), send its DLQ copy or its rerouted copy
(``streams.faust_app.deliveries``), let the state TTL sweep its partition, and hand it to
the ack-after-flush protocol (``streams.faust_app.ack``), flushing when the buffer is due.

An unexpected error (a bug) does not let Faust restart the loop past an unacknowledged
message, which would stall its partition and hang the shutdown: the worker logs the
traceback once and stops with a non-zero exit, acknowledging nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.engine.buffer import OutputBuffer
from streams.engine.exceptions import OutputError
from streams.engine.processor import MessageProcessor
from streams.engine.routing import ORIGIN_HEADER, parse_origin
from streams.faust_app import metrics
from streams.faust_app.ack import AckAfterFlush, say
from streams.faust_app.deliveries import Deliveries, Outgoing
from streams.faust_app.offset_guard import ConsumerSafety, OffsetGuard, seek_safely
from streams.faust_app.table_sweep import TableSweeper

log = logging.getLogger("leadclock.worker")


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
    deliveries: Deliveries
    outbox: list[Outgoing]
    """Filled by the processor's dead-letter and forward callbacks, drained after each
    message into ``deliveries``."""
    rerouted_topic: str
    """Messages of this topic are rerouted copies: their origin is in a header."""
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
    first_seen: bool = False

    async def run(self, stream: Any) -> None:
        """The agent body: every event of ``stream``, until the worker stops."""
        # --unsafe-auto-ack exists to measure what ack-after-flush costs (benchmarks/):
        # Faust then acks each message as soon as it is processed, so a commit can
        # overtake a flush and a crash can lose effects.
        self.flusher.stream = stream if self.auto_ack else stream.noack()
        try:
            async for event in self.flusher.stream.events():
                await self.handle(event)
        except OutputError:
            pass  # a sink error retrying cannot fix: the flusher is stopping the worker
        except Exception as error:  # a bug: stop the worker, see the module docstring
            log.critical("the agent loop failed; stopping the worker", exc_info=error)
            self.flusher.crash(error)
        await asyncio.Event().wait()  # until the shutdown cancels the agent

    async def handle(self, event: Any) -> None:
        """One message, from the stale-copy check to its (deferred) acknowledgement."""
        if not self.first_seen:
            self.first_seen = True
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
        origin = (origin_of(message.headers) if message.topic == self.rerouted_topic
                  else None)
        outcome = processor.process(message.key, event.value, message.topic,
                                    message.partition, message.offset, origin)
        if message.tp not in self.positions:
            self.firsts[message.tp] = message.offset
        self.positions[message.tp] = message.offset + 1
        metrics.EVENTS.labels(outcome).inc()
        if self.sweeper is not None and processor.last_event_us is not None:
            self.sweeper.after_message(message.tp, message.offset, processor.last_event_us)
        outbox = self.outbox
        while outbox:
            await self.deliveries.submit(outbox.pop(0))
        if not self.auto_ack:
            self.flusher.unacked.append(event)
        if self.buffer.due() or self.buffer.full():
            await self.flusher.flush()


def origin_of(headers: Any) -> tuple[str, int, int] | None:
    """The original position a rerouted copy carries (None: not a rerouted copy)."""
    if not headers:
        return None
    items = headers.items() if hasattr(headers, "items") else headers
    for name, value in items:
        if name == ORIGIN_HEADER:
            return parse_origin(value)
    return None
