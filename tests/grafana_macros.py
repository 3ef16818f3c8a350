"""Expand a Grafana ClickHouse panel query the way Grafana and its plugin would, for tests.

The dashboards in ``deploy/grafana/dashboards/`` hold SQL written for the official
ClickHouse data source (``grafana-clickhouse-datasource`` 4.x). Before ClickHouse sees
such a query, two things rewrite it:

1. **Grafana's browser side** (the plugin's ``applyTemplateVariables``):
   ``$__conditionalAll(condition, $var)`` becomes ``1=1`` when ``$var`` is *All* (or
   empty) and ``condition`` otherwise; then the dashboard variables are interpolated:
   ``$var``, ``${var}`` and ``${var:sqlstring}``. Without a format a single value is
   inserted as it is and a multi-value as ``'a','b'`` (the plugin's own formatter);
   ``:sqlstring`` quotes each value as a SQL string (``'`` doubled) and joins them
   with commas.
2. **The plugin's backend** (``pkg/macros/macros.go``): the time macros, from the
   dashboard's time range and the panel's interval:

   ============================  ====================================================
   ``$__timeFilter(col)``        ``col >= toDateTime(FROM) AND col <= toDateTime(TO)``
   ``$__timeFilter_ms(col)``     same with ``fromUnixTimestamp64Milli(FROM_MS)``
   ``$__dateFilter(col)``        ``col >= toDate('YYYY-MM-DD') AND col <= toDate(...)``
   ``$__timeFrom(col)``          ``col >= toDateTime(FROM)``
   ``$__timeTo(col)``            ``col <= toDateTime(TO)``
   ``$__fromTime``               ``toDateTime(FROM)`` (``$__toTime``: ``TO``)
   ``$__fromTime_ms``            ``fromUnixTimestamp64Milli(FROM_MS)`` (and ``_toTime_ms``)
   ``$__timeInterval(col)``      ``toStartOfInterval(toDateTime(col), INTERVAL N second)``
   ``$__interval_s``             ``N``
   ============================  ====================================================

   ``FROM``/``TO`` are Unix seconds, ``N`` the panel interval in whole seconds (at
   least 1).

This module does the same with test values so every dashboard query can run against
embedded ClickHouse. It is strict where Grafana is lenient: an unknown variable or
macro, a wrong argument count, or an *All* value outside ``$__conditionalAll`` raises
:class:`ExpansionError` instead of leaving text for ClickHouse to choke on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: The value Grafana gives a multi-value variable whose *All* option is selected.
ALL = "$__all"

VariableValue = str | Sequence[str]

_VARIABLE = re.compile(
    r"\$\{(?P<braced>\w+)(?::(?P<format>\w+))?\}|\$(?P<plain>(?!__)\w+)"
)
_MACRO = re.compile(r"\$__(?P<name>\w+)")
_CONDITIONAL_ALL = "$__conditionalAll("


class ExpansionError(ValueError):
    """A query uses something this expander (and so the test) cannot stand behind."""


@dataclass(frozen=True)
class QueryContext:
    """What Grafana knows when it runs one panel query."""

    time_from: datetime
    time_to: datetime
    variables: Mapping[str, VariableValue]
    interval: timedelta = timedelta(days=1)
    used: set[str] = field(default_factory=set, compare=False)
    """Names of the variables the last expansions referred to (filled in as they run)."""


def expand(sql: str, ctx: QueryContext) -> str:
    """The SQL ClickHouse would receive for ``sql`` in ``ctx``."""
    text = _conditional_alls(sql, ctx)
    text = _variables(text, ctx)
    return _macros(text, ctx)


def _split_args(text: str, open_paren: int) -> tuple[list[str], int]:
    """Arguments of the call whose ``(`` is at ``open_paren``, and the index after ``)``.

    Commas split arguments only at the call's own depth (the plugin does the same), so
    ``f(a, g(b, c))`` has two arguments.
    """
    depth, start, args = 0, open_paren + 1, []
    for i in range(open_paren, len(text)):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(text[start:i])
                return args, i + 1
        elif char == "," and depth == 1:
            args.append(text[start:i])
            start = i + 1
    msg = f"unbalanced parentheses after {text[max(0, open_paren - 20):open_paren + 1]!r}"
    raise ExpansionError(msg)


def _is_all(value: VariableValue) -> bool:
    if isinstance(value, str):
        return value in (ALL, "")
    return list(value) in ([ALL], [])


def _conditional_alls(sql: str, ctx: QueryContext) -> str:
    """``$__conditionalAll(condition, $var)``: ``1=1`` for *All*, else ``condition``."""
    while (at := sql.rfind(_CONDITIONAL_ALL)) != -1:
        args, end = _split_args(sql, at + len(_CONDITIONAL_ALL) - 1)
        if len(args) != 2:
            msg = f"$__conditionalAll takes 2 arguments, got {len(args)}: {args}"
            raise ExpansionError(msg)
        match = re.fullmatch(r"\s*\$\{?(\w+)\}?\s*", args[1])
        if match is None:
            msg = f"$__conditionalAll's second argument must be a variable, got {args[1]!r}"
            raise ExpansionError(msg)
        value = _lookup(match.group(1), ctx)
        sql = sql[:at] + ("1=1" if _is_all(value) else args[0]) + sql[end:]
    return sql


def _lookup(name: str, ctx: QueryContext) -> VariableValue:
    if name not in ctx.variables:
        msg = f"unknown dashboard variable ${name}"
        raise ExpansionError(msg)
    ctx.used.add(name)
    return ctx.variables[name]


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(name: str, value: VariableValue, fmt: str | None) -> str:
    if _is_all(value):
        msg = f"${name} is All here: wrap its condition in $__conditionalAll(..., ${name})"
        raise ExpansionError(msg)
    values = [value] if isinstance(value, str) else list(value)
    if fmt == "sqlstring":
        return ",".join(_sql_string(v) for v in values)
    if fmt is not None:
        msg = f"${{{name}:{fmt}}}: only the :sqlstring format is supported"
        raise ExpansionError(msg)
    if isinstance(value, str):
        return value
    return "'" + "','".join(values) + "'"


def _variables(sql: str, ctx: QueryContext) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        return _format(name, _lookup(name, ctx), match.group("format"))

    return _VARIABLE.sub(replace, sql)


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def _millis(moment: datetime) -> int:
    return _seconds(moment) * 1000 + moment.microsecond // 1000


def _date(moment: datetime) -> str:
    return f"toDate('{moment.strftime('%Y-%m-%d')}')"


def _interval_seconds(ctx: QueryContext) -> int:
    return max(int(ctx.interval.total_seconds()), 1)


def _between(col: str, low: str, high: str) -> str:
    return f"{col} >= {low} AND {col} <= {high}"


_ONE_ARG: dict[str, Callable[[str, QueryContext], str]] = {
    "timeFilter": lambda c, x: _between(c, f"toDateTime({_seconds(x.time_from)})",
                                        f"toDateTime({_seconds(x.time_to)})"),
    "timeFilter_ms": lambda c, x: _between(
        c, f"fromUnixTimestamp64Milli({_millis(x.time_from)})",
        f"fromUnixTimestamp64Milli({_millis(x.time_to)})"),
    "dateFilter": lambda c, x: _between(c, _date(x.time_from), _date(x.time_to)),
    "timeFrom": lambda c, x: f"{c} >= toDateTime({_seconds(x.time_from)})",
    "timeTo": lambda c, x: f"{c} <= toDateTime({_seconds(x.time_to)})",
    "timeInterval": lambda c, x: (f"toStartOfInterval(toDateTime({c}), "
                                  f"INTERVAL {_interval_seconds(x)} second)"),
}
_NO_ARG: dict[str, Callable[[QueryContext], str]] = {
    "fromTime": lambda x: f"toDateTime({_seconds(x.time_from)})",
    "toTime": lambda x: f"toDateTime({_seconds(x.time_to)})",
    "fromTime_ms": lambda x: f"fromUnixTimestamp64Milli({_millis(x.time_from)})",
    "toTime_ms": lambda x: f"fromUnixTimestamp64Milli({_millis(x.time_to)})",
    "interval_s": lambda x: str(_interval_seconds(x)),
}


def _macros(sql: str, ctx: QueryContext) -> str:
    out, pos = [], 0
    for match in _MACRO.finditer(sql):
        if match.start() < pos:  # inside the arguments of a macro already expanded
            continue
        name = match.group("name")
        out.append(sql[pos:match.start()])
        if name in _NO_ARG:
            out.append(_NO_ARG[name](ctx))
            pos = match.end()
        elif name in _ONE_ARG:
            if sql[match.end():match.end() + 1] != "(":
                msg = f"$__{name} needs an argument: $__{name}(column)"
                raise ExpansionError(msg)
            args, pos = _split_args(sql, match.end())
            if len(args) != 1 or not args[0].strip():
                msg = f"$__{name} takes 1 argument, got {args}"
                raise ExpansionError(msg)
            # 4.20 expands macros nested in another macro's argument first.
            out.append(_ONE_ARG[name](_macros(args[0].strip(), ctx), ctx))
        else:
            msg = f"unknown macro $__{name}"
            raise ExpansionError(msg)
    out.append(sql[pos:])
    return "".join(out)
