"""One way to get a ClickHouse client: from a DSN, embedded (chdb) or server (HTTP).

Both backends are the same clickhouse-connect ``Client``; only the DSN differs, so every
query and insert in leadclock runs unchanged against the embedded engine used in tests
and a real server in production (``CLICKHOUSE_URL=http://user:pass@host:8123/db``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from sinks.exceptions import ClickHouseUnavailable

DEFAULT_EMBEDDED_DIR = Path("var") / "clickhouse"

# clickhouse-connect logs connection failures itself before raising; leadclock reports
# them as one line of its own, so the driver's duplicate log line is only noise.
logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)


def default_dsn() -> str:
    """``CLICKHOUSE_URL`` if set, else the embedded engine under ``./var/clickhouse``."""
    return os.environ.get("CLICKHOUSE_URL") or f"chdb://{DEFAULT_EMBEDDED_DIR.resolve()}"


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def connect(dsn: str) -> Client:
    """Open a client for ``dsn``; any failure becomes a one-line ClickHouseUnavailable."""
    scheme = urlsplit(dsn).scheme
    if scheme == "chdb":
        _prepare_embedded_dir(dsn)
    elif scheme not in ("http", "https"):
        msg = f"ClickHouse DSN {redact(dsn)!r}: scheme must be chdb, http or https"
        raise ClickHouseUnavailable(msg)
    try:
        return clickhouse_connect.get_client(dsn=dsn)
    except ImportError as error:
        msg = (f"the embedded ClickHouse ({redact(dsn)}) needs the chdb package: "
               "pip install 'leadclock[embedded]', or use an http(s):// DSN")
        raise ClickHouseUnavailable(msg) from error
    except (ClickHouseError, OSError) as error:
        msg = f"cannot open ClickHouse at {redact(dsn)}: {_cause(error)}"
        raise ClickHouseUnavailable(msg) from error
    except TypeError as error:
        # A DSN query parameter becomes a client keyword argument (?verify=false,
        # ?ca_cert=PATH...); an unknown one is the user's typo, not a crash.
        msg = f"ClickHouse DSN {redact(dsn)}: {error}"
        raise ClickHouseUnavailable(msg) from error


def _cause(error: Exception) -> str:
    """The useful part of a driver error: the OS error if there is one, else line one."""
    text = str(error).strip()
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if errno:
        return errno.group(0)
    return text.splitlines()[0][:300] if text else type(error).__name__


def _prepare_embedded_dir(dsn: str) -> None:
    """Create the embedded data directory, failing clearly if it cannot be written."""
    path = urlsplit(dsn).path
    if not path or path == "/" or urlsplit(dsn).netloc == "memory":
        return
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        msg = f"cannot create the ClickHouse directory {directory}: {error.strerror}"
        raise ClickHouseUnavailable(msg) from error
    if not os.access(directory, os.W_OK):
        msg = f"the ClickHouse directory {directory} is not writable"
        raise ClickHouseUnavailable(msg)
