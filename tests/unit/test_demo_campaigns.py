"""The demo registry tells the founding story and is a valid registry file."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.campaigns import parse_registry
from streams.demo_campaigns import (
    AUDIENCE_SHARE,
    cyber_monday,
    demo_campaigns,
    registry_csv,
    us_thanksgiving,
)


@pytest.mark.parametrize(("year", "thanksgiving", "monday"), [
    (2023, date(2023, 11, 23), date(2023, 11, 27)),
    (2024, date(2024, 11, 28), date(2024, 12, 2)),
    (2025, date(2025, 11, 27), date(2025, 12, 1)),
    (2026, date(2026, 11, 26), date(2026, 11, 30)),
])
def test_thanksgiving_and_cyber_monday(year: int, thanksgiving: date, monday: date) -> None:
    assert (us_thanksgiving(year), cyber_monday(year)) == (thanksgiving, monday)


@pytest.mark.parametrize("leads", [1, 5_000, 280_000])
def test_registry_csv_loads_back_equal(leads: int) -> None:
    parsed = parse_registry("demo-campaigns.csv", registry_csv(leads).encode(), date(2026, 1, 1))
    assert parsed == list(demo_campaigns(leads))


def test_dates_match_names() -> None:
    by_id = {c.campaign_id: c for c in demo_campaigns(5_000)}
    assert set(by_id) == set(AUDIENCE_SHARE)
    jan, feb = by_id["newsletter-jan"], by_id["retargeting-feb"]
    assert (jan.starts_on.month, jan.ends_on.month) == (1, 1)
    assert (feb.starts_on.month, feb.ends_on.month) == (2, 2)
    assert by_id["webinar-q1"].ends_on <= date(2026, 3, 31)
    assert date(2026, 3, 20) <= by_id["spring-sale"].starts_on <= by_id["spring-sale"].ends_on \
        <= date(2026, 6, 20)
    assert date(2026, 6, 21) <= by_id["summer-promo"].starts_on
    assert by_id["summer-promo"].ends_on <= date(2026, 9, 22)
    blast = by_id["cyber-monday-blast"]
    assert blast.starts_on == blast.ends_on == date(2026, 11, 30)
    assert blast.starts_on.weekday() == 0
    assert by_id["black-friday"].starts_on == date(2026, 11, 27)


def test_the_story_needs_both_kinds_and_mostly_advance_goals() -> None:
    registry = demo_campaigns(5_000)
    assert {c.kind for c in registry} == {"marketing", "sales"}
    late = {c.campaign_id for c in registry if not c.declared_in_advance}
    assert late == {"partner-referral", "product-launch"}
    blast = next(c for c in registry if c.campaign_id == "cyber-monday-blast")
    assert (blast.kind, blast.goal_metric) == ("marketing", "leads_reached")
    assert blast.goal_target < 5_000 * AUDIENCE_SHARE["cyber-monday-blast"]
