"""``leadclock migrate``: apply the versioned DDL files, idempotently, on any backend.

DDL lives in ``schemas/ddl/NNN_name.sql`` (part of the contract, SPEC §1). Every
statement is written to be re-runnable (``IF NOT EXISTS``, ``CREATE OR REPLACE VIEW``),
so migrating twice is harmless and a new file only adds. ``sinks.ddl_render`` turns the
files into single-node or cluster statements; ``sinks.access`` adds the dashboard role.

A schema created in cluster mode stays in cluster mode: a plain ``migrate`` (as every
worker and replay runs at start) finds the Distributed tables and re-renders for their
cluster, because the single-node statements would try to alter a Distributed table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from sinks import access, ddl_render
from sinks.ddl_render import Statement
from sinks.exceptions import MigrationError
from sinks.partitioning import partition_by_version, unpartitioned


@dataclass(frozen=True, slots=True)
class MigrateOptions:
    """What to migrate beyond the single-node schema."""

    cluster: str | None = None
    dashboard: access.DashboardAccess | None = None
    copy_rows: bool = False
    """Re-create per-lead tables created before DDL 004 partitioned by version (explicit
    ``leadclock migrate`` only: no writer may run meanwhile; ``sinks.partitioning``)."""


@dataclass(frozen=True, slots=True)
class Migrated:
    """What ``migrate`` did: the DDL files applied, whether the schema is new, notes."""

    files: list[str]
    created: bool
    notes: list[str]


def ddl_files() -> list[tuple[str, str]]:
    """(name, text) of every DDL file, in apply order."""
    folder = resources.files("schemas") / "ddl"
    return sorted(
        (item.name, item.read_text(encoding="utf-8"))
        for item in folder.iterdir()
        if item.name.endswith(".sql")
    )


def plan(options: MigrateOptions, database: str) -> list[Statement]:
    """Every statement ``migrate`` runs for ``options``, in order."""
    files = ddl_files()
    planned = (ddl_render.cluster(files, options.cluster, database) if options.cluster
               else ddl_render.single_node(files))
    if options.dashboard is not None:
        views = ddl_render.public_views(files)
        planned += [Statement(f"dashboard role {options.dashboard.role}", sql)
                    for sql in access.statements(options.dashboard, views, options.cluster,
                                                 database)]
    return planned


def plan_text(options: MigrateOptions, dsn: str) -> str:
    """``--dry-run``: the plan as an SQL script (no connection needed)."""
    path = urlsplit(dsn).path.strip("/") if urlsplit(dsn).scheme != "chdb" else ""
    database = path.split("/")[0] or "default"
    return (ddl_render.script(plan(options, database))
            + "\n-- then (single node), per-lead tables created before DDL 004 are re-created"
            "\n-- partitioned by version (create, copy, exchange; sinks/partitioning.py).\n")


def check_backend(dsn: str, options: MigrateOptions) -> None:
    """Refuse what the embedded engine cannot do, in one line, before touching anything."""
    if urlsplit(dsn).scheme != "chdb":
        return
    if options.cluster:
        msg = "cluster mode needs ClickHouse servers; the embedded engine (chdb) has no clusters"
        raise MigrationError(msg)
    if options.dashboard is not None:
        msg = ("--dashboard-role needs a ClickHouse server; the embedded engine (chdb) has "
               "no access control")
        raise MigrationError(msg)


def migrate(client: Client, options: MigrateOptions | None = None) -> list[str]:
    """Apply the plan; return the DDL files applied (see :func:`apply`)."""
    return apply(client, options).files


def apply(client: Client, options: MigrateOptions | None = None) -> Migrated:
    """Apply the plan, then partition the per-lead tables by version (single node).

    No version is made current: a worker or the first replay does that (SPEC §5).
    """
    options = options or MigrateOptions()
    deployed = deployed_cluster(client)
    options = MigrateOptions(_resolve_cluster(options.cluster, deployed),
                             options.dashboard, options.copy_rows)
    database = str(client.command("SELECT currentDatabase()"))
    applied: dict[str, None] = {}
    for statement in plan(options, database):
        try:
            client.command(statement.sql)
        except ClickHouseError as error:
            first = str(error).strip().splitlines()[0]
            msg = f"{statement.source}: {first}"
            raise MigrationError(msg) from error
        applied[statement.source] = None
    notes: list[str] = []
    if options.copy_rows and not options.cluster:
        notes = partition_by_version(client)
    elif not options.cluster and (waiting := unpartitioned(client)):
        notes = [f"{', '.join(sorted(waiting))} not partitioned by version yet (retire then "
                 "deletes rows instead of dropping partitions): stop the workers and run "
                 "leadclock migrate"]
    return Migrated(list(applied), deployed is None, notes)


def deployed_cluster(client: Client) -> str | None:
    """How the schema was created: None (not yet), '' (single node) or the cluster name."""
    rows = client.query(
        "SELECT engine, engine_full FROM system.tables "
        "WHERE database = currentDatabase() AND name = 'current_version'").result_rows
    if not rows:
        return None
    engine, full = rows[0]
    if engine != "Distributed":
        return ""
    first = re.match(r"Distributed\(\s*'?([^',)\s]+)", str(full))
    return first[1] if first else ""


def _resolve_cluster(wanted: str | None, deployed: str | None) -> str | None:
    if deployed is None or wanted == deployed or (not wanted and not deployed):
        return wanted or None
    if not wanted:
        return deployed
    if not deployed:
        msg = (f"this database was migrated single-node; cluster mode ({wanted}) cannot "
               "convert it: migrate a new database with --cluster and replay into it")
        raise MigrationError(msg)
    msg = f"this database was migrated for cluster {deployed}, not {wanted}"
    raise MigrationError(msg)
