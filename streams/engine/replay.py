"""The replay fold: a whole event log (a file or the topics) through the same engine.

A replay knows the whole log up front, so it groups events by lead and accepts each
lead's events in path order, then hands the lead's final state to the same output
buffer as the worker, whose writer writes the same per-lead contribution rows. The
result is therefore identical to the stream's, and replaying the same log into the same
version again rewrites identical rows (idempotent). Every record is accounted for in the
ingest ledger by the same routine as the worker's (``streams.engine.accounting``); file
lines are positioned ``(file:NAME, -1, line number)``.

**Appending** (``stored`` given): before folding a lead, the events the version already
holds for it are loaded (``StoredEvents``) and accepted first, silently (they were
accounted for when they were first replayed), then the log's events on top. The merged
state has at least as many events as the stored one, so its rows win (revision), and
since a state is the *set* of a lead's events, any split of a log into appended parts,
in any order, gives the state, hence the rows, of one replay of the whole log.

Two phases, each reporting progress (:class:`Tick`): :func:`read_log` (validate,
account, group by lead) and :func:`fold_and_write` (fold each lead, write in batches).
"""

from __future__ import annotations

import gc
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Final, NamedTuple

from schemas.events import Event, Rejection
from streams.engine.accounting import Accounting, Counters, parse_message
from streams.engine.buffer import OutputBuffer
from streams.engine.exceptions import OutputError
from streams.engine.port import Position, StoredEvents, Writer
from streams.engine.state import LeadState

BOM: Final = b"\xef\xbb\xbf"
CHUNK: Final = 10_000
"""Leads folded (and, when appending, looked up) per step."""
_TICK_EVERY: Final = 4096


class Tick(NamedTuple):
    """Progress of one phase: ``done`` items so far, and the share done if known."""

    phase: str
    done: int
    fraction: float | None = None


