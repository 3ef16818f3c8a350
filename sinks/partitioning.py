"""Re-create per-lead tables whose layout ClickHouse cannot change with ALTER.

Two such layouts, each fixed by re-creating the table: create a copy with the new
layout, copy the rows, ``EXCHANGE TABLES`` (atomic), drop the old one.

* **Partitioned by version**, so a version drops in O(1): ``leadclock retire N`` drops
  version N with ``ALTER TABLE ... DROP PARTITION N``, which needs ``PARTITION BY
  version``. The tables of DDL 001 were created without a partition key.
* **``lead_reach`` keeping each key's row with the most touches**
  (``ReplacingMergeTree(touches)``, DDL 001 since issue 12): databases created before
  keep the newest revision's, and a worker writes their reach rows whole
  (``sinks.reach_version``). The rows copied keep their meaning: a reach key's newest
  revision holds its highest count (a lead's states only gain events).

New databases get both from DDL 001; databases created earlier are re-created by an
explicit ``leadclock migrate`` only (workers and replays apply the DDL at start too,
and must not race each other through this), which must not run while a worker or
replay writes: rows inserted during the copy would be lost, so it re-counts before the
exchange and stops if the count moved. Every step is idempotent, so an interrupted
migration is finished by running it again: a table already re-created is skipped, a
leftover copy is dropped and made again, and a copy left behind after the exchange is
dropped. Cluster deployments keep their tables; ``retire`` deletes rows.
"""

from __future__ import annotations

import re
from typing import Final

from clickhouse_connect.driver.client import Client

from sinks.client import query_int
from sinks.exceptions import MigrationError
from sinks.reach_version import TOUCHES, reach_by_revision, version_column

TABLES: Final = ("lead_revisions", "lead_reach", "lead_stages", "lead_credits")
"""The per-lead tables of DDL 001/002 (``lead_events`` is created partitioned)."""
COPY_SUFFIX: Final = "__by_version"
REACH: Final = "lead_reach"


def unpartitioned(client: Client) -> dict[str, int]:
    """Tables still without the version partition key, with their row counts."""
    rows = client.query(
        "SELECT name, partition_key, total_rows FROM system.tables "
        "WHERE database = currentDatabase() AND name IN {names:Array(String)}",
        parameters={"names": list(TABLES)}).result_rows
    return {str(name): int(total or 0) for name, key, total in rows if str(key) != "version"}


def partition_by_version(client: Client) -> list[str]:
    """Re-create the tables of an older layout; return what was done, for the user."""
    done: list[str] = []
    for table in TABLES:
        if _exchanged(client, table):  # an earlier run stopped between exchange and drop
            client.command(f"DROP TABLE IF EXISTS {table}{COPY_SUFFIX}")
    for table in unpartitioned(client):
        copied = _recreate(client, table)
        done.append(f"{table}: re-created partitioned by version ({copied:,} rows copied)")
    if reach_by_revision(client):
        copied = _recreate(client, REACH)
        done.append(f"{REACH}: re-created keeping each key's row with the most touches "
                    f"({copied:,} rows copied; workers now write only the keys that change)")
    return done


def _layouts(client: Client, tables: list[str]) -> dict[str, tuple[str, str | None]]:
    """Per table: (partition key, ReplacingMergeTree version column)."""
    rows = client.query(
        "SELECT name, partition_key, engine_full FROM system.tables "
        "WHERE database = currentDatabase() AND name IN {names:Array(String)}",
        parameters={"names": tables}).result_rows
    return {str(name): (str(key), version_column(str(engine))) for name, key, engine in rows}


def _current(table: str, layout: tuple[str, str | None]) -> bool:
    """True if a table of this layout needs no re-creation."""
    return layout[0] == "version" and (table != REACH or layout[1] == TOUCHES)


def _exchanged(client: Client, table: str) -> bool:
    """True if a copy of ``table`` is left over after the table itself was exchanged."""
    layouts = _layouts(client, [table, table + COPY_SUFFIX])
    layout = layouts.get(table)
    return layout is not None and _current(table, layout) and (table + COPY_SUFFIX) in layouts


def _recreate(client: Client, table: str) -> int:
    copy = table + COPY_SUFFIX
    create = str(client.query(
        "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() "
        "AND name = {t:String}", parameters={"t": table}).result_rows[0][0])
    client.command(f"DROP TABLE IF EXISTS {copy}")  # left by a run stopped before the exchange
    client.command(_copy_statement(create, table, copy))
    before = query_int(client, f"SELECT count() FROM {table}")
    client.command(f"INSERT INTO {copy} SELECT * FROM {table}")
    after = query_int(client, f"SELECT count() FROM {table}")
    if after != before:
        client.command(f"DROP TABLE IF EXISTS {copy}")
        msg = (f"rows were written to {table} while migrate copied it ({before:,} then "
               f"{after:,}): stop every worker and replay, then run leadclock migrate again")
        raise MigrationError(msg)
    client.command(f"EXCHANGE TABLES {table} AND {copy}")
    client.command(f"DROP TABLE IF EXISTS {copy}")
    return before


def _copy_statement(create: str, table: str, copy: str) -> str:
    """``CREATE TABLE IF NOT EXISTS <copy> ...`` in the current layout.

    Partitioned by version; ``lead_reach`` versioned by its touches.
    """
    head = re.match(r"CREATE TABLE (\S+?\.)?`?" + re.escape(table) + r"`?\s", create)
    order = re.search(r"\sORDER BY\s", create)
    if head is None or order is None:
        msg = f"{table}: cannot derive its re-created copy from: {create[:120]}"
        raise MigrationError(msg)
    body = create[head.end():order.start()]
    if table == REACH:
        body, replaced = re.subn(r"ReplacingMergeTree\(\s*`?revision`?\s*\)",
                                 f"ReplacingMergeTree({TOUCHES})", body)
        if not replaced and version_column(body) != TOUCHES:
            msg = f"{table}: cannot derive its re-created copy from: {create[:120]}"
            raise MigrationError(msg)
    if not re.search(r"\sPARTITION BY\s", body):
        body += " PARTITION BY version"
    return f"CREATE TABLE IF NOT EXISTS {copy} {body}{create[order.start():]}"
