"""Writing and reading partials (DDL 007): absolute values of changed keys, in epochs.

The engine keeps each (version, partition)'s partials in memory
(``streams.engine.partials``); this module lays them out as rows of the ``agg_*`` tables
and registers epochs. A new owner writes every key of its partition in a fresh epoch
(``seq`` 0) and only then registers it (``register_epoch``); later writes carry the
changed keys with a growing ``seq``. Readers (:func:`current_sql`, and later the public
views) take, per (version, partition), the greatest registered epoch and, per key, the
row of the greatest ``seq``. See docs/design/partials.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Final

from clickhouse_connect.driver.client import Client

from streams.engine.partials import AS_OF, KEYS, TABLES, VALUES, Key, Partials

US: Final = 1_000_000
_SECONDS: Final = frozenset(("window_start", "touch_window", "purchase_window"))
"""Key columns stored as DateTime (seconds); the engine keeps microseconds."""
AS_OF_TABLE: Final = "agg_as_of"
HEAD: Final = ("version", "partition", "epoch")
EPOCHS_TABLE: Final = "agg_epochs"
EPOCH_COLUMNS: Final = ("version", "partition", "epoch", "partitions", "registered_at")
FOREGROUND: Final = {"distributed_foreground_insert": 1}
"""On a cluster (``migrate --cluster``) the tables are Distributed: without this an insert
is forwarded to the shards later, and a registration or a stale mark could become
visible before, or after, the rows it speaks for. A single node ignores it."""
Row = tuple[object, ...]


def columns(table: str) -> tuple[str, ...]:
    """A partial table's columns, in the order :func:`rows` lays them out."""
    if table == AS_OF_TABLE:
        return (*HEAD, "as_of", "seq")
    return (*HEAD, *KEYS[table], *VALUES[table], "seq")


def _key_cells(table: str, key: Key) -> tuple[object, ...]:
    return tuple(value // US if name in _SECONDS and isinstance(value, int) else value
                 for name, value in zip(KEYS[table], key, strict=True))


def rows(partials: Partials, head: tuple[int, int, int], seq: int,
         keys: Iterable[tuple[str, Key]] | None = None) -> dict[str, list[Row]]:
    """Rows of the given (table, key) pairs, or of every key (a full sync), by table."""
    if keys is None:
        keys = [(table, key) for table in TABLES for key in partials.tables[table]]
        keys.append((AS_OF, ()))
    out: dict[str, list[Row]] = {}
    for table, key in keys:
        if table == AS_OF:
            out.setdefault(AS_OF_TABLE, []).append((*head, partials.as_of_us, seq))
            continue
        out.setdefault(table, []).append(
            (*head, *_key_cells(table, key), *partials.value(table, key), seq))
    return out


def write(client: Client, partials: Partials, head: tuple[int, int, int], seq: int,
          keys: Iterable[tuple[str, Key]] | None = None) -> int:
    """Insert the rows of ``keys`` (all keys if None); return how many rows."""
    written = 0
    for table, table_rows in rows(partials, head, seq, keys).items():
        client.insert(table, table_rows, column_names=list(columns(table)),
                      settings={"optimize_on_insert": 0})
        written += len(table_rows)
    return written


def newest_epoch(client: Client, version: int, partition: int | None = None, *,
                 registered: bool = False) -> int:
    """The greatest epoch in agg_epochs of (version, partition) (0: none).

    ``partition`` None: of the whole version, stale marks included unless ``registered``
    (then only layouts readers may see count).
    """
    where = "version = {v:UInt32}" + ("" if partition is None else " AND partition = {p:Int32}")
    where += " AND partitions > 0" if registered else ""
    (found,), = client.query(f"SELECT max(epoch) FROM {EPOCHS_TABLE} WHERE {where}",
                             parameters={"v": version, "p": partition or 0}).result_rows
    return int(found or 0)


