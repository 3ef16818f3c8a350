"""The embedded engine behind the gateway: chdb handles used one call at a time, off-loop.

chdb calls block while the query runs, so they run on one dedicated thread and the
event loop keeps serving. A chdb handle must not take two calls at once (a query sent
while a stream is open on the same handle silently returns nothing), so an asyncio lock
spans every call, including a whole streamed result. Handle state (USE, SET) would leak
from one request into the next, while HTTP is sessionless: the database is re-selected
per request, and statements that need SET run on a throwaway handle (cheap: the engine
is already up; opening a handle costs well under a millisecond).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import chdb
from chdb._exceptions import ChdbError
from clickhouse_connect.driver.binding import quote_identifier

from sinks.gateway.exceptions import GatewayError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Job:
    """One statement for the engine, with everything needed to run it in isolation."""

    sql: str
    fmt: str
    database: str
    params: Mapping[str, str] = field(default_factory=dict)
    read_only: bool = False
    set_first: tuple[str, ...] = ()
    throwaway: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a buffered statement returned: its bytes and the server-style summary."""

    body: bytes
    summary: dict[str, str]


@dataclass(slots=True)
class _Handle:
    conn: Any
    database: str | None = None
    stream: Any = None  # the stream open on this handle, if any


class Engine:
    """The chdb engine at ``path``: a read-write and (lazily) a read-only handle."""

    def __init__(self, path: str, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.timezone = "UTC"
        self._lock = asyncio.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ch-gateway")
        self._handles: dict[bool, _Handle] = {}

    async def open(self) -> None:
        """Open the engine (or a handle to it, if this process already hosts it)."""
        await self._call(self._open)

    async def run(self, job: Job) -> Outcome:
        """Run a statement and return its whole result."""
        async with self._lock:
            return await self._call(self._execute, job)

    @asynccontextmanager
    async def stream(self, job: Job) -> AsyncIterator[Chunks]:
        """Run a statement whose result is read block by block (the lock is held)."""
        async with self._lock:
            streaming, first = await self._call(self._send, job)
            try:
                yield Chunks(self, streaming, first)
            finally:
                # Queued behind any pending read on the one engine thread, so the next
                # call cannot start before this stream is closed.
                self._executor.submit(self._end_stream, streaming)

    async def close(self) -> None:
        """Close the handles (the engine stops with the process's last handle)."""
        async with self._lock:
            await self._call(self._close)
        self._executor.shutdown(wait=True)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    # ---- on the engine thread -------------------------------------------------

    def _open(self) -> None:
        handle = self._handle(self.read_only)
        result = handle.conn.query("SELECT timezone()", "TabSeparated")
        self.timezone = result.bytes().decode().strip() or "UTC"

    def _handle(self, read_only: bool) -> _Handle:
        handle = self._handles.get(read_only)
        if handle is None:
            handle = _Handle(_connect(self.path, read_only))
            self._handles[read_only] = handle
        return handle

    def _prepare(self, job: Job) -> _Handle:
        """The handle a job runs on, with no stream left open, switched to its database."""
        handle = self._handle(job.read_only or self.read_only)
        if handle.stream is not None:
            # Only if a request was cancelled while its stream was being opened: the
            # stream was never handed over, so nothing else will close it.
            self._end_stream(handle.stream)
        if handle.database != job.database:
            handle.conn.query(f"USE {quote_identifier(job.database)}", "TabSeparated")
            handle.database = job.database
        return handle

    def _execute(self, job: Job) -> Outcome:
        try:
            if job.throwaway:
                return self._execute_alone(job)
            conn = self._prepare(job).conn
            result = conn.query(job.sql, job.fmt, params=dict(job.params))
            return Outcome(result.bytes() or b"", _summary(result))
        except ChdbError as error:
            raise GatewayError.from_engine(error) from error

    def _execute_alone(self, job: Job) -> Outcome:
        conn = _connect(self.path, job.read_only or self.read_only)
        try:
            conn.query(f"USE {quote_identifier(job.database)}", "TabSeparated")
            for statement in job.set_first:
                conn.query(statement, "TabSeparated")
            result = conn.query(job.sql, job.fmt, params=dict(job.params))
            return Outcome(result.bytes() or b"", _summary(result))
        finally:
            conn.close()

    def _send(self, job: Job) -> tuple[Any, bytes | None]:
        """Start the stream and read its first block in the same trip to this thread."""
        try:
            handle = self._prepare(job)
            handle.stream = handle.conn.send_query(job.sql, job.fmt, params=dict(job.params))
        except ChdbError as error:
            raise GatewayError.from_engine(error) from error
        try:
            return handle.stream, _next_block(handle.stream)
        except GatewayError:
            self._end_stream(handle.stream)
            raise

    def _end_stream(self, streaming: Any) -> None:
        streaming.close()
        for handle in self._handles.values():
            if handle.stream is streaming:
                handle.stream = None

    def _close(self) -> None:
        for handle in self._handles.values():
            handle.conn.close()
        self._handles.clear()


class Chunks:
    """The blocks of a streamed result, each read on the engine thread."""

    def __init__(self, engine: Engine, streaming: Any, first: bytes | None) -> None:
        self._engine = engine
        self._streaming = streaming
        self._first = first
        self._started = False

    async def next(self) -> bytes | None:
        """The next non-empty block of bytes, or None at the end."""
        if not self._started:
            self._started = True
            return self._first
        if self._first is None:
            return None
        return await self._engine._call(_next_block, self._streaming)


def _connect(path: str, read_only: bool) -> Any:
    try:
        conn = chdb.connect(path)  # type: ignore[no-untyped-call]
    except RuntimeError as error:  # chdb raises a bare RuntimeError when it cannot open
        raise GatewayError.from_engine(error) from error
    if read_only:
        # readonly=2: no writes or DDL, settings may change but readonly itself may not,
        # so no request can lift it.
        conn.query("SET readonly = 2", "TabSeparated")
    return conn


def _next_block(streaming: Any) -> bytes | None:
    try:
        while True:
            try:
                block = next(streaming)
            except StopIteration:
                return None
            payload = block.bytes()
            if payload:
                return bytes(payload)
    except ChdbError as error:
        raise GatewayError.from_engine(error) from error


def _summary(result: Any) -> dict[str, str]:
    """The statistics chdb keeps, under the keys of the X-ClickHouse-Summary header."""
    return {
        "read_rows": str(result.rows_read()),
        "read_bytes": str(result.bytes_read()),
        "written_rows": str(result.rows_written()),
        "written_bytes": str(result.bytes_written()),
        "elapsed_ns": str(int(result.elapsed() * 1e9)),
    }
