"""Work per event by a lead's event index: ClickHouse rows and changelog bytes for its k-th event.

Run from the repository root with the venv's Python, a broker on ``--brokers``::

    .venv/bin/python benchmarks/work_per_event.py [--leads 4000] [--partitions 4]
        [--json PATH] [--keep]

Issue 12 (goal 5): the work the worker does for an event should follow what the event
changed, not how many events its lead already had (today each event rewrites all of
its lead's rows and its whole state). What it does:

1. the dense demo load (``streams.demo.generate``, ``--leads`` leads, 1 to 14 events
   each) is split into rounds: round k holds the k-th event (in event time) of every
   lead that has one;
2. ``leadclock worker`` (default settings) runs on fresh topics with a fresh group and
   embedded ClickHouse; round k is produced (keyed by lead, like ``leadclock produce``)
   only once the group has committed all of round k-1, so in round k every lead gets
   exactly one event, its k-th, and the worker's batches hold one event per lead;
3. after each round it reads, through the worker's gateway, ClickHouse's
   ``InsertedRows`` counter of the worker process (every row of every table inserted,
   ``_work.py``) and the end offsets of the worker's changelog topics; at the end it
   reads the changelog records back (kafka-python) and assigns them to rounds by offset.

Reported per index k: events, ClickHouse rows inserted per event, changelog records and
value bytes per event, and the events' own mean size; plus the whole-run means. Work
that does not grow with history shows flat columns. Note this is the worst batching for
a per-lead write path (one event per lead per batch); ``worker_bench.py`` reports the
same means for the load in time order. ``--keep`` keeps the temporary directory,
topics and group.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from _work import Record, changelog_topics, inserted_rows, read_records
from _worker_run import (
    FIRST_MESSAGE,
    caught_up,
    delete_kafka_leftovers,
    free_port,
    load_note,
    start_child,
    worker_argv,
)
from kafka import KafkaProducer

from sinks import endpoint
from streams.demo import generate
from streams.kafka.admin import end_offsets, ensure_topics
from streams.kafka.produce import route
from streams.kafka.topics import TopicNames


@dataclass
class Round:
    index: int
    events: int
    event_bytes: int
    rows: int = 0  # InsertedRows after the round minus before it
    changelog_ends: dict[tuple[str, int], int] | None = None  # after the round
    changelog_records: int = 0
    changelog_bytes: int = 0


def rounds_of(leads: int) -> list[list[bytes]]:
    """The demo lines grouped by the index of the event within its lead (1-based)."""
    seen: dict[str, int] = defaultdict(int)
    rounds: list[list[bytes]] = []
    for line in generate(leads):
        lead = orjson.loads(line)["lead_id"]
        seen[lead] += 1
        k = seen[lead]
        while len(rounds) < k:
            rounds.append([])
        rounds[k - 1].append(line)
    return rounds


def wait_until(check: Callable[[], object], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not after {timeout_s:.0f}s")
        time.sleep(0.2)


def changelog_ends(brokers: str, app_id: str) -> dict[tuple[str, int], int]:
    topics = changelog_topics(brokers, app_id)
    if not topics:
        return {}
    return {(tp.topic, tp.partition): end for tp, end in end_offsets(brokers, topics).items()}


def run(args: argparse.Namespace, tag: str, workdir: Path) -> list[Round]:
    prefix = f"{tag}."
    topics = TopicNames.with_prefix(prefix)
    ensure_topics(args.brokers, topics.created, args.partitions, topics.configs)
    group = f"{tag}-work"
    directory = workdir / group / "clickhouse"
    dsn = f"chdb://{directory}"
    argv = worker_argv(args.brokers, prefix, args.partitions, workdir / group, group,
                       free_port(), False, [])
    grouped = rounds_of(args.leads)
    child = start_child(argv, workdir / group)
    producer = KafkaProducer(bootstrap_servers=args.brokers.split(","), acks="all",
                             linger_ms=20, client_id="leadclock-bench")
    rounds: list[Round] = []
    try:
        wait_until(lambda: endpoint.read(directory) is not None or child.process.poll(),
                   "the worker's gateway", args.timeout)
        before = inserted_rows(dsn)
        for k, lines in enumerate(grouped, start=1):
            for line in lines:
                topic, key = route(line, topics)
                producer.send(topic, key=key, value=line)
            producer.flush()
            if k == 1:
                wait_until(lambda: child.log.first(FIRST_MESSAGE) is not None,
                           "the worker's first message", args.timeout)
            wait_until(lambda: caught_up(args.brokers, group, topics.consumed) is True,
                       f"round {k} committed", args.timeout)
            after = inserted_rows(dsn)
            rounds.append(Round(k, len(lines), sum(len(x) for x in lines), after - before,
                                changelog_ends(args.brokers, group)))
            before = after
            print(f"  round {k}: {len(lines):,} events, {rounds[-1].rows:,} rows inserted",
                  flush=True)
        records = {topic: read_records(args.brokers, topic)
                   for topic in changelog_topics(args.brokers, group)}
    finally:
        producer.close()
        child.finish()
    assign_changelog(rounds, records)
    return rounds


def assign_changelog(rounds: list[Round], records: dict[str, list[Record]]) -> None:
    """Each round's changelog records: offsets between the previous round's ends and its."""
    previous: dict[tuple[str, int], int] = {}
    for r in rounds:
        ends = r.changelog_ends or {}
        count = size = 0
        for topic, found in records.items():
            for rec in found:
                tp = (topic, rec.partition)
                if previous.get(tp, 0) <= rec.offset < ends.get(tp, 0):
                    count += 1
                    size += rec.size
        r.changelog_records, r.changelog_bytes = count, size
        previous = ends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=4000,
                        help="leads of the demo load (~5.4 events each; default 4,000)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--brokers", default=os.environ.get("LEADCLOCK_BROKERS",
                                                            "127.0.0.1:9092"))
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds each round may take (default 120)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures to PATH as JSON")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory, topics and consumer group")
    args = parser.parse_args()
    tag = f"bench-{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-work-"))
    print(f"run {tag}: brokers {args.brokers}, dir {workdir}; {load_note()}")
    try:
        rounds = run(args, tag, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}, topics {tag}*, group {tag}-work")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            delete_kafka_leftovers(args.brokers, tag, [f"{tag}-work"])
    print(f"\n{'index':>5} {'events':>8} {'rows/ev':>8} {'chg rec/ev':>10} "
          f"{'chg B/ev':>9} {'event B':>8}")
    table = []
    for r in rounds:
        rec, size = r.changelog_records, r.changelog_bytes
        row = {"index": r.index, "events": r.events, "rows_per_event": r.rows / r.events,
               "changelog_records_per_event": rec / r.events,
               "changelog_bytes_per_event": size / r.events,
               "event_bytes": r.event_bytes / r.events}
        table.append(row)
        print(f"{r.index:>5} {r.events:>8,} {row['rows_per_event']:>8.2f} "
              f"{row['changelog_records_per_event']:>10.2f} "
              f"{row['changelog_bytes_per_event']:>9.0f} {row['event_bytes']:>8.0f}")
    events = sum(r.events for r in rounds)
    means = {"rows_per_event": sum(r.rows for r in rounds) / events,
             "changelog_bytes_per_event":
                 sum(r.changelog_bytes for r in rounds) / events,
             "event_bytes": statistics.fmean(x["event_bytes"] for x in table)}
    print(f"whole run: {events:,} events, {means['rows_per_event']:.2f} rows/event, "
          f"{means['changelog_bytes_per_event']:.0f} changelog B/event; {load_note()}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(
            {"benchmark": "work_per_event", "leads": args.leads, "events": events,
             "by_index": table, "means": means, "load": os.getloadavg()[0]},
            option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
