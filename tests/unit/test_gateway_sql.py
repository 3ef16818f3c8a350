"""The gateway's reading of ClickHouse HTTP requests (pure rules, no engine)."""

from __future__ import annotations

import pytest

from sinks.gateway.exceptions import GatewayError
from sinks.gateway.sql import (
    Kind,
    check_read_only,
    kind_of,
    options,
    parse_insert,
    result_format,
    with_settings_clause,
)


@pytest.mark.parametrize(("sql", "kind"), [
    ("SELECT 1", Kind.SELECT),
    ("  -- why\n/* note */ (SELECT 1) UNION ALL (SELECT 2)", Kind.SELECT),
    ("with x as (select 1) select * from x", Kind.SELECT),
    ("SHOW TABLES", Kind.READ),
    ("DESCRIBE TABLE t", Kind.READ),
    ("EXISTS TABLE t", Kind.READ),
    ("SET max_threads = 1", Kind.SESSION),
    ("USE other", Kind.SESSION),
    ("CREATE TABLE t (a UInt8) ENGINE = Memory", Kind.WRITE),
    ("INSERT INTO t VALUES (1)", Kind.WRITE),
    ("OPTIMIZE TABLE t FINAL", Kind.WRITE),
    ("", Kind.WRITE),
])
def test_statements_are_classified_by_their_first_keyword(sql: str, kind: Kind) -> None:
    assert kind_of(sql) is kind


def test_the_statement_format_wins_over_the_default() -> None:
    assert result_format("SELECT 1", "Native") == "Native"
    assert result_format("SELECT 1 FORMAT JSONEachRow;", "Native") == "JSONEachRow"
    assert result_format("SELECT 1\n FORMAT JSON SETTINGS max_threads = 1", "TSV") == "JSON"


def test_settings_ride_after_the_statement() -> None:
    assert with_settings_clause("SELECT 1;", {}) == "SELECT 1;"
    assert with_settings_clause("SELECT 1 -- note\n;", {"max_threads": "2"}) == (
        "SELECT 1 -- note\nSETTINGS max_threads = '2'")


def test_parameters_split_into_database_bindings_and_settings() -> None:
    opts = options({"query": "SELECT 1", "database": "d", "param_x": "1", "max_threads": "2",
                    "wait_end_of_query": "1", "http_headers_progress_interval_ms": "100",
                    "cancel_http_readonly_queries_on_client_close": "1",
                    "default_format": "Native", "query_id": "q1"}, {}, "generated")
    assert (opts.database, opts.default_format, opts.query_id) == ("d", "Native", "q1")
    assert opts.params == {"x": "1"}
    assert opts.settings == {"max_threads": "2"}
    defaults = options({}, {"X-ClickHouse-Database": "h"}, "generated")
    assert (defaults.database, defaults.default_format, defaults.query_id) == (
        "h", "TabSeparated", "generated")


@pytest.mark.parametrize("params", [{"compress": "1"}, {"decompress": "1"},
                                    {"bad name": "1"}])
def test_what_the_gateway_cannot_honour_is_refused(params: dict[str, str]) -> None:
    with pytest.raises(GatewayError) as raised:
        options(params, {}, "q")
    assert raised.value.code in (48, 115)
    assert raised.value.body().startswith(f"Code: {raised.value.code}. DB::Exception: ".encode())


def test_an_insert_header_says_where_its_data_starts() -> None:
    body = b"INSERT INTO db.`t` (`a`, `b`) SETTINGS async_insert = 0 FORMAT Native\n\n\x00"
    head = parse_insert(body, complete=False)
    assert head is not None
    assert (head.target, head.columns, head.settings, head.format) == (
        "db.`t`", "(`a`, `b`)", "async_insert = 0", "Native")
    assert body[head.data_offset:] == b"\n\x00"  # binary data may start with a newline
    assert head.from_file("/tmp/it's", {"max_threads": "1"}) == (
        "INSERT INTO db.`t` (`a`, `b`) FROM INFILE '/tmp/it\\'s' "
        "SETTINGS async_insert = 0, max_threads = '1' FORMAT Native")


def test_inserts_that_are_not_followed_by_data_are_statements() -> None:
    assert parse_insert(b"INSERT INTO t VALUES (1)", complete=True) is None
    assert parse_insert(b"INSERT INTO t SELECT 1", complete=True) is None
    assert parse_insert(b"INSERT INTO t FORMAT CSV 1,2", complete=True) is None
    assert parse_insert(b"SELECT 1", complete=True) is None


def test_a_header_cut_short_is_not_trusted() -> None:
    assert parse_insert(b"INSERT INTO t FORMAT Nat", complete=False) is None
    head = parse_insert(b"INSERT INTO t FORMAT CSV", complete=True)
    assert head is not None
    assert head.format == "CSV"


def test_read_only_requests_may_only_read() -> None:
    check_read_only("SELECT 1", Kind.SELECT)
    check_read_only("SET max_threads = 1", Kind.SESSION)
    for sql, kind in (("DROP TABLE t", Kind.WRITE),
                      ("SELECT 1 INTO OUTFILE '/tmp/x'", Kind.SELECT)):
        with pytest.raises(GatewayError) as raised:
            check_read_only(sql, kind)
        assert raised.value.code == 164
