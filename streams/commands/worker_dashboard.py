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

from sinks.client import connect
from streams.web.server import dashboard_thread, is_loopback


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def worker_dashboard(dsn: str, host: str, port: int,
                     say: Callable[[str], None] = _say) -> Iterator[str | None]:
    """Serve the page on ``host:port`` while the block runs (port 0: nothing is served).

    Yields the page's URL (None when off) after printing ``dashboard: URL``.
    """
    if not port:
        yield None
        return
    client = connect(dsn)
    try:
        with dashboard_thread(client, host, port, flag="--dashboard-port") as page:
            say(f"dashboard: {page.url}")
            if not is_loopback(host):
                say("dashboard: warning: listening beyond this machine; anyone who can "
                    "reach it can read the data and run read-only SQL")
            yield page.url
    finally:
        client.close()
