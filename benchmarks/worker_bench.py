"""Worker benchmark: ``leadclock worker`` next to its floors, on the same topics in one run.

Run from the repository root with the venv's Python, a broker on ``--brokers``::

    .venv/bin/python benchmarks/worker_bench.py [--events 100000] [--partitions 4] [--keep]
        [--misrouted 0.0..1.0] [--no-unsafe] [--no-faust] [--no-memory-state]
        [--json PATH]

What it does, in one run, on ONE set of freshly produced topics (prefix ``bench-<hex>.``):

1. produces ``--events`` demo events (``streams.demo.generate``, ~5.4 per lead) to the
   four event topics, keyed by ``lead_id``; with ``--misrouted F`` a share F of them is
   sent to another partition than their lead's (as a CRC32 producer such as kcat would),
   so the worker moves them through the rerouted topic (the repartition hop);
2. floors (``_floors.py``): a bare kafka-python loop and a bare aiokafka ``getmany``
   loop (assign every partition, seek to the beginning, read until all N messages are
   in, ``orjson.loads`` each value): events/s from first to last message;
3. a no-op Faust agent (``noop_faust.py``: ``async for _ in stream: pass``, same topics,
   fresh group) as a child process, measured like the worker below: the ceiling of any
   Faust worker here (issue 12 goal 2 wants leadclock at >= 70 % of it); then the same
   with the worker's GC settings (``--gc-tuned``), and the smallest *stateful* agent
   (``--table``: one RocksDB table entry read and written per message, with its
   changelog), which is what any Faust worker keeping per-lead state pays;
4. ``leadclock worker`` (default: ack after flush, effectively-once) as a child process
   with a fresh app id / consumer group, table directory and embedded ClickHouse; the
   run ends when the group's committed offsets reach the end offsets (polled every
   0.5 s with ``streams.kafka.admin.group_lag``). Reports events/s =
   N / (caught up - "processing: first message" log line), startup time, peak RSS
   (the child's own ``VmHWM``, ``_peak_rss.py``), the worker's last progress line, its
   flush-duration histogram scraped from ``/metrics`` just before SIGTERM, and the work
   it did per event: ClickHouse rows inserted (its ``InsertedRows`` counter, read
   through its gateway once caught up) and changelog records/bytes (``_work.py``);
5. the same with ``--unsafe-auto-ack`` (ack before flush) on a new group and dirs, which
   gives the cost of the guarantee (``--no-unsafe`` skips it);
6. the worker (ack after flush) with ``--unsafe-memory-state``: its lead state in a dict
   instead of the changelogged RocksDB table, so what the worker would reach with a state
   store that cost nothing (``--no-memory-state`` skips it);
7. leadclock's own work per message in memory (``_worker_floors.py``: the processor
   with a dict for a table, and the flush's contributions and rows, no Kafka, Faust or
   ClickHouse), and the ratio to the no-op agent it alone would allow.

With the repartition hop (``--misrouted``) the no-op Faust agent does NOT take the hop:
it reads the event topics only, so the ratio then includes the hop's cost.

Freshness end to end is ``freshness_bench.py``; here the flush duration distribution is
reported with the batching bound: an entry waits at most ~1 s (or until 20 000 entries
are pending) before a flush starts. ``--json PATH`` also writes the figures as JSON (read
by ``run_all.py``). ``--keep`` keeps the temporary directory (worker logs, table store,
ClickHouse data), the topics and consumer groups.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _floors
import _worker_floors
import orjson
from _work import changelog_sizes, inserted_rows
from _worker_run import (
    Histogram,
    WorkerRun,
    add_topic_arguments,
    delete_kafka_leftovers,
    demo_lines,
    flush_text,
    free_port,
    load_note,
    produce_topics,
    run_worker,
    worker_argv,
)

from streams.kafka.topics import TopicNames

FAUST_COMMIT_INTERVAL_S = 2.8  # faust-streaming's broker_commit_interval default
SINK_MAX_AGE_S = 1.0  # streams.engine.buffer.OutputBuffer.max_age_s
SINK_MAX_PENDING = 20_000  # streams.engine.buffer.OutputBuffer.max_pending
FLUSH_TIMER_S = 0.5  # streams.faust_app.timers.FLUSH_CHECK_S
NOOP_FAUST = Path(__file__).with_name("noop_faust.py")
NOOP = "no-op Faust agent"
NOOP_GC = "no-op Faust agent, the worker's GC settings"
NOOP_TABLE = "stateful no-op Faust agent (a table entry read and written per message)"


def report_worker(run: WorkerRun, base: _floors.Floor) -> None:
    processed = ("?" if run.processed_s is None
                 else f"{run.processed_s:.1f}s (first progress line with all received, 1 s res.)")
    print(f"{run.label}: {run.events:,} events, {run.rate:,.0f} events/s "
          f"({run.rate / base.rate:.2f}x kafka-python floor)")
    print(f"  startup {run.startup_s:.1f}s to first message (says "
          f"{run.startup_reported} after start); first message -> committed "
          f"{run.caught_up_s:.1f}s; all received after {processed}")
    cpu = (run.user_s + run.sys_s) / run.life_s * 100
    print(f"  process start -> caught up {run.total_s:.1f}s; CPU user {run.user_s:.1f}s "
          f"sys {run.sys_s:.1f}s over {run.life_s:.1f}s alive ({cpu:.0f}% of one core); "
          f"peak RSS {run.max_rss_kib / 1024:,.0f} MiB; exit {run.exit_code} after SIGTERM")
    print(f"  last progress: {run.last_progress}")
    if run.flushes is not None:
        print(f"  flushes: {flush_text(run.flushes)}")
    if run.extra:
        print("  work: " + ", ".join(f"{name} {value:,.2f}" for name, value in run.extra.items()))
    if run.failed_polls:
        print(f"  WARNING: {run.failed_polls} lag polls got no answer from the broker; "
              "this run's timing is disturbed")


def work_probe(brokers: str, app_id: str, dsn: str, events: int
               ) -> Callable[[], dict[str, float]]:
    """Rows inserted and changelog bytes per event, asked of the worker once caught up."""

    def probe() -> dict[str, float]:
        rows = inserted_rows(dsn)
        records, size = changelog_sizes(brokers, app_id)
        return {"clickhouse_rows_per_event": rows / events,
                "changelog_records_per_event": records / events,
                "changelog_bytes_per_event": size / events,
                "changelog_bytes_per_record": size / records if records else 0.0}

    return probe


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_topic_arguments(parser)
    parser.add_argument("--timeout", type=float, default=400.0,
                        help="seconds each phase may take before the run fails (default 400)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory, topics and consumer groups")
    parser.add_argument("--misrouted", type=float, default=0.0, metavar="SHARE",
                        help="share of events sent to another partition than their lead's "
                             "(0.0-1.0; default 0): measures the repartition hop")
    parser.add_argument("--no-unsafe", action="store_true",
                        help="skip the --unsafe-auto-ack run")
    parser.add_argument("--no-faust", action="store_true",
                        help="skip the no-op Faust agent run")
    parser.add_argument("--no-memory-state", action="store_true",
                        help="skip the --unsafe-memory-state run")
    parser.add_argument("--worker-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for every worker run, repeatable, e.g. "
                             "--worker-arg=--state-ttl --worker-arg=90d")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures to PATH as JSON")
    return parser.parse_args()


def summary(floors: list[_floors.Floor], noop: WorkerRun | None, safe: WorkerRun,
            unsafe: WorkerRun | None, noop_gc: WorkerRun | None = None) -> None:
    print()
    print("summary")
    print(f"  {load_note()}")
    for floor in floors:
        print(f"  {floor.label + ' + orjson:':<34} {floor.rate:>9,.0f} events/s")
    if noop is not None:
        print(f"  {'no-op Faust agent:':<34} {noop.rate:>9,.0f} events/s")
    if noop_gc is not None:
        print(f"  {'no-op Faust agent, worker GC:':<34} {noop_gc.rate:>9,.0f} events/s")
    print(f"  {'worker, ack after flush (default):':<34} {safe.rate:>9,.0f} events/s"
          + (f" = {safe.rate / noop.rate:.3f}x the no-op Faust agent" if noop else "")
          + (f", {safe.rate / noop_gc.rate:.3f}x with the worker's GC settings"
             if noop_gc else ""))
    if noop and safe.processed_rate and noop.processed_rate:
        print(f"  to the last message taken, without the wait for the commit (which can add "
              f"up to {FAUST_COMMIT_INTERVAL_S} s to either run): no-op Faust "
              f"{noop.processed_rate:,.0f}, worker {safe.processed_rate:,.0f} events/s (1 s "
              f"resolution) = {safe.processed_rate / noop.processed_rate:.3f}x")
    if unsafe is not None:
        cost = (unsafe.rate - safe.rate) / unsafe.rate * 100
        print(f"  {'worker, --unsafe-auto-ack:':<34} {unsafe.rate:>9,.0f} events/s")
        print(f"  cost of the guarantee: {cost:.1f} % of unsafe throughput (negative = safe "
              "run was faster; single runs, noisy)")
    print(f"  peak RSS (safe): {safe.max_rss_kib / 1024:,.0f} MiB")
    print(f"  flush duration (safe): {flush_text(safe.flushes)}")
    print("  what the flush figures are: time of each successful flush (one "
          "ClickHouse write of the batch), estimated from the Prometheus histogram buckets "
          "by linear interpolation. NOT produce-to-visible latency (freshness_bench.py).")
    print(f"  batch age bound: an entry waits <= {SINK_MAX_AGE_S:.0f} s (checked per message "
          f"and by a {FLUSH_TIMER_S} s timer) or until {SINK_MAX_PENDING:,} entries are "
          f"pending. Offsets are committed every {FAUST_COMMIT_INTERVAL_S} s (Faust) after "
          "the ack, which is included in the events/s figures (time to committed offsets) "
          "of the worker and of the no-op agent alike.")


def own_work(work: _worker_floors.WorkerFloors, noop: WorkerRun | None) -> None:
    """leadclock's own work per event in memory, and the ratio it alone would allow."""
    print(f"  leadclock's own work, in memory ({work.events:,} events, a flush every "
          f"{work.batch:,}): {work.process_us:.1f} us per message + {work.flush_us:.1f} us "
          "of flush (contributions and rows; no encoding, no ClickHouse)")
    if noop is not None:
        print(f"  the no-op agent takes {1e6 / noop.rate:.0f} us per message: adding only "
              f"this work to it would give {work.bound(noop.rate):.2f}x the no-op agent "
              "(one core, no overlap)")


