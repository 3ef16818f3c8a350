"""Which ClickHouse failures are worth retrying.

Following clickhouse-connect's DB-API split: an ``OperationalError`` (connection refused,
timeout, broken pipe) is transient; a ``DatabaseError`` is transient only for the server
codes that mean "not now" (too many parts, memory, simultaneous queries, network);
anything else is a bad statement or bad data and retrying cannot help.
"""

from __future__ import annotations

import re
from typing import Final

from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

TRANSIENT_CODES: Final = frozenset({
    159,  # TIMEOUT_EXCEEDED
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    252,  # TOO_MANY_PARTS
    319,  # UNKNOWN_STATUS_OF_INSERT
    999,  # KEEPER_EXCEPTION
})
_CODE = re.compile(r"Code: (\d+)")


def server_code(error: BaseException) -> int | None:
    """The ClickHouse error code in a driver error's message, if any."""
    match = _CODE.search(str(error))
    return int(match.group(1)) if match else None


def is_transient(error: BaseException) -> bool:
    """True for failures that may succeed if the same insert is retried later."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DatabaseError) and server_code(error) in TRANSIENT_CODES


def first_line(error: BaseException) -> str:
    """One line of an error message, for logs and DLQ reasons."""
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
