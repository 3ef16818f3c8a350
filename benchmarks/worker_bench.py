"""Worker benchmark: ``leadclock worker`` against a bare consume loop, on the same topics.

Run from the repository root with the venv's Python, a broker on ``--brokers``::

    .venv/bin/python benchmarks/worker_bench.py [--events 100000] [--partitions 4] [--keep]
        [--misrouted 0.0..1.0] [--no-unsafe]

What it does, in one run, on ONE set of freshly produced topics (prefix ``bench-<hex>.``):

1. produces ``--events`` demo events (``streams.demo.generate``, ~5.4 per lead) to the
   four event topics, keyed by ``lead_id``; with ``--misrouted F`` a share F of them is
   sent to another partition than their lead's (as a CRC32 producer such as kcat would),
   so the worker moves them through the rerouted topic (the repartition hop);
2. baseline: a bare kafka-python loop (assign every partition, seek to the beginning,
   poll until all N messages are read, ``orjson.loads`` each value): events/s;
3. ``leadclock worker`` (default: ack after flush, effectively-once) as a child process
   with a fresh app id / consumer group, table directory and embedded ClickHouse; the
   run ends when the group's committed offsets reach the end offsets (polled every
   0.5 s with ``streams.kafka.admin.group_lag``). Reports events/s =
   N / (caught up - "processing: first message" log line), startup time, peak RSS
   (``ru_maxrss`` of the child from ``os.wait4``), the worker's last progress line and
   its flush-duration histogram scraped from ``/metrics`` just before SIGTERM;
4. the same with ``--unsafe-auto-ack`` (ack before flush) on a new group and dirs, which
   gives the cost of the guarantee (``--no-unsafe`` skips it).

Freshness is not measured end to end (the embedded ClickHouse is single-process, so
nothing else can read it while the worker runs). Instead the benchmark reports the sink
flush duration distribution plus the batching bound: an entry waits at most ~1 s (or
until 20 000 entries are pending) before a flush starts. ``--keep`` keeps the temporary
directory (worker logs, table store, ClickHouse data), the topics and consumer groups.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson
from _common import leadclock
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families

from streams.demo import generate
from streams.engine.routing import home_partition
from streams.kafka.admin import admin_client, end_offsets, ensure_topics, group_lag
from streams.kafka.exceptions import BrokerUnavailable
from streams.kafka.produce import produce, route
from streams.kafka.topics import TopicNames

EVENTS_PER_LEAD = 5.4  # what streams/demo.py generates on average
LAG_POLL_S = 0.5
LOG_POLL_S = 0.05
STOP_GRACE_S = 30.0
FAUST_COMMIT_INTERVAL_S = 2.8  # faust-streaming's broker_commit_interval default
SINK_MAX_AGE_S = 1.0  # streams.engine.buffer.OutputBuffer.max_age_s
SINK_MAX_PENDING = 20_000  # streams.engine.buffer.OutputBuffer.max_pending
FLUSH_TIMER_S = 0.5  # streams.faust_app.timers.FLUSH_CHECK_S
FIRST_MESSAGE = "processing: first message"
PROGRESS_RE = re.compile(
    r"worker: ([\d,]+) received: ([\d,]+) accepted, ([\d,]+) duplicates, "
    r"([\d,]+) rejected, [\d,]+ rerouted; ([\d,]+) lead writes in ([\d,]+) flushes"
)


# --------------------------------------------------------------------------- helpers


def load_note() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def demo_lines(events: int) -> Iterator[bytes]:
    """Exactly ``events`` demo lines (the generator is cut, it yields in time order)."""
    leads = math.ceil(events / EVENTS_PER_LEAD * 1.03) + 10
    return itertools.islice(generate(leads), events)


# --------------------------------------------------------------------------- produce


def produce_misrouted(lines: Iterator[bytes], brokers: str, topics: TopicNames,
                      partitions: int, share: float) -> int:
    """Like ``leadclock produce``, but a ``share`` of the events on a wrong partition."""
    rng = random.Random(7)
    producer = KafkaProducer(bootstrap_servers=brokers.split(","), acks="all", linger_ms=20)
    sent = 0
    for line in lines:
        topic, key = route(line, topics)
        home = home_partition(key or b"", partitions)
        wrong = partitions > 1 and rng.random() < share
        producer.send(topic, key=key, value=line,
                      partition=(home + 1) % partitions if wrong else home)
        sent += 1
    producer.flush()
    producer.close()
    return sent


def produce_topics(brokers: str, topics: TopicNames, partitions: int, events: int,
                   misrouted: float = 0.0) -> int:
    ensure_topics(brokers, topics.created, partitions, topics.configs)
    started = time.perf_counter()
    sent = (produce_misrouted(demo_lines(events), brokers, topics, partitions, misrouted)
            if misrouted else produce(demo_lines(events), brokers, topics))
    seconds = time.perf_counter() - started
    stored = sum(end_offsets(brokers, topics.events).values())
    if stored != sent:
        raise SystemExit(f"produced {sent:,} events but the topics hold {stored:,}")
    print(f"produce: {sent:,} events to {len(topics.events)} topics x {partitions} "
          f"partitions in {seconds:.1f}s ({sent / seconds:,.0f} events/s), "
          f"{misrouted:.0%} on another partition than their lead's")
    return sent


# --------------------------------------------------------------------------- baseline


@dataclass
class Baseline:
    events: int
    wall_s: float  # consumer creation to the last message
    read_s: float  # first message to the last message

    @property
    def rate(self) -> float:
        return self.events / self.read_s


def baseline(brokers: str, topics: TopicNames, events: int, timeout_s: float) -> Baseline:
    """Bare consume + decode of every event message: the floor of any Python consumer."""
    started = time.perf_counter()
    consumer = KafkaConsumer(bootstrap_servers=brokers.split(","), group_id=None,
                             enable_auto_commit=False, client_id="leadclock-bench")
    try:
        partitions = [TopicPartition(topic, p) for topic in topics.events
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        loads = orjson.loads
        count = 0
        first: float | None = None
        deadline = started + timeout_s
        while count < events:
            if time.perf_counter() > deadline:
                raise SystemExit(f"baseline: only {count:,} of {events:,} read in "
                                 f"{timeout_s:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                if first is None:
                    first = time.perf_counter()
                for record in records:
                    loads(record.value)
                count += len(records)
        ended = time.perf_counter()
    finally:
        consumer.close()
    assert first is not None
    return Baseline(count, ended - started, ended - first)


# --------------------------------------------------------------------------- worker run


@dataclass
class LogLine:
    at: float  # time.monotonic() when the line arrived
    text: str


@dataclass
class WorkerLog:
    """The worker's merged stdout/stderr, timestamped on arrival and copied to a file."""

    path: Path
    lines: list[LogLine] = field(default_factory=list)

    def pump(self, stream: IO[bytes]) -> None:
        with self.path.open("w", encoding="utf-8") as out:
            for raw in iter(stream.readline, b""):
                text = raw.decode("utf-8", errors="replace").rstrip("\n")
                self.lines.append(LogLine(time.monotonic(), text))
                out.write(text + "\n")
                out.flush()

    def first(self, needle: str) -> LogLine | None:
        return next((line for line in list(self.lines) if needle in line.text), None)

    def progress(self) -> list[tuple[LogLine, tuple[int, ...]]]:
        found = []
        for line in list(self.lines):
            match = PROGRESS_RE.search(line.text)
            if match is not None:
                found.append((line, tuple(int(g.replace(",", "")) for g in match.groups())))
        return found

    def tail(self, n: int = 30) -> str:
        return "\n".join(line.text for line in self.lines[-n:])