def memory_state_run(args: argparse.Namespace, prefix: str, workdir: Path, group: str,
                     topics: TopicNames, events: int, base: _floors.Floor) -> WorkerRun:
    """The worker with ``--unsafe-memory-state``: every guarantee but the state's survival.

    Its lead state is a dict instead of the changelogged RocksDB table, so the run says
    how fast the worker could be with a state store that cost nothing at all.
    """
    label = "worker --unsafe-memory-state"
    print(f"{label}: start, {load_note()}")
    port = free_port()
    argv = worker_argv(args.brokers, prefix, args.partitions, workdir, group, port, False,
                       [*args.worker_arg, "--unsafe-memory-state"])
    run = run_worker(label, argv, workdir, args.brokers, group, topics.consumed, events,
                     port, args.timeout)
    report_worker(run, base)
    return run


def quantiles(hist: Histogram | None) -> dict[str, float | None]:
    if hist is None or hist.count == 0:
        return {"flush_p50_s": None, "flush_p99_s": None}
    return {"flush_p50_s": hist.quantile(0.5), "flush_p99_s": hist.quantile(0.99)}


def figures(args: argparse.Namespace, events: int, floors: list[_floors.Floor],
            noop: WorkerRun | None, safe: WorkerRun,
            unsafe: WorkerRun | None, noop_gc: WorkerRun | None = None) -> dict[str, object]:
    """What ``--json`` writes: the run's parameters and each contender's figures."""
    def run_fig(run: WorkerRun) -> dict[str, object]:
        return {"events_per_s": run.rate, "processed_events_per_s": run.processed_rate,
                "startup_s": run.startup_s,
                "caught_up_s": run.caught_up_s, "max_rss_mib": run.max_rss_kib / 1024,
                "cpu_s": run.user_s + run.sys_s, "failed_polls": run.failed_polls,
                **quantiles(run.flushes), **run.extra}
    return {
        "benchmark": "worker_bench", "events": events, "partitions": args.partitions,
        "misrouted": args.misrouted, "load": os.getloadavg()[0],
        "floors": {f.label: {"events_per_s": f.rate} for f in floors},
        "noop_faust": run_fig(noop) if noop else None,
        "noop_faust_gc_tuned": run_fig(noop_gc) if noop_gc else None,
        "worker": run_fig(safe),
        "worker_unsafe": run_fig(unsafe) if unsafe else None,
        "worker_to_noop_faust": safe.rate / noop.rate if noop else None,
        "worker_to_noop_faust_processed":
            safe.processed_rate / noop.processed_rate
            if noop and safe.processed_rate and noop.processed_rate else None,
    }


