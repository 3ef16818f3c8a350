"""The accounting rule every message goes through, in the worker and in a replay alike.

received = accepted + duplicates + rejected: each message is counted once, and gets one
ledger row (``ingest_ledger``) with its outcome; a rejected one is also kept with its
reason (``rejected_events``). The worker applies the rule message by message
(``streams.engine.processor``); the replay validates the whole log first and accepts
each lead's events later, in path order (``streams.engine.replay``): both call the two
steps below, so both account for messages the same way.

The worker has one more, transient outcome: ``rerouted``, for a valid event that arrived
on another partition than its lead's (``streams.engine.routing``). Its copy is accounted
for later at the same position, as accepted or duplicate, and that ledger row replaces
the ``rerouted`` one (the ledger keeps the highest-ranked outcome per position).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from schemas.events import Event, Rejection
from schemas.validation import parse_event
from streams.engine.contribution import accept
from streams.engine.port import Output, Position
from streams.engine.state import LeadState

ACCEPTED: Final = "accepted"
DUPLICATE: Final = "duplicate"
REJECTED: Final = "rejected"
REROUTED: Final = "rerouted"
EMPTY_VALUE: Final = "message: empty value (a tombstone or an empty message)"


def parse_message(value: bytes | None) -> Event | Rejection:
    """Parse a Kafka message's value; no value at all (a tombstone) is a rejection too.

    The Kafka key plays no part: the worker routes by ``lead_id`` itself, whatever key
    and partitioner the producer used.
    """
    if not value:
        return Rejection(b"", EMPTY_VALUE)
    return parse_event(value)


@dataclass(slots=True)
class Counters:
    """Accounting since start: accepted + duplicates + rejected = received."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rerouted: int = 0
    """Events moved to their lead's partition (their copies count as accepted or
    duplicates when they arrive there, not as received again)."""


@dataclass(slots=True)
class Accounting:
    """Counts messages and writes their ledger rows (and rejections) to an output."""

    out: Output
    counters: Counters

    def received(self, parsed: Event | Rejection, position: Position, *,
                 copy: bool = False) -> None:
        """Step 1, per message: count it; a rejection is recorded at once.

        A ``copy`` (a rerouted event, accounted for at its original position) was
        already counted as received when the original arrived.
        """
        counters = self.counters
        if not copy:
            counters.received += 1
        if isinstance(parsed, Rejection):
            counters.rejected += 1
            self.out.put_rejection(parsed, position)
            self.out.put_ledger(position, REJECTED, "", "")

    def rerouted(self, event: Event, position: Position, *, copy: bool = False) -> None:
        """Instead of step 2: the event moves to its lead's partition (ledger: rerouted)."""
        counters = self.counters
        if not copy:
            counters.received += 1
        counters.rerouted += 1
        self.out.put_ledger(position, REROUTED, event.lead_id, event.event_id)

    def applied(self, state: LeadState, event: Event,
                position: Position) -> tuple[LeadState, str]:
        """Step 2, per valid event: the lead's state after it, and the outcome recorded.

        A duplicate (the lead already has the event id) leaves the state as it was.
        """
        new_state = accept(state, event)
        if new_state is None:
            self.counters.duplicates += 1
            outcome = DUPLICATE
            new_state = state
        else:
            self.counters.accepted += 1
            outcome = ACCEPTED
        self.out.put_ledger(position, outcome, event.lead_id, event.event_id)
        return new_state, outcome
