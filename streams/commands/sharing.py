"""Sharing an embedded ClickHouse this process holds with other processes (a gateway)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


def say(text: str) -> None:
    """A line on stderr."""
    print(text, file=sys.stderr, flush=True)


@contextmanager
def shared_if_embedded(client: Client, *, announce: bool = True) -> Iterator[None]:
    """While this process holds an embedded database, share it through a gateway.

    The embedded engine allows one process per directory; a long-running holder (the
    worker, the dashboard, a replay) serves ClickHouse's HTTP interface on 127.0.0.1 so
    that ``leadclock campaigns load``, ``sql``, ``versions`` and notebooks reach the same
    data through :func:`sinks.client.connect` (docs/embedded-sharing.md).
    """
    from sinks.client import route, sharing_note
    from sinks.gateway.serve import gateway_thread

    found = route(client)
    if found is None or found.gateway is not None or not found.dsn.startswith("chdb:"):
        note = sharing_note(client)
        if note and announce:
            say(note)
        yield
        return
    with gateway_thread(found.dsn) as running:
        if announce:
            say(f"sharing the embedded ClickHouse {running.directory} at {running.url}")
        yield
