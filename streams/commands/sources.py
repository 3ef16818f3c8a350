"""Which log a replay reads: a file (or stdin) identified by its content, or the topics.

A file's source name is ``file:NAME@<first 12 hex digits of its SHA-256>``: NAME is
``--source`` or the file's base name, and the fingerprint makes two different files
with the same name two sources, and the same file replayed twice one source (the ingest
ledger, keyed by source and line, then counts each line once). Standard input is copied
to a temporary file while it is hashed, so that it is fingerprinted like a file and
read the same way.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from streams.exceptions import InputError

CHUNK = 1 << 20
FINGERPRINT_HEX = 12


@dataclass(frozen=True, slots=True)
class FileSource:
    """An opened log: its handle, size in bytes and source name."""

    handle: IO[bytes]
    size: int
    label: str
    shown: str
    """How to name it to the user: the path, or ``stdin``."""

    def fraction(self) -> float:
        """How much of the file was read so far."""
        return self.handle.tell() / self.size if self.size else 1.0


def _open(path: str) -> IO[bytes]:
    try:
        return Path(path).open("rb")
    except OSError as error:
        msg = f"cannot read {path}: {error.strerror}"
        raise InputError(msg) from error


def _fingerprint(handle: IO[bytes], copy_to: IO[bytes] | None = None) -> str:
    digest = hashlib.sha256()
    try:
        while block := handle.read(CHUNK):
            digest.update(block)
            if copy_to is not None:
                copy_to.write(block)
    except OSError as error:
        msg = f"cannot read the input: {error.strerror}"
        raise InputError(msg) from error
    return digest.hexdigest()[:FINGERPRINT_HEX]


def source_name(name: str) -> str:
    """A ``--source`` name: anything printable without ``@`` (which ends it)."""
    if not name or "@" in name or not name.isprintable():
        msg = f"--source {name!r}: a name of printable characters without '@'"
        raise InputError(msg)
    return name


@contextmanager
def open_log(input_name: str, name: str | None = None) -> Iterator[FileSource]:
    """Open ``input_name`` (``-`` for stdin), fingerprinted, positioned at its start."""
    name = source_name(name) if name is not None else None
    if input_name == "-":
        with tempfile.TemporaryFile(prefix="leadclock-stdin-") as spool:
            sha = _fingerprint(sys.stdin.buffer, spool)
            size = spool.tell()
            spool.seek(0)
            yield FileSource(spool, size, f"file:{name or 'stdin'}@{sha}", "stdin")
        return
    handle = _open(input_name)
    with handle:
        if not Path(input_name).is_file():
            # A pipe or device (e.g. <(zcat x.gz)) can be read only once: spool it.
            with tempfile.TemporaryFile(prefix="leadclock-input-") as spool:
                sha = _fingerprint(handle, spool)
                size = spool.tell()
                spool.seek(0)
                yield FileSource(spool, size, f"file:{name or Path(input_name).name}@{sha}",
                                 input_name)
            return
        sha = _fingerprint(handle)
        handle.seek(0)
        size = os.fstat(handle.fileno()).st_size
        yield FileSource(handle, size, f"file:{name or Path(input_name).name}@{sha}",
                         input_name)
