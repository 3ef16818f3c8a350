"""Money as integer minor units, checked against ISO 4217.

Revenue credits must sum exactly to the purchase amount, so an amount becomes an ``int``
of minor units (cents, yen, fils...) the moment it is parsed and is never a float again.
The currency table is built once at import from the ``iso4217`` package (the published
ISO table), not typed by hand, so a currency ISO adds or retires is one dependency bump
away. Codes that ISO lists without a minor unit (``N.A.``: gold ``XAU``, test ``XTS``,
"no currency" ``XXX``...) cannot carry an amount and are reported as such.

Amounts arrive as a JSON integer, a JSON float, or a decimal string ``"129.99"``:

- a value must be exactly expressible in the currency's minor units; trailing zeros
  beyond the exponent are fine (``"12.0"`` JPY is 12 yen, ``"12.50"`` JPY is rejected);
- a JSON float is read as the decimal ``Decimal(repr(value))`` (short plain reprs take a
  string fast path to the same value). ``repr`` is the shortest text that round-trips
  the double, which equals what the producer wrote whenever that had at most 15
  significant digits (every such decimal survives a trip through a double).
  Floats with more significant digits may already have lost the producer's value, so
  they are rejected with advice to send a decimal string;
- booleans are not numbers (Python's ``bool`` is an ``int``, JSON's is not);
- the result must be > 0 and fit a signed 64-bit integer (ClickHouse ``Int64``).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from iso4217 import Currency

INT64_MAX: Final = 2**63 - 1
#: Significant digits a JSON float may carry and still be exactly what was written.
MAX_FLOAT_DIGITS: Final = 15
#: Decimal-string amounts: digits, optionally a point and more digits; nothing else.
DECIMAL_TEXT_RE: Final = re.compile(r"([0-9]+)(?:\.([0-9]+))?")

#: Every alphabetic code of the ISO 4217 table, with or without a minor unit.
ISO4217_CODES: Final = frozenset(currency.code for currency in Currency)
#: Minor-unit exponent of every code that has one (USD 2, JPY 0, KWD 3, CLF 4...).
MINOR_UNIT_EXPONENTS: Final = MappingProxyType(
    {c.code: c.exponent for c in Currency if c.exponent is not None}
)
_INT64_DIGITS: Final = len(str(INT64_MAX))
_SHORT_TEXT_CHARS: Final = 14


def currency_exponent(code: str) -> int | None:
    """Return the minor-unit exponent of ISO 4217 ``code`` (None if unknown or N.A.)."""
    return MINOR_UNIT_EXPONENTS.get(code)


def to_minor_units(amount: object, currency: str) -> int | str:
    """Convert a decoded JSON ``amount`` in ``currency`` to minor units.

    Returns the ``int`` on success or a short problem description (e.g. ``"must be >
    0"``) on failure: bad amounts are ordinary data on the hot path, not exceptions.
    ``currency`` should already be validated; an unusable one is reported as a problem.
    """
    exponent = MINOR_UNIT_EXPONENTS.get(currency)
    if exponent is None:
        return f"currency {currency!r} has no ISO 4217 minor unit"
    if isinstance(amount, bool):  # before int: bool is an int subclass in Python
        return "booleans are not numbers"
    if isinstance(amount, str):
        minor = _short_text_minor(amount, exponent)
        return minor if minor else _from_text(amount, currency, exponent)
    if isinstance(amount, int):
        return _checked_minor(amount * 10**exponent) if amount > 0 else "must be > 0"
    if isinstance(amount, float):
        return _from_float(amount, currency, exponent)
    return "must be a JSON number or a decimal string"


def _short_text_minor(text: str, exponent: int) -> int:
    """Fast path for the usual ``"129.99"``: minor units, or 0 to take the full path.

    No regex and one ``int()``: this runs for most purchases. At most 14 characters
    means under 10**14 major units, so even exponent 4 cannot overflow Int64. Anything
    unusual (zero, other decimal counts, bad syntax) returns 0 for :func:`_from_text`.
    """
    if len(text) > _SHORT_TEXT_CHARS:
        return 0
    whole, dot, fraction = text.partition(".")
    if dot:
        if not whole or len(fraction) != exponent or not fraction:
            return 0
        digits, scale = whole + fraction, 1
    else:
        digits, scale = whole, 10**exponent
    # isascii() first: str.isdigit() alone would accept digits of other scripts.
    if not digits or not digits.isascii() or not digits.isdigit():
        return 0
    return int(digits) * scale


def _from_text(text: str, currency: str, exponent: int) -> int | str:
    """Convert a decimal string; exact by construction, no float ever involved."""
    match = DECIMAL_TEXT_RE.fullmatch(text)
    if match is None:
        if text[:1] == "-" and DECIMAL_TEXT_RE.fullmatch(text[1:]) is not None:
            return "must be > 0"
        return 'not a decimal string (digits with an optional fraction, like "12.50")'
    whole, fraction = match.groups()
    fraction = fraction.rstrip("0") if fraction is not None else ""
    if len(fraction) > exponent:
        return _too_many_decimals(len(fraction), currency, exponent)
    whole = whole.lstrip("0")
    if len(whole) + exponent > _INT64_DIGITS:
        # Checked before int() so a megabyte of digits cannot cost quadratic time.
        return _too_large()
    minor = int(whole or "0") * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    return _checked_minor(minor) if minor > 0 else "must be > 0"


def _from_float(value: float, currency: str, exponent: int) -> int | str:
    """Convert a JSON float through its shortest repr, refusing ambiguous ones."""
    if not math.isfinite(value):
        return "must be finite"
    if value <= 0:
        return "must be > 0"
    text = repr(value)
    minor = _short_text_minor(text, exponent)
    if minor:
        return minor
    if len(text) <= _SHORT_TEXT_CHARS + 2 and DECIMAL_TEXT_RE.fullmatch(text) is not None:
        # Plain notation, at most 15 digits: exactly the decimal the producer wrote.
        return _from_text(text, currency, exponent)
    _sign, digits, power = Decimal(text).as_tuple()
    if not isinstance(power, int):  # only NaN/Infinity have a str exponent
        return "must be finite"
    coefficient = int("".join(map(str, digits)))
    while coefficient % 10 == 0:
        coefficient //= 10
        power += 1
    if len(str(coefficient)) > MAX_FLOAT_DIGITS:
        return "too many digits for a JSON number; send a decimal string"
    if -power > exponent:
        return _too_many_decimals(-power, currency, exponent)
    if power + exponent > _INT64_DIGITS:
        return _too_large()
    return _checked_minor(coefficient * 10 ** (power + exponent))


def _checked_minor(minor: int) -> int | str:
    """Return ``minor`` if it fits ClickHouse's Int64, else the problem."""
    return minor if minor <= INT64_MAX else _too_large()


def _too_many_decimals(decimals: int, currency: str, exponent: int) -> str:
    """Describe an amount finer than the currency's minor unit."""
    noun = "decimal" if decimals == 1 else "decimals"
    return f"has {decimals} {noun} but {currency} allows {exponent}"


def _too_large() -> str:
    """Describe an amount whose minor units overflow a signed 64-bit integer."""
    return "too large: its minor units do not fit a signed 64-bit integer"


def format_minor(amount_minor: int, currency: str) -> str:
    """Format minor units for display, e.g. ``format_minor(12950, "USD") == "129.50 USD"``.

    Raises ValueError for a currency without a minor unit: that is a caller's bug, not
    bad input, since parsed amounts only ever carry validated currencies.
    """
    exponent = MINOR_UNIT_EXPONENTS.get(currency)
    if exponent is None:
        message = f"{currency!r} is not an ISO 4217 currency with a minor unit"
        raise ValueError(message)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    if exponent == 0:
        return f"{sign}{whole} {currency}"
    return f"{sign}{whole}.{fraction:0{exponent}d} {currency}"
