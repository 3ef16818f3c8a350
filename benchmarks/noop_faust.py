"""A Faust app whose one agent does nothing: the ceiling of any Faust worker on these topics.

Started by ``worker_bench.py`` as a child process, like ``leadclock worker``, on the
same topics with a fresh consumer group (= ``--app-id``), so the two runs can be compared
message for message (issue 12, goal 2)::

    .venv/bin/python benchmarks/noop_faust.py --brokers 127.0.0.1:9092 --app-id G \
        --topics bench-x.email_opens,bench-x.clicks --partitions 4 --data-dir DIR

Why these settings: the same as the worker's Faust app (``streams.faust_app.app``)
where they touch consumption (earliest offsets, raw bytes key/value so nothing is
decoded, topic partitions, Faust's default commit interval), and nothing else: no
table, no changelog, no sink, no acks held back. Each message is acknowledged when the
agent takes the next one (Faust's default), and Faust commits acknowledged offsets every
``broker_commit_interval``; the benchmark stops it once the group's committed offsets
reach the end. It prints ``processing: first message X.Xs after start`` once, like the
worker, so the benchmark measures both from their first message, and with ``--expect N``
one more line when it has taken N messages (the end of processing, before the commit).
With ``--gc-tuned`` it applies the worker's garbage-collector settings once started
(``streams.faust_app.gc_tuning``), so that what those settings gain is not counted as
leadclock's own.

With ``--table`` the agent is the smallest *stateful* one instead: per message it reads
the table entry of the message's key and writes the message's value there, in a RocksDB
table with a changelog and the worker's producer linger, as the worker does once per
message with a lead's state (the benchmark keys every message by its lead, so the
topics are co-partitioned with the table). It measures what a Faust table costs per
message, which any Faust worker keeping per-lead state pays. ``--table-batch N`` writes
each key once per N messages instead (its newest value, in the partition of its last
message), to measure what batching the table writes would gain.
"""

from __future__ import annotations

import argparse
import sys
import time
import weakref
from typing import Any

import faust
from faust.streams import _current_event  # which partition a table write goes to

from streams.faust_app.gc_tuning import tune_after_start

ALL_TAKEN = "noop: all expected messages taken"


def build(args: argparse.Namespace) -> faust.App:
    """The app: one raw-bytes source over ``--topics`` and an agent that only iterates."""
    started = time.monotonic()
    options: dict[str, object] = {"store": "memory://"}
    if args.table:  # the worker's store and producer linger (streams.faust_app.app)
        options = {"store": "rocksdb://", "producer_linger": 0.05}
    app = faust.App(
        args.app_id,
        broker=[f"kafka://{b}" for b in args.brokers.split(",")],
        datadir=args.data_dir,
        topic_partitions=args.partitions,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        **options,
    )
    source = app.topic(*args.topics.split(","), key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    table = (app.Table("noop_state", partitions=args.partitions, key_type=bytes,
                       value_type=bytes) if args.table else None)

    async def noop(stream: faust.StreamT[bytes]) -> None:
        """Take every message and do nothing with it (the first one is announced).

        With a table: read and write the entry of the message's key.
        """
        taken = 0
        pending: dict[bytes, tuple[bytes, Any]] = {}
        async for value in stream:
            taken += 1
            if table is not None:
                event = stream.current_event
                key = (event.key if event is not None else None) or b""
                if not args.table_batch:
                    table.get(key)
                    table[key] = value
                else:
                    if key not in pending:
                        table.get(key)
                    pending[key] = (value, event)
                    if taken % args.table_batch == 0 or taken == args.expect:
                        write_pending(pending)
            if taken == 1:
                print(f"processing: first message {time.monotonic() - started:.1f}s "
                      "after start", file=sys.stderr, flush=True)
            if taken == args.expect:
                print(f"{ALL_TAKEN} ({taken:,})", file=sys.stderr, flush=True)

    def write_pending(pending: dict[bytes, tuple[bytes, Any]]) -> None:
        """Each pending key once, in the partition of its last message (``--table-batch``).

        A table write takes its RocksDB partition and changelog partition from the event
        being processed, so each write runs as if its key's last message were.
        """
        assert table is not None
        for key, (value, event) in pending.items():
            token = _current_event.set(weakref.ref(event))
            try:
                table[key] = value
            finally:
                _current_event.reset(token)
        pending.clear()

    app.agent(source, name="bench.noop")(noop)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--app-id", required=True, help="Faust app id = consumer group")
    parser.add_argument("--topics", required=True, help="comma-separated topic names")
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--expect", type=int, default=0,
                        help="print a line when this many messages have been taken")
    parser.add_argument("--gc-tuned", action="store_true",
                        help="the worker's garbage-collector settings, once started")
    parser.add_argument("--table", action="store_true",
                        help="read and write a table entry per message (a stateful agent)")
    parser.add_argument("--table-batch", type=int, default=0, metavar="N",
                        help="with --table: write each key once per N messages instead "
                             "(its newest value; reads of keys not pending yet as before)")
    args = parser.parse_args()
    app = build(args)
    kind = GcTunedWorker if args.gc_tuned else faust.Worker
    worker = kind(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


class GcTunedWorker(faust.Worker):
    """Faust's worker with leadclock's garbage-collector settings once started."""

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        tune_after_start()


if __name__ == "__main__":
    main()
