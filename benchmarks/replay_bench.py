"""Replay benchmark: a generated log through ``leadclock replay --input`` into chdb.

Run from the repository root (with the venv's Python, or any Python that can import
orjson and has ``leadclock`` next to it)::

    .venv/bin/python benchmarks/replay_bench.py [--events 1000000] [--keep] [--profile]

What it does, in one run:

1. generates a demo log (``leadclock demo``, ~5.4 events per lead) and keeps its first
   ``--events`` lines, so the log has exactly that many events;
2. times a bare decode loop over the same file (read lines + ``orjson.loads`` each,
   best of 3), the floor any Python replay can reach;
3. times, in this process and writing nothing, the steps any replay with leadclock's
   engine takes between that loop and ClickHouse (``_replay_floors.py``: validate,
   fold by lead, contributions, row layout), each against the bare loop;
4. runs ``leadclock replay --input FILE --clickhouse chdb://TMP --processes N`` as a
   child process into a fresh embedded ClickHouse directory, for each N of
   ``--processes`` (default 1 and 2), and reports its wall time, events/s, peak RSS
   (the child's own ``VmHWM``, ``_peak_rss.py``) and the per-phase times the replay prints
   (read+validate, engine fold, ClickHouse write);
5. checks the row counts landed, and prints the ratio replay time / bare decode time.

``--json PATH`` also writes the figures as JSON (read by ``run_all.py``).
``--profile`` runs the replay under pyinstrument instead and prints the top of its
profile (the timing numbers are then inflated by the profiler). ``--keep`` keeps the
temporary directory (log, ClickHouse data, profile) and prints its path. This is a
benchmark, not a test: the goal (≥ 100 k events/s on one core) is reported, not asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from _common import BIN, leadclock
from _peak_rss import PeakRss
from _replay_floors import Floors, measure

EVENTS_PER_LEAD = 5.4  # what streams/demo.py generates on average
GOAL_EVENTS_PER_S = 100_000
PHASES_RE = re.compile(
    r"read\+validate ([0-9.]+)s, engine fold ([0-9.]+)s, clickhouse write ([0-9.]+)s"
)


@dataclass
class ChildRun:
    seconds: float
    max_rss_kib: int
    user_s: float
    sys_s: float
    stderr: str


def run_child(argv: list[str]) -> ChildRun:
    """Run ``argv`` and return its wall time and its own rusage (not our other children)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        peak = PeakRss(process.pid)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        peak_kib = peak.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", errors="replace")
    if process.returncode != 0:
        sys.stderr.write(stderr)
        raise SystemExit(f"{argv[0]} exited with {process.returncode}")
    # The child's own peak (_peak_rss.py says why not ru_maxrss, KiB on Linux too).
    return ChildRun(seconds, peak_kib if peak_kib is not None else usage.ru_maxrss,
                    usage.ru_utime, usage.ru_stime, stderr)


def generate(path: Path, events: int) -> int:
    """The first ``events`` lines of the dense synthetic load (``streams.demo``).

    Not ``leadclock demo``: its calendar-year demo has fewer events per lead, and the
    figures stay comparable with earlier runs on the same load as worker_bench.
    """
    from streams.demo import generate as dense

    leads = math.ceil(events / EVENTS_PER_LEAD * 1.03) + 10
    written = 0
    with path.open("wb") as dst:
        for line in dense(leads):
            if written == events:
                break
            dst.write(line if line.endswith(b"\n") else line + b"\n")
            written += 1
    if written < events:
        raise SystemExit(f"the generator gave {written:,} events, fewer than {events:,}")
    return written


def bare_decode(path: Path, runs: int = 3) -> tuple[float, int]:
    """The floor: read every line and orjson-decode it, nothing else; the best of ``runs``.

    The best, not the median: it is a floor, and one pass over 200 k lines takes a
    tenth of a second, short enough for a scheduler hiccup to double it.
    """
    loads = orjson.loads
    best, count = float("inf"), 0
    for _ in range(runs):
        count = 0
        started = time.perf_counter()
        with path.open("rb") as handle:
            for line in handle:
                loads(line)
                count += 1
        best = min(best, time.perf_counter() - started)
    return best, count


def print_floors(floors: Floors, decode_s: float) -> None:
    """The in-memory steps any replay with this engine takes, against the bare loop."""
    print(f"in memory, nothing written ({floors.leads:,} leads, {floors.rows:,} rows laid "
          "out; each step alone, then the running total):")
    total = 0.0
    for name, seconds in floors.steps():
        total += seconds
        print(f"  {name:24s} {seconds:6.2f}s {seconds / decode_s:6.1f}x bare   "
              f"total {total:6.2f}s {total / decode_s:6.1f}x bare")
    print(f"floor: a replay with this engine takes at least {floors.total_s / decode_s:.1f}x "
          "the bare decode loop on one core, before encoding or writing anything")


