"""``schemas/events.schema.json`` and ``parse_event`` agree on the contract.

Producers in other languages validate with the JSON Schema; the pipeline validates with
``parse_event``. Every corpus case must get the same verdict from both, except the few
rules JSON Schema cannot express, which are listed in ``KNOWN_SCHEMA_GAPS`` with why.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from schemas.events import Rejection
from schemas.generate_schema import (
    AMOUNT_TEXT_PATTERN,
    NOT_EXPRESSIBLE,
    OCCURRED_AT_PATTERN,
    SCHEMA_PATH,
    STORABLE_YEAR_PATTERN,
    decimals_pattern,
    render,
)
from schemas.money import MINOR_UNIT_EXPONENTS, to_minor_units
from schemas.timestamps import format_us, parse_rfc3339_us
from schemas.validation import STORABLE_FROM_US, STORABLE_UNTIL_US, parse_event
from tests.unit.corpus import INVALID, VALID, Case
from tests.unit.corpus.strategies import (
    CURRENCIES,
    Generated,
    near_storable_edges,
    rfc3339,
    valid_events,
)

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
WITH_FORMATS = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
# Draft 2020-12 treats "format" as an annotation by default; many validators never
# check it, so the schema must stand on its patterns alone.
WITHOUT_FORMATS = Draft202012Validator(SCHEMA)

_FLOAT_DECIMALS = (
    "decimals of a JSON number for a currency with exponent > 0: multipleOf 0.01 is "
    "evaluated in binary floating point (0.07 / 0.01 != 7), so it would reject valid "
    "amounts; the schema checks decimals of decimal strings only"
)
_FLOAT_DIGITS = (
    "more than 15 significant digits in a JSON number: JSON Schema sees the decoded "
    "number and cannot count the digits the producer wrote"
)
_INT64 = (
    "minor units beyond the signed 64-bit range: the bound depends on the currency's "
    "exponent and is not exactly representable as a JSON Schema maximum for strings"
)
_OFFSET_OUT_OF_RANGE = (
    "occurred_at whose offset puts a local time near the ends of 1970-2105 outside the "
    "storable UTC range: telling would take comparing the time with the offset, arithmetic "
    "a regex cannot do; the pattern checks the local date only (and lets 1969-12-31 with a "
    "negative offset and 2106-01-01 with a positive one through, as they may be storable)"
)
#: Corpus cases the Python validator rejects and the JSON Schema accepts, and why.
KNOWN_SCHEMA_GAPS = {
    "amount USD three decimals float": _FLOAT_DECIMALS,
    "amount USD sub-cent float": _FLOAT_DECIMALS,
    "amount KWD four decimals float": _FLOAT_DECIMALS,
    "amount float with 17 digits": _FLOAT_DIGITS,
    "amount float with 16 digits": _FLOAT_DIGITS,
    "amount integer beyond uint64": _FLOAT_DIGITS,
    "amount USD string one past Int64": _INT64,
    "amount JPY integer one past Int64": _INT64,
    "amount USD integer past Int64": _INT64,
    "amount uint64 max": _INT64,
    "amount huge float": _INT64,
    "amount 5000-digit string": _INT64,
    "occurred_at 1970-01-01 local, 1969 in UTC": _OFFSET_OUT_OF_RANGE,
    "occurred_at 1969-12-31 local with an offset too small to reach 1970": _OFFSET_OUT_OF_RANGE,
    "occurred_at 2105-12-31 local, 2106 in UTC": _OFFSET_OUT_OF_RANGE,
}


def schema_accepts(raw: bytes, validator: Draft202012Validator = WITH_FORMATS) -> bool:
    """Return whether ``raw`` is JSON that the schema accepts (undecodable: rejected)."""
    try:
        instance = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False  # no JSON Schema validator ever sees a message that is not JSON
    return bool(validator.is_valid(instance))


def test_schema_file_is_generated_and_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), (
        "run: python -m schemas.generate_schema"
    )


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


def test_schema_documents_its_gaps() -> None:
    for gap in NOT_EXPRESSIBLE:
        assert gap in SCHEMA["$comment"]


@pytest.mark.parametrize("validator", [WITH_FORMATS, WITHOUT_FORMATS], ids=["formats", "patterns"])
@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_schema_accepts_valid_corpus(case: Case, validator: Draft202012Validator) -> None:
    assert not isinstance(parse_event(case.raw), Rejection)
    assert schema_accepts(case.raw, validator)


@pytest.mark.parametrize("validator", [WITH_FORMATS, WITHOUT_FORMATS], ids=["formats", "patterns"])
@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_schema_rejects_invalid_corpus(case: Case, validator: Draft202012Validator) -> None:
    assert isinstance(parse_event(case.raw), Rejection)
    if case.name in KNOWN_SCHEMA_GAPS:
        assert schema_accepts(case.raw, validator), "gap closed: drop it from KNOWN_SCHEMA_GAPS"
    else:
        assert not schema_accepts(case.raw, validator)


def test_known_gaps_are_corpus_cases() -> None:
    assert set(KNOWN_SCHEMA_GAPS) <= {case.name for case in INVALID}


@given(valid_events())
def test_schema_accepts_generated_valid_events(generated: Generated) -> None:
    assert WITH_FORMATS.is_valid(orjson.loads(orjson.dumps(generated.message)))


# --- the generated patterns against the Python parsers, on near-miss strings ----------

_two = st.sampled_from(
    [
        "00",
        "01",
        "02",
        "04",
        "09",
        "11",
        "13",
        "10",
        "12",
        "19",
        "23",
        "24",
        "28",
        "29",
        "30",
        "31",
        "32",
        "59",
        "60",
        "99",
    ]
)
_year = st.sampled_from(
    [
        "0000",
        "0001",
        "1900",
        "1968",
        "1969",
        "1970",
        "1972",
        "1996",
        "2000",
        "2023",
        "2024",
        "2100",
        "2104",
        "2105",
        "2106",
        "2107",
        "2400",
        "9999",
    ]
)
_fraction = st.sampled_from(["", ".", ".5", ".123456789"])
_offset = st.sampled_from(
    ["Z", "z", "+00:00", "-00:00", "+23:59", "-23:59", "-24:00", "+01:60", "+0100", ""]
)


def _pattern_should_match(text: str) -> bool:
    """What OCCURRED_AT_PATTERN promises: a valid RFC 3339 text on a storable local date.

    The local date is in 1970-2105, or is the day before (after) those years with a
    negative (positive) offset, which may still be a storable instant.
    """
    if parse_rfc3339_us(text) is None:
        return False
    year, date, offset = int(text[:4]), text[:10], text[-6:]
    nonzero = offset not in ("+00:00", "-00:00") and not text.endswith("Z")
    return (
        1970 <= year <= 2105
        or (date == "1969-12-31" and nonzero and offset.startswith("-"))
        or (date == "2106-01-01" and nonzero and offset.startswith("+"))
    )


@given(
    _year,
    _two,
    _two,
    st.sampled_from(["T", "t", " "]),
    _two,
    _two,
    _two,
    _fraction,
    _offset,
    st.sampled_from(["", "\n", " "]),
)
def test_occurred_at_pattern_matches_parser(
    year: str,
    month: str,
    day: str,
    sep: str,
    hour: str,
    minute: str,
    second: str,
    fraction: str,
    offset: str,
    tail: str,
) -> None:
    text = f"{year}-{month}-{day}{sep}{hour}:{minute}:{second}{fraction}{offset}{tail}"
    # jsonschema applies "pattern" with re.search, as here.
    by_schema = re.search(OCCURRED_AT_PATTERN, text) is not None
    assert by_schema == _pattern_should_match(text), text


def test_storable_year_pattern_is_the_validator_range() -> None:
    first = int(format_us(STORABLE_FROM_US)[:4])
    last = int(format_us(STORABLE_UNTIL_US - 1)[:4])
    assert (first, last) == (1970, 2105)
    # The range is whole years, so the pattern can state it exactly.
    assert format_us(STORABLE_FROM_US)[4:] == format_us(STORABLE_UNTIL_US)[4:] == "-01-01T00:00:00Z"
    for year in range(10_000):
        matches = re.fullmatch(STORABLE_YEAR_PATTERN, f"{year:04d}") is not None
        assert matches == (first <= year <= last), year


def _has_offset(text: str) -> bool:
    return not (text.endswith(("Z", "+00:00", "-00:00")))


@given(rfc3339() | near_storable_edges())
def test_schema_and_validator_disagree_only_on_offsets_at_the_range_ends(
    drawn: tuple[str, int],
) -> None:
    text, _ = drawn
    message = {"event_id": "e", "type": "click", "lead_id": "l", "campaign_id": "c"}
    message["occurred_at"] = text
    by_validator = not isinstance(parse_event(orjson.dumps(message)), Rejection)
    by_schema = WITHOUT_FORMATS.is_valid(message)
    if by_schema != by_validator:
        # Never stricter than the validator; looser only as KNOWN_SCHEMA_GAPS says.
        assert by_schema, text
        assert _has_offset(text), text
        assert text[:10] in ("1970-01-01", "2105-12-31", "1969-12-31", "2106-01-01"), text


@given(st.sampled_from(CURRENCIES), st.text(alphabet="0123456789.-e \n", max_size=12))
def test_amount_string_patterns_match_converter(currency: str, text: str) -> None:
    exponent = MINOR_UNIT_EXPONENTS[currency]
    by_schema = bool(re.search(AMOUNT_TEXT_PATTERN, text)) and bool(
        re.search(decimals_pattern(exponent), text)
    )
    assert by_schema == isinstance(to_minor_units(text, currency), int), text


def _instance(**fields: Any) -> dict[str, Any]:
    """Return a valid purchase with ``fields`` replaced."""
    base = {
        "event_id": "e",
        "type": "purchase",
        "lead_id": "l",
        "occurred_at": "2024-03-01T12:00:00Z",
        "amount": "1",
        "currency": "USD",
    }
    return base | fields


@pytest.mark.parametrize(("currency", "exponent"), sorted(MINOR_UNIT_EXPONENTS.items()))
def test_every_currency_has_its_decimals_rule(currency: str, exponent: int) -> None:
    exact = "1." + "0" * (exponent - 1) + "1" if exponent else "1"
    finer = "1." + "0" * exponent + "1"
    assert WITH_FORMATS.is_valid(_instance(currency=currency, amount=exact))
    assert not WITH_FORMATS.is_valid(_instance(currency=currency, amount=finer))
