"""Strict RFC 3339 timestamps as integer microseconds since the Unix epoch (UTC).

Event time drives every window, so ``occurred_at`` is parsed once, strictly, into an
``int`` and never touched by timezone or float maths again. The accepted form is

    YYYY-MM-DDTHH:MM:SS(.fraction)?(Z|+HH:MM|-HH:MM)

with an upper-case ``T`` and ``Z`` only (RFC 3339 allows lower case and a space; we do
not, so that every producer writes one spelling), a real calendar date (leap years
included), year 0001-9999, hour <= 23, minute <= 59, second <= 59 (the leap second 60 is
rejected: POSIX time has no slot for it and ``datetime`` cannot hold it), and an offset
of at most 23:59. ``-00:00`` is accepted and means UTC. Fraction digits beyond the sixth
are truncated (not rounded): rounding could carry into the next second, minute or day,
which would move an event across a window boundary its producer never crossed.

The parser is a compiled regex plus integer arithmetic (Howard Hinnant's
``days_from_civil``) rather than :mod:`datetime`, because it runs once per event on the
hot path and the arithmetic is both faster and free of any local-time dependency.
"""

from __future__ import annotations

import re
from typing import Final

US_PER_SECOND: Final = 1_000_000
US_PER_MINUTE: Final = 60 * US_PER_SECOND
US_PER_DAY: Final = 86_400 * US_PER_SECOND

#: The strict form: ranges of month, day, hour, minute, second and offset are checked here,
#: so code is left with only the calendar (day of month, leap years, year 0000).
RFC3339_RE: Final = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.([0-9]+))?(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
#: The loose shape, used only to explain a rejection field by field.
_SHAPE_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]+)?(?:Z|[+-]([0-9]{2}):([0-9]{2}))"
)

# Lookup tables instead of int() on slices: int() of a short str costs ~4x a dict hit,
# and these few thousand entries cover every value the strict regex lets through.
_OFFSET_US: Final = {"Z": 0} | {
    f"{sign}{h:02d}:{m:02d}": (1 if sign == "+" else -1) * (h * 60 + m) * US_PER_MINUTE
    for sign in "+-"
    for h in range(24)
    for m in range(60)
}
_FRACTION_SCALE: Final = (0, 100_000, 10_000, 1_000, 100, 10, 1)
#: Fractions of up to three digits (JavaScript's toISOString writes milliseconds).
_SHORT_FRACTION_US: Final = {
    f"{value:0{width}d}": value * _FRACTION_SCALE[width]
    for width in (1, 2, 3)
    for value in range(10**width)
}
#: Start of each date seen so far (UTC midnight, us). Events cluster in time, so this
#: is nearly always a hit; it is emptied when full to bound memory on long replays.
_DAY_START_US: dict[str, int] = {}
_DAY_CACHE_SIZE: Final = 16_384
#: Start of each ``YYYY-MM-DDTHH`` seen so far (local hour, us), built on the day cache:
#: one lookup then covers date and hour, and ``MM:SS`` is one more (3,600 entries).
_HOUR_START_US: dict[str, int] = {}
_HOUR_CACHE_SIZE: Final = 16_384
_HOUR_US: Final = {f"{h:02d}": h * 60 * US_PER_MINUTE for h in range(24)}
# Lookup tables instead of int() on slices: int() of a short str costs ~4x a dict hit,
# and these few thousand entries cover every value the strict regex lets through.
_MINUTE_SECOND_US: Final = {
    f"{m:02d}:{s:02d}": m * US_PER_MINUTE + s * US_PER_SECOND for m in range(60) for s in range(60)
}

