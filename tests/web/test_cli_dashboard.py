"""`leadclock dashboard`: one-line errors, and a real process that serves and stops cleanly."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from streams.cli import main
from tests.web.conftest import DemoDb
from tests.web.http import call

LEADCLOCK = [sys.executable, "-m", "streams.cli"]


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize("port", ["-1", "65536", "web"])
def test_a_bad_port_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["dashboard", "--port", port])
    assert caught.value.code == 2
    assert "is not a port number (0-65535)" in _one_line(capsys.readouterr().err)


def test_a_busy_port_is_one_line(demo_db: DemoDb, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--clickhouse", demo_db.dsn, "--port", str(port)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line == (f"leadclock dashboard: error: port {port} on 127.0.0.1 is already in use "
                    "(another dashboard?); choose another with --port")


def test_unreachable_clickhouse_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--clickhouse", "http://127.0.0.1:1/db", "--port", "0"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("leadclock dashboard: error: cannot open ClickHouse at "
                           "http://127.0.0.1:1/db")


def test_a_database_without_the_schema_is_one_line(tmp_path: Path) -> None:
    # A separate process: this one already holds the demo database (one chdb per process).
    done = subprocess.run([*LEADCLOCK, "dashboard", "--clickhouse", f"chdb://{tmp_path}/ch",
                           "--port", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    line = [part for part in done.stderr.splitlines() if part.startswith("leadclock")]
    assert line and "holds no leadclock views" in line[0] and "leadclock migrate" in line[0]
    assert "Traceback" not in done.stderr


def test_the_command_serves_until_sigterm(tmp_path: Path) -> None:
    dsn = f"chdb://{tmp_path}/ch"
    events = tmp_path / "demo.ndjson"
    subprocess.run([*LEADCLOCK, "demo", "--leads", "40", "--output", str(events)], check=True,
                   timeout=120)
    subprocess.run([*LEADCLOCK, "replay", "--input", str(events), "--clickhouse", dsn],
                   check=True, timeout=120, capture_output=True)
    process = subprocess.Popen([*LEADCLOCK, "dashboard", "--clickhouse", dsn, "--port", "0"],
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("dashboard: http://127.0.0.1:"), first
        url = first.split()[1].rstrip("/")
        assert call(f"{url}/").status == 200
        assert call(f"{url}/api/reach").status == 200  # a §4-only panel, on the real views
        process.terminate()
        assert process.wait(timeout=60) == 0
        assert process.stderr.read().strip() == "dashboard: stopped"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
