"""The read-only SQL endpoint's statement gate (pure)."""

from __future__ import annotations

import pytest

from streams.web.exceptions import BadRequest
from streams.web.sql_guard import single_select


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 1", "SELECT 1"),
    ("  select 1 ;  ", "select 1"),
    ("SELECT 1; -- a trailing comment", "SELECT 1"),
    ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x"),
    ("(SELECT 1)", "(SELECT 1)"),
    ("-- why\nSELECT ';' AS semicolon", "-- why\nSELECT ';' AS semicolon"),
    ("SELECT 'it''s; fine', \"a;b\", `c;d` /* ; */",
     "SELECT 'it''s; fine', \"a;b\", `c;d` /* ; */"),
    ("SELECT 'a\\'; DROP TABLE t; --'", "SELECT 'a\\'; DROP TABLE t; --'"),
    ("SELECT format('{} into outfile', 1)", "SELECT format('{} into outfile', 1)"),
    ("SELECT formatDateTime(now(), '%F')", "SELECT formatDateTime(now(), '%F')"),
])
def test_one_select_is_accepted(sql: str, expected: str) -> None:
    assert single_select(sql) == expected


@pytest.mark.parametrize(("sql", "message"), [
    ("", "the query is empty"),
    ("-- only a comment", "the query is empty"),
    ("DROP TABLE lead_credits", "only SELECT (or WITH ... SELECT) is allowed here, not DROP"),
    ("INSERT INTO t SELECT 1", "not INSERT"),
    ("/* SELECT */ ALTER TABLE t DELETE WHERE 1", "not ALTER"),
    ("SET readonly = 0", "not SET"),
    ("SELECT 1; SELECT 2", "only one statement is allowed"),
    ("SELECT 1; DROP TABLE t", "only one statement is allowed"),
    ("SELECT 1;;", "only one statement is allowed"),
    ("SELECT 'x\\'; DROP TABLE t", "string literal is not closed"),
    ("SELECT 1 /* open", "comment is not closed"),
    ("SELECT 1 INTO OUTFILE '/tmp/x'", "INTO OUTFILE is not allowed"),
    ("SELECT 1 FORMAT JSON", "a FORMAT clause is not allowed"),
    ("SELECT 1 " + " " * 20_000, "longer than 20,000 characters"),
])
def test_anything_else_is_refused(sql: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        single_select(sql)
    assert message in str(caught.value)
