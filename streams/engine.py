"""The attribution engine: ``apply(state, event) -> (state, outcome)``, pure.

Everything leadclock computes goes through this one function: the Faust worker, the
file replay and the tests. It takes a lead's state and one validated event and returns
the new state and the deltas to add to the aggregates. Because the state holds the
lead's whole (deduplicated) event set and every delta is "new answer − old answer" for
what the event can change, the sum of all deltas is the batch answer of SPEC §3 for
any arrival order.

What one event can change:
- a touch: its reach row; the warm/hot touch if it is earlier than the current one; the
  credits of the purchases whose lookback covers it (retract old, add new);
- a purchase: its own credits.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.events import Event, Purchase, Touch
from streams.attribution import credits_for
from streams.config import EngineConfig
from streams.deltas import CreditDelta, Outcome, ReachDelta, Stage, StageDelta
from streams.state import LeadState
from streams.windows import window_start_us

_HOT_TYPES = frozenset(("click", "call"))


def apply(state: LeadState, event: Event, config: EngineConfig) -> tuple[LeadState, Outcome]:
    """Apply one accepted event to its lead's state; duplicates change nothing."""
    if state.has_seen(event.event_id):
        return state, Outcome(event, duplicate=True)
    new_state = state.with_event(event)
    if isinstance(event, Purchase):
        path = new_state.path(event, config.lookback_us)
        return new_state, Outcome(event, credits=tuple(credits_for(event, path, config)))
    return new_state, Outcome(
        event,
        reach=(_reach_delta(state, event, config),),
        stages=_stage_deltas(state, new_state, config),
        credits=_recredit(state, new_state, event, config),
    )


def _reach_delta(state: LeadState, touch: Touch, config: EngineConfig) -> ReachDelta:
    window = window_start_us(touch.occurred_at_us, config.window)
    new_lead = not any(
        t.campaign_id == touch.campaign_id
        and t.touch_type == touch.touch_type
        and window_start_us(t.occurred_at_us, config.window) == window
        for t in state.touches
    )
    return ReachDelta(touch.campaign_id, touch.touch_type, window, 1, int(new_lead))


def _first_touch(state: LeadState, stage: Stage) -> Touch | None:
    for touch in state.touches:
        if stage == "warm" or touch.touch_type in _HOT_TYPES:
            return touch
    return None


def _stage_deltas(
    old: LeadState, new: LeadState, config: EngineConfig
) -> tuple[StageDelta, ...]:
    deltas = []
    for stage in ("warm", "hot"):
        before, after = _first_touch(old, stage), _first_touch(new, stage)
        if before is after:
            continue
        if before is not None:
            deltas.append(_stage_delta(stage, before, -1, config))
        if after is not None:
            deltas.append(_stage_delta(stage, after, 1, config))
    return tuple(deltas)


def _stage_delta(stage: Stage, touch: Touch, sign: int, config: EngineConfig) -> StageDelta:
    return StageDelta(
        stage, touch.campaign_id, window_start_us(touch.occurred_at_us, config.window),
        touch.event_id, touch.occurred_at_us, sign,
    )


def _recredit(
    old: LeadState, new: LeadState, touch: Touch, config: EngineConfig
) -> tuple[CreditDelta, ...]:
    """Retract and re-add the credits of every purchase whose lookback covers ``touch``."""
    changes: list[CreditDelta] = []
    for purchase in new.purchases:
        if touch.occurred_at_us <= purchase.occurred_at_us <= (
            touch.occurred_at_us + config.lookback_us
        ):
            changes.extend(credits_for(purchase, old.path(purchase, config.lookback_us),
                                       config, sign=-1))
            changes.extend(credits_for(purchase, new.path(purchase, config.lookback_us),
                                       config))
    return _net(changes)


def _net(changes: Iterable[CreditDelta]) -> tuple[CreditDelta, ...]:
    """Sum changes to the same (model, purchase, touch) credit and drop the zeros."""
    netted: dict[tuple[str, str, str], CreditDelta] = {}
    for change in changes:
        key = (change.model, change.purchase_event_id, change.touch_event_id)
        seen = netted.get(key)
        if seen is not None:
            change = CreditDelta(
                change.model, change.purchase_event_id, change.touch_event_id,
                change.campaign_id, change.currency, change.touch_window_us,
                change.purchase_window_us, change.touched_at_us, change.purchased_at_us,
                seen.revenue_minor + change.revenue_minor,
                seen.conversions_e9 + change.conversions_e9,
            )
        netted[key] = change
    return tuple(c for c in netted.values() if c.revenue_minor or c.conversions_e9)
