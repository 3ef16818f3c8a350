"""One process holds the embedded ClickHouse; other processes use it through its gateway.

Real processes: ``leadclock serve`` holds a chdb directory, and ``leadclock migrate`` /
``leadclock replay`` / two workers run in other processes against the same ``chdb://``
DSN (docs/embedded-sharing.md). When the holder dies, the directory is opened directly.
Only the two-worker test needs the broker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from sinks import endpoint
from sinks.client import connect, route, sharing_note
from sinks.exceptions import TransientSinkError
from sinks.migrate import migrate
from sinks.sink import ClickHouseSink
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.replay import file_records, replay
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.integration.dataset import build
from tests.integration.harness import (
    LEADCLOCK,
    ROOT,
    RUNNING,
    Worker,
    answer_from_views,
    read_views,
    run_cli,
)
from tests.oracle import batch


def _directory(tmp_path: Path) -> Path:
    return Path(os.path.realpath(tmp_path)) / "ch"


def _serve(directory: Path, log: Path) -> subprocess.Popen[bytes]:
    """``leadclock serve`` on any free port; returns once its endpoint is published."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*LEADCLOCK, "serve", "--clickhouse", f"chdb://{directory}", "--port", "0"],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    RUNNING.add(process)
    deadline = time.monotonic() + 120
    while (published := endpoint.read(directory)) is None or published.pid != process.pid:
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def _gateway_pid(client: Client) -> int | None:
    """The pid of the gateway a client goes through (None: it opened the engine itself)."""
    found = route(client)
    assert found is not None
    return found.gateway.pid if found.gateway else None


def _log_file(tmp_path: Path, data_messages: list[bytes]) -> Path:
    log = tmp_path / "events.ndjson"
    log.write_bytes(b"".join(m + b"\n" for m in data_messages))
    return log


def test_migrate_and_replay_in_other_processes_while_serve_holds_it(tmp_path: Path) -> None:
    directory = _directory(tmp_path)
    dsn = f"chdb://{directory}"
    holder = _serve(directory, tmp_path / "serve.log")
    data = build(leads=300)

    migrated = run_cli("migrate", "--clickhouse", dsn)
    assert migrated.returncode == 0, migrated.stderr.decode()
    replayed = run_cli("replay", "--input", str(_log_file(tmp_path, data.messages)),
                       "--clickhouse", dsn)
    assert replayed.returncode == 0, replayed.stderr.decode()

    client = connect(dsn)
    published = endpoint.read(directory)
    assert published is not None
    assert sharing_note(client) == (f"using the embedded ClickHouse {directory} held by pid "
                                    f"{holder.pid} through {published.url}")
    assert_same(batch(data.valid, EngineConfig()), answer_from_views(client))

    holder.send_signal(signal.SIGINT)
    assert holder.wait(60) == 0
    assert not endpoint.endpoint_path(directory).exists()  # withdrawn on a clean exit
    client = connect(dsn)  # free again: opened directly
    assert _gateway_pid(client) is None
    assert_same(batch(data.valid, EngineConfig()), answer_from_views(client))
    client.close()


def test_a_holder_that_does_not_share_gets_a_one_line_error(tmp_path: Path) -> None:
    directory = _directory(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import chdb, sys; c = chdb.connect(sys.argv[1]); "
         "print('held', flush=True); sys.stdin.read()", str(directory)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    RUNNING.add(holder)
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    result = run_cli("migrate", "--clickhouse", f"chdb://{directory}")
    holder.kill()
    holder.wait()
    message = result.stderr.decode()
    assert result.returncode == 1
    assert message.count("\n") == 1, message  # one line: no traceback, no engine noise
    assert f"is held by process {holder.pid}, which does not share it" in message


def _lead_of(message: bytes) -> str:
    try:
        return str(orjson.loads(message).get("lead_id", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""


def test_when_the_holder_dies_the_sink_reconnects_to_the_directory(tmp_path: Path) -> None:
    directory = _directory(tmp_path)
    dsn = f"chdb://{directory}"
    holder = _serve(directory, tmp_path / "serve.log")
    data = build(leads=60)
    # Two halves by lead, so the second replay adds leads rather than replacing them.
    leads = sorted({_lead_of(m) for m in data.messages})
    early = set(leads[: len(leads) // 2])
    halves = ([m for m in data.messages if _lead_of(m) in early],
              [m for m in data.messages if _lead_of(m) not in early])
    client = connect(dsn)
    assert _gateway_pid(client) == holder.pid
    migrate(client)
    buffer = OutputBuffer(EngineConfig(), max_pending=10**9, max_age_s=float("inf"))
    sink = ClickHouseSink(client, 1)
    replay(file_records(halves[0], "file:first"), buffer, sink)

    holder.kill()  # no clean exit: the endpoint file stays behind, stale
    holder.wait()
    assert endpoint.endpoint_path(directory).exists()
    assert endpoint.read(directory) is None

    with pytest.raises(TransientSinkError):
        replay(file_records(halves[1], "file:second"), buffer, sink)  # the connection is gone
    assert buffer.pending()
    buffer.flush(sink)  # the retry reconnects: nobody holds the directory now, so open it here
    assert _gateway_pid(sink.client) is None
    assert_same(batch(data.valid, EngineConfig()), answer_from_views(sink.client))
    sink.client.close()


def _one_line(result: subprocess.CompletedProcess[bytes], needle: str) -> None:
    message = result.stderr.decode()
    assert result.returncode != 0
    assert message.count("\n") == 1 and needle in message, message


def test_serve_refuses_what_it_cannot_serve(tmp_path: Path) -> None:
    directory = _directory(tmp_path)
    _one_line(run_cli("serve", "--port", "70000"), "is not a port number")
    _one_line(run_cli("serve", "--clickhouse", "http://127.0.0.1:1/db"),
              "only an embedded ClickHouse directory")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _one_line(run_cli("serve", "--clickhouse", f"chdb://{directory}", "--port", str(port)),
                  f"cannot listen on 127.0.0.1:{port}")
    holder = _serve(directory, tmp_path / "serve.log")
    published = endpoint.read(directory)
    assert published is not None
    _one_line(run_cli("serve", "--clickhouse", f"chdb://{directory}", "--port", "0"),
              f"is held by process {holder.pid}; it already serves {published.url}")
    holder.send_signal(signal.SIGTERM)
    assert holder.wait(60) == 0


@pytest.mark.integration
def test_two_workers_share_one_embedded_store(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Two worker processes of one group write to one chdb directory held by serve."""
    directory = _directory(tmp_path)
    holder = _serve(directory, tmp_path / "serve.log")
    data = build(leads=1_000, seed=31)
    topics = TopicNames.with_prefix(topic_prefix)
    ensure_topics(kafka_brokers, (*topics.events, topics.dlq), 4)
    produce(data.messages, kafka_brokers, topics)
    workers = [Worker(kafka_brokers, topic_prefix, tmp_path / name,
                      app_id=f"{topic_prefix}w", dsn=f"chdb://{directory}")
               for name in ("a", "b")]
    for worker in workers:
        worker.workdir.mkdir()
        worker.start()
    workers[0].wait_caught_up(topics.events, timeout=180)
    for worker in workers:
        assert worker.stop() == 0, worker.tail()
    assert_same(batch(data.valid, EngineConfig()), read_views(f"chdb://{directory}"))
    holder.send_signal(signal.SIGTERM)
    assert holder.wait(60) == 0
