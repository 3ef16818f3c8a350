"""The ``leadclock`` command line: argument parsing and error reporting only.

Each subcommand is a thin function over the modules that do the work. Every deliberate
failure is a ``LeadclockError`` and is printed as one line with a non-zero exit; bad
arguments get argparse's one-line message (without the usage dump) and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, NoReturn

from schemas.exceptions import LeadclockError
from streams.config import EngineConfig
from streams.exceptions import InputError
from streams.topics import TopicNames

PROG = "leadclock"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"{text!r} is not a positive integer"
        raise argparse.ArgumentTypeError(msg)
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        msg = f"{text!r} is not a port number (0-65535)"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The full command tree (SPEC §5)."""
    parser = _Parser(prog=PROG, description="Event-sourced marketing/sales attribution.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    migrate = commands.add_parser("migrate", help="create/upgrade the ClickHouse schema")
    _add_clickhouse(migrate)

    worker = commands.add_parser("worker", help="run the Faust streaming job")
    _add_kafka(worker)
    _add_clickhouse(worker)
    _add_engine(worker)
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
                        help="serve Prometheus /metrics on 127.0.0.1:PORT (0: off)")
    worker.add_argument("--progress-every", type=float, default=5.0, metavar="SECONDS",
                        help="print a progress line every N seconds")
    worker.add_argument("--unsafe-auto-ack", action="store_true",
                        help="benchmarking only: ack messages before their effect is in "
                             "ClickHouse (loses the exactly-once effect on a crash)")
    worker.add_argument("--report-every", type=float, default=0.0, metavar="SECONDS",
                        help="print per-campaign results every N seconds (0: never)")

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

    dashboard = commands.add_parser("dashboard", help="serve the dashboard page and its API")
    _add_clickhouse(dashboard)
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1: this machine only)")
    dashboard.add_argument("--port", type=_port, default=8050,
                           help="port to listen on (default 8050; 0 picks a free one)")

    demo = commands.add_parser("demo", help="write a realistic demo event log (NDJSON)")
    demo.add_argument("--leads", type=_positive_int, default=2000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--output", default="-", metavar="FILE", help="- for stdout")
    return parser


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def _open_input(name: str) -> Iterator[IO[bytes]]:
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(name).open("rb")
    except OSError as error:
        msg = f"cannot read {name}: {error.strerror}"
        raise InputError(msg) from error
    with handle:
        yield handle


def _engine_config(args: argparse.Namespace) -> EngineConfig:
    return EngineConfig.from_text(window=args.window, lookback=args.lookback,
                                  half_life=args.half_life)


def _dsn(args: argparse.Namespace) -> str:
    from sinks.client import default_dsn

    return str(args.clickhouse or default_dsn())


def cmd_migrate(args: argparse.Namespace) -> None:
    """Apply the DDL."""
    from sinks.client import connect, redact
    from sinks.migrate import migrate

    applied = migrate(connect(_dsn(args)))
    _say(f"migrate: {redact(_dsn(args))} is up to date ({', '.join(applied)})")


def cmd_replay(args: argparse.Namespace) -> None:
    """Replay a file (or the topics) through the engine into ClickHouse."""
    from sinks.client import connect
    from sinks.migrate import migrate
    from sinks.sink import LeadSink
    from sinks.versions import ensure_version
    from streams.replay import file_records, replay
    from streams.topic_reader import topic_records

    config = _engine_config(args)
    with ExitStack() as stack:
        if args.from_topics:
            topics = TopicNames.with_prefix(args.topic_prefix)
            records = topic_records(args.brokers, topics)
        else:
            handle = stack.enter_context(_open_input(args.input))
            source = "file:stdin" if args.input == "-" else f"file:{Path(args.input).name}"
            records = file_records(handle, source)
        client = connect(_dsn(args))
        migrate(client)
        ensure_version(client, args.attribution_version, config.describe())
        sink = LeadSink(client, args.attribution_version, config, max_pending=50_000,
                        max_age_s=float("inf"))
        stats = replay(records, sink, progress=_say, keyed=args.from_topics)
    _say(f"replay: {stats.line()}")


def cmd_produce(args: argparse.Namespace) -> None:
    """Send a file to the topics."""
    from streams.kafka_admin import ensure_topics
    from streams.produce import produce

    topics = TopicNames.with_prefix(args.topic_prefix)
    ensure_topics(args.brokers, (*topics.events, topics.dlq), args.partitions)
    with _open_input(args.input) as handle:
        sent = produce(handle, args.brokers, topics, progress=_say, rate=args.rate)
    _say(f"produce: {sent:,} events sent to {args.brokers}")


def cmd_topics(args: argparse.Namespace) -> None:
    """Create the topics."""
    from streams.kafka_admin import ensure_topics

    topics = TopicNames.with_prefix(args.topic_prefix)
    ensure_topics(args.brokers, (*topics.events, topics.dlq), args.partitions)
    _say(f"topics: {', '.join((*topics.events, topics.dlq))} ready "
         f"({args.partitions} partitions)")


def cmd_status(args: argparse.Namespace) -> None:
    """Print lag (and worker metrics when a URL is given)."""
    from streams.status import lag_table, worker_metrics

    topics = TopicNames.with_prefix(args.topic_prefix)
    print(f"consumer group {args.app_id} on {args.brokers}")
    print(lag_table(args.brokers, args.app_id, topics.events))
    if args.metrics_url:
        print(worker_metrics(args.metrics_url))


def cmd_demo(args: argparse.Namespace) -> None:
    """Write the demo dataset."""
    from streams.demo import generate

    lines = generate(args.leads, seed=args.seed)
    if args.output == "-":
        out = sys.stdout.buffer
        for line in lines:
            out.write(line + b"\n")
        out.flush()
        return
    try:
        with Path(args.output).open("wb") as handle:
            for line in lines:
                handle.write(line + b"\n")
    except OSError as error:
        msg = f"cannot write {args.output}: {error.strerror}"
        raise InputError(msg) from error


def cmd_dashboard(args: argparse.Namespace) -> None:
    """Serve the dashboard page until interrupted."""
    from streams.web.server import serve

    serve(_dsn(args), args.host, args.port)


def cmd_worker(args: argparse.Namespace) -> None:
    """Run the Faust worker until interrupted."""
    from streams.worker import run_worker

    run_worker(args, _engine_config(args), _dsn(args))


COMMANDS = {
    "migrate": cmd_migrate,
    "replay": cmd_replay,
    "produce": cmd_produce,
    "topics": cmd_topics,
    "demo": cmd_demo,
    "status": cmd_status,
    "worker": cmd_worker,
    "dashboard": cmd_dashboard,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``leadclock`` console script."""
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except LeadclockError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
