"""The test expander of Grafana ClickHouse queries (tests/grafana_macros.py).

Expected texts are the plugin's documented outputs (grafana-clickhouse-datasource 4.20,
pkg/macros) for the time range 2014-11-12T11:45:26Z .. 2015-11-12T11:45:26Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.grafana_macros import ALL, ExpansionError, QueryContext, expand

FROM = datetime(2014, 11, 12, 11, 45, 26, 371000, tzinfo=UTC)  # 1415792726.371
TO = datetime(2015, 11, 12, 11, 45, 26, 371000, tzinfo=UTC)  # 1447328726.371


def ctx(**variables: str | list[str]) -> QueryContext:
    return QueryContext(FROM, TO, variables, interval=timedelta(seconds=20))


@pytest.mark.parametrize(("sql", "expected"), [
    ("$__fromTime", "toDateTime(1415792726)"),
    ("$__toTime", "toDateTime(1447328726)"),
    ("$__fromTime_ms", "fromUnixTimestamp64Milli(1415792726371)"),
    ("$__toTime_ms", "fromUnixTimestamp64Milli(1447328726371)"),
    ("$__timeFilter(ts)", "ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726)"),
    ("$__timeFilter_ms(ts)", "ts >= fromUnixTimestamp64Milli(1415792726371) AND "
                             "ts <= fromUnixTimestamp64Milli(1447328726371)"),
    ("$__dateFilter(d)", "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')"),
    ("$__timeFrom(ts)", "ts >= toDateTime(1415792726)"),
    ("$__timeTo(ts)", "ts <= toDateTime(1447328726)"),
    ("$__timeInterval(col)", "toStartOfInterval(toDateTime(col), INTERVAL 20 second)"),
    ("$__interval_s", "20"),
    ("$__timeInterval(toDate(x, 'UTC'))",
     "toStartOfInterval(toDateTime(toDate(x, 'UTC')), INTERVAL 20 second)"),
])
def test_time_macros_match_the_plugin(sql: str, expected: str) -> None:
    assert expand(sql, ctx()) == expected


def test_variables_are_interpolated_like_grafana() -> None:
    values = ctx(model="linear", campaign=["a", "o'b"], currency="USD")
    assert expand("m = '$model' AND c = '${currency}'", values) == "m = 'linear' AND c = 'USD'"
    assert expand("m = ${model:sqlstring}", values) == "m = 'linear'"
    assert expand("c IN (${campaign:sqlstring})", values) == "c IN ('a','o''b')"
    assert expand("c IN (${campaign})", values) == "c IN ('a','o'b')"  # the plugin's own format
    assert values.used == {"model", "currency", "campaign"}


def test_conditional_all() -> None:
    sql = "WHERE $__conditionalAll(c IN (${campaign:sqlstring}), $campaign) AND x"
    assert expand(sql, ctx(campaign=[ALL])) == "WHERE 1=1 AND x"
    assert expand(sql, ctx(campaign=["a"])) == "WHERE c IN ('a') AND x"


@pytest.mark.parametrize(("sql", "variables", "message"), [
    ("${nope}", {}, "unknown dashboard variable"),
    ("$__nope", {}, "unknown macro"),
    ("$__timeFilter(a, b)", {}, "takes 1 argument"),
    ("$__timeFilter", {}, "needs an argument"),
    ("c IN (${campaign:sqlstring})", {"campaign": [ALL]}, "is All here"),
    ("${model:csv}", {"model": "linear"}, "only the :sqlstring format"),
    ("$__timeFilter(ts", {}, "unbalanced"),
])
def test_what_cannot_be_expanded_is_an_error(
        sql: str, variables: dict[str, str | list[str]], message: str) -> None:
    with pytest.raises(ExpansionError, match=message):
        expand(sql, ctx(**variables))