_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap_year(year: int) -> bool:
    """Return whether ``year`` has a 29 February in the proleptic Gregorian calendar."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """Return the number of days of ``month`` (1-12) in ``year``."""
    if month == 2 and is_leap_year(year):
        return 29
    return _DAYS_IN_MONTH[month]


def days_from_civil(year: int, month: int, day: int) -> int:
    """Return days since 1970-01-01 for a proleptic Gregorian date (Hinnant's algorithm).

    Pure integer arithmetic: no tables, no ``datetime``, valid for any year.
    """
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """Return ``(year, month, day)`` for days since 1970-01-01; inverse of days_from_civil."""
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def parse_rfc3339_us(text: str) -> int | None:
    """Return ``text`` as microseconds since the epoch (UTC), or None if it is invalid.

    None rather than an exception because invalid input is an ordinary outcome on the
    hot path; :func:`describe_rfc3339_problem` explains a None when one is needed.
    """
    match = RFC3339_RE.fullmatch(text)
    if match is None:
        return None
    hour_start_us = _HOUR_START_US.get(text[:13])
    if hour_start_us is None:
        hour_start_us = _hour_start_us(text[:13])
        if hour_start_us is None:
            return None
    micros = hour_start_us + _MINUTE_SECOND_US[text[14:19]]
    fraction, offset = match.groups()
    if fraction is not None:
        if len(fraction) == 6:  # the usual microseconds: one int() (digits are ASCII)
            micros += int(fraction)
        else:
            fraction_us = _SHORT_FRACTION_US.get(fraction)
            if fraction_us is None:
                digits = fraction[:6]  # truncate, never round: see the module docstring
                fraction_us = int(digits) * _FRACTION_SCALE[len(digits)]
            micros += fraction_us
    return micros - _OFFSET_US[offset]


def _hour_start_us(date_hour: str) -> int | None:
    """Start of a ``YYYY-MM-DDTHH`` whose fields are in range (None if no such date)."""
    day_start_us = _DAY_START_US.get(date_hour[:10])
    if day_start_us is None:
        day_start_us = _day_start_us(date_hour[:10])
        if day_start_us is None:
            return None
    if len(_HOUR_START_US) >= _HOUR_CACHE_SIZE:
        _HOUR_START_US.clear()
    start_us = day_start_us + _HOUR_US[date_hour[11:13]]
    _HOUR_START_US[date_hour] = start_us
    return start_us


def _day_start_us(date: str) -> int | None:
    """Validate a ``YYYY-MM-DD`` whose fields are in range; cache and return its start."""
    year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
    if year == 0 or day > days_in_month(year, month):
        return None
    if len(_DAY_START_US) >= _DAY_CACHE_SIZE:
        _DAY_START_US.clear()
    start_us = days_from_civil(year, month, day) * US_PER_DAY
    _DAY_START_US[date] = start_us
    return start_us


def describe_rfc3339_problem(text: str) -> str:
    """Say why :func:`parse_rfc3339_us` rejects ``text`` (empty string if it does not).

    Kept off the hot path: it re-parses only strings already known to be bad, so that a
    dead-lettered event tells its producer exactly which part to fix.
    """
    match = _SHAPE_RE.fullmatch(text)
    if match is None:
        return "not an RFC 3339 date-time with T and an explicit offset"
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    if year == 0:
        return "year 0000 does not exist; the earliest year is 0001"
    if not 1 <= month <= 12 or not 1 <= day <= days_in_month(year, month):
        return f"{text[:10]} is not a calendar date"
    if second == 60:
        return "leap second :60 is not accepted; use :59"
    if hour > 23 or minute > 59 or second > 59:
        return f"time {text[11:19]} is out of range"
    if parse_rfc3339_us(text) is None:
        return f"offset {text[-6:]} is out of range"
    return ""


def format_us(us: int) -> str:
    """Format microseconds since the epoch as RFC 3339 UTC (``Z``), for tests and tools.

    Microseconds are written (always six digits) only when non-zero, so whole-second
    times read naturally. The output parses back to ``us`` with :func:`parse_rfc3339_us`.
    """
    days, micros_of_day = divmod(us, US_PER_DAY)
    year, month, day = civil_from_days(days)
    if not 1 <= year <= 9999:
        message = f"{us} us is outside the years 0001-9999 that RFC 3339 can write"
        raise ValueError(message)
    seconds_of_day, micros = divmod(micros_of_day, US_PER_SECOND)
    minutes_of_day, second = divmod(seconds_of_day, 60)
    hour, minute = divmod(minutes_of_day, 60)
    fraction = f".{micros:06d}" if micros else ""
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}Z"
