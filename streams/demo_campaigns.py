"""The demo's campaign registry: marketing and sales campaigns on dates that match names.

Pure data and date arithmetic (no I/O): ``leadclock demo`` will write
:func:`registry_csv` next to its events, and the generator will read each campaign's
dates, kind and channel from :func:`demo_campaigns` so the story holds together.
Goals scale with the number of demo leads so every size tells the same story: most
goals are declared before their campaign starts, two are declared late
(``partner-referral``, ``product-launch``), and the ``cyber-monday-blast`` is a
marketing campaign that reaches far more leads than its goal on the Monday after US
Thanksgiving while its revenue only arrives weeks later.

How the event generator (``streams/demo.py``, a later change) should use this
---------------------------------------------------------------------------
*Touches inside the campaign's dates.* Each lead gets 1-3 campaigns, weighted by the
campaign's ``AUDIENCE_SHARE`` (``cyber-monday-blast`` ~0.38 of leads open it: its
"38 % open rate"), and each touch of a campaign falls on a day between ``starts_on`` and
``ends_on`` (uniform, with a peak on the first day for email sends). Touch types by
channel: email mostly ``email_open`` then ``click``; ``cold_call`` mostly ``call``;
``webinar`` a ``click`` (registration) then a ``call``.

*Revenue lag by kind.* A lead converts with a probability that depends on its campaigns;
the purchase comes ``lag`` days after its last touch, drawn from a log-normal whose
median and spread are :data:`REVENUE_LAG_DAYS` for the kind of the campaign that drove it:
marketing is slow (median ~35 days, weeks to months), sales is fast (median ~4 days).
The Cyber Monday blast therefore sells almost nothing in its first week and most of
its linear-credited revenue lands 3-8 weeks later, in the next year's January: exactly
the campaign that "made no money this week".

*Streaming instead of holding every line (6.3 GB at 280 000 leads).* Today
``generate`` builds every serialized line in one list and sorts it. Instead:

1. Draw leads in order of their *first* event time: for each day of the year, draw how
   many leads start that day (a fixed share of ``leads`` per day, remainders carried
   so the total is exact), then generate those leads. Every event of a lead is at or
   after its first one, so no event earlier than the current day can appear later.
2. Each generated lead yields a handful of compact tuples
   ``(occurred_at_us, seq, lead_no, kind_code, campaign_no, amount_minor, currency_no)``
   pushed on a ``heapq`` min-heap (``seq`` keeps ties deterministic).
3. Before generating the leads of day ``d``, pop and serialize every heap entry with
   ``occurred_at_us < start of d`` and ``yield`` its line; at the end, drain the heap.

Output order and content stay deterministic for a seed. Memory is the heap of *pending*
events only (leads whose later touches or purchases are still ahead): with lags of up
to ~4 months on a one-year span that is at most ~1/3 of the events, as ~120-byte tuples
instead of ~350-byte bytes objects in a list plus the sort's copy, so a few hundred MB
at 280 000 leads instead of 6.3 GB, and lines reach the writer (or Kafka) while the
generator runs. Bounding lags (cap the log-normal at 180 days) bounds the heap.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from schemas.campaign_types import Campaign, CampaignKind, GoalMetric
from schemas.registry_render import to_csv

#: The demo's year (``streams.demo`` starts its events on 2026-01-01).
DEMO_YEAR: Final = 2026
#: Median and log-normal spread (sigma) of days from last touch to purchase, by kind.
REVENUE_LAG_DAYS: Final[dict[CampaignKind, tuple[float, float]]] = {
    "marketing": (35.0, 0.6),
    "sales": (4.0, 0.7),
}
#: Share of all demo leads each campaign touches (the Cyber Monday blast: 38 % opens).
AUDIENCE_SHARE: Final = {
    "newsletter-jan": 0.30, "webinar-q1": 0.08, "retargeting-feb": 0.15,
    "spring-sale": 0.12, "partner-referral": 0.04, "product-launch": 0.10,
    "summer-promo": 0.12, "cold-outbound": 0.05, "black-friday": 0.10,
    "cyber-monday-blast": 0.38,
}


def us_thanksgiving(year: int) -> date:
    """US Thanksgiving: the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=3)


def cyber_monday(year: int) -> date:
    """The Monday after US Thanksgiving."""
    return us_thanksgiving(year) + timedelta(days=4)


def demo_campaigns(leads: int, year: int = DEMO_YEAR) -> tuple[Campaign, ...]:
    """The demo registry for ``leads`` leads in ``year`` (goals scale with ``leads``)."""
    thanksgiving = us_thanksgiving(year)
    monday = cyber_monday(year)

    def day(month: int, dom: int, years_later: int = 0) -> date:
        return date(year + years_later, month, dom)

    def reach(share: float) -> int:  # a count goal: a share of all demo leads
        return max(1, round(leads * share))

    def money(per_lead_minor: int) -> int:  # a revenue goal in minor units
        return max(1, leads * per_lead_minor)

    rows: list[tuple[str, str, CampaignKind, str, date, date, GoalMetric, int, str, date,
                     int | None]] = [
        # id, name, kind, channel, starts_on, ends_on, metric, target, currency,
        # declared_on, spend (minor units, USD unless a sales goal says otherwise)
        ("newsletter-jan", "January newsletter", "marketing", "email", day(1, 5), day(1, 30),
         "leads_warmed", reach(0.12), "", day(12, 15, -1), 150_000),
        ("webinar-q1", "Q1 product webinar", "marketing", "webinar", day(1, 12), day(3, 27),
         "leads_hot", reach(0.03), "", day(1, 5), 300_000),
        ("retargeting-feb", "February retargeting", "marketing", "paid_social", day(2, 2),
         day(2, 27), "leads_reached", reach(0.10), "", day(1, 26), 450_000),
        ("spring-sale", "Spring sale", "sales", "email", day(3, 20), day(4, 30),
         "revenue", money(900), "USD", day(3, 2), 250_000),
        ("partner-referral", "Partner referrals", "sales", "partner", day(4, 1), day(6, 30),
         "revenue", money(400), "EUR", day(4, 20), None),
        ("product-launch", "Product launch", "marketing", "webinar", day(6, 2), day(6, 16),
         "leads_reached", reach(0.07), "", day(6, 9), 200_000),
        ("summer-promo", "Summer promo", "sales", "email", day(6, 22), day(8, 31),
         "revenue", money(800), "USD", day(6, 1), 300_000),
        ("cold-outbound", "Autumn cold outbound", "sales", "cold_call", day(9, 7), day(10, 30),
         "revenue", money(500), "USD", day(8, 24), 600_000),
        ("black-friday", "Black Friday sale", "sales", "email", thanksgiving + timedelta(1),
         monday - timedelta(1), "revenue", money(700), "USD", day(11, 2), 200_000),
        ("cyber-monday-blast", "Cyber Monday email blast", "marketing", "email", monday,
         monday, "leads_reached", reach(0.25), "", day(11, 2), 80_000),
    ]
    return tuple(
        Campaign(
            campaign_id=cid, name=name, kind=kind, channel=channel, starts_on=starts_on,
            ends_on=ends_on, goal_metric=metric, goal_target=target, goal_currency=currency,
            spend_minor=spend, spend_currency="USD" if spend is not None else "",
            declared_on=declared_on,
        )
        for (cid, name, kind, channel, starts_on, ends_on, metric, target, currency,
             declared_on, spend) in rows
    )


def registry_csv(leads: int, year: int = DEMO_YEAR) -> str:
    """The demo registry as the CSV file ``leadclock campaigns load`` reads."""
    return to_csv(demo_campaigns(leads, year))
