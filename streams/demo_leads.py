"""What one demo lead does: which campaigns touch it, when, and when (and what) it buys.

The demo generator (:mod:`streams.demo_events`) streams leads in order of their first
event, so it plans every lead twice: once for its first event time only
(:func:`first_event_us`), once in full (:func:`plan_lead`). Both start from the lead's
own random generator (seeded by run seed and lead number) and draw the schedule first,
so the two agree and no lead's events depend on another lead's.

The story the numbers tell (see :mod:`streams.demo_campaigns` for the registry):

- Touches fall inside their campaign's dates; email sends peak on their first day.
- A lead buys when one of its campaigns, tried in the order it met them, "drives" it
  (:data:`CONVERSION`); the purchase comes a log-normal lag after that campaign's last
  touch, slow for marketing (median 35 days) and fast for sales (median 4 days)
  (:data:`~streams.demo_campaigns.REVENUE_LAG_DAYS`), capped at :data:`MAX_LAG_DAYS`.
- A few leads buy with no touch at all (:data:`ORGANIC_SHARE`), and late or repeat
  purchases can fall outside the 90-day lookback: revenue credited to ``(none)``.
- ``partner-referral`` (its goal set after it started, in EUR, which only a fifth of
  buyers pay in) sells too little: the sales campaign that misses its goal.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from schemas.campaign_types import Campaign, CampaignKind
from streams.demo_campaigns import AUDIENCE_SHARE, REVENUE_LAG_DAYS

DAY_S: Final = 86_400
US_PER_S: Final = 1_000_000
MAX_LAG_DAYS: Final = 180
#: Share of leads never touched by a campaign; they buy anyway (revenue with no path).
ORGANIC_SHARE: Final = 0.03
#: Chance that a buyer buys again, one more lag later.
REPEAT_SHARE: Final = 0.15
#: Chance that a lead in a campaign buys because of it (tried in the order met).
CONVERSION: Final = {
    "newsletter-jan": 0.10, "webinar-q1": 0.22, "retargeting-feb": 0.10,
    "spring-sale": 0.30, "partner-referral": 0.10, "product-launch": 0.15,
    "summer-promo": 0.20, "cold-outbound": 0.35, "black-friday": 0.35,
    "cyber-monday-blast": 0.08,
}
#: Purchase currencies: (code, minor-unit exponent, share of buying leads).
CURRENCIES: Final = (("USD", 2, 0.70), ("EUR", 2, 0.20), ("JPY", 0, 0.05), ("KWD", 3, 0.05))
TOUCH_CODES: Final = ("email_open", "click", "call")
OPEN, CLICK, CALL = 0, 1, 2
PURCHASE: Final = 3
#: Per channel: the first touch, then (chance, touch) follow-ups in order.
TOUCHES: Final[dict[str, tuple[int, tuple[tuple[float, int], ...]]]] = {
    "email": (OPEN, ((0.3, OPEN), (0.3, CLICK))),
    "paid_social": (CLICK, ((0.3, CLICK),)),
    "webinar": (CLICK, ((0.6, CALL),)),
    "partner": (CALL, ((0.4, CLICK),)),
    "cold_call": (CALL, ((0.5, CALL), (0.2, CLICK))),
}
_EMAIL_SEND_DAY: Final = 0.5  # share of an email campaign's first touches on its first day
_FOLLOW_UP_S: Final = 3 * DAY_S  # a follow-up touch comes within three days
_FEASIBLE: Final = 0.3  # below this P(at least one campaign), the fixed point collapsed


@dataclass(frozen=True, slots=True)
class Slot:
    """One campaign as the generator needs it: times in seconds, rates as fractions."""

    number: int  # index into the span's campaigns (events carry it, not the id)
    kind: CampaignKind
    channel: str
    start_s: int
    end_s: int  # exclusive: 00:00 UTC after ends_on
    membership: float  # chance a lead of its year is in it
    conversion: float


@dataclass(frozen=True, slots=True)
class Year:
    """The campaigns of one calendar year of the span and the days of it covered."""

    slots: tuple[Slot, ...]
    start_s: int  # first second of the year inside the span
    end_s: int  # exclusive


#: One planned event: (seconds, type code, campaign number or -1, amount minor, currency).
Planned = tuple[int, int, int, int, int]


def base_id(campaign: Campaign) -> str:
    """The demo id without a year suffix (``spring-sale-2027`` -> ``spring-sale``)."""
    head, _, tail = campaign.campaign_id.rpartition("-")
    return head if tail.isdigit() and head else campaign.campaign_id


def memberships(shares: list[float]) -> list[float]:
    """Per-campaign membership chances so that each campaign reaches ``share`` of leads.

    Non-organic leads with no campaign are drawn again, which inflates every share by
    1 / P(at least one); the fixed point ``p = share · P(at least one) / (1 − organic)``
    undoes that, so ``cyber-monday-blast`` reaches ~38 % of all leads as declared. When
    the campaigns cannot reach every lead between them (a span that ends early in a
    year has only that year's first campaigns), the fixed point collapses towards 0;
    then the shares are used as they are and those few campaigns reach more leads.
    """
    chances = list(shares)
    for _ in range(60):
        some = 1.0 - math.prod(1.0 - p for p in chances)
        chances = [min(0.95, s * some / (1.0 - ORGANIC_SHARE)) for s in shares]
    if 1.0 - math.prod(1.0 - p for p in chances) < _FEASIBLE:
        return list(shares)
    return chances


def year_of(campaigns: list[Campaign], number0: int, start_s: int, end_s: int) -> Year:
    """The generator's view of one year's campaigns (numbered from ``number0``)."""
    shares = [AUDIENCE_SHARE.get(base_id(c), 0.1) for c in campaigns]
    slots = tuple(
        Slot(number0 + i, c.kind, c.channel, _day_s(c.starts_on.toordinal()),
             _day_s(c.ends_on.toordinal() + 1), chance, CONVERSION.get(base_id(c), 0.15))
        for i, (c, chance) in enumerate(zip(campaigns, memberships(shares), strict=True))
    )
    return Year(slots, start_s, end_s)


def _day_s(ordinal: int) -> int:
    """Seconds since the epoch of 00:00 UTC on the day with this proleptic ordinal."""
    return (ordinal - 719_163) * DAY_S  # date(1970, 1, 1).toordinal() == 719_163


def lead_rng(seed: int, lead_no: int) -> random.Random:
    """The lead's own generator: its events never depend on another lead's draws."""
    return random.Random((seed << 40) ^ lead_no)


def _schedule(rng: random.Random, years: tuple[Year, ...], weights: tuple[float, ...]
              ) -> tuple[Year, list[tuple[Slot, list[tuple[int, int]]]]]:
    """The lead's year and its touches per campaign, (second, type code), in time order."""
    year = rng.choices(years, weights)[0]
    if not year.slots or rng.random() < ORGANIC_SHARE:
        return year, []
    while True:  # a non-organic lead has at least one campaign
        chosen = [s for s in year.slots if rng.random() < s.membership]
        if chosen:
            break
    touched = [(slot, _touches(rng, slot)) for slot in chosen]
    touched.sort(key=lambda item: item[1][0][0])
    return year, touched


def _touches(rng: random.Random, slot: Slot) -> list[tuple[int, int]]:
    """One lead's touches by one campaign, all inside the campaign's dates."""
    first, follow_ups = TOUCHES.get(slot.channel, (OPEN, ()))
    days = (slot.end_s - slot.start_s) // DAY_S
    day = 0 if slot.channel == "email" and rng.random() < _EMAIL_SEND_DAY else rng.randrange(days)
    at = slot.start_s + day * DAY_S + rng.randrange(DAY_S)
    touches = [(at, first)]
    for chance, code in follow_ups:
        if rng.random() >= chance:
            continue
        room = slot.end_s - 1 - at
        if room < 1:
            break
        at += rng.randint(1, min(room, _FOLLOW_UP_S))
        touches.append((at, code))
    return touches


def first_event_us(rng: random.Random, years: tuple[Year, ...], weights: tuple[float, ...]
                   ) -> int:
    """When the lead's first event happens (the same draws :func:`plan_lead` starts with)."""
    year, touched = _schedule(rng, years, weights)
    if touched:
        return touched[0][1][0][0] * US_PER_S
    return _organic_at(rng, year) * US_PER_S


def _organic_at(rng: random.Random, year: Year) -> int:
    return year.start_s + rng.randrange(year.end_s - year.start_s)


def plan_lead(rng: random.Random, years: tuple[Year, ...], weights: tuple[float, ...]
              ) -> list[Planned]:
    """Every event of one lead, in no particular order (times in seconds)."""
    year, touched = _schedule(rng, years, weights)
    events: list[Planned] = []
    if not touched:  # draws in the order first_event_us made them
        at = _organic_at(rng, year)
        currency = _currency(rng)
        events.append((at, PURCHASE, -1, _amount(rng, currency), currency))
        return events
    for slot, touches in touched:
        events.extend((at, code, slot.number, 0, 0) for at, code in touches)
    driver = next(((slot, touches) for slot, touches in touched
                   if rng.random() < slot.conversion), None)
    if driver is None:
        return events
    slot, touches = driver
    currency = _currency(rng)
    at = touches[-1][0] + _lag_s(rng, slot.kind)
    events.append((at, PURCHASE, -1, _amount(rng, currency), currency))
    if rng.random() < REPEAT_SHARE:
        at += _lag_s(rng, slot.kind)
        events.append((at, PURCHASE, -1, _amount(rng, currency), currency))
    return events


def _lag_s(rng: random.Random, kind: CampaignKind) -> int:
    """Seconds from a driving campaign's last touch to the purchase."""
    median, sigma = REVENUE_LAG_DAYS[kind]
    days = min(rng.lognormvariate(math.log(median), sigma), MAX_LAG_DAYS)
    return max(1, round(days * DAY_S))


def _currency(rng: random.Random) -> int:
    """Index into :data:`CURRENCIES`, by share."""
    roll = rng.random()
    for index, (_, _, share) in enumerate(CURRENCIES):
        roll -= share
        if roll < 0:
            return index
    return 0


def _amount(rng: random.Random, currency: int) -> int:
    """A purchase amount in minor units: 5 to 2 000 major units (JPY x150)."""
    code, exponent, _ = CURRENCIES[currency]
    units = rng.randint(5, 2000) * (150 if code == "JPY" else 1)
    scale: int = 10**exponent
    return units * scale + (rng.randrange(scale) if exponent else 0)
