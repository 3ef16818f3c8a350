"""What one lead contributes to every aggregate, computed from its state alone.

The views are sums over leads of these contributions, so this function *is* SPEC §3
for one lead: reach per (campaign, touch type, window), the warm/hot touches, and the
current credits of each purchase under every model. The stream and the replay both
write contributions (absolute, per lead, tagged with the lead's revision) rather than
increments: writing the same lead twice is harmless, and whatever happened before a
crash is superseded by the next write of that lead (see docs/exactly-once.md).

A contribution equals the sum of the increments (retractions included) that the
incremental model in ``tests/incremental_engine.py`` emits for the lead's events in any
order; a property test checks this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from schemas.events import Event, Touch
from schemas.fast import fast_constructor
from streams.engine.attribution import credits_for
from streams.engine.config import EngineConfig
from streams.engine.records import Contribution, Reach, Stage, StageTouch
from streams.engine.state import LeadState
from streams.engine.windows import window_start_us

HOT_TYPES = frozenset(("click", "call"))
_new_reach: Final[Callable[[str, str, int, int], Reach]] = fast_constructor(Reach)


def accept(state: LeadState, event: Event) -> LeadState | None:
    """The state with ``event`` added, or None if the lead already has that event id."""
    if state.has_seen(event.event_id):
        return None
    return state.with_event(event)


def revision(state: LeadState) -> int:
    """How many events the state holds: grows with every accepted event.

    Two states of one lead with the same revision may differ only while events are
    still arriving; the final state (all of the lead's events) has the highest revision
    of all, so the last write of a lead always wins in ClickHouse.
    """
    return len(state.touches) + len(state.purchases)


def stage_touch(state: LeadState, stage: Stage) -> Touch | None:
    """The touch that made the lead warm (its first) or hot (its first click/call)."""
    for touch in state.touches:
        if stage == "warm" or touch.touch_type in HOT_TYPES:
            return touch
    return None


def contribution(state: LeadState, config: EngineConfig) -> Contribution:
    """Everything the lead adds to the views, from scratch."""
    counts: dict[tuple[str, str, int], int] = {}
    window = config.window
    for t in state.touches:
        key = (t.campaign_id, t.touch_type, window_start_us(t.occurred_at_us, window))
        counts[key] = counts.get(key, 0) + 1
    reach = tuple(_new_reach(c, k, w, n) for (c, k, w), n in counts.items())
    stages = []
    for stage in ("warm", "hot"):
        touch = stage_touch(state, stage)
        if touch is not None:
            stages.append(StageTouch(
                stage, touch.campaign_id, window_start_us(touch.occurred_at_us, config.window),
                touch.event_id, touch.occurred_at_us,
            ))
    credits = tuple(
        credit
        for purchase in state.purchases
        for credit in credits_for(purchase, state.path(purchase, config.lookback_us), config)
    )
    last_event_at_us = max(
        state.touches[-1].occurred_at_us if state.touches else 0,
        state.purchases[-1].occurred_at_us if state.purchases else 0,
    )
    first = state.purchases[0].occurred_at_us if state.purchases else None
    return Contribution(
        revision(state), reach, tuple(stages), credits, last_event_at_us, first,
        None if first is None else window_start_us(first, window),
    )
