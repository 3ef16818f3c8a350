"""The ``leadclock`` argument tree (SPEC §5): every command, flag, default and env variable.

Each flag's help shows its default (``--help``); values that come from the environment
say which variable. ``streams.cli`` turns the parsed namespace into typed values.
"""

from __future__ import annotations

import argparse
import os
from importlib import metadata
from typing import Any, NoReturn

from streams.cli_values import env, positive_int

PROG = "leadclock"
ATTRIBUTION_ENV = "LEADCLOCK_ATTRIBUTION_VERSION"
DEPRECATED_ENV = "LEADCLOCK_VERSION"


class _Formatter(argparse.HelpFormatter):
    """Adds ``(default: X)`` to every flag that has a default its help does not state."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or "required" in text or not action.option_strings:
            return text
        if default is False:  # a switch
            return f"{text} (default: off)"
        if default is None or default is argparse.SUPPRESS:
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error instead of usage + error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print one line (not the usage) and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def default_brokers() -> str:
    """``LEADCLOCK_BROKERS``, else the local broker's port (``KAFKA_PORT``, 9092)."""
    return os.environ.get("LEADCLOCK_BROKERS") or f"localhost:{env('KAFKA_PORT', '9092')}"


def program_version() -> str:
    """The installed package's version (package metadata)."""
    try:
        return metadata.version("leadclock")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def add_clickhouse(parser: argparse.ArgumentParser) -> None:
    """``--clickhouse DSN``."""
    from sinks.client import default_dsn

    parser.add_argument(
        "--clickhouse", metavar="DSN", default=None,
        help=("chdb:///abs/path (embedded) or http(s)://user:pass@host:8123/db; default "
              f"$CLICKHOUSE_URL or {default_dsn()}"))


def add_kafka(parser: argparse.ArgumentParser) -> None:
    """``--brokers`` and ``--topic-prefix``."""
    parser.add_argument("--brokers", default=default_brokers(),
                        help="Kafka bootstrap servers (env LEADCLOCK_BROKERS; else "
                             "localhost:$KAFKA_PORT)")
    parser.add_argument("--topic-prefix", default=env("LEADCLOCK_TOPIC_PREFIX", "leadclock."),
                        help="prefix of the topic names (env LEADCLOCK_TOPIC_PREFIX)")


def add_engine(parser: argparse.ArgumentParser, *, version_help: str) -> None:
    """The attribution version and the engine configuration."""
    from_env = os.environ.get(ATTRIBUTION_ENV) or os.environ.get(DEPRECATED_ENV)
    parser.add_argument("--attribution-version", type=positive_int, metavar="N",
                        dest="attribution_version", default=from_env,
                        help=f"attribution version to write (env {ATTRIBUTION_ENV}); "
                             f"default: {version_help}")
    # Deprecated spelling, kept so existing scripts work; `leadclock --version` is the
    # program's version now.
    parser.add_argument("--version", type=positive_int, dest="deprecated_version",
                        default=None, help=argparse.SUPPRESS)
    parser.add_argument("--window", default=env("LEADCLOCK_WINDOW", "1d"),
                        choices=("1h", "1d", "1w"), help="window size (env LEADCLOCK_WINDOW)")
    parser.add_argument("--lookback", default=env("LEADCLOCK_LOOKBACK", "90d"),
                        help="attribution lookback, e.g. 90d (env LEADCLOCK_LOOKBACK)")
    parser.add_argument("--half-life", default=env("LEADCLOCK_HALF_LIFE", "7d"),
                        help="time-decay half-life, e.g. 7d (env LEADCLOCK_HALF_LIFE)")


def add_replay(commands: Any) -> None:
    """``leadclock replay``."""
    from streams.commands.replay import default_processes

    replay = commands.add_parser("replay", help="re-attribute from a file or the topics")
    source = replay.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="FILE",
                        help="NDJSON event log, - for stdin (required: this or --from-topics)")
    source.add_argument("--from-topics", action="store_true",
                        help="read the event topics from their beginning to their end now "
                             "(required: this or --input)")
    add_clickhouse(replay)
    add_kafka(replay)
    add_engine(replay, version_help="the next unused one (or the interrupted replay of the "
                                    "same source, which is resumed)")
    replay.add_argument("--append", action="store_true",
                        help="merge this log into a version that already holds data (the "
                             "result equals one replay of all its logs together); default: "
                             "a version that holds data is refused")
    replay.add_argument("--promote", action="store_true",
                        help="make the version current when the replay succeeds; default: "
                             "only the first version of a database becomes current by itself")
    replay.add_argument("--source", metavar="NAME", default=None,
                        help="name the input in the ledger and the version's sources "
                             "(file:NAME@SHA256-PREFIX); default: the file's name, or stdin")
    replay.add_argument("--write-batch", type=positive_int, default=50_000, metavar="N",
                        help="leads plus ledger rows per ClickHouse write (lower: less memory)")
    replay.add_argument("--processes", type=positive_int, default=None, metavar="N",
                        help="processes folding leads in parallel; default: one per core "
                             f"({default_processes()} here) for a log of 300,000 messages or "
                             "48 MiB and more, else 1")


def add_versions(commands: Any) -> None:
    """``versions``, ``diff``, ``promote``, ``retire``."""
    versions = commands.add_parser("versions", help="list attribution versions")
    add_clickhouse(versions)
    versions.add_argument("--offsets", action="store_true",
                          help="also list each version's recorded offsets per partition")
    diff = commands.add_parser("diff", help="what moves between two versions")
    diff.add_argument("a", type=positive_int, metavar="A", help="the version to compare from")
    diff.add_argument("b", type=positive_int, metavar="B", help="the version to compare to")
    diff.add_argument("--limit", type=positive_int, default=20,
                      help="rows shown per table, largest moves first")
    add_clickhouse(diff)
    promote = commands.add_parser("promote", help="make a version current (one statement)")
    promote.add_argument("version", type=positive_int, metavar="N", help="the version")
    add_clickhouse(promote)
    retire = commands.add_parser("retire", help="drop a version's data (not the current one)")
    retire.add_argument("version", type=positive_int, metavar="N", help="the version")
    add_clickhouse(retire)


def add_sql(commands: Any) -> None:
    """``leadclock sql``."""
    sql = commands.add_parser("sql", help="run one read-only query (SELECT, WITH, SHOW, "
                                          "DESCRIBE...) over the views and print the result")
    sql.add_argument("statement", metavar="SQL",
                     help="the statement, e.g. \"SELECT * FROM v_campaign_scorecard\"; - "
                          "reads it from stdin")
    sql.add_argument("--format", choices=("table", "csv", "tsv", "json"), default="table",
                     help="table (aligned, for people), csv (RFC 4180, header row), tsv "
                          "(ClickHouse TabSeparatedWithNames) or json")
    add_clickhouse(sql)


def base_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The top-level parser and its sub-command registry."""
    parser = Parser(prog=PROG, description="Event-sourced marketing/sales attribution.")
    parser.add_argument("--version", action="version",
                        version=f"{PROG} {program_version()}",
                        help="print the program's version and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    return parser, commands
