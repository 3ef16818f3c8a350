"""A per-campaign summary read from the views, for the terminal (``worker --report-every``).

Reads only the public views (the same ones a dashboard uses), so what the user sees in
the terminal is exactly what Grafana would show.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.money import format_minor

_QUERY = """
SELECT campaign_id,
       sum(touches) AS touches,
       sumIf(leads, touch_type = 'email_open') AS opened,
       sumIf(leads, touch_type = 'click') AS clicked
FROM v_marketing_reach GROUP BY campaign_id
"""
_STAGES = "SELECT campaign_id, stage, sum(leads) FROM v_lead_stages GROUP BY campaign_id, stage"
_REVENUE = """
SELECT campaign_id, currency, sum(revenue_minor)
FROM v_attribution WHERE model = 'linear' GROUP BY campaign_id, currency
"""


def campaign_report(client: Client) -> str:
    """Reach, stages and linear-model revenue per campaign, as an aligned text table."""
    reach = {r[0]: r[1:] for r in client.query(_QUERY).result_rows}
    stages: dict[tuple[str, str], int] = {
        (r[0], r[1]): int(r[2]) for r in client.query(_STAGES).result_rows
    }
    revenue: dict[str, list[str]] = {}
    for campaign, currency, minor in client.query(_REVENUE).result_rows:
        revenue.setdefault(campaign, []).append(format_minor(int(minor), currency))
    for amounts in revenue.values():
        amounts.sort(key=lambda text: text[-3:])
    campaigns = sorted(set(reach) | set(revenue))
    header = (f"{'campaign':<20} {'touches':>8} {'opened':>7} {'clicked':>8} "
              f"{'warm':>6} {'hot':>6}  revenue (linear model)")
    lines = [header, "-" * len(header)]
    for campaign in campaigns:
        touches, opened, clicked = reach.get(campaign, (0, 0, 0))
        lines.append(
            f"{campaign:<20} {touches:>8} {opened:>7} {clicked:>8} "
            f"{stages.get((campaign, 'warm'), 0):>6} {stages.get((campaign, 'hot'), 0):>6}  "
            + ", ".join(revenue.get(campaign, []))
        )
    return "\n".join(lines)
