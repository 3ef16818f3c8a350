r"""Generate ``schemas/events.schema.json``, the event contract for other languages.

Producers outside Python validate against a JSON Schema (draft 2020-12); this module
builds it from the same constants the Python validator uses (event types, string limit,
the ISO 4217 table), so the two cannot drift apart silently: a unit test fails when the
committed file differs from what this generator writes.

Run ``python -m schemas.generate_schema`` to rewrite the file, ``--check`` to verify it.

What the schema expresses exactly: required fields per type, 1-256 character strings,
the event types, occurred_at (syntax, calendar and storable years 1970-2105, in the
pattern itself, because ``format`` is only an annotation by default in 2020-12), amount
shape and > 0, known currencies with a minor unit, and the decimals a decimal-string amount
may carry per currency (plus integer-valued JSON numbers for zero-exponent currencies).

What only the Python validator enforces (see ``NOT_EXPRESSIBLE``):

- decimals of a JSON *number* amount for currencies with an exponent > 0:
  ``multipleOf: 0.01`` is evaluated in binary floating point by most validators and
  wrongly rejects 0.07; a decimal-string amount is checked exactly by the pattern;
- JSON numbers with more than 15 significant digits (not exactly representable);
- amounts whose minor units overflow a signed 64-bit integer;
- the storable range of occurred_at where an offset matters: the pattern checks the
  *local* date (1970-01-01 to 2105-12-31, plus 1969-12-31 with a negative offset and
  2106-01-01 with a positive one, which may be storable), not the UTC instant, so it
  accepts e.g. ``1970-01-01T00:30:00+01:00`` (1969 in UTC). Comparing a time with an
  offset is arithmetic a regex cannot do; the schema never rejects a storable instant;
- syntax-level JSON problems (invalid UTF-8, duplicate keys: last one wins).

Patterns start with ``(?!.*\n)`` because in Python's ``re`` (used by the ``jsonschema``
package) ``$`` also matches before a trailing newline; ECMA-262 engines do not need it
and are not harmed by it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Final

from schemas.events import EVENT_TYPES, TOUCH_TYPES
from schemas.money import MINOR_UNIT_EXPONENTS
from schemas.timestamps import format_us
from schemas.validation import MAX_STRING_LENGTH, STORABLE_FROM_US, STORABLE_UNTIL_US

SCHEMA_PATH: Final = Path(__file__).with_name("events.schema.json")

NOT_EXPRESSIBLE: Final = (
    "decimals of a JSON number amount when the currency's exponent is > 0 "
    "(send a decimal string to have them checked by the schema)",
    "JSON number amounts with more than 15 significant digits",
    "amounts whose minor units exceed the signed 64-bit range",
    "occurred_at outside the storable UTC range "
    f"{format_us(STORABLE_FROM_US)} to {format_us(STORABLE_UNTIL_US - 1)} only because of "
    "its offset (the pattern checks the local date)",
)

_NO_NEWLINE: Final = r"(?!.*\n)"
_MONTH_DAY: Final = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
#: Years divisible by 4, except centuries not divisible by 400.
_LEAP_YEAR: Final = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
#: The years whose every instant is storable (STORABLE_FROM_US to STORABLE_UNTIL_US): 1970-2105.
STORABLE_YEAR_PATTERN: Final = r"(?:19[7-9][0-9]|20[0-9]{2}|210[0-5])"
_DATE: Final = rf"(?={STORABLE_YEAR_PATTERN}-)(?:[0-9]{{4}}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME: Final = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
_HOURS_MINUTES: Final = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_OFFSET: Final = rf"(?:Z|[+-]{_HOURS_MINUTES})"
#: The local days just outside those years where an offset towards them may give a
#: storable instant (1969-12-31T23:30:00-01:00 is 1970-01-01T00:30:00Z): accepted so that
#: the schema never rejects an event the validator accepts.
_DAY_BEFORE: Final = format_us(STORABLE_FROM_US - 1)[:10]
_DAY_AFTER: Final = format_us(STORABLE_UNTIL_US)[:10]
_EDGE_DAYS: Final = (
    rf"{_DAY_BEFORE}T{_TIME}-(?!00:00){_HOURS_MINUTES}"
    rf"|{_DAY_AFTER}T{_TIME}\+(?!00:00){_HOURS_MINUTES}"
)
#: occurred_at with calendar validity (leap years, month lengths) and the storable years
#: in the regex itself.
OCCURRED_AT_PATTERN: Final = f"^{_NO_NEWLINE}(?:{_DATE}T{_TIME}{_OFFSET}|{_EDGE_DAYS})$"
#: A decimal string with at least one non-zero digit, i.e. > 0.
AMOUNT_TEXT_PATTERN: Final = rf"^{_NO_NEWLINE}(?=[0-9.]*[1-9])[0-9]+(?:\.[0-9]+)?$"


def decimals_pattern(exponent: int) -> str:
    """Return the pattern of decimal strings with at most ``exponent`` decimals.

    Trailing zeros beyond the exponent are allowed (``"12.50"`` has 1 decimal).
    """
    if exponent == 0:
        return rf"^{_NO_NEWLINE}[0-9]+(?:\.0+)?$"
    return rf"^{_NO_NEWLINE}[0-9]+(?:\.[0-9]{{1,{exponent}}}0*)?$"


def build_schema() -> dict[str, object]:
    """Return the JSON Schema of one event as a JSON-ready dict."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:leadclock:schema:events",
        "title": "leadclock event",
        "description": (
            "One event (Kafka message or NDJSON line); see SPEC.md section 2. Generated "
            "by schemas/generate_schema.py from the Python validator's constants: do not "
            "edit by hand."
        ),
        "$comment": "Enforced only by the Python validator: " + "; ".join(NOT_EXPRESSIBLE),
        "type": "object",
        "required": ["event_id", "type", "lead_id", "occurred_at"],
        "properties": {
            "event_id": {"$ref": "#/$defs/identifier"},
            "type": {"enum": list(EVENT_TYPES)},
            "lead_id": {"$ref": "#/$defs/identifier"},
            "occurred_at": {"$ref": "#/$defs/occurred_at"},
        },
        "allOf": [_touch_rules(), _purchase_rules(), *_decimals_rules()],
        "$defs": _definitions(),
    }


