"""Hostile Kafka traffic for tests: a raw producer with explicit partitions, keys, headers.

Producers nobody on the project wrote (kcat, librdkafka, Go, Node, Connect...) send what
``leadclock produce`` never does: tombstones, empty values, values up to the broker's
maximum, any key bytes, header names that are not UTF-8, and a lead's events on
whatever partition their partitioner picks. ``Hostile`` sends such messages through
kafka-python with every choice explicit, and remembers what each must become.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer

from schemas.events import Event, Rejection
from schemas.validation import parse_event
from streams.engine.routing import home_partition
from streams.kafka.topics import TopicNames

PARTITIONS = 4
BROKER_MAX = 1_048_588
"""A default broker's ``message.max.bytes`` (a whole record batch)."""
NEAR_MAX = BROKER_MAX - 300
"""A value size that still fits one record batch with its key and framing."""


class RawName(str):
    """A header name that kafka-python sends as the given bytes (not UTF-8)."""

    raw: bytes

    def __new__(cls, raw: bytes) -> RawName:
        made = super().__new__(cls, raw.decode("latin-1"))
        made.raw = raw
        return made

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


def murmur2_partition(lead: str) -> int:
    """Where the Java client, kafka-python and ``leadclock produce`` put ``lead``."""
    return home_partition(lead.encode(), PARTITIONS)


def crc32_partition(lead: str) -> int:
    """Where librdkafka's default partitioner (kcat, Go, Node...) puts ``lead``."""
    return zlib.crc32(lead.encode()) % PARTITIONS


@dataclass
class Hostile:
    """Sends messages and keeps what the pipeline must make of them."""

    brokers: str
    topics: TopicNames
    producer: KafkaProducer = field(init=False)
    valid: list[Event] = field(default_factory=list)
    rejected: list[tuple[str, int, int]] = field(default_factory=list)
    """Positions (topic, partition, offset) of the messages that must be rejected."""
    sent: int = 0
    pending: list[tuple[Any, bytes | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.producer = KafkaProducer(bootstrap_servers=self.brokers, acks="all",
                                      linger_ms=5, max_request_size=4 * BROKER_MAX)

    def send(self, topic: str, partition: int, key: bytes | None, value: bytes | None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        """Send one message (``settle`` waits for Kafka and files it)."""
        future = self.producer.send(topic, key=key, value=value, partition=partition,
                                    headers=headers or [])
        self.pending.append((future, value))

    def settle(self) -> None:
        """Wait until Kafka has every message sent; file each as valid or rejected."""
        self.producer.flush()
        for future, value in self.pending:
            meta = future.get(timeout=60)
            parsed = parse_event(value) if value else Rejection(b"", "empty")
            if isinstance(parsed, Rejection):
                self.rejected.append((meta.topic, meta.partition, meta.offset))
            else:
                self.valid.append(parsed)
            self.sent += 1
        self.pending.clear()

    def close(self) -> None:
        self.settle()
        self.producer.close()
