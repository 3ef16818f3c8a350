"""Inserts into different tables at the same time: one ClickHouse client per table.

Why: an insert's cost is mostly fixed, not per row. Each one creates a new part of its
table, which costs 10-40 ms in embedded ClickHouse (measured: 150 rows and 2,245 rows
take the same time), and a flush inserts into six tables one after the other. ClickHouse
runs inserts from different connections in parallel (a server does; so does chdb since
4.0, across connection handles), so the tables whose order does not matter are inserted
together (``ClickHouseSink``). Measured on 2 cores: six inserts of 1,000 rows took
65-128 ms one after the other and 30-38 ms at once (``docs/performance.md``).

A lane is a client of its own, opened from the DSN of the sink's client the way that
client was opened (``sinks.client.connect``: the embedded engine directly, or the
gateway of the process that holds it). Opening one costs about 40 ms, so lanes live as
long as the sink, and the owner closes them (``close``): chdb binds a process to one
data directory while any handle to it is open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from sinks.client import connect, route
from sinks.exceptions import ClickHouseUnavailable, TransientSinkError


@dataclass
class InsertLanes:
    """One client per table, and the threads that insert through them."""

    dsn: str
    threads: int = 4
    _clients: dict[str, Client] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    @classmethod
    def beside(cls, client: Client) -> InsertLanes | None:
        """Lanes to the database ``client`` reaches (None: it was not opened by DSN)."""
        found = route(client)
        return None if found is None else cls(found.dsn)

    def client(self, table: str) -> Client:
        """The lane of ``table`` (opened on first use, on the calling thread).

        The sink's own client is open, so a lane that cannot be opened is a database
        that went away meanwhile (a gateway's holder exiting): retry, like a lost
        connection.
        """
        lane = self._clients.get(table)
        if lane is None:
            try:
                lane = self._clients[table] = connect(self.dsn)
            except ClickHouseUnavailable as error:
                msg = f"opening a connection for {table} failed, will retry: {error}"
                raise TransientSinkError(msg) from error
        return lane

    def run(self, tables: Sequence[str], insert: Callable[[str], None]) -> None:
        """``insert(table)`` for every table at once; raise the first table's error.

        Every insert has ended when this returns or raises, so a retry of the batch
        never races an insert of its previous attempt.
        """
        if len(tables) < 2:
            for table in tables:
                insert(table)
            return
        for table in tables:
            self.client(table)  # open lanes here: connect() is not meant to run in parallel
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="leadclock-insert")
        futures = [self._pool.submit(insert, table) for table in tables]
        wait(futures)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error

    def reset(self) -> None:
        """Drop the lanes (after the connection was lost): the next use opens new ones."""
        clients, self._clients = self._clients, {}
        for lane in clients.values():
            lane.close()

    def close(self) -> None:
        """Close every lane and stop the threads."""
        self.reset()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
