r"""Turn one raw message into a validated event or a rejection (SPEC §2).

:func:`parse_event` is the only door into the engine: it decodes with ``orjson``, checks
every rule by hand (no ``jsonschema`` here: this runs once per event, and a generic
validator costs far more than the whole parse) and returns a :class:`~schemas.events.Touch`, a
:class:`~schemas.events.Purchase` or a :class:`~schemas.events.Rejection`. It never
raises for bad input: a bad message is data, routed to the DLQ with its reason.

Reasons read ``"<field>: <problem>"`` so a producer knows what to fix. When several rules
are broken, the first in this fixed order wins (stable, so reasons can be counted):

1. the message itself: ``invalid JSON: ...`` (includes invalid UTF-8), ``message: must
   be a JSON object``;
2. ``event_id``; 3. ``type``; 4. ``lead_id``; 5. ``campaign_id``; 6. ``occurred_at``;
7. ``currency`` then 8. ``amount`` (purchases only). Currency goes first because the
   precision an amount may have depends on it.

Decisions where SPEC §2 is silent (``schemas/events.schema.json`` says the same, except
for the few rules JSON Schema cannot express, listed in :mod:`schemas.generate_schema`):

- Strings (``event_id``, ``lead_id``, ``campaign_id``) are JSON strings of 1-256 Unicode
  code points; any content, whitespace included, is accepted as-is (no trimming).
- ``campaign_id`` is required for touches. On a purchase it is optional: absent or
  ``null`` gives ``None``; if present and not null it must be a valid string.
- ``occurred_at``: strict RFC 3339 as described in :mod:`schemas.timestamps` (upper-case
  ``T``/``Z``, real calendar date, no leap second, fraction digits beyond 6 truncated),
  stored as ``occurred_at_us`` (int microseconds since the epoch, UTC).
- ``occurred_at`` must also be storable: its UTC instant must lie in
  [``STORABLE_FROM_US``, ``STORABLE_UNTIL_US``), i.e. 1970-01-01T00:00:00Z to
  2105-12-31T23:59:59.999999Z, because ClickHouse keeps window starts as ``DateTime``
  (UInt32 seconds, 1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z) and the sink would
  refuse the lead of any event outside it. The end is cut to a whole year so the rule is
  easy to state (and to write in the JSON Schema's pattern). The offset counts: the rule is
  on the UTC instant, so ``1970-01-01T00:30:00+01:00`` is rejected and
  ``1969-12-31T23:30:00-01:00`` accepted. It is a rule of this contract, not of
  :func:`~schemas.timestamps.parse_rfc3339_us`, which still parses years 0001-9999 (a
  local time there whose UTC instant leaves those years parses too); on the hot path it
  costs one range comparison of the parsed integer.
- ``amount`` and ``currency`` are read only on purchases; on touches they (like every
  unknown field) are ignored, even when malformed. Amount rules are in
  :mod:`schemas.money`: JSON integer, JSON float (<= 15 significant digits) or decimal
  string ``^[0-9]+(\.[0-9]+)?$``; > 0; exact in the currency's minor units; fits Int64.
- ``currency`` is an upper-case code of the ISO 4217 table with a minor unit; lower case
  is rejected (with a hint) rather than fixed up, so that one spelling reaches storage.
- Extra fields are allowed and ignored. Duplicate keys are resolved by ``orjson``: the
  last occurrence wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import orjson

from schemas.events import EVENT_TYPES, TOUCH_TYPES, Purchase, Rejection, Touch, TouchType
from schemas.fast import fast_constructor
from schemas.money import ISO4217_CODES, MINOR_UNIT_EXPONENTS, to_minor_units
from schemas.timestamps import describe_rfc3339_problem, format_us, parse_rfc3339_us

MAX_STRING_LENGTH: Final = 256
#: First storable ``occurred_at_us``: 1970-01-01T00:00:00Z, the start of ClickHouse
#: ``DateTime`` (UInt32 seconds since the epoch).
STORABLE_FROM_US: Final = 0
#: First instant *not* storable: 2106-01-01T00:00:00Z, the start of the last year that
#: ``DateTime`` (which ends at 2106-02-07T06:28:15Z) cannot hold whole.
STORABLE_UNTIL_US: Final = 4_291_747_200_000_000
_STORABLE_RANGE: Final = f"{format_us(STORABLE_FROM_US)} to {format_us(STORABLE_UNTIL_US - 1)}"
_TOUCH_TYPE_OF: Final[dict[str, TouchType]] = {kind: kind for kind in TOUCH_TYPES}
_EVENT_TYPE_LIST: Final = ", ".join(EVENT_TYPES)
_SHOWN_CHARS: Final = 40

_new_touch: Callable[[str, str, str, TouchType, int], Touch] = fast_constructor(Touch)
_new_purchase: Callable[[str, str, int, int, str, str | None], Purchase] = fast_constructor(
    Purchase
)


def parse_event(raw: bytes) -> Touch | Purchase | Rejection:
    """Validate one message; return the event it carries or why it was rejected."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection(raw, f"invalid JSON: {exc}")
    if type(message) is not dict:
        return Rejection(raw, f"message: must be a JSON object (got {_kind_of(message)})")
    event = _event_from(message)
    if isinstance(event, str):
        return Rejection(raw, event)
    return event