@dataclass
class Histogram:
    buckets: list[tuple[float, float]]  # (upper bound, cumulative count), ascending
    count: float
    total: float

    def quantile(self, q: float) -> float:
        """Prometheus ``histogram_quantile``: linear interpolation inside the bucket."""
        if self.count == 0:
            return math.nan
        rank = q * self.count
        lower, below = 0.0, 0.0
        for bound, cumulative in self.buckets:
            if cumulative >= rank:
                if math.isinf(bound):
                    return lower  # the highest finite bound, as Prometheus does
                if cumulative == below:
                    return bound
                return lower + (bound - lower) * (rank - below) / (cumulative - below)
            lower, below = bound, cumulative
        return lower


@dataclass
class WorkerRun:
    label: str
    events: int
    startup_s: float  # process start -> "processing: first message" line
    startup_reported: str  # the worker's own "X.Xs after start" (since build_app)
    processed_s: float | None  # first message -> first progress line with all N received
    caught_up_s: float  # first message -> lag 0 seen
    total_s: float  # process start -> lag 0 seen
    life_s: float  # process start -> reaped (CPU figures cover this)
    max_rss_kib: int
    user_s: float
    sys_s: float
    exit_code: int
    last_progress: str
    flushes: Histogram | None
    failed_polls: int  # lag polls the broker did not answer (result disturbed)

    @property
    def rate(self) -> float:
        return self.events / self.caught_up_s


