"""Which engine configuration produced which attribution version.

Every row carries its version; this table records the configuration of each
version so a reader knows what produced the numbers, and so that a worker started with
a different window or lookback cannot silently mix two configurations into one version.
"""

from __future__ import annotations

import time

import orjson
from clickhouse_connect.driver.client import Client

from sinks.exceptions import VersionConfigMismatch


def ensure_version(client: Client, version: int, config: dict[str, str]) -> None:
    """Record ``config`` for ``version``, or check it matches what was recorded."""
    wanted = orjson.dumps(config, option=orjson.OPT_SORT_KEYS).decode()
    result = client.query(
        "SELECT config FROM attribution_versions FINAL WHERE version = {v:UInt32}",
        parameters={"v": version},
    )
    if result.result_rows:
        recorded = result.result_rows[0][0]
        if recorded != wanted:
            msg = (f"version {version} was built with {recorded}, not {wanted}; "
                   f"use --version N to build a new version with this configuration")
            raise VersionConfigMismatch(msg)
        return
    client.insert("attribution_versions", [[version, wanted, int(time.time() * 1000)]],
                  column_names=["version", "config", "created_at"])
