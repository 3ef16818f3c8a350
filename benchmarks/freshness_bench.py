"""Freshness: how long after it is produced an event's effect is queryable, at a steady rate.

Run from the repository root with the venv's Python, a broker on ``--brokers``::

    .venv/bin/python benchmarks/freshness_bench.py [--rate 600] [--duration 60]
        [--warmup 10] [--poll 0.05] [--probe clock|count] [--partitions 4] [--json PATH]
        [--keep]

Issue 12 (goal 3) asks for the p50/p99/max delay from produce to the aggregate being
queryable, at a steady produced rate of half the worker's maximum. What it does:

1. the rate: ``--rate`` events/s, else half of the maximum measured first on separate
   topics (``--calibrate-events`` demo events through ``leadclock worker`` from a
   backlog, as ``worker_bench.py`` measures it);
2. starts ``leadclock worker`` (default settings: ack after flush) on fresh topics, a
   fresh group and a fresh embedded ClickHouse, which it shares through its gateway;
3. a producer thread sends the dense demo load (``streams.demo.generate``, keyed by
   ``lead_id`` like ``leadclock produce``, kafka-python, ``acks=all``, ``linger_ms=5``)
   paced to the rate (sent in 10 ms ticks), with each event's ``occurred_at`` rewritten
   to the wall-clock time at which it is handed to the producer (microseconds, so event
   time order = produce order);
4. a poller thread, in this process, runs ``SELECT as_of FROM v_clock`` (or, with
   ``--probe count``, the accepted count of ``v_ingest_accounting``) through the
   worker's gateway (``sinks.client.connect`` on the same ``chdb://`` directory, the way
   any leadclock command or dashboard reads a running worker's database) every
   ``--poll`` seconds (0.05) and notes the wall-clock time each answer arrived;
5. after the worker's first message and ``--warmup`` more seconds, every event produced
   during the next ``--duration`` seconds (60) is measured; then production stops and the
   poller runs until the last measured event is seen (or 60 s pass).

What is measured, exactly: for each measured event e, **delay(e) = arrival time of the
first poll answer with as_of >= occurred_at(e) - occurred_at(e)** (both wall clock, the
same host). It includes the producer's batching and acknowledgement, the worker's
consumption, its batching before a flush (<= ~1 s), the flush into ClickHouse, and up to
one poll interval plus one query; this is what a dashboard polling the views would see.
Reported: p50, p99 and max over the measured events, and how many were never seen.

Caveat: ``as_of`` is the latest ``occurred_at`` among accepted events *visible in the
views*; it reaching occurred_at(e) proves that the flush that wrote a later event landed,
not that e's own partition was flushed with it. The worker flushes one buffer for all its
partitions, so the two coincide unless a partition lags behind the others inside one
batch window. ``--probe count`` asks instead for the accepted events of
``v_ingest_accounting`` and takes e as visible once that count reaches e's sequence
number among all events produced (warm-up included): the same approximation the other
way round (a count says how many, not which). The polls are themselves load on the
worker's process (a query every 50 ms through its gateway, plus its time; the median
poll interval and query time are reported). ``--keep`` keeps the temporary directory,
topics and group.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import secrets
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from _worker_run import (
    FIRST_MESSAGE,
    Child,
    delete_kafka_leftovers,
    free_port,
    load_note,
    produce_topics,
    run_worker,
    start_child,
    worker_argv,
)
from clickhouse_connect.driver.exceptions import ClickHouseError
from kafka import KafkaProducer
from kafka.errors import KafkaError

from schemas.timestamps import format_us
from sinks import endpoint
from sinks.client import connect
from sinks.exceptions import ClickHouseUnavailable
from streams.demo import generate
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import route
from streams.kafka.topics import TopicNames

TICK_S = 0.01
PROBES = {
    "clock": "SELECT toUnixTimestamp64Micro(as_of) FROM v_clock",
    "count": "SELECT toInt64(sum(accepted)) FROM v_ingest_accounting",
}
"""What a poll asks; its answer is compared with each event's occurred_at (µs), or with
its sequence number among all events produced (1-based), respectively."""
SEEN_TIMEOUT_S = 60.0


@dataclass
class Freshness:
    """The figures of one run (``--json`` writes them, with ``benchmark``)."""

    probe: str
    rate: float
    duration_s: float
    measured_events: int
    unseen: int  # measured events no poll answer covered before the end
    p50_s: float
    p99_s: float
    max_s: float
    mean_s: float
    polls: int
    poll_failures: int
    poll_interval_median_s: float
    poll_query_median_s: float
    worker_exit: int
    load: float


@dataclass
class Paced:
    """The producer thread's record: (occurred_at µs, sequence number) of measured events."""

    measured: list[tuple[int, int]] = field(default_factory=list)
    sent: int = 0
    measure_from: float = math.inf  # wall clock: events handed over from then on count
    measure_until: float = math.inf
    stop: threading.Event = field(default_factory=threading.Event)
    error: KafkaError | None = None


