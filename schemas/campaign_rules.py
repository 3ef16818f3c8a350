"""The value rules of SPEC §6 for one registry record: a Campaign, or every problem.

Each column is checked even when an earlier one failed, so one run of ``campaigns load``
shows everything to fix; a check that needs another column's value (an amount needs its
currency, a target needs its metric) runs once that value is valid. The decisions where
the SPEC is silent are listed in :mod:`schemas.campaigns`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Final

from schemas.campaign_types import (
    ATTRIBUTION_MODELS,
    DEFAULT_GOAL_MODEL,
    GOAL_METRICS,
    KINDS,
    NO_CAMPAIGN,
    REACH_METRICS,
    Campaign,
    CampaignKind,
    GoalMetric,
)
from schemas.money import INT64_MAX, ISO4217_CODES, MINOR_UNIT_EXPONENTS, to_minor_units
from schemas.registry_files import Nested, RawRecord, RegistryProblem

MAX_ID_LENGTH: Final = 256
#: The days an event can fall on (schemas.validation's storable range, whole days).
FIRST_DAY: Final = date(1970, 1, 1)
LAST_DAY: Final = date(2105, 12, 31)
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNT_RE: Final = re.compile(r"[0-9]+")
_INT64_DIGITS: Final = len(str(INT64_MAX))
_SHOWN_CHARS: Final = 40
_ALL_METRICS: Final = (*REACH_METRICS, "revenue")


class _Row:
    """One record under check: reads its cells and collects its problems."""

    __slots__ = ("absent", "file", "problems", "record")

    def __init__(self, file: str, record: RawRecord, absent: frozenset[str]) -> None:
        self.file = file
        self.record = record
        self.absent = absent
        self.problems: list[RegistryProblem] = []

    def fail(self, column: str, reason: str) -> None:
        """Record a problem at the cell's line (the record's line if it has no cell)."""
        cell = self.record.cells.get(column)
        line = cell.line if cell is not None else self.record.line
        self.problems.append(RegistryProblem(self.file, line, column, reason))

    def text(self, column: str) -> str | None:
        """The value's text, ``""`` if not given; None if it is not a single value."""
        cell = self.record.cells.get(column)
        if cell is None:
            return ""
        if isinstance(cell.value, Nested):
            self.fail(column, f"must be a single value, not {cell.value.what}")
            return None
        return cell.text

    def required(self, column: str) -> str | None:
        """The value's text, or None after reporting that it is missing."""
        text = self.text(column)
        if text == "" and column not in self.absent:  # absent columns: reported at the header
            self.fail(column, "required, but missing or empty")
        return text or None

    def given(self, column: str) -> bool:
        """Whether the record has a value (possibly a bad one) in ``column``."""
        cell = self.record.cells.get(column)
        return cell is not None and (bool(cell.text) or isinstance(cell.value, Nested))

    def number(self, column: str) -> object:
        """The value as numeric columns read it: YAML's type, or text (None: not given)."""
        cell = self.record.cells.get(column)
        if cell is None:
            return None
        if isinstance(cell.value, Nested):
            self.fail(column, f"must be a single value, not {cell.value.what}")
            return None
        if not cell.text:
            return None
        return cell.text if isinstance(cell.value, str) else cell.value

    def choice(self, column: str, allowed: Iterable[str], text: str | None) -> str | None:
        """``text`` if it is one of ``allowed``; otherwise report it (None)."""
        options = tuple(allowed)
        if not text or text in options:
            return text
        hint = f" (values are lower case: {text.lower()!r})" if text.lower() in options else ""
        self.fail(column, f"must be one of {', '.join(options)} (got {_shown(text)}){hint}")
        return None

    def day(self, column: str, *, required: bool = False) -> date | None:
        """An ISO ``YYYY-MM-DD`` date in leadclock's range, or None (reported if bad)."""
        text = self.required(column) if required else self.text(column)
        if not text:
            return None
        if not _DATE_RE.fullmatch(text):
            self.fail(column, f"must be an ISO date YYYY-MM-DD (got {_shown(text)})")
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError:
            self.fail(column, f"not a real calendar date (got {_shown(text)})")
            return None
        if not FIRST_DAY <= day <= LAST_DAY:
            self.fail(column, f"{text} is outside the days leadclock can store ({FIRST_DAY} to "
                              f"{LAST_DAY})")
            return None
        return day

    def currency(self, column: str, code: str) -> str | None:
        """``code`` if it is an ISO 4217 currency with a minor unit; else report it."""
        if code in MINOR_UNIT_EXPONENTS:
            return code
        if code in ISO4217_CODES:
            self.fail(column, f"{code!r} has no minor unit in ISO 4217, so it cannot carry an "
                              "amount")
        elif code.upper() in MINOR_UNIT_EXPONENTS:
            self.fail(column, f"unknown ISO 4217 code {_shown(code)} (codes are upper case: "
                              f"{code.upper()!r})")
        else:
            self.fail(column, f"unknown ISO 4217 code {_shown(code)}")
        return None

    def money(self, column: str, value: object, currency: str) -> int | None:
        """Minor units of ``value`` under the event ``amount`` rules; else report it."""
        minor = to_minor_units(value, currency)
        if isinstance(minor, str):
            self.fail(column, minor)
            return None
        return minor


