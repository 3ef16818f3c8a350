"""``leadclock worker``: the Faust application around :class:`MessageProcessor`.

Wiring, not logic: one agent over the four co-partitioned event topics, the lead state
in a RocksDB-backed Faust table (changelogged to Kafka), deltas to the ClickHouse sink,
rejects to the DLQ topic. The sink is flushed when it is due and, crucially, at the
start of every offset commit (a Faust sensor), so committed offsets never point past
deltas that are not in ClickHouse.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import faust
from faust.sensors import Sensor

from sinks.batching import ClickHouseSink
from sinks.client import connect
from sinks.migrate import migrate
from sinks.report import campaign_report
from sinks.versions import ensure_version
from streams.config import EngineConfig
from streams.kafka_admin import ensure_topics
from streams.processor import Counters, MessageProcessor
from streams.topics import TopicNames


class FlushBeforeCommit(Sensor):
    """Flushes the sink synchronously before Faust computes the offsets to commit."""

    def __init__(self, sink: ClickHouseSink) -> None:
        super().__init__()
        self.sink = sink

    def on_commit_initiated(self, consumer: Any) -> Any:
        """Runs inside the commit, before any await: no event slips in between."""
        self.sink.flush()
        return super().on_commit_initiated(consumer)


def build_app(args: argparse.Namespace, config: EngineConfig, dsn: str) -> faust.App:
    """Create the Faust app, its topics, table, agent and timers."""
    topics = TopicNames.with_prefix(args.topic_prefix)
    ensure_topics(args.brokers, (*topics.events, topics.dlq), args.partitions)
    client = connect(dsn)
    migrate(client)
    ensure_version(client, args.attribution_version, config.describe())
    sink = ClickHouseSink(client, args.attribution_version)

    app = faust.App(
        args.app_id,
        broker=[f"kafka://{b}" for b in args.brokers.split(",")],
        store="rocksdb://",
        datadir=args.data_dir,
        topic_partitions=args.partitions,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        table_standby_replicas=1,
    )
    app.sensors.add(FlushBeforeCommit(sink))
    source = app.topic(*topics.events, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    dlq = app.topic(topics.dlq, key_type=bytes, value_type=bytes,
                    key_serializer="raw", value_serializer="raw")
    # bytes key and value types select Faust's "raw" codec for the changelog: the
    # state is already compact orjson (streams.state), no second JSON layer.
    table = app.Table("lead_state", partitions=args.partitions, key_type=bytes,
                      value_type=bytes)
    counters = Counters()
    pending_dead: list[tuple[bytes | None, bytes, str]] = []

    processor = MessageProcessor(
        config, table, sink, lambda k, v, reason: pending_dead.append((k, v, reason)),
        counters,
    )

    @app.agent(source)
    async def process(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            processor.process(message.key, event.value, message.topic,
                              message.partition, message.offset)
            while pending_dead:
                key, value, reason = pending_dead.pop()
                await dlq.send(key=key, value=value, headers={
                    "leadclock-reason": reason.encode(),
                    "leadclock-source": f"{message.topic}/{message.partition}/"
                                        f"{message.offset}".encode(),
                })
            if sink.due():
                sink.flush()

    @app.timer(interval=0.5)  # type: ignore[untyped-decorator]
    async def flush_when_due() -> None:
        if sink.due():
            sink.flush()

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]
    async def progress() -> None:
        print(f"worker: {counters.received:,} received: {counters.accepted:,} accepted, "
              f"{counters.duplicates:,} duplicates, {counters.rejected:,} rejected; "
              f"{sink.stats.rows:,} rows written in {sink.stats.flushes:,} flushes",
              file=sys.stderr, flush=True)

    if args.report_every > 0:
        @app.timer(interval=args.report_every)  # type: ignore[untyped-decorator]
        async def report() -> None:
            sink.flush()
            print(campaign_report(client), flush=True)

    return app


def run_worker(args: argparse.Namespace, config: EngineConfig, dsn: str) -> None:
    """Build the app and run it until SIGINT/SIGTERM."""
    app = build_app(args, config, dsn)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False,
                          stdout=sys.stdout, stderr=sys.stderr)
    worker.execute_from_commandline()