def _event_from(message: dict[str, object]) -> Touch | Purchase | str:
    """Check the fields every event has, then hand over to the touch or purchase rules."""
    event_id = message.get("event_id")
    if type(event_id) is not str or not 0 < len(event_id) <= MAX_STRING_LENGTH:
        return _string_problem(message, "event_id")
    kind = message.get("type")
    if type(kind) is not str or kind not in EVENT_TYPES:
        return _type_problem(message)
    lead_id = message.get("lead_id")
    if type(lead_id) is not str or not 0 < len(lead_id) <= MAX_STRING_LENGTH:
        return _string_problem(message, "lead_id")
    touch_type = _TOUCH_TYPE_OF.get(kind)
    if touch_type is None:
        return _purchase_from(message, event_id, lead_id)
    return _touch_from(message, event_id, lead_id, touch_type)


def _touch_from(
    message: dict[str, object], event_id: str, lead_id: str, touch_type: TouchType
) -> Touch | str:
    """Build a touch: campaign_id is required, amount and currency are ignored."""
    campaign_id = message.get("campaign_id")
    if type(campaign_id) is not str or not 0 < len(campaign_id) <= MAX_STRING_LENGTH:
        if "campaign_id" not in message:
            return f"campaign_id: missing (required for {touch_type})"
        return _string_problem(message, "campaign_id")
    occurred_at = message.get("occurred_at")
    occurred_at_us = parse_rfc3339_us(occurred_at) if type(occurred_at) is str else None
    if occurred_at_us is None or not STORABLE_FROM_US <= occurred_at_us < STORABLE_UNTIL_US:
        return _occurred_at_problem(message)
    return _new_touch(event_id, lead_id, campaign_id, touch_type, occurred_at_us)


def _purchase_from(message: dict[str, object], event_id: str, lead_id: str) -> Purchase | str:
    """Build a purchase: optional campaign_id, then time, currency and amount."""
    campaign_id = message.get("campaign_id")
    if campaign_id is not None and (
        type(campaign_id) is not str or not 0 < len(campaign_id) <= MAX_STRING_LENGTH
    ):
        return _string_problem(message, "campaign_id")
    occurred_at = message.get("occurred_at")
    occurred_at_us = parse_rfc3339_us(occurred_at) if type(occurred_at) is str else None
    if occurred_at_us is None or not STORABLE_FROM_US <= occurred_at_us < STORABLE_UNTIL_US:
        return _occurred_at_problem(message)
    currency = message.get("currency")
    if type(currency) is not str or currency not in MINOR_UNIT_EXPONENTS:
        return _currency_problem(message)
    if "amount" not in message:
        return "amount: missing"
    amount_minor = to_minor_units(message["amount"], currency)
    if isinstance(amount_minor, str):
        return f"amount: {amount_minor}"
    return _new_purchase(event_id, lead_id, occurred_at_us, amount_minor, currency, campaign_id)


def _occurred_at_problem(message: dict[str, object]) -> str:
    """Explain why ``occurred_at`` is not a storable strict RFC 3339 date-time."""
    if "occurred_at" not in message:
        return "occurred_at: missing"
    occurred_at = message["occurred_at"]
    if isinstance(occurred_at, str):
        problem = describe_rfc3339_problem(occurred_at)
        if not problem:  # it parses, so its UTC instant is what cannot be stored
            return (
                f"occurred_at: {_show(occurred_at)} is outside the range leadclock can store "
                f"({_STORABLE_RANGE})"
            )
        return f"occurred_at: {problem} (got {_show(occurred_at)})"
    return (
        "occurred_at: not an RFC 3339 date-time with T and an explicit offset "
        f"(got {_kind_of(occurred_at)})"
    )


def _string_problem(message: dict[str, object], field: str) -> str:
    """Explain why ``message[field]`` is not a 1-256 character string."""
    if field not in message:
        return f"{field}: missing"
    return (
        f"{field}: must be a string of 1-{MAX_STRING_LENGTH} characters "
        f"(got {_kind_of(message[field])})"
    )


def _type_problem(message: dict[str, object]) -> str:
    """Explain why ``type`` is not one of the four event types."""
    if "type" not in message:
        return "type: missing"
    kind = message["type"]
    shown = _show(kind) if isinstance(kind, str) else _kind_of(kind)
    return f"type: must be one of {_EVENT_TYPE_LIST} (got {shown})"


def _currency_problem(message: dict[str, object]) -> str:
    """Explain why ``currency`` is not an ISO 4217 code with a minor unit."""
    if "currency" not in message:
        return "currency: missing"
    code = message["currency"]
    if not isinstance(code, str):
        return f"currency: must be an ISO 4217 code string (got {_kind_of(code)})"
    if code in ISO4217_CODES:
        return f"currency: {code!r} has no minor unit in ISO 4217, so it cannot carry an amount"
    hint = ""
    if code.upper() in MINOR_UNIT_EXPONENTS:
        hint = f" (codes are upper case: {code.upper()!r})"
    return f"currency: unknown ISO 4217 code {_show(code)}{hint}"


def _kind_of(value: object) -> str:
    """Name a decoded JSON value's kind as a producer would: JSON terms, not Python's."""
    if isinstance(value, str):
        return "an empty string" if not value else f"a string of {len(value)} characters"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"


def _show(text: str) -> str:
    """Quote a string for a reason, cut short so a huge field cannot bloat the DLQ."""
    if len(text) <= _SHOWN_CHARS:
        return repr(text)
    return f"{text[:_SHOWN_CHARS]!r}... ({len(text)} characters)"
