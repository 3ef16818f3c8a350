"""``leadclock diff A B``: what moves between two attribution versions, exactly.

Reads the per-lead tables of each version the way the views read the current one
(``FINAL``, and each lead's credit rows of its newest lineage), sums revenue per
(campaign, model, currency) and stage counts per (campaign, stage), and returns the
keys whose value differs, largest move first. All values are integers (minor units,
lead counts), so a move is exact and "no move" means equal to the unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from clickhouse_connect.driver.client import Client

from schemas.money import currency_exponent

# Each lead's credit rows of its newest lineage (docs/exactly-once.md, "Row diffs"); stage
# rows need FINAL only (a stage, once reached, is in every later revision).
_REVENUE = """
SELECT campaign_id, model, currency, toInt64(sum(revenue_minor))
FROM (SELECT lead_id, generation, if(lineage = 0, revision, lineage) AS lead_lineage, campaign_id,
             model, currency, revenue_minor
      FROM lead_credits FINAL WHERE version = {v:UInt32})
WHERE (lead_id, generation, lead_lineage) IN (SELECT lead_id, generation, lineage
                                       FROM lead_revisions FINAL WHERE version = {v:UInt32})
GROUP BY campaign_id, model, currency
"""
_STAGES = """
SELECT campaign_id, stage, toInt64(count())
FROM lead_stages FINAL WHERE version = {v:UInt32}
GROUP BY campaign_id, stage
"""


@dataclass(frozen=True, slots=True)
class Move:
    """One key whose value differs: ``key`` (campaign, model, currency) or (campaign, stage)."""

    key: tuple[str, ...]
    before: int
    after: int

    @property
    def change(self) -> int:
        """After − before."""
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Diff:
    """Revenue (by currency) and stage-count moves from ``a`` to ``b``, largest first."""

    a: int
    b: int
    revenue: list[Move]
    stages: list[Move]
    totals: dict[tuple[str, str], tuple[int, int]]
    """Per (model, currency): total revenue in ``a`` and in ``b``."""


def _sums(client: Client, query: str, version: int) -> dict[tuple[str, ...], int]:
    rows = client.query(query, parameters={"v": version}).result_rows
    return {tuple(str(part) for part in row[:-1]): int(row[-1]) for row in rows}


def _moves(a: dict[tuple[str, ...], int], b: dict[tuple[str, ...], int], *,
           money: bool) -> list[Move]:
    """Keys whose value differs, largest move first (money in major units)."""
    moves = [Move(key, a.get(key, 0), b.get(key, 0)) for key in sorted(set(a) | set(b))
             if a.get(key, 0) != b.get(key, 0)]
    moves.sort(key=lambda m: (m.key[2] if money else "",
                              -abs(_major(m) if money else Fraction(m.change))))
    return moves


def _major(move: Move) -> Fraction:
    """A revenue move in major units, so that JPY and USD moves sort comparably."""
    exponent = currency_exponent(move.key[2]) or 0
    return Fraction(move.change, 10**exponent)


def diff(client: Client, a: int, b: int) -> Diff:
    """Compare version ``a`` with version ``b``."""
    revenue_a, revenue_b = _sums(client, _REVENUE, a), _sums(client, _REVENUE, b)
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for key in set(revenue_a) | set(revenue_b):
        model, currency = key[1], key[2]
        before, after = totals.get((model, currency), (0, 0))
        totals[(model, currency)] = (before + revenue_a.get(key, 0),
                                     after + revenue_b.get(key, 0))
    return Diff(a, b, _moves(revenue_a, revenue_b, money=True),
                _moves(_sums(client, _STAGES, a), _sums(client, _STAGES, b), money=False),
                totals)
