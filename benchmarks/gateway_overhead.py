"""What sharing the embedded ClickHouse through the gateway costs, against opening it directly.

Direct: clickhouse-connect's chdb backend in this process. Gateway: a ``leadclock serve``
subprocess holding another directory, reached with ``sinks.client.connect`` (HTTP,
uncompressed, as leadclock's own clients do) and with clickhouse-connect's default lz4.
Median of 5 runs of: 100 small queries, 100 commands, a 100k-row insert, a 1M-row read.

    .venv/bin/python benchmarks/gateway_overhead.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from sinks import endpoint
from sinks.client import connect

ROWS = [(n, f"lead-{n:08d}", "spring", datetime(2026, 1, 1, tzinfo=UTC), n * 7)
        for n in range(100_000)]
TABLE = ("CREATE TABLE IF NOT EXISTS bench (id UInt32, lead String, campaign String, "
         "at DateTime64(6, 'UTC'), amount Int64) ENGINE = MergeTree ORDER BY id")


def _median(run: Callable[[], None], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _measure(client: Client) -> dict[str, float]:
    client.command(TABLE)
    return {
        "100 queries (SELECT 1)": _median(lambda: [client.query("SELECT 1")
                                                   for _ in range(100)] and None),
        "100 commands (SELECT 1)": _median(lambda: [client.command("SELECT 1")
                                                    for _ in range(100)] and None),
        "insert 100k rows": _median(lambda: client.insert(
            "bench", ROWS, column_names=["id", "lead", "campaign", "at", "amount"])
            and None),
        "read 1M rows": _median(lambda: client.query(
            "SELECT id, lead, amount FROM bench LIMIT 1000000").result_rows and None),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        direct = clickhouse_connect.get_client(dsn=f"chdb://{tmp}/direct")
        results = {"direct (chdb in-process)": _measure(direct)}
        direct.close()
        shared_dir = Path(tmp) / "shared"
        server = subprocess.Popen([sys.executable, "-m", "streams.cli", "serve",
                                   "--clickhouse", f"chdb://{shared_dir}", "--port", "0"])
        try:
            while (published := endpoint.read(shared_dir)) is None:
                time.sleep(0.1)
            results["gateway (leadclock connect, no compression)"] = _measure(
                connect(f"chdb://{shared_dir}"))
            results["gateway (clickhouse-connect default, lz4)"] = _measure(
                clickhouse_connect.get_client(dsn=published.url))
        finally:
            server.terminate()
            server.wait()
    names = list(next(iter(results.values())))
    print(f"{'':48}" + "".join(f"{name:>26}" for name in names))
    for label, timings in results.items():
        print(f"{label:48}" + "".join(f"{timings[n] * 1000:>23.1f} ms" for n in names))


if __name__ == "__main__":
    main()
