"""Running the built Faust app until it is asked to stop, and how it ends.

Faust's worker (``streams.faust_app.shutdown.LeadclockWorker``) runs the app with the
quiet-logs filter on its handlers (``streams.faust_app.quiet_logs``). When it ends, a
reason the worker stopped itself for (a sink error retrying cannot fix, a bug) is
re-raised as its one-line error, and so is a broker that stayed unreachable while the
worker started (``--broker-wait``), instead of Faust's traceback.
"""

from __future__ import annotations

import logging
import sys

from aiokafka.errors import KafkaConnectionError

from streams.faust_app import metrics
from streams.faust_app.ack import say
from streams.faust_app.app import Built
from streams.faust_app.settings import WorkerSettings
from streams.faust_app.shutdown import LeadclockWorker, Shutdown
from streams.kafka.exceptions import BrokerUnavailable


def run(built: Built, settings: WorkerSettings) -> None:
    """Run the app until SIGINT/SIGTERM; a fatal error is re-raised after shutdown."""
    app, flusher = built.app, built.flusher
    metrics.serve(settings.metrics_port, settings.metrics_host)
    shutdown = Shutdown(settings.shutdown_timeout_s, lambda: app.consumer, say,
                        abandon=lambda: flusher.fatal is not None)
    worker = LeadclockWorker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False,
                             stdout=sys.stdout, stderr=sys.stderr, shutdown=shutdown,
                             logs=built.logs)
    # aiokafka builds a debug record per produced message unless told otherwise.
    for name in ("aiokafka", "kafka", "faust", "mode"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Faust warns "producer buffer full" whenever changelog writes wait for the
    # producer, which with a linger is ordinary backpressure, not a fault.
    logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)
    try:
        worker.execute_from_commandline()
    except SystemExit as stopped:
        if flusher.fatal is not None:
            raise flusher.fatal from None
        if stopped.code and (lost := _connection_error(stopped)) is not None:
            msg = (f"cannot reach Kafka at {settings.brokers} while starting: {lost} "
                   f"(waited {settings.broker_wait_s:g}s, see --broker-wait)")
            raise BrokerUnavailable(msg) from None
        raise


def _connection_error(stopped: SystemExit) -> KafkaConnectionError | None:
    """The Kafka connection error that made Faust exit, if that is what it was."""
    seen: BaseException | None = stopped.__context__
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, KafkaConnectionError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
