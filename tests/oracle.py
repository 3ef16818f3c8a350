"""The batch definition of SPEC §3, written to be obviously correct, not fast.

It sees the whole (deduplicated) event set at once, sorts each lead's events and
computes every aggregate from scratch with exact rationals (``fractions.Fraction``).
The engine, the worker and the replay are all checked against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from math import floor

from schemas.events import Event, Purchase, Touch
from streams.engine.config import EngineConfig
from streams.engine.windows import window_start_us

MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")


@dataclass
class Answer:
    """Aggregates keyed exactly like the ClickHouse views (window starts in µs)."""

    reach: dict[tuple[str, str, int], tuple[int, int]] = field(default_factory=dict)
    stages: dict[tuple[str, str, int], int] = field(default_factory=dict)
    revenue: dict[tuple[str, str, str, int, int], int] = field(default_factory=dict)
    conversions: dict[tuple[str, str, str, int, int], Fraction] = field(default_factory=dict)


def dedupe(events: Iterable[Event]) -> list[Event]:
    """Keep the first event of each (lead, event_id)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for event in events:
        if (event.lead_id, event.event_id) not in seen:
            seen.add((event.lead_id, event.event_id))
            kept.append(event)
    return kept


def weights(model: str, path: list[Touch], t: int, half_life_us: int) -> list[Fraction]:
    """SPEC §3 weight table, as exact fractions."""
    n = len(path)
    if model == "first_touch":
        return [Fraction(1) if i == 0 else Fraction(0) for i in range(n)]
    if model == "last_touch":
        return [Fraction(1) if i == n - 1 else Fraction(0) for i in range(n)]
    if model == "linear":
        return [Fraction(1, n)] * n
    if model == "position_based":
        if n == 1:
            return [Fraction(1)]
        if n == 2:
            return [Fraction(1, 2)] * 2
        middle = Fraction(1, 5) / (n - 2)
        return [Fraction(2, 5)] + [middle] * (n - 2) + [Fraction(2, 5)]
    # time_decay: raw weight 2^(-(t - t_i)/h); the common factor 2^(-(t - t_n)/h) is
    # divided out before normalising (documented in streams.engine.models.time_decay).
    raw = [Fraction(2.0 ** (-(path[-1].occurred_at_us - p.occurred_at_us) / half_life_us))
           for p in path]
    total = sum(raw)
    return [r / total for r in raw]


def split(amount: int, ws: list[Fraction]) -> list[int]:
    """floor(amount·w) each, leftovers to the largest fractional parts, ties earlier."""
    exact = [amount * w for w in ws]
    shares = [floor(x) for x in exact]
    left = amount - sum(shares)
    by_fraction = sorted(range(len(ws)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_fraction[:left]:
        shares[i] += 1
    return shares


def batch(events: Iterable[Event], config: EngineConfig) -> Answer:
    """Compute every aggregate of SPEC §3 from the full event set."""
    def window(us: int) -> int:
        return window_start_us(us, config.window)

    by_lead: dict[str, list[Event]] = defaultdict(list)
    for event in dedupe(events):
        by_lead[event.lead_id].append(event)

    answer = Answer()
    reach_touches: dict[tuple[str, str, int], int] = defaultdict(int)
    reach_leads: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    stages: dict[tuple[str, str, int], int] = defaultdict(int)
    revenue: dict[tuple[str, str, str, int, int], int] = defaultdict(int)
    conversions: dict[tuple[str, str, str, int, int], Fraction] = defaultdict(Fraction)

    for lead, lead_events in by_lead.items():
        ordered = sorted(lead_events, key=lambda e: (e.occurred_at_us, e.event_id))
        touches = [e for e in ordered if isinstance(e, Touch)]
        for touch in touches:
            key = (touch.campaign_id, touch.touch_type, window(touch.occurred_at_us))
            reach_touches[key] += 1
            reach_leads[key].add(lead)
        if touches:
            first = touches[0]
            stages[(first.campaign_id, "warm", window(first.occurred_at_us))] += 1
        hot = [t for t in touches if t.touch_type in ("click", "call")]
        if hot:
            stages[(hot[0].campaign_id, "hot", window(hot[0].occurred_at_us))] += 1
        for purchase in (e for e in ordered if isinstance(e, Purchase)):
            t = purchase.occurred_at_us
            path = [x for x in touches if t - config.lookback_us <= x.occurred_at_us <= t]
            pw = window(t)
            for model in MODELS:
                if not path:
                    key = ("(none)", model, purchase.currency, pw, pw)
                    revenue[key] += purchase.amount_minor
                    conversions[key] += 1
                    continue
                ws = weights(model, path, t, config.half_life_us)
                for touch, w, share in zip(path, ws, split(purchase.amount_minor, ws),
                                           strict=True):
                    key = (touch.campaign_id, model, purchase.currency,
                           window(touch.occurred_at_us), pw)
                    revenue[key] += share
                    conversions[key] += w

    answer.reach = {k: (v, len(reach_leads[k])) for k, v in reach_touches.items()}
    answer.stages = dict(stages)
    keys = {k for k in set(revenue) | set(conversions) if revenue[k] or conversions[k]}
    answer.revenue = {k: revenue[k] for k in keys}
    answer.conversions = {k: conversions[k] for k in keys}
    return answer
