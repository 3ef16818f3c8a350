"""A file replayed by two processes equals the oracle, even when a lead's id is spelled
differently in different lines (the raw bytes send those lines to different processes,
which hand the strays to the lead's owner after parsing)."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.events import Purchase, Touch
from sinks.client import connect
from streams.commands.replay import ReplayRequest, run
from streams.commands.replay_parallel import guess_owner
from streams.engine.config import EngineConfig
from tests.compare import assert_same
from tests.integration.harness import answer_from_views
from tests.messages import event_json
from tests.oracle import batch

T0 = 1_767_225_600_000_000
HOUR = 3_600_000_000


def _escaped(line: bytes) -> bytes:
    """The same event with its lead id's first letter written as a JSON escape."""
    body = orjson.loads(line)
    lead = body["lead_id"]
    return line.replace(f'"lead_id":"{lead}"'.encode(),
                        f'"lead_id": "\\u{ord(lead[0]):04x}{lead[1:]}"'.encode())


def test_guess_owner_reads_the_raw_lead_id() -> None:
    line = b'{"event_id":"e","lead_id":"abc","type":"click"}'
    assert guess_owner(line, 1) == 0
    assert {guess_owner(b'{"lead_id":"%d"}' % n, 2) for n in range(20)} == {0, 1}
    assert guess_owner(b"not json at all", 2) == 0
    assert guess_owner(b'{"lead_id": 7}', 3) in (0, 1, 2)


def test_two_processes_equal_the_oracle_with_stray_spellings(tmp_path: Path) -> None:
    events: list[Touch | Purchase] = []
    for n in range(60):
        lead = f"lead-{n}"
        events.append(Touch(f"t{n}", lead, f"c{n % 3}", "click", T0 + n * HOUR))
        events.append(Touch(f"u{n}", lead, f"c{n % 4}", "email_open", T0 + (n + 1) * HOUR))
        events.append(Purchase(f"p{n}", lead, T0 + (n + 5) * HOUR, 1000 + n, "USD"))
    lines = [event_json(e) for e in events]
    lines = [_escaped(line) if n % 3 == 1 else line for n, line in enumerate(lines)]
    log = tmp_path / "events.ndjson"
    log.write_bytes(b"\n".join([b'{"broken"', *lines]) + b"\n")
    dsn = f"chdb://{tmp_path / 'ch'}"
    stats = run(ReplayRequest(dsn=dsn, engine=EngineConfig(), input_name=str(log),
                              processes=2, write_batch=50))
    assert (stats.received, stats.accepted, stats.rejected) == (len(lines) + 1, len(lines), 1)
    client = connect(dsn)
    assert_same(batch(events, EngineConfig()), answer_from_views(client))
    client.close()
