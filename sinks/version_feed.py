"""Where a version is complete in the event topics, and which partitions a worker feeds.

``version_offsets`` holds, per (version, topic, partition), the offset below which the
version holds every event of the partition, and whether a worker currently writes the
version from that partition. A replay from the topics records the end offsets it read
to; a worker records ``fed`` once it has made the version complete for a partition (the
handoff after a promote, ``streams.faust_app.follow``), and where it stopped when it
leaves the version for another. A worker that switches to a version rewrites the leads
of the messages it processed at or after the recorded offset, so nothing is missed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from clickhouse_connect.driver.client import Client

from streams.engine.versions import Feed, TopicPartitionKey


def feeds(client: Client, version: int) -> dict[TopicPartitionKey, Feed]:
    """The newest record of each partition of ``version``."""
    rows = client.query(
        "SELECT topic, partition, argMax(complete_below, recorded_at), "
        "argMax(fed, recorded_at) FROM version_offsets WHERE version = {v:UInt32} "
        "GROUP BY topic, partition", parameters={"v": version}).result_rows
    return {(str(t), int(p)): Feed(int(below), bool(fed)) for t, p, below, fed in rows}


def record(client: Client, version: int, offsets: Mapping[TopicPartitionKey, int], *,
           fed: bool) -> None:
    """Record ``complete_below`` (and whether a worker feeds it) for these partitions."""
    if not offsets:
        return
    now = int(time.time() * 1000)
    client.insert("version_offsets",
                  [[version, topic, partition, offset, int(fed), now]
                   for (topic, partition), offset in sorted(offsets.items())],
                  column_names=["version", "topic", "partition", "complete_below", "fed",
                                "recorded_at"])


def fed_partitions(client: Client, version: int) -> int:
    """How many partitions a worker feeds ``version`` from, as recorded."""
    return sum(feed.fed for feed in feeds(client, version).values())
