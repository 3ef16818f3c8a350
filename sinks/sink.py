"""The ClickHouse sink: the latest state of each changed lead, written in batches.

The sink is told "lead L now has state S" (``put_lead``) and keeps only the newest
state per lead until the next flush, where it writes each lead's whole contribution at
that state's revision. Several events of one lead between two flushes cost one write.

A flush is all-or-nothing from the caller's point of view: the batch is swapped out
first and, if any insert fails, merged back (newer lead states win), so a failed flush
loses nothing and the caller can retry it. Re-inserting rows that did land is harmless
(same lead, same revision, same rows: ReplacingMergeTree keeps one). Memory is bounded
by the caller: ``full()`` says when to stop consuming until a flush succeeds.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from clickhouse_connect.driver.insert import InsertContext

from schemas.events import Rejection
from sinks.errors import first_line, is_bad_data, is_transient
from sinks.exceptions import PermanentRowError, SinkError, TransientSinkError
from sinks.faults import Faults
from sinks.lead_rows import COLUMNS, LEAD_TABLES, LeadKey, Row, lead_rows
from sinks.reconnect import lost_connection, reconnect
from streams.config import EngineConfig
from streams.contribution import contribution
from streams.state import LeadState


@dataclass
class FlushStats:
    """What the sink has done so far, for progress lines and metrics."""

    flushes: int = 0
    failures: int = 0
    leads: int = 0
    rows: int = 0
    seconds: float = 0.0
    last_seconds: float = 0.0


@dataclass
class Batch:
    """What is waiting to be written."""

    leads: dict[LeadKey, LeadState] = field(default_factory=dict)
    ledger: list[Row] = field(default_factory=list)
    rejected: list[Row] = field(default_factory=list)
    oldest: float | None = None

    def size(self) -> int:
        """Leads plus ledger and reject rows waiting."""
        return len(self.leads) + len(self.ledger) + len(self.rejected)

    def merge_older(self, older: Batch) -> None:
        """Put a failed batch back behind this newer one (newer lead states win)."""
        for key, state in older.leads.items():
            self.leads.setdefault(key, state)
        self.ledger[:0] = older.ledger
        self.rejected[:0] = older.rejected


@dataclass
class LeadSink:
    """Buffers lead states, ledger entries and rejects for one attribution version."""

    client: Client
    version: int
    config: EngineConfig
    max_pending: int = 20_000
    max_age_s: float = 1.0
    faults: Faults = field(default_factory=Faults)
    stats: FlushStats = field(default_factory=FlushStats)
    _batch: Batch = field(default_factory=Batch)
    _oldest: float | None = None
    _contexts: dict[str, InsertContext] = field(default_factory=dict)
    poisoned: list[tuple[str, LeadState, str]] = field(default_factory=list)
    _reconnect: bool = False

    def put_lead(self, lead_id: str, state: LeadState, generation: str = "") -> None:
        """Remember the newest state of a lead (generation); written at the next flush."""
        self._batch.leads[LeadKey(lead_id, generation)] = state
        self._touch()

    def put_ledger(self, source: str, partition: int, offset: int, outcome: str,
                   lead_id: str, event_id: str) -> None:
        """Account for one received message (accepted, duplicate or rejected)."""
        self._batch.ledger.append((source, partition, offset, outcome, lead_id, event_id))
        self._touch()

    def put_rejection(self, rejection: Rejection, source: str, partition: int,
                      offset: int) -> None:
        """Keep a rejected message verbatim (invalid UTF-8 replaced) with its reason."""
        raw = rejection.raw.decode("utf-8", errors="replace")
        self._batch.rejected.append((raw, rejection.reason, _now_ms(), source, partition,
                                     offset))
        self._touch()

    def pending(self) -> int:
        """Entries waiting to be written."""
        return self._batch.size()

    def due(self) -> bool:
        """True when the batch is big enough or its oldest entry old enough to write."""
        if self._oldest is None:
            return False
        return self.pending() >= self.max_pending or (
            time.monotonic() - self._oldest >= self.max_age_s)

    def full(self) -> bool:
        """True when the caller must stop adding until a flush succeeds (backpressure)."""
        return self.pending() >= 2 * self.max_pending

    def flush(self) -> int:
        """Write everything pending; return the leads written. Raises on failure.

        TransientSinkError: retry later. SinkError: not retryable. Either way, and for
        any other exception, the batch is put back first, so nothing is lost. Leads
        whose rows are refused for good are set aside (``take_poisoned``) and the rest
        of the batch is written.
        """
        batch = self.take()
        if batch is None:
            return 0
        try:
            return self.write(batch)
        except BaseException:
            self.give_back(batch)
            raise

    def take(self) -> Batch | None:
        """Detach what is pending, to be written (possibly on another thread)."""
        if not self._batch.size():
            return None
        batch, self._batch = self._batch, Batch()
        batch.oldest, self._oldest = self._oldest, None
        return batch

    def give_back(self, batch: Batch) -> None:
        """Re-attach a batch whose write failed, behind anything added since."""
        self._batch.merge_older(batch)
        if batch.oldest is not None:
            self._oldest = min(batch.oldest, self._oldest or batch.oldest)
        self.stats.failures += 1

    def write(self, batch: Batch) -> int:
        """Write a detached batch; touches no pending state, so it may run off-loop."""
        started = time.monotonic()
        self.faults.before_flush()
        if self._reconnect:  # the last write lost the connection (e.g. a gateway's holder)
            self.client, self._contexts = reconnect(self.client), {}
            self._reconnect = False
        written = self._write(batch)
        elapsed = time.monotonic() - started
        self.stats.flushes += 1
        self.stats.leads += len(batch.leads)
        self.stats.rows += written
        self.stats.seconds += elapsed
        self.stats.last_seconds = elapsed
        return len(batch.leads)

    def take_poisoned(self) -> list[tuple[str, LeadState, str]]:
        """Leads whose rows ClickHouse refused for good since the last call, with why."""
        poisoned, self.poisoned = self.poisoned, []
        return poisoned

    def _write(self, batch: Batch) -> int:
        now = _now_ms()
        rows = {key: lead_rows(self.version, key, contribution(state, self.config), now)
                for key, state in batch.leads.items()}
        try:
            written = self._insert_leads(rows)
        except PermanentRowError:
            written = self._insert_lead_by_lead(rows, batch)
        ledger = [(*entry, now) for entry in batch.ledger]  # one timestamp per flush
        for name, table_rows in (("ingest_ledger", ledger),
                                 ("rejected_events", batch.rejected)):
            if table_rows:
                self._insert(name, table_rows)
                written += len(table_rows)
        return written

    def _insert_leads(self, rows: dict[LeadKey, dict[str, list[Row]]]) -> int:
        self.faults.before_lead_insert({key.lead_id for key in rows})
        written = 0
        for name in LEAD_TABLES:  # lead_revisions last: views move to a revision after its rows
            table_rows = [row for by_table in rows.values() for row in by_table[name]]
            if table_rows:
                self._insert(name, table_rows)
                written += len(table_rows)
        return written

    def _insert_lead_by_lead(self, rows: dict[LeadKey, dict[str, list[Row]]],
                             batch: Batch) -> int:
        """Isolate the leads ClickHouse refuses, so one bad row cannot block the rest."""
        written = 0
        refused: list[tuple[str, LeadState, str]] = []
        for key, by_table in rows.items():
            try:
                written += self._insert_leads({key: by_table})
            except PermanentRowError as error:
                self._drop_partial(key, by_table)
                refused.append((key.lead_id, batch.leads[key], str(error)))
        if refused and len(refused) == len(rows) > 1:
            msg = f"ClickHouse refused the rows of every lead in the batch: {refused[0][2]}"
            raise SinkError(msg)
        self.poisoned.extend(refused)
        return written

    def _drop_partial(self, key: LeadKey, by_table: dict[str, list[Row]]) -> None:
        """Delete what landed of a refused lead's new revision.

        Its older revision must stay visible: the views deduplicate each row identity
        to its highest revision, so a half-written newer revision would hide it.
        """
        revision = by_table["lead_revisions"][0][-2]
        for table in LEAD_TABLES:
            self.client.command(
                f"DELETE FROM {table} WHERE version = {{v:UInt32}} AND lead_id = {{l:String}} "
                "AND generation = {g:String} AND revision = {r:UInt64}",
                parameters={"v": self.version, "l": key.lead_id, "g": key.generation,
                            "r": revision},
            )

    def _insert(self, table: str, rows: list[Row]) -> None:
        try:
            context = self._contexts.get(table)
            if context is None:
                # Column-oriented (zip(*rows) pivots in C), and no merge at insert time:
                # every view reads with FINAL, so deduplicating on insert is wasted work.
                context = self.client.create_insert_context(
                    table, list(COLUMNS[table]), column_oriented=True,
                    settings={"optimize_on_insert": 0})
                self._contexts[table] = context
            context.data = list(zip(*rows, strict=True))
            try:
                self.client.insert(context=context)
            finally:
                context.data = None
        except ClickHouseError as error:
            if is_transient(error):
                self._reconnect = self._reconnect or lost_connection(error)
                msg = f"insert into {table} failed, will retry: {first_line(error)}"
                raise TransientSinkError(msg) from error
            if is_bad_data(error):
                msg = f"insert into {table} refused: {first_line(error)}"
                raise PermanentRowError(msg) from error
            msg = f"insert into {table} failed: {first_line(error)}"
            raise SinkError(msg) from error
        except (OverflowError, ValueError, struct.error) as error:
            # clickhouse-connect could not encode a value for its column type.
            msg = f"insert into {table} refused a value: {first_line(error)}"
            raise PermanentRowError(msg) from error

    def _touch(self) -> None:
        if self._oldest is None:
            self._oldest = time.monotonic()


def _now_ms() -> int:
    return int(time.time() * 1000)
