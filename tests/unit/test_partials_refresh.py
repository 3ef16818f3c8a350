"""Stored sums are read only while they hold everything: fenced by epochs, never stale.

``refresh`` (what a replay runs at its end) sums a version into the partial tables and
registers them; any later lead write (any sink, worker or replay) marks the version
stale first, so the views go back to its per-lead rows. The views' answers on both
paths are checked against the oracles in test_judgment_views / test_projection_view;
here: when each path is taken, and the races a refresh must lose.
"""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

from schemas.events import Event
from sinks.partials_refresh import mark_stale, refresh
from sinks.sink import ClickHouseSink
from sinks.version_feed import record
from sinks.version_ops import retire
from sinks.versions import ensure_version, make_current
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept
from streams.engine.state import LeadState
from tests.judgment_db import load
from tests.unit.test_oracle_judgment import cyber_monday_events

CONFIG = EngineConfig()


def _ready(client: Client) -> bool:
    (ready,), = client.query("SELECT ready FROM read_plan").result_rows
    return bool(ready)


def _revenue(client: Client) -> int:
    (total,), = client.query("SELECT sum(revenue_minor) FROM v_attribution "
                             "WHERE model = 'linear'").result_rows
    return int(total)


def _split(events: list[Event]) -> tuple[list[Event], list[Event]]:
    """The log without one purchasing lead's events, and those events."""
    late = next(e for e in events if getattr(e, "amount_minor", 0))
    mine = [e for e in events if e.lead_id == late.lead_id]
    return [e for e in events if e.lead_id != late.lead_id], mine


def test_a_lead_written_after_a_refresh_sends_the_views_back_to_the_leads(
        client: Client) -> None:
    first, rest = _split(cyber_monday_events())
    load(client, first, CONFIG, [], stored_sums=True)
    make_current(client, 1)
    assert _ready(client)
    before = _revenue(client)
    load(client, rest, CONFIG, [])  # a new sink: a worker starting, a later replay
    assert not _ready(client)
    assert _revenue(client) > before
    assert refresh(client, 1).epoch is not None
    assert _ready(client)
    assert _revenue(client) > before


def test_a_writer_that_outlives_a_refresh_marks_the_version_stale_again(
        client: Client) -> None:
    """A sink that marked the version before the refresh (a second replay appending to
    the same version, a worker) marks it again at its next write."""
    first, rest = _split(cyber_monday_events())
    ensure_version(client, 1, CONFIG.describe())
    make_current(client, 1)
    sink, buffer = ClickHouseSink(client, 1), OutputBuffer(CONFIG)
    states: dict[str, LeadState] = {}
    for batch in (first, rest):
        for event in batch:
            state = accept(states.get(event.lead_id, LeadState()), event)
            if state is not None:
                states[event.lead_id] = state
                buffer.put_lead(event.lead_id, state)
        buffer.flush(sink)
        if batch is first:
            assert refresh(client, 1).epoch is not None
            assert _ready(client)
            before = _revenue(client)
    assert not _ready(client)
    assert _revenue(client) > before


def test_a_version_a_worker_feeds_is_not_summed(client: Client) -> None:
    load(client, cyber_monday_events(), CONFIG, [])
    record(client, 1, {("leadclock.touches", 0): 10}, fed=True)
    assert refresh(client, 1).epoch is None
    make_current(client, 1)
    assert not _ready(client)


class _WritesWhileSumming:
    """A client on which another writer marks the version stale during a refresh."""

    def __init__(self, client: Client, *, on: str) -> None:
        self.client, self.on, self.done = client, on, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def command(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        result = self.client.command(sql, *args, **kwargs)
        if not self.done and self.on in sql:
            mark_stale(self.client, 1)
            self.done = True
        return result


def test_a_refresh_that_a_write_overtakes_is_not_registered(client: Client) -> None:
    load(client, cyber_monday_events(), CONFIG, [])
    make_current(client, 1)
    raced = refresh(_WritesWhileSumming(client, on="agg_reach"), 1)  # type: ignore[arg-type]
    assert raced.epoch is None and "written to while summing" in raced.note
    assert not _ready(client)
    assert refresh(client, 1).epoch is not None
    assert _ready(client)


def test_retire_drops_a_versions_sums(client: Client) -> None:
    load(client, cyber_monday_events(), CONFIG, [], stored_sums=True, version=2)
    load(client, cyber_monday_events(), CONFIG, [], version=1)
    make_current(client, 1)
    retire(client, 2)
    for table in ("agg_reach", "agg_credits", "agg_as_of", "agg_epochs"):
        (rows,), = client.query(f"SELECT count() FROM {table} WHERE version = 2").result_rows
        assert rows == 0, table


def test_an_empty_version_has_no_clock_on_either_path(client: Client) -> None:
    load(client, [], CONFIG, [])
    make_current(client, 1)
    assert refresh(client, 1).epoch is not None
    assert _ready(client)
    assert client.query("SELECT as_of FROM v_clock").result_rows == [(None,)]
