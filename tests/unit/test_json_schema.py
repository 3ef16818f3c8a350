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
    decimals_pattern,
    render,
)
from schemas.money import MINOR_UNIT_EXPONENTS, to_minor_units
from schemas.timestamps import parse_rfc3339_us
from schemas.validation import parse_event
from tests.unit.corpus import INVALID, VALID, Case
from tests.unit.corpus.strategies import CURRENCIES, Generated, valid_events

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
    ["0000", "0001", "1900", "1996", "2000", "2023", "2024", "2100", "2400", "9999"]
)
_fraction = st.sampled_from(["", ".", ".5", ".123456789"])
_offset = st.sampled_from(["Z", "z", "+00:00", "-00:00", "+23:59", "-24:00", "+01:60", "+0100", ""])


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
    assert by_schema == (parse_rfc3339_us(text) is not None), text


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
