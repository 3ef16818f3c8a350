"""Reading the event topics from their beginning to where they end now (kafka-python).

``leadclock replay --from-topics`` re-attributes what the topics retain: :func:`plan`
takes each partition's first and end offset when the replay starts, so a replay of a
live topic terminates, is reproducible, and can say exactly which offsets it covered
(the version records them: a worker continues the version from there). A
:class:`TopicReader` reads a set of those partitions (one per replay process), and
:func:`home_partition` says which partition a lead's events belong to.
It does not read the worker's ``rerouted`` topic: its messages are copies of events
that are on the event topics already, and the replay groups events by lead itself,
whatever partition they are on. Messages are accounted for at their positions, as the
worker does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner import murmur2

from streams.engine.replay import Record
from streams.kafka.exceptions import BrokerUnavailable, TopicsMismatch
from streams.kafka.security import client_security
from streams.kafka.tolerant_records import install_kafka_python
from streams.kafka.topics import TopicNames

IDLE_TIMEOUT_S = 30.0
"""How long reading may receive nothing before the broker is declared unreachable."""
Ranges = dict[tuple[str, int], tuple[int, int]]
"""(topic, partition) -> (first offset, end offset) to read."""


def _consumer(brokers: str) -> KafkaConsumer:
    install_kafka_python()  # a header name that is not UTF-8 must not stop the replay
    try:
        return KafkaConsumer(
            bootstrap_servers=brokers.split(","), client_id="leadclock-replay",
            enable_auto_commit=False, fetch_max_bytes=64 << 20,
            max_partition_fetch_bytes=16 << 20, **client_security())
    except (KafkaError, OSError) as error:
        msg = f"cannot reach Kafka at {brokers}: {type(error).__name__}"
        raise BrokerUnavailable(msg) from error


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """What a topic replay reads: the partition count and each partition's range."""

    partitions: int
    ranges: Ranges

    @property
    def messages(self) -> int:
        """Messages in all ranges."""
        return sum(end - start for start, end in self.ranges.values())

    def end_offsets(self) -> dict[tuple[str, int], int]:
        """Where reading stops, per partition (every partition, empty ones included)."""
        return {tp: end for tp, (_, end) in self.ranges.items()}


def plan(brokers: str, topics: TopicNames) -> TopicPlan:
    """First and end offsets of every partition of the event topics, now."""
    consumer = _consumer(brokers)
    try:
        counts = {t: len(consumer.partitions_for_topic(t) or ()) for t in topics.events}
        if len(set(counts.values())) != 1:
            listing = ", ".join(f"{t} has {n}" for t, n in counts.items())
            msg = f"event topics must be co-partitioned (same partition count): {listing}"
            raise TopicsMismatch(msg)
        tps = [TopicPartition(t, p) for t, n in counts.items() for p in range(n)]
        first = consumer.beginning_offsets(tps)
        last = consumer.end_offsets(tps)
    except KafkaError as error:
        msg = f"cannot read offsets from Kafka at {brokers}: {type(error).__name__}"
        raise BrokerUnavailable(msg) from error
    finally:
        consumer.close()
    ranges = {(tp.topic, tp.partition): (int(first[tp]), int(last[tp])) for tp in tps}
    return TopicPlan(next(iter(counts.values()), 0), ranges)


def home_partition(lead_id: str, partitions: int) -> int:
    """The partition the default (murmur2) partitioner gives messages keyed by ``lead_id``."""
    return int(murmur2(lead_id.encode()) & 0x7FFFFFFF) % partitions


@dataclass
class TopicReader:
    """Reads some partitions' ranges, counting what it yields (for progress)."""

    brokers: str
    ranges: Ranges
    read: int = 0
    total: int = field(init=False)

    def __post_init__(self) -> None:
        """Count what there is to read."""
        self.total = sum(end - start for start, end in self.ranges.values())

    def fraction(self) -> float:
        """Share of the messages read so far."""
        return self.read / self.total if self.total else 1.0

    def records(self) -> Iterator[Record]:
        """Every message of the ranges, positioned (topic, partition, offset)."""
        remaining = {TopicPartition(t, p): end for (t, p), (start, end) in self.ranges.items()
                     if end > start}
        if not remaining:
            return
        consumer = _consumer(self.brokers)
        try:
            consumer.assign(list(remaining))
            for tp in remaining:
                consumer.seek(tp, self.ranges[(tp.topic, tp.partition)][0])
            yield from self._poll(consumer, remaining)
        except KafkaError as error:
            msg = f"reading the topics from Kafka at {self.brokers} failed: {type(error).__name__}"
            raise BrokerUnavailable(msg) from error
        finally:
            consumer.close()

    def _poll(self, consumer: KafkaConsumer,
              remaining: dict[TopicPartition, int]) -> Iterator[Record]:
        idle_since = time.monotonic()
        while remaining:
            batches = consumer.poll(timeout_ms=500, max_records=10_000)
            if not batches:
                # Only control records (or nothing) left below the end: done there.
                for tp in [tp for tp, end in remaining.items() if consumer.position(tp) >= end]:
                    del remaining[tp]
                if remaining and time.monotonic() - idle_since > IDLE_TIMEOUT_S:
                    msg = (f"timed out reading the topics from Kafka at {self.brokers} "
                           f"({len(remaining)} partitions not read to their end)")
                    raise BrokerUnavailable(msg)
                continue
            idle_since = time.monotonic()
            for tp, messages in batches.items():
                end = remaining.get(tp)
                if end is None:
                    continue
                topic, partition = tp.topic, tp.partition
                for message in messages:
                    offset = message.offset
                    if offset >= end:
                        break
                    self.read += 1
                    yield (topic, partition, offset), message.key, message.value
                if messages[-1].offset + 1 >= end or consumer.position(tp) >= end:
                    del remaining[tp]
                    consumer.pause(tp)
