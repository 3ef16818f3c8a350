"""The layout's rules (docs/architecture.md), checked on the source: one-way imports,
small modules, and a docstring saying what each module is for."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "streams", "sinks")
MAX_LINES = 300
STDLIB = frozenset(sys.stdlib_module_names)

# What each room may import besides the standard library (module prefixes).
ALLOWED = {
    "schemas": {"schemas", "orjson", "iso4217", "yaml"},
    "streams.engine": {"schemas", "streams.engine", "orjson"},
    "sinks": {"schemas", "sinks", "streams.engine", "clickhouse_connect", "orjson",
              "aiohttp", "multidict", "chdb"},
    "streams.kafka": {"schemas", "streams.exceptions", "streams.engine", "streams.kafka",
                      "kafka", "orjson", "prometheus_client"},
    "streams.faust_app": {"schemas", "streams.exceptions", "streams.engine", "streams.kafka",
                          "streams.faust_app", "faust", "aiokafka", "mode",
                          "prometheus_client"},
    "streams.web": {"schemas", "streams.web", "aiohttp", "clickhouse_connect", "orjson"},
}
# And what it must never import, whatever the list above says (the arrows).
FORBIDDEN = {
    "streams.engine": {"sinks", "streams.faust_app", "streams.kafka", "streams.compose",
                       "streams.cli", "faust", "kafka", "aiokafka", "clickhouse_connect"},
    "sinks": {"streams.faust_app", "streams.kafka", "streams.compose", "streams.cli",
              "streams.web"},
    "streams.web": {"sinks", "streams.faust_app", "streams.kafka", "streams.compose",
                    "streams.cli"},
    "schemas": {"streams", "sinks"},
}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.add(node.module or "")
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, prefixes: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _room(module: str) -> str | None:
    rooms = sorted((r for r in ALLOWED if _within(module, {r})), key=len, reverse=True)
    return rooms[0] if rooms else None


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_one_way(module: str, path: Path) -> None:
    room = _room(module)
    imports = {name for name in _imports(path) if name.split(".")[0] not in STDLIB}
    imports.discard("__future__")
    for forbidden_room, forbidden in FORBIDDEN.items():
        if _within(module, {forbidden_room}):
            bad = sorted(n for n in imports if _within(n, forbidden))
            assert not bad, f"{module} imports {bad}, against docs/architecture.md"
    if room is not None:
        bad = sorted(n for n in imports if not _within(n, ALLOWED[room]))
        assert not bad, f"{module} ({room}) imports {bad}, outside its room's arrows"


def test_the_engine_needs_neither_faust_nor_kafka_nor_clickhouse_at_runtime() -> None:
    """Importing the whole engine loads none of the shells' libraries."""
    import subprocess

    code = ("import sys, importlib, pkgutil, streams.engine as e\n"
            "[importlib.import_module(m.name) for m in pkgutil.iter_modules(e.__path__, "
            "'streams.engine.')]\n"
            "print(sorted(m for m in ('faust', 'kafka', 'aiokafka', 'clickhouse_connect', "
            "'sinks', 'streams.faust_app', 'streams.kafka') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_modules_are_small_and_say_what_they_are_for(module: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines (> {MAX_LINES}): split it"
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring, f"{module} has no module docstring"
    assert docstring.splitlines()[0].strip(), f"{module}: docstring starts with a blank line"
