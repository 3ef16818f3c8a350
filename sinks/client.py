"""One way to get a ClickHouse client: from a DSN, embedded (chdb) or server (HTTP).

Both backends are the same clickhouse-connect ``Client``; only the DSN differs, so every
query and insert in leadclock runs unchanged against the embedded engine used in tests
and a real server in production (``CLICKHOUSE_URL=http://user:pass@host:8123/db``).
"""

from __future__ import annotations

import logging
import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from sinks import endpoint
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


@dataclass(frozen=True, slots=True)
class Route:
    """How a client from :func:`connect` reaches its DSN: directly, or through a gateway."""

    dsn: str
    gateway: endpoint.Endpoint | None = None


_ROUTES: weakref.WeakKeyDictionary[Client, Route] = weakref.WeakKeyDictionary()


def route(client: Client) -> Route | None:
    """The route of a client opened by :func:`connect` (None for any other client)."""
    return _ROUTES.get(client)


def sharing_note(client: Client) -> str | None:
    """One line for users when the embedded database is reached through another process."""
    found = _ROUTES.get(client)
    if found is None or found.gateway is None:
        return None
    mode = " (read-only)" if found.gateway.read_only else ""
    return (f"using the embedded ClickHouse {urlsplit(found.dsn).path} held by pid "
            f"{found.gateway.pid} through {found.gateway.url}{mode}")


def connect(dsn: str) -> Client:
    """Open a client for ``dsn``; any failure becomes a one-line ClickHouseUnavailable.

    An embedded directory held by another process is reached through that process's
    gateway (see docs/embedded-sharing.md); the same client code works either way.
    """
    scheme = urlsplit(dsn).scheme
    if scheme not in ("chdb", "http", "https"):
        msg = f"ClickHouse DSN {redact(dsn)!r}: scheme must be chdb, http or https"
        raise ClickHouseUnavailable(msg)
    directory = _prepare_embedded_dir(dsn) if scheme == "chdb" else None
    gateway = _gateway_of(directory) if directory is not None else None
    if gateway is None:
        try:
            client = _open(dsn, redact(dsn))
        except ClickHouseUnavailable:
            # Taken by another process between the check and the open? Then share it.
            gateway = _gateway_of(directory) if directory is not None else None
            if gateway is None:
                raise
    if gateway is not None:
        where = f"the gateway of process {gateway.pid} ({gateway.url})"
        # Same machine: compressing the payloads would only cost CPU on both sides.
        client = _open(gateway.url, where, compress=False)
    _ROUTES[client] = Route(dsn, gateway)
    return client


def skip_pandas() -> None:
    """Spare this process clickhouse-connect's lazy ``import pandas`` (0.5-1 s).

    Its insert path checks ``isinstance(data, pandas.DataFrame)``, which imports pandas
    on the first insert. leadclock's commands never insert DataFrames, so they declare
    pandas absent; a library user who inserts DataFrames must not call this.
    """
    from clickhouse_connect.driver import options

    if "pd" not in vars(options):
        vars(options).update(pd=None, pd_time_test=None)


def query_int(client: Client, sql: str, parameters: dict[str, object] | None = None) -> int:
    """The integer a one-value query returns (0 for NULL or no row)."""
    rows = client.query(sql, parameters=parameters).result_rows
    value = rows[0][0] if rows else None
    return int(value) if value is not None else 0


def _gateway_of(directory: Path) -> endpoint.Endpoint | None:
    """The gateway to use for a directory another process holds; None to open it here."""
    pid = endpoint.holder(directory)
    if pid is None or pid == os.getpid():
        return None
    published = endpoint.read(directory)
    if published is not None and pid in (0, published.pid):
        return published
    held_by = f"process {pid}" if pid else "another process"
    msg = (f"the embedded ClickHouse {directory} is held by {held_by}, which does not "
           "share it: stop it, or have the holder serve a gateway (`leadclock serve` "
           "holds the directory for every process; see docs/embedded-sharing.md)")
    raise ClickHouseUnavailable(msg)


def _open(dsn: str, where: str, compress: bool | None = None) -> Client:
    try:
        if compress is None:
            return clickhouse_connect.get_client(dsn=dsn)
        return clickhouse_connect.get_client(dsn=dsn, compress=compress)
    except ImportError as error:
        msg = (f"the embedded ClickHouse ({where}) needs the chdb package: "
               "pip install 'leadclock[embedded]', or use an http(s):// DSN")
        raise ClickHouseUnavailable(msg) from error
    except (ClickHouseError, OSError) as error:
        msg = f"cannot open ClickHouse at {where}: {_cause(error)}"
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


def _prepare_embedded_dir(dsn: str) -> Path | None:
    """Create the embedded data directory, failing clearly if it cannot be written."""
    path = urlsplit(dsn).path
    if not path or path == "/" or urlsplit(dsn).netloc == "memory":
        return None
    directory = Path(os.path.realpath(path))  # the engine's own spelling of the path
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        msg = f"cannot create the ClickHouse directory {directory}: {error.strerror}"
        raise ClickHouseUnavailable(msg) from error
    if not os.access(directory, os.W_OK):
        msg = f"the ClickHouse directory {directory} is not writable"
        raise ClickHouseUnavailable(msg)
    return directory
