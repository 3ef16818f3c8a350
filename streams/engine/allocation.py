"""Largest-remainder split of an integer amount by exact rational weights.

Each share gets ``floor(amount × w_i)``; the units left over go one each to the shares
with the largest fractional parts, ties to the earlier share. Because every weight has
the same denominator, comparing remainders ``amount × num_i mod den`` compares the
fractional parts exactly. The shares always sum to ``amount``.
"""

from __future__ import annotations

from collections.abc import Sequence


def allocate(amount: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """Split ``amount`` (≥ 0) into integer shares proportional to ``numerators``."""
    shares = [amount * num // denominator for num in numerators]
    left = amount - sum(shares)
    if left:
        remainders = [amount * num % denominator for num in numerators]
        # Largest remainder first; sort stability (kept by reverse=True) puts ties in
        # path order, i.e. the earlier share wins.
        order = sorted(range(len(shares)), key=remainders.__getitem__, reverse=True)
        for i in order[:left]:
            shares[i] += 1
    return shares
