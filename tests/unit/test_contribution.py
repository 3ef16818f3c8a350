"""A lead's contribution (what the sink writes) equals the oracle and the deltas' sum."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept, contribution
from streams.engine.state import LeadState
from tests.compare import answer_from_totals, assert_same, run_engine
from tests.incremental_engine import outcome_of
from tests.oracle import batch
from tests.strategies import DAY_US, event_logs
from tests.totals import Totals

CONFIG = EngineConfig(window="1d", lookback_us=3 * DAY_US, half_life_us=DAY_US)


def _contributions(events: list[Event], config: EngineConfig) -> Totals:
    states: dict[str, LeadState] = {}
    for event in events:
        state = states.get(event.lead_id, LeadState())
        states[event.lead_id] = accept(state, event) or state
    totals = Totals()
    for lead, state in states.items():
        c = contribution(state, config)
        totals.add(lead, outcome_of(c))
    return totals


@settings(max_examples=200, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False))
def test_contributions_equal_the_oracle_and_the_sum_of_deltas(log, order) -> None:
    shuffled = list(log)
    order.shuffle(shuffled)
    expected = batch(log, CONFIG)
    assert_same(expected, answer_from_totals(_contributions(shuffled, CONFIG)))
    assert_same(answer_from_totals(run_engine(shuffled, CONFIG)),
                answer_from_totals(_contributions(log, CONFIG)))


@settings(max_examples=100, deadline=None)
@given(log=event_logs())
def test_revision_counts_distinct_accepted_events(log) -> None:
    state = LeadState()
    for event in log:
        state = accept(state, event) or state
    ids = {(e.event_id) for e in log}
    assert contribution(state, CONFIG).revision == len(ids)
