"""The SPEC §6 views in ClickHouse equal the batch oracle (tests/oracle_judgment.py).

Events go through the engine and the sink in arrival order (late touches included,
flushed every few events), the registry through the store ``campaigns load`` uses;
every view is compared with the oracle exactly (floats within 1e-9). The ``client``
fixture runs each test on the embedded engine directly and through the gateway.
"""

from __future__ import annotations

from datetime import date

import pytest
from clickhouse_connect.driver.client import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.campaign_types import Campaign
from schemas.events import Event
from streams.engine.config import EngineConfig
from tests.campaign_strategies import judged_registries, registries
from tests.judgment_db import assert_same_judgment, load, read_judgment, reset
from tests.oracle_judgment import DAY_US, judge
from tests.strategies import event_logs
from tests.unit.test_oracle_judgment import CYBER_MONDAY, OUTBOUND, cyber_monday_events, touch

CONFIG = EngineConfig()
_EXAMPLES = settings(max_examples=20, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(client: Client, events: list[Event], config: EngineConfig,
           registry: list[Campaign], flush_every: int = 3, *, stored_sums: bool = False) -> None:
    reset(client)
    load(client, events, config, registry, flush_every=flush_every, stored_sums=stored_sums)
    assert_same_judgment(judge(events, config, registry), read_judgment(client))


@pytest.mark.parametrize("stored_sums", [False, True])
def test_the_cyber_monday_story(client: Client, stored_sums: bool) -> None:
    events = cyber_monday_events()
    _check(client, list(reversed(events)), CONFIG, [CYBER_MONDAY, OUTBOUND],
           stored_sums=stored_sums)
    row = read_judgment(client).scorecard["cyber-monday"]
    assert (row.verdict, row.actual, row.leads_reached) == ("met", 5, 5)


def test_an_empty_database_has_no_clock_and_registered_goals_are_maturing(
        client: Client) -> None:
    _check(client, [], CONFIG, [CYBER_MONDAY, OUTBOUND])
    assert read_judgment(client).as_of_us is None


def test_due_dates_past_2106_do_not_overflow(client: Client) -> None:
    late = Campaign(
        campaign_id="last", name="last", kind="sales", channel="", starts_on=date(2105, 12, 1),
        ends_on=date(2105, 12, 31), goal_metric="revenue", goal_target=1, goal_currency="USD",
        declared_on=date(2105, 1, 1),
    )
    events: list[Event] = [touch(1, "a", "last", "call", "2105-12-31T23:59:59.999999Z")]
    _check(client, events, CONFIG, [late])
    row = read_judgment(client).scorecard["last"]
    # Past DateTime's last second (2106-02-07T06:28:15Z).
    assert row.due_at_us is not None and row.due_at_us > 2**32 * 1_000_000
    assert row.verdict == "maturing"


def test_a_lag_of_one_day_less_a_microsecond_is_day_zero(client: Client) -> None:
    from tests.unit.test_oracle_judgment import purchase

    events: list[Event] = [
        touch(1, "a", "x", "click", "2026-03-01T10:00:00.900000Z"),
        purchase(1, "a", 100, "USD", "2026-03-02T10:00:00.899999Z"),
        purchase(2, "a", 100, "USD", "2026-03-02T10:00:00.900000Z"),
    ]
    _check(client, events, CONFIG, [])
    lag = read_judgment(client).revenue_lag
    assert lag[("linear", "unclassified", "USD", 0)][0] == 100
    assert lag[("linear", "unclassified", "USD", 1)][0] == 100


@_EXAMPLES
@given(events=event_logs(), data=st.data(), window=st.sampled_from(["1h", "1d", "1w"]),
       lookback_days=st.sampled_from([1, 3, 90]), registry=judged_registries(),
       flush_every=st.integers(2, 9), stored_sums=st.booleans())
def test_views_equal_the_oracle(client: Client, events: list[Event], data: st.DataObject,
                                window: str, lookback_days: int, registry: list[Campaign],
                                flush_every: int, stored_sums: bool) -> None:
    """Any arrival order, some campaigns unregistered, goals met, maturing and not met;
    read from the per-lead rows or from the sums a replay stores."""
    arrival = data.draw(st.permutations(events))
    config = EngineConfig(window=window, lookback_us=lookback_days * DAY_US)
    _check(client, arrival, config, registry, flush_every, stored_sums=stored_sums)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=event_logs(max_events=10), registry=registries(max_size=4))
def test_views_equal_the_oracle_for_any_valid_registry(
        client: Client, events: list[Event], registry: list[Campaign]) -> None:
    """Any ids, names, dates (1970-2105) and money (up to 2^63 - 1) round-trip exactly."""
    _check(client, events, CONFIG, registry)
