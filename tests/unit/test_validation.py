"""The event contract (SPEC §2) as enforced by ``schemas.validation.parse_event``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from iso4217 import Currency

from schemas import timestamps
from schemas.events import Purchase, Rejection, Touch
from schemas.money import (
    INT64_MAX,
    ISO4217_CODES,
    MINOR_UNIT_EXPONENTS,
    currency_exponent,
    format_minor,
    to_minor_units,
)
from schemas.timestamps import describe_rfc3339_problem, format_us, parse_rfc3339_us
from schemas.validation import STORABLE_FROM_US, STORABLE_UNTIL_US, parse_event
from tests.unit.corpus import INVALID, VALID, Case, strategies
from tests.unit.corpus.strategies import (
    CURRENCIES,
    KNOWN_FIELDS,
    Generated,
    amounts,
    near_storable_edges,
    rfc3339,
    storable_rfc3339,
    valid_events,
)

FIELDS_IN_ORDER = (
    "invalid JSON",
    "message",
    "event_id",
    "type",
    "lead_id",
    "campaign_id",
    "occurred_at",
    "currency",
    "amount",
)
MIN_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z


# --- the corpus ----------------------------------------------------------------------


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_valid_corpus(case: Case) -> None:
    event = parse_event(case.raw)
    assert not isinstance(event, Rejection), event.reason
    expect = dict(case.expect)
    kind = expect.pop("kind", None)
    if kind == "purchase":
        assert isinstance(event, Purchase)
    elif kind is not None:
        assert isinstance(event, Touch)
        assert event.touch_type == kind
    for field, value in expect.items():
        assert getattr(event, field) == value, field


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_invalid_corpus(case: Case) -> None:
    result = parse_event(case.raw)
    assert isinstance(result, Rejection)
    assert result.reason.startswith(case.reason), result.reason
    assert result.raw is case.raw


def test_corpus_names_are_unique() -> None:
    names = [case.name for case in VALID + INVALID]
    assert len(names) == len(set(names))


def test_corpus_breaks_every_field() -> None:
    broken = {case.reason.split(":")[0] for case in INVALID}
    assert broken == set(FIELDS_IN_ORDER)


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_reasons_name_the_field_first(case: Case) -> None:
    reason = parse_event(case.raw)
    assert isinstance(reason, Rejection)
    field, _, problem = reason.reason.partition(": ")
    assert field in FIELDS_IN_ORDER
    assert problem


def test_huge_field_values_are_cut_short_in_reasons() -> None:
    raw = orjson.dumps({"event_id": "e", "type": "x" * 100_000})
    result = parse_event(raw)
    assert isinstance(result, Rejection)
    assert len(result.reason) < 200
    assert "(100000 characters)" in result.reason


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    result = parse_event(b"[" * 100_000 + b"]" * 100_000)
    assert isinstance(result, Rejection)
    assert result.reason.startswith("invalid JSON: ")


# --- timestamps ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("us", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1, "1970-01-01T00:00:00.000001Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (1_709_164_800_000_000, "2024-02-29T00:00:00Z"),
        (1_709_294_400_500_000, "2024-03-01T12:00:00.500000Z"),
        (-62_135_596_800_000_000, "0001-01-01T00:00:00Z"),
        (253_402_300_799_999_999, "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_format_us(us: int, text: str) -> None:
    assert format_us(us) == text
    assert parse_rfc3339_us(text) == us


@pytest.mark.parametrize("us", [-62_135_596_800_000_001, 253_402_300_800_000_000])
def test_format_us_refuses_years_rfc3339_cannot_write(us: int) -> None:
    with pytest.raises(ValueError, match="outside the years 0001-9999"):
        format_us(us)


def test_utc_instant_may_leave_year_range_through_the_offset() -> None:
    # Documented: the local time is valid, so the parser accepts it (parse_event does not:
    # the instant is outside the storable range, see the corpus).
    assert parse_rfc3339_us("0001-01-01T00:00:00+00:01") == MIN_US - 60_000_000


def test_day_cache_is_bounded() -> None:
    for day in range(40_000):
        parse_rfc3339_us(format_us(day * timestamps.US_PER_DAY))
    assert len(timestamps._DAY_START_US) <= timestamps._DAY_CACHE_SIZE


@given(st.integers(MIN_US, MAX_US))
def test_format_us_round_trips(us: int) -> None:
    assert parse_rfc3339_us(format_us(us)) == us


@given(rfc3339())
def test_parse_rfc3339_matches_datetime(drawn: tuple[str, int]) -> None:
    text, expected = drawn
    assert parse_rfc3339_us(text) == expected
    assert describe_rfc3339_problem(text) == ""


@given(st.integers(-800_000, 3_000_000))
def test_civil_days_round_trip(days: int) -> None:
    year, month, day = timestamps.civil_from_days(days)
    assert timestamps.days_from_civil(year, month, day) == days


@given(st.text(alphabet="0123456789-T:.Z+ zt", max_size=30))
def test_parse_rfc3339_never_raises(text: str) -> None:
    if parse_rfc3339_us(text) is None:
        assert describe_rfc3339_problem(text)


# --- the storable range of occurred_at ------------------------------------------------

OUT_OF_RANGE = (
    "is outside the range leadclock can store (1970-01-01T00:00:00Z to 2105-12-31T23:59:59.999999Z)"
)


def _touch_at(occurred_at: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": "e",
            "type": "click",
            "lead_id": "l",
            "campaign_id": "c",
            "occurred_at": occurred_at,
        }
    )


def test_storable_range_constants() -> None:
    assert (STORABLE_FROM_US, STORABLE_UNTIL_US) == (
        strategies.STORABLE_FROM_US,
        strategies.STORABLE_UNTIL_US,
    )
    assert format_us(STORABLE_FROM_US) == "1970-01-01T00:00:00Z"
    assert format_us(STORABLE_UNTIL_US) == "2106-01-01T00:00:00Z"
    # ClickHouse DateTime is UInt32 seconds: the whole range fits, with room to spare.
    assert STORABLE_FROM_US >= 0
    assert (STORABLE_UNTIL_US - 1) // timestamps.US_PER_SECOND <= 2**32 - 1


@pytest.mark.parametrize(
    ("text", "us"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.000000-00:00", 0),
        ("1970-01-01T23:59:00+23:59", 0),
        ("1969-12-31T00:01:00.000001-23:59", 1),
        ("2105-12-31T23:59:59.999999Z", 4_291_747_199_999_999),
        ("2105-12-31T00:00:59.9999999999-23:59", 4_291_747_199_999_999),
        ("2106-01-01T23:58:59.999999+23:59", 4_291_747_199_999_999),
    ],
)
def test_storable_range_ends_are_accepted(text: str, us: int) -> None:
    event = parse_event(_touch_at(text))
    assert isinstance(event, Touch), event
    assert event.occurred_at_us == us


@pytest.mark.parametrize(
    "text",
    [
        "1969-12-31T23:59:59.999999Z",
        "1969-12-31T23:59:59.999999-00:00",
        "1970-01-01T00:00:00+00:01",
        "1970-01-01T23:58:59.999999+23:59",
        "2106-01-01T00:00:00Z",
        "2105-12-31T23:59:59-00:01",
        "2106-01-01T23:59:00+23:59",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
    ],
)
def test_instants_outside_the_storable_range_are_rejected(text: str) -> None:
    result = parse_event(_touch_at(text))
    assert isinstance(result, Rejection)
    assert result.reason == f"occurred_at: {text!r} {OUT_OF_RANGE}"


def test_out_of_range_reason_cuts_a_long_value_short() -> None:
    text = "1969-12-31T23:59:59." + "9" * 1000 + "Z"
    result = parse_event(_touch_at(text))
    assert isinstance(result, Rejection)
    assert result.reason.startswith("occurred_at: '1969-12-31T23:59:59.999")
    assert result.reason.endswith(f"... ({len(text)} characters) {OUT_OF_RANGE}")


@given(rfc3339() | near_storable_edges())
def test_parse_event_accepts_exactly_the_storable_instants(drawn: tuple[str, int]) -> None:
    text, us = drawn
    result = parse_event(_touch_at(text))
    if STORABLE_FROM_US <= us < STORABLE_UNTIL_US:
        assert isinstance(result, Touch)
        assert result.occurred_at_us == us
    else:
        assert isinstance(result, Rejection)
        assert result.reason == f"occurred_at: {text!r} {OUT_OF_RANGE}"  # short: shown whole


@given(storable_rfc3339())
def test_storable_rfc3339_draws_only_storable_instants(drawn: tuple[str, int]) -> None:
    text, us = drawn
    assert STORABLE_FROM_US <= us < STORABLE_UNTIL_US
    assert parse_rfc3339_us(text) == us


# --- money ---------------------------------------------------------------------------


def test_currency_table_comes_from_iso4217() -> None:
    assert {c.code: c.exponent for c in Currency if c.exponent is not None} == dict(
        MINOR_UNIT_EXPONENTS
    )
    assert ISO4217_CODES == {c.code for c in Currency}
    assert (currency_exponent("USD"), currency_exponent("JPY"), currency_exponent("KWD")) == (
        2,
        0,
        3,
    )
    assert currency_exponent("XAU") is None
    assert currency_exponent("usd") is None


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (12950, "USD", "129.50 USD"),
        (5, "USD", "0.05 USD"),
        (-12950, "USD", "-129.50 USD"),
        (1234, "JPY", "1234 JPY"),
        (1, "KWD", "0.001 KWD"),
        (INT64_MAX, "USD", "92233720368547758.07 USD"),
    ],
)
def test_format_minor(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text


def test_format_minor_refuses_currency_without_minor_unit() -> None:
    with pytest.raises(ValueError, match="XAU"):
        format_minor(1, "XAU")


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        (float("nan"), "must be finite"),
        (float("inf"), "must be finite"),
        (Decimal("1.5"), "must be a JSON number or a decimal string"),
        (True, "booleans are not numbers"),
    ],
)
def test_to_minor_units_outside_json(amount: object, problem: str) -> None:
    assert to_minor_units(amount, "USD") == problem


def test_to_minor_units_reports_unusable_currency() -> None:
    assert to_minor_units("1", "XAU") == "currency 'XAU' has no ISO 4217 minor unit"


@given(st.sampled_from(CURRENCIES).flatmap(lambda c: st.tuples(st.just(c), amounts(c))))
def test_amount_spellings_convert_exactly(drawn: tuple[str, tuple[object, int]]) -> None:
    currency, (amount, minor) = drawn
    assert to_minor_units(amount, currency) == minor


@given(st.sampled_from(CURRENCIES), st.integers(1, INT64_MAX))
def test_format_minor_round_trips(currency: str, minor: int) -> None:
    assert to_minor_units(format_minor(minor, currency).split(" ")[0], currency) == minor


@given(st.sampled_from(CURRENCIES), st.text(max_size=25))
def test_to_minor_units_never_raises(currency: str, text: str) -> None:
    result = to_minor_units(text, currency)
    assert isinstance(result, str) or 0 < result <= INT64_MAX


# --- whole events --------------------------------------------------------------------


@given(valid_events())
def test_valid_events_parse_to_expected_values(generated: Generated) -> None:
    assert parse_event(orjson.dumps(generated.message)) == generated.expected


_BREAKERS: dict[str, list[Any]] = {
    "event_id": [None, "", "e" * 257, 1, True, [], {}],
    "type": [None, "", "Click", "refund", 1, ["click"]],
    "lead_id": [None, "", "l" * 257, 2.5, False],
    "occurred_at": [
        None,
        0,
        "2024-03-01 12:00:00Z",
        "2024-03-01T12:00:00",
        "2023-02-29T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2106-01-01T00:00:00Z",
    ],
    "campaign_id": ["", "c" * 257, 3, {}],
    "currency": [None, "usd", "XAU", "ABC", 978],
    "amount": [None, True, "abc", "1e3", 0, -1, "-1", "1.23456", [1]],
}
_MISSING = object()


@given(valid_events(), st.data())
def test_one_broken_field_is_named_in_the_reason(generated: Generated, data: st.DataObject) -> None:
    message = dict(generated.message)
    fields = ["event_id", "type", "lead_id", "occurred_at", "campaign_id"]
    if message["type"] == "purchase":
        fields += ["currency", "amount"]
    field = data.draw(st.sampled_from(fields))
    value = data.draw(st.sampled_from([*_BREAKERS[field], _MISSING]))
    if value is _MISSING:
        if field == "campaign_id" and message["type"] == "purchase":
            return  # optional on purchases
        del message[field]
    else:
        message[field] = value
    result = parse_event(orjson.dumps(message))
    assert isinstance(result, Rejection)
    assert result.reason.startswith(f"{field}: "), result.reason


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse_event(raw), Touch | Purchase | Rejection)


_ANY_FIELD_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(["click", "purchase", "USD", "JPY", "12.50", "2024-02-29T00:00:00Z"]),
    st.lists(st.integers(), max_size=2),
)


@given(st.dictionaries(st.sampled_from(sorted(KNOWN_FIELDS)), _ANY_FIELD_VALUE))
def test_arbitrary_objects_never_raise(message: dict[str, Any]) -> None:
    result = parse_event(json.dumps(message).encode())
    if isinstance(result, Rejection):
        assert result.reason.partition(": ")[0] in FIELDS_IN_ORDER
    else:
        assert 0 < len(result.event_id) <= 256
        assert 0 < len(result.lead_id) <= 256
