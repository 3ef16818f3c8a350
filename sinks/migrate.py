"""``leadclock migrate``: apply the versioned DDL files, idempotently, on any backend.

DDL lives in ``schemas/ddl/NNN_name.sql`` (part of the contract, SPEC §1). Every
statement is written to be re-runnable (``IF NOT EXISTS``, ``CREATE OR REPLACE VIEW``),
so migrating twice is harmless and a
new file only adds. Table engines are a template parameter (``{replacing}``) so that a
cluster deployment can substitute Replicated engines without editing statements.
"""

from __future__ import annotations

from importlib import resources

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from sinks.exceptions import MigrationError

ENGINES = {"replacing": "ReplacingMergeTree"}


def ddl_files() -> list[tuple[str, str]]:
    """(name, text) of every DDL file, in apply order."""
    folder = resources.files("schemas") / "ddl"
    return sorted(
        (item.name, item.read_text(encoding="utf-8"))
        for item in folder.iterdir()
        if item.name.endswith(".sql")
    )


def statements(text: str) -> list[str]:
    """Split a DDL file into statements, with the engine template filled in."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    body = "\n".join(lines)
    for name, engine in ENGINES.items():
        body = body.replace("{" + name + "}", engine)
    return [s.strip() for s in body.split(";") if s.strip()]


def migrate(client: Client) -> list[str]:
    """Apply every DDL file; return the names applied. Seeds version 1 as current."""
    applied = []
    for name, text in ddl_files():
        for statement in statements(text):
            try:
                client.command(statement)
            except ClickHouseError as error:
                first = str(error).strip().splitlines()[0]
                msg = f"{name}: {first}"
                raise MigrationError(msg) from error
        applied.append(name)
    if not client.command("SELECT count() FROM current_version"):
        client.command(
            "INSERT INTO current_version VALUES (0, 1, toDateTime64('1970-01-01', 3, 'UTC'))"
        )
    return applied
