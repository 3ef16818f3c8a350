"""Fingerprint what ``leadclock replay`` writes, to check an optimisation changed nothing.

    .venv/bin/python benchmarks/replay_fingerprint.py LOG.ndjson OUT.json

replays ``LOG`` into a fresh embedded ClickHouse directory and writes every view and
every MergeTree table (rows sorted, FINAL; wall-clock columns, i.e. ``DateTime64(3)``
ones, left out) to ``OUT``; two runs agree iff the two outputs are byte-identical
(``cmp before.json after.json``). Tables and views are discovered, not listed, so the
script works across schema versions (compare runs of the same schema only).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson


def queries(client: Any) -> dict[str, str]:
    """One deterministic SELECT per view and per MergeTree table of the database."""
    objects = client.query(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase()"
        " ORDER BY name"
    ).result_rows
    result = {}
    for name, engine in objects:
        if engine == "View":
            result[name] = f"SELECT * FROM {name} ORDER BY ALL"
        elif "MergeTree" in engine:
            columns = [
                column for column, kind in client.query(
                    f"SELECT name, type FROM system.columns WHERE database = currentDatabase()"
                    f" AND table = '{name}' ORDER BY position"
                ).result_rows
                if not str(kind).startswith("DateTime64(3")
            ]
            result[name] = f"SELECT {', '.join(columns)} FROM {name} FINAL ORDER BY ALL"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-fp-"))
    try:
        dsn = f"chdb://{workdir}"
        subprocess.run([str(Path(sys.executable).parent / "leadclock"), "replay", "--input",
                        str(args.log), "--clickhouse", dsn], check=True)
        client = clickhouse_connect.get_client(dsn=dsn)
        result = {}
        for name, query in queries(client).items():
            rows = client.query(query).result_rows
            result[name] = [[str(value) for value in row] for row in rows]
        client.close()
        data = orjson.dumps(result, option=orjson.OPT_INDENT_2)
        args.out.write_bytes(data)
        sizes = ", ".join(f"{name} {len(rows)}" for name, rows in result.items())
        print(f"{args.out}: sha256 {hashlib.sha256(data).hexdigest()[:16]} ({sizes})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
