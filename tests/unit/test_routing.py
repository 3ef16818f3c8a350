"""Partitioner independence: the home-partition rule, and the repartition hop in memory.

The processor moves a valid event that arrived on another partition than its lead's to
the rerouted topic; the copy is applied there and accounted for at the original
position. Simulated here with one table per partition and a list per partition of the
rerouted topic, with forwards delivered late, twice, or after the original was
reprocessed (what kill -9 during the hop does): the result must equal the oracle, and
every original position must end with exactly one final outcome.
"""

from __future__ import annotations

import random
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from schemas.events import Event, Purchase
from streams.engine.accounting import Counters
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.port import Position
from streams.engine.processor import DeadLetter, Forward, MessageProcessor
from streams.engine.routing import (
    HomePartitions,
    format_position,
    home_partition,
    murmur2,
    parse_origin,
)
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.memory_port import MemoryWriter
from tests.messages import event_json
from tests.oracle import batch
from tests.strategies import DAY_US, event_logs

CONFIG = EngineConfig(window="1d", lookback_us=3 * DAY_US, half_life_us=DAY_US)
TOPICS = TopicNames.with_prefix("t.")
PARTITIONS = 4


@given(st.binary(max_size=300))
def test_murmur2_is_kafkas(data: bytes) -> None:
    assert murmur2(data) == kafka_python_murmur2(data)


def test_home_partition_is_the_default_partitioners() -> None:
    assert [home_partition(f"lead-{n}".encode(), 4) for n in range(64)] == [
        (kafka_python_murmur2(f"lead-{n}".encode()) & 0x7FFFFFFF) % 4 for n in range(64)]


def test_home_partitions_cache_gives_the_same_answer_when_full() -> None:
    homes = HomePartitions(7, max_cached=3)
    first = [homes(f"l{n}") for n in range(20)]
    assert first == [home_partition(f"l{n}".encode(), 7) for n in range(20)]
    assert len(homes._cache) <= 3
    assert [homes(f"l{n}") for n in range(20)] == first


def test_origin_header_round_trip_and_garbage() -> None:
    position = ("leadclock.clicks", 3, 4711)
    assert parse_origin(format_position(position).encode()) == position
    for bad in (None, b"", b"clicks/3", b"/3/4", b"clicks/x/4", b"clicks/3/-1",
                b"\xff\xfe/1/2x", b"a/1/2/"):
        assert parse_origin(bad) is None, bad


def _topic(event: Event) -> str:
    return TOPICS.purchases if isinstance(event, Purchase) else TOPICS.for_type(event.touch_type)


def _crc32_partition(key: bytes) -> int:
    """librdkafka's default (consistent_random) partitioner, as kcat uses it."""
    return zlib.crc32(key) % PARTITIONS


class Cluster:
    """Four partitions' worth of processors and the rerouted topic, in memory."""

    def __init__(self) -> None:
        self.writer = MemoryWriter()
        self.buffer = OutputBuffer(CONFIG)
        self.counters = Counters()
        self.dead: list[DeadLetter] = []
        self.rerouted: list[list[bytes | Forward]] = [[] for _ in range(PARTITIONS)]
        self.tables: list[dict[bytes, bytes]] = [{} for _ in range(PARTITIONS)]
        self.processors = [
            MessageProcessor(self.tables[p], self.buffer, self.dead.append, self.counters,
                             home=HomePartitions(PARTITIONS), forward=self._forward)
            for p in range(PARTITIONS)]

    def _forward(self, forward: Forward) -> None:
        self.rerouted[forward.partition].append(forward)

    def send(self, partition: int, key: bytes | None, value: bytes | None, topic: str,
             offset: int, origin: Position | None = None) -> str:
        return self.processors[partition].process(key, value, topic, partition, offset,
                                                  origin)

    def deliver_rerouted(self, rng: random.Random, *, twice: float = 0.0) -> None:
        """Process every pending copy (some of them twice, as after a crash)."""
        for partition, pending in enumerate(self.rerouted):
            offset = 0
            while pending:
                forward = pending.pop(0)
                assert isinstance(forward, Forward)
                for _ in range(2 if rng.random() < twice else 1):
                    self.send(partition, forward.key, forward.value, TOPICS.rerouted,
                              offset, forward.origin)
                    offset += 1


@settings(max_examples=150, deadline=None)
@given(log=event_logs(), seed=st.integers(0, 2**32), twice=st.sampled_from([0.0, 0.5]),
       again=st.sampled_from([0.0, 0.3]))
def test_events_on_any_partition_meet_their_lead(log, seed, twice, again) -> None:
    rng = random.Random(seed)
    cluster = Cluster()
    offsets = dict.fromkeys(TOPICS.events, 0)
    originals: list[Position] = []
    for event in log:
        key = rng.choice([event.lead_id.encode(), None, b"\xff\xfe", b"other"])
        chooser = rng.choice(["murmur2", "crc32", "random"])
        partition = (home_partition(event.lead_id.encode(), PARTITIONS) if chooser == "murmur2"
                     else _crc32_partition(event.lead_id.encode()) if chooser == "crc32"
                     else rng.randrange(PARTITIONS))
        topic = _topic(event)
        position = (topic, partition, offsets[topic])
        offsets[topic] += 1
        originals.append(position)
        for _ in range(2 if rng.random() < again else 1):  # redelivered before a commit
            cluster.send(partition, key, event_json(event), topic, position[2])
        if rng.random() < 0.3:
            cluster.deliver_rerouted(rng, twice=twice)
            cluster.buffer.flush(cluster.writer)
    cluster.send(1, b"k", None, TOPICS.clicks, 10_000)  # a tombstone
    cluster.deliver_rerouted(rng, twice=twice)
    cluster.buffer.flush(cluster.writer)
    assert_same(batch(log, CONFIG), cluster.writer.answer())
    outcomes = cluster.writer.outcomes()
    assert set(outcomes) == {*originals, (TOPICS.clicks, 1, 10_000)}
    assert "rerouted" not in outcomes.values()
    distinct = {(e.lead_id, e.event_id) for e in log}
    assert list(outcomes.values()).count("accepted") == len(distinct)
    assert cluster.counters.received >= len(originals) + 1  # redeliveries count again
    assert len(cluster.dead) == 1 and cluster.dead[0].key == b"k"
    assert cluster.dead[0].reason.startswith("message: empty value")


def test_a_misrouted_event_too_large_to_move_is_rejected_not_lost() -> None:
    cluster = Cluster()
    lead = "big-lead"
    home = home_partition(lead.encode(), PARTITIONS)
    cluster.processors[(home + 1) % PARTITIONS].forward_limit = 100
    event = Purchase("p1", lead, 10 * DAY_US, 500, "USD")
    outcome = cluster.send((home + 1) % PARTITIONS, b"\xff", event_json(event),
                           TOPICS.purchases, 0)
    assert outcome == "rejected"
    assert cluster.dead[0].key == b"\xff"
    assert "too large to move" in cluster.dead[0].reason
    assert not any(cluster.rerouted)