def worker_argv(brokers: str, prefix: str, partitions: int, workdir: Path, app_id: str,
                metrics_port: int, unsafe: bool, extra: list[str]) -> list[str]:
    argv = [leadclock(), "worker", "--brokers", brokers, "--topic-prefix", prefix,
            "--partitions", str(partitions), "--clickhouse", f"chdb://{workdir / 'clickhouse'}",
            "--app-id", app_id, "--data-dir", str(workdir / "table"), "--progress-every", "1",
            "--metrics-port", str(metrics_port), *extra]
    return [*argv, "--unsafe-auto-ack"] if unsafe else argv


def scrape_flush_histogram(port: int) -> Histogram | None:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name != "leadclock_sink_flush_seconds":
            continue
        buckets, count, total = [], 0.0, 0.0
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_sum"):
                total = sample.value
        return Histogram(sorted(buckets), count, total)
    return None


def caught_up(brokers: str, group: str, topics: TopicNames) -> bool | None:
    """Whether the group has committed every event; None if the broker did not answer."""
    try:
        lags = group_lag(brokers, group, topics.consumed)
    except (BrokerUnavailable, KafkaError) as error:
        print(f"  lag poll failed: {type(error).__name__}: {error}")
        return None
    return bool(lags) and all(behind <= 0 for behind in lags.values())


def wait_caught_up(process: subprocess.Popen[bytes], log: WorkerLog, brokers: str,
                   group: str, topics: TopicNames, timeout_s: float) -> tuple[float, int]:
    """Poll the group's lag every 0.5 s; return when it was seen at 0, failed polls."""
    failed = 0
    deadline = time.monotonic() + timeout_s
    next_poll = time.monotonic()
    while True:
        if process.poll() is not None:
            raise SystemExit(f"worker exited early ({process.returncode}):\n{log.tail()}")
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(f"worker not caught up after {timeout_s:.0f}s:\n{log.tail()}")
        if now >= next_poll and log.first(FIRST_MESSAGE) is not None:
            next_poll = now + LAG_POLL_S
            answer = caught_up(brokers, group, topics)
            if answer:
                return time.monotonic(), failed
            failed += answer is None
        time.sleep(LOG_POLL_S)


def stop(process: subprocess.Popen[bytes],
         grace_s: float) -> tuple[int, resource.struct_rusage | None]:
    """SIGTERM, SIGKILL after ``grace_s``; reap with wait4 to get the child's own rusage."""
    if process.returncode is not None:
        return process.returncode, None
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage
        if time.monotonic() > deadline:
            process.kill()
            _pid, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage
        time.sleep(0.05)


