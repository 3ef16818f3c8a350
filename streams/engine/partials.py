"""Per-partition aggregates ("partials"): what the dashboards read, kept by difference.

Every lead lives on one home partition (``streams.engine.routing``), so each view is a
sum over partitions of the same sum taken over one partition's leads. The owner of a
partition keeps that sum here, in memory, and writes the *absolute* value of every key
that changed (docs/design/partials.md explains why absolute, and how epochs make the
writes safe). Its size is the number of keys (campaigns x windows x ...), not the number
of events or leads, so a query over it does not grow with history.

A lead that goes from contribution ``old`` to ``new`` changes the partials by
``summary(new) - summary(old)`` (:meth:`Partials.apply`): only the keys whose values
moved are reported, and a key whose values fall to zero is kept (it must be written as
zero). ``as_of`` is a maximum, not a sum: events are only ever added to a lead's state,
so it never has to move back.

Window, time and day values are the engine's (microseconds, whole UTC days); the sink
converts them to column types.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from streams.engine.records import Contribution

Key: TypeAlias = tuple[str | int, ...]
Values: TypeAlias = list[int]
Summary: TypeAlias = dict[str, dict[Key, Values]]
"""Table name -> key -> values: one lead's share of every partial (or a sum of them)."""

DAY_US: Final = 86_400_000_000

KEYS: Final[dict[str, tuple[str, ...]]] = {
    "agg_campaign": ("campaign_id",),
    "agg_campaign_revenue": ("campaign_id", "model", "currency"),
    "agg_reach": ("campaign_id", "touch_type", "window_start"),
    "agg_stages": ("campaign_id", "stage", "window_start"),
    "agg_credits": ("campaign_id", "model", "currency", "touch_window", "purchase_window"),
    "agg_lag": ("campaign_id", "model", "currency", "touch_day", "lag_days"),
    "agg_clock": ("window_start", "stage"),
}
"""Each partial table's key columns, in key order."""
VALUES: Final[dict[str, tuple[str, ...]]] = {
    "agg_campaign": ("touches", "leads_reached", "leads_warmed", "leads_hot"),
    "agg_campaign_revenue": ("revenue_minor", "conversions_e9", "credits"),
    "agg_reach": ("touches", "leads"),
    "agg_stages": ("leads",),
    "agg_credits": ("revenue_minor", "conversions_e9", "credits"),
    "agg_lag": ("revenue_minor", "positive_revenue", "positive_credits", "credits"),
    "agg_clock": ("entered",),
}
"""Each partial table's value columns. ``credits`` counts credit records, so a key whose
credits sum to zero revenue and conversions still shows, as it does in ``v_attribution``;
``positive_credits`` counts those with revenue and ``positive_revenue`` sums it (the
projection's history)."""
TABLES: Final = tuple(KEYS)
AS_OF: Final = "as_of"
"""Pseudo-table of :class:`Changed` keys: the partition's newest event time moved."""


