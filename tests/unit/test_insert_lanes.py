"""A sink with insert lanes writes what a sink without them writes, and fails the same way."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from schemas.events import Purchase, Touch
from sinks.exceptions import SinkError
from sinks.insert_lanes import InsertLanes
from sinks.lead_rows import COLUMNS, LEAD_TABLES
from sinks.sink import ClickHouseSink
from sinks.versions import make_current
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept
from streams.engine.state import LeadState

T0 = 1_767_225_600_000_000
DAY = 86_400_000_000
CONFIG = EngineConfig()
WRITE_TIME = {"written_at", "recorded_at"}


def _state(n: int) -> LeadState:
    """Lead ``n``: a few touches over two campaigns, and a purchase for every third."""
    lead = f"L{n}"
    state = LeadState()
    events: list[Touch | Purchase] = [
        Touch(f"{lead}-t{i}", lead, ("spring", "autumn")[(n + i) % 2],
              ("email_open", "click", "call")[i % 3], T0 + (n + i) * DAY)
        for i in range(1 + n % 4)]
    if n % 3 == 0:
        events.append(Purchase(f"{lead}-p", lead, T0 + (n + 5) * DAY, 1000 + n, "USD"))
    for event in events:
        state = accept(state, event) or state
    return state


def _write(client: Client, version: int, lanes: InsertLanes | None) -> None:
    buffer, sink = OutputBuffer(CONFIG), ClickHouseSink(client, version, lanes=lanes)
    try:
        for n in range(40):
            buffer.put_lead(f"L{n}", _state(n))
            buffer.put_ledger(("events", 0, n), "accepted", f"L{n}", f"L{n}-t0")
        assert buffer.flush(sink) == 40
    finally:
        sink.close()


def _rows(client: Client, table: str, version: int) -> list[tuple[object, ...]]:
    columns = [c for c in COLUMNS[table] if c not in WRITE_TIME | {"version"}]
    where = f"WHERE version = {version}" if "version" in COLUMNS[table] else ""
    return sorted(client.query(f"SELECT {', '.join(columns)} FROM {table} {where}").result_rows,
                  key=repr)


def test_lanes_write_the_same_rows(client: Client) -> None:
    lanes = InsertLanes.beside(client)
    assert lanes is not None
    _write(client, 1, None)
    make_current(client, 2)
    _write(client, 2, lanes)
    for table in LEAD_TABLES:
        assert _rows(client, table, 2) == _rows(client, table, 1), table
        assert _rows(client, table, 2), table
    assert client.query("SELECT count() FROM ingest_ledger").result_rows[0][0] == 80


def test_a_failed_lane_stops_the_write_before_the_revisions(client: Client) -> None:
    client.command("DROP TABLE lead_credits")
    lanes = InsertLanes.beside(client)
    with pytest.raises(SinkError, match="lead_credits"):
        _write(client, 1, lanes)
    # The views move to a revision only after its rows: none may be visible.
    assert client.query("SELECT count() FROM lead_revisions").result_rows[0][0] == 0
    assert lanes is not None and lanes._clients == {}  # closed by the sink's owner
