"""Bad arguments and unreachable services: one line, non-zero exit, no traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.integration.harness import run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_line_error(result, needle: str) -> None:  # type: ignore[no-untyped-def]
    err = result.stderr.decode()
    assert result.returncode != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert needle in lines[0], err


@pytest.mark.parametrize(("args", "needle"), [
    ((), "required"),
    (("frobnicate",), "invalid choice"),
    (("replay",), "one of the arguments --input --from-topics is required"),
    (("replay", "--input", "x", "--window", "2d"), "invalid choice"),
    (("replay", "--input", "x", "--lookback", "ninety days"), "lookback"),
    (("replay", "--input", "x", "--version", "0"), "positive integer"),
    (("replay", "--input", "/nonexistent/file.ndjson"), "cannot read /nonexistent/file.ndjson"),
    (("migrate", "--clickhouse", "ftp://example"), "scheme must be chdb, http or https"),
    (("demo", "--leads", "-3"), "positive integer"),
    (("worker", "--state-ttl", "90d", "--unsafe-memory-state"),
     "--unsafe-memory-state cannot be combined with --state-ttl"),
])
def test_bad_arguments(args: tuple[str, ...], needle: str) -> None:
    _one_line_error(run_cli(*args), needle)


def test_unreachable_broker() -> None:
    port = _free_port()
    result = run_cli("topics", "--brokers", f"127.0.0.1:{port}", timeout=120)
    _one_line_error(result, f"cannot reach Kafka at 127.0.0.1:{port}")


def test_unreachable_broker_for_worker(tmp_path: Path) -> None:
    port = _free_port()
    result = run_cli("worker", "--brokers", f"127.0.0.1:{port}", "--broker-wait", "0",
                     "--clickhouse", f"chdb://{tmp_path / 'ch'}", timeout=120)
    _one_line_error(result, f"cannot reach Kafka at 127.0.0.1:{port}")


def test_worker_waits_for_the_broker_then_gives_up_in_one_line(tmp_path: Path) -> None:
    port = _free_port()
    result = run_cli("worker", "--brokers", f"127.0.0.1:{port}", "--broker-wait", "12",
                     "--clickhouse", f"chdb://{tmp_path / 'ch'}", timeout=120)
    err = result.stderr.decode()
    lines = [line for line in err.splitlines() if line.strip()]
    assert result.returncode == 1 and "Traceback" not in err
    assert len(lines) == 2, err
    assert "retrying for up to" in lines[0] and "--broker-wait" in lines[0]
    assert lines[1].startswith(f"leadclock worker: error: cannot reach Kafka at 127.0.0.1:{port}")
    assert "waited 12s" in lines[1]


def test_unreachable_clickhouse_server() -> None:
    port = _free_port()
    result = run_cli("migrate", "--clickhouse", f"http://user:secret@127.0.0.1:{port}/db")
    _one_line_error(result, "cannot open ClickHouse at http://user:***@127.0.0.1")
    assert b"secret" not in result.stderr


def test_unwritable_clickhouse_path() -> None:
    # /proc is read-only even for root, which CI runs as (so chmod cannot be used).
    result = run_cli("migrate", "--clickhouse", "chdb:///proc/leadclock/clickhouse")
    _one_line_error(result, "cannot create the ClickHouse directory")


def test_clickhouse_path_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_cli("migrate", "--clickhouse", f"chdb://{blocker}/clickhouse")
    _one_line_error(result, "cannot create the ClickHouse directory")
