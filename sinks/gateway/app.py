"""The gateway's HTTP side: ClickHouse's HTTP interface, as much as clients here need.

One route, ``/``, takes a statement in the ``query`` parameter, the body, or both (then
the body follows the parameter, as data for an ``INSERT ... FORMAT``), answers rows in the
requested format with the server's ``X-ClickHouse-*`` headers, and errors the way the
server words them, so clickhouse-connect, curl and Grafana's plugin work unchanged.
Insert data goes to a temporary file the engine reads with ``INSERT ... FROM INFILE``:
chdb has no other way to take a payload, and the file keeps large inserts off the heap.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import suppress

from aiohttp import web
from multidict import MultiDict

from sinks.gateway.body import BodyDecoder, decoder_for
from sinks.gateway.engine import Engine, Job
from sinks.gateway.exceptions import GatewayError
from sinks.gateway.sql import (
    INSERT_HEAD_LIMIT,
    InsertHead,
    Kind,
    Options,
    check_read_only,
    kind_of,
    may_be_insert,
    options,
    parse_insert,
    result_format,
    set_statements,
    with_settings_clause,
)

STATEMENT_LIMIT = 64 * 1024 * 1024
"""Largest statement (with inline data) taken whole; bigger data belongs in a FORMAT insert."""
_CHUNK = 1024 * 1024
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Formats whose per-block outputs concatenate into one valid result (no global header or
# footer): these stream block by block; the others are returned whole.
_STREAMABLE = frozenset({"Native", "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw",
                         "CSV", "RowBinary", "JSONEachRow", "JSONCompactEachRow"})
_CONTENT_TYPES = {"TabSeparated": "text/tab-separated-values", "TSV": "text/tab-separated-values",
                  "CSV": "text/csv", "JSON": "application/json",
                  "JSONEachRow": "application/x-ndjson", "JSONCompact": "application/json"}


class _Body:
    """The decoded request body, read in chunks, with the start looked at first."""

    def __init__(self, stream: AsyncIterator[bytes], decoder: BodyDecoder) -> None:
        self._stream = stream
        self._decoder = decoder
        self.ended = False

    async def read(self) -> bytes:
        """The next decoded bytes (b"" once the body has ended)."""
        while not self.ended:
            raw = await anext(self._stream, None)
            if raw is None:
                self.ended = True
                self._decoder.finish()
                return b""
            decoded = self._decoder.feed(raw)
            if decoded:
                return decoded
        return b""

    async def read_up_to(self, limit: int, start: bytes = b"") -> bytes:
        """``start`` and what follows, until at least ``limit`` bytes or the end."""
        parts, size = [start], len(start)
        while size < limit and not self.ended:
            chunk = await self.read()
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)


class Gateway:
    """Request handlers over one engine."""

    def __init__(self, engine: Engine, read_only: bool = False,
                 loopback_only: bool = True) -> None:
        self.engine = engine
        self.read_only = read_only
        self.loopback_only = loopback_only

    async def ping(self, request: web.Request) -> web.Response:
        """``/ping`` (and ``/`` without a query): the server's health answer."""
        return web.Response(text="Ok.\n")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One ClickHouse HTTP request."""
        query_id = str(uuid.uuid4())
        try:
            self._guard(request)
            params: MultiDict[str] = MultiDict(request.query)
            if request.content_type == "multipart/form-data":
                params.extend(await _form_fields(request))
            if request.method in ("GET", "HEAD") and "query" not in params:
                return await self.ping(request)
            opts = options(params, request.headers, query_id)
            read_only = self.read_only or request.method in ("GET", "HEAD")
            body = _Body(request.content.iter_chunked(_CHUNK),
                         decoder_for(request.headers.get("Content-Encoding")))
            return await self._answer(request, params.get("query", "").encode(), body, opts,
                                      read_only)
        except GatewayError as error:
            return web.Response(status=error.status, body=error.body(), headers={
                "X-ClickHouse-Exception-Code": str(error.code),
                "X-ClickHouse-Query-Id": query_id, "Content-Type": "text/plain; charset=UTF-8"})

    def _guard(self, request: web.Request) -> None:
        """Refuse browsers' cross-site requests and DNS-rebinding Host names."""
        if request.headers.get("Origin"):
            raise GatewayError.of(497, "ACCESS_DENIED", "Requests from web pages (with an "
                                  "Origin header) are refused by the leadclock gateway", 403)
        if self.loopback_only and (request.url.host or "") not in _LOCAL_HOSTS:
            raise GatewayError.of(497, "ACCESS_DENIED", "The leadclock gateway answers only "
                                  "requests addressed to localhost", 403)

    async def _answer(self, request: web.Request, query: bytes, body: _Body, opts: Options,
                      read_only: bool) -> web.StreamResponse:
        insert = parse_insert(query, complete=True) if query else None
        if insert is not None:
            return await self._insert(insert, query[insert.data_offset:], body, opts,
                                      read_only)
        head = await body.read_up_to(INSERT_HEAD_LIMIT)
        text = b"\n".join(part for part in (query, head) if part)
        if may_be_insert(text):
            insert = parse_insert(text, complete=body.ended)
            if insert is not None:
                return await self._insert(insert, text[insert.data_offset:], body, opts,
                                          read_only)
        text = await body.read_up_to(STATEMENT_LIMIT + 1, text)
        if len(text) > STATEMENT_LIMIT:
            raise GatewayError.of(62, "SYNTAX_ERROR", "Max query size exceeded: statements "
                                  "over 64 MiB are refused; send data as INSERT ... FORMAT")
        return await self._statement(request, _decode(text), opts, read_only)

    async def _insert(self, insert: InsertHead, start: bytes, body: _Body, opts: Options,
                      read_only: bool) -> web.Response:
        if read_only:
            while await body.read():  # drained first: clients send the body before reading
                pass
            check_read_only("INSERT", Kind.WRITE)
        descriptor, path = tempfile.mkstemp(prefix="leadclock-gateway-", suffix=".insert")
        try:
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(start)
                    while chunk := await body.read():
                        file.write(chunk)
            except OSError as error:
                raise GatewayError.of(75, "CANNOT_WRITE_TO_FILE_DESCRIPTOR", "Cannot write "
                                      f"the insert data to {path}: {error.strerror}") from error
            job = Job(insert.from_file(path, opts.settings), "TabSeparated", opts.database)
            outcome = await self.engine.run(job)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(path)
        return web.Response(body=b"", headers=self._headers(opts, None, outcome.summary))

    async def _statement(self, request: web.Request, sql: str, opts: Options,
                         read_only: bool) -> web.StreamResponse:
        if not sql.strip():
            raise GatewayError.of(62, "SYNTAX_ERROR", "Empty query")
        kind = kind_of(sql)
        if read_only:
            check_read_only(sql, kind)
        rows = kind in (Kind.SELECT, Kind.READ)
        fmt = result_format(sql, opts.default_format) if rows else opts.default_format
        job = _job(sql, kind, fmt, opts, read_only)
        if rows and fmt in _STREAMABLE and not job.throwaway:
            return await self._stream(request, job, self._headers(opts, fmt, None))
        outcome = await self.engine.run(job)
        headers = self._headers(opts, fmt if rows else None, outcome.summary)
        return web.Response(body=outcome.body, headers=headers)

    async def _stream(self, request: web.Request, job: Job,
                      headers: Mapping[str, str]) -> web.StreamResponse:
        """Send the result block by block; an error before the first block is a 500."""
        async with self.engine.stream(job) as chunks:
            chunk = await chunks.next()
            response = web.StreamResponse(headers=headers)
            await response.prepare(request)
            try:
                while chunk is not None:
                    await response.write(chunk)
                    chunk = await chunks.next()
            except GatewayError as error:
                # Too late for a status: append the error, as the server does mid-stream;
                # clients look for "Code: " at the end of a result that fails to parse.
                await response.write(b"\n" + error.body())
            except ConnectionResetError:
                return response  # the client left; leaving the block closes the stream
            await response.write_eof()
            return response

    def _headers(self, opts: Options, fmt: str | None,
                 summary: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"X-ClickHouse-Query-Id": opts.query_id,
                   "X-ClickHouse-Timezone": self.engine.timezone,
                   "X-ClickHouse-Server-Display-Name": "leadclock-gateway",
                   "X-ClickHouse-Summary": json.dumps(dict(summary or {}))}
        if fmt is not None:
            headers["X-ClickHouse-Format"] = fmt
            content_type = _CONTENT_TYPES.get(fmt, "application/octet-stream")
            text = not content_type.endswith("octet-stream")
            headers["Content-Type"] = content_type + ("; charset=UTF-8" if text else "")
        else:
            headers["Content-Type"] = "text/plain; charset=UTF-8"
        return headers


