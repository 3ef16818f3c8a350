"""Netted sums of engine deltas (or contributions), for comparing with the oracle.

Stage and credit entries keep their identity (lead, touch, purchase, model) so that
retractions net out exactly before the tests group them by view key.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from tests.incremental_engine import CreditDelta, Outcome, StageDelta

ReachKey = tuple[str, str, int]
StageKey = tuple[str, str, str]
CreditKey = tuple[str, str, str, str]


@dataclass
class Totals:
    """Sums of deltas; entries that net to zero are dropped when read."""

    reach: defaultdict[ReachKey, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    stages: dict[StageKey, tuple[str, StageDelta]] = field(default_factory=dict)
    credits: dict[CreditKey, tuple[str, CreditDelta]] = field(default_factory=dict)

    def add(self, lead_id: str, outcome: Outcome) -> None:
        """Fold one outcome in."""
        if outcome.reach:
            reach = self.reach
            for r in outcome.reach:
                sums = reach[(r.campaign_id, r.touch_type, r.window_start_us)]
                sums[0] += r.touches
                sums[1] += r.leads
        if outcome.stages:
            stages = self.stages
            for s in outcome.stages:
                skey = (lead_id, s.stage, s.touch_event_id)
                seen = stages.get(skey)
                if seen is not None:
                    s = replace(s, leads=seen[1].leads + s.leads)
                stages[skey] = (lead_id, s)
        if outcome.credits:
            credits = self.credits
            for c in outcome.credits:
                ckey = (lead_id, c.model, c.purchase_event_id, c.touch_event_id)
                prior = credits.get(ckey)
                if prior is not None:
                    c = replace(
                        c,
                        revenue_minor=prior[1].revenue_minor + c.revenue_minor,
                        conversions_e9=prior[1].conversions_e9 + c.conversions_e9,
                    )
                credits[ckey] = (lead_id, c)

    def stage_rows(self) -> list[tuple[str, StageDelta]]:
        """Non-zero (lead, stage delta) entries."""
        return [(lead, s) for lead, s in self.stages.values() if s.leads]

    def credit_rows(self) -> list[tuple[str, CreditDelta]]:
        """Non-zero (lead, credit) entries: the credits as they stand now."""
        return [
            (lead, c) for lead, c in self.credits.values()
            if c.revenue_minor or c.conversions_e9
        ]
