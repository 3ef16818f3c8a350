"""One Kafka message in, lead state and output updated: the I/O-free heart of the worker.

The Faust agent (``streams.faust_app.agent``) only moves bytes between Kafka, the table
and this object, so the per-message logic, including the rule that only exists in
streaming (a message's key must be its ``lead_id``), is testable without Kafka.

Every message is accounted for (``streams.engine.accounting``) as accepted, duplicate or
rejected. A duplicate still hands the lead's state to the output and to the table: after
a crash the local table may hold an event whose effect never reached ClickHouse (or
whose changelog write was lost), and its redelivery shows up here as a duplicate;
rewriting both (idempotently) repairs that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field

from schemas.events import Rejection
from streams.engine.accounting import REJECTED, Accounting, Counters, parse_keyed
from streams.engine.expiry import TopicRole, arrivals_from_json, arrivals_to_json, next_arrivals
from streams.engine.port import Output
from streams.engine.state import decode_entry, encode_state


@dataclass
class MessageProcessor:
    """Applies messages to the lead-state table and hands changed leads to the output."""

    table: MutableMapping[bytes, bytes]
    out: Output
    dead_letter: Callable[[bytes | None, bytes, str], None]
    counters: Counters
    topic_roles: Mapping[str, TopicRole] | None = None
    """Event topic -> its role, given when a state TTL is on: leads then record the
    offsets of their messages and live in generations (``streams.engine.expiry``)."""
    last_event_us: int | None = None
    """Event time of the last message, None if it was rejected (read by the TTL sweep)."""
    _accounting: Accounting = field(init=False)

    def __post_init__(self) -> None:
        """Account through the same routine as the replay."""
        self._accounting = Accounting(self.out, self.counters)

    def process(
        self, key: bytes | None, value: bytes, topic: str, partition: int, offset: int
    ) -> str:
        """Handle one Kafka message; return its outcome. Bad ones are dead-lettered."""
        position = (topic, partition, offset)
        event = parse_keyed(key, value)
        self._accounting.received(event, position)
        if isinstance(event, Rejection):
            self.last_event_us = None
            self.dead_letter(key, value, event.reason)
            return REJECTED
        lead = event.lead_id
        self.last_event_us = event.occurred_at_us
        table_key = lead.encode()  # == key, checked by parse_keyed
        entry = self.table.get(table_key)
        state, extra = decode_entry(lead, entry)
        generation, extra = self._arrive(entry is not None, extra, topic, offset)
        # Written even for a duplicate, on purpose: after a kill -9 the local store can
        # hold an event whose changelog write was lost; rewriting puts it in the
        # changelog before this message's offset is committed.
        kept, outcome = self._accounting.applied(state, event, position)
        self.table[table_key] = encode_state(kept, extra)
        self.out.put_lead(lead, kept, generation)
        return outcome

    def _arrive(self, entry_exists: bool, extra: object, topic: str,
                offset: int) -> tuple[str, object]:
        """The lead's generation and the bookkeeping to store, after this message."""
        if self.topic_roles is None:
            return "", extra
        arrivals = next_arrivals(entry_exists, arrivals_from_json(extra),
                                 self.topic_roles[topic], offset)
        return arrivals.generation, arrivals_to_json(arrivals)
