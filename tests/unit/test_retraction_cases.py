"""The retraction paths SPEC §3 names, as explicit examples (hypothesis covers the rest).

Each case feeds the events with the purchase first (touches arrive late) and in path
order, and checks both against the oracle and against hand-computed expectations.
"""

from __future__ import annotations

import itertools

import pytest

from schemas.events import Event, Purchase, Touch
from streams.engine.config import EngineConfig
from tests.compare import answer_from_totals, assert_same, run_engine
from tests.oracle import batch

DAY = 86_400_000_000
T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
CONFIG = EngineConfig(window="1d", lookback_us=3 * DAY, half_life_us=DAY)


def touch(eid: str, campaign: str, at: int, kind: str = "click", lead: str = "L") -> Touch:
    return Touch(eid, lead, campaign, kind, at)  # type: ignore[arg-type]


def purchase(eid: str, at: int, amount: int = 1000, currency: str = "USD",
             lead: str = "L") -> Purchase:
    return Purchase(eid, lead, at, amount, currency)


def revenue_by_campaign(events: list[Event], model: str) -> dict[str, int]:
    answer = answer_from_totals(run_engine(events, CONFIG))
    out: dict[str, int] = {}
    for (campaign, m, _cur, _tw, _pw), revenue in answer.revenue.items():
        if m == model:
            out[campaign] = out.get(campaign, 0) + revenue
    return out


def all_orders(events: list[Event]) -> list[list[Event]]:
    return [list(p) for p in itertools.permutations(events)]


CASES = {
    "late touch inside lookback": [purchase("p", T0 + 2 * DAY), touch("t1", "a", T0)],
    "late touch outside lookback": [purchase("p", T0 + 4 * DAY), touch("t1", "a", T0)],
    "touch exactly at purchase time": [purchase("p", T0), touch("t1", "a", T0)],
    "touch exactly lookback before": [purchase("p", T0 + 3 * DAY), touch("t1", "a", T0)],
    "touch one µs beyond lookback": [purchase("p", T0 + 3 * DAY + 1), touch("t1", "a", T0)],
    "equal timestamps ordered by event_id": [
        purchase("p", T0 + DAY), touch("t2", "b", T0), touch("t1", "a", T0)],
    "several purchases per lead": [
        purchase("p1", T0 + DAY), purchase("p2", T0 + 2 * DAY, 999),
        touch("t1", "a", T0), touch("t2", "b", T0 + DAY + 5)],
    "zero and three decimal currencies": [
        purchase("p1", T0 + DAY, 1001, "JPY"), purchase("p2", T0 + DAY, 1001, "KWD"),
        touch("t1", "a", T0), touch("t2", "b", T0 + 1), touch("t3", "c", T0 + 2)],
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_arrival_order_equals_the_oracle(name: str) -> None:
    events = CASES[name]
    expected = batch(events, CONFIG)
    for order in all_orders(events):
        assert_same(expected, answer_from_totals(run_engine(order, CONFIG)))


def test_expected_values() -> None:
    late = CASES["late touch inside lookback"]
    assert revenue_by_campaign(late, "first_touch") == {"a": 1000}
    assert revenue_by_campaign(CASES["late touch outside lookback"], "linear") == {
        "(none)": 1000}
    assert revenue_by_campaign(CASES["touch exactly at purchase time"], "last_touch") == {
        "a": 1000}
    assert revenue_by_campaign(CASES["touch exactly lookback before"], "linear") == {
        "a": 1000}
    assert revenue_by_campaign(CASES["touch one µs beyond lookback"], "linear") == {
        "(none)": 1000}
    # equal timestamps: t1 sorts before t2, so t1's campaign is first
    assert revenue_by_campaign(CASES["equal timestamps ordered by event_id"],
                               "first_touch") == {"a": 1000}
    # 1001 JPY over 3 touches: 333.67 each -> 333 + 333 + 333 and 2 left over, which go
    # to the largest fractional parts (all equal), i.e. the two earliest touches.
    answer = answer_from_totals(run_engine(CASES["zero and three decimal currencies"],
                                           CONFIG))
    jpy_linear = {k[0]: v for k, v in answer.revenue.items()
                  if k[1] == "linear" and k[2] == "JPY"}
    assert jpy_linear == {"a": 334, "b": 334, "c": 333}
