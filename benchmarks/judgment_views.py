"""Query time of each SPEC §6 view on a replayed demo log in embedded ClickHouse.

Run from the repository root with the venv's Python::

    .venv/bin/python benchmarks/judgment_views.py [--events 1000000] [--runs 5] [--keep]
    .venv/bin/python benchmarks/judgment_views.py --dsn chdb:///abs/dir   # already loaded

What it does:

1. writes a demo log and its campaign registry (``leadclock demo``) and keeps the
   log's first ``--events`` lines;
2. ``leadclock replay`` into a fresh embedded ClickHouse, then ``leadclock campaigns
   load`` (both as child processes, as a user runs them);
3. opens the database and reads every row of each view (``SELECT *``, the whole result
   fetched), ``--runs`` times, after one warm-up; prints the median and the range.

Times depend on the machine and its load: on a shared machine the ranges are wide.
This is a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import demo_log, leadclock

from sinks.client import connect

VIEWS = ("v_clock", "v_campaign_scorecard", "v_model_comparison", "v_revenue_lag",
         "v_lead_clock", "v_revenue_projection")


def prepare(workdir: Path, events: int) -> str:
    """Generate, replay and register the demo; return the database's DSN."""
    log, registry = demo_log(workdir, events)
    dsn = f"chdb://{workdir / 'clickhouse'}"
    started = time.perf_counter()
    subprocess.run([leadclock(), "replay", "--input", str(log), "--clickhouse", dsn],
                   check=True)
    print(f"replay of {events:,} events: {time.perf_counter() - started:.1f} s", flush=True)
    subprocess.run([leadclock(), "campaigns", "load", str(registry),
                    "--clickhouse", dsn], check=True)
    return dsn


def time_views(dsn: str, runs: int) -> None:
    """Print each view's median query time (whole result fetched) over ``runs`` runs."""
    client = connect(dsn)
    accepted = client.query("SELECT sum(accepted) FROM v_ingest_accounting").result_rows[0][0]
    print(f"\n{accepted:,} accepted events; median of {runs} runs after one warm-up\n")
    print(f"{'view':<24} {'rows':>8} {'median':>9} {'min':>9} {'max':>9}")
    for view in VIEWS:
        if not client.command(f"EXISTS TABLE {view}"):
            print(f"{view:<24} (not in this database)")
            continue
        rows = len(client.query(f"SELECT * FROM {view}").result_rows)  # warm-up
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            client.query(f"SELECT * FROM {view}")
            seconds.append(time.perf_counter() - started)
        print(f"{view:<24} {rows:>8,} {statistics.median(seconds):>8.3f}s "
              f"{min(seconds):>8.3f}s {max(seconds):>8.3f}s", flush=True)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dsn", default=None,
                        help="time an already loaded database instead of building one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.dsn:
        time_views(args.dsn, args.runs)
        return
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-judgment-"))
    try:
        time_views(prepare(workdir, args.events), args.runs)
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
