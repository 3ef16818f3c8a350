"""Scale-out benchmark: one worker, then several in one consumer group, on the same events.

Run from the repository root with the venv's Python, a broker on ``--brokers``::

    .venv/bin/python benchmarks/scale_out_bench.py [--events 100000] [--partitions 4]
        [--workers 1,2] [--json PATH]

For each count N of ``--workers``, on topics of its own (prefix ``bench-<hex>-xN.``):

1. produces the first ``WARM_UP`` demo events, starts ``leadclock serve`` on a fresh
   embedded ClickHouse directory (it holds the directory and serves it to other
   processes, docs/embedded-sharing.md: ClickHouse runs in a process of its own, as a
   server would, for every N alike), then N ``leadclock worker`` processes at once with
   one app id (one consumer group), each with its own table directory, ack after flush;
2. waits until the group has committed those events and is stable with N members (its
   start-up and first rebalance are over);
3. produces the next ``--events`` demo events (the same ones for every N) and reports
   events/s = ``--events`` / (start of that produce -> the group's last commit), and
   the CPU time of each process over its whole life.

Why: a worker is one Python process, bound to one core (docs/performance.md), so the way
to a higher rate is more workers on more partitions (README, Scaling out). This measures
what a second worker adds on the machine it runs on. On 2 cores the workers share the
machine with the broker, the producer and ClickHouse, so a second machine would add
more. ``--json PATH`` also writes the figures as JSON (read by ``run_all.py``).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from _common import leadclock
from _worker_run import (
    FIRST_MESSAGE,
    Child,
    add_topic_arguments,
    delete_kafka_leftovers,
    demo_lines,
    free_port,
    load_note,
    start_child,
    wait_caught_up,
    worker_argv,
)

from streams.kafka.admin import admin_client, ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames

WARM_UP = 2_000  # events the group takes before the timed part (start-up, rebalance)

SERVING = "is shared"  # leadclock serve's line once its gateway listens


@dataclass(frozen=True, slots=True)
class GroupRun:
    """N workers of one group: the timed events, from their produce to the last commit."""

    workers: int
    events: int
    seconds: float
    cpu_s: tuple[float, ...]
    """CPU seconds (user + sys) of each worker process."""
    serve_cpu_s: float
    """CPU seconds of the ``leadclock serve`` process (the embedded ClickHouse)."""

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def run_group(count: int, args: argparse.Namespace, tag: str, workdir: Path,
              lines: list[bytes]) -> GroupRun:
    """``count`` workers of one group on topics of their own, timed once the group is stable.

    The first ``WARM_UP`` lines go first: the workers start, join, rebalance and take
    them. Once the group has ``count`` members, is stable and has committed them, the rest
    is produced, and the time from the start of that produce to the group's last commit
    is the run's time (the producer is several times faster than the workers).
    """
    prefix = f"{tag}-x{count}."
    topics = TopicNames.with_prefix(prefix)
    group = f"{tag}-x{count}"
    ensure_topics(args.brokers, topics.created, args.partitions, topics.configs)
    produce(iter(lines[:WARM_UP]), args.brokers, topics)
    clickhouse = f"chdb://{workdir / 'clickhouse'}"
    server = start_child([leadclock(), "serve", "--clickhouse", clickhouse, "--port",
                          str(free_port())], workdir / "serve")
    children: list[Child] = []
    try:
        wait_for_line(server, SERVING, args.timeout)
        for index in range(count):
            own = workdir / f"worker-{index}"
            argv = worker_argv(args.brokers, prefix, args.partitions, own, group, 0, False,
                               [], clickhouse)  # one ClickHouse directory for the group
            children.append(start_child(argv, own))
        first = first_to_process(children, args.timeout)
        wait_caught_up(first.process, first.log, args.brokers, group, topics.consumed,
                       args.timeout)
        wait_stable(args.brokers, group, count, args.timeout)
        started = time.monotonic()
        produce(iter(lines[WARM_UP:]), args.brokers, topics)
        done, _ = wait_caught_up(first.process, first.log, args.brokers, group,
                                 topics.consumed, args.timeout)
    finally:
        finished = [child.finish() for child in children]
        serve_usage = server.finish()[1]
        delete_kafka_leftovers(args.brokers, group, [group])  # topics and changelogs
    for index, (code, _, _) in enumerate(finished):
        if code != 0:
            print(f"  note: worker {index} ended with status {code}, not 0 after SIGTERM: "
                  "if it ended early, the figure includes a rebalance")
    cpu = tuple(usage.ru_utime + usage.ru_stime if usage else float("nan")
                for _, usage, _ in finished)
    serve_cpu = (serve_usage.ru_utime + serve_usage.ru_stime if serve_usage
                 else float("nan"))
    return GroupRun(count, len(lines) - WARM_UP, done - started, cpu, serve_cpu)


def first_to_process(children: list[Child], timeout_s: float) -> Child:
    """The first of ``children`` to log its first message (the lag poll waits for one).

    Any of them may be the one: a worker that joins after the others took every warm-up
    event logs nothing until the timed events come.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        for child in children:
            if child.log.first(FIRST_MESSAGE) is not None:
                return child
            if child.process.poll() is not None:
                raise SystemExit(f"worker exited early ({child.process.returncode}):\n"
                                 f"{child.log.tail()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"no worker took a message after {timeout_s:.0f}s")
        time.sleep(0.1)


def wait_stable(brokers: str, group: str, members: int, timeout_s: float) -> None:
    """Wait until ``group`` is stable with ``members`` members (no rebalance under way)."""
    deadline = time.monotonic() + timeout_s
    admin = admin_client(brokers)
    try:
        while True:
            found = admin.describe_groups([group])[group]
            if found["group_state"] == "Stable" and len(found["members"]) == members:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"group {group} not stable with {members} members: {found}")
            time.sleep(0.5)
    finally:
        admin.close()


