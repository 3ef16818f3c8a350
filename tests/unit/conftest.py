"""Unit-test fixtures: an embedded ClickHouse (chdb) with the schema applied.

``client`` runs each test twice: on the engine directly, and through the gateway that
shares it with other processes (docs/embedded-sharing.md), so everything the sink does
is checked to behave the same over the gateway's ClickHouse HTTP interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from sinks.client import connect
from sinks.gateway.serve import gateway_thread
from sinks.migrate import migrate
from sinks.versions import make_current


def _migrated(client: Client) -> Client:
    """The schema, with version 1 current (what the first worker or replay does)."""
    migrate(client)
    make_current(client, 1)
    return client


@pytest.fixture(params=["chdb", "gateway"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    """A migrated chdb store in the test's own directory, direct or through a gateway."""
    dsn = f"chdb://{tmp_path / 'ch'}"
    if request.param == "chdb":
        ch = _migrated(connect(dsn))
        yield ch
        ch.close()
        return
    with gateway_thread(dsn) as gateway:
        ch = _migrated(connect(gateway.url))
        yield ch
        ch.close()
