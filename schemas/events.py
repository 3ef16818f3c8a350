"""Validated events: the only shapes the attribution engine ever sees.

Events are frozen, slotted dataclasses because millions of them pass through the hot
path: slots keep them small and fast, freezing lets the engine share them in state
without defensive copies. Times are integer microseconds since the Unix epoch (UTC) and
money is integer minor units, so nothing downstream ever does float or timezone maths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

TouchType: TypeAlias = Literal["email_open", "click", "call"]
TOUCH_TYPES: Final[tuple[TouchType, ...]] = ("email_open", "click", "call")
EVENT_TYPES: Final[tuple[str, ...]] = (*TOUCH_TYPES, "purchase")


@dataclass(frozen=True, slots=True)
class Touch:
    """A marketing touch (email open, click or call) of one lead by one campaign."""

    event_id: str
    lead_id: str
    campaign_id: str
    touch_type: TouchType
    occurred_at_us: int


@dataclass(frozen=True, slots=True)
class Purchase:
    """A purchase of one lead; ``campaign_id`` is stored but never used for credit."""

    event_id: str
    lead_id: str
    occurred_at_us: int
    amount_minor: int
    currency: str
    campaign_id: str | None = None


Event: TypeAlias = Touch | Purchase


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that broke the contract: kept verbatim with the rule it broke."""

    raw: bytes
    reason: str
