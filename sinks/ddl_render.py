"""Turn the DDL files into the statements to run: single node, or a replicated cluster.

Pure string work over ``schemas/ddl/*.sql`` so that one set of files serves both
deployments and ``--dry-run`` shows exactly what would run. The files use the engine
template ``{replacing}`` and plain table names; the cluster rendering is derived from
them mechanically, so a changed table definition needs no second copy:

* ``CREATE TABLE t (...) ENGINE = X(args) ...`` becomes ``t_local`` with
  ``ReplicatedX('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', args)``,
  plus ``t`` as a ``Distributed`` table over it. Dashboards, views and the sink keep
  using ``t``. The sharding key hashes the sorting key, so all rows that a
  ReplacingMergeTree must collapse land on one shard (``FINAL`` merges per shard only).
* Replicated tables get ``replicated_deduplication_window = 0``: like a single-node
  MergeTree (whose ``non_replicated_deduplication_window`` is 0), every insert lands.
  The views already collapse rewritten rows; block deduplication would only add a way
  to lose data (a block identical to one deleted earlier would be dropped as a retry).
* ``ALTER TABLE t`` runs on ``t_local``; its column clauses also run on ``t``.
* Views keep their text; every statement carries ``ON CLUSTER``.

In both modes every plain view is created ``SQL SECURITY DEFINER``: a role that may
only SELECT from the views (``sinks.access``) could not read them otherwise, since
ClickHouse checks the tables behind an INVOKER view against the reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sinks.exceptions import DdlRenderError

ENGINES = {"replacing": "ReplacingMergeTree"}
"""Values of the engine templates in the DDL files."""
LOCAL_SUFFIX = "_local"
REPLICA_PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
"""Keeper path and replica name of replicated tables (server macros {shard}, {replica})."""
REPLICATED_SETTINGS = "replicated_deduplication_window = 0"
COLUMN_CLAUSES = ("ADD COLUMN", "DROP COLUMN", "MODIFY COLUMN", "RENAME COLUMN",
                  "COMMENT COLUMN")
"""ALTER clauses that change a table's columns: the Distributed table needs them too."""

_NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
_CREATE_TABLE = re.compile(rf"CREATE\s+TABLE\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?{_NAME}\s*\(",
                           re.IGNORECASE)
_CREATE_VIEW = re.compile(
    rf"CREATE\s+(?P<orr>OR\s+REPLACE\s+)?VIEW\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?{_NAME}\s+"
    r"(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_ALTER_TABLE = re.compile(rf"ALTER\s+TABLE\s+{_NAME}\s+(?P<clauses>.*)",
                          re.IGNORECASE | re.DOTALL)
_DROP = re.compile(rf"DROP\s+(?P<kind>TABLE|VIEW)\s+(?P<ie>IF\s+EXISTS\s+)?{_NAME}(\s+SYNC)?\s*$",
                   re.IGNORECASE)
