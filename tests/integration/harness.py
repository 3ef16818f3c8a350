"""Running real ``leadclock`` processes from tests, and reading their results back.

The worker runs as a subprocess exactly as a user runs it. A test waits until the
worker's consumer group has committed every event (the sink is flushed before each
commit, so that means everything is in ClickHouse), stops it, then opens the embedded
ClickHouse itself (only one process may hold a chdb directory at a time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import orjson
from clickhouse_connect.driver.client import Client
from kafka import KafkaConsumer

from sinks.client import connect
from streams.kafka.admin import end_offsets, group_lag
from tests.oracle import Answer

LEADCLOCK = [sys.executable, "-m", "streams.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, stdin: bytes | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``leadclock ARGS`` to completion."""
    return subprocess.run([*LEADCLOCK, *args], input=stdin, capture_output=True,
                          timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})},
                          check=False)


RUNNING: set[subprocess.Popen[bytes]] = set()
"""Worker processes started by tests; an autouse fixture kills leftovers after each test."""


def kill_leftovers() -> None:
    """Kill every worker a test started and did not stop (e.g. after a failed assert)."""
    for process in list(RUNNING):
        if process.poll() is None:
            process.kill()
            process.wait()
        RUNNING.discard(process)


@dataclass
class Worker:
    """A ``leadclock worker`` subprocess bound to one topic prefix and data dir."""

    brokers: str
    prefix: str
    workdir: Path
    app_id: str
    extra: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    dsn: str = ""

    def __post_init__(self) -> None:
        if not self.dsn:
            self.dsn = clickhouse_dsn(self.workdir, "clickhouse")

    def start(self) -> None:
        self.log = (self.workdir / f"{self.app_id}.log").open("ab")
        self.process = subprocess.Popen(
            [*LEADCLOCK, "worker", "--brokers", self.brokers, "--topic-prefix", self.prefix,
             "--app-id", self.app_id, "--data-dir", str(self.workdir / "state"),
             "--clickhouse", self.dsn, *self.extra],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, **self.env},
        )
        RUNNING.add(self.process)

    def wait_caught_up(self, topics: tuple[str, ...], timeout: float = 180) -> None:
        """Block until the group committed every message of ``topics``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.tail()}")
            lag = group_lag(self.brokers, self.app_id, topics)
            if lag and all(v == 0 for v in lag.values()):
                return
            time.sleep(1.0)
        raise AssertionError(f"worker did not catch up: lag {lag}\n{self.tail()}")

    def wait_processing(self, runs: int, timeout: float = 120) -> None:
        """Block until the worker's log shows ``runs`` starts that processed a message."""
        deadline = time.monotonic() + timeout
        while self.tail(1_000_000).count("processing: first message") < runs:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker did not start processing:\n{self.tail()}")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self.log is not None:
            self.log.close()
        return code

    def tail(self, lines: int = 40) -> str:
        path = self.workdir / f"{self.app_id}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def clickhouse_dsn(workdir: Path, name: str) -> str:
    """A fresh ClickHouse for one test: a chdb directory, or a new database on the
    server named by ``CLICKHOUSE_URL`` (so the suite runs against a real server too)."""
    server = os.environ.get("CLICKHOUSE_URL")
    if not server:
        return f"chdb://{workdir / name}"
    database = f"leadclock_test_{uuid.uuid4().hex[:12]}"
    client = connect(server)
    client.command(f"CREATE DATABASE {database}")
    client.close()
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _us(value: object) -> int:
    """A DateTime from ClickHouse as µs since the epoch (naive values are UTC)."""
    from datetime import UTC, datetime

    assert isinstance(value, datetime)
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(aware.timestamp()) * 1_000_000


def answer_from_views(client: Client) -> Answer:
    """Read the three public views into the oracle's shape."""
    answer = Answer()
    for c, t, w, touches, leads in client.query(
            "SELECT campaign_id, touch_type, window_start, touches, leads "
            "FROM v_marketing_reach").result_rows:
        answer.reach[(c, t, _us(w))] = (int(touches), int(leads))
    for c, s, w, leads in client.query(
            "SELECT campaign_id, stage, window_start, leads FROM v_lead_stages").result_rows:
        answer.stages[(c, s, _us(w))] = int(leads)
    conversions: dict[tuple[str, str, str, int, int], Fraction] = defaultdict(Fraction)
    for c, m, cur, tw, pw, revenue, conv in client.query(
            "SELECT campaign_id, model, currency, touch_window, purchase_window, "
            "revenue_minor, conversions FROM v_attribution").result_rows:
        key = (c, m, cur, _us(tw), _us(pw))
        answer.revenue[key] = int(revenue)
        conversions[key] = Fraction(conv)
    answer.conversions = dict(conversions)
    return answer


def read_views(dsn: str) -> Answer:
    client = connect(dsn)
    try:
        return answer_from_views(client)
    finally:
        client.close()


def read_topic(brokers: str, topic: str) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    """Every message of ``topic`` from the beginning to its current end."""
    ends = end_offsets(brokers, [topic])
    total = sum(ends.values())
    consumer = KafkaConsumer(bootstrap_servers=brokers, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=10_000)
    consumer.assign(list(ends))
    consumer.seek_to_beginning()
    messages = []
    for record in consumer:
        messages.append((record.key, record.value, dict(record.headers)))
        if len(messages) >= total:
            break
    consumer.close()
    return messages


def ndjson(records: list[dict[str, object]]) -> list[bytes]:
    return [orjson.dumps(r) for r in records]


LEAD_TABLES = ("lead_revisions", "lead_reach", "lead_stages", "lead_credits", "lead_events",
               "ingest_ledger", "rejected_events", "attribution_versions",
               "current_version")


def merge_stores(target: str, sources: list[str]) -> None:
    """Copy every row of several embedded stores into one, as a shared server would hold.

    Two workers cannot share one chdb directory (one process per directory), so a
    two-worker test gives each its own and merges them before reading the views. A
    process can hold one chdb engine at a time: read every source, then write.
    """
    from sinks.migrate import migrate

    copied: list[tuple[str, list[str], list[tuple[object, ...]]]] = []
    for source in sources:
        client = connect(source)
        for table in LEAD_TABLES:
            columns = [name for (name,) in client.query(
                "SELECT name FROM system.columns WHERE table = {t:String} "
                "AND database = currentDatabase() AND default_kind != 'MATERIALIZED'",
                parameters={"t": table},
            ).result_rows]
            if not columns:
                continue  # a worker killed while it created the schema wrote nothing
            rows = client.query(f"SELECT {', '.join(columns)} FROM {table}").result_rows
            copied.append((table, columns, list(rows)))
        client.close()
    dest = connect(target)
    migrate(dest)
    for table, columns, rows in copied:
        if rows:
            dest.insert(table, rows, column_names=columns)
    dest.close()


def accounting(dsn: str) -> dict[str, int]:
    """Messages per outcome, from the ingest ledger."""
    client = connect(dsn)
    rows = client.query("SELECT accepted, duplicates, rejected FROM v_ingest_accounting "
                        "WHERE source_kind = 'kafka'").result_rows
    client.close()
    accepted, duplicates, rejected = rows[0]
    return {"accepted": accepted, "duplicate": duplicates, "rejected": rejected}
