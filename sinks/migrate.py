"""``leadclock migrate``: apply the versioned DDL files, idempotently, on any backend.

DDL lives in ``schemas/ddl/NNN_name.sql`` (part of the contract, SPEC §1). Every
statement is written to be re-runnable (``IF NOT EXISTS``, ``CREATE OR REPLACE VIEW``),
so migrating twice is harmless and a new file only adds. ``sinks.ddl_render`` turns the
files into single-node or cluster statements; ``sinks.access`` adds the dashboard role.

Applying is serialised and skipped when done: a process migrating an embedded directory
holds ``<dir>.migrate.lock`` meanwhile (two workers sharing one directory start at
once), and a plan recorded complete in ``schema_migrations`` is not re-run (replicas of
a deployment start after its one-shot migrate job, all at once).

A schema created in cluster mode stays in cluster mode: a plain ``migrate`` (as every
worker and replay runs at start) finds the Distributed tables and re-renders for their
cluster, because the single-node statements would try to alter a Distributed table.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from sinks import access, ddl_render
from sinks.client import route
from sinks.ddl_render import Statement
from sinks.exceptions import MigrationError
from sinks.partitioning import partition_by_version, unpartitioned
from sinks.reach_version import reach_by_revision


@dataclass(frozen=True, slots=True)
class MigrateOptions:
    """What to migrate beyond the single-node schema."""

    cluster: str | None = None
    dashboard: access.DashboardAccess | None = None
    copy_rows: bool = False
    """Re-create per-lead tables created before DDL 004 partitioned by version (explicit
    ``leadclock migrate`` only: no writer may run meanwhile; ``sinks.partitioning``)."""
    reapply: bool = False
    """Apply even a plan recorded complete (explicit ``leadclock migrate``: whoever runs
    it may be repairing a schema someone changed by hand)."""


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
    A plan recorded complete is not applied again (returns no files).
    """
    options = options or MigrateOptions()
    with _migration_lock(client):
        deployed = deployed_cluster(client)
        options = MigrateOptions(_resolve_cluster(options.cluster, deployed),
                                 options.dashboard, options.copy_rows, options.reapply)
        database = str(client.command("SELECT currentDatabase()"))
        settings = {"distributed_foreground_insert": 1} if options.cluster else None
        planned = plan(options, database)
        fingerprint = plan_fingerprint(planned)
        applied: dict[str, None] = {}
        if options.reapply or options.dashboard is not None or not _recorded(client,
                                                                             fingerprint):
            for statement in planned:
                try:
                    client.command(statement.sql)
                except ClickHouseError as error:
                    first = str(error).strip().splitlines()[0]
                    msg = f"{statement.source}: {first}"
                    raise MigrationError(msg) from error
                applied[statement.source] = None
            client.command("INSERT INTO schema_migrations VALUES "
                           f"('{fingerprint}', now64(3, 'UTC'))", settings=settings)
        notes: list[str] = []
        if options.copy_rows and not options.cluster:
            notes = partition_by_version(client)
        elif not options.cluster:
            if waiting := unpartitioned(client):
                notes.append(f"{', '.join(sorted(waiting))} not partitioned by version yet "
                             "(retire then deletes rows instead of dropping partitions): "
                             "stop the workers and run leadclock migrate")
            if reach_by_revision(client):
                notes.append("lead_reach keeps each key's newest revision (created before "
                             "reach diffs): workers write every reach row of a lead at "
                             "each flush; stop the workers and run leadclock migrate")
        return Migrated(list(applied), deployed is None, notes)


def plan_fingerprint(planned: list[Statement]) -> str:
    """SHA-256 of every statement of a plan: equal plans leave equal schemas."""
    digest = hashlib.sha256()
    for statement in planned:
        digest.update(statement.sql.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _recorded(client: Client, fingerprint: str) -> bool:
    """Whether this exact plan was applied completely before."""
    exists = client.command("SELECT count() FROM system.tables WHERE database = "
                            "currentDatabase() AND name = 'schema_migrations'")
    if not exists:
        return False
    found = client.command("SELECT count() FROM schema_migrations WHERE plan_sha256 = "
                           f"'{fingerprint}'")
    return bool(found)


@contextmanager
def _migration_lock(client: Client) -> Iterator[None]:
    """Serialise migrations of one embedded directory across processes.

    Processes sharing a directory reach it through one gateway, which runs statements
    one at a time but cannot keep two migrations' statements from interleaving.
    A server has no such lock: deployments migrate once before starting the workers,
    and the recorded plan lets the workers skip (docs/deploy.md).
    """
    found = route(client)
    if found is None or urlsplit(found.dsn).scheme != "chdb":
        yield
        return
    directory = Path(urlsplit(found.dsn).path)
    lock_path = directory.with_name(directory.name + ".migrate.lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
