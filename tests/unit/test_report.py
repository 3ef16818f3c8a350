"""The live scorecard: distinct leads, goal-model revenue, projection columns once they exist."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.events import Event
from sinks.report import campaign_report
from streams.engine.config import EngineConfig
from tests.judgment_db import load
from tests.unit.test_oracle_judgment import (
    CYBER_MONDAY,
    OUTBOUND,
    cyber_monday_events,
    purchase,
    touch,
)


def _story(client: Client) -> None:
    events: list[Event] = [
        *cyber_monday_events(),
        # The same lead opens on two days: one distinct lead, two per-window counts.
        touch(20, "l1", "cyber-monday", "email_open", "2026-12-01T10:00:00Z"),
        touch(21, "z", "mystery", "click", "2026-12-02T10:00:00Z"),
        purchase(9, "nobody", 700, "JPY", "2026-12-03T00:00:00Z"),
    ]
    load(client, events, EngineConfig(), [CYBER_MONDAY, OUTBOUND])


def _row(report: str, campaign: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.startswith(campaign + " "))
    return line.split()


def test_the_scorecard_counts_distinct_leads_and_judges_each_campaign(client: Client) -> None:
    _story(client)
    client.command("DROP VIEW v_revenue_projection")  # as before the projection existed
    report = campaign_report(client)
    lines = report.splitlines()
    assert lines[0].startswith("scorecard as of 2027-01-10 12:00:00 UTC")
    assert lines[1].split()[:10] == ["campaign", "kind", "goal", "actual", "verdict", "due",
                                     "reached", "warmed", "hot", "revenue"]
    assert "projected" not in lines[1]  # no v_revenue_projection yet
    # 5 distinct leads reached, although l1 opened on two days (6 per-window leads).
    assert _row(report, "cyber-monday") == [
        "cyber-monday", "marketing", "leads_reached", ">=", "3", "5", "met", "2026-12-01",
        "5", "5", "1", "150.00", "USD"]
    assert _row(report, "q4-outbound")[:9] == [
        "q4-outbound", "sales", "revenue", ">=", "1000.00", "USD", "0.00", "USD", "maturing"]
    assert _row(report, "mystery") == [
        "mystery", "unclassified", "-", "-", "unjudged", "-", "1", "1", "1", "-"]
    names = [line.split()[0] for line in lines[3:-1]]
    assert names == ["q4-outbound", "cyber-monday", "mystery"]  # by start, unjudged last
    assert lines[-1].endswith("no touch in the lookback): 700 JPY")


def test_projection_columns_appear_once_the_projection_view_exists(client: Client) -> None:
    _story(client)
    report = campaign_report(client)
    header = report.splitlines()[1].split()
    assert header[-3:] == ["projected", "judge", "from"]
    # One campaign, no mature history: too little history; judge it on its revenue due day.
    assert _row(report, "cyber-monday")[-5:] == ["USD", "too", "little", "history",
                                                 "2027-03-01"]
    client.command("""
        CREATE OR REPLACE VIEW v_revenue_projection AS
        SELECT campaign_id, 'marketing' AS kind, 'linear' AS model, 'USD' AS currency,
               toInt64(15000) AS revenue_minor, 0.5 AS matured_share,
               toInt64(30000) AS projected_revenue_minor, toDate('2027-02-01') AS judge_from,
               'maturing' AS status
        FROM (SELECT 'cyber-monday' AS campaign_id)""")
    report = campaign_report(client)
    assert report.splitlines()[1].split()[-3:] == ["projected", "judge", "from"]
    assert _row(report, "cyber-monday")[-5:] == ["150.00", "USD", "300.00", "USD",
                                                 "2027-02-01"]
    assert _row(report, "mystery")[-2:] == ["-", "-"]
