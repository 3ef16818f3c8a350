"""aiokafka's fetcher, made to survive record headers whose names are not UTF-8.

The worker's consumer (aiokafka, under Faust) parses fetched batches with compiled code
that decodes header names strictly; one record with a non-UTF-8 name would fail every
fetch of its partition (see ``streams.kafka.tolerant_records``). ``install`` replaces
the fetcher's ``MemoryRecords`` with one whose batches are parsed by the same compiled
code and, only when that fails on a header name, again from the failing record on by
aiokafka's pure-Python parser, patched to decode such names with replacement characters.
Installed by ``streams.faust_app.patches``, which checks the private names first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streams.kafka.tolerant_records import tolerant_read, unwrapped


class _TolerantBatch:
    """A compiled aiokafka batch that falls back to the Python parser when it must."""

    def __init__(self, batch: Any, raw: Any, python_batch: type) -> None:
        self._batch = batch
        self._raw = raw
        self._python_batch = python_batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def __iter__(self) -> Iterator[Any]:
        done = 0
        try:
            for record in self._batch:
                done += 1
                yield record
        except UnicodeDecodeError:
            for n, record in enumerate(self._python_batch(self._raw)):
                if n >= done:
                    yield record


class TolerantMemoryRecords:
    """aiokafka's ``MemoryRecords`` whose v2 batches survive non-UTF-8 header names.

    Batch boundaries come from aiokafka's Python ``_MemoryRecordsPy`` (one length read
    per batch), which builds the compiled batch as usual; records are parsed by the
    compiled code unless a header name is not UTF-8.
    """

    def __init__(self, data: bytes) -> None:
        from aiokafka.record.default_records import _DefaultRecordBatchPy
        from aiokafka.record.memory_records import _MemoryRecordsPy

        self._records = _MemoryRecordsPy(data)
        self._python_batch = _DefaultRecordBatchPy

    def size_in_bytes(self) -> int:
        """Bytes of the fetched data."""
        return int(self._records.size_in_bytes())

    def has_next(self) -> bool:
        """True while another batch follows."""
        return bool(self._records.has_next())

    def next_batch(self) -> Any:
        """The next batch (wrapped when it may carry headers)."""
        raw = self._records._next_slice
        batch = self._records.next_batch()
        if batch is None or batch.magic < 2:
            return batch  # message format v0/v1 has no headers
        return _TolerantBatch(batch, raw, self._python_batch)


def install() -> None:
    """Patch aiokafka's fetcher and Python record parser (idempotent)."""
    from aiokafka.consumer import fetcher
    from aiokafka.record.default_records import _DefaultRecordBatchPy

    _DefaultRecordBatchPy._read_msg = tolerant_read(
        unwrapped(_DefaultRecordBatchPy._read_msg))
    fetcher.MemoryRecords = TolerantMemoryRecords


def check() -> str | None:
    """What of aiokafka's private parts ``install`` relies on is missing (None: all there)."""
    from aiokafka.consumer import fetcher
    from aiokafka.record import default_records, memory_records

    if not hasattr(fetcher, "MemoryRecords"):
        return "aiokafka.consumer.fetcher.MemoryRecords"
    python_batch = getattr(default_records, "_DefaultRecordBatchPy", None)
    if python_batch is None or not callable(getattr(python_batch, "_read_msg", None)):
        return "aiokafka.record.default_records._DefaultRecordBatchPy._read_msg"
    python_records = getattr(memory_records, "_MemoryRecordsPy", None)
    if python_records is None or not hasattr(python_records(b""), "_next_slice"):
        return "aiokafka.record.memory_records._MemoryRecordsPy._next_slice"
    return None
