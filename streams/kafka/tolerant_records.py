"""Record headers whose names are not UTF-8 must not stop a consumer.

Kafka's protocol calls a header name a string, but the broker stores whatever bytes a
producer sends (kcat, librdkafka and hand-written clients can send any). kafka-python
and aiokafka decode header names strictly as UTF-8 while parsing a fetched batch, so
one such record raises ``UnicodeDecodeError`` on every fetch of its partition: the
partition is stuck forever (and the worker's fetcher fails). The patches here decode
such a name with ``errors="replace"`` instead, only for the record that needs it:

* kafka-python (``leadclock replay --from-topics``, tests): ``_read_msg`` of the record
  batch is retried with a buffer whose slices decode tolerantly;
* aiokafka (the worker): ``streams.faust_app.tolerant_fetch`` keeps the compiled record
  parser for speed and reads a batch it cannot parse again, from the failing record on,
  with aiokafka's pure-Python parser and the same tolerant retry.

Header values are bytes and never decoded; keys and values are never decoded either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, SupportsIndex, overload


class TolerantBuffer(bytearray):
    """A record buffer whose slices decode invalid UTF-8 as replacement characters."""

    @overload
    def __getitem__(self, index: SupportsIndex) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> TolerantBuffer: ...

    def __getitem__(self, index: SupportsIndex | slice) -> int | TolerantBuffer:
        """An int for an index; a ``TolerantBuffer`` for a slice (header names are sliced)."""
        if isinstance(index, slice):
            return TolerantBuffer(bytearray.__getitem__(self, index))
        return bytearray.__getitem__(self, index)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Decode, replacing what is not valid (whatever ``errors`` the parser asked)."""
        return bytearray.decode(self, encoding, "replace")


def tolerant_read(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a record batch's ``_read_msg`` to survive a header name that is not UTF-8.

    Such a record is read again from a ``TolerantBuffer``; the slow path runs for that
    record only.
    """

    def read_msg(batch: Any, *args: Any, **kwargs: Any) -> Any:
        start = batch._pos
        try:
            return original(batch, *args, **kwargs)
        except UnicodeDecodeError:
            plain = batch._buffer
            batch._pos = start
            batch._buffer = TolerantBuffer(plain)
            try:
                return original(batch, *args, **kwargs)
            finally:
                batch._buffer = plain

    read_msg.__wrapped__ = original  # type: ignore[attr-defined]
    return read_msg


def unwrapped(method: Any) -> Any:
    """The library's own method behind a patch (installing twice never stacks)."""
    return getattr(method, "__wrapped__", method)


def install_kafka_python() -> None:
    """Patch kafka-python's record batch (idempotent)."""
    from kafka.record.default_records import DefaultRecordBatch

    DefaultRecordBatch._read_msg = tolerant_read(unwrapped(DefaultRecordBatch._read_msg))
