"""Attribution versions: their records (configuration, sources, status) and the current one.

Every row carries the version that produced it (SPEC §4); ``attribution_versions`` says,
per version, which engine configuration and which sources produced it and where it is
in its life cycle: ``building`` while a replay writes it, ``ready`` once it finished,
``retired`` once its data was dropped. ``current`` is not stored: it is whichever
version ``current_version`` names (one insert switches it, ``sinks.version_ops``), and
the ``v_versions`` view shows it. A record is rewritten whole; readers take the newest.

A version never mixes two configurations: a worker or replay started with another
window, lookback or half-life for an existing version is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import orjson
from clickhouse_connect.driver.client import Client

from sinks.client import query_int
from sinks.exceptions import VersionConfigMismatch, VersionError

BUILDING = "building"
READY = "ready"
CURRENT = "current"
RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version as ``leadclock versions`` shows it."""

    version: int
    status: str
    building: bool
    """A replay is writing it, or was interrupted (also while it is current)."""
    config: dict[str, str]
    sources: tuple[str, ...]
    leads: int
    events: int
    created_at: datetime
    updated_at: datetime

    def config_text(self) -> str:
        """``window=1d lookback=90d half_life=1w`` (and the state TTL if any)."""
        order = {key: n for n, key in enumerate(("window", "lookback", "half_life"))}
        keys = sorted(self.config, key=lambda key: (order.get(key, len(order)), key))
        return " ".join(f"{key}={self.config[key]}" for key in keys)


def config_json(config: dict[str, str]) -> str:
    """The recorded form of a configuration (sorted keys, so equal configs compare equal)."""
    return orjson.dumps(config, option=orjson.OPT_SORT_KEYS).decode()


_SELECT = ("SELECT version, status, building, config, sources, leads, events, created_at, "
           "updated_at FROM v_versions")


def list_versions(client: Client) -> list[VersionInfo]:
    """Every version with a record, oldest first."""
    rows = client.query(f"{_SELECT} ORDER BY version").result_rows
    return [_info(tuple(row)) for row in rows]


def get_version(client: Client, version: int) -> VersionInfo | None:
    """The record of one version, or None if it has none."""
    rows = client.query(f"{_SELECT} WHERE version = {{v:UInt32}}",
                        parameters={"v": version}).result_rows
    return _info(tuple(rows[0])) if rows else None


def _info(row: tuple[object, ...]) -> VersionInfo:
    version, status, building, config, sources, leads, events, created, updated = row
    parsed = orjson.loads(str(config)) if config else {}
    assert isinstance(created, datetime) and isinstance(updated, datetime)
    return VersionInfo(int(str(version)), str(status), bool(building),
                       {str(k): str(v) for k, v in parsed.items()},
                       tuple(str(s) for s in sources) if isinstance(sources, list) else (),
                       int(str(leads)), int(str(events)), created, updated)


def current_version(client: Client) -> int | None:
    """The version the views show, or None while no version was made current."""
    return query_int(client, "SELECT version FROM v_current_version") or None


def next_unused(client: Client) -> int:
    """One more than the highest version that has a record or any data."""
    return query_int(client, "SELECT greatest((SELECT max(version) FROM attribution_versions), "
                             "(SELECT max(version) FROM lead_revisions))") + 1


def write_record(client: Client, version: int, *, config: dict[str, str], status: str,
                 sources: tuple[str, ...], created_ms: int | None = None) -> None:
    """Rewrite a version's record whole (the newest row of a version is its record)."""
    now = int(time.time() * 1000)
    client.insert("attribution_versions",
                  [[version, config_json(config), created_ms or now, status, list(sources),
                    now]],
                  column_names=["version", "config", "created_at", "status", "sources",
                                "updated_at"])


def set_status(client: Client, info: VersionInfo, status: str,
               add_source: str | None = None) -> None:
    """Rewrite a record with another status (and one more source, deduplicated)."""
    sources = info.sources
    if add_source is not None and add_source not in sources:
        sources = (*sources, add_source)
    stored = READY if status == CURRENT else status  # "current" is current_version's word
    if status == CURRENT and info.building:
        stored = BUILDING
    write_record(client, info.version, config=info.config, status=stored, sources=sources,
                 created_ms=int(info.created_at.timestamp() * 1000))


def ensure_version(client: Client, version: int, config: dict[str, str], *,
                   source: str | None = None, status: str = READY) -> VersionInfo:
    """Record ``config`` for a new version, or check it matches the recorded one.

    A new version gets ``status``; an existing one keeps its status and gains
    ``source`` among its sources. A retired version cannot be written again.
    """
    info = get_version(client, version)
    if info is None:
        write_record(client, version, config=config, status=status,
                     sources=(source,) if source else ())
        recorded = get_version(client, version)
        assert recorded is not None
        return recorded
    if info.status == RETIRED:
        msg = (f"version {version} was retired; write a new version (omit "
               f"--attribution-version for the next unused one, {next_unused(client)})")
        raise VersionError(msg)
    if config_json(info.config) != config_json(config):
        msg = (f"version {version} was built with {info.config_text()}, not "
               f"{' '.join(f'{k}={v}' for k, v in config.items())}; use "
               f"--attribution-version N to build a new version with this configuration")
        raise VersionConfigMismatch(msg)
    if source is not None and source not in info.sources:
        set_status(client, info, info.status, add_source=source)
        refreshed = get_version(client, version)
        assert refreshed is not None
        return refreshed
    return info


def make_current(client: Client, version: int, *, settings: dict[str, object] | None = None,
                 ) -> None:
    """Switch the views to ``version``: one insert, so readers see the old or the new."""
    client.command("INSERT INTO current_version VALUES (0, {v:UInt32}, now64(3))",
                   parameters={"v": version}, settings=settings)
