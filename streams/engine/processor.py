"""One Kafka message in, lead state and output updated: the I/O-free heart of the worker.

The Faust agent (``streams.faust_app.agent``) only moves bytes between Kafka, the table
and this object, so the per-message logic, including what only exists in streaming
(routing an event to its lead's partition), is testable without Kafka.

Every message is accounted for (``streams.engine.accounting``) as accepted, duplicate or
rejected, whatever its bytes, key or partition: a tombstone (no value) or an empty value
is a rejection like any other malformed message. A valid event that arrived on another
partition than its lead's home (``streams.engine.routing``) is not applied here: its
state lives on another partition. It is handed to ``forward`` (the worker sends it to
the ``rerouted`` topic, on the home partition, with its original position) and counted
as ``rerouted`` until its copy arrives there.

A duplicate still hands the lead's state to the output and to the table: after a crash
the local table may hold an event whose effect never reached ClickHouse (or whose
changelog write was lost), and its redelivery shows up here as a duplicate; rewriting
both (idempotently) repairs that. The table holds each lead over several entries, and a
message writes only the entry that changed (``streams.engine.lead_entries``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from schemas.events import Event, Rejection
from streams.engine import lead_entries
from streams.engine.accounting import (
    ACCEPTED,
    REJECTED,
    REROUTED,
    Accounting,
    Counters,
    parse_message,
)
from streams.engine.expiry import TopicRole, arrivals_from_json, arrivals_to_json, next_arrivals
from streams.engine.port import Output, Position

FORWARD_LIMIT: Final = 8 * 1024 * 1024
"""Largest event (key + value bytes) moved to its lead's partition; the worker's
producer and the ``rerouted`` topic accept this much (``streams.kafka.topics``)."""


class DeadLetter(NamedTuple):
    """A rejected message for the DLQ: its original key and value, why, and where from."""

    key: bytes | None
    value: bytes | None
    reason: str
    position: Position


class Forward(NamedTuple):
    """A valid event to move to its lead's home partition, keyed by its ``lead_id``."""

    key: bytes
    value: bytes
    partition: int
    origin: Position


def _nowhere(_: Forward) -> None:
    msg = "a misrouted event needs a forward callback"
    raise AssertionError(msg)


@dataclass
class MessageProcessor:
    """Applies messages to the lead-state table and hands changed leads to the output."""

    table: MutableMapping[bytes, bytes]
    out: Output
    dead_letter: Callable[[DeadLetter], None]
    counters: Counters
    topic_roles: Mapping[str, TopicRole] | None = None
    """Consumed topic -> its role, given when a state TTL is on: leads then record the
    offsets of their messages and live in generations (``streams.engine.expiry``)."""
    home: Callable[[str], int] | None = None
    """A lead's home partition (``routing.HomePartitions``); None: every message is
    taken to be on its lead's partition (one partition, or tests)."""
    forward: Callable[[Forward], None] = _nowhere
    forward_limit: int = FORWARD_LIMIT
    last_event_us: int | None = None
    """Event time of the last message applied here, None otherwise (read by the TTL
    sweep, which must only see events of this partition's leads)."""
    _accounting: Accounting = field(init=False)

    def __post_init__(self) -> None:
        """Account through the same routine as the replay."""
        self._accounting = Accounting(self.out, self.counters)

    def process(self, key: bytes | None, value: bytes | None, topic: str, partition: int,
                offset: int, origin: Position | None = None) -> str:
        """Handle one Kafka message; return its outcome. Bad ones are dead-lettered.

        ``origin`` is the original position of a rerouted copy (its ledger row, DLQ
        header and rejection are filed there, so the message counts once).
        """
        position = origin or (topic, partition, offset)
        copy = origin is not None
        event = parse_message(value)
        self.last_event_us = None
        if isinstance(event, Rejection):
            self._accounting.received(event, position, copy=copy)
            self.dead_letter(DeadLetter(key, value, event.reason, position))
            return REJECTED
        if self.home is not None:
            home = self.home(event.lead_id)
            if home != partition:
                return self._reroute(event, key, value or b"", home, position, copy=copy)
        self._accounting.received(event, position, copy=copy)
        lead = event.lead_id
        self.last_event_us = event.occurred_at_us
        table_key = lead.encode()
        stored = lead_entries.read(self.table, lead, table_key)
        state = stored.state()
        generation, extra = self._arrive(stored.exists, stored.extra, topic, offset)
        # Written even for a duplicate, on purpose: after a kill -9 the local store can
        # hold an event whose changelog write was lost; rewriting puts it in the
        # changelog before this message's offset is committed.
        kept, outcome = self._accounting.applied(state, event, position)
        lead_entries.write(self.table, table_key, stored,
                           event if outcome == ACCEPTED else None, kept, extra)
        self.out.put_lead(lead, kept, generation, state if stored.exists else None)
        return outcome

    def _reroute(self, event: Event, original_key: bytes | None, value: bytes, home: int,
                 position: Position, *, copy: bool) -> str:
        """Send a valid event to its lead's partition; too big to move: reject it."""
        key = event.lead_id.encode()
        size = len(key) + len(value)
        if size > self.forward_limit:
            reason = (f"message: {size} bytes, too large to move to the partition of its "
                      f"lead (at most {self.forward_limit} bytes; see the README, "
                      f"Partitioners)")
            self._accounting.received(Rejection(value, reason), position, copy=copy)
            self.dead_letter(DeadLetter(original_key, value, reason, position))
            return REJECTED
        self._accounting.rerouted(event, position, copy=copy)
        self.forward(Forward(key, value, home, position))
        return REROUTED

    def _arrive(self, entry_exists: bool, extra: object, topic: str,
                offset: int) -> tuple[str, object]:
        """The lead's generation and the bookkeeping to store, after this message."""
        if self.topic_roles is None:
            return "", extra
        arrivals = next_arrivals(entry_exists, arrivals_from_json(extra),
                                 self.topic_roles[topic], offset)
        return arrivals.generation, arrivals_to_json(arrivals)
