"""Per-partition partials, kept by difference, sum to the oracle's views.

Events arrive in any order, each on its lead's home partition; leads are applied to
their partition's partials at random flush points (old contribution -> new), as the
worker's buffer would. The sum over partitions must equal the batch answer.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event, Purchase, Touch
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept, contribution
from streams.engine.partials import AS_OF, Partials, nonzero, rebuild, total
from streams.engine.records import Contribution
from streams.engine.routing import home_partition
from streams.engine.state import LeadState
from streams.engine.windows import window_start_us
from tests.compare import assert_same
from tests.oracle import Answer, batch, dedupe
from tests.strategies import BASE_US, DAY_US, HOUR_US, event_logs

WINDOWS = st.sampled_from(["1h", "1d", "1w"])


def _config(window: str) -> EngineConfig:
    return EngineConfig(window=window, lookback_us=3 * DAY_US, half_life_us=DAY_US)


def _run(log: list[Event], config: EngineConfig, partitions: int,
         flushes: list[bool]) -> tuple[list[Partials], dict[str, LeadState]]:
    """Apply ``log`` in its order; flush pending leads where ``flushes`` says so."""
    parts = [Partials() for _ in range(partitions)]
    states: dict[str, LeadState] = {}
    written: dict[str, Contribution] = {}
    pending: set[str] = set()

    def flush() -> None:
        for lead in sorted(pending):
            new = contribution(states[lead], config)
            parts[home_partition(lead.encode(), partitions)].apply(written.get(lead), new)
            written[lead] = new
        pending.clear()

    for n, event in enumerate(log):
        state = states.get(event.lead_id, LeadState())
        states[event.lead_id] = accept(state, event) or state
        pending.add(event.lead_id)
        if flushes[n % len(flushes)]:
            flush()
    flush()
    return parts, states


def _as_answer(summed: Partials) -> Answer:
    tables = nonzero(summed)
    answer = Answer()
    answer.reach = {(c, t, w): (v[0], v[1]) for (c, t, w), v in tables["agg_reach"].items()}
    answer.stages = {(c, s, w): v[0] for (c, s, w), v in tables["agg_stages"].items()}
    credits = {k: v for k, v in tables["agg_credits"].items() if v[0] or v[1]}
    answer.revenue = {k: v[0] for k, v in credits.items()}  # type: ignore[misc]
    answer.conversions = {k: Fraction(v[1], 10**9) for k, v in credits.items()}  # type: ignore[misc]
    return answer


def _by_campaign_model_currency(expected: Answer) -> dict[tuple[object, ...], int]:
    sums: dict[tuple[object, ...], int] = defaultdict(int)
    for (campaign, model, currency, _, _), revenue in expected.revenue.items():
        sums[(campaign, model, currency)] += revenue
    return {k: v for k, v in sums.items() if v}


def _campaign_reference(log: list[Event], expected: Answer) -> dict[tuple[object, ...], list[int]]:
    """touches, distinct leads reached, warmed, hot per campaign, from events + oracle."""
    rows: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    reached: dict[str, set[str]] = defaultdict(set)
    for event in dedupe(log):
        if isinstance(event, Touch):
            rows[(event.campaign_id,)][0] += 1
            reached[event.campaign_id].add(event.lead_id)
    for campaign, leads in reached.items():
        rows[(campaign,)][1] = len(leads)
    for (campaign, stage, _), leads in expected.stages.items():
        rows[(campaign,)][2 if stage == "warm" else 3] += leads
    return dict(rows)


def _clock_reference(log: list[Event], expected: Answer,
                     config: EngineConfig) -> dict[tuple[object, ...], list[int]]:
    rows: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0])
    for (_, stage, window), leads in expected.stages.items():
        rows[(window, stage)][0] += leads
    first: dict[str, int] = {}
    for event in dedupe(log):
        if isinstance(event, Purchase):
            first[event.lead_id] = min(first.get(event.lead_id, event.occurred_at_us),
                                       event.occurred_at_us)
    for at in first.values():
        rows[(window_start_us(at, config.window), "customer")][0] += 1
    return dict(rows)


@settings(max_examples=200, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False),
       partitions=st.integers(1, 4), flushes=st.lists(st.booleans(), min_size=1, max_size=8),
       window=WINDOWS)
def test_partials_summed_over_partitions_equal_the_oracle(
        log: list[Event], order: object, partitions: int, flushes: list[bool],
        window: str) -> None:
    config = _config(window)
    shuffled = list(log)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    parts, states = _run(shuffled, config, partitions, flushes)
    summed = total(parts)
    expected = batch(log, config)
    assert_same(expected, _as_answer(summed))
    tables = nonzero(summed)
    by_cmc = {k: v[0] for k, v in tables["agg_campaign_revenue"].items() if v[0]}
    assert by_cmc == _by_campaign_model_currency(expected)
    assert tables["agg_campaign"] == _campaign_reference(log, expected)
    assert tables["agg_clock"] == _clock_reference(log, expected, config)
    assert summed.as_of_us == max(e.occurred_at_us for e in log)
    # Kept by difference == computed from scratch, key for key (zeros aside), every
    # table including the lag histogram.
    scratch = rebuild(contribution(s, config) for s in states.values())
    assert tables == nonzero(scratch)


def _touch(n: int, campaign: str, at: int, kind: str = "click") -> Touch:
    return Touch(f"t{n}", "lead-a", campaign, kind, at)  # type: ignore[arg-type]


def test_a_credit_that_moves_reports_both_keys_and_keeps_the_old_one_at_zero() -> None:
    config = _config("1d")
    purchase = Purchase("p", "lead-a", BASE_US + 2 * DAY_US, 1000, "USD")
    late = LeadState().with_event(_touch(1, "summer", BASE_US + DAY_US)).with_event(purchase)
    partials = Partials()
    partials.apply(None, contribution(late, config))
    partials.changed.take()
    # A touch of another campaign, earlier, arrives late: first touch moves to it.
    early = late.with_event(_touch(2, "spring", BASE_US + HOUR_US))
    partials.apply(contribution(late, config), contribution(early, config))
    changed = partials.changed.take()
    summer = ("summer", "first_touch", "USD")
    spring = ("spring", "first_touch", "USD")
    assert ("agg_campaign_revenue", summer) in changed
    assert ("agg_campaign_revenue", spring) in changed
    assert partials.value("agg_campaign_revenue", summer) == [0, 0, 0]
    assert summer in partials.tables["agg_campaign_revenue"]  # kept, to be written as 0
    assert partials.value("agg_campaign_revenue", spring) == [1000, 10**9, 1]
    # Unmoved keys are not reported: the summer click's reach did not change.
    assert ("agg_reach", ("summer", "click", BASE_US)) not in changed
    assert (AS_OF, ()) not in changed  # the late touch is older than the purchase


def test_a_duplicate_changes_nothing() -> None:
    config = _config("1d")
    state = LeadState().with_event(_touch(1, "summer", BASE_US))
    partials = Partials()
    partials.apply(None, contribution(state, config))
    partials.changed.take()
    assert partials.apply(contribution(state, config), contribution(state, config)) == 0
    assert not partials.changed.take()
