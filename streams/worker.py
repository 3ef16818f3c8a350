"""``leadclock worker``: the Faust application around :class:`MessageProcessor`.

Wiring, not logic: one agent over the four co-partitioned event topics, the lead state
in a RocksDB-backed Faust table (changelogged to Kafka, with a standby replica for fast
takeover), changed leads to the ClickHouse sink, rejects to the DLQ topic.

Offsets and ClickHouse stay consistent because the agent acknowledges a message only
after the flush that wrote its effect succeeded (``stream.noack()`` + manual acks), and
Faust commits acknowledged offsets only. A failed flush is retried with exponential
backoff while the agent stops consuming (bounded memory); nothing is acknowledged in
the meantime. See docs/exactly-once.md for the whole argument.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust

from sinks.client import connect
from sinks.exceptions import SinkError, TransientSinkError
from sinks.faults import Faults
from sinks.migrate import migrate
from sinks.report import campaign_report
from sinks.sink import LeadSink
from sinks.versions import ensure_version
from streams import metrics
from streams.config import EngineConfig
from streams.exceptions import BrokerUnavailable
from streams.expiry import StateTtl, Watermarks
from streams.kafka.security import KafkaSecurity
from streams.kafka_admin import ensure_topics, group_lag
from streams.offset_guard import ConsumerSafety, OffsetGuard, seek_safely
from streams.processor import Counters, MessageProcessor
from streams.state import encode_state
from streams.table_sweep import TableSweeper
from streams.topics import TopicNames

MAX_BACKOFF_S = 30.0


def _say(text: str) -> None:
    print(f"worker: {text}", file=sys.stderr, flush=True)


@dataclass
class AckAfterFlush:
    """Flushes the sink, retrying transient failures, then acks what it wrote."""

    sink: LeadSink
    dlq: Any
    stream: Any = None
    unacked: list[Any] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    fatal: SinkError | None = None
    before_write: Callable[[], Awaitable[None]] | None = None
    """Awaited after a batch is detached and before it is written. With a state TTL it
    flushes the table's changelog: whether a message opened a new generation depends
    on the table, so rows of a generation must never reach ClickHouse before the
    table entry that named it is durable (a standby taking over after a crash would
    otherwise file the same event under another generation, and count it twice)."""

    async def flush(self) -> None:
        """Write everything pending and ack its messages; retry until it succeeds.

        The ClickHouse write runs on a thread so that a slow insert cannot starve the
        consumer's heartbeats; the batch is detached and, on failure, re-attached on
        the event loop, so the agent can keep adding to the next batch meanwhile.
        """
        async with self.lock:
            events, self.unacked = self.unacked, []
            try:
                await self._write_until_done()
            except BaseException:
                self.unacked[:0] = events  # not acked: processed again after a restart
                raise
            for lead_id, state, reason in self.sink.take_poisoned():
                _say(f"lead {lead_id} dead-lettered: {reason}")
                await self.dlq.send(key=lead_id.encode(), value=encode_state(state), headers={
                    "leadclock-reason": f"sink: {reason}".encode(),
                    "leadclock-source": b"sink",
                })
            for event in events:
                await self.stream.ack(event)

    async def _write_until_done(self) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.5
        while True:
            batch = self.sink.take()
            if batch is None:
                break
            started = time.monotonic()
            try:
                if self.before_write is not None:
                    await self.before_write()
                await loop.run_in_executor(None, self.sink.write, batch)
            except TransientSinkError as error:
                self.sink.give_back(batch)
                metrics.FLUSH_RETRIES.inc()
                _say(f"flush failed ({error}); retrying in {delay:.1f}s")
                await asyncio.sleep(max(delay, error.retry_after))
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            except SinkError as error:
                # Not retryable: stop without acknowledging anything, so the same
                # messages are processed again once the cause is fixed.
                self.sink.give_back(batch)
                self.fatal = error
                os.kill(os.getpid(), signal.SIGTERM)
                raise
            except BaseException:
                self.sink.give_back(batch)
                raise
            metrics.FLUSH_SECONDS.observe(time.monotonic() - started)
            break
        metrics.PENDING.set(self.sink.pending())


def broker_credentials(security: KafkaSecurity) -> Any:
    """Faust's form of the LEADCLOCK_KAFKA_* settings (None: plaintext, no login)."""
    if security.sasl:
        return faust.SASLCredentials(username=security.username, password=security.password,
                                     mechanism=security.mechanism,
                                     ssl_context=security.ssl_context())
    if security.tls:
        return faust.SSLCredentials(security.ssl_context())
    return None


