"""A child process's own peak resident memory, which ``ru_maxrss`` does not give on Linux.

A child's ``ru_maxrss`` (from ``wait4``) is at least its parent's resident size when it
was started: Linux carries the parent's high-water mark over into the child at ``exec``.
A benchmark that holds a large generated log in memory therefore reported its own size
as the replay's (4.2 GB for a 1M-event replay whose own peak was about 1.2 GB). This
polls the child's ``VmHWM`` instead, the high-water mark of the child's own address
space, until it stops; a peak reached in the last ``every_s`` before the child exits
can be missed (``VmHWM`` is gone once it has exited). A child that starts processes of
its own (``replay --processes 2``) is measured as a tree: the peak is also at least the
largest sum of the tree's resident sizes (``VmRSS``) seen at one poll.
"""

from __future__ import annotations

import threading
from pathlib import Path


class PeakRss:
    """Polls ``/proc/<pid>/status`` in a thread; ``stop()`` returns the peak in KiB."""

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        self._pid = pid
        self._every_s = every_s
        self._peak_kib: int | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def stop(self) -> int | None:
        """Stop polling; the peak seen, own or tree (None: never read, e.g. not Linux)."""
        self._done.set()
        self._thread.join(timeout=5)
        return self._peak_kib

    def _poll(self) -> None:
        while not self._done.is_set():
            self._read()
            self._done.wait(self._every_s)

    def _read(self) -> None:
        own = _field(self._pid, "VmHWM:")
        if own is None:
            return  # exited (or no /proc)
        tree = sum(_field(pid, "VmRSS:") or 0 for pid in _tree(self._pid))
        self._peak_kib = max(self._peak_kib or 0, own, tree)


def _field(pid: int, name: str) -> int | None:
    """A KiB figure of ``/proc/<pid>/status`` (None: the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return None


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (``/proc/<pid>/task/*/children``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = list(Path(f"/proc/{current}/task").glob("*/children"))
        except OSError:
            continue  # it exited between being listed and being read
        for task in tasks:
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found
