"""The replay fold: a whole event log (a file or the topics) through the same engine.

A replay knows the whole log up front, so it groups events by lead and accepts each
lead's events in path order, then hands the lead's final state to the same output
buffer as the worker, whose writer writes the same per-lead contribution rows. The
result is therefore identical to the stream's, and replaying the same log into the same
version again rewrites identical rows (idempotent). Every record is accounted for in the
ingest ledger by the same routine as the worker's (``streams.engine.accounting``); file
lines are positioned ``(file:NAME, -1, line number)``.
"""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import Final

from schemas.events import Event, Rejection
from streams.engine.accounting import Accounting, Counters, parse_message
from streams.engine.buffer import OutputBuffer
from streams.engine.exceptions import OutputError
from streams.engine.port import Position, Writer
from streams.engine.state import LeadState

Progress = Callable[[str], None]


@dataclass
class ReplayStats(Counters):
    """Accounting of one replay (accepted + duplicates + rejected = received) and timing."""

    seconds: float = 0.0
    read_seconds: float = 0.0
    """Reading and validating the log (included in ``seconds``, like the two below)."""
    fold_seconds: float = 0.0
    """Sorting each lead's events and accepting them into its state."""
    write_seconds: float = 0.0
    """Computing each lead's contribution and writing it to ClickHouse."""

    def line(self) -> str:
        """Summarise the replay in one line, for humans."""
        rate = self.received / self.seconds if self.seconds else 0.0
        return (f"{self.received:,} received: {self.accepted:,} accepted, "
                f"{self.duplicates:,} duplicates, {self.rejected:,} rejected "
                f"in {self.seconds:.1f}s ({rate:,.0f} events/s)")

    def phases_line(self) -> str:
        """Where the time went, phase by phase."""
        return (f"read+validate {self.read_seconds:.2f}s, engine fold {self.fold_seconds:.2f}s, "
                f"clickhouse write {self.write_seconds:.2f}s")


Record = tuple[Position, bytes | None, bytes | None]
"""A position, the Kafka key (None for a file line) and the message (None: a tombstone)."""


def file_records(lines: Iterable[bytes], source: str) -> Iterator[Record]:
    """The non-blank lines of an NDJSON log, positioned by line number."""
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield (source, -1, number), None, line.rstrip(b"\r\n")


def read_log(
    records: Iterable[Record],
    accounting: Accounting,
    stats: ReplayStats,
    progress: Progress | None = None,
) -> dict[str, list[tuple[Event, Position]]]:
    """Validate and count every record (rejects are recorded); group valid events by lead.

    Keys play no part (as in the worker, which routes by ``lead_id`` whatever the key).
    """
    started = time.monotonic()
    by_lead: defaultdict[str, list[tuple[Event, Position]]] = defaultdict(list)
    next_report = started + 2.0
    received = accounting.received
    for position, _key, value in records:
        parsed = parse_message(value)
        received(parsed, position)
        if not isinstance(parsed, Rejection):
            by_lead[parsed.lead_id].append((parsed, position))
        count = stats.received
        if progress is not None and count % 65536 == 0:
            now = time.monotonic()
            if now >= next_report:
                progress(f"replay: read {count:,} events "
                         f"({count / (now - started):,.0f}/s)")
                next_report = now + 2.0
    stats.read_seconds = time.monotonic() - started
    return by_lead


def fold_leads(
    by_lead: dict[str, list[tuple[Event, Position]]],
    accounting: Accounting,
    buffer: OutputBuffer,
    writer: Writer,
    stats: ReplayStats,
) -> None:
    """Accept each lead's events in path order and hand its final state to the buffer."""
    empty = LeadState()
    applied = accounting.applied
    for lead_id in list(by_lead):
        # Popped, not iterated: a lead's events are freed once folded.
        events = by_lead.pop(lead_id)
        events.sort(key=_path_key)
        state = empty
        for event, position in events:
            state, _ = applied(state, event, position)
        buffer.put_lead(lead_id, state)
        if buffer.due():
            written = time.monotonic()
            buffer.flush(writer)
            stats.write_seconds += time.monotonic() - written


_event_key: Final = attrgetter("occurred_at_us", "event_id")


def _path_key(item: tuple[Event, Position]) -> tuple[int, str]:
    """Path order of a lead's events: (time, event_id); the sort is stable for exact ties."""
    return _event_key(item[0])


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Suspend CPython's cyclic garbage collector for a replay, then restore it.

    A replay builds millions of long-lived objects (events, states, rows)
    and frees them by reference counting alone: none of them is part of a reference
    cycle. The cyclic collector cannot find anything to free among them, yet each of
    its full passes walks the whole, growing heap; on a 1 M-event log that was about
    half of the engine fold. Reference counting is unaffected, so memory is still
    released as usual; any cycles made meanwhile (e.g. by the ClickHouse client) are
    collected once the collector is back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def replay(
    records: Iterable[Record],
    buffer: OutputBuffer,
    writer: Writer,
    progress: Progress | None = None,
) -> ReplayStats:
    """Replay records through ``buffer`` into ``writer``; rejects are kept with a reason.

    A lead the writer refuses for good fails the replay (a batch has no DLQ to send it
    to, and silently missing a lead would make the replay's numbers wrong).
    """
    stats = ReplayStats()
    accounting = Accounting(buffer, stats)
    started = time.monotonic()
    with _cyclic_gc_paused():
        by_lead = read_log(records, accounting, stats, progress)
        folding = time.monotonic()
        fold_leads(by_lead, accounting, buffer, writer, stats)
        written_while_folding = stats.write_seconds
        writing = time.monotonic()
        buffer.flush(writer)
        done = time.monotonic()
    stats.fold_seconds = writing - folding - written_while_folding
    stats.write_seconds += done - writing
    stats.seconds = done - started
    refused = buffer.take_refused()
    if refused:
        lead_id, _, reason = refused[0]
        msg = f"ClickHouse refused the rows of {len(refused)} lead(s), e.g. {lead_id}: {reason}"
        raise OutputError(msg)
    if progress is not None:
        progress(f"replay: {stats.phases_line()}")
    return stats
