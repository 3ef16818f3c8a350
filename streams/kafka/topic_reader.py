"""Reading the event topics from the beginning to where they end now (kafka-python).

``leadclock replay --from-topics`` re-attributes what the topics retain: it reads each
partition of the four event topics up to the end offset it had when the replay
started, so a replay of a live topic terminates and is reproducible. It does not read
the worker's ``rerouted`` topic: its messages are copies of events that are on the
event topics already, and the replay groups events by lead itself, whatever partition
they are on. Messages are accounted for at their positions, as the worker does.
"""

from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams.engine.replay import Record
from streams.kafka.admin import end_offsets
from streams.kafka.exceptions import BrokerUnavailable
from streams.kafka.security import client_security
from streams.kafka.tolerant_records import install_kafka_python
from streams.kafka.topics import TopicNames


def topic_records(brokers: str, topics: TopicNames) -> Iterator[Record]:
    """Every message of the event topics up to their current end, with its position."""
    install_kafka_python()  # a header name that is not UTF-8 must not stop the replay
    ends = {tp: end for tp, end in end_offsets(brokers, topics.events).items() if end > 0}
    if not ends:
        return
    remaining = dict(ends)
    try:
        consumer = KafkaConsumer(bootstrap_servers=brokers.split(","),
                                 client_id="leadclock-replay", enable_auto_commit=False,
                                 consumer_timeout_ms=30_000, **client_security())
        consumer.assign(list(ends))
        consumer.seek_to_beginning(*ends)
        for record in consumer:
            tp = TopicPartition(record.topic, record.partition)
            end = remaining.get(tp)
            if end is None:
                continue
            if record.offset < end:
                yield (record.topic, record.partition, record.offset), record.key, record.value
            if record.offset + 1 >= end:
                del remaining[tp]
                consumer.pause(tp)
                if not remaining:
                    break
        consumer.close()
    except KafkaError as error:
        msg = f"reading the topics from Kafka at {brokers} failed: {type(error).__name__}"
        raise BrokerUnavailable(msg) from error
    if remaining:
        msg = (f"timed out reading the topics from Kafka at {brokers} "
               f"({len(remaining)} partitions not read to their end)")
        raise BrokerUnavailable(msg)
