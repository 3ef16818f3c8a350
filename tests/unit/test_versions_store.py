"""Versions in ClickHouse: records, promote, retire, diff, the replay's choice of version,
and re-creating tables of an older schema partitioned by version, and ``lead_reach``
keeping the most touches per key (embedded engine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from schemas.events import Purchase, Touch
from sinks import ddl_render
from sinks.client import connect
from sinks.exceptions import VersionConfigMismatch, VersionError
from sinks.migrate import MigrateOptions, apply, ddl_files
from sinks.partitioning import COPY_SUFFIX, TABLES, unpartitioned
from sinks.reach_version import keeps_most_touches, reach_by_revision
from sinks.sink import ClickHouseSink
from sinks.stored_events import ClickHouseStoredEvents
from sinks.version_diff import diff
from sinks.version_ops import promote, retire
from sinks.versions import BUILDING, ensure_version, get_version, list_versions, set_status
from streams.commands.replay_plan import APPEND, NEW, RESUME, choose
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept
from streams.engine.state import LeadState

T0 = 1_767_225_600_000_000
DAY = 86_400_000_000
CONFIG = EngineConfig()


def _write(client: Client, version: int, lookback_days: int = 90) -> None:
    """Two leads: a touch 10 days before a purchase, and a purchase with no touch."""
    config = EngineConfig(lookback_us=lookback_days * DAY)
    ensure_version(client, version, config.describe(), source="file:t@0")
    buffer = OutputBuffer(config)
    for lead, events in (("a", [Touch("t1", "a", "spring", "click", T0),
                                Purchase("p1", "a", T0 + 10 * DAY, 1000, "USD")]),
                         ("b", [Purchase("p2", "b", T0, 500, "EUR", "fall")])):
        state = LeadState()
        for event in events:
            state = accept(state, event) or state
        buffer.put_lead(lead, state)
    buffer.flush(ClickHouseSink(client, version))


def test_promote_is_one_switch_and_retire_drops_partitions(client: Client) -> None:
    _write(client, 1)
    _write(client, 2, lookback_days=5)
    assert [(i.version, i.status, i.leads, i.events) for i in list_versions(client)] == [
        (1, "current", 2, 3), (2, "ready", 2, 3)]
    moves = diff(client, 1, 2)
    assert {m.key: (m.before, m.after) for m in moves.revenue} == {
        ("spring", model, "USD"): (1000, 0) for model in
        ("first_touch", "last_touch", "linear", "position_based", "time_decay")} | {
        ("(none)", model, "USD"): (0, 1000) for model in
        ("first_touch", "last_touch", "linear", "position_based", "time_decay")}
    assert moves.stages == []
    assert all(before == after for before, after in moves.totals.values())

    with pytest.raises(VersionError, match="is current"):
        retire(client, 1)
    assert promote(client, 2) == 1
    assert client.query("SELECT DISTINCT campaign_id FROM v_attribution").result_rows == [
        ("(none)",)]
    done = retire(client, 1)
    assert all("partition dropped" in entry for entry in done.dropped if "offsets" not in entry)
    for table in ("lead_events", "lead_reach", "lead_credits", "lead_revisions"):
        assert client.query(f"SELECT count() FROM {table} WHERE version = 1"
                            ).result_rows == [(0,)]
    assert get_version(client, 1).status == "retired"  # type: ignore[union-attr]
    with pytest.raises(VersionError, match="retired"):
        promote(client, 1)
    with pytest.raises(VersionError, match="no version 7"):
        promote(client, 7)


def test_stored_events_read_back_what_was_written(client: Client) -> None:
    _write(client, 3)
    stored = ClickHouseStoredEvents(client, 3, batch=1).stored_events(["a", "b", "zz"])
    assert sorted(stored) == ["a", "b"]
    assert set(stored["a"]) == {Touch("t1", "a", "spring", "click", T0),
                                Purchase("p1", "a", T0 + 10 * DAY, 1000, "USD")}
    assert stored["b"] == [Purchase("p2", "b", T0, 500, "EUR", "fall")]


def test_a_replay_chooses_new_append_resume_or_refuses(client: Client) -> None:
    config = CONFIG.describe()
    assert choose(client, requested=None, config=config, label="file:x@1",
                  append=False).mode == NEW
    _write(client, 1)
    with pytest.raises(VersionError, match=r"already holds data .* add --append"):
        choose(client, requested=1, config=config, label="file:x@1", append=False)
    assert choose(client, requested=1, config=config, label="file:x@1",
                  append=True).mode == APPEND
    assert choose(client, requested=None, config=config, label="file:x@1",
                  append=False).version == 2  # the next unused one
    info = ensure_version(client, 2, config, source="file:y@2", status=BUILDING)
    _write(client, 2)
    assert info.building
    resumed = choose(client, requested=None, config=config, label="file:y@2", append=False)
    assert (resumed.version, resumed.mode) == (2, RESUME)
    with pytest.raises(VersionConfigMismatch, match="lookback=30d"):
        choose(client, requested=2, config=EngineConfig(lookback_us=30 * DAY).describe(),
               label="file:y@2", append=True)
    with pytest.raises(VersionError, match="still building"):
        promote(client, 2)
    set_status(client, get_version(client, 2), "ready")  # type: ignore[arg-type]
    assert promote(client, 2) == 1


def test_tables_of_an_older_schema_are_re_created_partitioned(tmp_path: Path) -> None:
    client = connect(f"chdb://{tmp_path / 'ch'}")
    older = [(name, text.replace("PARTITION BY version ORDER BY", "ORDER BY").replace(
                 "{replacing}(touches)", "{replacing}(revision)"))
             for name, text in ddl_files() if name < "003"]  # what DDL 001 created before
    for statement in ddl_render.single_node(older):
        client.command(statement.sql)
    for table in TABLES:
        client.command(f"INSERT INTO {table} (version, lead_id, revision) "
                       "SELECT number % 3 + 1, toString(number), 1 FROM numbers(100)")
    client.command(f"CREATE TABLE lead_reach{COPY_SUFFIX} AS lead_reach")  # a crashed run
    client.command(f"INSERT INTO lead_reach{COPY_SUFFIX} (version, lead_id) VALUES (9, 'x')")
    done = apply(client)  # what a worker or replay does: reports, changes nothing
    assert set(unpartitioned(client)) == set(TABLES)
    assert "leadclock migrate" in done.notes[0]
    done = apply(client, MigrateOptions(copy_rows=True))  # an explicit migrate
    assert unpartitioned(client) == {}
    assert keeps_most_touches(client)  # lead_reach: both layouts in one re-creation
    assert len(done.notes) == len(TABLES)
    for table in TABLES:
        assert client.query(f"SELECT version, count() FROM {table} GROUP BY version "
                            "ORDER BY version").result_rows == [(1, 34), (2, 33), (3, 33)]
    assert apply(client, MigrateOptions(copy_rows=True)).notes == []  # idempotent
    left = client.query("SELECT count() FROM system.tables WHERE name LIKE "
                        f"'%{COPY_SUFFIX}'").result_rows
    assert left == [(0,)]
    client.close()


def test_lead_reach_of_an_older_schema_is_re_created_keeping_the_most_touches(
        tmp_path: Path) -> None:
    client = connect(f"chdb://{tmp_path / 'ch'}")
    older = [(name, text.replace("{replacing}(touches)", "{replacing}(revision)"))
             for name, text in ddl_files()]  # partitioned, reach kept by revision
    for statement in ddl_render.single_node(older):
        client.command(statement.sql)
    client.command("SYSTEM STOP MERGES lead_reach")  # so the copy counts every row
    for rows in ("(1, 'L', 'spring', 1, 1), (1, 'M', 'summer', 1, 1)", "(1, 'L', 'spring', 2, 2)"):
        client.command("INSERT INTO lead_reach (version, lead_id, campaign_id, touches, "
                       f"revision) VALUES {rows}")  # two parts: both rows of L stay
    before = client.query("SELECT lead_id, touches FROM lead_reach FINAL ORDER BY lead_id")
    assert reach_by_revision(client) and not keeps_most_touches(client)
    done = apply(client)  # what a worker or replay does: reports, changes nothing
    assert any("lead_reach" in note and "leadclock migrate" in note for note in done.notes)
    assert reach_by_revision(client)
    done = apply(client, MigrateOptions(copy_rows=True))  # an explicit migrate
    assert done.notes == ["lead_reach: re-created keeping each key's row with the most "
                          "touches (3 rows copied; workers now write only the keys that "
                          "change)"]
    assert keeps_most_touches(client) and not reach_by_revision(client)
    after = client.query("SELECT lead_id, touches FROM lead_reach FINAL ORDER BY lead_id")
    assert after.result_rows == before.result_rows == [("L", 2), ("M", 1)]
    assert apply(client, MigrateOptions(copy_rows=True)).notes == []  # idempotent
    client.close()
