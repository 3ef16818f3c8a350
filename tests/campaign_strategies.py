"""Hypothesis strategies for valid campaign registries (SPEC §6)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from schemas.campaign_rules import FIRST_DAY, LAST_DAY
from schemas.campaign_types import ATTRIBUTION_MODELS, GOAL_METRICS, NO_CAMPAIGN, Campaign
from schemas.money import INT64_MAX, MINOR_UNIT_EXPONENTS

CURRENCY_CODES = sorted(MINOR_UNIT_EXPONENTS)

# Any characters but surrogates (not encodable as UTF-8); ids and names are stored
# stripped, so generated ones carry no surrounding whitespace.
_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)
ids = _text.filter(lambda s: s == s.strip() and s != NO_CAMPAIGN)
names = _text.filter(lambda s: s == s.strip())
channels = st.sampled_from(["", "email", "webinar", "cold_call", "paid social, EU", 'say "hi"'])
days = st.dates(FIRST_DAY, LAST_DAY)
money = st.one_of(st.integers(1, 10**6), st.integers(1, INT64_MAX))


@st.composite
def campaigns(draw: st.DrawFn, campaign_id: str | None = None) -> Campaign:
    """One valid campaign; ``campaign_id`` fixes its id."""
    kind = draw(st.sampled_from(["marketing", "sales"]))
    metric = draw(st.sampled_from(GOAL_METRICS[kind]))  # type: ignore[index]
    starts_on = draw(days)
    ends_on = draw(st.dates(starts_on, min(LAST_DAY, starts_on + timedelta(days=400))))
    goal_currency = draw(st.sampled_from(CURRENCY_CODES)) if metric == "revenue" else ""
    spend = draw(st.none() | st.tuples(money, st.sampled_from(CURRENCY_CODES)))
    cid = campaign_id if campaign_id is not None else draw(ids)
    return Campaign(
        campaign_id=cid,
        name=draw(st.just(cid) | names),
        kind=kind,
        channel=draw(channels),
        starts_on=starts_on,
        ends_on=ends_on,
        goal_metric=metric,
        goal_target=draw(money),
        goal_currency=goal_currency,
        goal_model=draw(st.sampled_from(ATTRIBUTION_MODELS)),
        spend_minor=spend[0] if spend else None,
        spend_currency=spend[1] if spend else "",
        declared_on=draw(days),
    )


@st.composite
def registries(draw: st.DrawFn, max_size: int = 6) -> list[Campaign]:
    """A list of valid campaigns with distinct ids (at least one)."""
    unique_ids = draw(st.lists(ids, min_size=1, max_size=max_size, unique=True))
    return [draw(campaigns(campaign_id=cid)) for cid in unique_ids]


def day(text: str) -> date:
    """Shorthand for an ISO date in tests."""
    return date.fromisoformat(text)


#: Near tests.strategies' event times (2023-11-15 + 0-12 days), so goals of generated
#: registries are met, maturing and not_met in about equal measure.
_NEAR_EVENTS = st.dates(date(2023, 11, 1), date(2023, 11, 30))


@st.composite
def judged_registries(draw: st.DrawFn,
                      ids: tuple[str, ...] = ("spring", "summer", "fall", "winter"),
                      ) -> list[Campaign]:
    """Registries for tests.strategies' event logs: some of their campaigns (and
    ``winter``, which has no events), small goals and dates around the events."""
    chosen = draw(st.lists(st.sampled_from(ids), unique=True))
    registry = []
    for cid in chosen:
        kind = draw(st.sampled_from(["marketing", "sales"]))
        metric = draw(st.sampled_from(GOAL_METRICS[kind]))  # type: ignore[index]
        starts_on = draw(_NEAR_EVENTS)
        currency = draw(st.sampled_from(["USD", "JPY", "KWD"]))
        spend = draw(st.none() | st.tuples(st.integers(1, 10**6),
                                           st.sampled_from(["USD", "JPY", "KWD"])))
        registry.append(Campaign(
            campaign_id=cid, name=cid.title(), kind=kind, channel="email",
            starts_on=starts_on, ends_on=starts_on + timedelta(days=draw(st.integers(0, 5))),
            goal_metric=metric,
            goal_target=draw(st.integers(1, 150_000) if metric == "revenue"
                             else st.integers(1, 3)),
            goal_currency=currency if metric == "revenue" else "",
            goal_model=draw(st.sampled_from(ATTRIBUTION_MODELS)),
            spend_minor=spend[0] if spend else None, spend_currency=spend[1] if spend else "",
            declared_on=draw(_NEAR_EVENTS),
        ))
    return registry