def row_counts(dsn: str) -> dict[str, int]:
    """Rows per table, whatever the schema (so the benchmark outlives DDL changes)."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        result = client.query(
            "SELECT name, total_rows FROM system.tables WHERE database = currentDatabase()"
            " AND engine LIKE '%MergeTree%' AND total_rows > 0 ORDER BY name"
        )
        return {str(name): int(rows) for name, rows in result.result_rows}
    finally:
        client.close()


def load_note() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def report(run: ChildRun, events: int, decode_s: float, dsn: str) -> dict[str, object]:
    """What one replay run did, against the bare decode loop; its figures for ``--json``."""
    for line in run.stderr.splitlines():
        if line.startswith("replay:") and (" received: " in line or "read+validate" in line):
            print(f"  {line}")
    rate = events / run.seconds
    print(f"replay: {events:,} events in {run.seconds:.2f}s wall "
          f"(user {run.user_s:.2f}s, sys {run.sys_s:.2f}s, replay processes included) = "
          f"{rate:,.0f} events/s; peak RSS {run.max_rss_kib / 1024:,.0f} MiB")
    figures: dict[str, object] = {"seconds": run.seconds, "events_per_s": rate,
                                  "ratio_to_bare_decode": run.seconds / decode_s,
                                  "max_rss_mib": run.max_rss_kib / 1024}
    phases = PHASES_RE.search(run.stderr)
    if phases is not None:
        read_s, fold_s, write_s = (float(x) for x in phases.groups())
        other_s = run.seconds - read_s - fold_s - write_s
        figures["phases_s"] = {"read_validate": read_s, "engine_fold": fold_s,
                               "clickhouse_write": write_s, "other": other_s}
        print(f"phases: read+validate {read_s:.2f}s, engine fold {fold_s:.2f}s, "
              f"clickhouse write {write_s:.2f}s, startup+migrate+exit {other_s:.2f}s "
              "(with several processes: the slowest one's phases)")
    print(f"ratio: replay takes {run.seconds / decode_s:.1f}x the bare decode loop")
    verdict = "meets" if rate >= GOAL_EVENTS_PER_S else "misses"
    print(f"goal: {verdict} {GOAL_EVENTS_PER_S:,} events/s")
    counts = row_counts(dsn)
    print("rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events in the generated log (default 1,000,000)")
    parser.add_argument("--input", type=Path, default=None,
                        help="use this NDJSON log instead of generating one")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (log, ClickHouse data, profile)")
    parser.add_argument("--profile", action="store_true",
                        help="run the replay under pyinstrument and print the profile top")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2],
                        help="replay with each of these process counts (default: 1 2)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures to PATH as JSON")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="leadclock-bench-"))
    try:
        if args.input is not None:
            log = args.input.resolve()
            events = sum(1 for _ in log.open("rb"))
            print(f"log: {log} ({events:,} events)")
        else:
            log = workdir / "events.ndjson"
            started = time.perf_counter()
            events = generate(log, args.events)
            print(f"log: generated {events:,} events in {time.perf_counter() - started:.1f}s "
                  f"({log.stat().st_size / 1e6:,.0f} MB)")
        print(load_note())

        # Warm the page cache so neither contender pays for the disk.
        with log.open("rb") as handle:
            while handle.read(1 << 24):
                pass
        decode_s, decoded = bare_decode(log)
        print(f"bare decode: {decoded:,} lines in {decode_s:.2f}s "
              f"({decoded / decode_s:,.0f} lines/s)")

        floors = measure(log)
        print_floors(floors, decode_s)

        runs: dict[str, object] = {}
        for processes in args.processes:
            dsn = f"chdb://{workdir / f'clickhouse-{processes}'}"
            replay = [leadclock(), "replay", "--input", str(log), "--clickhouse", dsn,
                      "--processes", str(processes)]
            if args.profile:
                profile = workdir / "profile.txt"
                replay = [str(BIN / "pyinstrument"), "-r", "text", "-o", str(profile),
                          "--show-all", *replay]
            print(f"--- replay --processes {processes} ({load_note()})")
            run = run_child(replay)
            runs[str(processes)] = report(run, events, decode_s, dsn)
            if args.profile:
                text = (workdir / "profile.txt").read_text()
                print("profile (pyinstrument, top 60 lines):")
                print("\n".join(text.splitlines()[:60]))
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_bytes(orjson.dumps(
                {"benchmark": "replay_bench", "events": events, "bare_decode_s": decode_s,
                 "bare_decode_per_s": decoded / decode_s, "profiled": args.profile,
                 "load": os.getloadavg()[0], "replay_by_processes": runs,
                 "floors_s": {"validate": floors.validate_s, "fold": floors.fold_s,
                              "contributions": floors.contributions_s,
                              "rows": floors.rows_s, "total": floors.total_s}},
                option=orjson.OPT_INDENT_2))
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
