"""Validation of the dashboard API's query parameters: every user choice is checked here.

User choices reach ClickHouse only as typed server-side parameters (``{name:Type}``), so
this module is not what keeps SQL injection out; it is what turns a typo into a clear
400 instead of an empty chart or a ClickHouse error: unknown names, repeated names and
values outside their vocabulary are refused with a message naming the parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from streams.web.exceptions import BadRequest

#: The attribution models of SPEC §3, as they appear in the views' ``model`` column.
MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
#: Campaign kinds of SPEC §6 (``unclassified``: seen in events, not registered).
KINDS = ("marketing", "sales", "unclassified")
TOUCH_TYPES = ("email_open", "click", "call")
BUCKETS = ("day", "week", "month")
FORMATS = ("json", "csv")

_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class Param:
    """One accepted query parameter: its URL name, parser, default and help text."""

    name: str
    parse: Callable[[str], object]
    default: object
    help: str


def choice(values: Sequence[str]) -> Callable[[str], object]:
    """A parser accepting exactly one of ``values``."""

    def parse(text: str) -> object:
        if text not in values:
            msg = f"{text!r} is not one of {', '.join(values)}"
            raise ValueError(msg)
        return text

    return parse


def iso_date(text: str) -> object:
    """``YYYY-MM-DD`` (a UTC day), as a ``datetime.date``."""
    if not _DATE_RE.fullmatch(text):
        msg = f"{text!r} is not an ISO date (YYYY-MM-DD)"
        raise ValueError(msg)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        msg = f"{text!r} is not a valid date"
        raise ValueError(msg) from None


def currency(text: str) -> object:
    """An ISO 4217 code: three upper-case letters."""
    if not _CURRENCY_RE.fullmatch(text):
        msg = f"{text!r} is not an ISO 4217 currency code (three upper-case letters)"
        raise ValueError(msg)
    return text


def campaign_id(text: str) -> object:
    """A campaign id as in events: 1 to 256 characters."""
    if not 1 <= len(text) <= 256:
        msg = "a campaign id has 1 to 256 characters"
        raise ValueError(msg)
    return text


def bounded_int(low: int, high: int) -> Callable[[str], object]:
    """A parser of a decimal integer in ``[low, high]``."""

    def parse(text: str) -> object:
        if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
            msg = f"{text!r} is not an integer from {low} to {high}"
            raise ValueError(msg)
        return int(text)

    return parse


MODEL = Param("model", choice(MODELS), "linear", "attribution model")
KIND = Param("kind", choice((*KINDS, "all")), "all", "campaign kind, or all")
CURRENCY = Param("currency", currency, None,
                 "ISO 4217 code; default: the busiest currency (first in /api/meta)")
CAMPAIGN = Param("campaign", campaign_id, None, "one campaign id (default: all)")
DATE_FROM = Param("from", iso_date, None, "first UTC day (inclusive)")
DATE_TO = Param("to", iso_date, None, "last UTC day (inclusive)")
TOUCH_TYPE = Param("touch_type", choice(TOUCH_TYPES), None, "email_open, click or call")
BUCKET = Param("bucket", choice(BUCKETS), "week", "cohort size: day, week or month")
FORMAT = Param("format", choice(FORMATS), "json", "json or csv (a download)")


def parse_query(pairs: Iterable[tuple[str, str]], accepted: Sequence[Param],
                where: str) -> dict[str, object]:
    """The typed values of a request's query parameters, defaults filled in.

    ``pairs`` are the raw (name, value) pairs in request order (a name may repeat);
    ``where`` names the endpoint in messages. Raises :class:`BadRequest` on the first
    problem, naming the parameter.
    """
    by_name = {param.name: param for param in accepted}
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name not in by_name:
            allowed = ", ".join(sorted(by_name)) or "none"
            msg = f"unknown parameter {name!r} for {where} (it takes: {allowed})"
            raise BadRequest(msg)
        if name in seen:
            msg = f"parameter {name!r} is given more than once"
            raise BadRequest(msg)
        seen[name] = value
    values: dict[str, object] = {}
    for param in accepted:
        if param.name not in seen:
            values[param.name] = param.default
            continue
        try:
            values[param.name] = param.parse(seen[param.name])
        except ValueError as error:
            msg = f"{param.name}: {error}"
            raise BadRequest(msg) from None
    _check_range(values)
    return values


def _check_range(values: Mapping[str, object]) -> None:
    start, end = values.get("from"), values.get("to")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
        msg = f"from ({start}) is after to ({end})"
        raise BadRequest(msg)
