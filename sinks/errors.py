"""Which ClickHouse failures are worth retrying, and which are about the data.

Following clickhouse-connect's DB-API split: an ``OperationalError`` (connection refused,
timeout, broken pipe) is transient; a ``DatabaseError`` is transient only for the server
codes that mean "not now" (too many parts, memory, simultaneous queries, network). A
``DataError`` or a value/type code means the rows themselves were refused: those are
isolated and dead-lettered. Anything else (a missing table, a grant, a full disk) is an
operational fault that stops the worker.
"""

from __future__ import annotations

import re
from typing import Final

from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

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
DATA_CODES: Final = frozenset({
    6,    # CANNOT_PARSE_TEXT
    27,   # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    53,   # TYPE_MISMATCH
    69,   # ARGUMENT_OUT_OF_BOUND
    70,   # CANNOT_CONVERT_TYPE
    131,  # TOO_LARGE_STRING_SIZE
    321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
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


def is_bad_data(error: BaseException) -> bool:
    """True when ClickHouse refused the *values* (not the table, grants or disk)."""
    return isinstance(error, DataError) or (
        isinstance(error, DatabaseError) and server_code(error) in DATA_CODES)


def first_line(error: BaseException) -> str:
    """One line of an error message, for logs and DLQ reasons."""
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
