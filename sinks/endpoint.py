"""Who holds an embedded ClickHouse directory, and where its gateway listens.

ClickHouse locks ``<dir>/status`` (flock) for as long as a process hosts the engine, so
the lock says whether the directory is taken and by whom, without touching it. A holder
that serves the gateway publishes ``<dir>.endpoint`` (JSON: pid, url, started_at), next to
the directory rather than inside it so the engine's files stay the engine's; it removes
the file on a clean exit, and a file whose process is gone is ignored.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

_PID = re.compile(r"^PID: (\d+)", re.M)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A published gateway: which process serves which directory at which URL."""

    pid: int
    url: str
    started_at: str
    read_only: bool = False


def endpoint_path(directory: Path) -> Path:
    """``<dir>.endpoint``, beside the data directory."""
    return directory.with_name(directory.name + ".endpoint")


def publish(directory: Path, url: str, read_only: bool = False) -> Endpoint:
    """Announce this process's gateway for ``directory`` (atomically replaces the file)."""
    endpoint = Endpoint(os.getpid(), url, datetime.now(UTC).isoformat(timespec="seconds"),
                        read_only)
    path = endpoint_path(directory)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(endpoint)) + "\n")
    temporary.replace(path)
    return endpoint


def withdraw(directory: Path, url: str) -> None:
    """Remove the endpoint file if it still announces ``url`` from this process."""
    found = read(directory)
    if found is not None and found.pid == os.getpid() and found.url == url:
        with contextlib.suppress(FileNotFoundError):
            endpoint_path(directory).unlink()


def read(directory: Path) -> Endpoint | None:
    """The published endpoint, if the file exists, parses, and names a live process."""
    try:
        data = json.loads(endpoint_path(directory).read_text())
        endpoint = Endpoint(int(data["pid"]), str(data["url"]), str(data["started_at"]),
                            bool(data.get("read_only", False)))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return endpoint if alive(endpoint.pid) else None


def alive(pid: int) -> bool:
    """True if a process with this id exists (it may belong to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder(directory: Path) -> int | None:
    """The pid of the process hosting the engine on ``directory``; None if nobody does.

    Returns 0 when the directory is held but the holder's pid cannot be told.
    """
    status = directory / "status"
    try:
        info = status.stat()
    except FileNotFoundError:
        return None
    listed = _flock_owners(info.st_dev, info.st_ino)
    if listed is not None:
        return listed[0] if listed else None
    return _probe(status)


def _flock_owners(device: int, inode: int) -> list[int] | None:
    """Owners of flock locks on one file, from /proc/locks (Linux): no side effect."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    key = f"{os.major(device):02x}:{os.minor(device):02x}:{inode}"
    owners = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key:
            owners.append(int(fields[4]))
    return owners


def _probe(status: Path) -> int | None:
    """Elsewhere: try the lock itself (released at once) and read the holder's pid."""
    try:
        fd = os.open(status, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            match = _PID.search(os.read(fd, 4096).decode(errors="replace"))
            return int(match.group(1)) if match else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
