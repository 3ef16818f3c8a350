"""The dashboard's JSON API over HTTP, against embedded ClickHouse filled by a demo replay.

Panel figures are checked against the views they read (queried directly): the real
§6 views, over a registry loaded with ``leadclock campaigns load``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client

from streams.web.app import build_app
from streams.web.db import ClientReader
from streams.web.params import MODELS
from tests.web.conftest import DemoDb, Served, serving
from tests.web.http import call, sql

SPEC_COLUMNS = {
    "scorecard": [
        "campaign_id", "name", "kind", "channel", "starts_on", "ends_on", "goal_metric",
        "goal_target", "goal_currency", "goal_model", "actual", "due_at", "verdict",
        "declared_in_advance", "touches", "leads_reached", "leads_warmed", "leads_hot",
        "spend_minor", "spend_currency", "cost_per_lead_warmed", "roas", "model", "currency",
        "revenue_minor", "projected_revenue_minor", "matured_share", "judge_from",
        "projection_status"],
    "reach": ["campaign_id", "touch_type", "window_start", "touches", "leads"],
    "lead-clock": ["window_start", "stage", "entered", "reached"],
    "delayed-revenue": ["touch_cohort", "purchase_period", "currency", "revenue_minor"],
    "lag": ["model", "kind", "currency", "lag_days", "revenue_minor", "cumulative_share"],
    "projection": ["campaign_id", "kind", "model", "currency", "revenue_minor", "matured_share",
                   "projected_revenue_minor", "judge_from", "status"],
    "model-comparison": ["campaign_id", "currency", *MODELS],
}


def get(served: Served, path: str) -> dict[str, object]:
    reply = call(f"{served.url}{path}")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["Cache-Control"] == "no-store"
    data: dict[str, object] = reply.json()
    return data


def objects(payload: dict[str, object]) -> list[dict[str, object]]:
    columns = payload["columns"]
    assert isinstance(columns, list)
    rows = payload["rows"]
    assert isinstance(rows, list)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def scalar(client: Client, query: str, **parameters: object) -> object:
    return client.query(query, parameters=parameters).result_rows[0][0]


@pytest.mark.parametrize("panel", sorted(SPEC_COLUMNS))
def test_every_panel_answers_with_its_columns(served: Served, panel: str) -> None:
    payload = get(served, f"/api/{panel}")
    assert payload["panel"] == panel
    assert payload["columns"] == SPEC_COLUMNS[panel]
    assert payload["rows"], f"{panel} is empty on the demo dataset"
    assert isinstance(payload["query_ms"], float)


def test_meta_names_the_clock_currencies_and_vocabularies(served: Served, demo_db: DemoDb) -> None:
    meta = get(served, "/api/meta")
    as_of = scalar(demo_db.client, "SELECT toString(as_of) FROM v_clock")
    # Same instant; the page drops a zero fraction that toString(DateTime64(6)) keeps.
    shown = datetime.fromisoformat(str(meta["as_of"]).replace("Z", "+00:00"))
    assert shown == datetime.fromisoformat(f"{as_of}+00:00")
    currencies = meta["currencies"]
    assert isinstance(currencies, list)
    assert sorted(currencies) == ["EUR", "JPY", "KWD", "USD"]
    assert meta["default_currency"] == currencies[0] == "USD"  # the demo is 70 % USD
    assert meta["currency_exponents"]["JPY"] == 0  # type: ignore[index]
    assert meta["currency_exponents"]["KWD"] == 3  # type: ignore[index]
    assert meta["models"] == list(MODELS)
    assert meta["kinds"] == ["marketing", "sales", "unclassified"]
    assert meta["refresh_seconds"] == 1


def test_api_index_lists_every_endpoint(served: Served) -> None:
    endpoints = get(served, "/api")["endpoints"]
    assert isinstance(endpoints, dict)
    for panel in SPEC_COLUMNS:
        assert f"GET /api/{panel}" in endpoints
    assert "POST /api/sql" in endpoints


def test_scorecard_lists_every_campaign_with_revenue_under_the_chosen_model(
        served: Served, demo_db: DemoDb) -> None:
    ids = {row[0] for row in demo_db.client.query(
        "SELECT campaign_id FROM v_campaign_scorecard").result_rows}
    seen: dict[str, dict[str, object]] = {}
    for model in MODELS:
        rows = objects(get(served, f"/api/scorecard?model={model}&currency=EUR"))
        assert {str(row["campaign_id"]) for row in rows} == ids
        assert len(rows) == len(ids)  # one row per campaign, whatever the currencies
        for row in rows:
            expected = scalar(demo_db.client, f"SELECT {model} FROM v_model_comparison "
                              "WHERE campaign_id = {c:String} AND currency = 'EUR'",
                              c=row["campaign_id"])
            assert row["revenue_minor"] == expected
            assert row["model"] == model and row["currency"] == "EUR"
        seen[model] = {str(row["campaign_id"]): row["revenue_minor"] for row in rows}
    assert seen["first_touch"] != seen["linear"]  # switching the model changes revenue


def test_scorecard_kind_filter_and_unregistered_campaigns(served: Served) -> None:
    everything = objects(get(served, "/api/scorecard"))
    assert {(row["campaign_id"], row["kind"], row["verdict"]) for row in everything} >= {
        ("cold-outbound", "unclassified", "unjudged")}
    for kind in ("marketing", "sales", "unclassified"):
        rows = objects(get(served, f"/api/scorecard?kind={kind}"))
        assert rows and {row["kind"] for row in rows} == {kind}
        assert len(rows) == sum(1 for row in everything if row["kind"] == kind)


def test_reach_filters(served: Served, demo_db: DemoDb) -> None:
    path = ("/api/reach?campaign=spring-sale&touch_type=click"
            "&from=2026-03-01&to=2026-03-20")
    payload = get(served, path)
    rows = objects(payload)
    assert rows
    assert {(row["campaign_id"], row["touch_type"]) for row in rows} == {("spring-sale", "click")}
    assert all("2026-03-01" <= str(row["window_start"])[:10] <= "2026-03-20" for row in rows)
    expected = scalar(demo_db.client, """
        SELECT sum(touches) FROM v_marketing_reach WHERE campaign_id = 'spring-sale'
        AND touch_type = 'click' AND window_start >= '2026-03-01'
        AND window_start < '2026-03-21'""")
    assert sum(int(str(row["touches"])) for row in rows) == expected
    sales = objects(get(served, "/api/reach?kind=sales"))
    assert "cold-outbound" not in {row["campaign_id"] for row in sales}
    assert "spring-sale" in {row["campaign_id"] for row in sales}


def test_lead_clock_date_range(served: Served) -> None:
    rows = objects(get(served, "/api/lead-clock?from=2026-03-01&to=2026-03-01"))
    assert {row["window_start"] for row in rows} == {"2026-03-01T00:00:00Z"}
    assert {row["stage"] for row in rows} <= {"warm", "hot", "customer"}


@pytest.mark.parametrize("bucket", ["day", "week", "month"])
def test_delayed_revenue_keeps_every_minor_unit(served: Served, demo_db: DemoDb,
                                                bucket: str) -> None:
    rows = objects(get(served, f"/api/delayed-revenue?model=time_decay&currency=JPY"
                               f"&bucket={bucket}"))
    expected = scalar(demo_db.client, "SELECT sum(revenue_minor) FROM v_attribution WHERE "
                      "model = 'time_decay' AND currency = 'JPY' AND campaign_id != '(none)'")
    assert sum(int(str(row["revenue_minor"])) for row in rows) == expected
    assert all(str(row["touch_cohort"]) <= str(row["purchase_period"]) for row in rows)
    if bucket == "month":
        assert all(str(row["touch_cohort"]).endswith("-01") for row in rows)


def test_lag_projection_and_model_comparison_follow_the_selection(served: Served) -> None:
    lag = objects(get(served, "/api/lag?model=last_touch&currency=EUR&kind=sales"))
    assert lag and {(r["model"], r["kind"], r["currency"]) for r in lag} == {
        ("last_touch", "sales", "EUR")}
    projection = objects(get(served, "/api/projection?model=position_based&currency=USD"))
    assert projection and {(r["model"], r["currency"]) for r in projection} == {
        ("position_based", "USD")}
    one = objects(get(served, "/api/projection?campaign=spring-sale"))
    assert [r["campaign_id"] for r in one] == ["spring-sale"]
    models = objects(get(served, "/api/model-comparison?currency=KWD&kind=marketing"))
    assert models and {r["currency"] for r in models} == {"KWD"}
    assert "cold-outbound" not in {r["campaign_id"] for r in models}


@pytest.mark.parametrize("panel", sorted(SPEC_COLUMNS))
def test_every_panel_exports_csv(served: Served, panel: str) -> None:
    payload = get(served, f"/api/{panel}")
    reply = call(f"{served.url}/api/{panel}?format=csv")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert f'filename="leadclock-{panel}.csv"' in reply.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(reply.body.decode())))
    assert table[0] == payload["columns"]
    assert len(table) - 1 == len(payload["rows"])  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "message"), [
    ("/api/scorecard?model=bogus", "model: 'bogus' is not one of"),
    ("/api/scorecard?kind=everything", "kind: 'everything' is not one of"),
    ("/api/scorecard?sort=verdict", "unknown parameter 'sort' for /api/scorecard"),
    ("/api/scorecard?model=linear&model=last_touch", "'model' is given more than once"),
    ("/api/reach?from=yesterday", "from: 'yesterday' is not an ISO date"),
    ("/api/reach?from=2026-04-02&to=2026-04-01", "from (2026-04-02) is after to (2026-04-01)"),
    ("/api/reach?touch_type=purchase", "touch_type: 'purchase' is not one of"),
    ("/api/lead-clock?model=linear", "unknown parameter 'model' for /api/lead-clock"),
    ("/api/delayed-revenue?bucket=year", "bucket: 'year' is not one of day, week, month"),
    ("/api/lag?currency=dollars", "currency: 'dollars' is not an ISO 4217 currency code"),
    ("/api/projection?campaign=", "campaign: a campaign id has 1 to 256 characters"),
    ("/api/model-comparison?format=xlsx", "format: 'xlsx' is not one of json, csv"),
    ("/api/meta?x=1", "unknown parameter 'x' for /api/meta"),
    ("/api/sql?format=csv&limit=3", "unknown parameter 'limit' for /api/sql"),
])
def test_bad_parameters_get_400_with_a_clear_message(served: Served, path: str,
                                                     message: str) -> None:
    reply = call(f"{served.url}{path}",
                 method="POST" if path.startswith("/api/sql") else "GET",
                 body=b'{"sql": "SELECT 1"}' if path.startswith("/api/sql") else None,
                 headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert message in reply.error


def test_hostile_values_are_data_not_sql(served: Served) -> None:
    hostile = "x' OR 1=1 --"
    payload = get(served, f"/api/projection?campaign={hostile.replace(' ', '%20')}")
    assert payload["rows"] == []


def test_unknown_endpoint_and_wrong_method(served: Served) -> None:
    reply = call(f"{served.url}/api/nothing")
    assert reply.status == 404 and "GET /api lists them" in reply.error
    reply = call(f"{served.url}/api/sql")
    assert reply.status == 405


def test_the_page_and_its_assets_are_served_with_a_strict_policy(served: Served) -> None:
    page = call(f"{served.url}/")
    assert page.status == 200 and b"<title>leadclock dashboard</title>" in page.body
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for asset in ("dashboard.js", "charts.js", "dashboard.css", "vendor/echarts.min.js",
                  "vendor/LICENSE"):
        assert call(f"{served.url}/static/{asset}").status == 200
    assert call(f"{served.url}/static/../app.py").status in (403, 404)


def test_a_foreign_host_header_is_refused(served: Served) -> None:
    reply = call(f"{served.url}/api/meta", headers={"Host": "attacker.example"})
    assert reply.status == 403 and "not allowed" in reply.error
    assert call(f"{served.url}/api/meta", headers={"Host": "localhost"}).status == 200


def test_sql_answers_one_select(served: Served, demo_db: DemoDb) -> None:
    reply = sql(served.url, "SELECT campaign_id, sum(revenue_minor) AS revenue "
                "FROM v_attribution WHERE model = 'linear' AND campaign_id LIKE '%sale%' "
                "GROUP BY campaign_id;")
    assert reply.status == 200, reply.body
    payload = reply.json()
    assert payload["columns"] == ["campaign_id", "revenue"]
    expected = scalar(demo_db.client, "SELECT sum(revenue_minor) FROM v_attribution "
                      "WHERE model = 'linear' AND campaign_id = 'spring-sale'")
    assert payload["rows"] == [["spring-sale", expected]]
    assert payload["truncated"] is False


def test_sql_rows_are_limited(served: Served) -> None:
    payload = sql(served.url, "SELECT number FROM numbers(100000)", limit=5).json()
    assert payload["rows"] == [[0], [1], [2], [3], [4]]
    assert payload["truncated"] is True and payload["row_limit"] == 5
    reply = sql(served.url, "SELECT number FROM numbers(10)", fmt="csv")
    assert reply.status == 200
    assert reply.body.decode().split("\r\n")[:3] == ["number", "0", "1"]


@pytest.mark.parametrize(("text", "message"), [
    ("DROP TABLE lead_credits", "only SELECT"),
    ("SELECT 1; DROP TABLE lead_credits", "only one statement"),
    ("SELECT 1 INTO OUTFILE 'leak.csv'", "INTO OUTFILE is not allowed"),
    ("SELECT * FROM file('/etc/hostname', 'LineAsString')", "readonly"),
    ("SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')", "readonly"),
    ("SELECT 1 SETTINGS readonly = 0", "readonly"),
    ("SELECT 1 SETTINGS max_result_rows = 1000000", "readonly"),
    ("SELECT nonsense FROM v_attribution", "UNKNOWN_IDENTIFIER"),
    ("SELECT count() FROM system.numbers", "the query ran longer than 1 s"),
])
def test_sql_refuses_everything_but_reading(served: Served, demo_db: DemoDb, text: str,
                                            message: str) -> None:
    reply = sql(served.url, text)
    assert reply.status == 400
    assert message.lower() in reply.error.lower()
    assert scalar(demo_db.client, "EXISTS TABLE lead_credits") == 1


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    (b"SELECT 1", {"Content-Type": "text/plain"}, 415, "application/json"),
    (b"SELECT 1", {"Content-Type": "application/json"}, 400, "the body must be JSON"),
    (b'["SELECT 1"]', {"Content-Type": "application/json"}, 400, "a JSON object"),
    (b'{"query": "SELECT 1"}', {"Content-Type": "application/json"}, 400,
     "unknown field 'query'"),
    (b'{"sql": "SELECT 1", "limit": 0}', {"Content-Type": "application/json"}, 400,
     "limit: an integer from 1 to 10000"),
    (b'{"sql": "SELECT 1", "limit": true}', {"Content-Type": "application/json"}, 400,
     "limit: an integer"),
    (b'{"sql": "SELECT 1"}', {"Content-Type": "application/json",
                              "Origin": "http://attacker.example"}, 403, "cross-origin"),
    (json.dumps({"sql": "SELECT '" + "x" * 70_000 + "'"}).encode(),
     {"Content-Type": "application/json"}, 413, ""),
])
def test_sql_request_shape(served: Served, body: bytes, headers: dict[str, str],
                           status: int, message: str) -> None:
    reply = call(f"{served.url}/api/sql", method="POST", body=body, headers=headers)
    assert reply.status == status
    if message:
        assert message in reply.error


def test_missing_views_are_a_503_that_says_what_to_do(demo_db: DemoDb) -> None:
    demo_db.client.command("CREATE DATABASE IF NOT EXISTS web_test_empty")
    empty = clickhouse_connect.get_client(dsn=demo_db.dsn, database="web_test_empty")
    reader = ClientReader(empty)
    try:
        with serving(build_app(reader)) as bare:
            for path in ("/api/meta", "/api/scorecard?currency=USD", "/api/lead-clock"):
                reply = call(f"{bare.url}{path}")
                assert reply.status == 503
                assert "run `leadclock migrate`" in reply.error
            assert call(f"{bare.url}/").status == 200  # the page itself still loads
    finally:
        reader.close()
        empty.close()
