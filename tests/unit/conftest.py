"""Unit-test fixtures: an embedded ClickHouse (chdb) with the schema applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from sinks.client import connect
from sinks.migrate import migrate


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    """A migrated chdb store in the test's own directory."""
    ch = connect(f"chdb://{tmp_path / 'ch'}")
    migrate(ch)
    yield ch
    ch.close()
