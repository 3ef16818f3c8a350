"""Kafka topic names (SPEC §2) and which event type goes to which topic."""

from __future__ import annotations

from dataclasses import dataclass

from streams.engine.expiry import TopicRole


@dataclass(frozen=True, slots=True)
class TopicNames:
    """The four co-partitioned event topics and the dead-letter topic."""

    email_opens: str = "leadclock.email_opens"
    clicks: str = "leadclock.clicks"
    calls: str = "leadclock.calls"
    purchases: str = "leadclock.purchases"
    dlq: str = "leadclock.dlq"

    @classmethod
    def with_prefix(cls, prefix: str) -> TopicNames:
        """Names under another prefix (e.g. ``test-1234.``), for isolation in tests."""
        return cls(*(f"{prefix}{suffix}" for suffix in
                     ("email_opens", "clicks", "calls", "purchases", "dlq")))

    @property
    def events(self) -> tuple[str, str, str, str]:
        """The event topics, which must all have the same partition count."""
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
    def roles(self) -> dict[str, TopicRole]:
        """Event topic name -> what it carries, spelled out (never by position)."""
        return {self.email_opens: "email_opens", self.clicks: "clicks",
                self.calls: "calls", self.purchases: "purchases"}

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
