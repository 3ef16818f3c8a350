"""The ``leadclock`` command line: argument parsing and error reporting only.

Arguments become typed values (``EngineConfig``, ``WorkerSettings``...) and one call into
the composition root (``streams.compose``), which does the work. Every deliberate
failure is a ``LeadclockError`` and is printed as one line with a non-zero exit; bad
arguments get argparse's one-line message (without the usage dump) and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from schemas.exceptions import LeadclockError
from streams.cli_parser import (
    ATTRIBUTION_ENV,
    DEPRECATED_ENV,
    PROG,
    Parser,
    add_clickhouse,
    add_engine,
    add_kafka,
    add_replay,
    add_sql,
    add_versions,
    base_parser,
)
from streams.cli_values import env, port, positive_int
from streams.cli_worker import add_worker_options
from streams.engine.config import EngineConfig
from streams.engine.exceptions import ConfigError
from streams.engine.expiry import StateTtl
from streams.faust_app.settings import WorkerSettings
from streams.kafka.topics import TopicNames


def build_parser() -> argparse.ArgumentParser:
    """The full command tree (SPEC §5)."""
    parser, commands = base_parser()

    migrate = commands.add_parser("migrate", help="create/upgrade the ClickHouse schema")
    add_clickhouse(migrate)
    migrate.add_argument("--cluster", metavar="NAME", default=None,
                         help="replicated tables + Distributed tables ON CLUSTER NAME "
                              "(see docs/deploy.md); default: single node")
    migrate.add_argument("--dashboard-role", metavar="NAME", default=None,
                         help="also create a role with SELECT on the public v_* views only; "
                              "default: none")
    migrate.add_argument("--dashboard-user", metavar="NAME", default=None,
                         help="and a user holding only that role; password from env "
                              "LEADCLOCK_DASHBOARD_PASSWORD; default: none")
    migrate.add_argument("--dry-run", action="store_true",
                         help="print the DDL instead of applying it")

    worker = commands.add_parser("worker", help="run the Faust streaming job")
    add_kafka(worker)
    add_clickhouse(worker)
    add_engine(worker, version_help="follow the current version (on a database without one, "
                                    "the next unused version, made current at start)")
    add_worker_options(worker)

    add_replay(commands)
    add_versions(commands)

    produce = commands.add_parser("produce", help="send an NDJSON file to the event topics")
    produce.add_argument("--input", required=True, metavar="FILE",
                         help="NDJSON, - for stdin (required)")
    produce.add_argument("--rate", type=float, default=0.0,
                         help="events per second; default 0: as fast as possible")
    produce.add_argument("--partitions", type=positive_int,
                         default=env("LEADCLOCK_PARTITIONS", "4"),
                         help="partitions of topics it creates (env LEADCLOCK_PARTITIONS)")
    add_kafka(produce)

    topics = commands.add_parser("topics", help="create the event and DLQ topics")
    topics.add_argument("--partitions", type=positive_int,
                        default=env("LEADCLOCK_PARTITIONS", "4"),
                        help="partitions of every topic (env LEADCLOCK_PARTITIONS)")
    add_kafka(topics)

    status = commands.add_parser("status", help="consumer lag per partition, worker metrics")
    add_kafka(status)
    status.add_argument("--app-id", default=env("LEADCLOCK_APP_ID", "leadclock"),
                        help="consumer group / Faust app id (env LEADCLOCK_APP_ID)")
    status.add_argument("--metrics-url", default=env("LEADCLOCK_METRICS_URL", ""),
                        help="a worker's /metrics URL, e.g. http://127.0.0.1:9464/metrics")

    serve = commands.add_parser(
        "serve", help="hold the embedded ClickHouse and share it over HTTP until Ctrl-C")
    add_clickhouse(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=port, default=8123,
                       help="port to listen on (default 8123; 0: any free port)")
    serve.add_argument("--read-only", action="store_true",
                       help="refuse writes (for dashboards); default: read-write")

    dashboard = commands.add_parser("dashboard", help="serve the dashboard page and its API")
    add_clickhouse(dashboard)
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1: this machine only)")
    dashboard.add_argument("--port", type=port, default=8050,
                           help="port to listen on (default 8050; 0 picks a free one)")

    add_sql(commands)

    campaigns = commands.add_parser("campaigns", help="the campaign registry (SPEC §6)")
    registry = campaigns.add_subparsers(dest="registry_command", required=True,
                                        parser_class=Parser)
    load = registry.add_parser("load", help="validate a CSV/YAML registry file, then upsert it")
    load.add_argument("file", metavar="FILE", help=".csv, .yaml or .yml")
    add_clickhouse(load)
    listing = registry.add_parser("list", help="print the registry")
    listing.add_argument("--format", choices=("table", "csv", "yaml"), default="table",
                         help="table, or a file campaigns load reads back")
    add_clickhouse(listing)

    demo = commands.add_parser("demo", help="write a realistic demo event log (NDJSON) and "
                                            "its campaign registry")
    demo.add_argument("--leads", type=positive_int, default=2000, help="leads to generate")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same log)")
    demo.add_argument("--days", type=positive_int, default=365,
                      help="days of events from 2026-01-01")
    demo.add_argument("--output", default="-", metavar="FILE", help="- for stdout")
    demo.add_argument("--campaigns", metavar="FILE", default=None,
                      help="registry CSV (default: OUTPUT's name with .campaigns.csv; "
                           "none when OUTPUT is -)")
    return parser


def _engine_config(args: argparse.Namespace) -> EngineConfig:
    return EngineConfig.from_text(window=args.window, lookback=args.lookback,
                                  half_life=args.half_life)


def _dsn(args: argparse.Namespace) -> str:
    from sinks.client import default_dsn

    return str(args.clickhouse or default_dsn())


def _topics(args: argparse.Namespace) -> TopicNames:
    return TopicNames.with_prefix(args.topic_prefix)


def worker_settings(args: argparse.Namespace) -> WorkerSettings:
    """The typed settings of ``leadclock worker`` (ConfigError for bad values)."""
    engine = _engine_config(args)
    state_ttl = StateTtl.from_text(args.state_ttl, lookback_us=engine.lookback_us)
    if state_ttl is not None and args.unsafe_memory_state:
        # The TTL sweep deletes through the table's RocksDB partitions.
        msg = "--unsafe-memory-state cannot be combined with --state-ttl"
        raise ConfigError(msg)
    return WorkerSettings(
        brokers=args.brokers, topics=_topics(args), partitions=args.partitions,
        clickhouse=_dsn(args), version=_attribution_version(args), engine=engine,
        state_ttl=state_ttl,
        app_id=args.app_id, data_dir=args.data_dir, instance_id=args.instance_id,
        session_timeout_s=args.session_timeout, metrics_port=args.metrics_port,
        metrics_host=args.metrics_host, dashboard_port=args.dashboard_port,
        dashboard_host=args.dashboard_host,
        progress_every_s=args.progress_every, report_every_s=args.report_every,
        unsafe_auto_ack=args.unsafe_auto_ack, unsafe_memory_state=args.unsafe_memory_state,
        shutdown_timeout_s=args.shutdown_timeout,
        broker_wait_s=args.broker_wait,
    )


def _attribution_version(args: argparse.Namespace) -> int | None:
    """``--attribution-version`` (or its deprecated spellings, with a note)."""
    if args.deprecated_version is not None:
        print(f"{PROG} {args.command}: note: --version N is deprecated, use "
              "--attribution-version N", file=sys.stderr)
        return int(args.attribution_version or args.deprecated_version)
    if os.environ.get(DEPRECATED_ENV) and not os.environ.get(ATTRIBUTION_ENV):
        print(f"{PROG} {args.command}: note: {DEPRECATED_ENV} is deprecated, use "
              f"{ATTRIBUTION_ENV}", file=sys.stderr)
    return int(args.attribution_version) if args.attribution_version else None


def _run(args: argparse.Namespace) -> None:
    """Call the composition root with the typed values of the parsed arguments."""
    from streams import compose

    command = args.command
    if command == "migrate":
        compose.migrate(_dsn(args), cluster=args.cluster, dashboard_role=args.dashboard_role,
                        dashboard_user=args.dashboard_user, dry_run=args.dry_run)
    elif command == "replay":
        from streams.commands.replay import ReplayRequest

        compose.replay(ReplayRequest(
            dsn=_dsn(args), engine=_engine_config(args),
            input_name=None if args.from_topics else args.input,
            version=_attribution_version(args), source=args.source, append=args.append,
            promote=args.promote, brokers=args.brokers, topics=_topics(args),
            processes=args.processes, write_batch=args.write_batch))
    elif command in ("versions", "diff", "promote", "retire"):
        compose.versions_command(command, _dsn(args), vars(args))
    elif command == "worker":
        compose.worker(worker_settings(args))
    elif command == "produce":
        compose.produce(input_name=args.input, brokers=args.brokers, topics=_topics(args),
                        partitions=args.partitions, rate=args.rate)
    elif command == "topics":
        compose.create_topics(brokers=args.brokers, topics=_topics(args),
                              partitions=args.partitions)
    elif command == "status":
        compose.status(brokers=args.brokers, topics=_topics(args), app_id=args.app_id,
                       metrics_url=args.metrics_url)
    elif command == "campaigns" and args.registry_command == "load":
        compose.campaigns_load(_dsn(args), args.file)
    elif command == "campaigns":
        compose.campaigns_list(_dsn(args), args.format)
    elif command == "demo":
        compose.demo(leads=args.leads, seed=args.seed, days=args.days, output=args.output,
                     campaigns=args.campaigns)
    elif command == "serve":
        compose.serve(_dsn(args), host=args.host, port=args.port, read_only=args.read_only)
    elif command == "dashboard":
        compose.dashboard(_dsn(args), host=args.host, port=args.port)
    elif command == "sql":
        compose.sql(_dsn(args), args.statement, args.format)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``leadclock`` console script."""
    args = build_parser().parse_args(argv)
    try:
        _run(args)
    except LeadclockError as error:
        command = " ".join(filter(None, (args.command, getattr(args, "registry_command", ""))))
        print(f"{PROG} {command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
