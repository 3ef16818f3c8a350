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
    shares = []
    remainders = []
    for num in numerators:
        share, remainder = divmod(amount * num, denominator)
        shares.append(share)
        remainders.append(remainder)
    left = amount - sum(shares)
    if left:
        order = sorted(range(len(shares)), key=lambda i: (-remainders[i], i))
        for i in order[:left]:
            shares[i] += 1
    return shares
