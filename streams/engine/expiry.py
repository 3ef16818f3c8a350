"""Optional state TTL: which leads' state may be dropped, and how a lead comes back.

By default no state expires and every answer is exact. With a TTL the worker drops the
state of a lead that has been idle for longer than the TTL, in **event time**: its
newest event is older than its partition's event time (``Watermarks``) minus the TTL. That
bounds the table by the leads active within the TTL, and trades exactness for it
(documented in docs/state-ttl.md):

* the dropped lead's contribution stays in ClickHouse exactly as it was;
* if the lead comes back, it starts a new **generation**: a fresh state whose rows add to
  the old ones instead of replacing them. It counts again in the ``leads`` of reach and
  stage keys it already had, and its new purchases are credited only to touches of the
  new generation;
* a duplicate of an event older than the TTL is no longer recognised.

Two rules keep that trade the only one, so that crashes and redelivery stay exact:

* A generation is named after the message that opened it (its topic letter and
  offset, e.g. ``c4711``), so reprocessing that message after a crash names the same
  generation and rewrites the same rows. (A counter would need a tombstone per expired
  lead, which is the unbounded state a TTL exists to avoid.)
* A lead expires only once every message that touched it is committed: a message that
  could still be redelivered must find the state it was applied to.

Everything here is pure; ``streams.faust_app.table_sweep`` does the table I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from streams.engine import lead_entries
from streams.engine.config import format_duration_us, parse_duration_us
from streams.engine.exceptions import ConfigError
from streams.engine.lead_entries import Entries, StoredLead
from streams.engine.state import LeadState

TopicRole: TypeAlias = Literal["email_opens", "clicks", "calls", "purchases", "rerouted"]
"""What a consumed topic carries (SPEC §2), whatever its name (``--topic-prefix``):
the four event topics, and the internal topic of events moved to their lead's
partition (``streams.engine.routing``)."""
ROLES: Final[tuple[TopicRole, ...]] = ("email_opens", "clicks", "calls", "purchases",
                                       "rerouted")
"""Order of the per-topic offsets kept in a table entry (``Arrivals.offsets``) and of
the committed offsets ``is_expired`` is given. Stored in the table: never reorder, only
append (entries written before a role existed read ``NO_OFFSET`` for it)."""
TOPIC_LETTERS: Final[Mapping[TopicRole, str]] = {
    "email_opens": "e", "clicks": "k", "calls": "c", "purchases": "p", "rerouted": "r",
}
"""Letter of each event topic in a generation name (``k4711``: opened by clicks@4711).
Stored in ClickHouse as the ``generation`` column: never change a letter."""
_SLOT: Final[Mapping[TopicRole, int]] = {role: slot for slot, role in enumerate(ROLES)}
NO_OFFSET: Final = -1
SWEEPS_PER_TTL: Final = 10
"""A partition is swept each time its watermark has moved a tenth of the TTL."""


@dataclass(frozen=True, slots=True)
class StateTtl:
    """How long an idle lead's state is kept, in event time."""

    ttl_us: int

    @classmethod
    def from_text(cls, text: str, *, lookback_us: int) -> StateTtl | None:
        """Parse ``--state-ttl``; empty means no TTL. Must be at least the lookback.

        A shorter TTL could drop a touch that a later purchase of an *active* lead still
        needs in its path, which is not a bounded-state trade but a wrong answer.
        """
        if not text.strip():
            return None
        ttl_us = parse_duration_us(text, name="state-ttl")
        if ttl_us < lookback_us:
            msg = (f"state-ttl: {text.strip()} is shorter than the lookback "
                   f"({format_duration_us(lookback_us)}); it must be at least as long")
            raise ConfigError(msg)
        return cls(ttl_us)

    def describe(self) -> dict[str, str]:
        """Recorded with the version's configuration: it changes what the data says."""
        return {"state_ttl": format_duration_us(self.ttl_us)}


@dataclass(frozen=True, slots=True)
class Arrivals:
    """What a TTL needs to know about a lead beyond its events.

    ``generation`` names the lead's current generation; ``offsets`` holds, per event
    topic (in ``ROLES`` order), the highest offset of a message that touched the lead
    (``NO_OFFSET`` if none).
    """

    generation: str
    offsets: tuple[int, ...]


def opened_by(role: TopicRole, offset: int) -> Arrivals:
    """A new generation, opened by the message at ``offset`` of the ``role`` topic."""
    offsets = [NO_OFFSET] * len(ROLES)
    offsets[_SLOT[role]] = offset
    return Arrivals(f"{TOPIC_LETTERS[role]}{offset}", tuple(offsets))


def arrived(arrivals: Arrivals, role: TopicRole, offset: int) -> Arrivals:
    """``arrivals`` after one more message of the lead."""
    slot = _SLOT[role]
    if arrivals.offsets[slot] >= offset:
        return arrivals
    offsets = list(arrivals.offsets)
    offsets[slot] = offset
    return Arrivals(arrivals.generation, tuple(offsets))


