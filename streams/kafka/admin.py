"""Creating and inspecting the project's topics with kafka-python's admin client.

Topics are created by leadclock itself (not by broker auto-creation) so that the event
topics are co-partitioned: the same partition count, keyed by ``lead_id`` with the
default murmur2 partitioner, which is what lets one Faust table partition hold all of a
lead's state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.kafka.exceptions import BrokerUnavailable, TopicsMismatch
from streams.kafka.security import client_security

T = TypeVar("T")
CLIENT_ID = "leadclock-admin"
BOOTSTRAP_TIMEOUT_MS = 8_000
"""How long a command waits for an unreachable broker before saying so."""
METADATA_SETTLE_S = 15.0
"""How long to wait for a just-created topic's partitions to show in its metadata."""


def admin_client(brokers: str) -> KafkaAdminClient:
    """An admin client, or BrokerUnavailable with the address in one line."""
    try:
        return KafkaAdminClient(bootstrap_servers=brokers.split(","), client_id=CLIENT_ID,
                                request_timeout_ms=10_000,
                                bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS, **client_security())
    except (KafkaError, OSError) as error:
        msg = f"cannot reach Kafka at {brokers}: {type(error).__name__}"
        raise BrokerUnavailable(msg) from error


def with_broker_wait(call: Callable[[], T], wait_s: float, log: Callable[[str], None],
                     sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``, retried with backoff (0.5 s doubling to 5 s) while Kafka is unreachable.

    After ``wait_s`` seconds the last ``BrokerUnavailable`` is raised (one line); one
    line says that the command is waiting, the first time it has to.
    """
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        try:
            return call()
        except BrokerUnavailable as error:
            left = deadline - time.monotonic()
            if left <= 0:
                if wait_s > 0:
                    msg = f"{error} (waited {wait_s:g}s, see --broker-wait)"
                    raise BrokerUnavailable(msg) from error
                raise
            if delay == 0.5:
                log(f"{error}; retrying for up to {left:.0f}s (--broker-wait)")
            sleep(min(delay, left))
            delay = min(delay * 2, 5.0)


def ensure_topics(brokers: str, names: Iterable[str], partitions: int,
                  configs: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Create missing topics; refuse existing ones with another partition count.

    ``configs`` holds the topic configuration of some names (applied on creation only).
    """
    admin = admin_client(brokers)
    configs = configs or {}
    try:
        wanted = list(names)
        existing = set(admin.list_topics())
        missing = [n for n in wanted if n not in existing]
        if missing:
            try:
                admin.create_topics([NewTopic(n, partitions, 1,
                                              topic_configs=dict(configs.get(n, {})))
                                     for n in missing])
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
        counts = _settled_partition_counts(admin, wanted)
        wrong = {n: c for n, c in counts.items() if c != partitions}
        if wrong:
            listing = ", ".join(f"{n} has {c}" for n, c in sorted(wrong.items()))
            msg = (f"event topics must be co-partitioned with {partitions} partitions: "
                   f"{listing}")
            raise TopicsMismatch(msg)
    finally:
        admin.close()


def _settled_partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partition counts, waiting briefly while a just-created topic still shows none.

    Right after CreateTopics the broker can describe a new topic with no partitions
    until its metadata has propagated (seen on a freshly started KRaft broker); that
    is "not ready yet", not a wrong partition count.
    """
    deadline = time.monotonic() + METADATA_SETTLE_S
    counts = partition_counts(admin, names)
    while any(c == 0 for c in counts.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
        counts = partition_counts(admin, names)
    return counts


def partition_counts(admin: KafkaAdminClient, names: Iterable[str]) -> dict[str, int]:
    """Partition count of each named topic."""
    described = admin.describe_topics(list(names))
    return {t.get("name", t.get("topic")): len(t["partitions"]) for t in described}


def _consumer(brokers: str, group: str | None = None) -> KafkaConsumer:
    try:
        return KafkaConsumer(bootstrap_servers=brokers.split(","), client_id=CLIENT_ID,
                             group_id=group, enable_auto_commit=False, **client_security())
    except (KafkaError, OSError) as error:
        msg = f"cannot reach Kafka at {brokers}: {type(error).__name__}"
        raise BrokerUnavailable(msg) from error


def _partitions(consumer: KafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    return [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]


def end_offsets(brokers: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    """Latest offset of every partition of ``topics``."""
    consumer = _consumer(brokers)
    try:
        return dict(consumer.end_offsets(_partitions(consumer, topics)))
    except KafkaError as error:
        msg = f"cannot read offsets from Kafka at {brokers}: {type(error).__name__}"
        raise BrokerUnavailable(msg) from error
    finally:
        consumer.close()


def group_lag(brokers: str, group: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    """Messages not yet committed by consumer group ``group``, per partition.

    Uses a consumer that never joins the group: ``committed()`` only fetches offsets.
    """
    consumer = _consumer(brokers, group)
    try:
        partitions = _partitions(consumer, topics)
        ends = consumer.end_offsets(partitions)
        return {tp: ends[tp] - (consumer.committed(tp) or 0) for tp in partitions}
    except KafkaError as error:
        msg = f"cannot read offsets from Kafka at {brokers}: {type(error).__name__}"
        raise BrokerUnavailable(msg) from error
    finally:
        consumer.close()
