"""Entries of a lead's contribution: reach, stage and credit records.

The views are sums of these records over leads (``streams.engine.contribution`` computes a
lead's records; the incremental model in the tests emits signed ones, where a negative
record retracts an old credit). Each record carries the facts needed to explain it
later (touch and purchase ids and times), so the credit-level view can answer "why did
campaign X get this revenue" and lag curves can be computed from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

Stage: TypeAlias = Literal["warm", "hot"]
NO_CAMPAIGN = "(none)"
"""Campaign credited with purchases that have no touch in their lookback."""


@dataclass(frozen=True, slots=True)
class ReachDelta:
    """One more touch of a campaign, and whether it reached a new lead in the window."""

    campaign_id: str
    touch_type: str
    window_start_us: int
    touches: int
    leads: int


@dataclass(frozen=True, slots=True)
class StageDelta:
    """+1 (or −1 when retracted) lead reaching ``stage`` through one touch."""

    stage: Stage
    campaign_id: str
    window_start_us: int
    touch_event_id: str
    touched_at_us: int
    leads: int


@dataclass(frozen=True, slots=True)
class CreditDelta:
    """A signed change to the credit one touch receives for one purchase under a model."""

    model: str
    purchase_event_id: str
    touch_event_id: str
    campaign_id: str
    currency: str
    touch_window_us: int
    purchase_window_us: int
    touched_at_us: int
    purchased_at_us: int
    revenue_minor: int
    conversions_e9: int
