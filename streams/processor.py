"""One message in, state and sink updated: the I/O-free heart of the Faust agent.

The agent (``streams.worker``) only moves bytes between Kafka, the table and this
function, so the per-message logic, including the rejection rules that only exist in
streaming (a message key that is not its ``lead_id``), is testable without Kafka.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

from schemas.events import Rejection
from schemas.validation import parse_event
from sinks.batching import ClickHouseSink
from streams.config import EngineConfig
from streams.engine import apply
from streams.state import decode_state, encode_state


@dataclass
class Counters:
    """Accounting since start: accepted + duplicates + rejected = received."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass
class MessageProcessor:
    """Applies messages to the lead-state table and buffers their deltas in the sink."""

    config: EngineConfig
    table: MutableMapping[bytes, bytes]
    sink: ClickHouseSink
    dead_letter: Callable[[bytes | None, bytes, str], None]
    counters: Counters

    def process(
        self, key: bytes | None, value: bytes, topic: str, partition: int, offset: int
    ) -> None:
        """Handle one Kafka message; bad ones are dead-lettered, never raised."""
        self.counters.received += 1
        parsed = parse_event(value)
        if not isinstance(parsed, Rejection) and key != parsed.lead_id.encode():
            shown = "no key" if key is None else f"key {key.decode(errors='replace')!r}"
            parsed = Rejection(value, f"key: message has {shown}, but topics are keyed "
                                      f"by lead_id {parsed.lead_id!r}")
        if isinstance(parsed, Rejection) or key is None:
            reason = parsed.reason if isinstance(parsed, Rejection) else "key: missing"
            self.counters.rejected += 1
            self.dead_letter(key, value, reason)
            self.sink.add_rejection(Rejection(value, reason), topic, partition, offset)
            return
        lead = parsed.lead_id
        state = decode_state(lead, self.table.get(key))
        new_state, outcome = apply(state, parsed, self.config)
        if outcome.duplicate:
            self.counters.duplicates += 1
            return
        self.counters.accepted += 1
        self.table[key] = encode_state(new_state)
        self.sink.add_outcome(lead, outcome)
