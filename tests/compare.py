"""Turn engine output (or view rows) into the oracle's shape and compare exactly."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from fractions import Fraction

from schemas.events import Event
from streams.engine.config import EngineConfig
from streams.engine.state import LeadState, decode_state, encode_state
from tests.incremental_engine import apply
from tests.oracle import Answer
from tests.totals import Totals

CONVERSION_TOLERANCE = 1e-6


def run_engine(
    events: Iterable[Event], config: EngineConfig, *, restart_every: int = 0
) -> Totals:
    """Apply events one by one; optionally round-trip all state through the codec."""
    states: dict[str, LeadState] = {}
    totals = Totals()
    for n, event in enumerate(events, 1):
        state, outcome = apply(states.get(event.lead_id, LeadState()), event, config)
        states[event.lead_id] = state
        totals.add(event.lead_id, outcome)
        if restart_every and n % restart_every == 0:
            states = {k: decode_state(k, encode_state(v)) for k, v in states.items()}
    return totals


def answer_from_totals(totals: Totals) -> Answer:
    """Group netted engine totals by view key."""
    answer = Answer()
    answer.reach = {k: (v[0], v[1]) for k, v in totals.reach.items() if v[0] or v[1]}
    stages: dict[tuple[str, str, int], int] = defaultdict(int)
    for _, s in totals.stage_rows():
        stages[(s.campaign_id, s.stage, s.window_start_us)] += s.leads
    answer.stages = {k: v for k, v in stages.items() if v}
    revenue: dict[tuple[str, str, str, int, int], int] = defaultdict(int)
    conversions: dict[tuple[str, str, str, int, int], Fraction] = defaultdict(Fraction)
    for _, c in totals.credit_rows():
        key = (c.campaign_id, c.model, c.currency, c.touch_window_us, c.purchase_window_us)
        revenue[key] += c.revenue_minor
        conversions[key] += Fraction(c.conversions_e9, 10**9)
    keys = {k for k in set(revenue) | set(conversions) if revenue[k] or conversions[k]}
    answer.revenue = {k: revenue[k] for k in keys}
    answer.conversions = {k: conversions[k] for k in keys}
    return answer


def assert_same(expected: Answer, actual: Answer) -> None:
    """Exact equality for counts and money; conversions within 1e-6 per key."""
    for name in ("reach", "stages"):
        want, got = getattr(expected, name), getattr(actual, name)
        diff = {k: (want.get(k), got.get(k)) for k in set(want) | set(got)
                if want.get(k) != got.get(k)}
        assert not diff, f"{name} differs (expected, actual) on {len(diff)} keys: " + str(
            dict(list(diff.items())[:10]))
    keys = set(expected.revenue) | set(actual.revenue)
    revenue_diff = {
        k: (expected.revenue.get(k, 0), actual.revenue.get(k, 0))
        for k in keys if expected.revenue.get(k, 0) != actual.revenue.get(k, 0)
    }
    assert not revenue_diff, f"revenue differs (expected, actual): {revenue_diff}"
    conv_diff = {
        k: (float(expected.conversions.get(k, 0)), float(actual.conversions.get(k, 0)))
        for k in keys
        if abs(expected.conversions.get(k, 0) - actual.conversions.get(k, 0))
        > CONVERSION_TOLERANCE
    }
    assert not conv_diff, f"conversions differ (expected, actual): {conv_diff}"
