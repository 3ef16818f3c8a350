"""What a registered campaign is: its record type and the closed vocabularies of SPEC §6.

Kept apart from the rules that build it (:mod:`schemas.campaign_rules`) and the file
reader (:mod:`schemas.registry_files`) so that the views, the sink and the oracle can use
the type without pulling in file parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal, TypeAlias

CampaignKind: TypeAlias = Literal["marketing", "sales"]
GoalMetric: TypeAlias = Literal["leads_reached", "leads_warmed", "leads_hot", "revenue"]

KINDS: Final[tuple[CampaignKind, ...]] = ("marketing", "sales")
#: The seed's rule: leads and exposure for marketing, hard money for sales.
GOAL_METRICS: Final[dict[CampaignKind, tuple[GoalMetric, ...]]] = {
    "marketing": ("leads_reached", "leads_warmed", "leads_hot"),
    "sales": ("revenue",),
}
REACH_METRICS: Final = GOAL_METRICS["marketing"]
#: The attribution models of SPEC §3 (``streams`` owns their code; a test keeps the two
#: lists equal, since ``schemas`` imports nothing of ``streams``).
ATTRIBUTION_MODELS: Final = (
    "first_touch", "last_touch", "linear", "position_based", "time_decay",
)
DEFAULT_GOAL_MODEL: Final = "linear"
#: The pseudo-campaign of revenue with no touch in its lookback (SPEC §3).
NO_CAMPAIGN: Final = "(none)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Campaign:
    """One registered campaign: what it is, its dates, and the goal it is judged by.

    Money is integer minor units of its currency (``goal_target`` of a revenue goal,
    ``spend_minor``); a currency that does not apply is ``""``. Keyword-only: thirteen
    positional fields are one swap away from a wrong verdict.
    """

    campaign_id: str
    name: str
    kind: CampaignKind
    channel: str
    starts_on: date
    ends_on: date
    goal_metric: GoalMetric
    goal_target: int
    goal_currency: str
    goal_model: str = DEFAULT_GOAL_MODEL
    spend_minor: int | None = None
    spend_currency: str = ""
    declared_on: date

    @property
    def declared_in_advance(self) -> bool:
        """Whether the goal was set no later than the day the campaign started."""
        return self.declared_on <= self.starts_on
