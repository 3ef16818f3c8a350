"""JSON/CSV spelling of ClickHouse values, and ClickHouse errors as one clean line (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from streams.web.db import failure
from streams.web.render import cell, to_csv


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("x", "x"), (True, True), (12, 12), (2**64 - 1, 2**64 - 1),
    (2**70, str(2**70)), (1.5, 1.5), (float("nan"), None), (float("inf"), None),
    (dt.date(2026, 3, 1), "2026-03-01"),
    # naive values (chdb drops the zone of DateTime('UTC') columns) are read as UTC
    (dt.datetime.fromisoformat("2026-03-01T12:00:00"), "2026-03-01T12:00:00Z"),
    (dt.datetime.fromisoformat("2026-03-01T12:00:00.000005"), "2026-03-01T12:00:00.000005Z"),
    (dt.datetime(2026, 3, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "2026-03-01T12:00:00Z"),
    (Decimal("1.50"), "1.50"), (UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    (b"\xffab", "\ufffdab"), ((1, dt.date(2026, 1, 1)), [1, "2026-01-01"]),
    ({"k": Decimal(2)}, {"k": "2"}),
])
def test_cells(value: object, expected: object) -> None:
    assert cell(value) == expected


def test_csv_has_a_header_and_empty_nulls() -> None:
    text = to_csv(["a", "b", "c"], [[None, True, 'say "hi", twice'], [1, [1, 2], ""]])
    assert text.decode() == 'a,b,c\r\n,true,"say ""hi"", twice"\r\n1,"[1,2]",\r\n'


@pytest.mark.parametrize(("raw", "code", "line"), [
    ("Code: 60. DB::Exception: Unknown table expression identifier 'v_lead_clock' in scope "
     "SELECT window_start FROM v_lead_clock ORDER BY x ASC. (UNKNOWN_TABLE)", 60,
     "Code: 60. DB::Exception: Unknown table expression identifier 'v_lead_clock'. "
     "(UNKNOWN_TABLE)"),
    ("Code: 47. DB::Exception: Unknown expression identifier `nope`. In scope SELECT nope "
     "SETTINGS readonly = '1'. (UNKNOWN_IDENTIFIER)\nmore", 47,
     "Code: 47. DB::Exception: Unknown expression identifier `nope`. (UNKNOWN_IDENTIFIER)"),
    ("Code: 164. DB::Exception: Code: 164. DB::Exception: Cannot modify 'readonly' setting "
     "in readonly mode. (READONLY) (version 26.9.2.1). (READONLY)", 164,
     "Code: 164. DB::Exception: Cannot modify 'readonly' setting in readonly mode. (READONLY)"),
    ("connection refused", None, "connection refused"),
])
def test_clickhouse_errors_become_one_clean_line(raw: str, code: int | None, line: str) -> None:
    error = failure(DatabaseError(raw))
    assert (error.code, str(error)) == (code, line)