def demo_values() -> Iterator[dict[str, object]]:
    """The dense demo load as dicts, endless (leads renamed per pass so they stay new)."""
    rounds = 0
    while True:
        for line in generate(20_000, seed=7 + rounds):
            event = orjson.loads(line)
            event["lead_id"] = f"r{rounds}-{event['lead_id']}"
            event["event_id"] = f"r{rounds}-{event['event_id']}"
            yield event
        rounds += 1


def produce_paced(brokers: str, topics: TopicNames, rate: float, paced: Paced) -> None:
    """Send demo events at ``rate``/s until ``paced.stop``; occurred_at = hand-over time."""
    producer = KafkaProducer(bootstrap_servers=brokers.split(","), acks="all", linger_ms=5,
                             client_id="leadclock-freshness")
    events = demo_values()
    try:
        started = time.monotonic()
        while not paced.stop.is_set():
            due = int((time.monotonic() - started) * rate)
            while paced.sent < due:
                event = next(events)
                at_us = time.time_ns() // 1000
                event["occurred_at"] = format_us(at_us)
                value = orjson.dumps(event)
                topic, key = route(value, topics)
                producer.send(topic, key=key, value=value)
                paced.sent += 1
                if paced.measure_from <= at_us / 1e6 < paced.measure_until:
                    paced.measured.append((at_us, paced.sent))
            time.sleep(TICK_S)
        producer.flush()
    except KafkaError as error:  # reported by the main thread
        paced.error = error
    finally:
        producer.close()


@dataclass
class Polls:
    """(answer arrival wall time, as_of µs or None, query seconds) of every poll."""

    answers: list[tuple[float, int | None, float]] = field(default_factory=list)
    failures: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def poll(dsn: str, sql: str, every_s: float, polls: Polls) -> None:
    """Run ``sql`` every ``every_s`` until ``polls.stop``; a refused poll is counted."""
    client = None
    while not polls.stop.is_set():
        began = time.time()
        try:
            if client is None:
                client = connect(dsn)
            rows = client.query(sql).result_rows
            as_of = rows[0][0] if rows and rows[0][0] is not None else None
            polls.answers.append((time.time(), as_of, time.time() - began))
        except (ClickHouseError, ClickHouseUnavailable):
            polls.failures += 1  # the database is not shared yet, or a query failed
        time.sleep(max(0.0, every_s - (time.time() - began)))
    if client is not None:
        client.close()


def delays(measured: list[tuple[int, int]], answers: list[tuple[float, int | None, float]],
           probe: str) -> tuple[list[float], int]:
    """Seconds from each measured occurred_at to the first answer that covers it; unseen."""
    seen: list[float] = []
    i = 0
    for at_us, seq in measured:  # both ascending
        mark = at_us if probe == "clock" else seq
        while i < len(answers):
            answer = answers[i][1]
            if answer is not None and answer >= mark:
                break
            i += 1
        if i == len(answers):
            return seen, len(measured) - len(seen)
        seen.append(answers[i][0] - at_us / 1e6)
    return seen, 0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def calibrate(args: argparse.Namespace, tag: str, workdir: Path) -> float:
    """The worker's maximum rate from a backlog of demo events (as worker_bench does)."""
    prefix = f"{tag}-cal."
    topics = TopicNames.with_prefix(prefix)
    events = produce_topics(args.brokers, topics, args.partitions, args.calibrate_events)
    port = free_port()
    group = f"{tag}-cal"
    argv = worker_argv(args.brokers, prefix, args.partitions, workdir / group, group, port,
                       False, [])
    run = run_worker("calibration", argv, workdir / group, args.brokers, group,
                     topics.consumed, events, port, args.timeout)
    print(f"calibration: worker caught up {events:,} events at {run.rate:,.0f} events/s")
    return run.rate


