"""The buffer and the sink against a real (embedded) ClickHouse: failures never lose a batch."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from schemas.events import Purchase, Touch
from sinks.exceptions import SinkError, TransientSinkError
from sinks.faults import Faults
from sinks.sink import ClickHouseSink
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept
from streams.engine.state import LeadState

T0 = 1_767_225_600_000_000
CONFIG = EngineConfig()


def _lead() -> LeadState:
    state = LeadState()
    for event in (Touch("t1", "L", "spring", "click", T0),
                  Purchase("p1", "L", T0 + 1, 1000, "USD")):
        state = accept(state, event) or state
    return state


def _revenue(client: Client) -> int:
    return int(client.query("SELECT sum(revenue_minor) FROM v_attribution "
                            "WHERE model = 'linear'").result_rows[0][0])


def test_a_failed_flush_keeps_its_batch(client: Client) -> None:
    buffer = OutputBuffer(CONFIG)
    sink = ClickHouseSink(client, 1, faults=Faults(flush_transient=1))
    buffer.put_lead("L", _lead())
    with pytest.raises(TransientSinkError):
        buffer.flush(sink)
    assert buffer.pending() == 1
    assert buffer.flush(sink) == 1
    assert _revenue(client) == 1000


def test_a_missing_table_stops_instead_of_dead_lettering(client: Client) -> None:
    client.command("DROP TABLE lead_credits")
    buffer, sink = OutputBuffer(CONFIG), ClickHouseSink(client, 1)
    buffer.put_lead("L", _lead())
    with pytest.raises(SinkError):
        buffer.flush(sink)
    assert buffer.take_refused() == []
    assert buffer.pending() == 1


def test_a_newer_revision_replaces_the_older_one(client: Client) -> None:
    buffer, sink = OutputBuffer(CONFIG), ClickHouseSink(client, 1)
    state = _lead()
    buffer.put_lead("L", state)
    buffer.flush(sink)
    earlier = accept(state, Touch("t0", "L", "winter", "email_open", T0 - 10))
    assert earlier is not None
    buffer.put_lead("L", earlier)
    buffer.flush(sink)
    rows = client.query("SELECT campaign_id, revenue_minor FROM v_attribution "
                        "WHERE model = 'first_touch'").result_rows
    assert rows == [("winter", 1000)]
