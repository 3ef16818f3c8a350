"""The accounting rule every message goes through, in the worker and in a replay alike.

received = accepted + duplicates + rejected: each message is counted once, and gets one
ledger row (``ingest_ledger``) with its outcome; a rejected one is also kept verbatim
with its reason (``rejected_events``). The worker applies the rule message by message
(``streams.engine.processor``); the replay validates the whole log first and accepts
each lead's events later, in path order (``streams.engine.replay``): both call the two
steps below, so both account for messages the same way.
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


def parse_keyed(key: bytes | None, value: bytes) -> Event | Rejection:
    """Parse a Kafka message; its key must be its ``lead_id`` (topics are keyed by it).

    Only Kafka has keys (file lines do not): a message whose key is not its lead would
    put the lead's state on the wrong partition and break co-partitioning silently.
    """
    parsed = parse_event(value)
    if isinstance(parsed, Rejection) or key == parsed.lead_id.encode():
        return parsed
    shown = "no key" if key is None else f"key {key.decode(errors='replace')!r}"
    return Rejection(value, f"key: message has {shown}, but topics are keyed "
                            f"by lead_id {parsed.lead_id!r}")


@dataclass(slots=True)
class Counters:
    """Accounting since start: accepted + duplicates + rejected = received."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass(slots=True)
class Accounting:
    """Counts messages and writes their ledger rows (and rejections) to an output."""

    out: Output
    counters: Counters

    def received(self, parsed: Event | Rejection, position: Position) -> None:
        """Step 1, per message: count it; a rejection is recorded at once."""
        counters = self.counters
        counters.received += 1
        if isinstance(parsed, Rejection):
            counters.rejected += 1
            self.out.put_rejection(parsed, position)
            self.out.put_ledger(position, REJECTED, "", "")

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
