"""Credits of one purchase under every model, exact to the minor unit.

This is SPEC §3 "Attribution" for a single purchase and its path; the engine calls it
for the old and the new path of a purchase and emits the difference.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from schemas.events import Purchase, Touch
from streams.allocation import allocate
from streams.config import EngineConfig
from streams.deltas import NO_CAMPAIGN, CreditDelta
from streams.models import MODELS
from streams.windows import window_start_us

CONVERSION_UNITS: Final = 10**9
"""Conversions are kept as integer billionths so that sums and retractions are exact."""


def credits_for(
    purchase: Purchase, path: Sequence[Touch], config: EngineConfig, sign: int = 1
) -> Iterator[CreditDelta]:
    """Yield the credits (times ``sign``) of ``purchase`` over ``path`` for every model.

    Credits with zero revenue and zero conversions are not yielded: they change no sum.
    """
    purchase_window = window_start_us(purchase.occurred_at_us, config.window)
    if not path:
        for model in MODELS:
            yield CreditDelta(
                model, purchase.event_id, "", NO_CAMPAIGN, purchase.currency,
                purchase_window, purchase_window, purchase.occurred_at_us,
                purchase.occurred_at_us, sign * purchase.amount_minor,
                sign * CONVERSION_UNITS,
            )
        return
    touch_windows = [window_start_us(t.occurred_at_us, config.window) for t in path]
    for model, weigh in MODELS.items():
        numerators, denominator = weigh(path, purchase.occurred_at_us, config.half_life_us)
        revenue = allocate(purchase.amount_minor, numerators, denominator)
        conversions = allocate(CONVERSION_UNITS, numerators, denominator)
        for i, touch in enumerate(path):
            if revenue[i] or conversions[i]:
                yield CreditDelta(
                    model, purchase.event_id, touch.event_id, touch.campaign_id,
                    purchase.currency, touch_windows[i], purchase_window,
                    touch.occurred_at_us, purchase.occurred_at_us,
                    sign * revenue[i], sign * conversions[i],
                )
