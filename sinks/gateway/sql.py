"""What one HTTP request asks of the engine: pure parsing of the ClickHouse HTTP interface.

Kept free of I/O so every rule (which URL parameters are settings, where settings go,
which statements return rows, where an insert's data starts) is testable on its own.
The rules follow the server's HTTP handler where leadclock's clients need them, and the
choices clickhouse-connect's own chdb backend makes for the same engine.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from clickhouse_connect.driver._backend.chdb_backend import CHDB_TRANSPORT_SETTINGS

from sinks.gateway.exceptions import GatewayError

# Parameters the HTTP layer itself consumes. They are real server settings or transport
# switches, but applying them to the engine would be meaningless (or, for unknown ones,
# an error), and forcing them through would cost a SET/restore per command.
TRANSPORT_PARAMS = CHDB_TRANSPORT_SETTINGS | {
    "query", "default_format", "user", "password", "stacktrace", "add_http_cors_header",
    "cancel_http_readonly_queries_on_client_close", "max_query_size_for_http",
}
# Settings ClickHouse applies only to its HTTP transport (compression, progress headers,
# response buffering): the gateway has its own transport, so these are dropped.
_HTTP_ONLY_PREFIX = "http_"
# ClickHouse's own compressed-block framing (``compress=1`` / ``decompress=1``), which
# clickhouse-go and the Grafana plugin use for LZ4/ZSTD: not spoken here (say so clearly).
NATIVE_COMPRESSION_PARAMS = ("compress", "decompress")

DEFAULT_FORMAT = "TabSeparated"
INSERT_HEAD_LIMIT = 64 * 1024
"""Bytes of a request body searched for an ``INSERT ... FORMAT`` header."""

_SETTING_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/|\()*", re.S)
_WORD = re.compile(r"[A-Za-z]+")
_TRAILING_FORMAT = re.compile(
    r"\bFORMAT\s+(\w+)(?:\s+SETTINGS\s+[^;]*?)?\s*;?\s*\Z", re.I | re.S)
_INTO_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.I)
_IDENT = rb"(?:`[^`]+`|\"[^\"]+\"|\w+)"
_INSERT_HEAD = re.compile(
    rb"\A\s*INSERT\s+INTO\s+(?P<target>(?:TABLE\s+)?" + _IDENT + rb"(?:\." + _IDENT + rb")?)"
    rb"\s*(?P<columns>\([^()]*\))?"
    rb"(?:\s+SETTINGS\s+(?P<settings>.+?))?"
    rb"\s+FORMAT\s+(?P<format>\w+)[ \t]*(?:\r?\n|\Z)", re.I | re.S)


class Kind(enum.Enum):
    """How a statement is run and answered."""

    SELECT = "select"    # rows; per-request settings ride as a SETTINGS clause
    READ = "read"        # rows (SHOW, DESCRIBE, EXISTS, EXPLAIN...), no clause possible
    SESSION = "session"  # SET / USE: checked, but HTTP is sessionless, so no lasting state
    WRITE = "write"      # DDL, INSERT ... VALUES/SELECT, OPTIMIZE...: no rows


_KINDS = {"SELECT": Kind.SELECT, "WITH": Kind.SELECT, "SHOW": Kind.READ,
          "DESCRIBE": Kind.READ, "DESC": Kind.READ, "EXISTS": Kind.READ,
          "EXPLAIN": Kind.READ, "CHECK": Kind.READ, "SET": Kind.SESSION, "USE": Kind.SESSION}


@dataclass(frozen=True, slots=True)
class Options:
    """The non-SQL part of a request: database, formats, bound parameters, settings."""

    database: str
    default_format: str
    query_id: str
    params: Mapping[str, str]
    settings: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class InsertHead:
    """``INSERT INTO target (columns) [SETTINGS ...] FORMAT fmt`` whose data follows."""

    target: str
    columns: str
    settings: str
    format: str
    data_offset: int

    def from_file(self, path: str, settings: Mapping[str, str]) -> str:
        """The same insert reading its data from ``path`` (how chdb takes a payload)."""
        clauses = [part for part in (self.settings, settings_clause(settings)) if part]
        with_settings = f" SETTINGS {', '.join(clauses)}" if clauses else ""
        columns = f" {self.columns}" if self.columns else ""
        return (f"INSERT INTO {self.target}{columns} FROM INFILE {quote_string(path)}"
                f"{with_settings} FORMAT {self.format}")


def options(params: Mapping[str, str], headers: Mapping[str, str], query_id: str) -> Options:
    """Split request parameters into database, formats, ``param_*`` and settings."""
    for name in NATIVE_COMPRESSION_PARAMS:
        if params.get(name, "0") not in ("", "0"):
            raise GatewayError.of(48, "NOT_IMPLEMENTED",
                                  f"{name}=1 (ClickHouse block compression) is not supported "
                                  "by the leadclock gateway; use HTTP compression or none")
    bound = {name[6:]: value for name, value in params.items() if name.startswith("param_")}
    settings = {name: value for name, value in params.items()
                if not name.startswith(("param_", _HTTP_ONLY_PREFIX))
                and name not in TRANSPORT_PARAMS}
    for name in settings:
        if not _SETTING_NAME.match(name):
            raise GatewayError.of(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
    return Options(
        database=params.get("database") or headers.get("X-ClickHouse-Database") or "default",
        default_format=(params.get("default_format") or headers.get("X-ClickHouse-Format")
                        or DEFAULT_FORMAT),
        query_id=params.get("query_id") or query_id,
        params=bound,
        settings=settings,
    )


def kind_of(sql: str) -> Kind:
    """The statement's kind, from its first keyword (after comments and parentheses)."""
    start = _NOISE.match(sql)
    word = _WORD.match(sql, start.end() if start else 0)
    return _KINDS.get(word.group(0).upper(), Kind.WRITE) if word else Kind.WRITE


