"""Bare consume + decode loops over the event topics: the floors the worker is compared with.

Two Python clients, each assigned every partition from the beginning with no consumer
group (nothing committed), reading until all ``events`` messages are in and
``orjson.loads``-ing each value: kafka-python's ``poll`` (the client leadclock's tools
use) and aiokafka's ``getmany`` (the client under Faust). Neither does anything with the
events, so they bound what any Python consumer on this machine can reach (issue 12).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AioPartition
from kafka import KafkaConsumer, TopicPartition

from streams.kafka.admin import end_offsets
from streams.kafka.topics import TopicNames


@dataclass
class Floor:
    label: str
    events: int
    wall_s: float  # consumer creation to the last message
    read_s: float  # first message (aiokafka: first getmany call) to the last message

    @property
    def rate(self) -> float:
        return self.events / self.read_s


def kafka_python(brokers: str, topics: TopicNames, events: int, timeout_s: float) -> Floor:
    """kafka-python ``poll`` + ``orjson.loads`` of every event message."""
    started = time.perf_counter()
    consumer = KafkaConsumer(bootstrap_servers=brokers.split(","), group_id=None,
                             enable_auto_commit=False, client_id="leadclock-bench")
    try:
        partitions = [TopicPartition(topic, p) for topic in topics.events
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        loads = orjson.loads
        count = 0
        first: float | None = None
        deadline = started + timeout_s
        while count < events:
            if time.perf_counter() > deadline:
                raise SystemExit(f"kafka-python floor: only {count:,} of {events:,} read in "
                                 f"{timeout_s:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                if first is None:
                    first = time.perf_counter()
                for record in records:
                    loads(record.value)
                count += len(records)
        ended = time.perf_counter()
    finally:
        consumer.close()
    assert first is not None
    return Floor("kafka-python poll", count, ended - started, ended - first)


async def _aiokafka(brokers: str, topics: TopicNames, events: int, timeout_s: float) -> Floor:
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(bootstrap_servers=brokers.split(","), group_id=None,
                                enable_auto_commit=False, client_id="leadclock-bench",
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        # aiokafka's metadata cache only knows subscribed topics: ask kafka-python.
        partitions = [AioPartition(tp.topic, tp.partition)
                      for tp in sorted(end_offsets(brokers, topics.events))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        loads = orjson.loads
        count = 0
        # From the first getmany call, not its first answer: aiokafka fetches in a
        # background task, so by the first answer much of the data is already in.
        first = time.perf_counter()
        deadline = started + timeout_s
        while count < events:
            if time.perf_counter() > deadline:
                raise SystemExit(f"aiokafka floor: only {count:,} of {events:,} read in "
                                 f"{timeout_s:.0f}s")
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    loads(record.value)
                count += len(records)
        ended = time.perf_counter()
    finally:
        await consumer.stop()
    return Floor("aiokafka getmany", count, ended - started, ended - first)


def aiokafka(brokers: str, topics: TopicNames, events: int, timeout_s: float) -> Floor:
    """aiokafka ``getmany`` + ``orjson.loads`` of every event message (own event loop)."""
    return asyncio.run(_aiokafka(brokers, topics, events, timeout_s))