def epoch_after(newest: int, now_ms: int | None = None) -> int:
    """An epoch greater than ``newest``, time-based when clocks allow.

    Time-based (``now_ms << 16``), so that separate stores merged later (the two-worker
    tests) order their epochs by when they were taken, and never below the greatest
    one, so that skewed clocks cannot hide a new owner behind an old epoch.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return max(now << 16, newest + 1)


def next_epoch(client: Client, version: int, partition: int | None,
               now_ms: int | None = None) -> int:
    """An epoch greater than every one of (version, partition) (None: of the version)."""
    return epoch_after(newest_epoch(client, version, partition), now_ms)


def register_epoch(client: Client, version: int, partition: int, epoch: int,
                   partitions: int) -> None:
    """Insert an agg_epochs row: a layout readers may see, or a stale mark (``partitions`` 0).

    Register a layout only after every row of it is written.
    """
    row = (version, partition, epoch, partitions, int(time.time() * 1000))
    client.insert(EPOCHS_TABLE, [row], column_names=list(EPOCH_COLUMNS), settings=FOREGROUND)


def current_sql(table: str) -> str:
    """Rows of the newest registered epoch of each partition, one per key, of version {v}.

    What the views will read (summing the values over partitions); ``{v:UInt32}`` is
    the version.
    """
    return (f"SELECT * FROM {table} FINAL WHERE version = {{v:UInt32}} AND (partition, epoch) "
            "IN (SELECT partition, max(epoch) FROM agg_epochs WHERE version = {v:UInt32} "
            "GROUP BY partition)")


def summed(client: Client, version: int, table: str) -> dict[Key, list[int]]:
    """A partial table summed over partitions (as a view would), keys as the engine's."""
    keys, values = KEYS[table], VALUES[table]
    cells = ", ".join(f"toInt64(toUnixTimestamp({k})) * {US} AS {k}" if k in _SECONDS else k
                      for k in keys)
    sums = ", ".join(f"toInt64(sum({v}))" for v in values)
    result = client.query(
        f"SELECT {cells}, {sums} FROM ({current_sql(table)}) GROUP BY {', '.join(keys)}",
        parameters={"v": version}).result_rows
    n = len(keys)
    return {tuple(str(c) if isinstance(c, str) else int(c) for c in row[:n]):
            [int(x) for x in row[n:]] for row in result}


def read(client: Client, version: int, partition: int) -> tuple[int, Partials]:
    """The registered epoch of (version, partition) and its partials (0 and empty if none).

    What ``replay --append`` starts from: it applies its leads' differences to these
    and writes the result whole in a new epoch.
    """
    (epoch,), = client.query(
        "SELECT max(epoch) FROM agg_epochs WHERE version = {v:UInt32} AND partition = {p:Int32}",
        parameters={"v": version, "p": partition}).result_rows
    partials = Partials()
    if not epoch:
        return 0, partials
    where = ("version = {v:UInt32} AND partition = {p:Int32} AND epoch = {e:UInt64}")
    params = {"v": version, "p": partition, "e": epoch}
    for table in TABLES:
        keys, values = KEYS[table], VALUES[table]
        cells = ", ".join(f"toInt64(toUnixTimestamp({k})) * {US}" if k in _SECONDS else k
                          for k in keys)
        found = client.query(
            f"SELECT {cells}, {', '.join(values)} FROM {table} FINAL WHERE {where}",
            parameters=params).result_rows
        target = partials.tables[table]
        for row in found:
            target[tuple(str(c) if isinstance(c, str) else int(c) for c in row[:len(keys)])] = [
                int(x) for x in row[len(keys):]]
    as_of = client.query(
        f"SELECT max(toUnixTimestamp64Micro(as_of)) FROM {AS_OF_TABLE} FINAL WHERE {where}",
        parameters=params).result_rows
    partials.as_of_us = int(as_of[0][0] or 0) if as_of else 0
    return int(epoch), partials
