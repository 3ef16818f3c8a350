"""kill -9 a replay anywhere (while it writes leads, while it stores the sums), many times.

After every kill the current version still answers exactly (the dead replay wrote into
another version, whose sums are never registered half-done), and the rerun that finally
completes gives exactly the oracle's answer, read from the sums it registered. Kill
points are fixed by fault injection (``LEADCLOCK_FAULTS`` pauses the process at a known
write and says so: no timing) plus a few at random moments (the assertions hold
whatever the moment).
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from sinks.client import connect
from streams.engine.config import EngineConfig
from tests.compare import assert_same
from tests.integration.dataset import build
from tests.integration.harness import LEADCLOCK, ROOT, answer_from_views, run_cli
from tests.oracle import batch

pytestmark = pytest.mark.integration

KILL_POINTS = (("pause_after_flushes", 1), ("pause_after_flushes", 3), ("pause_after_sums", 1),
               ("pause_after_sums", 4), ("pause_after_sums", 8))
"""A replay stores 8 partial tables (the last pause: all stored, none registered)."""


def _replay(log: Path, dsn: str, faults: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*LEADCLOCK, "replay", "--input", str(log), "--clickhouse", dsn, "--write-batch", "150",
         "--promote"], cwd=ROOT, stderr=subprocess.PIPE,
        env={**os.environ, "LEADCLOCK_FAULTS": faults})


def _kill_at_pause(process: subprocess.Popen[bytes]) -> str:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line.decode())
        if b"injected pause" in line:
            break
    process.kill()
    process.wait(timeout=60)
    assert "injected pause" in "".join(seen), "".join(seen)
    return "".join(seen)


def _ready(dsn: str) -> tuple[int, int]:
    client = connect(dsn)
    (plan,) = client.query("SELECT version, ready FROM read_plan").result_rows
    client.close()
    return int(plan[0]), int(plan[1])


def test_kill_9_anywhere_in_a_replay_then_a_rerun_is_exact(tmp_path: Path) -> None:
    before, data = build(leads=40, seed=5), build(leads=700, seed=8)
    dsn = f"chdb://{tmp_path / 'ch'}"
    first = tmp_path / "first.ndjson"
    first.write_bytes(b"".join(m + b"\n" for m in before.messages))
    done = run_cli("replay", "--input", str(first), "--clickhouse", dsn)
    assert done.returncode == 0, done.stderr.decode()
    log = tmp_path / "events.ndjson"
    log.write_bytes(b"".join(m + b"\n" for m in data.messages))
    expected_before = batch(before.valid, EngineConfig())

    rng = random.Random(12)
    for name, count in KILL_POINTS:
        _kill_at_pause(_replay(log, dsn, f"{name}={count}"))
        client = connect(dsn)
        assert_same(expected_before, answer_from_views(client))
        client.close()
        assert _ready(dsn) == (1, 1)
    full = batch(data.valid, EngineConfig())
    for _ in range(3):  # anywhere at all: the reading, a write, the sums, the promote
        process = _replay(log, dsn, "")
        try:
            process.wait(timeout=rng.uniform(0.2, 3.0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=60)
        client = connect(dsn)
        assert_same(full if _ready(dsn)[0] == 2 else expected_before, answer_from_views(client))
        client.close()
        if process.returncode == 0:
            break  # it finished before the kill: another run would start version 3

    status = _status(dsn)  # "current" if a run above finished
    if status == "building":  # the usual case: a rerun resumes it
        final = run_cli("replay", "--input", str(log), "--clickhouse", dsn, "--promote")
        assert final.returncode == 0, final.stderr.decode()
    elif status == "ready":  # killed between the end of the replay and its promote
        final = run_cli("promote", "2", "--clickhouse", dsn)
        assert final.returncode == 0, final.stderr.decode()
    assert _ready(dsn) == (2, 1)
    client = connect(dsn)
    assert_same(full, answer_from_views(client))
    client.close()


def _status(dsn: str) -> str:
    client = connect(dsn)
    (row,) = client.query("SELECT status FROM v_versions WHERE version = 2").result_rows
    client.close()
    return str(row[0])
