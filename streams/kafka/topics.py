"""Kafka topic names (SPEC §2) and which event type goes to which topic.

Besides the four event topics and the DLQ, the worker owns one internal topic,
``<prefix>rerouted``: events that arrived on another partition than their lead's are
moved there, to their lead's partition (``streams.engine.routing``). It is
co-partitioned with the event topics and created with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from streams.engine.expiry import TopicRole
from streams.engine.processor import FORWARD_LIMIT

RECORD_OVERHEAD: Final = 64 * 1024
"""Room for a record's framing and headers beyond its key and value."""
REROUTED_MAX_BYTES: Final = FORWARD_LIMIT + RECORD_OVERHEAD
"""``max.message.bytes`` of the rerouted topic, and the worker producer's request limit:
any event the worker may move (``FORWARD_LIMIT``) fits, with its headers."""


@dataclass(frozen=True, slots=True)
class TopicNames:
    """The four co-partitioned event topics, the rerouted topic and the dead-letter topic."""

    email_opens: str = "leadclock.email_opens"
    clicks: str = "leadclock.clicks"
    calls: str = "leadclock.calls"
    purchases: str = "leadclock.purchases"
    dlq: str = "leadclock.dlq"
    rerouted: str = "leadclock.rerouted"

    @classmethod
    def with_prefix(cls, prefix: str) -> TopicNames:
        """Names under another prefix (e.g. ``test-1234.``), for isolation in tests."""
        names = ("email_opens", "clicks", "calls", "purchases", "dlq", "rerouted")
        return cls(**{name: f"{prefix}{name}" for name in names})

    @property
    def events(self) -> tuple[str, str, str, str]:
        """The event topics producers write, which must all have the same partition count."""
        return (self.email_opens, self.clicks, self.calls, self.purchases)

    @property
    def label(self) -> str:
        """The source name of these topics: ``kafka:PREFIX`` (or the names, if unprefixed)."""
        suffix = "email_opens"
        prefix = self.email_opens[:-len(suffix)] if self.email_opens.endswith(suffix) else None
        if prefix is not None and self == TopicNames.with_prefix(prefix):
            return f"kafka:{prefix}"
        return "kafka:" + ",".join(self.events)

    @property
    def consumed(self) -> tuple[str, ...]:
        """What the worker consumes: the event topics and the rerouted topic."""
        return (*self.events, self.rerouted)

    @property
    def created(self) -> tuple[str, ...]:
        """Every topic leadclock creates (``leadclock topics``, the worker at start)."""
        return (*self.consumed, self.dlq)

    @property
    def configs(self) -> dict[str, dict[str, str]]:
        """Topic configurations leadclock sets when it creates a topic."""
        return {self.rerouted: {"max.message.bytes": str(REROUTED_MAX_BYTES)}}

    @property
    def roles(self) -> dict[str, TopicRole]:
        """Consumed topic name -> what it carries, spelled out (never by position)."""
        return {self.email_opens: "email_opens", self.clicks: "clicks",
                self.calls: "calls", self.purchases: "purchases",
                self.rerouted: "rerouted"}

    def for_type(self, event_type: object) -> str:
        """Topic of an event type; unknown types go to the first topic to be rejected there.

        The producer never drops a line: a line it cannot route still reaches the
        worker, which rejects it with a reason (DLQ + ``rejected_events``).
        """
        return {
            "email_open": self.email_opens,
            "click": self.clicks,
            "call": self.calls,
            "purchase": self.purchases,
        }.get(event_type if isinstance(event_type, str) else "", self.email_opens)