def summary(c: Contribution) -> Summary:
    """One lead's share of every partial table (all values non-negative)."""
    campaign: dict[Key, Values] = {}
    reach: dict[Key, Values] = {}
    for r in c.reach:
        reach[(r.campaign_id, r.touch_type, r.window_start_us)] = [r.touches, 1]
        totals = campaign.get((r.campaign_id,))
        if totals is None:
            campaign[(r.campaign_id,)] = [r.touches, 1, 0, 0]
        else:
            totals[0] += r.touches
    stages: dict[Key, Values] = {}
    clock: dict[Key, Values] = {}
    for s in c.stages:
        stages[(s.campaign_id, s.stage, s.window_start_us)] = [1]
        clock[(s.window_start_us, s.stage)] = [1]
        totals = campaign.setdefault((s.campaign_id,), [0, 0, 0, 0])
        totals[2 if s.stage == "warm" else 3] += 1
    if c.first_purchase_window_us is not None:
        clock[(c.first_purchase_window_us, "customer")] = [1]
    credits: dict[Key, Values] = {}
    revenue: dict[Key, Values] = {}
    lag: dict[Key, Values] = {}
    for d in c.credits:
        positive = 1 if d.revenue_minor > 0 else 0
        for table, key, values in (
            (credits, (d.campaign_id, d.model, d.currency, d.touch_window_us,
                       d.purchase_window_us), (d.revenue_minor, d.conversions_e9, 1)),
            (revenue, (d.campaign_id, d.model, d.currency),
             (d.revenue_minor, d.conversions_e9, 1)),
            (lag, (d.campaign_id, d.model, d.currency, d.touched_at_us // DAY_US,
                   (d.purchased_at_us - d.touched_at_us) // DAY_US),
             (d.revenue_minor, positive * d.revenue_minor, positive, 1)),
        ):
            _add(table, key, values, 1)
    return {"agg_campaign": campaign, "agg_campaign_revenue": revenue, "agg_reach": reach,
            "agg_stages": stages, "agg_credits": credits, "agg_lag": lag,
            "agg_clock": clock}


@dataclass(slots=True)
class Changed:
    """Keys whose values moved since the last :meth:`take`: what the next write holds."""

    keys: set[tuple[str, Key]] = field(default_factory=set)

    def take(self) -> set[tuple[str, Key]]:
        """The changed (table, key) pairs, forgetting them."""
        taken, self.keys = self.keys, set()
        return taken


@dataclass(slots=True)
class Partials:
    """The partials of one (version, partition): every key's summed values, and as_of."""

    tables: Summary = field(default_factory=lambda: {table: {} for table in TABLES})
    as_of_us: int = 0
    """Newest ``occurred_at`` of an accepted event of the partition (0: none yet)."""
    changed: Changed = field(default_factory=Changed)

    def apply(self, old: Contribution | None, new: Contribution | None) -> int:
        """Move one lead from ``old`` to ``new`` (None: no contribution); keys changed.

        Keys whose summed values are unchanged (the lead's share did not move) are not
        reported; a key that falls to zero is reported and kept, with zeros.
        """
        before = summary(old) if old is not None else {}
        after = summary(new) if new is not None else {}
        moved = 0
        for table in TABLES:
            was, now = before.get(table, {}), after.get(table, {})
            current = self.tables[table]
            for key, values in now.items():
                prior = was.get(key)
                delta = values if prior is None else [a - b for a, b in
                                                      zip(values, prior, strict=True)]
                if any(delta):
                    _add(current, key, delta, 1)
                    self.changed.keys.add((table, key))
                    moved += 1
            for key, values in was.items():
                if key not in now:
                    _add(current, key, values, -1)
                    self.changed.keys.add((table, key))
                    moved += 1
        if new is not None and new.last_event_at_us > self.as_of_us:
            self.as_of_us = new.last_event_at_us
            self.changed.keys.add((AS_OF, ()))
            moved += 1
        return moved

    def value(self, table: str, key: Key) -> Values:
        """The values of one key (zeros if it was never touched)."""
        found = self.tables[table].get(key)
        return list(found) if found is not None else [0] * len(VALUES[table])


def rebuild(contributions: Iterable[Contribution]) -> Partials:
    """The partials of these leads from scratch (a new owner's full sync)."""
    partials = Partials()
    for c in contributions:
        partials.apply(None, c)
    partials.changed.take()
    return partials


def total(parts: Iterable[Partials]) -> Partials:
    """The sum of several partitions' partials (what a view computes), as_of the max."""
    result = Partials()
    for part in parts:
        for table in TABLES:
            target = result.tables[table]
            for key, values in part.tables[table].items():
                _add(target, key, values, 1)
        result.as_of_us = max(result.as_of_us, part.as_of_us)
    return result


def nonzero(partials: Partials) -> Summary:
    """The partials without all-zero keys (as a view shows them)."""
    return {table: {k: list(v) for k, v in keys.items() if any(v)}
            for table, keys in partials.tables.items()}


def _add(table: dict[Key, Values], key: Key, values: Iterable[int] | Values,
         sign: int) -> None:
    current = table.get(key)
    if current is None:
        table[key] = [sign * v for v in values]
    else:
        for i, v in enumerate(values):
            current[i] += sign * v
