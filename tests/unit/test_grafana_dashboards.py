"""Grafana dashboards (deploy/grafana/dashboards/): importable JSON whose every query runs.

The structure checks read the JSON only. The SQL checks expand every query (panels and
variables) as Grafana and the ClickHouse plugin would (tests/grafana_macros.py), run it
on embedded ClickHouse over a replayed demo dataset and compare its columns with what the
panel expects: the table below, and every field the panel's configuration names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from schemas.campaign_types import KINDS
from schemas.money import MINOR_UNIT_EXPONENTS
from schemas.registry_render import to_csv
from sinks.client import connect
from streams.cli import main
from streams.demo_campaigns import demo_campaigns
from streams.engine.models import MODELS
from tests.grafana_dashboards import (
    DASHBOARD_DIR,
    DASHBOARDS,
    DATASOURCE,
    Resolver,
    all_panels,
    all_queries,
    describe,
    find_variable,
    named_fields,
    option_values,
)
from tests.grafana_macros import ALL, expand

DEMO_LEADS = 300

#: Columns each panel's query returns, in order (uid, panel id) -> names.
EXPECTED_COLUMNS: dict[tuple[str, int], tuple[str, ...]] = {
    ("leadclock-campaigns", 1): ("as_of",),
    ("leadclock-campaigns", 2): ("met", "maturing", "not_met", "unjudged"),
    ("leadclock-campaigns", 3): (
        "campaign_id", "name", "kind", "channel", "starts_on", "ends_on", "verdict", "due_at",
        "goal_metric", "goal_currency", "goal", "actual", "progress", "declared_in_advance",
        "revenue_so_far", "revenue_projected", "projection_status", "judge_from",
        "leads_reached", "leads_warmed", "leads_hot", "touches", "cost_per_lead_warmed",
        "roas"),
    ("leadclock-campaigns", 4): ("time", "campaign_id", "touches"),
    ("leadclock-campaigns", 5): ("time", "campaign_id", "touch_type", "leads"),
    ("leadclock-campaigns", 6): ("time", "stage", "reached"),
    ("leadclock-campaigns", 7): ("lag_days", "marketing", "sales", "unclassified"),
    ("leadclock-campaigns", 8): ("touch_cohort", "purchase_period", "revenue"),
    ("leadclock-campaigns", 9): ("campaign_id", "so_far", "still_expected"),
    ("leadclock-campaigns", 10): (
        "campaign_id", "kind", "status", "judge_from", "so_far", "projected", "matured_share"),
    ("leadclock-campaigns", 11): (
        "campaign_id", "first_touch", "last_touch", "linear", "position_based", "time_decay"),
}

# FROM/JOIN followed by a name (not by a subquery): the name and whether a call follows.
_SOURCE = re.compile(r"\b(?:FROM|JOIN)\s+(?!\()(?P<name>[^\s(),]+)(?P<call>\s*\()?", re.I)
_VIEW = re.compile(r"v_[a-z0-9_]+")
_NUMERIC = re.compile(r"(Nullable\()?(U?Int\d+|Float\d+|Decimal.*)\)?")
_TEXT = re.compile(r"(Nullable\()?(LowCardinality\()?(Nullable\()?String\)*")
_TIME = re.compile(r"(Nullable\()?(DateTime|DateTime64|Date|Date32)\b.*")


@pytest.fixture(params=sorted(DASHBOARDS))
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    return DASHBOARDS[request.param]


def test_dashboards_exist() -> None:
    assert DASHBOARDS, f"no dashboard JSON in {DASHBOARD_DIR}"
    uids = [d["uid"] for d in DASHBOARDS.values()]
    titles = [d["title"] for d in DASHBOARDS.values()]
    assert len(set(uids)) == len(uids) and len(set(titles)) == len(titles)
    declared = {key for key in EXPECTED_COLUMNS}
    present = {(d["uid"], p["id"]) for d in DASHBOARDS.values() for p in all_panels(d)
               if p["type"] != "row"}
    assert declared == present, "declare each panel's columns in EXPECTED_COLUMNS"


def test_dashboard_is_importable(dashboard: dict[str, Any]) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard["uid"])
    assert dashboard["title"].strip()
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard.get("id") is None, "an id would clash with the importing Grafana's"
    assert set(dashboard["time"]) == {"from", "to"}
    assert isinstance(dashboard["templating"]["list"], list)
    assert dashboard["panels"]


def test_panels_have_our_datasource_ids_and_places(dashboard: dict[str, Any]) -> None:
    shown = [p for p in all_panels(dashboard) if p["type"] != "row"]
    ids = [p["id"] for p in shown]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids)
    cells: set[tuple[int, int]] = set()
    for panel in shown:
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in "xywh"), panel["title"]
        assert grid["x"] >= 0 and grid["w"] >= 1 and grid["x"] + grid["w"] <= 24
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not mine & cells, f"panel {panel['id']} overlaps another"
        cells |= mine
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs)
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE
            assert target["editorType"] == "sql" and target["rawSql"].strip()
            # format: the plugin's sqlutil option (0 time series, 1 table)
            assert (target["format"], target["queryType"]) in ((0, "timeseries"), (1, "table"))


def test_variables(dashboard: dict[str, Any]) -> None:
    assert option_values(find_variable(dashboard, "model")) == list(MODELS)
    assert option_values(find_variable(dashboard, "kind")) == ["all", *KINDS, "unclassified"]
    assert find_variable(dashboard, "currency")["type"] == "query"
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]
        if variable["type"] == "custom":
            assert variable["query"].split(",") == option_values(variable)
            assert variable["current"]["value"] in option_values(variable)


def test_currency_exponent_lists_follow_iso_4217(dashboard: dict[str, Any]) -> None:
    """Money columns are minor units; panels divide by 10^exponent of ISO 4217."""
    assert set(MINOR_UNIT_EXPONENTS.values()) <= {0, 2, 3, 4}, "a new exponent: add a list"
    for exponent in (0, 3, 4):
        listed = find_variable(dashboard, f"currencies_{exponent}dp")["query"]
        expected = sorted(c for c, e in MINOR_UNIT_EXPONENTS.items() if e == exponent)
        assert listed == ",".join(f"'{code}'" for code in expected)


def test_queries_read_only_public_views(dashboard: dict[str, Any]) -> None:
    """The dashboard login may SELECT the v_* views and nothing else."""
    for where, sql in all_queries(dashboard):
        sources = list(_SOURCE.finditer(sql))
        for source in sources:
            assert _VIEW.fullmatch(source["name"]) and not source["call"], (
                f"{dashboard['uid']} {where} reads {source['name']!r}, not a v_* view")
        assert ";" not in sql, f"{where}: one statement only"


# --- the queries run -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """`leadclock demo` replayed into embedded ClickHouse, with its campaign registry
    loaded by `leadclock campaigns load`, except cold-outbound: every kind (marketing,
    sales and unclassified) then has campaigns for the variables to offer."""
    root = tmp_path_factory.mktemp("grafana")
    events, dsn = root / "demo.ndjson", f"chdb://{root / 'ch'}"
    assert main(["demo", "--leads", str(DEMO_LEADS), "--output", str(events)]) == 0
    assert main(["replay", "--input", str(events), "--clickhouse", dsn]) == 0
    registry = root / "campaigns.csv"
    registry.write_text(to_csv(c for c in demo_campaigns(DEMO_LEADS)
                               if c.campaign_id != "cold-outbound"), encoding="utf-8")
    assert main(["campaigns", "load", str(registry), "--clickhouse", dsn]) == 0
    client = connect(dsn)
    yield client
    client.close()


def _check_shape(panel: dict[str, Any], types: dict[str, str], rows: list[Sequence[Any]],
                 where: str) -> None:
    """What the panel type needs from the rows (Grafana would fail or draw nothing)."""
    columns = list(types)
    if panel["targets"][0]["format"] == 0:
        # long time series: sqlds turns it wide (LongToWide), which needs a time column,
        # rows sorted by time and one row per time and label set
        assert columns[0] == "time" and _TIME.fullmatch(types["time"]), where
        labels = [c for c in columns[1:] if _TEXT.fullmatch(types[c])]
        assert all(_NUMERIC.fullmatch(types[c]) for c in columns[1:] if c not in labels), where
        times = [row[0] for row in rows]
        assert times == sorted(times), f"{where}: rows must be sorted by time"
        keys = [(row[0], *(row[columns.index(c)] for c in labels)) for row in rows]
        assert len(set(keys)) == len(keys), f"{where}: one row per time and labels"
    if panel["type"] == "trend":
        x = panel["options"]["xField"]
        assert _NUMERIC.fullmatch(types[x]), where
        xs = [row[columns.index(x)] for row in rows]
        assert xs == sorted(set(xs)), f"{where}: {x} must increase"
    if panel["type"] == "barchart":
        assert _TEXT.fullmatch(types[panel["options"]["xField"]]), where


@pytest.fixture(scope="module")
def resolvers(demo_client: Client) -> dict[str, Resolver]:
    """One resolver per dashboard for the module: variable queries run once per choice."""
    return {name: Resolver(demo_client, dashboard) for name, dashboard in DASHBOARDS.items()}


PANELS = [(name, panel["id"]) for name, d in DASHBOARDS.items() for panel in all_panels(d)
          if panel["type"] != "row"]


@pytest.mark.parametrize(("name", "panel_id"), PANELS,
                         ids=[f"{n.removesuffix('.json')}:{i}" for n, i in PANELS])
def test_panel_query_returns_its_columns(demo_client: Client, resolvers: dict[str, Resolver],
                                        name: str, panel_id: int) -> None:
    dashboard = DASHBOARDS[name]
    panel = next(p for p in all_panels(dashboard) if p["id"] == panel_id)
    expected = EXPECTED_COLUMNS[(dashboard["uid"], panel_id)]
    assert named_fields(panel) <= set(expected), "the panel names a column its query lacks"
    assert len(panel["targets"]) == 1, "one query per panel (EXPECTED_COLUMNS has one row)"
    resolver = resolvers[name]
    sql = panel["targets"][0]["rawSql"]
    probe = resolver.context(resolver.resolve())
    expand(sql, probe)
    for n, values in enumerate(resolver.variants(probe.used)):
        text = expand(sql, resolver.context(values))
        where = f"{name} panel {panel_id} with {values}"
        result = demo_client.query(text)
        rows = list(result.result_rows)
        if n == 0:
            assert rows, f"{where}: no rows on the demo data"
        if rows:  # an empty result carries no column names: ask ClickHouse for them
            types = dict(zip(result.column_names, (t.name for t in result.column_types),
                             strict=True))
        else:
            types = dict(describe(demo_client, text))
        assert tuple(types) == expected, where
        _check_shape(panel, types, rows, where)


def test_variable_queries(resolvers: dict[str, Resolver], dashboard: dict[str, Any]) -> None:
    resolver = next(r for r in resolvers.values() if r.dashboard is dashboard)
    values = resolver.resolve()
    assert values["campaign"] == [ALL]
    for currency in resolver.options("currency", values):
        scale = resolver.resolve(currency=currency)["scale"]
        assert scale == str(10 ** MINOR_UNIT_EXPONENTS[currency]), currency
    campaigns = resolver.options("campaign", values)
    assert "(none)" not in campaigns and campaigns == sorted(campaigns)
    for kind in ("marketing", "sales"):
        some = resolver.options("campaign", resolver.resolve(kind=kind))
        assert set(some) < set(campaigns), kind
