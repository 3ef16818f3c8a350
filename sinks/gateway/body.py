"""Decoding a request body sent with ``Content-Encoding`` (lz4, zstd, gzip, deflate).

Bodies are decoded incrementally, so a large insert never has to sit in memory whole,
and frame by frame: clickhouse-connect compresses each insert block as its own frame,
so a body is a concatenation of frames, which one-shot helpers would stop reading after
the first. The decompressor objects come from clickhouse-connect (the same codecs its
HTTP transport uses), plus the standard library for gzip and deflate.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

from clickhouse_connect.driver.compression import (
    _lz4_decompressor,
    _zstd_decompressor,
    _ZstdError,
)

from sinks.gateway.exceptions import GatewayError


class _Decompressor(Protocol):
    """What lz4.frame, zstd and zlib decompressor objects have in common."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes) -> bytes: ...


class BodyDecoder:
    """Turns the received bytes of a body into its decoded bytes, frame after frame."""

    def __init__(self, factory: Callable[[], _Decompressor] | None, name: str) -> None:
        self._factory = factory
        self._name = name
        self._current = factory() if factory else None
        self._pending = False

    def feed(self, data: bytes) -> bytes:
        """Decode what arrived; returns whatever is complete so far."""
        if self._factory is None or self._current is None:
            return data
        out: list[bytes] = []
        try:
            while data:
                out.append(self._current.decompress(data))
                self._pending = not self._current.eof
                if self._pending:
                    break
                data = self._current.unused_data
                self._current = self._factory()
        except (OSError, RuntimeError, ValueError, zlib.error, _ZstdError) as error:
            raise _corrupt(self._name, error) from error
        return b"".join(out)

    def finish(self) -> None:
        """Check the body did not end in the middle of a frame."""
        if self._pending:
            raise _corrupt(self._name, "the body ends inside a compressed frame")


def decoder_for(encoding: str | None) -> BodyDecoder:
    """The decoder for a ``Content-Encoding`` header value (absent: pass-through)."""
    name = (encoding or "identity").strip().lower()
    factories: dict[str, Callable[[], _Decompressor]] = {
        "lz4": _lz4_decompressor,
        "zstd": _zstd_decompressor,
        "gzip": lambda: zlib.decompressobj(wbits=16 + zlib.MAX_WBITS),
        # HTTP "deflate" is a zlib stream; accept a gzip header there too (auto-detect).
        "deflate": lambda: zlib.decompressobj(wbits=32 + zlib.MAX_WBITS),
    }
    if name in ("", "identity"):
        return BodyDecoder(None, name)
    if name not in factories:
        raise GatewayError.of(48, "NOT_IMPLEMENTED", f"Unknown Content-Encoding '{name}'")
    return BodyDecoder(factories[name], name)


def _corrupt(name: str, cause: object) -> GatewayError:
    return GatewayError.of(271, "CANNOT_DECOMPRESS",
                           f"Cannot decode the {name} request body: {cause}")
