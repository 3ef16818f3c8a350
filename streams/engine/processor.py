"""One message in, state and sink updated: the I/O-free heart of the Faust agent.

The agent (``streams.faust_app.worker``) only moves bytes between Kafka, the table and this
object, so the per-message logic, including the rule that only exists in streaming (a
message's key must be its ``lead_id``), is testable without Kafka.

Every message is accounted for in the sink's ledger as accepted, duplicate or rejected.
A duplicate still hands the lead's state to the sink and to the table: after a crash
the local table may hold an event whose effect never reached ClickHouse (or whose
changelog write was lost), and its redelivery shows up here as a duplicate; rewriting
both (idempotently) repairs that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass

from schemas.events import Event, Rejection
from schemas.validation import parse_event
from sinks.sink import LeadSink
from streams.engine.contribution import accept
from streams.engine.expiry import TopicRole, arrivals_from_json, arrivals_to_json, next_arrivals
from streams.engine.state import decode_entry, encode_state


def parse_keyed(key: bytes | None, value: bytes) -> Event | Rejection:
    """Parse a Kafka message; its key must be its ``lead_id`` (topics are keyed by it)."""
    parsed = parse_event(value)
    if isinstance(parsed, Rejection) or key == parsed.lead_id.encode():
        return parsed
    shown = "no key" if key is None else f"key {key.decode(errors='replace')!r}"
    return Rejection(value, f"key: message has {shown}, but topics are keyed "
                            f"by lead_id {parsed.lead_id!r}")


@dataclass
class Counters:
    """Accounting since start: accepted + duplicates + rejected = received."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass
class MessageProcessor:
    """Applies messages to the lead-state table and hands changed leads to the sink."""

    table: MutableMapping[bytes, bytes]
    sink: LeadSink
    dead_letter: Callable[[bytes | None, bytes, str], None]
    counters: Counters
    topic_roles: Mapping[str, TopicRole] | None = None
    """Event topic -> its role, given when a state TTL is on: leads then record the
    offsets of their messages and live in generations (``streams.engine.expiry``)."""
    last_event_us: int | None = None
    """Event time of the last message, None if it was rejected (read by the TTL sweep)."""

    def process(
        self, key: bytes | None, value: bytes, topic: str, partition: int, offset: int
    ) -> str:
        """Handle one Kafka message; return its outcome. Bad ones are dead-lettered."""
        self.counters.received += 1
        parsed = parse_keyed(key, value)
        if isinstance(parsed, Rejection):
            self.last_event_us = None
            self.counters.rejected += 1
            self.dead_letter(key, value, parsed.reason)
            self.sink.put_rejection(parsed, topic, partition, offset)
            self.sink.put_ledger(topic, partition, offset, "rejected", "", "")
            return "rejected"
        lead = parsed.lead_id
        self.last_event_us = parsed.occurred_at_us
        table_key = lead.encode()  # == key, checked above
        entry = self.table.get(table_key)
        state, extra = decode_entry(lead, entry)
        generation, extra = self._arrive(entry is not None, extra, topic, offset)
        new_state = accept(state, parsed)
        if new_state is None:
            self.counters.duplicates += 1
            outcome = "duplicate"
            # Written again on purpose: after a kill -9 the local store can hold an
            # event whose changelog write was lost; rewriting puts it in the changelog
            # before this message's offset is committed.
            kept = state
        else:
            self.counters.accepted += 1
            outcome = "accepted"
            kept = new_state
        self.table[table_key] = encode_state(kept, extra)
        self.sink.put_lead(lead, kept, generation)
        self.sink.put_ledger(topic, partition, offset, outcome, lead, parsed.event_id)
        return outcome

    def _arrive(self, entry_exists: bool, extra: object, topic: str,
                offset: int) -> tuple[str, object]:
        """The lead's generation and the bookkeeping to store, after this message."""
        if self.topic_roles is None:
            return "", extra
        arrivals = next_arrivals(entry_exists, arrivals_from_json(extra),
                                 self.topic_roles[topic], offset)
        return arrivals.generation, arrivals_to_json(arrivals)
