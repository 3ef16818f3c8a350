"""Attribution models: one function per model over a path, returning exact weights.

A model returns integer numerators and one common denominator instead of floats, so
that revenue can be split to the minor unit with integer arithmetic only (see
``streams.engine.allocation``) and retractions cancel exactly. The registry ``MODELS`` is the
only place that lists models: adding one (W-shaped, Markov...) is adding a function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, TypeAlias

from schemas.events import Touch

Weights: TypeAlias = tuple[list[int], int]
"""Integer numerators (one per touch, in path order) and their common denominator."""

ModelFn: TypeAlias = Callable[[Sequence[Touch], int, int], Weights]
"""(path, purchase time µs, half-life µs) -> weights."""


def first_touch(path: Sequence[Touch], _purchase_at_us: int, _half_life_us: int) -> Weights:
    """All credit to the first touch of the path."""
    weights = [0] * len(path)
    weights[0] = 1
    return weights, 1


def last_touch(path: Sequence[Touch], _purchase_at_us: int, _half_life_us: int) -> Weights:
    """All credit to the last touch of the path."""
    weights = [0] * len(path)
    weights[-1] = 1
    return weights, 1


def linear(path: Sequence[Touch], _purchase_at_us: int, _half_life_us: int) -> Weights:
    """Equal credit to every touch."""
    return [1] * len(path), len(path)


def position_based(
    path: Sequence[Touch], _purchase_at_us: int, _half_life_us: int
) -> Weights:
    """40 % first, 40 % last, 20 % shared by the middle (n=1: all; n=2: halves)."""
    n = len(path)
    if n <= 2:
        return [1] * n, n
    # 0.4 = 2(n-2) / 5(n-2) and 0.2/(n-2) = 1 / 5(n-2)
    middle = n - 2
    return [2 * middle, *([1] * middle), 2 * middle], 5 * middle


def time_decay(path: Sequence[Touch], _purchase_at_us: int, half_life_us: int) -> Weights:
    """w_i ∝ 2^(−(t − t_i)/half_life), normalised to sum 1.

    The factor 2^(−(t − t_n)/half_life) is common to every touch and cancels in the
    normalisation, so raw weights are taken relative to the *last* touch of the path:
    the last weight is exactly 1.0 and the raw weights can never all underflow to zero.
    Each raw weight is the IEEE-754 double ``2.0 ** (-(t_n - t_i) / half_life)``; it is
    converted to an exact rational (a double is m·2^e), so the split that follows is
    exact and deterministic on every machine.
    """
    latest = path[-1].occurred_at_us
    ratios = [
        (2.0 ** (-(latest - touch.occurred_at_us) / half_life_us)).as_integer_ratio()
        for touch in path
    ]
    denominator = max(den for _, den in ratios)
    numerators = [num * (denominator // den) for num, den in ratios]
    return numerators, sum(numerators)


MODELS: Final[dict[str, ModelFn]] = {
    "first_touch": first_touch,
    "last_touch": last_touch,
    "linear": linear,
    "position_based": position_based,
    "time_decay": time_decay,
}
POSITIONAL_MODELS: Final = frozenset(
    ("first_touch", "last_touch", "linear", "position_based")
)
"""Models whose weights depend on the path's length only (not on its times or ids), so
their weights and conversion shares can be computed once per length and reused."""
