"""One worker-sized sink flush into embedded ClickHouse: tables one after the other, or at once.

Run from the repository root with the venv's Python::

    .venv/bin/python benchmarks/flush_bench.py [--leads 400] [--flushes 30] [--json PATH]

Why: at a steady rate a worker flushes every second or so, and each flush inserts into
six tables. An insert's cost is mostly fixed (a new part per table), so the flush time,
and with it freshness, is mostly the number of inserts done one after the other. This
measures ``ClickHouseSink.write`` alone (no Kafka, no Faust): batches of ``--leads``
demo leads (``leadclock demo``, each at its final state) and one ledger row per
lead (about a second's worth at 500 events/s),
alternating a sink without insert lanes (the baseline: one table after the other) and
one with lanes (``sinks/insert_lanes.py``), on one fresh chdb database, and prints the
p50/p99 of each and their ratio. The process uses the worker's garbage-collector
settings (``streams.faust_app.gc_tuning``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from schemas.events import Event
from sinks.client import connect, skip_pandas
from sinks.insert_lanes import InsertLanes
from sinks.migrate import migrate
from sinks.sink import ClickHouseSink
from sinks.versions import make_current
from streams.demo_events import generate
from streams.engine.accounting import parse_message
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept
from streams.engine.state import LeadState
from streams.faust_app.gc_tuning import tune_after_start

CONFIG = EngineConfig()


def demo_states(leads: int) -> list[tuple[str, LeadState, int]]:
    """Each demo lead's final state and its event count."""
    by_lead: dict[str, tuple[LeadState, int]] = {}
    for line in generate(leads):
        event = parse_message(line)
        if not isinstance(event, Event):
            continue
        state, count = by_lead.get(event.lead_id, (LeadState(), 0))
        by_lead[event.lead_id] = (accept(state, event) or state, count + 1)
    return [(lead, state, count) for lead, (state, count) in by_lead.items()]


def timed_flush(sink: ClickHouseSink, batch: list[tuple[str, LeadState, int]],
                offset: int) -> float:
    buffer = OutputBuffer(CONFIG, max_pending=1_000_000)
    for i, (lead, state, _) in enumerate(batch):
        buffer.put_lead(lead, state)
        buffer.put_ledger(("bench", 0, offset + i), "accepted", lead, f"{lead}-{i}")
    started = time.perf_counter()
    buffer.flush(sink)
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=400, help="leads per flush")
    parser.add_argument("--flushes", type=int, default=30, help="flushes per mode")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    args = parser.parse_args()
    skip_pandas()
    states = demo_states(args.leads * args.flushes * 2)
    tune_after_start()  # the worker's settings: the demo states would be walked by every
    # full collection, which made the slowest flushes (~1 s) of both modes
    events = sum(count for _, _, count in states[:args.leads * 2 * args.flushes])
    with tempfile.TemporaryDirectory(prefix="leadclock-flush-bench-") as tmp:
        client = connect(f"chdb://{Path(tmp) / 'ch'}")
        migrate(client)
        make_current(client, 1)
        plain = ClickHouseSink(client, 1)
        lanes = ClickHouseSink(client, 1, lanes=InsertLanes.beside(client))
        times: dict[str, list[float]] = {"one table after the other": [], "insert lanes": []}
        offset = 0
        try:
            for n in range(args.flushes * 2):
                batch = states[n * args.leads:(n + 1) * args.leads]
                mode = "insert lanes" if n % 2 else "one table after the other"
                times[mode].append(timed_flush(lanes if n % 2 else plain, batch, offset))
                offset += len(batch)
        finally:
            lanes.close()
            client.close()
    figures: dict[str, object] = {"leads": args.leads, "flushes": args.flushes,
                                  "events_in_states": events / (args.flushes * 2)}
    print(f"flush of {args.leads} leads ({events / (args.flushes * 2):.0f} events in their "
          f"states) and {args.leads} ledger rows, {args.flushes} flushes per mode, alternating:")
    for mode, values in times.items():
        key = "lanes" if mode == "insert lanes" else "sequential"
        figures[f"{key}_p50_s"], figures[f"{key}_p99_s"] = pct(values, 0.5), pct(values, 0.99)
        print(f"  {mode:26s} p50 {pct(values, 0.5) * 1000:6.1f} ms  p99 "
              f"{pct(values, 0.99) * 1000:6.1f} ms  mean {statistics.mean(values) * 1000:6.1f} ms")
    lanes, plain = times["insert lanes"], times["one table after the other"]
    print(f"  lanes / sequential at p50: {pct(lanes, 0.5) / pct(plain, 0.5):.2f}x")
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(figures))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
