"""Which version a replay writes, and whether it starts it, appends to it or resumes it.

SPEC §5: a replay builds version N (default: the next unused one) beside the current
one; into a database with no current version, its version becomes current at its
successful end. A version that already holds data is never silently overwritten: with
``--append`` the log is merged into it (the result equals one replay of all its logs
together); without, the replay is refused with a one-line error that says what to do,
unless the version is an interrupted replay of this very source, which is resumed (an
append of the same log, so the rerun converges to the uninterrupted result). Without
``--attribution-version``, an interrupted replay of the same source and configuration
is resumed rather than a new version started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from clickhouse_connect.driver.client import Client

from sinks.exceptions import VersionConfigMismatch, VersionError
from sinks.version_feed import fed_partitions
from sinks.versions import (
    RETIRED,
    VersionInfo,
    config_json,
    current_version,
    get_version,
    list_versions,
    next_unused,
)

NEW: Final = "new"
APPEND: Final = "append"
RESUME: Final = "resume"


@dataclass(frozen=True, slots=True)
class Target:
    """The version a replay writes and how."""

    version: int
    mode: str
    current: int | None
    info: VersionInfo | None

    @property
    def merges(self) -> bool:
        """True if the log is merged with what the version holds."""
        return self.mode != NEW


def resumable(client: Client, label: str, config: dict[str, str]) -> int | None:
    """The newest interrupted replay of ``label`` with this configuration, if any."""
    found = [info.version for info in list_versions(client)
             if info.building and label in info.sources
             and config_json(info.config) == config_json(config)]
    return max(found) if found else None


def choose(client: Client, *, requested: int | None, config: dict[str, str], label: str,
           append: bool) -> Target:
    """Decide the target; VersionError (one line, with what to do) when refused."""
    current = current_version(client)
    version = requested or resumable(client, label, config) or next_unused(client)
    info = get_version(client, version)
    if info is not None and info.status == RETIRED:
        msg = (f"version {version} was retired; replay into a new version (omit "
               f"--attribution-version for the next unused one, {next_unused(client)})")
        raise VersionError(msg)
    if info is not None and config_json(info.config) != config_json(config):
        wanted = " ".join(f"{k}={v}" for k, v in config.items())
        msg = (f"version {version} was built with {info.config_text()}, not {wanted}: "
               f"replay into a new version (omit --attribution-version for the next unused "
               f"one, {next_unused(client)})")
        raise VersionConfigMismatch(msg)
    if info is None or not (info.leads or info.sources):
        return Target(version, NEW, current, info)
    if info.building and label in info.sources and not append:
        return Target(version, RESUME, current, info)
    if not append:
        msg = (f"version {version} already holds data ({info.leads:,} leads from "
               f"{', '.join(info.sources) or 'earlier writes'}): add --append to merge this "
               "log into it (the result equals one replay of all its logs together), or "
               "replay into a new version (omit --attribution-version for the next unused "
               f"one, {next_unused(client)})")
        raise VersionError(msg)
    if label.startswith("file:") and fed_partitions(client, version):
        msg = (f"version {version} is fed live by a worker, which rewrites each lead from "
               "the topics alone and would drop the events this file adds: replay the file "
               "into a version no worker feeds")
        raise VersionError(msg)
    return Target(version, APPEND, current, info)
