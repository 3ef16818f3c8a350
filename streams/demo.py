"""A dense synthetic load for tests and benchmarks: many touches per lead, late revenue.

Not the user-facing demo (``leadclock demo`` uses :mod:`streams.demo_events`, whose
campaigns run on their registered dates): this one packs ~5 events per lead into four
months with purchases days to months after the touches, in a few currencies, which is
what the recovery tests and the worker benchmark want. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import orjson

from schemas.timestamps import format_us

DAY_US = 86_400_000_000
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
CAMPAIGNS = (
    "newsletter-jan", "webinar-q1", "retargeting-feb", "spring-sale", "partner-referral",
    "cold-outbound", "product-launch", "summer-promo",
)
CURRENCIES = (("USD", 2, 0.7), ("EUR", 2, 0.2), ("JPY", 0, 0.05), ("KWD", 3, 0.05))


def _amount(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    for code, exponent, share in CURRENCIES:  # noqa: B007 - the loop picks one
        roll -= share
        if roll <= 0:
            break
    units = rng.randint(5, 2000) * (150 if code == "JPY" else 1)
    minor = rng.randint(0, 10**exponent - 1) if exponent else 0
    text = f"{units}.{minor:0{exponent}d}" if exponent else str(units)
    return code, text


def generate(leads: int, seed: int = 7, span_days: int = 120) -> Iterator[bytes]:
    """Yield NDJSON lines (bytes, no newline) for ``leads`` leads, in event-time order."""
    rng = random.Random(seed)
    events: list[tuple[int, bytes]] = []
    counter = 0
    for n in range(leads):
        lead = f"lead-{n:06d}"
        first = START_US + rng.randrange(span_days * DAY_US)
        campaigns = rng.sample(CAMPAIGNS, rng.randint(1, 3))
        last_touch = first
        for campaign in campaigns:
            at = first + rng.randrange(21 * DAY_US)
            for kind in rng.choices(("email_open", "click", "call"), (6, 3, 1),
                                    k=rng.randint(1, 4)):
                at += rng.randrange(3 * DAY_US)
                last_touch = max(last_touch, at)
                counter += 1
                events.append((at, orjson.dumps({
                    "event_id": f"evt-{counter:08d}", "type": kind, "lead_id": lead,
                    "campaign_id": campaign, "occurred_at": format_us(at),
                })))
        if rng.random() < 0.35:
            for _ in range(rng.choice((1, 1, 1, 2))):
                at = last_touch + rng.randrange(1, 100 * DAY_US)
                currency, amount = _amount(rng)
                counter += 1
                events.append((at, orjson.dumps({
                    "event_id": f"evt-{counter:08d}", "type": "purchase", "lead_id": lead,
                    "occurred_at": format_us(at), "amount": amount, "currency": currency,
                    "order_id": f"ord-{counter:08d}",
                })))
    events.sort(key=lambda item: item[0])
    for _, line in events:
        yield line
