"""The DLQ copy of a rejected message: its original key and value, why, and from where.

A reject can be as big as the broker allows on its source topic, which may be more than
a producer request or the DLQ topic take (Faust's producer refused 1,040,000 bytes, a
default broker takes 1,048,588). A copy that does not fit is **truncated** rather than
dropped, and says so in its headers (the rejected message stays whole on its source
topic, until retention, at the position in ``leadclock-source``):

=============================  ===============================================
``leadclock-reason``           why it was rejected (``<field>: <problem>``)
``leadclock-source``           ``topic/partition/offset`` of the original
``leadclock-truncated``        ``true`` when the value (or the key) was cut
``leadclock-original-size``    bytes of the original value, when cut
``leadclock-original-sha256``  hex SHA-256 of the original value, when cut
``leadclock-original-key-size``  bytes of the original key, when the key was cut
=============================  ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from streams.engine.truncate import sha256_hex, utf8_prefix

DLQ_LIMIT: Final = 1_000_000
"""Bytes a DLQ record may take (key, value and headers): Faust's default producer request
limit, below a default broker's ``message.max.bytes`` (1,048,588)."""
RECORD_ROOM: Final = 512
"""Room kept for the record's framing, beyond the key, value and headers."""
KEPT_KEY: Final = 1024
"""Bytes kept of a key too big to fit with its value."""
REASON_CHARS: Final = 2000
"""Characters of the reason kept in its header."""
MIN_LIMIT: Final = 4 * (RECORD_ROOM + KEPT_KEY + REASON_CHARS)
"""The smallest limit a dead letter is cut for."""
Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """What to produce to the DLQ topic for one rejected message."""

    key: bytes | None
    value: bytes
    headers: Headers
    truncated: bool


def dead_letter_record(key: bytes | None, value: bytes | None, reason: str, source: str,
                       limit: int = DLQ_LIMIT) -> DeadLetterRecord:
    """The DLQ record of a rejected message, cut to fit ``limit`` bytes if it must be.

    A tombstone (no value) is sent with an empty value: a record needs a key or a value,
    and the reason says it was a tombstone.
    """
    original = value or b""
    headers: Headers = (("leadclock-reason", reason[:REASON_CHARS].encode(errors="replace")),
                        ("leadclock-source", source.encode()))
    budget = limit - RECORD_ROOM - _headers_size(headers)
    if len(key or b"") + len(original) <= budget:
        return DeadLetterRecord(key, original, headers, truncated=False)
    kept_key = key
    if key is not None and len(key) > budget // 2:
        kept_key = utf8_prefix(key, KEPT_KEY)
    extra: Headers = (("leadclock-truncated", b"true"),
                      ("leadclock-original-size", str(len(original)).encode()),
                      ("leadclock-original-sha256", sha256_hex(original).encode()))
    if kept_key is not key and key is not None:
        extra += (("leadclock-original-key-size", str(len(key)).encode()),)
    budget -= _headers_size(extra) + len(kept_key or b"")
    kept_value = utf8_prefix(original, max(budget, 0))
    return DeadLetterRecord(kept_key, kept_value, headers + extra, truncated=True)


def halved(limit: int) -> int | None:
    """The limit to try after Kafka refused a dead letter of ``limit`` bytes as too large.

    None when half would not even hold the headers and a cut key.
    """
    half = limit // 2
    return half if half >= MIN_LIMIT else None


def _headers_size(headers: Headers) -> int:
    return sum(len(name) + len(value) + 8 for name, value in headers)
