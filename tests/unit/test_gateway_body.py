"""Request bodies in every Content-Encoding, as concatenated frames, decoded in pieces."""

from __future__ import annotations

import gzip
import zlib

import pytest
from clickhouse_connect.driver.compression import comp_map, get_compressor

from sinks.gateway.body import decoder_for
from sinks.gateway.exceptions import GatewayError

BLOCKS = [bytes(range(256)) * 300, b"", b"second block\n" * 1000, b"\n"]


def _frames(encoding: str) -> bytes:
    """Each block compressed on its own, as clickhouse-connect sends an insert."""
    if encoding == "gzip":
        return b"".join(gzip.compress(block) for block in BLOCKS)
    if encoding == "deflate":
        return zlib.compress(b"".join(BLOCKS))
    compressor = get_compressor(encoding)
    return b"".join(bytes(compressor.compress_block(block)) for block in BLOCKS if block)


@pytest.mark.parametrize("encoding", ["lz4", "zstd", "gzip", "deflate"])
@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
def test_every_encoding_decodes_across_frames_and_pieces(encoding: str, piece: int) -> None:
    assert encoding in comp_map or encoding in ("gzip", "deflate")
    payload = _frames(encoding)
    decoder = decoder_for(encoding)
    out = b"".join(decoder.feed(payload[i:i + piece]) for i in range(0, len(payload), piece))
    decoder.finish()
    assert out == b"".join(BLOCKS)


def test_identity_passes_through() -> None:
    assert decoder_for(None).feed(b"abc") == b"abc"
    assert decoder_for("identity").feed(b"abc") == b"abc"


@pytest.mark.parametrize("encoding", ["lz4", "zstd", "gzip"])
def test_a_truncated_body_is_an_error(encoding: str) -> None:
    decoder = decoder_for(encoding)
    payload = _frames(encoding)
    decoder.feed(payload[: len(payload) - 5])
    with pytest.raises(GatewayError) as raised:
        decoder.finish()
    assert raised.value.code == 271


def test_garbage_and_unknown_encodings_are_errors() -> None:
    with pytest.raises(GatewayError) as raised:
        decoder_for("gzip").feed(b"not gzip at all")
    assert raised.value.code == 271
    with pytest.raises(GatewayError) as unknown:
        decoder_for("snappy")
    assert unknown.value.code == 48
