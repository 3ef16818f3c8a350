"""The ``leadclock`` command line: argument parsing and error reporting only.

Arguments become typed values (``EngineConfig``, ``WorkerSettings``...) and one call into
the composition root (``streams.compose``), which does the work. Every deliberate
failure is a ``LeadclockError`` and is printed as one line with a non-zero exit; bad
arguments get argparse's one-line message (without the usage dump) and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from schemas.exceptions import LeadclockError
from streams.cli_values import env as _env
from streams.cli_values import port as _port
from streams.cli_values import positive_int as _positive_int
from streams.cli_worker import add_worker_options
from streams.engine.config import EngineConfig
from streams.engine.expiry import StateTtl
from streams.faust_app.settings import WorkerSettings
from streams.kafka.topics import TopicNames

PROG = "leadclock"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_clickhouse(parser: argparse.ArgumentParser) -> None:
    from sinks.client import default_dsn

    parser.add_argument(
        "--clickhouse", metavar="DSN", default=None,
        help=("chdb:///abs/path (embedded) or http(s)://user:pass@host:8123/db; default "
              f"$CLICKHOUSE_URL or {default_dsn()}"),
    )


def _add_kafka(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--brokers", default=_env("LEADCLOCK_BROKERS", "localhost:9092"),
                        help="Kafka bootstrap servers (env LEADCLOCK_BROKERS)")
    parser.add_argument("--topic-prefix", default=_env("LEADCLOCK_TOPIC_PREFIX", "leadclock."),
                        help="prefix of the topic names (env LEADCLOCK_TOPIC_PREFIX)")


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", type=_positive_int, dest="attribution_version",
                        default=_env("LEADCLOCK_VERSION", "1"),
                        help="attribution version to write (env LEADCLOCK_VERSION)")
    parser.add_argument("--window", default=_env("LEADCLOCK_WINDOW", "1d"),
                        choices=("1h", "1d", "1w"), help="window size (env LEADCLOCK_WINDOW)")
    parser.add_argument("--lookback", default=_env("LEADCLOCK_LOOKBACK", "90d"),
                        help="attribution lookback, e.g. 90d (env LEADCLOCK_LOOKBACK)")
    parser.add_argument("--half-life", default=_env("LEADCLOCK_HALF_LIFE", "7d"),
                        help="time-decay half-life, e.g. 7d (env LEADCLOCK_HALF_LIFE)")


def build_parser() -> argparse.ArgumentParser:
    """The full command tree (SPEC §5)."""
    parser = _Parser(prog=PROG, description="Event-sourced marketing/sales attribution.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    migrate = commands.add_parser("migrate", help="create/upgrade the ClickHouse schema")
    _add_clickhouse(migrate)
    migrate.add_argument("--cluster", metavar="NAME", default=None,
                         help="replicated tables + Distributed tables ON CLUSTER NAME "
                              "(see docs/deploy.md)")
    migrate.add_argument("--dashboard-role", metavar="NAME", default=None,
                         help="also create a role with SELECT on the public v_* views only")
    migrate.add_argument("--dashboard-user", metavar="NAME", default=None,
                         help="and a user holding only that role; password from env "
                              "LEADCLOCK_DASHBOARD_PASSWORD")
    migrate.add_argument("--dry-run", action="store_true",
                         help="print the DDL instead of applying it")

    worker = commands.add_parser("worker", help="run the Faust streaming job")
    _add_kafka(worker)
    _add_clickhouse(worker)
    _add_engine(worker)
    add_worker_options(worker)

    replay = commands.add_parser("replay", help="re-attribute from a file or the topics")
    source = replay.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="FILE", help="NDJSON event log, - for stdin")
    source.add_argument("--from-topics", action="store_true",
                        help="read the event topics from the beginning to their end")
    _add_clickhouse(replay)
    _add_kafka(replay)
    _add_engine(replay)

    produce = commands.add_parser("produce", help="send an NDJSON file to the event topics")
    produce.add_argument("--input", required=True, metavar="FILE", help="NDJSON, - for stdin")
    produce.add_argument("--rate", type=float, default=0.0,
                         help="events per second (default: as fast as possible)")
    produce.add_argument("--partitions", type=_positive_int,
                         default=_env("LEADCLOCK_PARTITIONS", "4"))
    _add_kafka(produce)

    topics = commands.add_parser("topics", help="create the event and DLQ topics")
    topics.add_argument("--partitions", type=_positive_int,
                        default=_env("LEADCLOCK_PARTITIONS", "4"))
    _add_kafka(topics)

    status = commands.add_parser("status", help="consumer lag per partition, worker metrics")
    _add_kafka(status)
    status.add_argument("--app-id", default=_env("LEADCLOCK_APP_ID", "leadclock"),
                        help="consumer group / Faust app id (env LEADCLOCK_APP_ID)")
    status.add_argument("--metrics-url", default=_env("LEADCLOCK_METRICS_URL", ""),
                        help="a worker's /metrics URL, e.g. http://127.0.0.1:9464/metrics")

    serve = commands.add_parser(
        "serve", help="hold the embedded ClickHouse and share it over HTTP until Ctrl-C")
    _add_clickhouse(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=_port, default=8123,
                       help="port to listen on (default 8123; 0: any free port)")
    serve.add_argument("--read-only", action="store_true",
                       help="refuse writes (for dashboards); default: read-write")

    dashboard = commands.add_parser("dashboard", help="serve the dashboard page and its API")
    _add_clickhouse(dashboard)
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1: this machine only)")
    dashboard.add_argument("--port", type=_port, default=8050,
                           help="port to listen on (default 8050; 0 picks a free one)")

    campaigns = commands.add_parser("campaigns", help="the campaign registry (SPEC §6)")
    registry = campaigns.add_subparsers(dest="registry_command", required=True,
                                        parser_class=_Parser)
    load = registry.add_parser("load", help="validate a CSV/YAML registry file, then upsert it")
    load.add_argument("file", metavar="FILE", help=".csv, .yaml or .yml")
    _add_clickhouse(load)
    listing = registry.add_parser("list", help="print the registry")
    listing.add_argument("--format", choices=("table", "csv", "yaml"), default="table",
                         help="table (default), or a file campaigns load reads back")
    _add_clickhouse(listing)

    demo = commands.add_parser("demo", help="write a realistic demo event log (NDJSON) and "
                                            "its campaign registry")
    demo.add_argument("--leads", type=_positive_int, default=2000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--days", type=_positive_int, default=365,
                      help="days of events from 2026-01-01 (default 365)")
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
    return WorkerSettings(
        brokers=args.brokers, topics=_topics(args), partitions=args.partitions,
        clickhouse=_dsn(args), version=args.attribution_version, engine=engine,
        state_ttl=StateTtl.from_text(args.state_ttl, lookback_us=engine.lookback_us),
        app_id=args.app_id, data_dir=args.data_dir, instance_id=args.instance_id,
        session_timeout_s=args.session_timeout, metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        progress_every_s=args.progress_every, report_every_s=args.report_every,
        unsafe_auto_ack=args.unsafe_auto_ack, shutdown_timeout_s=args.shutdown_timeout,
        broker_wait_s=args.broker_wait,
    )


def _run(args: argparse.Namespace) -> None:
    """Call the composition root with the typed values of the parsed arguments."""
    from streams import compose

    command = args.command
    if command == "migrate":
        compose.migrate(_dsn(args), cluster=args.cluster, dashboard_role=args.dashboard_role,
                        dashboard_user=args.dashboard_user, dry_run=args.dry_run)
    elif command == "replay":
        engine = _engine_config(args)
        compose.replay(dsn=_dsn(args), version=args.attribution_version, engine=engine,
                       input_name=None if args.from_topics else args.input,
                       brokers=args.brokers, topics=_topics(args))
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
