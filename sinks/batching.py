"""The ClickHouse sink: buffer rows, flush them in columnar batches.

Rows are added per event and written when the buffer is big enough, old enough, or the
caller commits (the worker flushes before Kafka offsets are committed). A flush that
fails transiently keeps the rows (each table's buffer is cleared only after its insert
succeeded), so retrying cannot lose data; re-sending a row that did land is harmless
because each row's sort key carries the id of the event that caused it and the tables
are ReplacingMergeTree.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from clickhouse_connect.driver.insert import InsertContext

from schemas.events import Rejection
from sinks.exceptions import SinkError, TransientSinkError
from sinks.rows import (
    CREDIT_COLUMNS,
    REACH_COLUMNS,
    REJECTED_COLUMNS,
    STAGE_COLUMNS,
    Columns,
    Row,
    credit_columns,
    credit_row,
    reach_row,
    reach_total_columns,
    stage_columns,
    stage_row,
)
from streams.deltas import Outcome
from streams.totals import Totals

TABLES = {
    "reach_deltas": REACH_COLUMNS,
    "stage_deltas": STAGE_COLUMNS,
    "credit_deltas": CREDIT_COLUMNS,
    "rejected_events": REJECTED_COLUMNS,
}


@dataclass
class FlushStats:
    """What the sink has written so far, for progress lines and metrics."""

    flushes: int = 0
    rows: int = 0
    seconds: float = 0.0


@dataclass
class ClickHouseSink:
    """Buffers delta rows for one attribution version and writes them in batches."""

    client: Client
    version: int
    max_rows: int = 50_000
    max_age_s: float = 1.0
    stats: FlushStats = field(default_factory=FlushStats)
    _buffers: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in TABLES})
    _column_batches: dict[str, list[Columns]] = field(
        default_factory=lambda: {t: [] for t in TABLES}
    )
    _contexts: dict[tuple[str, bool], InsertContext] = field(default_factory=dict)
    _oldest: float | None = None

    def add_outcome(self, lead_id: str, outcome: Outcome) -> None:
        """Buffer the deltas of one event; the event id is each row's cause."""
        cause = outcome.event.event_id
        v = self.version
        self._extend("reach_deltas", (reach_row(v, lead_id, cause, d) for d in outcome.reach))
        self._extend("stage_deltas", (stage_row(v, lead_id, cause, d) for d in outcome.stages))
        self._extend("credit_deltas",
                     (credit_row(v, lead_id, cause, d) for d in outcome.credits))

    def add_totals(self, totals: Totals, cause: str) -> None:
        """Buffer a replay's netted totals: one row per key, all with the same cause.

        Totals are big (a row per credit of a whole log) and arrive at once, so they are
        buffered as columns and written with one column-oriented insert per table.
        """
        v = self.version
        self._add_columns("reach_deltas", reach_total_columns(v, cause, totals.reach.items()))
        self._add_columns("stage_deltas", stage_columns(v, cause, totals.stage_rows()))
        self._add_columns("credit_deltas", credit_columns(v, cause, totals.credit_rows()))

    def add_rejection(
        self, rejection: Rejection, source: str, partition: int, offset: int
    ) -> None:
        """Buffer a rejected message with its reason (raw text kept, invalid UTF-8 replaced)."""
        raw = rejection.raw.decode("utf-8", errors="replace")
        now_ms = int(time.time() * 1000)
        self._extend("rejected_events",
                     [(raw, rejection.reason, now_ms, source, partition, offset)])

    def pending(self) -> int:
        """Rows waiting to be written."""
        return sum(len(rows) for rows in self._buffers.values()) + sum(
            len(columns[0]) for batches in self._column_batches.values() for columns in batches
        )

    def due(self) -> bool:
        """True when the buffer is full or its oldest row has waited ``max_age_s``."""
        if self._oldest is None:
            return False
        return self.pending() >= self.max_rows or (
            time.monotonic() - self._oldest >= self.max_age_s
        )

    def flush(self) -> int:
        """Write every buffered row; return how many. Raises TransientSinkError to retry."""
        started = time.monotonic()
        written = 0
        for table, rows in self._buffers.items():
            batches = self._column_batches[table]
            while batches:
                self._insert(table, batches[0], column_oriented=True)
                written += len(batches[0][0])
                del batches[0]
            if not rows:
                continue
            self._insert(table, rows, column_oriented=False)
            written += len(rows)
            rows.clear()
        self._oldest = None
        if written:
            self.stats.flushes += 1
            self.stats.rows += written
            self.stats.seconds += time.monotonic() - started
        return written

    def _extend(self, table: str, rows: Iterable[Row]) -> None:
        buffer = self._buffers[table]
        before = len(buffer)
        buffer.extend(rows)
        if self._oldest is None and len(buffer) > before:
            self._oldest = time.monotonic()

    def _add_columns(self, table: str, columns: Columns) -> None:
        if not columns[0]:
            return
        self._column_batches[table].append(columns)
        if self._oldest is None:
            self._oldest = time.monotonic()

    def _insert(
        self, table: str, data: list[Row] | Columns, *, column_oriented: bool
    ) -> None:
        context = self._contexts.get((table, column_oriented))
        if context is None:
            context = self.client.create_insert_context(
                table, list(TABLES[table]), column_oriented=column_oriented
            )
            self._contexts[(table, column_oriented)] = context
        context.data = data
        try:
            self.client.insert(context=context)
        except OperationalError as error:
            msg = f"insert into {table} failed, will retry: {error}"
            raise TransientSinkError(msg) from error
        except DatabaseError as error:
            msg = f"insert into {table} failed: {str(error).splitlines()[0]}"
            raise SinkError(msg) from error
        finally:
            context.data = None  # do not keep the last batch alive between flushes
