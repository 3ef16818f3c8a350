"""Appending replays: any split of a log into k >= 2 parts, appended in any order, equals
one replay of the whole log, exactly (against the oracle).

In memory through the engine's ports first (many examples), then end to end through
``leadclock replay`` on the embedded ClickHouse (fewer: each runs the real command,
``lead_events`` lookups included), where a replay into a version that holds data
without ``--append`` is refused and leaves the version as it was.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import Event, Rejection
from schemas.validation import parse_event
from sinks.client import connect
from sinks.exceptions import VersionError
from sinks.versions import make_current
from streams.commands.replay import ReplayRequest, run
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.replay import file_records, replay
from streams.exceptions import ReplayError
from tests.compare import assert_same
from tests.integration.harness import answer_from_views
from tests.memory_port import MemoryWriter
from tests.messages import event_json
from tests.oracle import batch
from tests.strategies import DAY_US, event_logs

CONFIG = EngineConfig(window="1d", lookback_us=3 * DAY_US, half_life_us=DAY_US)
BAD = [b"not json", b'{"type": "click"}']


@st.composite
def splits(draw: st.DrawFn, max_parts: int = 4) -> tuple[list[Event], list[list[bytes]]]:
    """A log, and its lines cut into k >= 2 parts (some may be empty), in a drawn order."""
    log = draw(event_logs())
    lines = [event_json(e) for e in log]
    for at in draw(st.lists(st.integers(0, len(lines)), max_size=2)):
        lines.insert(at, BAD[at % len(BAD)])
    k = draw(st.integers(2, max_parts))
    cuts = sorted(draw(st.lists(st.integers(0, len(lines)), min_size=k - 1, max_size=k - 1)))
    parts = [lines[a:b] for a, b in itertools.pairwise([0, *cuts, len(lines)])]
    return log, draw(st.permutations(parts))


@settings(max_examples=200, deadline=None)
@given(split=splits(), max_pending=st.integers(1, 50))
def test_appended_parts_equal_one_replay_of_the_whole_in_memory(split, max_pending) -> None:
    log, parts = split
    writer = MemoryWriter()
    for n, part in enumerate(parts):
        buffer = OutputBuffer(CONFIG, max_pending=max_pending, max_age_s=float("inf"))
        replay(file_records(part, f"file:part{n}"), buffer, writer, stored=writer)
    assert_same(batch(log, CONFIG), writer.answer())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('append') / 'ch'}"


VERSIONS = itertools.count(1)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=splits(max_parts=3))
def test_appended_replays_equal_one_replay_end_to_end(split, store: str,
                                                       tmp_path: Path) -> None:
    log, parts = split
    version = next(VERSIONS)
    request = ReplayRequest(dsn=store, engine=CONFIG, input_name=None, version=version)
    for n, part in enumerate(parts):
        path = tmp_path / f"v{version}-part{n}.ndjson"
        path.write_bytes(b"".join(line + b"\n" for line in part))
        if not any(not isinstance(parse_event(line), Rejection) for line in part):
            with pytest.raises(ReplayError):  # empty, or every line rejected: refused
                run(_with(request, path, append=True))
            continue
        if _holds_data(store, version):
            with pytest.raises(VersionError, match="add --append"):
                run(_with(request, path, append=False))
        run(_with(request, path, append=True))
    client = connect(store)
    make_current(client, version)
    assert_same(batch(log, CONFIG), answer_from_views(client))
    client.close()


def _with(request: ReplayRequest, path: Path, *, append: bool) -> ReplayRequest:
    from dataclasses import replace

    return replace(request, input_name=str(path), append=append)


def _holds_data(store: str, version: int) -> bool:
    client = connect(store)
    rows = client.query("SELECT count() FROM attribution_versions WHERE version = {v:UInt32}",
                        parameters={"v": version}).result_rows
    client.close()
    return bool(rows[0][0])
