"""Credits of one purchase under every model, exact to the minor unit.

This is SPEC §3 "Attribution" for a single purchase and its path, used for every
purchase of a lead when its contribution is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final

from schemas.events import Purchase, Touch
from schemas.fast import fast_constructor
from streams.engine.allocation import allocate
from streams.engine.config import EngineConfig
from streams.engine.models import MODELS, POSITIONAL_MODELS, ModelFn
from streams.engine.records import NO_CAMPAIGN, Credit
from streams.engine.windows import window_start_us

CONVERSION_UNITS: Final = 10**9
"""Conversions are kept as integer billionths so that sums and retractions are exact."""

new_credit: Final[Callable[
    [str, str, str, str, str, int, int, int, int, int, int], Credit
]] = fast_constructor(Credit)
"""``Credit(*fields)`` without the frozen ``__init__``'s cost (4x faster)."""

_PositionalSplit = tuple[tuple[int, ...], int, tuple[int, ...]]
#: (model, path length) -> (numerators, denominator, conversion shares) of the models
#: whose weights depend on the path length only; paths are short, so this stays small.
_positional: dict[tuple[str, int], _PositionalSplit] = {}
_POSITIONAL_CACHE_SIZE: Final = 4096


def credits_for(
    purchase: Purchase, path: Sequence[Touch], config: EngineConfig
) -> Iterator[Credit]:
    """Yield the credits of ``purchase`` over ``path`` for every model.

    Credits with zero revenue and zero conversions are not yielded: they change no sum.
    """
    window = config.window
    purchase_id, currency = purchase.event_id, purchase.currency
    purchased_at, amount = purchase.occurred_at_us, purchase.amount_minor
    purchase_window = window_start_us(purchased_at, window)
    if not path:
        for model in MODELS:
            yield new_credit(
                model, purchase_id, "", NO_CAMPAIGN, currency, purchase_window,
                purchase_window, purchased_at, purchased_at, amount, CONVERSION_UNITS,
            )
        return
    touch_windows = [window_start_us(t.occurred_at_us, window) for t in path]
    numerators: Sequence[int]
    conversions: Sequence[int]
    for model, weigh in MODELS.items():
        if model in POSITIONAL_MODELS:
            numerators, denominator, conversions = _positional_split(
                model, weigh, path, purchased_at, config.half_life_us
            )
        else:
            numerators, denominator = weigh(path, purchased_at, config.half_life_us)
            conversions = allocate(CONVERSION_UNITS, numerators, denominator)
        revenue = allocate(amount, numerators, denominator)
        for i, touch in enumerate(path):
            if revenue[i] or conversions[i]:
                yield new_credit(
                    model, purchase_id, touch.event_id, touch.campaign_id,
                    currency, touch_windows[i], purchase_window,
                    touch.occurred_at_us, purchased_at,
                    revenue[i], conversions[i],
                )


def _positional_split(
    model: str, weigh: ModelFn, path: Sequence[Touch], purchased_at_us: int, half_life_us: int
) -> _PositionalSplit:
    """Weights and conversion shares of a length-only model, computed once per length."""
    key = (model, len(path))
    split = _positional.get(key)
    if split is None:
        numerators, denominator = weigh(path, purchased_at_us, half_life_us)
        conversions = allocate(CONVERSION_UNITS, numerators, denominator)
        split = (tuple(numerators), denominator, tuple(conversions))
        if len(_positional) >= _POSITIONAL_CACHE_SIZE:
            _positional.clear()
        _positional[key] = split
    return split
