"""Hypothesis strategies for valid events, with the values parsing must produce.

Expected values are computed independently of the code under test: timestamps through
:mod:`datetime` and :mod:`calendar`, amounts by formatting a drawn integer of minor units.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from schemas.events import EVENT_TYPES, TOUCH_TYPES, Purchase, Touch
from schemas.money import INT64_MAX, MINOR_UNIT_EXPONENTS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
#: The instants parse_event accepts (ClickHouse DateTime, cut at the end of 2105), worked
#: out here with datetime rather than imported, so tests can check the validator's constants.
STORABLE_FROM_US = (datetime(1970, 1, 1, tzinfo=UTC) - EPOCH) // ONE_US
STORABLE_UNTIL_US = (datetime(2106, 1, 1, tzinfo=UTC) - EPOCH) // ONE_US
MAX_OFFSET_MINUTES = 23 * 60 + 59
KNOWN_FIELDS = frozenset(
    {"event_id", "type", "lead_id", "campaign_id", "occurred_at", "amount", "currency"}
)
CURRENCIES = sorted(MINOR_UNIT_EXPONENTS)

identifiers = st.text(min_size=1, max_size=256)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
extra_fields = st.dictionaries(
    st.text(max_size=12).filter(lambda key: key not in KNOWN_FIELDS), json_values, max_size=3
)


@st.composite
def rfc3339(draw: st.DrawFn) -> tuple[str, int]:
    """Draw a valid strict RFC 3339 text and its epoch microseconds (datetime oracle).

    Any year 0001-9999: this is what the timestamp parser accepts, not all of it is an
    event parse_event accepts (see :func:`storable_rfc3339`).
    """
    year = draw(st.integers(1, 9999))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(year, month)[1]))
    hour, minute, second = (
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 59)),
    )
    fraction = draw(st.none() | st.text("0123456789", min_size=1, max_size=12))
    offset = draw(st.integers(-MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES))
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    micros = 0
    if fraction is not None:
        text += "." + fraction
        micros = int(fraction[:6].ljust(6, "0"))
    if offset == 0:
        text += draw(st.sampled_from(["Z", "+00:00", "-00:00"]))
    else:
        sign = "+" if offset > 0 else "-"
        text += f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    zone = timezone(timedelta(minutes=offset))
    local = datetime(year, month, day, hour, minute, second, micros, tzinfo=zone)
    return text, (local - EPOCH) // ONE_US


@st.composite
def rfc3339_at(draw: st.DrawFn, instants: st.SearchStrategy[int]) -> tuple[str, int]:
    """Draw an instant (epoch microseconds) from ``instants`` and write it in RFC 3339.

    The instant comes first and is written in a drawn offset, so the local date may be in
    another year than the UTC one (1970-01-01T00:30:00Z as 1969-12-31T23:30:00-01:00).
    Fractions come in every accepted spelling: none, trailing zeros cut, padded, or with
    digits beyond the sixth (truncated by the parser, so they never change the instant).
    """
    us = draw(instants)
    offset = draw(st.integers(-MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES))
    local = (EPOCH + us * ONE_US).astimezone(timezone(timedelta(minutes=offset)))
    text = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
        f"T{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    )
    digits = f"{local.microsecond:06d}"
    if local.microsecond or draw(st.booleans()):
        width = draw(st.integers(max(len(digits.rstrip("0")), 1), 12))
        text += "." + (digits + draw(st.text("0123456789", min_size=6, max_size=6)))[:width]
    if offset == 0:
        text += draw(st.sampled_from(["Z", "+00:00", "-00:00"]))
    else:
        sign = "+" if offset > 0 else "-"
        text += f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return text, us


def storable_rfc3339() -> st.SearchStrategy[tuple[str, int]]:
    """Draw an ``occurred_at`` parse_event accepts: any instant of 1970-2105 (UTC)."""
    return rfc3339_at(st.integers(STORABLE_FROM_US, STORABLE_UNTIL_US - 1))


def near_storable_edges() -> st.SearchStrategy[tuple[str, int]]:
    """Draw an RFC 3339 text within two days of either end of the storable range."""
    two_days = 2 * 86_400 * 1_000_000
    return rfc3339_at(
        st.integers(STORABLE_FROM_US - two_days, STORABLE_FROM_US + two_days)
        | st.integers(STORABLE_UNTIL_US - two_days, STORABLE_UNTIL_US + two_days)
    )


@st.composite
def amounts(draw: st.DrawFn, currency: str) -> tuple[object, int]:
    """Draw an amount in one of its accepted spellings and its minor units."""
    exponent = MINOR_UNIT_EXPONENTS[currency]
    minor = draw(st.integers(1, 10**12) | st.integers(1, INT64_MAX))
    whole, fraction = divmod(minor, 10**exponent)
    text = f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)
    spelling = draw(st.sampled_from(["string", "trailing zeros", "int", "float"]))
    if spelling == "int" and fraction == 0:
        return whole, minor
    if spelling == "float" and minor < 10**15:
        return float(text), minor
    if spelling == "trailing zeros":
        text += ("" if exponent else ".") + "0" * draw(st.integers(1, 3))
    return text, minor


@dataclass(frozen=True)
class Generated:
    """A drawn event: its JSON object and the event parse_event must return."""

    message: dict[str, Any]
    expected: Touch | Purchase


@st.composite
def valid_events(draw: st.DrawFn) -> Generated:
    """Draw any valid event (touch or purchase) with extra fields and its expected value."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    event_id, lead_id = draw(identifiers), draw(identifiers)
    occurred_at, occurred_at_us = draw(storable_rfc3339())
    message: dict[str, Any] = draw(extra_fields)
    message |= {"event_id": event_id, "type": kind, "lead_id": lead_id, "occurred_at": occurred_at}
    if kind in TOUCH_TYPES:
        campaign_id = draw(identifiers)
        message["campaign_id"] = campaign_id
        touch = Touch(event_id, lead_id, campaign_id, kind, occurred_at_us)
        return Generated(message, touch)
    campaign: str | None = draw(st.none() | identifiers)
    if campaign is not None or draw(st.booleans()):
        message["campaign_id"] = campaign
    currency = draw(st.sampled_from(CURRENCIES))
    amount, minor = draw(amounts(currency))
    message |= {"currency": currency, "amount": amount}
    purchase = Purchase(event_id, lead_id, occurred_at_us, minor, currency, campaign)
    return Generated(message, purchase)