def check_record(
    file: str, record: RawRecord, absent_columns: frozenset[str], today: date
) -> Campaign | list[RegistryProblem]:
    """Check every column of one record; build its Campaign only if all are valid.

    An empty problem list means the record lacks a column whose absence was already
    reported once at the CSV header.
    """
    row = _Row(file, record, absent_columns)
    campaign_id = _campaign_id(row)
    name = row.text("name")
    kind_text = row.choice("kind", KINDS, row.required("kind"))
    kind = next((k for k in KINDS if k == kind_text), None)  # typed as CampaignKind
    channel = row.text("channel")
    starts_on = row.day("starts_on", required=True)
    ends_on = row.day("ends_on", required=True)
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        row.fail("ends_on", f"{ends_on} is before starts_on {starts_on}")
    metric = _goal_metric(row, kind)
    goal_currency = _goal_currency(row, metric)
    goal_target = _goal_target(row, metric, goal_currency)
    goal_model = row.choice("goal_model", ATTRIBUTION_MODELS, row.text("goal_model"))
    spend_minor, spend_currency = _spend(row)
    declared_on = row.day("declared_on") or today
    if (
        row.problems or campaign_id is None or kind is None or starts_on is None
        or ends_on is None or metric is None or goal_target is None or goal_currency is None
        or spend_currency is None
    ):
        return row.problems
    return Campaign(
        campaign_id=campaign_id, name=name or campaign_id, kind=kind, channel=channel or "",
        starts_on=starts_on, ends_on=ends_on, goal_metric=metric, goal_target=goal_target,
        goal_currency=goal_currency, goal_model=goal_model or DEFAULT_GOAL_MODEL,
        spend_minor=spend_minor, spend_currency=spend_currency, declared_on=declared_on,
    )


def _campaign_id(row: _Row) -> str | None:
    """1-256 characters, as in events, and not the reserved ``(none)``."""
    campaign_id = row.required("campaign_id")
    if campaign_id is None:
        return None
    if len(campaign_id) > MAX_ID_LENGTH:
        row.fail("campaign_id", f"must be 1-{MAX_ID_LENGTH} characters (got {len(campaign_id)})")
        return None
    if campaign_id == NO_CAMPAIGN:
        row.fail("campaign_id", f"{NO_CAMPAIGN} is reserved for revenue with no touch in its "
                                "lookback; it is not a campaign")
        return None
    return campaign_id


def _goal_metric(row: _Row, kind: CampaignKind | None) -> GoalMetric | None:
    """A known metric (None if not); its pairing with ``kind`` is checked too."""
    text = row.required("goal_metric")
    if text is None:
        return None
    metric = next((m for m in _ALL_METRICS if m == text), None)
    if metric is None:
        row.fail("goal_metric", "must be one of leads_reached, leads_warmed, leads_hot "
                                f"(marketing) or revenue (sales) (got {_shown(text)})")
        return None
    if kind == "marketing" and metric not in GOAL_METRICS[kind]:
        row.fail("goal_metric", "revenue is a sales goal; a marketing campaign is judged by "
                                "reach: leads_reached, leads_warmed or leads_hot")
    elif kind == "sales" and metric not in GOAL_METRICS[kind]:
        row.fail("goal_metric", f"{metric} is a marketing goal; a sales campaign is judged by "
                                "revenue (goal_metric: revenue)")
    return metric


def _goal_currency(row: _Row, metric: GoalMetric | None) -> str | None:
    """Required ISO 4217 code for revenue goals, none for counts (``""``)."""
    text = row.text("goal_currency")
    if text is None:
        return None
    if metric == "revenue":
        if not text:
            row.fail("goal_currency", "required for a revenue goal")
            return None
        return row.currency("goal_currency", text)
    if text and metric is not None:
        row.fail("goal_currency", f"only a revenue goal has a currency ({metric} is a count)")
        return None
    if text:  # the metric is unknown: still say whether the code is valid
        row.currency("goal_currency", text)
        return None
    return ""


def _goal_target(row: _Row, metric: GoalMetric | None, currency: str | None) -> int | None:
    """Minor units of a revenue goal, or a count >= 1 for a reach goal."""
    if not row.given("goal_target"):
        row.required("goal_target")
        return None
    value = row.number("goal_target")
    if value is None:
        return None
    if metric == "revenue":
        return row.money("goal_target", value, currency) if currency else None
    if metric is None:
        return None
    count = _count(value)
    if isinstance(count, str):
        row.fail("goal_target", count)
        return None
    return count


def _count(value: object) -> int | str:
    """A whole number from 1 to Int64's maximum, or why not."""
    if isinstance(value, bool):
        return "booleans are not numbers"
    if isinstance(value, str):
        if not _COUNT_RE.fullmatch(value):
            return f"must be a whole number >= 1 (got {_shown(value)})"
        if len(value.lstrip("0")) > _INT64_DIGITS:
            return "too large: must fit a signed 64-bit integer"
        value = int(value)
    if not isinstance(value, int):
        return f"must be a whole number >= 1 (got {value!r})"
    if value < 1:
        return f"must be >= 1 (got {value})"
    if value > INT64_MAX:
        return "too large: must fit a signed 64-bit integer"
    return value


def _spend(row: _Row) -> tuple[int | None, str | None]:
    """Spend in minor units and its currency: both or neither (``(None, "")``)."""
    spend_given = row.given("spend")
    amount = row.number("spend")
    code = row.text("spend_currency")
    if code is None:
        return None, None
    if not spend_given and code:
        row.fail("spend", "required when spend_currency is given (both or neither)")
        return None, None
    if spend_given and not code:
        row.fail("spend_currency", "required when spend is given (both or neither)")
        return None, None
    if not spend_given:
        return None, ""
    if amount is None:
        return None, None
    currency = row.currency("spend_currency", code)
    if currency is None:
        return None, None
    minor = row.money("spend", amount, currency)
    return (minor, currency) if minor is not None else (None, None)


def _shown(text: str) -> str:
    """Quote a value for a reason, cut short so a huge cell cannot flood the output."""
    if len(text) <= _SHOWN_CHARS:
        return repr(text)
    return f"{text[:_SHOWN_CHARS]!r}... ({len(text)} characters)"
