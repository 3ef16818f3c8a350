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


class _Commands:
    """Records the statements a sink sends (a cluster cannot run in this test)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def command(self, sql: str, **kwargs: object) -> None:
        self.sent.append(sql)


def test_a_refused_lead_is_cleaned_up_on_every_shard_in_cluster_mode() -> None:
    """A Distributed table refuses DELETE: the local tables are cleaned ON CLUSTER."""
    from sinks.lead_rows import REVISION_AT, REVISIONED
    from streams.engine.records import LeadKey

    recorder = _Commands()
    sink = ClickHouseSink(recorder, 1, _cluster="prod")  # type: ignore[arg-type]
    revision_row = [None] * (REVISION_AT + 1)
    revision_row[REVISION_AT] = 3
    sink._drop_partial(LeadKey("lead-1", ""), {"lead_revisions": [tuple(revision_row)]})
    assert [sql.split(" WHERE")[0] for sql in recorder.sent] == [
        f"DELETE FROM {table}_local ON CLUSTER prod" for table in REVISIONED]