def wait_first_message(child: Child, directory: Path, timeout_s: float) -> None:
    """Until the worker consumes and shares its database (a poll before that would
    open the directory itself and keep the worker out)."""
    deadline = time.monotonic() + timeout_s
    while child.log.first(FIRST_MESSAGE) is None or endpoint.read(directory) is None:
        if child.process.poll() is not None:
            raise SystemExit(f"worker exited early:\n{child.log.tail()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"worker got no message in {timeout_s:.0f}s:\n{child.log.tail()}")
        time.sleep(0.05)


def measure(args: argparse.Namespace, tag: str, workdir: Path, rate: float) -> Freshness:
    prefix = f"{tag}."
    topics = TopicNames.with_prefix(prefix)
    ensure_topics(args.brokers, topics.created, args.partitions, topics.configs)
    group = f"{tag}-fresh"
    directory = workdir / group / "clickhouse"
    dsn = f"chdb://{directory}"
    argv = worker_argv(args.brokers, prefix, args.partitions, workdir / group, group,
                       free_port(), False, [])
    child = start_child(argv, workdir / group)
    paced, polls = Paced(), Polls()
    producer = threading.Thread(target=produce_paced, args=(args.brokers, topics, rate, paced),
                                daemon=True)
    poller = threading.Thread(target=poll, args=(dsn, PROBES[args.probe], args.poll, polls),
                              daemon=True)
    try:
        producer.start()
        wait_first_message(child, directory, args.timeout)
        poller.start()
        paced.measure_from = time.time() + args.warmup
        paced.measure_until = paced.measure_from + args.duration
        print(f"worker consuming; measuring {args.duration:.0f}s of load at {rate:,.0f} "
              f"events/s after a {args.warmup:.0f}s warm-up ({load_note()})", flush=True)
        time.sleep(args.warmup + args.duration)
        paced.stop.set()
        producer.join(timeout=30)
        if paced.error is not None:
            raise SystemExit(f"producer failed: {paced.error}")
        last = paced.measured[-1][0 if args.probe == "clock" else 1] if paced.measured else 0
        deadline = time.monotonic() + SEEN_TIMEOUT_S
        while time.monotonic() < deadline:
            answers = polls.answers
            if answers and (answers[-1][1] or 0) >= last:
                break
            time.sleep(0.1)
    finally:
        polls.stop.set()
        poller.join(timeout=10)
        exit_code, _usage, _reaped = child.finish()
    seen, unseen = delays(paced.measured, polls.answers, args.probe)
    if not seen:
        raise SystemExit(f"no measured event became visible; worker log:\n{child.log.tail()}")
    query_s = [a[2] for a in polls.answers]
    gaps = [b[0] - a[0] for a, b in zip(polls.answers, polls.answers[1:], strict=False)]
    return Freshness(
        probe=args.probe, rate=rate, duration_s=args.duration, measured_events=len(paced.measured),
        unseen=unseen, p50_s=quantile(seen, 0.5), p99_s=quantile(seen, 0.99),
        max_s=max(seen), mean_s=statistics.fmean(seen), polls=len(polls.answers),
        poll_failures=polls.failures, poll_interval_median_s=statistics.median(gaps),
        poll_query_median_s=statistics.median(query_s), worker_exit=exit_code,
        load=os.getloadavg()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=None,
                        help="events/s to produce (default: half the measured maximum)")
    parser.add_argument("--calibrate-events", type=int, default=20_000,
                        help="backlog size to measure the maximum with (default 20,000)")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds of measured steady load (default 60)")
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds of load after the worker's first message that are "
                             "not measured (default 10)")
    parser.add_argument("--poll", type=float, default=0.05,
                        help="seconds between polls of v_clock (default 0.05)")
    parser.add_argument("--probe", choices=sorted(PROBES), default="clock",
                        help="clock: as_of of v_clock against occurred_at; count: accepted "
                             "events of v_ingest_accounting against the produce sequence")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--brokers", default=os.environ.get("LEADCLOCK_BROKERS",
                                                            "127.0.0.1:9092"))
    parser.add_argument("--timeout", type=float, default=400.0,
                        help="seconds the worker may take to start or catch up")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures to PATH as JSON")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory, topics and consumer groups")
    args = parser.parse_args()
    tag = f"bench-{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-freshness-"))
    groups = [f"{tag}-cal", f"{tag}-fresh"]
    print(f"run {tag}: brokers {args.brokers}, dir {workdir}; {load_note()}")
    try:
        rate = args.rate if args.rate is not None else calibrate(args, tag, workdir) / 2
        figures = measure(args, tag, workdir, rate)
        print(f"freshness at {rate:,.0f} events/s over {args.duration:.0f}s: "
              f"{figures.measured_events:,} events measured, {figures.unseen} unseen; "
              f"produce -> queryable p50 {figures.p50_s:.2f}s, p99 {figures.p99_s:.2f}s, "
              f"max {figures.max_s:.2f}s (goal p99 <= 2 s)")
        print(f"  {figures.polls:,} polls ({PROBES[args.probe]}), median every "
              f"{figures.poll_interval_median_s * 1000:.0f} ms, median query "
              f"{figures.poll_query_median_s * 1000:.0f} ms; {load_note()}")
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_bytes(orjson.dumps({"benchmark": "freshness_bench",
                                                **dataclasses.asdict(figures)},
                                               option=orjson.OPT_INDENT_2))
    finally:
        if args.keep:
            print(f"kept {workdir}, topics {tag}*, groups {', '.join(groups)}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            delete_kafka_leftovers(args.brokers, tag, groups)


if __name__ == "__main__":
    main()
