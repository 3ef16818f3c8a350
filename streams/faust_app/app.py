"""The Faust application: topics, lead-state table, agent and timers, wired from settings.

Wiring, not logic: one agent (``streams.faust_app.agent``) over the four co-partitioned
event topics and the rerouted topic, the lead state in a RocksDB-backed Faust table
(changelogged to Kafka, with a standby replica for fast takeover), changed leads through
the engine's output buffer to the writer (the ClickHouse sink, given by the composition
root), rejects to the DLQ topic and misrouted events to the rerouted topic
(``streams.faust_app.deliveries``), acknowledgements after the flush
(``streams.faust_app.ack``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from typing import Any, NamedTuple

import faust

from streams.engine.accounting import Counters
from streams.engine.buffer import OutputBuffer
from streams.engine.expiry import Watermarks
from streams.engine.port import Writer
from streams.engine.processor import DeadLetter, Forward, MessageProcessor
from streams.engine.routing import ORIGIN_HEADER, HomePartitions, format_position
from streams.engine.row_diff import WrittenLeads
from streams.engine.state import LeadState, encode_state
from streams.faust_app.ack import AckAfterFlush, say
from streams.faust_app.agent import Agent
from streams.faust_app.deliveries import Deliveries, Outgoing
from streams.faust_app.follow import FOLLOW_EVERY_S, VersionWiring, install
from streams.faust_app.offset_guard import ConsumerSafety, OffsetGuard
from streams.faust_app.quiet_logs import Outage, QuietLogs
from streams.faust_app.settings import WorkerSettings
from streams.faust_app.table_sweep import TableSweeper
from streams.faust_app.timers import add_timers
from streams.kafka.dead_letter import DLQ_LIMIT, dead_letter_record, halved
from streams.kafka.security import KafkaSecurity
from streams.kafka.topics import REROUTED_MAX_BYTES


class Built(NamedTuple):
    """The Faust app and what ``streams.faust_app.runner.run`` needs beside it."""

    app: faust.App
    flusher: AckAfterFlush
    logs: QuietLogs


def build_app(
    settings: WorkerSettings, writer: Writer, safety: ConsumerSafety,
    report: Callable[[], str] | None = None, versions: VersionWiring | None = None,
    reach_diffs: bool = False,
) -> Built:
    """Create the Faust app, its topics, table, agent and timers.

    ``safety`` is what ``install_faust_patches`` returned; ``report`` (if any) renders
    the per-campaign results printed every ``report_every_s``; ``versions`` (if any)
    makes the worker keep its version complete and follow promotes
    (``streams.faust_app.follow``); ``reach_diffs``: the store keeps each reach key's row
    with the most touches (``sinks.reach_version``).
    """
    topics = settings.topics
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{b}" for b in settings.brokers.split(",")],
        store="rocksdb://",
        datadir=settings.data_dir,
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        table_standby_replicas=1,
        # Let the producer batch changelog writes (one table write per event): with no
        # linger every write was its own produce request, most of the worker's CPU.
        producer_linger=0.05,
        # A killed worker's partitions move after this long; with a static instance id
        # the same worker restarting gets them back at once (no rebalance at all).
        broker_session_timeout=settings.session_timeout_s,
        consumer_group_instance_id=settings.instance_id or None,
        broker_credentials=broker_credentials(KafkaSecurity.from_env()),
        # Rerouted events may be as large as the rerouted topic takes (FORWARD_LIMIT).
        producer_max_request_size=REROUTED_MAX_BYTES,
    )
    source = app.topic(*topics.consumed, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    # bytes key and value types select Faust's "raw" codec for the changelog: the
    # state is already compact orjson (streams.engine.state), no second JSON layer.
    table = app.Table("lead_state", partitions=settings.partitions, key_type=bytes,
                      value_type=bytes)

    async def produce(out: Outgoing) -> Any:
        return await app.producer.send(out.topic, out.key, out.value, out.partition, None,
                                       list(out.headers))

    deliveries = Deliveries(produce, say)
    outbox: list[Outgoing] = []

    async def dead_letter_lead(lead_id: str, state: LeadState, reason: str) -> None:
        record = dead_letter_record(lead_id.encode(), encode_state(state), f"sink: {reason}",
                                    "sink")
        await deliveries.submit(Outgoing(topics.dlq, record.key, record.value,
                                         record.headers, None, "dead letter"))

    # A token of its own: this worker's credit rows go in lineages of its own (row_diff).
    buffer = OutputBuffer(settings.engine,
                          written=WrittenLeads.for_process(reach_diffs=reach_diffs))
    flusher = AckAfterFlush(buffer, writer, dead_letter_lead, deliveries=deliveries,
                            position_of=lambda e: (e.message.tp, e.message.offset))
    ttl = settings.state_ttl
    if ttl is not None:
        flusher.before_write = lambda: app.producer.flush()
    # --unsafe-memory-state: a dict, to measure the worker without its state store.
    state: MutableMapping[bytes, bytes] = {} if settings.unsafe_memory_state else table
    processor = MessageProcessor(
        state, buffer, lambda dead: outbox.append(dead_letter_out(topics.dlq, dead)),
        Counters(), topic_roles=topics.roles if ttl else None,
        home=HomePartitions(settings.partitions),
        forward=lambda fwd: outbox.append(forward_out(topics.rerouted, fwd)))
    guard = OffsetGuard(lambda tp: safety.start_of(app.consumer, tp))

    def after_rebalance(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        guard.reset()
        safety.forget()
        # Another worker may have written our leads meanwhile: write each whole first.
        buffer.forget_written()

    app.on_partitions_assigned.connect(after_rebalance)
    sweeper = TableSweeper(table, lambda: app.consumer, safety, topics.roles,
                           Watermarks(ttl)) if ttl else None
    agent = Agent(processor, buffer, flusher, safety, guard, lambda: app.consumer,
                  deliveries, outbox, topics.rerouted, sweeper,
                  auto_ack=settings.unsafe_auto_ack, started=time.monotonic())
    app.agent(source, name="leadclock.process")(agent.run)
    logs = QuietLogs(Outage(settings.brokers))
    add_timers(app, settings, agent, report, logs.outage)
    if versions is not None:
        # The rerouted topic too: a misrouted event changes its lead's state through
        # its copy there (streams.faust_app.follow).
        install(app, agent, versions.control, version=versions.version,
                pinned=versions.pinned, brokers=settings.brokers,
                topics=frozenset(topics.consumed), every_s=FOLLOW_EVERY_S)
    return Built(app, flusher, logs)


def dead_letter_out(dlq: str, dead: DeadLetter, limit: int = DLQ_LIMIT) -> Outgoing:
    """The DLQ message of a rejected one, cut to fit ``limit``.

    If Kafka still refuses it as too large, it is cut to half of that, and so on.
    """
    record = dead_letter_record(dead.key, dead.value, dead.reason,
                                format_position(dead.position), limit)

    def shrink() -> Outgoing | None:
        half = halved(limit)
        return None if half is None else dead_letter_out(dlq, dead, half)

    return Outgoing(dlq, record.key, record.value, record.headers, None, "dead letter",
                    shrink)


def forward_out(rerouted: str, forward: Forward) -> Outgoing:
    """The copy of a misrouted event on its lead's partition of the rerouted topic."""
    origin = format_position(forward.origin).encode()
    return Outgoing(rerouted, forward.key, forward.value, ((ORIGIN_HEADER, origin),),
                    forward.partition, "rerouted event")


def broker_credentials(security: KafkaSecurity) -> Any:
    """Faust's form of the LEADCLOCK_KAFKA_* settings (None: plaintext, no login)."""
    if security.sasl:
        return faust.SASLCredentials(username=security.username, password=security.password,
                                     mechanism=security.mechanism,
                                     ssl_context=security.ssl_context())
    if security.tls:
        return faust.SSLCredentials(security.ssl_context())
    return None
