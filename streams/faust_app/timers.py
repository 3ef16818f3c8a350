"""The worker's timers: flush when due, progress line, partition lag, campaign report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import faust

from streams.faust_app import metrics
from streams.faust_app.ack import say
from streams.faust_app.agent import Agent
from streams.faust_app.quiet_logs import Outage
from streams.faust_app.settings import WorkerSettings
from streams.kafka.admin import group_lag
from streams.kafka.exceptions import BrokerUnavailable

FLUSH_CHECK_S = 0.5
LAG_EVERY_S = 10.0
OUTAGE_CHECK_S = 1.0
lag_log = logging.getLogger("leadclock.lag")


def add_timers(app: faust.App, settings: WorkerSettings, agent: Agent,
               report: Callable[[], str] | None, outage: Outage) -> None:
    """Register the timers on ``app``."""
    flusher, buffer = agent.flusher, agent.buffer
    counters, sweeper = agent.processor.counters, agent.sweeper

    @app.timer(interval=FLUSH_CHECK_S)  # type: ignore[untyped-decorator]
    async def flush_when_due() -> None:
        # Also when nothing is pending but messages wait for their ack: their effects
        # may have been written by a flush that ran while the agent was sending to the
        # DLQ, and without this they would wait for the next message to be acked.
        idle_unacked = bool(flusher.unacked) and not buffer.pending()
        if flusher.stream is not None and (buffer.due() or idle_unacked):
            await flusher.flush_from_timer()

    @app.timer(interval=settings.progress_every_s)  # type: ignore[untyped-decorator]
    async def progress() -> None:
        stats = buffer.stats
        say(f"{counters.received:,} received: {counters.accepted:,} accepted, "
            f"{counters.duplicates:,} duplicates, {counters.rejected:,} rejected, "
            f"{counters.rerouted:,} rerouted; "
            f"{stats.leads:,} lead writes in {stats.flushes:,} flushes "
            f"({stats.failures:,} failed)"
            + (f"; {sweeper.expired:,} leads expired" if sweeper else ""))

    @app.timer(interval=LAG_EVERY_S)  # type: ignore[untyped-decorator]
    async def lag() -> None:
        loop = asyncio.get_running_loop()
        try:
            lags = await loop.run_in_executor(
                None, group_lag, settings.brokers, settings.app_id, settings.topics.consumed)
        except BrokerUnavailable as error:
            # The consumer reconnects by itself; the gauge just keeps its last value.
            # (Logged, so that it is part of an outage report, not a line per timer.)
            lag_log.warning("lag unknown: %s", error)
            return
        for tp, behind in lags.items():
            metrics.LAG.labels(tp.topic, str(tp.partition)).set(behind)

    @app.timer(interval=OUTAGE_CHECK_S)  # type: ignore[untyped-decorator]
    async def outage_over() -> None:
        if outage.started is not None:  # the check may probe the broker: off the loop
            await asyncio.get_running_loop().run_in_executor(None, outage.check)

    if report is not None and settings.report_every_s > 0:
        @app.timer(interval=settings.report_every_s)  # type: ignore[untyped-decorator]
        async def print_report() -> None:
            if flusher.stream is not None:
                await flusher.flush_from_timer()
            print(report(), flush=True)
