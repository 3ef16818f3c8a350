"""Per-lead state: the lead's accepted events, in path order.

Everything the engine needs (which ids were seen, the warm/hot touches, each purchase's
current credits) is *derived* from these two sorted tuples, never stored beside them, so
there is nothing that can drift out of sync after a crash or a replay. The state is
immutable: ``apply`` returns a new one, which makes restarts and property tests trivial.

The codec writes a compact orjson array form (the lead id is the table key and is not
repeated), which is what the Faust table stores.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Final, TypeVar

import orjson

from schemas.events import TOUCH_TYPES, Event, Purchase, Touch, TouchType

_TYPE_CODE: Final = {name: code for code, name in enumerate(TOUCH_TYPES)}


@dataclass(frozen=True, slots=True)
class LeadState:
    """Accepted touches and purchases of one lead, each sorted by (time, event_id)."""

    touches: tuple[Touch, ...] = ()
    purchases: tuple[Purchase, ...] = ()

    def has_seen(self, event_id: str) -> bool:
        """True if an event with this id was already accepted for this lead."""
        return any(t.event_id == event_id for t in self.touches) or any(
            p.event_id == event_id for p in self.purchases
        )

    def with_event(self, event: Event) -> LeadState:
        """A new state that also holds ``event``, kept in path order."""
        if isinstance(event, Touch):
            return LeadState(_insert_sorted(self.touches, event), self.purchases)
        return LeadState(self.touches, _insert_sorted(self.purchases, event))

    def path(self, purchase: Purchase, lookback_us: int) -> tuple[Touch, ...]:
        """Touches with ``t − lookback ≤ occurred_at ≤ t``, in (time, event_id) order."""
        lo = bisect_left(self.touches, purchase.occurred_at_us - lookback_us, key=_time)
        hi = bisect_right(self.touches, purchase.occurred_at_us, key=_time)
        return self.touches[lo:hi]


def _time(event: Touch | Purchase) -> int:
    return event.occurred_at_us


_E = TypeVar("_E", Touch, Purchase)


def _path_key(event: Touch | Purchase) -> tuple[int, str]:
    return event.occurred_at_us, event.event_id


def _insert_sorted(items: tuple[_E, ...], item: _E) -> tuple[_E, ...]:
    at = bisect_right(items, _path_key(item), key=_path_key)
    return (*items[:at], item, *items[at:])


def encode_state(state: LeadState) -> bytes:
    """Serialise a lead's state compactly for the Faust table (lead id is the key)."""
    return orjson.dumps(
        [
            [[t.occurred_at_us, t.event_id, _TYPE_CODE[t.touch_type], t.campaign_id]
             for t in state.touches],
            [[p.occurred_at_us, p.event_id, p.amount_minor, p.currency, p.campaign_id]
             for p in state.purchases],
        ]
    )


def decode_state(lead_id: str, data: bytes | None) -> LeadState:
    """Inverse of :func:`encode_state`; ``None`` (no entry yet) is the empty state."""
    if data is None:
        return LeadState()
    touches_raw, purchases_raw = orjson.loads(data)
    touch_types: tuple[TouchType, ...] = TOUCH_TYPES
    return LeadState(
        tuple(Touch(eid, lead_id, cid, touch_types[code], at)
              for at, eid, code, cid in touches_raw),
        tuple(Purchase(eid, lead_id, at, amount, currency, cid)
              for at, eid, amount, currency, cid in purchases_raw),
    )
