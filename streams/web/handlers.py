"""The JSON API's request handlers: meta, one endpoint per panel, and read-only SQL.

Handlers parse and validate the request (streams.web.params, streams.web.sql_guard),
run constant SQL through the :class:`~streams.web.db.Reader`, and render JSON or CSV.
Errors are raised as WebError subclasses; streams.web.app maps them to HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from schemas.money import MINOR_UNIT_EXPONENTS
from streams.web.db import Reader, Table
from streams.web.exceptions import BadRequest, QueryFailed
from streams.web.panels import CLOCK_SQL, CURRENCIES_SQL, PANELS, Panel
from streams.web.params import BUCKETS, FORMAT, KINDS, MODELS, TOUCH_TYPES, parse_query
from streams.web.render import cell, rows, to_csv, to_json
from streams.web.sql_guard import single_select

TIMEOUT_CODE = 159


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds of the read-only SQL endpoint and the page's refresh period."""

    refresh_seconds: float = 5.0
    sql_timeout_s: int = 10
    sql_default_rows: int = 1_000
    sql_max_rows: int = 10_000


class Handlers:
    """The API endpoints over one reader."""

    def __init__(self, reader: Reader, limits: Limits) -> None:
        self.reader = reader
        self.limits = limits

    async def index(self, _request: web.Request) -> web.Response:
        """GET /api: the endpoints and the parameters each takes."""
        endpoints: dict[str, object] = {
            "GET /api/meta": "clock (as_of), currencies with revenue (busiest first), "
                             "ISO 4217 exponents, vocabularies, refresh period",
            "POST /api/sql": {"body": {"sql": "one SELECT/WITH statement",
                                       "limit": f"rows, 1..{self.limits.sql_max_rows} "
                                                f"(default {self.limits.sql_default_rows})"},
                              "params": {"format": FORMAT.help}},
        }
        for panel in PANELS.values():
            endpoints[f"GET /api/{panel.name}"] = {
                "title": panel.title,
                "params": {param.name: param.help for param in (*panel.params, FORMAT)},
            }
        return _json({"endpoints": endpoints})

    async def meta(self, request: web.Request) -> web.Response:
        """GET /api/meta: what the page needs before it can ask for panels."""
        parse_query(request.query.items(), (), "/api/meta")
        clock = await self.reader.query(CLOCK_SQL, {})
        currencies = await self.reader.query(CURRENCIES_SQL, {})
        codes = [str(row[0]) for row in currencies.rows]
        as_of = cell(clock.rows[0][0]) if clock.rows else None
        return _json({
            "as_of": as_of,
            "currencies": codes,
            "default_currency": codes[0] if codes else None,
            "currency_exponents": dict(MINOR_UNIT_EXPONENTS),
            "models": MODELS, "kinds": KINDS, "touch_types": TOUCH_TYPES,
            "buckets": BUCKETS,
            "refresh_seconds": self.limits.refresh_seconds,
            "panels": {name: panel.title for name, panel in PANELS.items()},
            "query_ms": round(clock.elapsed_ms + currencies.elapsed_ms, 1),
        })

    def panel(self, panel: Panel) -> Handler:
        """The GET handler of one panel."""

        async def handle(request: web.Request) -> web.Response:
            values = parse_query(request.query.items(), (*panel.params, FORMAT),
                                 f"/api/{panel.name}")
            fmt = values.pop("format")
            if "currency" in values and values["currency"] is None:
                values["currency"] = await self._default_currency()
            sql, parameters = panel.query(values)
            table = await self.reader.query(sql, parameters)
            if fmt == "csv":
                return _csv(panel.name, table)
            return _json({
                "panel": panel.name,
                "params": {name: cell(value) for name, value in values.items()},
                **_table(table),
            })

        return handle

    async def sql(self, request: web.Request) -> web.Response:
        """POST /api/sql: one read-only statement, bounded in rows and time."""
        fmt = parse_query(request.query.items(), (FORMAT,), "/api/sql")["format"]
        text, limit = _sql_body(await request.read(), self.limits)
        statement = single_select(text)
        settings: dict[str, object] = {
            "max_execution_time": self.limits.sql_timeout_s,
            "max_result_rows": limit + 1,
            "result_overflow_mode": "break",
            "readonly": 1,  # last: the other settings are applied before it locks them
        }
        try:
            table = await self.reader.query(statement, {}, settings)
        except QueryFailed as error:
            if error.code == TIMEOUT_CODE:
                msg = f"the query ran longer than {self.limits.sql_timeout_s} s"
                raise BadRequest(msg) from error
            raise BadRequest(str(error)) from error
        truncated = len(table.rows) > limit
        table = Table(table.columns, table.types, table.rows[:limit], table.elapsed_ms)
        if fmt == "csv":
            return _csv("sql", table)
        return _json({**_table(table), "truncated": truncated, "row_limit": limit})

    async def _default_currency(self) -> str:
        found = await self.reader.query(CURRENCIES_SQL, {})
        return str(found.rows[0][0]) if found.rows else ""


def _sql_body(body: bytes, limits: Limits) -> tuple[str, int]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        msg = 'the body must be JSON: {"sql": "SELECT ...", "limit": 100}'
        raise BadRequest(msg) from None
    if not isinstance(data, dict):
        msg = 'the body must be a JSON object: {"sql": "SELECT ..."}'
        raise BadRequest(msg)
    unknown = sorted(set(data) - {"sql", "limit"})
    if unknown:
        msg = f"unknown field {unknown[0]!r} in the body (it takes: sql, limit)"
        raise BadRequest(msg)
    text = data.get("sql")
    if not isinstance(text, str):
        msg = "sql: a string with one SELECT statement is required"
        raise BadRequest(msg)
    limit = data.get("limit", limits.sql_default_rows)
    if isinstance(limit, bool) or not isinstance(limit, int) \
            or not 1 <= limit <= limits.sql_max_rows:
        msg = f"limit: an integer from 1 to {limits.sql_max_rows} is required"
        raise BadRequest(msg)
    return text, limit


def _table(table: Table) -> dict[str, object]:
    return {"columns": list(table.columns), "types": list(table.types),
            "rows": rows(table), "query_ms": round(table.elapsed_ms, 1)}


def _json(payload: Mapping[str, object], status: int = 200) -> web.Response:
    return web.Response(body=to_json(payload), status=status,
                        content_type="application/json")


def _csv(name: str, table: Table) -> web.Response:
    response = web.Response(body=to_csv(table.columns, rows(table)),
                            content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="leadclock-{name}.csv"'
    return response


def error_response(status: int, message: str) -> web.Response:
    """The JSON error body every API failure uses: ``{"error": "..."}``."""
    return _json({"error": message}, status=status)