def wait_for_line(child: Child, needle: str, timeout_s: float) -> None:
    """Wait until ``child`` logged ``needle``; stop the run if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    while child.log.first(needle) is None:
        if child.process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{needle!r} never came:\n{child.log.tail()}")
        time.sleep(0.1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_topic_arguments(parser)
    parser.add_argument("--workers", default="1,2",
                        help="comma-separated worker counts, one group each (default 1,2)")
    parser.add_argument("--timeout", type=float, default=400.0,
                        help="seconds each group may take to catch up (default 400)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures to PATH as JSON")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    tag = f"bench-{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-scale-out-bench-"))
    print(f"run {tag}: brokers {args.brokers}, topics {tag}-x<N>.*, dir {workdir}")
    try:
        lines = list(demo_lines(WARM_UP + args.events))
        events = len(lines) - WARM_UP
        runs: list[GroupRun] = []
        for count in counts:
            print(f"{count} worker(s), {args.partitions} partitions: start, {load_note()}")
            run = run_group(count, args, tag, workdir / f"x{count}", lines)
            cpu = ", ".join(f"{s:.1f}" for s in run.cpu_s)
            print(f"{count} worker(s): {events:,} events in {run.seconds:.1f}s = "
                  f"{run.rate:,.0f} events/s (produce start to the group's last commit, "
                  f"after the warm-up); CPU s per worker: {cpu}; CPU s of serve: "
                  f"{run.serve_cpu_s:.1f}")
            runs.append(run)
        base = runs[0].rate
        print("summary")
        for run in runs:
            print(f"  {run.workers} worker(s): {run.rate:>7,.0f} events/s = "
                  f"{run.rate / base:.2f}x {runs[0].workers} worker(s)")
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_bytes(orjson.dumps({
                "benchmark": "scale_out_bench", "events": events,
                "partitions": args.partitions,
                "runs": [{"workers": r.workers, "events_per_s": r.rate, "seconds": r.seconds,
                          "cpu_s": list(r.cpu_s), "serve_cpu_s": r.serve_cpu_s}
                         for r in runs],
            }, option=orjson.OPT_INDENT_2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
