"""Running a worker-like child process against freshly produced topics, for the benchmarks.

Shared by ``worker_bench.py``, ``freshness_bench.py`` and ``work_per_event.py``: demo
events produced to a fresh topic prefix, ``leadclock worker`` (or the no-op Faust app)
started as a child with its output timestamped on arrival, the wait until its consumer
group's committed offsets reach the end, its flush histogram from ``/metrics``, a stop
that reaps the child's own rusage, and the cleanup of the run's topics and groups.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import re
import resource
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from _common import leadclock
from _peak_rss import PeakRss
from kafka import KafkaProducer
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
FIRST_MESSAGE = "processing: first message"
ALL_TAKEN = "noop: all expected messages taken"  # noop_faust.py --expect
PROGRESS_RE = re.compile(
    r"worker: ([\d,]+) received: ([\d,]+) accepted, ([\d,]+) duplicates, "
    r"([\d,]+) rejected, [\d,]+ rerouted; ([\d,]+) lead writes in ([\d,]+) flushes"
)


# --------------------------------------------------------------------------- helpers


def add_topic_arguments(parser: argparse.ArgumentParser) -> None:
    """``--events``, ``--partitions`` and ``--brokers``: the topics a worker benchmark makes."""
    parser.add_argument("--events", type=int, default=100_000,
                        help="events to produce and consume (default 100,000)")
    parser.add_argument("--partitions", type=int, default=4,
                        help="partitions of every event topic (default 4)")
    parser.add_argument("--brokers", default=os.environ.get("LEADCLOCK_BROKERS",
                                                            "127.0.0.1:9092"))


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
    # (leadclock: 1 s resolution; the no-op Faust agent: its line at the N-th message)
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
    extra: dict[str, float] = field(default_factory=dict)  # what the probe returned

    @property
    def rate(self) -> float:
        return self.events / self.caught_up_s

    @property
    def processed_rate(self) -> float | None:
        """Events/s to the last message taken (no wait for the commit); None if unseen."""
        return None if not self.processed_s else self.events / self.processed_s


def worker_argv(brokers: str, prefix: str, partitions: int, workdir: Path, app_id: str,
                metrics_port: int, unsafe: bool, extra: list[str],
                clickhouse: str | None = None) -> list[str]:
    """``leadclock worker`` with its dirs under ``workdir`` (ClickHouse too, unless given)."""
    dsn = clickhouse or f"chdb://{workdir / 'clickhouse'}"
    argv = [leadclock(), "worker", "--brokers", brokers, "--topic-prefix", prefix,
            "--partitions", str(partitions), "--clickhouse", dsn,
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


def caught_up(brokers: str, group: str, topics: Sequence[str]) -> bool | None:
    """Whether the group has committed every event; None if the broker did not answer."""
    try:
        lags = group_lag(brokers, group, topics)
    except (BrokerUnavailable, KafkaError) as error:
        print(f"  lag poll failed: {type(error).__name__}: {error}")
        return None
    return bool(lags) and all(behind <= 0 for behind in lags.values())


def wait_caught_up(process: subprocess.Popen[bytes], log: WorkerLog, brokers: str,
                   group: str, topics: Sequence[str], timeout_s: float) -> tuple[float, int]:
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


@dataclass
class Child:
    """A started child process whose merged output is pumped into ``log``."""

    process: subprocess.Popen[bytes]
    log: WorkerLog
    reader: threading.Thread
    started: float  # time.monotonic() just before the start
    peak: PeakRss
    peak_kib: int | None = None
    """Its own peak resident memory once finished (not ``ru_maxrss``: ``_peak_rss.py``)."""

    def finish(self) -> tuple[int, resource.struct_rusage | None, float]:
        """Stop it (SIGTERM, then SIGKILL); exit code, its rusage, when it was reaped."""
        exit_code, usage = stop(self.process, STOP_GRACE_S)
        reaped = time.monotonic()
        self.peak_kib = self.peak.stop()
        self.reader.join(timeout=5)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return exit_code, usage, reaped


def start_child(argv: list[str], workdir: Path) -> Child:
    """Start ``argv`` with its stdout+stderr timestamped into ``workdir/worker.log``."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = WorkerLog(workdir / "worker.log")
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    reader = threading.Thread(target=log.pump, args=(process.stdout,), daemon=True)
    reader.start()
    return Child(process, log, reader, started, PeakRss(process.pid))


def run_worker(label: str, argv: list[str], workdir: Path, brokers: str, group: str,
               topics: Sequence[str], events: int, metrics_port: int | None,
               timeout_s: float,
               probe: Callable[[], dict[str, float]] | None = None) -> WorkerRun:
    """Run ``argv`` until its group has committed the end of ``topics``, then stop it.

    ``metrics_port``: where to scrape the flush histogram (None: not a leadclock worker);
    ``probe``: called once caught up, before the stop (e.g. to ask its database).
    """
    child = start_child(argv, workdir)
    log, started = child.log, child.started
    usage: resource.struct_rusage | None = None
    extra: dict[str, float] = {}
    try:
        done, failed_polls = wait_caught_up(child.process, log, brokers, group, topics,
                                            timeout_s)
        flushes = None if metrics_port is None else scrape_flush_histogram(metrics_port)
        if probe is not None:
            extra = probe()
    finally:
        exit_code, usage, reaped = child.finish()
    first = log.first(FIRST_MESSAGE)
    peak_kib = child.peak_kib
    assert first is not None and usage is not None
    reported = re.search(r"first message ([0-9.]+s) after start", first.text)
    progress = log.progress()
    all_in = next((line for line, nums in progress if nums[0] >= events), None)
    if all_in is None:
        all_in = log.first(ALL_TAKEN)  # the no-op Faust agent's own line
    return WorkerRun(
        label=label, events=events,
        startup_s=first.at - started,
        startup_reported=reported.group(1) if reported else "?",
        processed_s=None if all_in is None else all_in.at - first.at,
        caught_up_s=done - first.at, total_s=done - started, life_s=reaped - started,
        max_rss_kib=peak_kib if peak_kib is not None else usage.ru_maxrss,
        user_s=usage.ru_utime, sys_s=usage.ru_stime,
        exit_code=exit_code,
        last_progress=progress[-1][0].text if progress else "(no progress line)",
        flushes=flushes, failed_polls=failed_polls, extra=extra,
    )


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
        failed = {g: e for g, e in admin.delete_groups(groups).items()
                  if e not in ("OK", "GroupIdNotFoundError")}
        if failed:
            print(f"cleanup: consumer groups not deleted: {failed}")
    except KafkaError as error:
        print(f"cleanup: could not delete all of {tag}* ({type(error).__name__}: {error})")
    finally:
        admin.close()

