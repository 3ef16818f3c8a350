"""``promote`` and ``retire``: switch the views to a version, drop a version's data.

Promote is one insert into ``current_version`` (the views read its newest row), so a
dashboard sees the old version or the new one, never both or neither. Retire drops a
version's rows with ``ALTER TABLE ... DROP PARTITION`` (the per-lead tables are
partitioned by version, ``sinks.partitioning``), which costs the same for ten rows or
ten million; a table not yet partitioned (a cluster deployment) gets a lightweight
``DELETE`` instead. The current version can never be retired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from clickhouse_connect.driver.client import Client

from sinks.exceptions import VersionError
from sinks.migrate import deployed_cluster
from sinks.partials_store import AS_OF_TABLE
from sinks.versions import (
    BUILDING,
    CURRENT,
    RETIRED,
    VersionInfo,
    current_version,
    get_version,
    make_current,
    set_status,
)
from streams.engine.partials import TABLES

PER_VERSION_TABLES: Final = ("lead_events", "lead_reach", "lead_stages", "lead_credits",
                             "lead_revisions", "version_offsets", *TABLES, AS_OF_TABLE,
                             "agg_epochs")
"""Every table whose rows belong to one version."""


def _known(client: Client, version: int) -> VersionInfo:
    info = get_version(client, version)
    if info is None:
        listed = "leadclock versions lists them"
        msg = f"there is no version {version} ({listed})"
        raise VersionError(msg)
    return info


def promote(client: Client, version: int) -> int | None:
    """Make ``version`` current; return the version that was current before (or None)."""
    info = _known(client, version)
    previous = current_version(client)
    if info.status == CURRENT:
        return previous
    if info.status == RETIRED:
        msg = f"version {version} was retired: its data is gone"
        raise VersionError(msg)
    if info.status == BUILDING:
        msg = (f"version {version} is still building (a replay is writing it, or was "
               "interrupted: rerun that replay to finish it, or retire the version)")
        raise VersionError(msg)
    if not info.leads:
        msg = f"version {version} holds no data: promoting it would empty every dashboard"
        raise VersionError(msg)
    cluster = deployed_cluster(client)
    make_current(client, version,
                 settings={"distributed_foreground_insert": 1} if cluster else None)
    return previous


@dataclass(frozen=True, slots=True)
class Retired:
    """What ``retire`` dropped."""

    info: VersionInfo
    dropped: list[str]
    """One entry per table: ``lead_credits (partition)`` or ``... (delete)``."""


def retire(client: Client, version: int) -> Retired:
    """Drop every row of ``version`` and mark it retired; refuses the current version."""
    info = _known(client, version)
    if info.status == CURRENT:
        msg = (f"version {version} is current: promote another version first "
               "(leadclock promote N), then retire this one")
        raise VersionError(msg)
    # Marked first, so that nothing promotes or follows it while its rows go.
    if info.status != RETIRED:
        set_status(client, info, RETIRED)
    cluster = deployed_cluster(client) or None
    dropped = [f"{table} ({_drop(client, table, version, cluster)})"
               for table in PER_VERSION_TABLES]
    return Retired(info, dropped)


def _drop(client: Client, table: str, version: int, cluster: str | None) -> str:
    """Drop one version's rows from one table; say how."""
    target = f"{table}_local ON CLUSTER {cluster}" if cluster else table
    local = f"{table}_local" if cluster else table
    key = client.query(
        "SELECT partition_key FROM system.tables WHERE database = currentDatabase() "
        "AND name = {t:String}", parameters={"t": local}).result_rows
    if key and key[0][0] == "version":
        # A partition of a UInt32 key is named by the number itself.
        client.command(f"ALTER TABLE {target} DROP PARTITION {int(version)}")
        return "partition dropped"
    client.command(f"DELETE FROM {target} WHERE version = {{v:UInt32}}",
                   parameters={"v": version})
    return "rows deleted"