def result_format(sql: str, default: str) -> str:
    """The format rows come back in: the statement's own FORMAT clause wins."""
    match = _TRAILING_FORMAT.search(sql)
    return match.group(1) if match else default


def check_read_only(sql: str, kind: Kind) -> None:
    """Refuse what a read-only request may not do (the engine enforces it too)."""
    if kind is Kind.WRITE or _INTO_OUTFILE.search(sql):
        raise GatewayError.of(164, "READONLY",
                              "Cannot execute query in readonly mode: this request is "
                              "read-only (GET, or a gateway started read-only)")


def with_settings_clause(sql: str, settings: Mapping[str, str]) -> str:
    """A SELECT with per-request settings appended as a trailing SETTINGS clause."""
    if not settings:
        return sql
    return f"{sql.rstrip().rstrip(';').rstrip()}\nSETTINGS {settings_clause(settings)}"


def parse_insert(text: bytes, complete: bool) -> InsertHead | None:
    """The insert header at the start of ``text``, if it is one whose data follows.

    ``complete`` says ``text`` is all there is; otherwise a header ending exactly at the
    end of ``text`` may still be cut short, so it is not trusted.
    """
    match = _INSERT_HEAD.match(text)
    if match is None:
        return None
    if not complete and match.end() == len(text) and not text.endswith(b"\n"):
        return None
    columns, settings = match.group("columns"), match.group("settings")
    return InsertHead(target=match.group("target").decode(),
                      columns=columns.decode() if columns else "",
                      settings=settings.decode().strip() if settings else "",
                      format=match.group("format").decode(), data_offset=match.end())


def may_be_insert(text: bytes) -> bool:
    """True if ``text`` starts like an INSERT (worth waiting for the rest of its header)."""
    return text.lstrip()[:6].upper() == b"INSERT"


def settings_clause(settings: Mapping[str, str]) -> str:
    """``name = 'value', ...``; values quoted (the engine converts them to the type)."""
    return ", ".join(f"{name} = {quote_string(value)}" for name, value in settings.items())


def set_statements(settings: Mapping[str, str]) -> list[str]:
    """The same settings as SET statements, for statements that take no clause."""
    return [f"SET {name} = {quote_string(value)}" for name, value in settings.items()]


def quote_string(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
