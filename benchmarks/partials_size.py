"""How many rows the partial tables would hold for a demo log, next to today's per-lead rows.

Run from the repository root with the venv's Python (CPU-bound, pure Python)::

    nice -n 10 .venv/bin/python benchmarks/partials_size.py [--events 1000000]
        [--partitions 1 4 12] [--window 1d] [--log FILE]

It folds the log with the engine (each lead's final contribution), keeps the partials
of each home partition (``streams.engine.partials``) and prints, per partial table, the
keys summed over partitions (the rows a view over it reads) and the largest partition,
next to the rows the per-lead tables hold for the same log. Partials are bounded by
campaigns x windows x ..., not by events: this shows by how much at this size.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import leadclock

from schemas.events import Rejection
from streams.engine.accounting import parse_message
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept, contribution
from streams.engine.partials import TABLES, Partials
from streams.engine.routing import home_partition
from streams.engine.state import LeadState


def demo(workdir: Path, events: int) -> Path:
    """A demo log of at most ``events`` lines (sized from a 2 000-lead sample)."""
    sample = workdir / "sample.ndjson"
    subprocess.run([leadclock(), "demo", "--leads", "2000", "--output", str(sample)],
                   check=True, capture_output=True)
    per_lead = sum(1 for _ in sample.open("rb")) / 2000
    full = workdir / "demo.ndjson"
    subprocess.run([leadclock(), "demo", "--leads", str(math.ceil(events / per_lead * 1.05)),
                    "--output", str(full)], check=True, capture_output=True)
    return full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, nargs="+", default=[1, 4, 12])
    parser.add_argument("--window", default="1d")
    parser.add_argument("--log", type=Path, default=None, help="an existing NDJSON log")
    args = parser.parse_args()
    workdir = None if args.log else Path(tempfile.mkdtemp(prefix="leadclock-partials-"))
    try:
        report(args, args.log or demo(workdir, args.events))  # type: ignore[arg-type]
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def report(args: argparse.Namespace, log: Path) -> None:
    """Fold the log and print the table."""
    started = time.perf_counter()
    states: dict[str, LeadState] = defaultdict(LeadState)
    events = 0
    with log.open("rb") as lines:
        for line in lines:
            if events >= args.events:
                break
            events += 1
            event = parse_message(line.strip())
            if not isinstance(event, Rejection):
                state = states[event.lead_id]
                states[event.lead_id] = accept(state, event) or state
    config = EngineConfig(window=args.window)
    parts = {n: [Partials() for _ in range(n)] for n in args.partitions}
    per_lead: dict[str, int] = defaultdict(int)
    for lead, state in states.items():
        c = contribution(state, config)
        per_lead["lead_reach"] += len(c.reach)
        per_lead["lead_stages"] += len(c.stages)
        per_lead["lead_credits"] += len(c.credits)
        per_lead["lead_revisions"] += 1
        for n, split in parts.items():
            split[home_partition(lead.encode(), n)].apply(None, c)
    print(f"{events:,} events, {len(states):,} leads, window {args.window}; folded in "
          f"{time.perf_counter() - started:.0f} s\n")
    print(f"{'partial table':<22}" + "".join(f" {f'{n} partition(s): all/largest':>30}"
                                             for n in parts))
    for table in TABLES:
        cells = []
        for split in parts.values():
            sizes = [len(p.tables[table]) for p in split]
            cells.append(f"{sum(sizes):>16,} / {max(sizes):>11,}")
        print(f"{table:<22}" + "".join(f" {cell:>30}" for cell in cells))
    print(f"\n{'per-lead table':<22} {'rows':>22}")
    for table, rows in per_lead.items():
        print(f"{table:<22} {rows:>22,}")


if __name__ == "__main__":
    main()
