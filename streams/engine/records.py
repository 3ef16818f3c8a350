"""The records a lead's contribution is made of: reach counts, stage touches, credits.

The views are sums of these records over leads (``streams.engine.contribution`` computes
one lead's records; ``sinks.lead_rows`` lays them out as table rows). Each record carries
the facts needed to explain it later (touch and purchase ids and times), so the
credit-level view can answer "why did campaign X get this revenue" and lag curves can be
computed from it. Records are absolute: a lead's newer contribution replaces its older
one, so there are no signs and no retractions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeAlias

Stage: TypeAlias = Literal["warm", "hot"]
NO_CAMPAIGN = "(none)"
"""Campaign credited with purchases that have no touch in their lookback."""


class LeadKey(NamedTuple):
    """Whose contribution: a lead, and its generation ('' unless a state TTL is on)."""

    lead_id: str
    generation: str = ""


@dataclass(frozen=True, slots=True)
class Reach:
    """A lead's touches of one campaign and touch type in one window."""

    campaign_id: str
    touch_type: str
    window_start_us: int
    touches: int


@dataclass(frozen=True, slots=True)
class StageTouch:
    """The touch that made a lead warm (its first) or hot (its first click or call)."""

    stage: Stage
    campaign_id: str
    window_start_us: int
    touch_event_id: str
    touched_at_us: int


@dataclass(frozen=True, slots=True)
class Credit:
    """The credit one touch receives for one purchase under one model."""

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


@dataclass(frozen=True, slots=True)
class Contribution:
    """A lead's share of every view, at a given revision of its state.

    Besides the records, two per-lead facts that SPEC §6 needs and no record holds: the
    lead's newest accepted event time (the clock ``as_of`` is their maximum) and its
    first accepted purchase (when it became a customer, for the lead clock). Like the
    records they are absolute, so a newer revision replaces them.
    """

    revision: int
    reach: tuple[Reach, ...]
    stages: tuple[StageTouch, ...]
    credits: tuple[Credit, ...]
    last_event_at_us: int
    """Newest ``occurred_at`` among the lead's accepted events (0 without events)."""
    first_purchase_at_us: int | None
    """``occurred_at`` of its first accepted purchase; None if it has bought nothing."""
    first_purchase_window_us: int | None
    """Window of that purchase (the engine's window size)."""
