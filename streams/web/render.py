"""Query results as JSON or CSV: one spelling of every ClickHouse value for both.

Dates are ISO days, times ISO 8601 in UTC with ``Z``, money stays integer minor units
(JSON integers; exact in a browser up to 2^53), Decimals and other exact types become
strings, NaN and infinities become null. CSV has a header row and writes null as an
empty field.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from uuid import UUID

import orjson

from streams.web.db import Table

_JSON_INT_RANGE = range(-(2**63), 2**64)


def cell(value: object) -> object:
    """A ClickHouse value as plain JSON data (str, int, float, bool, None, list, dict)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value if value in _JSON_INT_RANGE else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return iso_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID, IPv4Address, IPv6Address)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {str(key): cell(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [cell(item) for item in value]
    return str(value)


def iso_time(value: dt.datetime) -> str:
    """ISO 8601 in UTC with ``Z``; a naive value is read as UTC (leadclock's columns)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return f"{text}Z"


def rows(table: Table) -> list[list[object]]:
    """The table's rows as JSON-ready lists."""
    return [[cell(value) for value in row] for row in table.rows]


def to_json(payload: Mapping[str, object]) -> bytes:
    """Serialize a response body (already made of plain data)."""
    return orjson.dumps(payload)


def to_csv(columns: Sequence[str], data: Sequence[Sequence[object]]) -> bytes:
    """RFC 4180 CSV with a header row; null is an empty field, nested values JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in data:
        writer.writerow([csv_field(value) for value in row])
    return out.getvalue().encode()


def csv_field(value: object) -> object:
    """A :func:`cell` value as a CSV writer field (null empty, booleans and nested as text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return value
