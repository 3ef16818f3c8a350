"""Cluster DDL, single-node DDL and the dashboard role, rendered from schemas/ddl/*.sql."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from sinks import access, ddl_render
from sinks.access import DashboardAccess
from sinks.client import connect
from sinks.exceptions import DdlRenderError, MigrationError
from sinks.migrate import MigrateOptions, check_backend, ddl_files, migrate, plan
from sinks.partitioning import COPY_SUFFIX
from streams.cli import main

FILES = ddl_files()
CLUSTER = "prod"


def _cluster_sql() -> list[str]:
    return [s.sql for s in ddl_render.cluster(FILES, CLUSTER, "leadclock")]


def _single_sql() -> list[str]:
    return [s.sql for s in ddl_render.single_node(FILES)]


def _tables() -> list[str]:
    return [m[1] for sql in _single_sql()
            if (m := re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", sql))]


# --- cluster mode ---------------------------------------------------------------------

def test_every_cluster_statement_names_on_cluster_in_its_head() -> None:
    for sql in _cluster_sql():
        head = sql.splitlines()[0]
        assert f" ON CLUSTER {CLUSTER}" in head, head


def test_every_table_becomes_a_replicated_local_table_and_a_distributed_one() -> None:
    rendered = "\n".join(_cluster_sql())
    assert _tables(), "the DDL defines tables"
    for table in _tables():
        local = re.search(
            rf"CREATE TABLE IF NOT EXISTS {table}_local ON CLUSTER {CLUSTER} \(.*?\)\n"
            r"ENGINE = Replicated(\w*MergeTree)\('/clickhouse/tables/\{shard\}/\{database\}/"
            r"\{table\}', '\{replica\}'.*?SETTINGS replicated_deduplication_window = 0",
            rendered, re.DOTALL)
        assert local, table
        distributed = re.search(
            rf"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER {CLUSTER} AS {table}_local\n"
            rf"ENGINE = Distributed\({CLUSTER}, leadclock, {table}_local, cityHash64\(",
            rendered)
        assert distributed, table


def test_no_table_is_left_unreplicated() -> None:
    for sql in _cluster_sql():
        for engine in re.findall(r"ENGINE = (\w+)", sql):
            assert engine == "Distributed" or engine.startswith("Replicated"), sql


def test_the_engine_arguments_survive_replication() -> None:
    single = "\n".join(_single_sql())
    rendered = "\n".join(_cluster_sql())
    for table, args in re.findall(
            r"CREATE TABLE IF NOT EXISTS (\w+) \(.*?\) ENGINE = ReplacingMergeTree\((\w+)\)",
            single, re.DOTALL):
        assert re.search(rf"{table}_local .*?'\{{replica\}}', {args}\)", rendered,
                         re.DOTALL), table


def test_the_sharding_key_is_the_sorting_key() -> None:
    rendered = "\n".join(_cluster_sql())
    key = re.search(r"Distributed\(prod, leadclock, lead_credits_local, cityHash64\((.*?)\)\)",
                    rendered)
    assert key is not None
    assert key[1] == "version, lead_id, purchase_event_id, touch_event_id, model"


def test_views_are_the_same_queries_over_the_distributed_names() -> None:
    def bodies(statements: list[str]) -> list[tuple[str, str]]:
        out = []
        for sql in statements:
            m = re.match(r"CREATE OR REPLACE VIEW (\w+) .*?\bAS\b(.*)", sql, re.DOTALL)
            if m:
                out.append((m[1], m[2]))
        return out

    single, clustered = bodies(_single_sql()), bodies(_cluster_sql())
    assert single and single == clustered
    for sql in _cluster_sql():
        if sql.startswith("CREATE OR REPLACE VIEW"):
            assert "_local" not in sql


def test_alters_change_the_local_table_and_mirror_column_changes() -> None:
    alters = [s for s in _cluster_sql() if s.startswith("ALTER TABLE")]
    assert alters
    for sql in alters:
        name = re.match(r"ALTER TABLE (\w+)", sql)
        assert name is not None
        if not name[1].endswith("_local"):
            assert "ORDER BY" not in sql, "a Distributed table has no sorting key"
            assert any(clause in sql for clause in ddl_render.COLUMN_CLAUSES)
    assert any("_local" in a and "MODIFY ORDER BY" in a for a in alters)


def _render(text: str) -> list[str]:
    return [s.sql for s in ddl_render.cluster([("x.sql", text)], CLUSTER, "db")]


def test_existing_settings_comment_and_drop_are_translated() -> None:
    out = _render(
        "CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY tuple() "
        "SETTINGS index_granularity = 8192;\n"
        "CREATE TABLE u (a UInt8) ENGINE = ReplacingMergeTree ORDER BY a COMMENT 'x';\n"
        "DROP TABLE IF EXISTS t;\n"
        "DROP VIEW IF EXISTS v_gone;\n")
    assert "SETTINGS replicated_deduplication_window = 0, index_granularity = 8192" in out[0]
    assert "Distributed(prod, db, t_local, rand())" in out[1]
    assert "ORDER BY a SETTINGS replicated_deduplication_window = 0 COMMENT 'x'" in out[2]
    assert out[4:] == ["DROP TABLE IF EXISTS t ON CLUSTER prod SYNC",
                       "DROP TABLE IF EXISTS t_local ON CLUSTER prod SYNC",
                       "DROP VIEW IF EXISTS v_gone ON CLUSTER prod SYNC"]


@pytest.mark.parametrize("text", [
    "CREATE MATERIALIZED VIEW mv TO t AS SELECT 1",
    "CREATE TABLE m (a UInt8) ENGINE = Memory",
    "CREATE TABLE r (a UInt8) ENGINE = MergeTree",
    "ALTER TABLE unknown ADD COLUMN b UInt8",
    "INSERT INTO t VALUES (1)",
])
def test_what_cannot_be_translated_is_refused_not_guessed(text: str) -> None:
    with pytest.raises(DdlRenderError):
        _render(text)


@pytest.mark.parametrize("name", ["", "a b", "x;DROP", "1x"])
def test_a_bad_cluster_name_is_refused(name: str) -> None:
    with pytest.raises(DdlRenderError):
        ddl_render.cluster(FILES, name, "db")


def test_every_cluster_and_role_statement_parses_in_clickhouse() -> None:
    """The real parser (chdb's EXPLAIN AST) accepts what cannot be run here."""
    statements = _cluster_sql() + access.statements(
        DashboardAccess("dash", "grafana", "pw"), VIEWS, CLUSTER, "leadclock")
    client = connect("chdb://memory")
    try:
        for sql in statements:
            client.query(f"EXPLAIN AST {sql}")
    finally:
        client.close()


# --- single node: what migrate really applies ---------------------------------------

class _Recording:
    """The real chdb client, with the statements it was given written down."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.commands: list[str] = []

    def command(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self.commands.append(sql)
        return self.client.command(sql, *args, **kwargs)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.query(*args, **kwargs)


def test_single_node_rendering_is_what_migrate_applies_on_chdb(tmp_path: Path) -> None:
    client = connect(f"chdb://{tmp_path / 'ch'}")
    try:
        recording = _Recording(client)
        migrate(recording)  # type: ignore[arg-type]
        bookkeeping = {"SELECT currentDatabase()"}
        applied = [c for c in recording.commands if c not in bookkeeping
                   and not c.startswith("SELECT count() FROM s")  # system.tables, schema_...
                   and not c.startswith("INSERT INTO schema_migrations")]
        assert not [c for c in applied if COPY_SUFFIX in c]  # new tables: partitioned at once
        assert applied == _single_sql()
        assert applied == [s.sql for s in plan(MigrateOptions(), "default")]
        shown = client.command("SHOW CREATE TABLE v_attribution")
        assert "SQL SECURITY DEFINER" in str(shown)
    finally:
        client.close()


def test_a_plan_applied_completely_is_skipped_next_time(client: Client) -> None:
    """Workers starting after a migrate (or next to each other) do not re-run the DDL."""
    assert migrate(client) == []  # the fixture migrated this database already
    client.command("TRUNCATE TABLE schema_migrations")
    assert migrate(client) != []
    assert migrate(client) == []
    # An explicit `leadclock migrate` re-applies anyway: it repairs a view dropped by hand.
    client.command("DROP VIEW v_clock")
    assert migrate(client, MigrateOptions(reapply=True)) != []
    assert client.command("SELECT count() FROM v_clock") == 1


def test_single_node_differs_from_the_files_only_by_template_and_definer() -> None:
    for sql in _single_sql():
        assert "{replacing}" not in sql
        if sql.startswith("CREATE OR REPLACE VIEW"):
            assert re.match(r"CREATE OR REPLACE VIEW \w+ SQL SECURITY DEFINER AS", sql)


def test_a_plain_migrate_keeps_a_single_node_schema_single_node(client: Client) -> None:
    from sinks.migrate import deployed_cluster

    assert deployed_cluster(client) == ""
    migrate(client)
    with pytest.raises(MigrationError, match="single-node"):
        migrate(client, MigrateOptions(cluster="prod"))


def test_chdb_refuses_cluster_mode_and_roles_in_one_line() -> None:
    with pytest.raises(MigrationError, match="no clusters"):
        check_backend("chdb:///tmp/x", MigrateOptions(cluster="prod"))
    with pytest.raises(MigrationError, match="no access control"):
        check_backend("chdb:///tmp/x", MigrateOptions(dashboard=DashboardAccess("r")))
    check_backend("http://ch:8123/db", MigrateOptions("prod", DashboardAccess("r")))


# --- the dashboard role ------------------------------------------------------------------

VIEWS = ddl_render.public_views(FILES)


def test_public_views_are_every_v_view_of_the_ddl() -> None:
    assert {"v_marketing_reach", "v_lead_stages", "v_attribution"} <= set(VIEWS)
    assert all(v.startswith("v_") for v in VIEWS)
    created = {m[1] for sql in _single_sql()
               if (m := re.match(r"CREATE OR REPLACE VIEW (v_\w+)", sql))}
    assert set(VIEWS) == created


@pytest.mark.parametrize("cluster", [None, CLUSTER])
def test_the_role_gets_select_on_the_public_views_and_nothing_else(cluster: str | None) -> None:
    sql = access.statements(DashboardAccess("dash", "grafana", "s3cret"), VIEWS, cluster)
    grants = [s for s in sql if s.startswith("GRANT")]
    on = f" ON CLUSTER {cluster}" if cluster else ""
    to_role = [g for g in grants if g.endswith(" TO dash")]
    assert to_role == [f"GRANT{on} SELECT ON {v} TO dash" for v in VIEWS]
    assert [g for g in grants if g not in to_role] == [f"GRANT{on} dash TO grafana"]
    assert f"REVOKE{on} ALL ON *.* FROM dash" in sql
    assert f"REVOKE{on} ALL ON *.* FROM grafana" in sql
    assert sql.index(f"REVOKE{on} ALL ON *.* FROM dash") < sql.index(to_role[0])
    for statement in sql:
        assert not re.search(r"\b(INSERT|ALTER TABLE|CREATE TABLE|DROP|ALL ON \S+ TO)\b",
                             statement), statement
    if cluster:
        assert all(" ON CLUSTER prod" in s for s in sql)


def test_the_password_is_quoted_and_never_shown_in_a_dry_run() -> None:
    sql = access.statements(DashboardAccess("dash", "u", "it's\\x"), VIEWS)
    assert "BY 'it\\'s\\\\x'" in "\n".join(sql)
    dry = "\n".join(access.statements(DashboardAccess("dash", "u", None), VIEWS))
    assert access.PASSWORD_PLACEHOLDER in dry


def test_bad_role_or_user_names_are_refused() -> None:
    with pytest.raises(DdlRenderError):
        DashboardAccess("dash; DROP")
    with pytest.raises(DdlRenderError):
        DashboardAccess("dash", "bad user")


def test_migrate_dry_run_prints_the_plan_without_the_password(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADCLOCK_DASHBOARD_PASSWORD", "do-not-print-me")
    assert main(["migrate", "--dry-run", "--cluster", CLUSTER, "--dashboard-role", "dash",
                 "--dashboard-user", "grafana", "--clickhouse",
                 "http://u:p@ch:8123/leadclock"]) == 0
    out = capsys.readouterr().out
    assert "do-not-print-me" not in out
    assert "Distributed(prod, leadclock, lead_reach_local" in out
    assert "GRANT ON CLUSTER prod SELECT ON v_attribution TO dash;" in out


def test_a_dashboard_user_without_a_password_is_a_one_line_error(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADCLOCK_DASHBOARD_PASSWORD", raising=False)
    assert main(["migrate", "--dashboard-role", "dash", "--dashboard-user", "g",
                 "--clickhouse", "http://ch:8123/db"]) == 1
    err = capsys.readouterr().err.strip()
    assert "LEADCLOCK_DASHBOARD_PASSWORD" in err and "\n" not in err
