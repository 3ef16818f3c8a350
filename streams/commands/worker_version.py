"""Which version a worker writes when it starts, and with which engine configuration.

* Pinned (``--attribution-version N``): version N, with the flags' configuration (a
  version recorded with another configuration is refused).
* Otherwise, the current version, with the configuration it was built with (a promoted
  replay may use another lookback than the worker's flags: the version's wins, and the
  worker says so). A current version the worker cannot write (one holding events from
  files, or from other topics) is refused in one line.
* No current version (a new database): the next unused version, recorded with the
  flags' configuration and made current at once.
"""

from __future__ import annotations

from collections.abc import Callable

from clickhouse_connect.driver.client import Client

from sinks.exceptions import VersionError
from sinks.versions import (
    current_version,
    ensure_version,
    get_version,
    make_current,
    next_unused,
)
from sinks.worker_versions import WorkerVersions, why_not
from streams.engine.config import EngineConfig
from streams.faust_app.settings import WorkerSettings


def start_version(client: Client, settings: WorkerSettings, control: WorkerVersions,
                  say: Callable[[str], None]) -> tuple[int, EngineConfig]:
    """The version to write at start and its engine configuration."""
    label = settings.topics.label
    current = current_version(client)
    if settings.version is not None:
        pinned = get_version(client, settings.version)
        reason = why_not(pinned, label, settings.describe_version()) if pinned else ""
        if reason and "state TTL" not in reason:  # (a TTL mismatch is refused just below)
            msg = f"version {settings.version} cannot be written by a worker: {reason}"
            raise VersionError(msg)
        ensure_version(client, settings.version, settings.describe_version(), source=label)
        if current is None:
            make_current(client, settings.version)
        say(f"worker: writing version {settings.version} (pinned)"
            + ("" if current in (None, settings.version) else f"; the views show {current}"))
        return settings.version, settings.engine
    target = control.target()
    if target is None:
        version = next_unused(client)
        ensure_version(client, version, settings.describe_version(), source=label)
        make_current(client, version)
        say(f"worker: writing version {version}, made current (the database had none)")
        return version, settings.engine
    if target.blocked:
        msg = (f"the current version {target.version} cannot be written by a worker: "
               f"{target.blocked}")
        raise VersionError(msg)
    if target.config != settings.engine:
        flags = " ".join(f"{k}={v}" for k, v in settings.engine.describe().items())
        built = " ".join(f"{k}={v}" for k, v in target.config.describe().items())
        say(f"worker: writing the current version {target.version} with its configuration "
            f"({built}), not the flags' ({flags})")
    else:
        say(f"worker: writing the current version {target.version} (follows promotes)")
    return target.version, target.config
