"""Getting a working client back after the connection was lost.

A process that reaches the embedded ClickHouse through another process's gateway loses
it when that process exits; the directory is then free, and opening the DSN again opens
it here (or finds the next holder's gateway). The sink calls :func:`reconnect` before
retrying a write that failed on the connection, so a long replay or a second worker
survives the holder going away.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError, StreamFailureError

from sinks.client import connect, route
from sinks.exceptions import ClickHouseUnavailable, TransientSinkError


def lost_connection(error: BaseException) -> bool:
    """True when a failure was the connection itself (refused, reset, timed out)."""
    return isinstance(error, OperationalError) and not isinstance(error, StreamFailureError)


def reconnect(client: Client) -> Client:
    """A fresh client for the DSN ``client`` was opened with by :func:`sinks.client.connect`.

    A client opened some other way is returned as it is (nothing to reopen from). When
    the DSN cannot be opened yet, the failure is transient: the caller retries later.
    """
    found = route(client)
    if found is None:
        return client
    try:
        # The old client is left open: other parts of the process may still hold it,
        # and it is released with its last reference.
        return connect(found.dsn)
    except ClickHouseUnavailable as error:
        msg = f"ClickHouse connection lost, reconnecting failed, will retry: {error}"
        raise TransientSinkError(msg) from error