def main() -> None:
    args = parse_args()
    bench_started = time.monotonic()
    tag = f"bench-{secrets.token_hex(4)}"
    prefix = f"{tag}."
    topics = TopicNames.with_prefix(prefix)
    groups = [f"{tag}-noop", f"{tag}-safe", f"{tag}-unsafe", f"{tag}-noop-gc",
              f"{tag}-noop-table", f"{tag}-memory"]
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-worker-bench-"))
    print(f"run {tag}: brokers {args.brokers}, topics {prefix}*, dir {workdir}")
    print(load_note())
    try:
        events = produce_topics(args.brokers, topics, args.partitions, args.events,
                                args.misrouted)
        floors = []
        for measure in (_floors.kafka_python, _floors.aiokafka):
            floor = measure(args.brokers, topics, events, args.timeout)
            print(f"floor {floor.label}: {floor.events:,} messages consumed+decoded, "
                  f"{floor.rate:,.0f} events/s (first->last message {floor.read_s:.2f}s; "
                  f"{floor.wall_s:.2f}s incl. connect; {load_note()})")
            floors.append(floor)
        base = floors[0]

        noop = noop_gc = noop_table = None
        if not args.no_faust:
            noops = []
            for group, label, extra in ((groups[0], NOOP, []),
                                        (groups[3], NOOP_GC, ["--gc-tuned"]),
                                        (groups[4], NOOP_TABLE, ["--table"])):
                argv = [sys.executable, str(NOOP_FAUST), "--brokers", args.brokers,
                        "--app-id", group, "--topics", ",".join(topics.events),
                        "--partitions", str(args.partitions),
                        "--data-dir", str(workdir / group / "faust"), "--expect", str(events),
                        *extra]
                print(f"{label}: start, {load_note()}")
                noops.append(run_worker(label, argv, workdir / group, args.brokers,
                                        group, topics.events, events, None, args.timeout))
                report_worker(noops[-1], base)
            noop, noop_gc, noop_table = noops

        runs: list[WorkerRun] = []
        for group, unsafe in zip(groups[1:3], (False, True), strict=True):
            if unsafe and args.no_unsafe:
                break
            label = "worker --unsafe-auto-ack" if unsafe else "worker (ack after flush)"
            print(f"{label}: start, {load_note()}")
            port = free_port()
            argv = worker_argv(args.brokers, prefix, args.partitions, workdir / group, group,
                               port, unsafe, args.worker_arg)
            # Only with ack after flush does "committed" mean "written" for the counter.
            probe = None if unsafe else work_probe(
                args.brokers, group, f"chdb://{workdir / group / 'clickhouse'}", events)
            run = run_worker(label, argv, workdir / group, args.brokers, group,
                             topics.consumed, events, port, args.timeout, probe)
            report_worker(run, base)
            runs.append(run)
        unsafe_run = runs[1] if len(runs) == 2 else None
        memory = None if args.no_memory_state else memory_state_run(
            args, prefix, workdir / groups[5], groups[5], topics, events, base)
        summary(floors, noop, runs[0], unsafe_run, noop_gc)
        if noop is not None and noop_table is not None:
            print(f"  {'stateful no-op Faust agent:':<34} {noop_table.rate:>9,.0f} events/s = "
                  f"{noop_table.rate / noop.rate:.3f}x the no-op agent; the worker is "
                  f"{runs[0].rate / noop_table.rate:.3f}x the stateful no-op agent")
        if memory is not None:
            print(f"  {'worker, --unsafe-memory-state:':<34} {memory.rate:>9,.0f} events/s"
                  + (f" = {memory.rate / noop.rate:.3f}x the no-op agent" if noop else "")
                  + " (lead state in a dict: what the worker reaches with a free state "
                    "store)")
        work = _worker_floors.measure(demo_lines(events))
        own_work(work, noop)
        print(f"  benchmark wall time {time.monotonic() - bench_started:.0f}s")
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            found = figures(args, events, floors, noop, runs[0], unsafe_run, noop_gc)
            found["noop_faust_table"] = ({"events_per_s": noop_table.rate}
                                         if noop_table else None)
            found["worker_memory_state"] = ({"events_per_s": memory.rate,
                                             "processed_events_per_s": memory.processed_rate}
                                            if memory else None)
            found["own_work_us"] = {"per_message": work.process_us, "per_flush": work.flush_us,
                                    "bound": work.bound(noop.rate) if noop else None}
            args.json.write_bytes(orjson.dumps(found, option=orjson.OPT_INDENT_2))
    finally:
        if args.keep:
            print(f"kept {workdir}, topics {prefix}*, groups {', '.join(groups)}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            delete_kafka_leftovers(args.brokers, tag, groups)


if __name__ == "__main__":
    main()
