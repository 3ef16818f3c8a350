"""What a worker wrote: ClickHouse rows inserted (its process counter) and its changelog records.

Why these two: issue 12 (goal 5) wants the work per event to follow what changed, not a
lead's history. Rows come from ClickHouse's own ``InsertedRows`` counter
(``system.events``) of the process that holds the embedded database, read through the
worker's gateway while it runs, so every insert of every table counts, whatever the
write path. Changelog bytes are the value sizes of every record of the worker's Faust
table changelog topics (``<app id>-<table>-changelog``), read back with kafka-python.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from sinks.client import connect
from streams.kafka.admin import admin_client, end_offsets


def inserted_rows(dsn: str) -> int:
    """Rows inserted since the process holding ``dsn`` started (all tables, all inserts)."""
    client = connect(dsn)
    try:
        rows = client.query("SELECT value FROM system.events WHERE event = 'InsertedRows'")
        return int(rows.result_rows[0][0]) if rows.result_rows else 0
    finally:
        client.close()


def changelog_topics(brokers: str, app_id: str) -> list[str]:
    """The Faust table changelog topics of the app ``app_id``."""
    admin = admin_client(brokers)
    try:
        return sorted(t for t in admin.list_topics()
                      if t.startswith(f"{app_id}-") and t.endswith("-changelog"))
    finally:
        admin.close()


@dataclass(frozen=True, slots=True)
class Record:
    partition: int
    offset: int
    key: bytes
    size: int  # value bytes (0 for a tombstone)


def read_records(brokers: str, topic: str, timeout_s: float = 60.0) -> list[Record]:
    """Every record of ``topic`` now (up to its end offsets at the call)."""
    ends = {tp.partition: end for tp, end in end_offsets(brokers, [topic]).items()}
    wanted = sum(ends.values())
    consumer = KafkaConsumer(bootstrap_servers=brokers.split(","), group_id=None,
                             enable_auto_commit=False, client_id="leadclock-bench")
    records: list[Record] = []
    try:
        partitions = [TopicPartition(topic, p) for p, end in ends.items() if end > 0]
        if not partitions:
            return records
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        polls = int(timeout_s / 0.5)
        for _ in range(polls):
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records.extend(Record(tp.partition, r.offset, r.key or b"",
                                      len(r.value or b""))
                               for r in batch if r.offset < ends[tp.partition])
            if len(records) >= wanted:
                break
    finally:
        consumer.close()
    return records


def changelog_sizes(brokers: str, app_id: str) -> tuple[int, int]:
    """(records, value bytes) of all the changelog topics of ``app_id``."""
    count = total = 0
    for topic in changelog_topics(brokers, app_id):
        records = read_records(brokers, topic)
        count += len(records)
        total += sum(r.size for r in records)
    return count, total
