"""The options of ``leadclock worker`` (beside the Kafka, ClickHouse and engine ones).

Kept apart from ``streams.cli`` so that the command line stays one small module per job;
the README's Configuration table documents each option.
"""

from __future__ import annotations

import argparse

from streams.cli_values import env as _env
from streams.cli_values import port as _port
from streams.cli_values import positive_int as _positive_int
from streams.cli_values import seconds as _seconds


def add_worker_options(worker: argparse.ArgumentParser) -> None:
    """Add the worker's own options to its subcommand parser."""
    worker.add_argument("--partitions", type=_positive_int,
                        default=_env("LEADCLOCK_PARTITIONS", "4"),
                        help="partitions of the event topics (env LEADCLOCK_PARTITIONS)")
    worker.add_argument("--data-dir", default=_env("LEADCLOCK_DATA_DIR", "var/worker"),
                        help="Faust table store directory (env LEADCLOCK_DATA_DIR)")
    worker.add_argument("--app-id", default=_env("LEADCLOCK_APP_ID", "leadclock"),
                        help="consumer group / Faust app id (env LEADCLOCK_APP_ID)")
    worker.add_argument("--instance-id", default=_env("LEADCLOCK_INSTANCE_ID", ""),
                        help="static group membership id (env LEADCLOCK_INSTANCE_ID): a "
                             "restarted worker gets its partitions back without a rebalance")
    worker.add_argument("--session-timeout", type=float,
                        default=_env("LEADCLOCK_SESSION_TIMEOUT", "10"),
                        metavar="SECONDS",
                        help="consumer session timeout: how soon a dead worker's partitions "
                             "move to the others (env LEADCLOCK_SESSION_TIMEOUT)")
    worker.add_argument("--state-ttl", default=_env("LEADCLOCK_STATE_TTL", ""),
                        metavar="DURATION",
                        help="drop the state of leads idle this long in event time, e.g. "
                             "180d; at least the lookback; trades exactness for bounded "
                             "state, see docs/state-ttl.md (env LEADCLOCK_STATE_TTL; "
                             "default: keep all state)")
    worker.add_argument("--metrics-port", type=int,
                        default=_env("LEADCLOCK_METRICS_PORT", "0"),
                        help="serve Prometheus /metrics on PORT (0: off; env "
                             "LEADCLOCK_METRICS_PORT)")
    worker.add_argument("--metrics-host", default=_env("LEADCLOCK_METRICS_HOST", "127.0.0.1"),
                        help="address /metrics listens on; 0.0.0.0 in a container (env "
                             "LEADCLOCK_METRICS_HOST)")
    worker.add_argument("--dashboard-port", type=_port,
                        default=_env("LEADCLOCK_DASHBOARD_PORT", "0"), metavar="PORT",
                        help="serve the dashboard page (docs/dashboard.md) from the worker "
                             "on PORT (0: off; env LEADCLOCK_DASHBOARD_PORT)")
    worker.add_argument("--dashboard-host",
                        default=_env("LEADCLOCK_DASHBOARD_HOST", "127.0.0.1"),
                        help="address the dashboard page listens on; 127.0.0.1 is this "
                             "machine only (env LEADCLOCK_DASHBOARD_HOST)")
    worker.add_argument("--progress-every", type=float, default=5.0, metavar="SECONDS",
                        help="print a progress line every N seconds")
    worker.add_argument("--unsafe-auto-ack", action="store_true",
                        help="benchmarking only: ack messages before their effect is in "
                             "ClickHouse (loses the exactly-once effect on a crash)")
    worker.add_argument("--unsafe-memory-state", action="store_true",
                        help="benchmarking only: keep lead state in this process's memory "
                             "instead of the changelogged table (a restart or a rebalance "
                             "makes the results wrong; measures what the state store "
                             "costs)")
    worker.add_argument("--report-every", type=float, default=0.0, metavar="SECONDS",
                        help="print per-campaign results every N seconds (0: never)")
    worker.add_argument("--shutdown-timeout", type=_seconds,
                        default=_env("LEADCLOCK_SHUTDOWN_TIMEOUT", "30"), metavar="SECONDS",
                        help="after SIGTERM/SIGINT, stop within this long: half of it to "
                             "write what was processed, then exit anyway (status 3, stacks "
                             "logged) (env LEADCLOCK_SHUTDOWN_TIMEOUT)")
    worker.add_argument("--broker-wait", type=_seconds,
                        default=_env("LEADCLOCK_BROKER_WAIT", "60"), metavar="SECONDS",
                        help="at start, retry an unreachable broker this long before giving "
                             "up (env LEADCLOCK_BROKER_WAIT)")
