"""``leadclock produce``: send NDJSON lines to the event topics, keyed by ``lead_id``.

Lines are sent verbatim (the worker validates them, so a malformed line is still
accounted for as a rejection rather than dropped here). The key is the line's
``lead_id`` when it has one, so the default murmur2 partitioner co-partitions all of a
lead's events across the four topics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from streams.kafka.exceptions import BrokerUnavailable
from streams.kafka.security import client_security
from streams.kafka.topics import TopicNames

Progress = Callable[[str], None]


def route(line: bytes, topics: TopicNames) -> tuple[str, bytes | None]:
    """(topic, key) of one line; unparseable lines go to the first topic with no key."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return topics.email_opens, None
    if not isinstance(data, dict):
        return topics.email_opens, None
    lead = data.get("lead_id")
    key = lead.encode() if isinstance(lead, str) else None
    return topics.for_type(data.get("type")), key


def produce(
    lines: Iterable[bytes],
    brokers: str,
    topics: TopicNames,
    progress: Progress | None = None,
    rate: float = 0.0,
) -> int:
    """Send every non-blank line; return how many were sent (all acknowledged).

    ``rate`` (events/s, 0 = as fast as possible) paces a demo so results visibly grow.
    """
    try:
        producer = KafkaProducer(bootstrap_servers=brokers.split(","), acks="all",
                                 linger_ms=20, client_id="leadclock-produce",
                                 **client_security())
    except (KafkaError, OSError) as error:
        msg = f"cannot reach Kafka at {brokers}: {type(error).__name__}"
        raise BrokerUnavailable(msg) from error
    sent = 0
    failures: list[BaseException] = []
    started = time.monotonic()
    next_report = time.monotonic() + 2.0
    try:
        for line in lines:
            body = line.rstrip(b"\r\n")
            if not body.strip():
                continue
            topic, key = route(body, topics)
            producer.send(topic, key=key, value=body).add_errback(failures.append)
            sent += 1
            if rate > 0:
                _pace(started, sent, rate)
            if progress is not None and time.monotonic() >= next_report:
                progress(f"produce: {sent:,} sent")
                next_report = time.monotonic() + 2.0
        producer.flush()
        if failures:
            msg = (f"{len(failures):,} of {sent:,} messages were not acknowledged by "
                   f"Kafka at {brokers}: {failures[0]}")
            raise BrokerUnavailable(msg)
    except KafkaError as error:
        msg = f"producing to Kafka at {brokers} failed: {type(error).__name__}: {error}"
        raise BrokerUnavailable(msg) from error
    finally:
        producer.close()
    return sent


def _pace(started: float, sent: int, rate: float) -> None:
    ahead = sent / rate - (time.monotonic() - started)
    if ahead > 0:
        time.sleep(ahead)
