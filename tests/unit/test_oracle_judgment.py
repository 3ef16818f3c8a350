"""The SPEC §6 oracle on hand-computed stories, and its agreement with the §3 oracle."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.campaign_types import Campaign
from schemas.events import Event, Purchase, Touch
from schemas.timestamps import parse_rfc3339_us
from streams.engine.config import EngineConfig
from streams.engine.windows import window_start_us
from tests.campaign_strategies import judged_registries
from tests.oracle import MODELS, batch
from tests.oracle_judgment import (
    DAY_US,
    ScorecardRow,
    by_lead,
    credits,
    judge,
)
from tests.strategies import event_logs

CONFIG = EngineConfig()


def us(text: str) -> int:
    at = parse_rfc3339_us(text)
    assert at is not None
    return at


def touch(n: int, lead: str, campaign: str, kind: str, at: str) -> Touch:
    return Touch(f"t{n:03d}", lead, campaign, kind, us(at))  # type: ignore[arg-type]


def purchase(n: int, lead: str, amount: int, currency: str, at: str) -> Purchase:
    return Purchase(f"p{n:03d}", lead, us(at), amount, currency)


CYBER_MONDAY = Campaign(
    campaign_id="cyber-monday", name="Cyber Monday blast", kind="marketing", channel="email",
    starts_on=date(2026, 11, 30), ends_on=date(2026, 11, 30), goal_metric="leads_reached",
    goal_target=3, goal_currency="", spend_minor=50_000, spend_currency="USD",
    declared_on=date(2026, 11, 1),
)


def cyber_monday_events() -> list[Event]:
    """5 of 13 recipients open (38 %), one clicks; revenue arrives 4 and 6 weeks later."""
    events: list[Event] = [
        touch(n, f"l{n}", "cyber-monday", "email_open", "2026-11-30T10:00:00Z")
        for n in range(1, 6)
    ]
    events.append(touch(9, "l1", "cyber-monday", "click", "2026-11-30T10:05:00Z"))
    events.append(purchase(1, "l1", 10_000, "USD", "2026-12-28T09:00:00Z"))
    events.append(purchase(2, "l2", 5_000, "USD", "2027-01-10T12:00:00Z"))
    return events


def test_cyber_monday_blast_is_met_on_reach_while_its_revenue_comes_weeks_later() -> None:
    answer = judge(cyber_monday_events(), CONFIG, [CYBER_MONDAY])
    assert answer.as_of_us == us("2027-01-10T12:00:00Z")
    assert answer.scorecard == {"cyber-monday": ScorecardRow(
        campaign_id="cyber-monday", name="Cyber Monday blast", kind="marketing",
        channel="email", starts_on=date(2026, 11, 30), ends_on=date(2026, 11, 30),
        touches=6, leads_reached=5, leads_warmed=5, leads_hot=1,
        goal_metric="leads_reached", goal_target=3, goal_currency="", goal_model="linear",
        actual=5, due_at_us=us("2026-12-01T00:00:00Z"), verdict="met",
        declared_in_advance=True, spend_minor=50_000, spend_currency="USD",
        cost_per_lead_warmed=Fraction(100), roas=Fraction(15_000, 50_000),
    )}
    # Every model gives the campaign all 150.00 USD: it is the only one in the paths.
    assert answer.model_comparison == {("cyber-monday", "USD"): dict.fromkeys(MODELS, 15_000)}
    # l1 bought 27 days 23 h after the open (27 d 22 h 55 min after the click), l2 41 days.
    for model in MODELS:
        assert answer.revenue_lag[(model, "marketing", "USD", 27)] == (10_000, Fraction(2, 3))
        assert answer.revenue_lag[(model, "marketing", "USD", 41)] == (5_000, Fraction(1))
    assert len(answer.revenue_lag) == 2 * len(MODELS)
    assert answer.lead_clock == {
        (us("2026-11-30T00:00:00Z"), "warm"): (5, 5),
        (us("2026-11-30T00:00:00Z"), "hot"): (1, 1),
        (us("2026-12-28T00:00:00Z"), "customer"): (1, 1),
        (us("2027-01-10T00:00:00Z"), "customer"): (1, 2),
    }


def test_the_same_blast_judged_as_sales_that_week_would_have_looked_like_a_failure() -> None:
    as_sales = Campaign(
        campaign_id="cyber-monday", name="Cyber Monday blast", kind="sales", channel="email",
        starts_on=date(2026, 11, 30), ends_on=date(2026, 11, 30), goal_metric="revenue",
        goal_target=10_000, goal_currency="USD", declared_on=date(2026, 11, 1),
    )
    first_week = [e for e in cyber_monday_events() if isinstance(e, Touch)]
    first_week.append(touch(50, "other", "x", "email_open", "2026-12-07T00:00:00Z"))
    row = judge(first_week, CONFIG, [as_sales]).scorecard["cyber-monday"]
    assert (row.actual, row.verdict) == (0, "maturing")  # not a failure: revenue is on its way
    assert row.due_at_us == us("2026-12-01T00:00:00Z") + 90 * DAY_US
    assert judge(cyber_monday_events(), CONFIG, [as_sales]).scorecard["cyber-monday"].verdict \
        == "met"


OUTBOUND = Campaign(
    campaign_id="q4-outbound", name="Q4 outbound", kind="sales", channel="cold_call",
    starts_on=date(2026, 10, 1), ends_on=date(2026, 10, 31), goal_metric="revenue",
    goal_target=100_000, goal_currency="USD", declared_on=date(2026, 10, 2),
)


def test_sales_campaign_is_maturing_until_its_due_date_then_not_met() -> None:
    events: list[Event] = [
        touch(1, "a", "q4-outbound", "call", "2026-10-05T15:00:00Z"),
        purchase(1, "a", 30_000, "USD", "2026-10-20T10:00:00Z"),
        purchase(2, "a", 90_000, "EUR", "2026-10-21T10:00:00Z"),  # never converted
    ]
    due = us("2026-11-01T00:00:00Z") + 90 * DAY_US
    row = judge(events, CONFIG, [OUTBOUND]).scorecard["q4-outbound"]
    assert (row.actual, row.verdict, row.due_at_us) == (30_000, "maturing", due)
    assert row.declared_in_advance is False
    assert (row.leads_hot, row.cost_per_lead_warmed, row.roas) == (1, None, None)

    just_before = [*events, touch(2, "b", "other", "email_open", "2027-01-29T23:59:59Z")]
    assert judge(just_before, CONFIG, [OUTBOUND]).scorecard["q4-outbound"].verdict == "maturing"
    at_due = [*events, touch(2, "b", "other", "email_open", "2027-01-30T00:00:00Z")]
    assert judge(at_due, CONFIG, [OUTBOUND]).scorecard["q4-outbound"].verdict == "not_met"
    # A purchase within the lookback of its call, arriving late in the stream, still counts.
    late_sale = [*at_due, purchase(3, "a", 70_000, "USD", "2027-01-03T15:00:00Z")]
    assert judge(late_sale, CONFIG, [OUTBOUND]).scorecard["q4-outbound"].verdict == "met"
    # One second later the call is out of the lookback: the money goes to (none).
    too_late = [*at_due, purchase(3, "a", 70_000, "USD", "2027-01-03T15:00:01Z")]
    assert judge(too_late, CONFIG, [OUTBOUND]).scorecard["q4-outbound"].actual == 30_000


def test_unregistered_campaign_is_unjudged_and_registered_silent_one_has_zeros() -> None:
    events: list[Event] = [
        touch(1, "a", "mystery", "email_open", "2026-05-01T08:00:00Z"),
        touch(2, "a", "mystery", "click", "2026-05-02T08:00:00Z"),
        purchase(1, "a", 1_000, "JPY", "2026-05-03T08:00:00Z"),
    ]
    answer = judge(events, CONFIG, [OUTBOUND])
    assert answer.scorecard["mystery"] == ScorecardRow(
        "mystery", "mystery", "unclassified", "", None, None, 2, 1, 1, 1, "", 0, "", "", 0,
        None, "unjudged", None, None, "", None, None,
    )
    silent = answer.scorecard["q4-outbound"]
    assert (silent.touches, silent.leads_reached, silent.actual, silent.verdict) == (
        0, 0, 0, "maturing")  # as_of 2026-05-03 is long before its due date
    # Linear: 500 JPY to the click (1 day before), 500 to the open (2 days before).
    assert answer.revenue_lag[("linear", "unclassified", "JPY", 1)] == (500, Fraction(1, 2))
    assert answer.revenue_lag[("linear", "unclassified", "JPY", 2)] == (500, Fraction(1))
    assert answer.revenue_lag[("first_touch", "unclassified", "JPY", 2)] == (1_000, Fraction(1))
    assert ("first_touch", "unclassified", "JPY", 1) not in answer.revenue_lag


def test_no_events_means_no_clock_and_nothing_fails() -> None:
    answer = judge([], CONFIG, [OUTBOUND])
    assert answer.as_of_us is None
    assert answer.scorecard["q4-outbound"].verdict == "maturing"
    assert (answer.model_comparison, answer.revenue_lag, answer.lead_clock) == ({}, {}, {})


def test_none_is_left_out_of_campaign_views_but_its_buyers_are_customers() -> None:
    events: list[Event] = [purchase(1, "a", 500, "USD", "2026-02-01T00:00:00Z")]
    answer = judge(events, CONFIG, [])
    assert (answer.scorecard, answer.model_comparison, answer.revenue_lag) == ({}, {}, {})
    assert answer.lead_clock == {(us("2026-02-01T00:00:00Z"), "customer"): (1, 1)}


# --- agreement with the §3 oracle on generated logs ---------------------------------


@settings(max_examples=150, deadline=None)
@given(events=event_logs(), window=st.sampled_from(["1h", "1d", "1w"]),
       lookback_days=st.sampled_from([1, 3, 90]), registry=judged_registries())
def test_judgment_agrees_with_the_batch_oracle(events: list[Event], window: str,
                                               lookback_days: int,
                                               registry: list[Campaign]) -> None:
    config = EngineConfig(window=window, lookback_us=lookback_days * DAY_US)
    answer, base = judge(events, config, registry), batch(events, config)
    revenue: dict[tuple[str, str, str, int, int], int] = defaultdict(int)
    for credit in credits(by_lead(events), config):
        assert credit.touched_at_us is None or credit.touched_at_us <= credit.purchased_at_us
        touched = credit.touched_at_us if credit.touched_at_us is not None \
            else credit.purchased_at_us
        revenue[(credit.campaign_id, credit.model, credit.currency,
                 _w(touched, config), _w(credit.purchased_at_us, config))] += credit.revenue_minor
    assert {k: v for k, v in revenue.items() if v} == {k: v for k, v in base.revenue.items() if v}
    for cid, row in answer.scorecard.items():
        assert row.touches == sum(t for (c, _, _), (t, _) in base.reach.items() if c == cid)
        assert row.leads_warmed == sum(n for (c, s, _), n in base.stages.items()
                                       if (c, s) == (cid, "warm"))
        assert row.leads_hot == sum(n for (c, s, _), n in base.stages.items()
                                    if (c, s) == (cid, "hot"))
        assert row.leads_reached <= sum(n for (c, _, _), (_, n) in base.reach.items() if c == cid)
    for stage in ("warm", "hot"):
        per_window: dict[int, int] = defaultdict(int)
        for (_, s, window_us), n in base.stages.items():
            if s == stage:
                per_window[window_us] += n
        assert {w: e for (w, s), (e, _) in answer.lead_clock.items() if s == stage} == per_window
    for (cid, currency), models in answer.model_comparison.items():
        for model, amount in models.items():
            assert amount == sum(v for (c, m, cur, _, _), v in base.revenue.items()
                                 if (c, m, cur) == (cid, model, currency))
    registered = {c.campaign_id for c in registry}
    assert set(answer.scorecard) == (registered | {t.campaign_id for t in events
                                                   if isinstance(t, Touch)}) - {"(none)"}
    for cid, row in answer.scorecard.items():
        if cid not in registered:
            assert (row.kind, row.verdict) == ("unclassified", "unjudged")
        elif row.actual >= row.goal_target:
            assert row.verdict == "met"
        else:
            assert row.verdict == ("maturing" if answer.as_of_us < row.due_at_us else "not_met")


def _w(at_us: int, config: EngineConfig) -> int:
    return window_start_us(at_us, config.window)
