"""A replay in this process: read a log, then fold and write it (file, or topics with 1 process).

The two phases are separate calls so that the command can check what was read (an
empty log, or one in which every line was rejected, is refused before anything is
written) and record the version as building before the first row lands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from schemas.events import Event
from sinks.faults import Faults
from sinks.sink import ClickHouseSink
from sinks.stored_events import ClickHouseStoredEvents
from streams.engine.accounting import Accounting
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.port import Position
from streams.engine.replay import (
    Foreign,
    Progress,
    Record,
    ReplayStats,
    cyclic_gc_paused,
    fold_and_write,
    read_log,
)


@dataclass
class LocalReplay:
    """Reads ``records`` in this process, then writes version ``version`` of ``client``."""

    records: Iterable[Record]
    engine: EngineConfig
    client: Client
    version: int
    fraction: Callable[[], float | None] | None = None
    foreign: Foreign | None = None
    """Takes the events of leads another process folds (parallel topic replays)."""
    write_batch: int = 50_000
    """Leads (plus ledger and reject rows) per ClickHouse write."""
    stats: ReplayStats = field(default_factory=ReplayStats)
    _buffer: OutputBuffer = field(init=False)
    _accounting: Accounting = field(init=False)
    _by_lead: dict[str, list[tuple[Event, Position]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """One buffer for both phases: the read phase leaves ledger and reject rows in it."""
        self._buffer = OutputBuffer(self.engine, max_pending=self.write_batch,
                                    max_age_s=float("inf"))
        self._accounting = Accounting(self._buffer, self.stats)

    def read(self, progress: Progress | None) -> ReplayStats:
        """Validate, account and group the log by lead (nothing is written yet)."""
        with cyclic_gc_paused():
            self._by_lead = read_log(self.records, self._accounting, self.stats, progress,
                                     fraction=self.fraction, foreign=self.foreign)
        self.stats.leads = len(self._by_lead)
        return self.stats

    def read_more(self, records: Iterable[Record]) -> None:
        """Add records handed over by other processes (events of this process's leads)."""
        more = read_log(records, self._accounting, self.stats)
        for lead_id, events in more.items():
            self._by_lead.setdefault(lead_id, []).extend(events)
        self.stats.leads = len(self._by_lead)

    def write(self, progress: Progress | None, *, merge: bool) -> ReplayStats:
        """Fold every lead (merged with the version's stored events if ``merge``); write."""
        stored = ClickHouseStoredEvents(self.client, self.version) if merge else None
        with closing(ClickHouseSink.with_lanes(self.client, self.version,
                                               Faults.from_env())) as sink:
            fold_and_write(self._by_lead, self._accounting, self._buffer, sink, self.stats,
                           progress, stored)
        return self.stats

    def stop(self) -> None:
        """Nothing runs beside this process."""
