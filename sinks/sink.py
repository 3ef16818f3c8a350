"""The ClickHouse sink: writes a drained batch of lead contributions, ledger and rejects.

Implements ``streams.engine.port.Writer``: the engine's buffer
(``streams.engine.buffer``) keeps the newest state of each changed lead and, at a flush,
hands this sink each lead's contribution at that state's revision; the sink lays it out
as rows (``sinks.lead_rows``) and inserts them. A write may be repeated: re-inserting
rows that did land is harmless (same lead, same revision, same rows: ReplacingMergeTree
keeps one), which is what lets the buffer retry a failed batch whole.

Failures follow the port's contract: a transient one raises ``TransientSinkError``
(retry later), one retrying cannot fix raises ``SinkError`` (stop). Leads whose rows
ClickHouse refuses for good are isolated lead by lead and returned, so one bad row
cannot block the rest of the batch.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from clickhouse_connect.driver.insert import InsertContext

from sinks import partials_store
from sinks.errors import first_line, is_bad_data, is_transient
from sinks.exceptions import PermanentRowError, SinkError, TransientSinkError
from sinks.faults import Faults
from sinks.insert_lanes import InsertLanes
from sinks.lead_rows import (
    COLUMNS,
    LEAD_TABLES,
    REVISION_AT,
    REVISIONED,
    Row,
    event_rows,
    lead_rows,
)
from sinks.partials_refresh import mark_stale
from sinks.reconnect import lost_connection, reconnect
from streams.engine.partials import Partials
from streams.engine.port import OutputBatch, PartialWrite, Refusal
from streams.engine.records import LeadKey


@dataclass
class ClickHouseSink:
    """Writes batches into one attribution version of a ClickHouse database."""

    client: Client
    version: int
    faults: Faults = field(default_factory=Faults)
    lanes: InsertLanes | None = None
    """Clients to insert into several tables at once (None: one after the other on
    ``client``). The sink's owner closes them (``close``)."""
    _contexts: dict[str, InsertContext] = field(default_factory=dict)
    _reconnect: bool = False
    _cluster: str | None = None
    """The cluster of a schema migrated with ``--cluster`` ('' single node; None: unknown)."""
    _marked: dict[int, int] = field(default_factory=dict)
    """Version -> the epoch of this sink's last stale mark of it."""
    epochs: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Partials: home partition -> (its registered epoch, the last seq written). Changed
    keys of a partition without an epoch are not written: its full sync writes all."""

    @classmethod
    def with_lanes(cls, client: Client, version: int, faults: Faults) -> ClickHouseSink:
        """A sink that inserts into several tables at once; close it when done."""
        return cls(client, version, faults=faults, lanes=InsertLanes.beside(client))

    def sync(self, partition: int, partials: Partials, partitions: int) -> int:
        """Write every key of a partition's partials in a new epoch, then register it.

        Readers switch to the new epoch at the registration, once everything is in it,
        so a crash mid-sync leaves them on the previous one. Returns the epoch.
        """
        epoch = partials_store.next_epoch(self.client, self.version, partition)
        for table, rows in partials_store.rows(
                partials, (self.version, partition, epoch), 0).items():
            self._insert(table, rows, partials_store.columns(table))
        partials_store.register_epoch(self.client, self.version, partition, epoch, partitions)
        self.epochs[partition] = (epoch, 0)
        return epoch

    def write(self, batch: OutputBatch) -> list[Refusal]:
        """Insert the batch; return the leads refused for good (the rest is written)."""
        self.faults.before_flush()
        if self._reconnect:  # the last write lost the connection (e.g. a gateway's holder)
            self.client, self._contexts = reconnect(self.client), {}
            if self.lanes is not None:
                self.lanes.reset()
            self._reconnect = False
        now = _now_ms()
        version = self.version
        lineages = batch.lineages
        rows = {key: lead_rows(version, key, c, now, lineages.get(key))
                for key, c in batch.leads.items()}
        for key, state in batch.states.items():
            rows[key]["lead_events"] = event_rows(version, key, state)
        refused: list[Refusal] = []
        if rows:
            self._mark_stale(version)
        try:
            self._insert_leads(rows)
        except PermanentRowError:
            refused = self._insert_lead_by_lead(rows)
        self._insert_partials(batch.partials)
        ledger: list[Row] = [(*entry, now) for entry in batch.ledger]  # one time per flush
        self._insert_together({"ingest_ledger": ledger, "rejected_events": batch.rejected})
        self.faults.after_flush()
        return refused

    def close(self) -> None:
        """Close the lanes (the sink's ``client`` belongs to whoever passed it)."""
        if self.lanes is not None:
            self.lanes.close()

    def _insert_leads(self, rows: dict[LeadKey, dict[str, list[Row]]]) -> None:
        self.faults.before_lead_insert({key.lead_id for key in rows})
        by_table = {name: [row for lead in rows.values() for row in lead.get(name, ())]
                    for name in LEAD_TABLES}
        # lead_revisions last, alone: the views move to a revision only after its rows.
        revisions = by_table.pop("lead_revisions")
        self._insert_together(by_table)
        self._insert_together({"lead_revisions": revisions})

    def _insert_together(self, by_table: Mapping[str, Sequence[Row]]) -> None:
        """Insert into these tables, at once when the sink has lanes; empty ones skipped.

        All of them have ended when this returns or raises (the first table's error).
        """
        tables = [name for name, table_rows in by_table.items() if table_rows]
        if self.lanes is None:
            for name in tables:
                self._insert(name, by_table[name])
            return
        self.lanes.run(tables, lambda name: self._insert(name, by_table[name]))

    def _mark_stale(self, version: int) -> None:
        """Before lead rows: the version's stored sums must not be read once they change.

        One mark per sink, and another whenever sums were registered since (a replay
        that ended while this sink writes): one query per write (sinks.partials_refresh).
        """
        try:
            marked = self._marked.get(version)
            if marked is None or partials_store.newest_epoch(
                    self.client, version, registered=True) > marked:
                self._marked[version] = mark_stale(self.client, version)
        except ClickHouseError as error:
            raise self._failure(partials_store.EPOCHS_TABLE, error) from error

    def _insert_partials(self, writes: Sequence[PartialWrite]) -> None:
        """Absolute values of the changed keys, in each synced partition's epoch.

        A refused partial row cannot be isolated by lead (it sums many leads), so it
        stops the worker like any permanent error. A lead refused for good in this batch
        is still in the values written here; the buffer moves it back after this write
        and the next flush rewrites its keys.
        """
        by_table: dict[str, list[Row]] = {}
        for write in writes:
            known = self.epochs.get(write.partition)
            if known is None:
                continue
            epoch, seq = known[0], known[1] + 1
            self.epochs[write.partition] = (epoch, seq)
            for table, table_rows in partials_store.rows(
                    write.partials, (self.version, write.partition, epoch), seq,
                    write.keys).items():
                by_table.setdefault(table, []).extend(table_rows)
        for table, table_rows in by_table.items():
            try:
                self._insert(table, table_rows, partials_store.columns(table))
            except PermanentRowError as error:
                raise SinkError(str(error)) from error

    def _insert_lead_by_lead(self, rows: dict[LeadKey, dict[str, list[Row]]]) -> list[Refusal]:
        """Isolate the leads ClickHouse refuses, so one bad row cannot block the rest."""
        refused: list[Refusal] = []
        for key, by_table in rows.items():
            try:
                self._insert_leads({key: by_table})
            except PermanentRowError as error:
                self._drop_partial(key, by_table)
                refused.append(Refusal(key, str(error)))
        if refused and len(refused) == len(rows) > 1:
            msg = f"ClickHouse refused the rows of every lead in the batch: {refused[0].reason}"
            raise SinkError(msg)
        return refused

    def _drop_partial(self, key: LeadKey, by_table: dict[str, list[Row]]) -> None:
        """Delete what landed of a refused lead's new revision.

        Its older revision must stay visible: the views deduplicate each row identity
        to its highest revision, so a half-written newer revision would hide it. (Its
        events stay: events are facts, and a lead refused for good is dead-lettered.)
        """
        revision = by_table["lead_revisions"][0][REVISION_AT]
        if self._cluster is None:
            from sinks.migrate import deployed_cluster

            self._cluster = deployed_cluster(self.client) or ""
        for table in REVISIONED:
            # A Distributed table takes no DELETE: its local tables do, on every shard.
            target = f"{table}_local ON CLUSTER {self._cluster}" if self._cluster else table
            self.client.command(
                f"DELETE FROM {target} WHERE version = {{v:UInt32}} AND lead_id = {{l:String}} "
                "AND generation = {g:String} AND revision = {r:UInt64}",
                parameters={"v": self.version, "l": key.lead_id, "g": key.generation,
                            "r": revision},
            )

    def _insert(self, table: str, rows: Sequence[Row],
                columns: Sequence[str] | None = None) -> None:
        client = self.client if self.lanes is None else self.lanes.client(table)
        try:
            context = self._contexts.get(table)
            if context is None:
                # Column-oriented (zip(*rows) pivots in C), and no merge at insert time:
                # every view reads with FINAL, so deduplicating on insert is wasted work.
                context = client.create_insert_context(
                    table, list(columns or COLUMNS[table]), column_oriented=True,
                    settings={"optimize_on_insert": 0})
                self._contexts[table] = context
            context.data = list(zip(*rows, strict=True))
            try:
                client.insert(context=context)
            finally:
                context.data = None
        except ClickHouseError as error:
            raise self._failure(table, error) from error
        except (OverflowError, ValueError, struct.error) as error:
            # clickhouse-connect could not encode a value for its column type.
            msg = f"insert into {table} refused a value: {first_line(error)}"
            raise PermanentRowError(msg) from error

    def _failure(self, table: str, error: ClickHouseError) -> SinkError:
        """The sink error for a failed statement on ``table``: retry, refuse or stop."""
        if is_transient(error):
            self._reconnect = self._reconnect or lost_connection(error)
            return TransientSinkError(f"insert into {table} failed, will retry: "
                                      f"{first_line(error)}")
        if is_bad_data(error):
            return PermanentRowError(f"insert into {table} refused: {first_line(error)}")
        return SinkError(f"insert into {table} failed: {first_line(error)}")


def _now_ms() -> int:
    return int(time.time() * 1000)
