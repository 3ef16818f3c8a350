"""``leadclock replay --input``: run an NDJSON event log through the same engine.

A replay knows the whole log up front, so it groups events by lead and feeds each lead
its events in path order: the engine then never has to retract (no late touches), which
is the fast path of the very same ``apply``. The netted totals are written once, one row
per key, with a cause id derived from the input's content: replaying the same file into
the same version again replaces its rows instead of doubling them.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import Final

from schemas.events import Event, Rejection
from schemas.validation import parse_event
from sinks.batching import ClickHouseSink
from streams.config import EngineConfig
from streams.engine import apply
from streams.state import LeadState
from streams.totals import Totals

Progress = Callable[[str], None]


@dataclass
class ReplayStats:
    """Accounting of one replay: accepted + duplicates + rejected = received."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    read_seconds: float = 0.0
    """Reading and validating the log (included in ``seconds``, like the two below)."""
    fold_seconds: float = 0.0
    """Sorting each lead's events and folding them through the engine into totals."""
    write_seconds: float = 0.0
    """Turning the totals into rows and writing them to ClickHouse."""

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


def fold_log(
    lines: Iterable[bytes],
    config: EngineConfig,
    on_reject: Callable[[Rejection, int], None],
    progress: Progress | None = None,
) -> tuple[Totals, ReplayStats, str]:
    """Validate and apply a whole log; return totals, stats and a content digest."""
    started = time.monotonic()
    stats = ReplayStats()
    digest = hashlib.sha256()
    by_lead: defaultdict[str, list[Event]] = defaultdict(list)
    next_report = started + 2.0
    received = rejected = 0  # locals, not stats attributes: this loop runs per event
    for number, line in enumerate(lines, 1):
        digest.update(line)
        if not line.strip():
            continue
        received += 1
        parsed = parse_event(line.rstrip(b"\r\n"))
        if isinstance(parsed, Rejection):
            rejected += 1
            on_reject(parsed, number)
        else:
            by_lead[parsed.lead_id].append(parsed)
        if progress is not None and received % 65536 == 0:
            now = time.monotonic()
            if now >= next_report:
                progress(f"replay: read {received:,} events "
                         f"({received / (now - started):,.0f}/s)")
                next_report = now + 2.0
    stats.received, stats.rejected = received, rejected
    folding = time.monotonic()
    stats.read_seconds = folding - started
    totals = Totals()
    add = totals.add
    accepted = duplicates = 0
    empty = LeadState()
    for lead_id in list(by_lead):
        # Popped, not iterated: a lead's events are freed once folded, so the events
        # and the totals they turn into are not both held in memory at their peaks.
        events = by_lead.pop(lead_id)
        events.sort(key=_path_key)
        state = empty
        for event in events:
            state, outcome = apply(state, event, config)
            if outcome.duplicate:
                duplicates += 1
            else:
                accepted += 1
                add(lead_id, outcome)
    stats.accepted, stats.duplicates = accepted, duplicates
    done = time.monotonic()
    stats.fold_seconds = done - folding
    stats.seconds = done - started
    return totals, stats, digest.hexdigest()[:16]


_path_key: Final = attrgetter("occurred_at_us", "event_id")
"""Path order of a lead's events: (time, event_id); the sort is stable for exact ties."""


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Suspend CPython's cyclic garbage collector for a replay, then restore it.

    A replay builds millions of long-lived objects (events, states, deltas, totals)
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
    lines: Iterable[bytes],
    source: str,
    config: EngineConfig,
    sink: ClickHouseSink,
    progress: Progress | None = None,
) -> ReplayStats:
    """Replay a log into ``sink``'s version; rejects go to ``rejected_events``."""
    def reject(rejection: Rejection, line_number: int) -> None:
        sink.add_rejection(rejection, source, -1, line_number)

    with _cyclic_gc_paused():
        totals, stats, digest = fold_log(lines, config, reject, progress)
        started = time.monotonic()
        sink.add_totals(totals, cause=f"replay:{digest}")
        del totals  # the columns hold what the insert needs
        sink.flush()
        stats.write_seconds = time.monotonic() - started
    stats.seconds += stats.write_seconds
    if progress is not None:
        progress(f"replay: {stats.phases_line()}")
    return stats