def _job(sql: str, kind: Kind, fmt: str, opts: Options, read_only: bool) -> Job:
    """Where settings go: a SETTINGS clause on a SELECT, else SETs on a throwaway handle."""
    if kind is Kind.SELECT:
        return Job(with_settings_clause(sql, opts.settings), fmt, opts.database, opts.params,
                   read_only)
    alone = kind is Kind.SESSION or bool(opts.settings)
    return Job(sql, fmt, opts.database, opts.params, read_only,
               tuple(set_statements(opts.settings)), throwaway=alone)


async def _form_fields(request: web.Request) -> dict[str, str]:
    """The plain fields of a multipart form (clickhouse-connect sends long bindings so)."""
    fields: dict[str, str] = {}
    for name, value in (await request.post()).items():
        if not isinstance(value, str):
            raise GatewayError.of(48, "NOT_IMPLEMENTED", "External data (file fields) is "
                                  "not supported by the leadclock gateway")
        fields[name] = value
    return fields


def _decode(text: bytes) -> str:
    try:
        return text.decode()
    except UnicodeDecodeError as error:
        raise GatewayError.of(36, "BAD_ARGUMENTS", f"The statement is not UTF-8: {error}"
                              ) from error


def make_app(engine: Engine, read_only: bool = False,
             loopback_only: bool = True) -> web.Application:
    """The aiohttp application of a gateway over ``engine``."""
    gateway = Gateway(engine, read_only, loopback_only)
    app = web.Application(client_max_size=STATEMENT_LIMIT)
    app.router.add_get("/ping", gateway.ping)
    app.router.add_route("*", "/", gateway.handle)
    return app