_ENGINE = re.compile(r"\s*ENGINE\s*=\s*(?P<engine>[A-Za-z]+)\s*", re.IGNORECASE)
_ORDER_BY = re.compile(
    r"\bORDER\s+BY\s+(?P<key>.+?)\s*(?=\bPARTITION\s+BY\b|\bPRIMARY\s+KEY\b|\bSAMPLE\s+BY\b"
    r"|\bTTL\b|\bSETTINGS\b|\bCOMMENT\b|$)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement to run, with the DDL file it came from (for error messages)."""

    source: str
    sql: str


def split(text: str) -> list[str]:
    """The statements of one DDL file, full-line comments removed, engines filled in."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    body = "\n".join(lines)
    for name, engine in ENGINES.items():
        body = body.replace("{" + name + "}", engine)
    return [s.strip() for s in body.split(";") if s.strip()]


def single_node(files: Iterable[tuple[str, str]]) -> list[Statement]:
    """What ``leadclock migrate`` runs on one server or on the embedded engine."""
    return [Statement(name, _definer_view(sql))
            for name, text in files for sql in split(text)]


def cluster(files: Iterable[tuple[str, str]], name: str, database: str) -> list[Statement]:
    """The same schema as replicated local tables + Distributed tables, ON CLUSTER ``name``.

    ``database`` is written into the Distributed engines (it must be the one migrated).
    A statement this cannot translate faithfully is an error, never a guess.
    """
    renderer = _ClusterRenderer(_identifier(name, "cluster"), _identifier(database, "database"))
    return [Statement(source, sql)
            for source, text in files for raw in split(text)
            for sql in renderer.render(source, raw)]


def public_views(files: Iterable[tuple[str, str]]) -> list[str]:
    """Names of the views dashboards may read: every ``v_*`` view the DDL leaves in place."""
    views: dict[str, None] = {}
    for _, text in files:
        for sql in split(text):
            if (view := _CREATE_VIEW.match(sql)) and view["name"].startswith("v_"):
                views[view["name"]] = None
            elif (drop := _DROP.match(sql)) and drop["kind"].upper() == "VIEW":
                views.pop(drop["name"], None)
    return sorted(views)


def script(statements: Sequence[Statement]) -> str:
    """Statements as an SQL script, each file introduced by a comment."""
    out: list[str] = []
    source = None
    for statement in statements:
        if statement.source != source:
            source = statement.source
            out.append(f"-- {source}")
        out.append(statement.sql + ";\n")
    return "\n".join(out)


def _identifier(text: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        msg = f"{what} name {text!r} must be letters, digits and underscores"
        raise DdlRenderError(msg)
    return text


def _definer_view(sql: str) -> str:
    """A plain view runs with its creator's rights (see the module docstring)."""
    view = _CREATE_VIEW.match(sql)
    if not view:
        return sql
    head = re.match(r"(.*?)\bAS\b", view["rest"], re.IGNORECASE | re.DOTALL)
    if head is None or re.search(r"\bSQL\s+SECURITY\b", head[1], re.IGNORECASE):
        return sql
    return sql[:view.start("rest")] + "SQL SECURITY DEFINER " + view["rest"]


def closing_paren(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at ``start``, skipping quoted text."""
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    msg = f"unbalanced parentheses in: {text[:80]}"
    raise DdlRenderError(msg)


def top_level_split(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes (ALTER clauses, key columns)."""
    parts: list[str] = []
    depth = 0
    quote = ""
    begin = 0
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[begin:i].strip())
            begin = i + 1
        i += 1
    parts.append(text[begin:].strip())
    return [p for p in parts if p]


class _ClusterRenderer:
    """Renders statements one by one, remembering which tables became local+Distributed."""

    def __init__(self, cluster: str, database: str) -> None:
        self.cluster = cluster
        self.database = database
        self.tables: set[str] = set()

    def render(self, source: str, sql: str) -> list[str]:
        on = f"ON CLUSTER {self.cluster}"
        if match := _CREATE_TABLE.match(sql):
            return self._create_table(sql, match)
        if match := _ALTER_TABLE.match(sql):
            return self._alter_table(source, match)
        if match := _CREATE_VIEW.match(sql):
            view = _definer_view(sql)
            cut = match.start("rest")
            return [f"{view[:cut]}{on} {view[cut:]}"]
        if match := _DROP.match(sql):
            kind, name = match["kind"].upper(), match["name"]
            ie = "IF EXISTS " if match["ie"] else ""
            drops = [f"DROP {kind} {ie}{name} {on} SYNC"]
            if kind == "TABLE" and name in self.tables:
                drops.append(f"DROP TABLE {ie}{name}{LOCAL_SUFFIX} {on} SYNC")
                self.tables.discard(name)
            return drops
        first = sql.splitlines()[0][:80]
        msg = f"{source}: cluster mode cannot translate this statement: {first}"
        raise DdlRenderError(msg)

    def _create_table(self, sql: str, match: re.Match[str]) -> list[str]:
        name = match["name"]
        columns_end = closing_paren(sql, match.end() - 1)
        columns = sql[match.end() - 1:columns_end + 1]
        engine = _ENGINE.match(sql, columns_end + 1)
        if not engine:
            msg = f"table {name}: cluster mode needs an explicit ENGINE"
            raise DdlRenderError(msg)
        kind = engine["engine"]
        if not kind.endswith("MergeTree") or kind.startswith("Replicated"):
            msg = f"table {name}: cluster mode replicates MergeTree engines only, not {kind}"
            raise DdlRenderError(msg)
        position = engine.end()
        args = ""
        if sql.startswith("(", position):
            close = closing_paren(sql, position)
            args = sql[position + 1:close].strip()
            position = close + 1
        tail = sql[position:].strip()
        order = _ORDER_BY.search(tail)
        if not order:
            msg = f"table {name}: cluster mode needs an ORDER BY to derive the sharding key"
            raise DdlRenderError(msg)
        ine = "IF NOT EXISTS " if match["ine"] else ""
        on = f"ON CLUSTER {self.cluster}"
        local = f"{name}{LOCAL_SUFFIX}"
        engine_args = REPLICA_PATH + (f", {args}" if args else "")
        self.tables.add(name)
        return [
            f"CREATE TABLE {ine}{local} {on} {columns}\n"
            f"ENGINE = Replicated{kind}({engine_args}) {_with_settings(tail)}",
            f"CREATE TABLE {ine}{name} {on} AS {local}\n"
            f"ENGINE = Distributed({self.cluster}, {self.database}, {local}, "
            f"{_sharding_key(order['key'])})",
        ]

    def _alter_table(self, source: str, match: re.Match[str]) -> list[str]:
        name = match["name"]
        if name not in self.tables:
            msg = f"{source}: ALTER TABLE {name}: not a table created by the DDL files"
            raise DdlRenderError(msg)
        on = f"ON CLUSTER {self.cluster}"
        clauses = top_level_split(match["clauses"])
        columns = [c for c in clauses
                   if re.sub(r"\s+", " ", c).upper().startswith(COLUMN_CLAUSES)]
        rendered = [f"ALTER TABLE {name}{LOCAL_SUFFIX} {on} " + ",\n    ".join(clauses)]
        if columns:
            rendered.append(f"ALTER TABLE {name} {on} " + ",\n    ".join(columns))
        return rendered


def _with_settings(tail: str) -> str:
    """The table clauses after the engine, with the replicated-table settings added."""
    settings = re.search(r"\bSETTINGS\b", tail, re.IGNORECASE)
    if settings:
        return f"{tail[:settings.end()]} {REPLICATED_SETTINGS},{tail[settings.end():]}"
    comment = re.search(r"\bCOMMENT\s+'", tail, re.IGNORECASE)
    if comment:
        return f"{tail[:comment.start()]}SETTINGS {REPLICATED_SETTINGS} {tail[comment.start():]}"
    return f"{tail} SETTINGS {REPLICATED_SETTINGS}"


def _sharding_key(order_by: str) -> str:
    """A hash of the sorting key: rows with one key always go to the same shard."""
    key = order_by.strip()
    if key.startswith("(") and closing_paren(key, 0) == len(key) - 1:
        key = key[1:-1].strip()
    if not key or key.lower() == "tuple()":
        return "rand()"
    return f"cityHash64({key})"
