"""``leadclock campaigns load`` / ``list`` as a user runs them: all-or-nothing, upsert, list."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from schemas.campaigns import parse_registry
from schemas.registry_render import to_yaml
from streams.demo_campaigns import demo_campaigns, registry_csv
from tests.campaign_strategies import day
from tests.integration.harness import clickhouse_dsn, run_cli
from tests.unit.test_oracle_judgment import CYBER_MONDAY, OUTBOUND

pytestmark = pytest.mark.integration

GOOD = (
    "campaign_id,name,kind,channel,starts_on,ends_on,goal_metric,goal_target,goal_currency,"
    "spend,spend_currency\r\n"
    "spring,Spring,marketing,email,2026-03-01,2026-03-31,leads_reached,100,,250.00,USD\r\n"
    '"q2, sales",Q2 sales,sales,cold_call,2026-04-01,2026-06-30,revenue,5000.50,USD,,\r\n'
)
BAD = (
    "\ufeffcampaign_id,kind,starts_on,ends_on,goal_metric,goal_target,goal_currency\n"
    "spring,marketing,2026-03-01,2026-02-01,leads_reached,100,\n"
    "q3,sales,2026-07-01,2026-09-30,leads_hot,10,\n"
    "q4,sales,2026-10-01,2026-12-31,revenue,12.345,USD\n"
    "spring,marketing,2026-03-01,2026-03-31,leads_reached,0,\n"
)


def _cli(*args: str) -> tuple[int, str, str]:
    result = run_cli(*args)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def _listed(dsn: str) -> dict[str, object]:
    code, out, err = _cli("campaigns", "list", "--format", "csv", "--clickhouse", dsn)
    assert code == 0, err
    parsed = parse_registry("listed.csv", out.encode(), date(2026, 1, 1))
    return {c.campaign_id: c for c in parsed}  # type: ignore[union-attr]


def test_a_bad_file_lists_every_problem_and_loads_nothing(tmp_path: Path) -> None:
    dsn = clickhouse_dsn(tmp_path, "ch")
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, encoding="utf-8", newline="")
    bad.write_text(BAD, encoding="utf-8", newline="")
    assert _cli("campaigns", "load", str(good), "--clickhouse", dsn)[0] == 0
    before = _listed(dsn)

    code, out, err = _cli("campaigns", "load", str(bad), "--clickhouse", dsn)
    assert code == 1
    expected = parse_registry(str(bad), bad.read_bytes(), date(2026, 1, 1))
    lines = err.strip().splitlines()
    assert lines[:-1] == [str(problem) for problem in expected]
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in lines[:-1]] == [
        "2", "2", "3", "4", "5", "5"]  # FILE:LINE, in file order
    assert lines[-1] == (f"leadclock campaigns load: error: {len(expected)} problems in "
                         f"{bad}; nothing loaded")
    assert out == ""
    assert _listed(dsn) == before  # nothing loaded, not even the valid rows


def test_a_valid_file_upserts_and_list_prints_the_registry(tmp_path: Path) -> None:
    dsn = clickhouse_dsn(tmp_path, "ch")
    first = tmp_path / "first.csv"
    first.write_text(GOOD, encoding="utf-8", newline="")
    code, _, err = _cli("campaigns", "load", str(first), "--clickhouse", dsn)
    assert (code, err.strip()) == (0, f"campaigns: 2 loaded from {first}")

    # A YAML file: one campaign replaced (new goal), one added; "q2, sales" stays.
    changed = replace(CYBER_MONDAY, campaign_id="spring", goal_target=250)
    second = tmp_path / "second.yaml"
    second.write_text(to_yaml([changed, OUTBOUND]), encoding="utf-8")
    assert _cli("campaigns", "load", str(second), "--clickhouse", dsn)[0] == 0

    registry = _listed(dsn)
    assert sorted(registry) == ["q2, sales", "q4-outbound", "spring"]
    assert registry["spring"] == changed
    assert registry["q4-outbound"] == OUTBOUND
    q2 = registry["q2, sales"]
    assert (q2.goal_target, q2.goal_currency, q2.starts_on) == (  # type: ignore[attr-defined]
        500_050, "USD", day("2026-04-01"))

    code, table, err = _cli("campaigns", "list", "--clickhouse", dsn)
    assert code == 0, err
    lines = table.splitlines()
    assert lines[0].split() == ["campaign", "kind", "channel", "starts_on", "ends_on", "goal",
                                "spend", "declared_on"]
    assert lines[2].startswith("q2, sales ")
    assert "revenue >= 5000.50 USD (linear)" in lines[2]
    assert "spring" in lines[4] and "leads_reached >= 250" in lines[4]
    assert "500.00 USD" in lines[4]


def test_load_and_list_errors_are_one_line(tmp_path: Path) -> None:
    dsn = clickhouse_dsn(tmp_path, "ch")
    code, _, err = _cli("campaigns", "load", str(tmp_path / "missing.csv"), "--clickhouse", dsn)
    assert code == 1
    assert err.strip().splitlines() == [
        f"leadclock campaigns load: error: cannot read {tmp_path / 'missing.csv'}: "
        "No such file or directory"]
    code, _, err = _cli("campaigns", "list", "--clickhouse", dsn)
    assert (code, len(err.strip().splitlines())) == (1, 1)
    assert "no campaign registry in this database yet" in err
    code, _, err = _cli("campaigns", "--clickhouse", dsn)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_an_unreachable_clickhouse_is_one_line(tmp_path: Path) -> None:
    registry = tmp_path / "campaigns.csv"
    registry.write_text(GOOD, encoding="utf-8", newline="")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for args in (("load", str(registry)), ("list",)):
        code, _, err = _cli("campaigns", *args, "--clickhouse", f"http://127.0.0.1:{port}/db")
        assert code == 1 and "Traceback" not in err
        assert err.strip().splitlines() == [
            f"leadclock campaigns {args[0]}: error: {err.split('error: ', 1)[1].strip()}"]
        assert f"cannot open ClickHouse at http://127.0.0.1:{port}" in err


def test_the_demo_writes_its_registry_next_to_its_events(tmp_path: Path) -> None:
    events = tmp_path / "demo.ndjson"
    code, _, err = _cli("demo", "--leads", "40", "--output", str(events))
    assert code == 0, err
    written = tmp_path / "demo.campaigns.csv"
    assert f"demo: campaign registry written to {written}" in err
    parsed = parse_registry(str(written), written.read_bytes(), date(2026, 1, 1))
    assert parsed == list(demo_campaigns(40))
    elsewhere = tmp_path / "mine.csv"
    assert _cli("demo", "--leads", "40", "--output", "-", "--campaigns", str(elsewhere))[0] == 0
    assert elsewhere.read_bytes() == registry_csv(40).encode()  # CRLF kept, as RFC 4180 says
    code, _, err = _cli("demo", "--leads", "40", "--output", str(tmp_path / "no" / "x.ndjson"))
    assert code == 1
    missing = tmp_path / "no" / "x.campaigns.csv"
    assert err.strip() == f"leadclock demo: error: cannot write {missing}: No such file or " \
        "directory"