def run_worker(label: str, argv: list[str], workdir: Path, brokers: str, group: str,
               topics: TopicNames, events: int, metrics_port: int,
               timeout_s: float) -> WorkerRun:
    workdir.mkdir(parents=True)
    log = WorkerLog(workdir / "worker.log")
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    reader = threading.Thread(target=log.pump, args=(process.stdout,), daemon=True)
    reader.start()
    usage: resource.struct_rusage | None = None
    try:
        done, failed_polls = wait_caught_up(process, log, brokers, group, topics, timeout_s)
        flushes = scrape_flush_histogram(metrics_port)
    finally:
        exit_code, usage = stop(process, STOP_GRACE_S)
        reaped = time.monotonic()
        reader.join(timeout=5)
        process.stdout.close()
    first = log.first(FIRST_MESSAGE)
    assert first is not None and usage is not None
    reported = re.search(r"first message ([0-9.]+s) after start", first.text)
    progress = log.progress()
    all_in = next((line for line, nums in progress if nums[0] >= events), None)
    return WorkerRun(
        label=label, events=events,
        startup_s=first.at - started,
        startup_reported=reported.group(1) if reported else "?",
        processed_s=None if all_in is None else all_in.at - first.at,
        caught_up_s=done - first.at, total_s=done - started, life_s=reaped - started,
        max_rss_kib=usage.ru_maxrss, user_s=usage.ru_utime, sys_s=usage.ru_stime,
        exit_code=exit_code,
        last_progress=progress[-1][0].text if progress else "(no progress line)",
        flushes=flushes, failed_polls=failed_polls,
    )


def report_worker(run: WorkerRun, base: Baseline) -> None:
    processed = ("?" if run.processed_s is None
                 else f"{run.processed_s:.1f}s (first progress line with all received, 1 s res.)")
    print(f"{run.label}: {run.events:,} events, {run.rate:,.0f} events/s "
          f"({run.rate / base.rate:.2f}x baseline)")
    print(f"  startup {run.startup_s:.1f}s to first message (worker says "
          f"{run.startup_reported} after build_app started); first message -> committed "
          f"{run.caught_up_s:.1f}s; all received after {processed}")
    cpu = (run.user_s + run.sys_s) / run.life_s * 100
    print(f"  process start -> caught up {run.total_s:.1f}s; CPU user {run.user_s:.1f}s "
          f"sys {run.sys_s:.1f}s over {run.life_s:.1f}s alive ({cpu:.0f}% of one core); "
          f"peak RSS {run.max_rss_kib / 1024:,.0f} MiB; exit {run.exit_code} after SIGTERM")
    print(f"  last progress: {run.last_progress}")
    print(f"  flushes: {flush_text(run.flushes)}")
    if run.failed_polls:
        print(f"  WARNING: {run.failed_polls} lag polls got no answer from the broker; "
              "this run's timing is disturbed")


def flush_text(hist: Histogram | None) -> str:
    if hist is None or hist.count == 0:
        return "no leadclock_sink_flush_seconds samples"
    return (f"leadclock_sink_flush_seconds count {hist.count:.0f}, "
            f"p50 ~{hist.quantile(0.5) * 1000:,.0f} ms, p99 ~{hist.quantile(0.99) * 1000:,.0f} ms"
            f", mean {hist.total / hist.count * 1000:,.0f} ms")


# --------------------------------------------------------------------------- cleanup


def delete_kafka_leftovers(brokers: str, tag: str, groups: list[str]) -> None:
    """Delete the run's topics (events, DLQ, Faust changelogs) and consumer groups."""
    try:
        admin = admin_client(brokers)
    except BrokerUnavailable as error:
        print(f"cleanup: topics {tag}* and groups left behind ({error})")
        return
    try:
        ours = [t for t in admin.list_topics() if t.startswith(tag)]
        if ours:
            admin.delete_topics(ours)
        failed = {g: e for g, e in admin.delete_groups(groups).items() if e != "OK"}
        if failed:
            print(f"cleanup: consumer groups not deleted: {failed}")
    except KafkaError as error:
        print(f"cleanup: could not delete all of {tag}* ({type(error).__name__}: {error})")
    finally:
        admin.close()


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000,
                        help="events to produce and consume (default 100,000)")
    parser.add_argument("--partitions", type=int, default=4,
                        help="partitions of every event topic (default 4)")
    parser.add_argument("--brokers", default=os.environ.get("LEADCLOCK_BROKERS",
                                                            "127.0.0.1:9092"))
    parser.add_argument("--timeout", type=float, default=400.0,
                        help="seconds each phase may take before the run fails (default 400)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory, topics and consumer groups")
    parser.add_argument("--misrouted", type=float, default=0.0, metavar="SHARE",
                        help="share of events sent to another partition than their lead's "
                             "(0.0-1.0; default 0): measures the repartition hop")
    parser.add_argument("--no-unsafe", action="store_true",
                        help="skip the --unsafe-auto-ack run")
    parser.add_argument("--worker-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for both worker runs, repeatable, e.g. "
                             "--worker-arg=--state-ttl --worker-arg=90d")
    return parser.parse_args()


