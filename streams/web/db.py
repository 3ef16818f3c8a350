"""The dashboard's one way to ClickHouse: one client, queried on one dedicated thread.

clickhouse-connect calls block, so they run off the event loop (a slow query must never
stall the worker's consumer when the page is served from inside the worker). They run
on a single-thread executor: one client is not safe for concurrent queries (an HTTP
session is locked while a query runs; a chdb handle answers an interleaved query with an
empty result), so requests queue for that thread instead of racing on the client.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from streams.web.exceptions import QueryFailed

_CODE_RE = re.compile(r"Code: (\d+)\.")
_VERSION_RE = re.compile(r"\s*\(version [^)]*\)")
_NESTED_RE = re.compile(r"^Code: \d+\. DB::Exception: (Code: \d+\. )")
_TWICE_RE = re.compile(r"\(([A-Z_]+)\)\.? \(\1\)")
_NAME_RE = re.compile(r"\(([A-Z_]+)\)\s*$")
#: ClickHouse error codes meaning "this view/table/database is not there".
MISSING_OBJECT_CODES = frozenset({60, 81, 47})


@dataclass(frozen=True, slots=True)
class Table:
    """A query result: column names and ClickHouse types, rows, and the time it took."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: Sequence[Sequence[object]]
    elapsed_ms: float


class Reader(Protocol):
    """What the web app needs from ClickHouse: run one parameterized query."""

    async def query(self, sql: str, parameters: Mapping[str, object],
                    settings: Mapping[str, object] | None = None) -> Table:
        """Run ``sql`` with server-side ``parameters``; raise QueryFailed on refusal."""
        ...


class ClientReader:
    """A :class:`Reader` over one clickhouse-connect client; the caller owns the client."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._thread = ThreadPoolExecutor(max_workers=1,
                                          thread_name_prefix="leadclock-dashboard-ch")

    async def query(self, sql: str, parameters: Mapping[str, object],
                    settings: Mapping[str, object] | None = None) -> Table:
        """Run the query on the reader's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._run, sql, dict(parameters),
                                          dict(settings or {}))

    def close(self) -> None:
        """Stop the thread (queued queries are dropped); the client stays open."""
        self._thread.shutdown(wait=True, cancel_futures=True)

    def _run(self, sql: str, parameters: dict[str, object],
             settings: dict[str, object]) -> Table:
        started = time.perf_counter()
        try:
            # query_tz: every DateTime column of leadclock is UTC; without it chdb
            # decodes some of them in the host's timezone.
            result = self._client.query(sql, parameters=parameters, settings=settings,
                                        query_tz="UTC")
        except ClickHouseError as error:
            raise failure(error) from error
        return Table(
            columns=tuple(result.column_names),
            types=tuple(column_type.name for column_type in result.column_types),
            rows=result.result_rows,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )


def failure(error: ClickHouseError) -> QueryFailed:
    """A driver error as a one-line QueryFailed carrying the ClickHouse error code."""
    text = str(error).strip()
    line = next((part for part in text.splitlines() if part.strip()), type(error).__name__)
    start = line.find("Code: ")
    line = _VERSION_RE.sub("", line[start:] if start > 0 else line)
    line = _NESTED_RE.sub(r"\1", line)
    line = _TWICE_RE.sub(r"(\1)", line)
    scope = line.find(" In scope ")
    if scope < 0:
        scope = line.find(" in scope ")
    if scope > 0:  # the echo of the whole query (and our settings) is noise
        name = _NAME_RE.search(line)
        line = line[:scope].rstrip(".:") + "." + (f" ({name.group(1)})" if name else "")
    match = _CODE_RE.search(line)
    return QueryFailed(line[:500], code=int(match.group(1)) if match else None)