def _touch_rules() -> dict[str, object]:
    """Touches need a campaign_id; their amount and currency are ignored."""
    return {
        "if": {"required": ["type"], "properties": {"type": {"enum": list(TOUCH_TYPES)}}},
        "then": {
            "required": ["campaign_id"],
            "properties": {"campaign_id": {"$ref": "#/$defs/identifier"}},
        },
    }


def _purchase_rules() -> dict[str, object]:
    """Purchases need amount and currency; campaign_id may be absent or null."""
    return {
        "if": _is_purchase(),
        "then": {
            "required": ["amount", "currency"],
            "properties": {
                "campaign_id": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/identifier"}]},
                "currency": {"enum": sorted(MINOR_UNIT_EXPONENTS)},
                "amount": {"$ref": "#/$defs/amount"},
            },
        },
    }


def _decimals_rules() -> list[dict[str, object]]:
    """One rule per exponent: currencies listed from ISO 4217, decimals bounded."""
    rules: list[dict[str, object]] = []
    for exponent in sorted(set(MINOR_UNIT_EXPONENTS.values())):
        codes = sorted(code for code, e in MINOR_UNIT_EXPONENTS.items() if e == exponent)
        condition = _is_purchase()
        condition["required"] = ["type", "currency"]
        condition["properties"] = {"type": {"const": "purchase"}, "currency": {"enum": codes}}
        rules.append(
            {
                "if": condition,
                "then": {"properties": {"amount": {"$ref": f"#/$defs/amount_exponent_{exponent}"}}},
            }
        )
    return rules


def _is_purchase() -> dict[str, object]:
    """Return the ``if`` condition matching purchases (a fresh dict each time)."""
    return {"required": ["type"], "properties": {"type": {"const": "purchase"}}}


def _definitions() -> dict[str, object]:
    """Return ``$defs``: identifier, occurred_at, amount and the per-exponent amounts."""
    definitions: dict[str, object] = {
        "identifier": {"type": "string", "minLength": 1, "maxLength": MAX_STRING_LENGTH},
        "occurred_at": {
            "type": "string",
            "format": "date-time",
            "pattern": OCCURRED_AT_PATTERN,
            "$comment": (
                "Upper-case T and Z, real calendar date, no leap second, local date in "
                "1970-2105 (or the day either side with an offset towards it); the exact "
                "UTC range is checked by the Python validator only."
            ),
        },
        "amount": {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": AMOUNT_TEXT_PATTERN},
            ]
        },
    }
    for exponent in sorted(set(MINOR_UNIT_EXPONENTS.values())):
        number: dict[str, object] = {"type": "number"}
        if exponent == 0:
            number["multipleOf"] = 1
        definitions[f"amount_exponent_{exponent}"] = {
            "anyOf": [number, {"type": "string", "pattern": decimals_pattern(exponent)}]
        }
    return definitions


def render() -> str:
    """Return the schema file's exact text (stable key order, trailing newline)."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema file, or with ``--check`` report whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is stale: run python -m schemas.generate_schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
