"""Per-lead state: the lead's accepted events, in path order.

Everything leadclock needs (which ids were seen, the warm/hot touches, each purchase's
current credits) is *derived* from these two sorted tuples, never stored beside them, so
there is nothing that can drift out of sync after a crash or a replay. The state is
immutable: accepting an event returns a new one, which makes restarts and property
tests trivial.

The codec writes a compact orjson array form (the lead id is the table key and is not
repeated), which is what the Faust table stores.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Final, TypeVar

import orjson

from schemas.events import TOUCH_TYPES, Event, Purchase, Touch, TouchType
from schemas.fast import fast_constructor

_TYPE_CODE: Final = {name: code for code, name in enumerate(TOUCH_TYPES)}


@dataclass(frozen=True, slots=True)
class LeadState:
    """Accepted touches and purchases of one lead, each sorted by (time, event_id)."""

    touches: tuple[Touch, ...] = ()
    purchases: tuple[Purchase, ...] = ()

    def has_seen(self, event_id: str) -> bool:
        """True if an event with this id was already accepted for this lead."""
        # Plain loops: a lead holds a handful of events and a generator per call costs
        # more than the scan itself.
        for touch in self.touches:
            if touch.event_id == event_id:
                return True
        for purchase in self.purchases:
            if purchase.event_id == event_id:
                return True
        return False

    def with_event(self, event: Event) -> LeadState:
        """A new state that also holds ``event``, kept in path order."""
        if type(event) is Touch:
            return _new_state(_insert_sorted(self.touches, event), self.purchases)
        assert isinstance(event, Purchase)
        return _new_state(self.touches, _insert_sorted(self.purchases, event))

    def path(self, purchase: Purchase, lookback_us: int) -> tuple[Touch, ...]:
        """Touches with ``t − lookback ≤ occurred_at ≤ t``, in (time, event_id) order."""
        touches = self.touches
        if not touches:
            return touches
        at = purchase.occurred_at_us
        lo = bisect_left(touches, at - lookback_us, key=_time)
        hi = bisect_right(touches, at, lo, key=_time)
        return touches[lo:hi]


_new_state: Callable[[tuple[Touch, ...], tuple[Purchase, ...]], LeadState] = (
    fast_constructor(LeadState)
)
_time: Final = attrgetter("occurred_at_us")
_path_key: Final = attrgetter("occurred_at_us", "event_id")
_E = TypeVar("_E", bound=Touch | Purchase)


def _insert_sorted(items: tuple[_E, ...], item: _E) -> tuple[_E, ...]:
    """``items`` plus ``item`` at its (time, event_id) place, after any equal keys."""
    if not items:
        return (item,)
    last = items[-1]
    # Fast path: events mostly arrive in time order (always, in a replay).
    if item.occurred_at_us > last.occurred_at_us or (
        item.occurred_at_us == last.occurred_at_us and item.event_id >= last.event_id
    ):
        return (*items, item)
    at = bisect_right(items, (item.occurred_at_us, item.event_id), key=_path_key)
    return (*items[:at], item, *items[at:])


def encode_state(state: LeadState, extra: object = None, stamp: int | None = None) -> bytes:
    """Serialise a lead's state compactly for the Faust table (lead id is the key).

    ``extra`` (JSON-able) is bookkeeping stored beside the events, e.g. what a state TTL
    needs (``streams.engine.expiry``); it is not part of the state and ``decode_state`` skips it.
    ``stamp`` marks the entries of one lead (``streams.engine.lead_entries``).
    """
    entry: list[object] = [
        [[t.occurred_at_us, t.event_id, _TYPE_CODE[t.touch_type], t.campaign_id]
         for t in state.touches],
        [[p.occurred_at_us, p.event_id, p.amount_minor, p.currency, p.campaign_id]
         for p in state.purchases],
    ]
    if extra is not None or stamp is not None:
        entry.append(extra)
    if stamp is not None:
        entry.append(stamp)
    return orjson.dumps(entry)


def decode_state(lead_id: str, data: bytes | None) -> LeadState:
    """Inverse of :func:`encode_state`; ``None`` (no entry yet) is the empty state."""
    return decode_stamped(lead_id, data)[0]


def decode_stamped(lead_id: str, data: bytes | None) -> tuple[LeadState, object, int | None]:
    """The state, ``extra`` and stamp of an entry (None if none), from one parse."""
    if data is None:
        return LeadState(), None, None
    entry = orjson.loads(data)
    touch_types: tuple[TouchType, ...] = TOUCH_TYPES
    state = LeadState(
        tuple(Touch(eid, lead_id, cid, touch_types[code], at)
              for at, eid, code, cid in entry[0]),
        tuple(Purchase(eid, lead_id, at, amount, currency, cid)
              for at, eid, amount, currency, cid in entry[1]),
    )
    return (state, entry[2] if len(entry) > 2 else None,
            entry[3] if len(entry) > 3 else None)
