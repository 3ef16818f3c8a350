"""The dashboard page served from the worker process (``leadclock worker --dashboard-port N``).

Why inside the worker: the embedded ClickHouse is held by one process, and a worker on
the embedded default is that process; serving the page from it needs no gateway hop.

Which client the page reads through: **its own**, opened with :func:`sinks.client.connect`
once the worker has opened (and is sharing) the database. The worker's clients are not
an option: a clickhouse-connect client must not run two queries at once (an HTTP session
is locked while a query runs; a chdb handle answers an interleaved query with an empty
result), and the worker's sink flushes from Faust's threads whenever it likes. A second
client costs nothing that matters: on the embedded database this process holds, it is one
more handle on the engine already running here (chdb runs queries of several handles in
parallel, as the worker's version follower and the gateway already do); against a
ClickHouse server, or a directory another process shares, it is one more HTTP client.
The page queries it on its own thread (``streams.web.db``), so a slow panel never waits
on, or stalls, the worker's writes.

Where it runs: a thread with its own event loop (``streams.web.server.dashboard_thread``),
not Faust's loop, which drives consumption, heartbeats and acks: rendering a page never
delays them, the Faust shell knows nothing of the page, and the page is up (or its busy
port reported in one line) before the worker consumes anything, and down after the
worker has written what it processed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sinks.client import connect
from streams.web.server import dashboard_thread, is_loopback


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class WorkerPage:
    """The worker's dashboard page: where to serve it, and its URL once it serves."""

    dsn: str
    host: str
    port: int
    """0: no page."""
    say: Callable[[str], None] = _say
    url: str | None = field(default=None, init=False)

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Serve the page while the block runs, after printing ``dashboard: URL``."""
        if not self.port:
            yield
            return
        client = connect(self.dsn)
        try:
            with dashboard_thread(client, self.host, self.port,
                                  flag="--dashboard-port") as page:
                self.url = page.url
                self.say(f"dashboard: {page.url}")
                if not is_loopback(self.host):
                    self.say("dashboard: warning: listening beyond this machine; anyone "
                             "who can reach it can read the data and run read-only SQL")
                try:
                    yield
                finally:
                    self.url = None
        finally:
            client.close()

    def below(self, table: str) -> str:
        """The worker's text report, with the page's address under it while it serves."""
        if self.url is None:
            return table
        return f"{table}\ndashboard: {self.url} (the same, with charts)"