def arrivals_to_json(arrivals: Arrivals) -> list[object]:
    """The table form of ``arrivals`` (stored as the state's ``extra``)."""
    return [arrivals.generation, list(arrivals.offsets)]


def arrivals_from_json(raw: object) -> Arrivals | None:
    """Inverse of :func:`arrivals_to_json`; None for an entry written without a TTL."""
    if not isinstance(raw, list):
        return None
    generation, offsets = raw
    stored = [int(o) for o in offsets]
    return Arrivals(str(generation),
                    tuple(stored + [NO_OFFSET] * (len(ROLES) - len(stored))))


def next_arrivals(entry_exists: bool, stored: Arrivals | None, role: TopicRole,
                  offset: int) -> Arrivals:
    """A lead's arrivals after a message at ``offset`` of the ``role`` topic.

    No entry: the lead is new or its state expired, and the message opens a generation.
    An entry without arrivals was written by a worker without a TTL: the lead goes on
    in generation '' (its rows so far), now with offsets recorded.
    """
    if stored is not None:
        return arrived(stored, role, offset)
    opened = opened_by(role, offset)
    return Arrivals("", opened.offsets) if entry_exists else opened


def expired_leads(keys: Iterable[bytes], entries: Entries, horizon_us: int,
                  committed: Sequence[int | None]) -> list[tuple[bytes, StoredLead]]:
    """The leads among a partition's table ``keys`` that ``is_expired`` says may go.

    Leads without arrivals (written by a worker without a TTL) never expire.
    """
    expired = []
    for key, stored in lead_entries.leads(keys, entries):
        arrivals = arrivals_from_json(stored.extra)
        if arrivals is not None and is_expired(stored.state(), arrivals, horizon_us,
                                               committed):
            expired.append((key, stored))
    return expired


def newest_event_us(state: LeadState) -> int | None:
    """Event time of the lead's newest event (touches and purchases are sorted)."""
    times = [events[-1].occurred_at_us for events in (state.touches, state.purchases)
             if events]
    return max(times) if times else None


def is_expired(state: LeadState, arrivals: Arrivals, horizon_us: int,
               committed: Sequence[int | None]) -> bool:
    """True if the lead was idle before ``horizon_us`` and all its messages are committed.

    ``committed[i]`` is the first uncommitted offset of event topic ``ROLES[i]`` on the
    lead's partition (None: unknown, so nothing on that topic counts as committed).
    """
    newest = newest_event_us(state)
    if newest is not None and newest >= horizon_us:
        return False
    for offset, first_uncommitted in zip(arrivals.offsets, committed, strict=True):
        if offset == NO_OFFSET:
            continue
        if first_uncommitted is None or offset >= first_uncommitted:
            return False
    return True


@dataclass
class Watermarks:
    """Event time reached per partition, and when each partition is due a sweep.

    Faust reads a partition's four event topics side by side, not in event-time order:
    in a backfill a sparse topic (purchases) can race months ahead of a busy one (email
    opens). The partition's event time is therefore its newest event, but no later than
    the newest event of any topic that still has messages waiting (a *backlog*), so
    leads whose events are still queued are not expired. A topic that is caught up holds
    nothing back, so a topic that goes quiet does not stop expiry.
    """

    ttl: StateTtl
    topics: dict[int, dict[TopicRole, tuple[int, bool]]] = field(default_factory=dict)
    """Per partition, per topic (its role): (newest event time, backlog after it)."""
    swept_at_us: dict[int, int] = field(default_factory=dict)

    def observe(self, partition: int, topic: TopicRole, occurred_at_us: int,
                now_us: int, *, backlog: bool) -> None:
        """Record a message's event time and whether its topic-partition has a backlog.

        The event time is clamped to the wall clock: a (valid) event dated in the
        future would otherwise expire every lead of its partition at once.
        """
        seen = self.topics.setdefault(partition, {})
        at = min(occurred_at_us, now_us)
        newest = seen.get(topic, (at, backlog))[0]
        seen[topic] = (max(newest, at), backlog)

    def reached_us(self, partition: int) -> int | None:
        """The partition's event time (None: nothing seen yet)."""
        seen = self.topics.get(partition)
        if not seen:
            return None
        reached = max(at for at, _ in seen.values())
        waiting = [at for at, backlog in seen.values() if backlog]
        return min(reached, *waiting) if waiting else reached

    def sweep_horizon(self, partition: int) -> int | None:
        """The expiry horizon if the partition is due a sweep, else None.

        The first sweep of a partition waits one step too, so a worker that just started
        (and has seen only a little of the partition) does not sweep at once.
        """
        reached = self.reached_us(partition)
        if reached is None:
            return None
        step = max(self.ttl.ttl_us // SWEEPS_PER_TTL, 1)
        last = self.swept_at_us.setdefault(partition, reached)
        if reached - last < step:
            return None
        self.swept_at_us[partition] = reached
        return reached - self.ttl.ttl_us
