"""State TTL rules: when a lead may expire, how generations are named, when to sweep."""

from __future__ import annotations

import pytest

from schemas.events import Purchase, Touch
from streams.engine.exceptions import ConfigError
from streams.engine.expiry import (
    NO_OFFSET,
    ROLES,
    TOPIC_LETTERS,
    Arrivals,
    StateTtl,
    Watermarks,
    arrivals_from_json,
    arrived,
    is_expired,
    newest_event_us,
    opened_by,
)
from streams.engine.state import LeadState
from streams.kafka.topics import TopicNames

DAY = 86_400 * 1_000_000


def _state(*days: int, purchase_day: int | None = None) -> LeadState:
    touches = tuple(Touch(f"t{d}", "L", "c", "click", d * DAY) for d in days)
    purchases = () if purchase_day is None else (
        Purchase("p", "L", purchase_day * DAY, 100, "USD", None),)
    return LeadState(touches, purchases)


def test_ttl_must_cover_the_lookback() -> None:
    assert StateTtl.from_text("", lookback_us=90 * DAY) is None
    assert StateTtl.from_text("180d", lookback_us=90 * DAY) == StateTtl(180 * DAY)
    with pytest.raises(ConfigError, match="shorter than the lookback"):
        StateTtl.from_text("30d", lookback_us=90 * DAY)
    with pytest.raises(ConfigError, match="state-ttl"):
        StateTtl.from_text("soon", lookback_us=90 * DAY)


def test_generation_is_named_after_the_message_that_opened_it() -> None:
    opened = opened_by("calls", 4711)
    assert opened == Arrivals("c4711", (NO_OFFSET, NO_OFFSET, 4711, NO_OFFSET, NO_OFFSET))
    later = arrived(arrived(opened, "email_opens", 12), "calls", 5000)
    assert later == Arrivals("c4711", (12, NO_OFFSET, 5000, NO_OFFSET, NO_OFFSET))
    assert arrived(later, "calls", 4800) is later  # a re-read of an older message


def test_letters_and_stored_order_are_spelled_out_per_role() -> None:
    """Both are stored (table entries, the ``generation`` column): never by position."""
    assert ROLES == ("email_opens", "clicks", "calls", "purchases", "rerouted")
    assert dict(TOPIC_LETTERS) == {"email_opens": "e", "clicks": "k", "calls": "c",
                                   "purchases": "p", "rerouted": "r"}
    topics = TopicNames.with_prefix("x.")
    assert topics.roles == {"x.email_opens": "email_opens", "x.clicks": "clicks",
                            "x.calls": "calls", "x.purchases": "purchases",
                            "x.rerouted": "rerouted"}


def test_entries_written_before_the_rerouted_role_read_no_offset_for_it() -> None:
    assert arrivals_from_json(["k3", [1, 2, 3, 4]]) == Arrivals("k3", (1, 2, 3, 4, NO_OFFSET))


def test_newest_event_looks_at_touches_and_purchases() -> None:
    assert newest_event_us(LeadState()) is None
    assert newest_event_us(_state(3, 9)) == 9 * DAY
    assert newest_event_us(_state(3, purchase_day=20)) == 20 * DAY


def test_expires_only_when_idle_and_committed() -> None:
    state = _state(1, 5)
    arrivals = Arrivals("e0", (10, NO_OFFSET, 3, NO_OFFSET, NO_OFFSET))
    committed = [11, None, 4, None, None]
    assert is_expired(state, arrivals, 6 * DAY, committed)
    # Not idle long enough: its newest event is at the horizon.
    assert not is_expired(state, arrivals, 5 * DAY, committed)
    # A message of the lead is not committed yet (offset 10 on topic 0): it could be
    # redelivered and must find the state it was applied to.
    assert not is_expired(state, arrivals, 6 * DAY, [10, None, 4, None, None])
    # Unknown commit position on a topic the lead has messages on.
    assert not is_expired(state, arrivals, 6 * DAY, [11, None, None, None, None])
    # A rerouted copy of one of its events not committed yet.
    rerouted = Arrivals("e0", (10, NO_OFFSET, 3, NO_OFFSET, 7))
    assert not is_expired(state, rerouted, 6 * DAY, [11, None, 4, None, 7])
    assert is_expired(state, rerouted, 6 * DAY, [11, None, 4, None, 8])


def test_watermark_never_passes_the_wall_clock_and_sweeps_each_tenth_of_the_ttl() -> None:
    marks = Watermarks(StateTtl(100 * DAY))
    now = 1_000 * DAY
    marks.observe(0, "clicks", 50 * DAY, now, backlog=False)
    assert marks.sweep_horizon(0) is None  # first look: remembers where it started
    marks.observe(0, "clicks", 55 * DAY, now, backlog=False)
    assert marks.sweep_horizon(0) is None  # moved less than 10 days
    marks.observe(0, "clicks", 40 * DAY, now, backlog=False)  # late event: event time stays
    marks.observe(0, "clicks", 61 * DAY, now, backlog=False)
    assert marks.sweep_horizon(0) == -39 * DAY
    assert marks.sweep_horizon(0) is None
    marks.observe(0, "clicks", 5_000 * DAY, now, backlog=False)  # from the future: clamped
    assert marks.reached_us(0) == 1_000 * DAY
    assert marks.sweep_horizon(1) is None  # a partition not seen yet


def test_a_topic_with_a_backlog_holds_the_partition_back() -> None:
    """In a backfill the purchases topic may run months ahead of the touches."""
    marks = Watermarks(StateTtl(100 * DAY))
    now = 1_000 * DAY
    marks.observe(3, "purchases", 400 * DAY, now, backlog=False)  # purchases: read to the end
    marks.observe(3, "email_opens", 20 * DAY, now, backlog=True)  # email opens: more waiting
    assert marks.reached_us(3) == 20 * DAY
    assert marks.sweep_horizon(3) is None
    marks.observe(3, "email_opens", 150 * DAY, now, backlog=True)
    assert marks.sweep_horizon(3) == 50 * DAY
    # Once caught up, a quiet topic holds nothing back.
    marks.observe(3, "email_opens", 160 * DAY, now, backlog=False)
    assert marks.reached_us(3) == 400 * DAY
