"""Fingerprint what ``leadclock replay`` writes, to check an optimisation changed nothing.

    .venv/bin/python benchmarks/replay_fingerprint.py LOG.ndjson OUT.json

replays ``LOG`` into a fresh embedded ClickHouse directory and writes every delta table
and view (rows sorted, wall-clock columns left out) to ``OUT``; two runs agree iff the
two outputs are byte-identical (``cmp before.json after.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import clickhouse_connect
import orjson

QUERIES = {
    "reach_deltas": "SELECT * FROM reach_deltas ORDER BY ALL",
    "stage_deltas": "SELECT * FROM stage_deltas ORDER BY ALL",
    "credit_deltas": "SELECT * FROM credit_deltas ORDER BY ALL",
    "rejected_events": "SELECT * EXCEPT rejected_at FROM rejected_events ORDER BY ALL",
    "v_marketing_reach": "SELECT * FROM v_marketing_reach ORDER BY ALL",
    "v_lead_stages": "SELECT * FROM v_lead_stages ORDER BY ALL",
    "v_attribution": "SELECT * FROM v_attribution ORDER BY ALL",
    "v_attribution_credits": "SELECT * FROM v_attribution_credits ORDER BY ALL",
}


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
        for name, query in QUERIES.items():
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