def summary(base: Baseline, safe: WorkerRun, unsafe: WorkerRun) -> None:
    cost = (unsafe.rate - safe.rate) / unsafe.rate * 100
    print()
    print("summary")
    print(f"  {load_note()}")
    print(f"  baseline consume+decode:          {base.rate:>9,.0f} events/s")
    print(f"  worker, ack after flush (default): {safe.rate:>8,.0f} events/s = "
          f"{safe.rate / base.rate:.3f}x baseline")
    print(f"  worker, --unsafe-auto-ack:         {unsafe.rate:>8,.0f} events/s = "
          f"{unsafe.rate / base.rate:.3f}x baseline")
    print(f"  cost of the guarantee:            {cost:>9.1f} % of unsafe throughput "
          f"(negative = safe run was faster; single runs, noisy)")
    print(f"  peak RSS: {safe.max_rss_kib / 1024:,.0f} MiB (safe), "
          f"{unsafe.max_rss_kib / 1024:,.0f} MiB (unsafe)")
    print(f"  flush duration (safe):   {flush_text(safe.flushes)}")
    print(f"  flush duration (unsafe): {flush_text(unsafe.flushes)}")
    print("  what the flush figures are: time of each successful flush (one "
          "ClickHouse write of the batch), estimated from the Prometheus histogram buckets "
          "by linear interpolation. NOT produce-to-visible latency.")
    print(f"  batch age bound: an entry waits <= {SINK_MAX_AGE_S:.0f} s (checked per message "
          f"and by a {FLUSH_TIMER_S} s timer, so <= ~{SINK_MAX_AGE_S + FLUSH_TIMER_S:.1f} s "
          f"when idle) or until {SINK_MAX_PENDING:,} entries are pending, then the flush "
          "above; visible in ClickHouse ~ wait + flush. Offsets are committed every "
          f"{FAUST_COMMIT_INTERVAL_S} s (Faust) after the ack, which is included in the "
          "events/s figures (time to committed offsets).")


def main() -> None:
    args = parse_args()
    bench_started = time.monotonic()
    tag = f"bench-{secrets.token_hex(4)}"
    prefix = f"{tag}."
    topics = TopicNames.with_prefix(prefix)
    groups = [f"{tag}-safe", f"{tag}-unsafe"]
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-worker-bench-"))
    print(f"run {tag}: brokers {args.brokers}, topics {prefix}*, dir {workdir}")
    print(load_note())
    try:
        events = produce_topics(args.brokers, topics, args.partitions, args.events,
                                args.misrouted)

        print(f"baseline: start, {load_note()}")
        base = baseline(args.brokers, topics, events, args.timeout)
        print(f"baseline: {base.events:,} messages consumed+decoded, {base.rate:,.0f} events/s "
              f"(first->last message {base.read_s:.2f}s; {base.wall_s:.2f}s incl. connect)")

        runs = []
        for group, unsafe in zip(groups, (False, True), strict=True):
            if unsafe and args.no_unsafe:
                break
            label = "worker --unsafe-auto-ack" if unsafe else "worker (ack after flush)"
            print(f"{label}: start, {load_note()}")
            port = free_port()
            argv = worker_argv(args.brokers, prefix, args.partitions, workdir / group, group,
                               port, unsafe, args.worker_arg)
            run = run_worker(label, argv, workdir / group, args.brokers, group, topics,
                             events, port, args.timeout)
            report_worker(run, base)
            runs.append(run)
        if len(runs) == 2:
            summary(base, runs[0], runs[1])
        print(f"  benchmark wall time {time.monotonic() - bench_started:.0f}s")
    finally:
        if args.keep:
            print(f"kept {workdir}, topics {prefix}*, groups {', '.join(groups)}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            delete_kafka_leftovers(args.brokers, tag, groups)


if __name__ == "__main__":
    main()
