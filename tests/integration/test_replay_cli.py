"""``leadclock replay`` as a user runs it: interrupted and resumed, twice, refused, and the
small things (every line rejected, a byte order mark, ``--version``, help defaults).
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
from pathlib import Path

import pytest

from sinks.client import connect
from sinks.version_diff import diff
from sinks.version_feed import feeds
from streams.engine.config import EngineConfig
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.integration.dataset import build
from tests.integration.harness import LEADCLOCK, ROOT, answer_from_views, run_cli
from tests.oracle import batch

pytestmark = pytest.mark.integration


def _log(path: Path, messages: list[bytes]) -> str:
    path.write_bytes(b"".join(m + b"\n" for m in messages))
    return str(path)


def _accounting(dsn: str) -> list[tuple[object, ...]]:
    client = connect(dsn)
    rows = client.query("SELECT source_kind, received, accepted, duplicates, rejected "
                        "FROM v_ingest_accounting ORDER BY source_kind").result_rows
    client.close()
    return [tuple(r) for r in rows]


def test_sigint_mid_replay_leaves_the_current_version_and_a_rerun_resumes(
        tmp_path: Path) -> None:
    small, data = build(leads=50, seed=3), build(leads=1500)
    dsn = f"chdb://{tmp_path / 'ch'}"
    first = run_cli("replay", "--input", _log(tmp_path / "small.ndjson", small.messages),
                    "--clickhouse", dsn)
    assert first.returncode == 0, first.stderr.decode()
    log = _log(tmp_path / "events.ndjson", data.messages)
    command = [*LEADCLOCK, "replay", "--input", log, "--clickhouse", dsn,
               "--write-batch", "2000"]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE,
                               env={**os.environ, "LEADCLOCK_FAULTS": "pause_after_flushes=2"},
                               preexec_fn=_ctrl_c_interrupts)
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # no timing: the pause is announced once two writes landed
        seen.append(line.decode())
        if b"injected pause" in line:
            process.send_signal(signal.SIGINT)
            break
    try:
        _, rest_bytes = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the replay did not stop on SIGINT:\n" + "".join(seen)) from None
    rest = rest_bytes.decode()
    assert process.returncode == 130, "".join(seen) + rest
    assert "interrupted: version 2 of ClickHouse" in rest, rest
    assert "the current version (1) is untouched" in rest, rest
    assert "Resume: rerun the same command" in rest, rest
    client = connect(dsn)
    assert_same(batch(small.valid, EngineConfig()), answer_from_views(client))
    assert client.query("SELECT status, building FROM v_versions WHERE version = 2"
                        ).result_rows == [("building", 1)]
    client.close()

    resumed = run_cli("replay", "--input", log, "--clickhouse", dsn, "--write-batch", "2000")
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert b"-> version 2 of" in resumed.stderr and b"resuming" in resumed.stderr
    promoted = run_cli("promote", "2", "--clickhouse", dsn)
    assert promoted.returncode == 0, promoted.stderr.decode()

    reference = f"chdb://{tmp_path / 'reference'}"
    straight = run_cli("replay", "--input", log, "--clickhouse", reference)
    assert straight.returncode == 0, straight.stderr.decode()
    expected = batch(data.valid, EngineConfig())
    for store in (dsn, reference):
        client = connect(store)
        assert_same(expected, answer_from_views(client))
        client.close()
    kinds = dict((row[0], row[1:]) for row in _accounting(dsn))
    assert [(k, *v) for k, v in kinds.items() if "small" not in str(k)] == _accounting(reference)


def test_replaying_the_topics_twice_is_identical(kafka_brokers: str, topic_prefix: str,
                                                 tmp_path: Path) -> None:
    data = build(leads=300)
    topics = TopicNames.with_prefix(topic_prefix)
    ensure_topics(kafka_brokers, (*topics.events, topics.dlq), 4)
    produce(data.messages, kafka_brokers, topics)
    dsn = f"chdb://{tmp_path / 'ch'}"
    args = ("--from-topics", "--brokers", kafka_brokers, "--topic-prefix", topic_prefix,
            "--clickhouse", dsn)
    once = run_cli("replay", *args, "--processes", "1")
    assert once.returncode == 0, once.stderr.decode()
    accounted = _accounting(dsn)

    refused = run_cli("replay", *args, "--attribution-version", "1")
    assert refused.returncode == 1
    assert b"version 1 already holds data" in refused.stderr
    assert b"add --append" in refused.stderr and refused.stderr.count(b"\n") == 1
    again = run_cli("replay", *args, "--attribution-version", "1", "--append")
    assert again.returncode == 0, again.stderr.decode()
    twice = run_cli("replay", *args, "--processes", "2")  # a second version, two processes
    assert twice.returncode == 0, twice.stderr.decode()
    assert b"-> version 2 of" in twice.stderr

    client = connect(dsn)
    expected = batch(data.valid, EngineConfig())
    assert_same(expected, answer_from_views(client))
    moves = diff(client, 1, 2)
    assert moves.revenue == [] and moves.stages == []
    for version in (1, 2):  # each version records the end offsets it read to
        recorded = feeds(client, version)
        assert sum(feed.complete_below for feed in recorded.values()) == len(data.messages)
        assert len(recorded) == 16
        assert not any(feed.fed for feed in recorded.values())
    client.close()
    assert _accounting(dsn) == accounted


def test_small_things_a_new_user_hits(tmp_path: Path) -> None:
    dsn = f"chdb://{tmp_path / 'ch'}"
    created = run_cli("migrate", "--clickhouse", dsn)
    assert b"created the schema" in created.stderr, created.stderr
    again = run_cli("migrate", "--clickhouse", dsn)
    assert b"is up to date" in again.stderr, again.stderr

    data = build(leads=20, seed=5)
    packed = tmp_path / "events.ndjson.gz"
    packed.write_bytes(gzip.compress(b"".join(m + b"\n" for m in data.messages)))
    array = tmp_path / "events.json"
    array.write_bytes(b"[" + b",".join(data.messages[:5]) + b"]")
    for path in (packed, array):
        result = run_cli("replay", "--input", str(path), "--clickhouse", dsn)
        assert result.returncode == 1, result.stderr.decode()
        lines = result.stderr.decode().strip().splitlines()
        assert "was rejected" in lines[-1] and "nothing was written" in lines[-1], lines
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"\n")
    result = run_cli("replay", "--input", str(empty), "--clickhouse", dsn)
    assert result.returncode == 1 and b"holds no events" in result.stderr

    bom = tmp_path / "bom.ndjson"
    bom.write_bytes(b"\xef\xbb\xbf" + b"".join(m + b"\n" for m in data.messages))
    result = run_cli("replay", "--input", str(bom), "--clickhouse", dsn)
    assert result.returncode == 0, result.stderr.decode()
    text = result.stderr.decode()
    assert f"-> version 1 of ClickHouse {dsn}" in text, text
    assert f"{len(data.rejected):,} rejected" in text, text
    client = connect(dsn)
    assert_same(batch(data.valid, EngineConfig()), answer_from_views(client))
    client.close()

    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith(b"leadclock 0."), version
    helped = run_cli("replay", "--help").stdout.decode().split("options:")[1]
    for flag in ("--write-batch", "--processes", "--lookback", "--window", "--brokers",
                 "--attribution-version", "--append", "--clickhouse"):
        line = helped[helped.index(flag):].split("\n  -")[0]
        assert "default" in line, line


def _ctrl_c_interrupts() -> None:
    """In the child: SIGINT as in a terminal, where Ctrl-C raises KeyboardInterrupt.

    A test run started in the background by a non-interactive shell (as CI scripts may
    be) inherits SIGINT *ignored*, and Python then installs no KeyboardInterrupt handler:
    the replay would never see the Ctrl-C this test sends.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