Progress = Callable[[Tick], None]
Record = tuple[Position, bytes | None, bytes | None]
"""A position, the Kafka key (None for a file line) and the message (None: a tombstone)."""
Foreign = Callable[[Event, Record], bool]
"""Given a valid event, True if it was handed to another process (not folded here)."""


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
    leads: int = 0
    """Leads in the log."""
    leads_done: int = 0
    """Leads folded and handed to the buffer so far (written once flushed)."""
    reasons: Counter[str] = field(default_factory=Counter)
    """Rejections by reason."""

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

    def add(self, other: ReplayStats) -> None:
        """Fold another process's counts into these (times: the slowest process)."""
        for name in ("received", "accepted", "duplicates", "rejected", "leads", "leads_done"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("read_seconds", "fold_seconds", "write_seconds"):
            setattr(self, name, max(getattr(self, name), getattr(other, name)))
        self.reasons.update(other.reasons)


def file_records(lines: Iterable[bytes], source: str) -> Iterator[Record]:
    """The non-blank lines of an NDJSON log, positioned by line number.

    A UTF-8 byte order mark at the start of the file is dropped (editors on Windows
    write one); anywhere else it is part of the line, and invalid JSON.
    """
    numbered = enumerate(lines, 1)
    for number, line in numbered:
        if line.startswith(BOM):
            line = line[len(BOM):]
        if line.strip():
            yield (source, -1, number), None, line.rstrip(b"\r\n")
        break
    for number, line in numbered:
        if line.strip():
            yield (source, -1, number), None, line.rstrip(b"\r\n")


def read_log(
    records: Iterable[Record],
    accounting: Accounting,
    stats: ReplayStats,
    progress: Progress | None = None,
    *,
    fraction: Callable[[], float | None] | None = None,
    foreign: Foreign | None = None,
) -> dict[str, list[tuple[Event, Position]]]:
    """Validate and count every record (rejects are recorded); group valid events by lead.

    Keys play no part (as in the worker, which routes by ``lead_id`` whatever the key).
    ``fraction`` says how much of the log was read (for progress); ``foreign`` may take
    events of leads another process folds.
    """
    started = time.monotonic()
    by_lead: defaultdict[str, list[tuple[Event, Position]]] = defaultdict(list)
    received = accounting.received
    reasons = stats.reasons
    seen = 0
    for record in records:
        position, _key, value = record
        parsed = parse_message(value)
        seen += 1
        if isinstance(parsed, Rejection):
            reasons[reason_kind(parsed.reason)] += 1
        elif foreign is not None and foreign(parsed, record):
            continue
        else:
            by_lead[parsed.lead_id].append((parsed, position))
        received(parsed, position)
        if progress is not None and seen % _TICK_EVERY == 0:
            progress(Tick("read", stats.received, fraction() if fraction else None))
    if progress is not None:
        progress(Tick("read", stats.received, 1.0))
    stats.read_seconds += time.monotonic() - started
    return by_lead


def reason_kind(reason: str) -> str:
    """A rejection reason without the values it quotes, so that reasons can be counted."""
    out, quote = [], ""
    for char in reason:
        if quote:
            if char == quote:
                quote = ""
                out.append("…")
            continue
        if char in "'\"":
            quote = char
            continue
        out.append("N" if char.isdigit() else char)
    return "".join(out)


def fold_and_write(
    by_lead: dict[str, list[tuple[Event, Position]]],
    accounting: Accounting,
    buffer: OutputBuffer,
    writer: Writer,
    stats: ReplayStats,
    progress: Progress | None = None,
    stored: StoredEvents | None = None,
) -> None:
    """Fold each lead (merged with its stored events when appending) and write it all."""
    started = time.monotonic()
    write_before = stats.write_seconds
    applied = accounting.applied
    total = stats.leads = len(by_lead)
    lead_ids = list(by_lead)
    with cyclic_gc_paused():
        for start in range(0, total, CHUNK):
            chunk = lead_ids[start:start + CHUNK]
            existing = stored.stored_events(chunk) if stored is not None else {}
            for lead_id in chunk:
                # Popped, not iterated: a lead's events are freed once folded.
                events = by_lead.pop(lead_id)
                events.sort(key=_path_key)
                state = _stored_state(existing.get(lead_id))
                for event, position in events:
                    state, _ = applied(state, event, position)
                buffer.put_lead(lead_id, state)
                if buffer.due():
                    _flush(buffer, writer, stats)
            stats.leads_done += len(chunk)
            if progress is not None:
                progress(Tick("fold+write", stats.leads_done, stats.leads_done / total))
        _flush(buffer, writer, stats)
    stats.fold_seconds += time.monotonic() - started - (stats.write_seconds - write_before)
    refused = buffer.take_refused()
    if refused:
        lead_id, _, reason = refused[0]
        msg = f"ClickHouse refused the rows of {len(refused)} lead(s), e.g. {lead_id}: {reason}"
        raise OutputError(msg)


def _flush(buffer: OutputBuffer, writer: Writer, stats: ReplayStats) -> None:
    written = time.monotonic()
    buffer.flush(writer)
    stats.write_seconds += time.monotonic() - written


def _stored_state(events: list[Event] | None) -> LeadState:
    """The state of a lead's stored events (already unique per event id)."""
    state = LeadState()
    for event in events or ():
        state = state.with_event(event)
    return state


path_order: Final = attrgetter("occurred_at_us", "event_id")
"""Path order of a lead's events: (time, event_id); the sort is stable for exact ties."""


def _path_key(item: tuple[Event, Position]) -> tuple[int, str]:
    """The path order of an (event, position) pair: its event's."""
    return path_order(item[0])


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
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
    *,
    stored: StoredEvents | None = None,
) -> ReplayStats:
    """Replay records through ``buffer`` into ``writer``; rejects are kept with a reason.

    A lead the writer refuses for good fails the replay (a batch has no DLQ to send it
    to, and silently missing a lead would make the replay's numbers wrong).
    """
    stats = ReplayStats()
    accounting = Accounting(buffer, stats)
    started = time.monotonic()
    with cyclic_gc_paused():
        by_lead = read_log(records, accounting, stats, progress)
    fold_and_write(by_lead, accounting, buffer, writer, stats, progress, stored)
    stats.seconds = time.monotonic() - started
    return stats
