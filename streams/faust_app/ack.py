"""Ack-after-flush: a message is acknowledged only once the flush that wrote its effect succeeded.

The agent reads with ``stream.noack()`` and hands each processed message here; Faust
commits acknowledged offsets only, so offsets never run ahead of ClickHouse. A failed
flush keeps its batch and its messages: a transient failure is retried with exponential
backoff while the agent stops consuming (``OutputBuffer.full``), a permanent one stops
the worker without acknowledging anything, so the same messages are processed again
once the cause is fixed. See docs/exactly-once.md for the whole argument.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from schemas.exceptions import LeadclockError
from streams.engine.buffer import OutputBuffer
from streams.engine.exceptions import OutputError
from streams.engine.port import Writer
from streams.engine.state import LeadState
from streams.faust_app import metrics
from streams.faust_app.deliveries import Deliveries
from streams.faust_app.exceptions import WorkerCrashed

MAX_BACKOFF_S = 30.0
T = TypeVar("T")
log = logging.getLogger("leadclock.worker")


def say(text: str) -> None:
    """One line of the worker's log (stderr)."""
    print(f"worker: {text}", file=sys.stderr, flush=True)


def _terminate() -> None:
    """Stop the worker the way Ctrl-C would, so Faust shuts down cleanly."""
    os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class AckAfterFlush:
    """Flushes the buffer into the writer, retrying transient failures, then acks."""

    buffer: OutputBuffer
    writer: Writer
    dead_letter: Callable[[str, LeadState, str], Awaitable[None]]
    """Sends a lead the writer refused for good to the DLQ (lead id, state, reason)."""
    deliveries: Deliveries | None = None
    """DLQ copies and rerouted events sent because of processed messages: a message is
    acknowledged only once Kafka has acknowledged what it caused to be sent."""
    stream: Any = None
    """The agent's stream (``ack(event)``); None until the agent starts."""
    unacked: list[Any] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    fatal: LeadclockError | None = None
    """Why the worker stopped itself (re-raised once Faust has shut down)."""
    before_write: Callable[[], Awaitable[None]] | None = None
    """Awaited after a batch is detached and before it is written. With a state TTL it
    flushes the table's changelog: whether a message opened a new generation depends
    on the table, so rows of a generation must never reach ClickHouse before the
    table entry that named it is durable (a standby taking over after a crash would
    otherwise file the same event under another generation, and count it twice)."""
    position_of: Callable[[Any], tuple[Any, int]] | None = None
    """(partition, offset) of an event, to keep ``written`` (None: not kept)."""
    written: dict[Any, int] = field(default_factory=dict)
    """Per partition (Faust TP), the offset after the last message whose effect a flush
    wrote and acknowledged: everything below it is in the version being written."""
    stop: Callable[[], None] = _terminate
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    log: Callable[[str], None] = say

    async def flush(self) -> None:
        """Write everything pending and ack its messages; retry until it succeeds.

        The write (contributions and inserts) runs on a thread so that a slow insert
        cannot starve the consumer's heartbeats; the batch is detached and, on failure,
        re-attached on the event loop, so the agent can keep adding to the next batch
        meanwhile. Messages added during a flush wait for the next one.
        """
        async with self.lock:
            await self._flush_locked()

    async def flush_then(self, then: Callable[[], T]) -> T:
        """Flush, then call ``then`` before any other flush can start (a version switch)."""
        async with self.lock:
            await self._flush_locked()
            return then()

    async def _flush_locked(self) -> None:
        if self.fatal is not None:
            return  # the worker is stopping after an error: acknowledge nothing more
        events, self.unacked = self.unacked, []
        try:
            await self._write_until_done()
            for lead_id, state, reason in self.buffer.take_refused():
                self.log(f"lead {lead_id} dead-lettered: {reason}")
                await self.dead_letter(lead_id, state, reason)
            if self.deliveries is not None:
                await self.deliveries.settle()
        except BaseException:
            self.unacked[:0] = events  # not acked: processed again after a restart
            raise
        written, position_of = self.written, self.position_of
        for event in events:
            await self.stream.ack(event)
            if position_of is not None:
                tp, offset = position_of(event)
                if written.get(tp, -1) <= offset:
                    written[tp] = offset + 1

    async def flush_from_timer(self) -> None:
        """``flush`` for a timer: an unexpected error stops the worker (once, logged)."""
        try:
            await self.flush()
        except OutputError:
            pass  # not retryable: ``fatal`` is set and the worker is stopping
        except Exception as error:  # a bug: stop rather than let the timer die silently
            log.critical("a flush failed unexpectedly; stopping the worker", exc_info=error)
            self.crash(error)

    def crash(self, error: Exception) -> None:
        """Stop the worker after an unexpected error (acknowledging nothing more)."""
        if self.fatal is None:
            self.fatal = WorkerCrashed(f"internal error: {type(error).__name__}: {error} "
                                       f"(traceback in the log above)")
            self.stop()

    async def _write_until_done(self) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.5
        while True:
            batch = self.buffer.take()
            if batch is None:
                break
            started = time.monotonic()
            try:
                if self.before_write is not None:
                    await self.before_write()
                await loop.run_in_executor(None, self.buffer.write, batch, self.writer)
            except OutputError as error:
                self.buffer.give_back(batch)
                if error.retry_after is None:
                    # Not retryable: stop without acknowledging anything, so the same
                    # messages are processed again once the cause is fixed.
                    self.fatal = error
                    self.stop()
                    raise
                metrics.FLUSH_RETRIES.inc()
                self.log(f"flush failed ({error}); retrying in {delay:.1f}s")
                await self.sleep(max(delay, error.retry_after))
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            except BaseException:
                self.buffer.give_back(batch)
                raise
            metrics.FLUSH_SECONDS.observe(time.monotonic() - started)
            break
        metrics.PENDING.set(self.buffer.pending())