def build_app(
    args: argparse.Namespace, config: EngineConfig, dsn: str
) -> tuple[faust.App, AckAfterFlush]:
    """Create the Faust app, its topics, table, agent and timers."""
    topics = TopicNames.with_prefix(args.topic_prefix)
    ttl = StateTtl.from_text(args.state_ttl, lookback_us=config.lookback_us)
    ensure_topics(args.brokers, (*topics.events, topics.dlq), args.partitions)
    client = connect(dsn)
    migrate(client)
    ensure_version(client, args.attribution_version,
                   {**config.describe(), **(ttl.describe() if ttl else {})})
    sink = LeadSink(client, args.attribution_version, config, faults=Faults.from_env())

    app = faust.App(
        args.app_id,
        broker=[f"kafka://{b}" for b in args.brokers.split(",")],
        store="rocksdb://",
        datadir=args.data_dir,
        topic_partitions=args.partitions,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        table_standby_replicas=1,
        # Let the producer batch changelog writes (one table write per event): with no
        # linger every write was its own produce request, most of the worker's CPU.
        producer_linger=0.05,
        # A killed worker's partitions move after this long; with a static instance id
        # the same worker restarting gets them back at once (no rebalance at all).
        broker_session_timeout=args.session_timeout,
        consumer_group_instance_id=args.instance_id or None,
        broker_credentials=broker_credentials(KafkaSecurity.from_env()),
    )
    source = app.topic(*topics.events, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    dlq = app.topic(topics.dlq, key_type=bytes, value_type=bytes,
                    key_serializer="raw", value_serializer="raw")
    flusher = AckAfterFlush(sink, dlq)
    if ttl is not None:
        flusher.before_write = lambda: app.producer.flush()
    # bytes key and value types select Faust's "raw" codec for the changelog: the
    # state is already compact orjson (streams.state), no second JSON layer.
    table = app.Table("lead_state", partitions=args.partitions, key_type=bytes,
                      value_type=bytes)
    counters = Counters()
    dead: list[tuple[bytes | None, bytes, str]] = []
    topic_index = {topic: i for i, topic in enumerate(topics.events)}
    processor = MessageProcessor(
        table, sink, lambda k, v, reason: dead.append((k, v, reason)), counters,
        topic_index=topic_index if ttl else None)

    started = time.monotonic()
    safety = ConsumerSafety(frozenset(topics.events))
    safety.install()
    guard = OffsetGuard(lambda tp: safety.start_of(app.consumer, tp))

    def forget_offsets(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        guard.reset()
        safety.forget()

    app.on_partitions_assigned.connect(forget_offsets)
    sweeper = TableSweeper(table, lambda: app.consumer, safety, topic_index,
                           Watermarks(ttl)) if ttl else None

    @app.agent(source)
    async def process(stream: Any) -> None:
        # --unsafe-auto-ack exists to measure what ack-after-flush costs (benchmarks/):
        # Faust then acks each message as soon as it is processed, so a commit can
        # overtake a flush and a crash can lose effects.
        flusher.stream = stream if args.unsafe_auto_ack else stream.noack()
        async for event in flusher.stream.events():
            if not counters.received:
                _say(f"processing: first message {time.monotonic() - started:.1f}s "
                     f"after start")
            message = event.message
            start = safety.start_of(app.consumer, message.tp)
            if start is not None and message.offset < start:
                # A stale copy (prefetched before a rebalance or a seek) of a message
                # whose effect is committed: processing it again is wasted work, and
                # under a state TTL its lead may have expired since.
                if not args.unsafe_auto_ack:
                    await flusher.stream.ack(event)
                continue
            skipped = guard.skipped_from(message.tp, message.offset)
            if skipped is not None and guard.should_seek(message.tp):
                _say(f"{message.topic}/{message.partition}: offsets {skipped}.."
                     f"{message.offset - 1} were skipped by the consumer; reading them again")
                if not await seek_safely(app.consumer, {message.tp: skipped}):
                    _say(f"{message.topic}/{message.partition}: seek interrupted by a "
                         f"rebalance")
            outcome = processor.process(message.key, event.value, message.topic,
                                        message.partition, message.offset)
            metrics.EVENTS.labels(outcome).inc()
            if sweeper is not None and processor.last_event_us is not None:
                sweeper.after_message(message.tp, message.offset, processor.last_event_us)
            while dead:
                key, value, reason = dead.pop()
                await dlq.send(key=key, value=value, headers={
                    "leadclock-reason": reason.encode(),
                    "leadclock-source": f"{message.topic}/{message.partition}/"
                                        f"{message.offset}".encode(),
                })
            if not args.unsafe_auto_ack:
                flusher.unacked.append(event)
            if sink.due() or sink.full():
                await flusher.flush()

    @app.timer(interval=0.5)  # type: ignore[untyped-decorator]
    async def flush_when_due() -> None:
        # Also when nothing is pending but messages wait for their ack: their effects
        # may have been written by a flush that ran while the agent was sending to the
        # DLQ, and without this they would wait for the next message to be acked.
        idle_unacked = bool(flusher.unacked) and not sink.pending()
        if flusher.stream is not None and (sink.due() or idle_unacked):
            await flusher.flush()

    @app.timer(interval=args.progress_every)  # type: ignore[untyped-decorator]
    async def progress() -> None:
        _say(f"{counters.received:,} received: {counters.accepted:,} accepted, "
             f"{counters.duplicates:,} duplicates, {counters.rejected:,} rejected; "
             f"{sink.stats.leads:,} lead writes in {sink.stats.flushes:,} flushes "
             f"({sink.stats.failures:,} failed)"
             + (f"; {sweeper.expired:,} leads expired" if sweeper else ""))

    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]
    async def lag() -> None:
        loop = asyncio.get_running_loop()
        try:
            lags = await loop.run_in_executor(
                None, group_lag, args.brokers, args.app_id, topics.events)
        except BrokerUnavailable as error:
            # The consumer reconnects by itself; the gauge just keeps its last value.
            _say(f"lag unknown: {error}")
            return
        for tp, behind in lags.items():
            metrics.LAG.labels(tp.topic, str(tp.partition)).set(behind)

    if args.report_every > 0:
        @app.timer(interval=args.report_every)  # type: ignore[untyped-decorator]
        async def report() -> None:
            if flusher.stream is not None:
                await flusher.flush()
            print(campaign_report(client), flush=True)

    return app, flusher


def run_worker(args: argparse.Namespace, config: EngineConfig, dsn: str) -> None:
    """Build the app and run it until SIGINT/SIGTERM."""
    app, flusher = build_app(args, config, dsn)
    metrics.serve(args.metrics_port, args.metrics_host)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False,
                          stdout=sys.stdout, stderr=sys.stderr)
    # aiokafka builds a debug record per produced message unless told otherwise.
    for name in ("aiokafka", "kafka", "faust", "mode"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Faust warns "producer buffer full" whenever changelog writes wait for the
    # producer, which with a linger is ordinary backpressure, not a fault.
    logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)
    try:
        worker.execute_from_commandline()
    except SystemExit:
        if flusher.fatal is not None:
            raise flusher.fatal from None
        raise
