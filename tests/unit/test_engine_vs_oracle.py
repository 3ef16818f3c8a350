"""The engine, fed events in any order, equals the batch oracle of SPEC §3."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event, Purchase
from streams.engine.config import EngineConfig
from tests.compare import answer_from_totals, assert_same, run_engine
from tests.oracle import batch
from tests.strategies import DAY_US, event_logs

CONFIGS = [
    EngineConfig(window="1d", lookback_us=3 * DAY_US, half_life_us=DAY_US),
    EngineConfig(window="1h", lookback_us=DAY_US, half_life_us=7 * DAY_US),
    EngineConfig(window="1w", lookback_us=90 * DAY_US, half_life_us=2 * DAY_US),
]


@settings(max_examples=300, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False),
       config=st.sampled_from(CONFIGS))
def test_any_permutation_equals_oracle(log: list[Event], order, config) -> None:
    shuffled = list(log)
    order.shuffle(shuffled)
    assert_same(batch(log, config), answer_from_totals(run_engine(shuffled, config)))


@settings(max_examples=100, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False),
       every=st.integers(1, 5))
def test_restart_through_codec_changes_nothing(log, order, every) -> None:
    config = CONFIGS[0]
    shuffled = list(log)
    order.shuffle(shuffled)
    assert_same(batch(log, config),
                answer_from_totals(run_engine(shuffled, config, restart_every=every)))


@settings(max_examples=200, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False),
       config=st.sampled_from(CONFIGS))
def test_credits_of_each_purchase_sum_to_its_amount(log, order, config) -> None:
    shuffled = list(log)
    order.shuffle(shuffled)
    totals = run_engine(shuffled, config)
    purchases = {e.event_id: e for e in log if isinstance(e, Purchase)}
    sums: dict[tuple[str, str], list[int]] = {}
    for _, credit in totals.credit_rows():
        acc = sums.setdefault((credit.purchase_event_id, credit.model), [0, 0])
        acc[0] += credit.revenue_minor
        acc[1] += credit.conversions_e9
    for (purchase_id, _model), (revenue, conversions) in sums.items():
        assert revenue == purchases[purchase_id].amount_minor
        assert conversions == 10**9
    assert len(sums) == 5 * len(purchases)
