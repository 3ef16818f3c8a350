"""Keeping a rejected message within limits: a bounded, valid-UTF-8 prefix plus what was cut.

A message of any size and any bytes can be rejected (up to the broker's maximum, about
1 MiB by default, or more where a topic allows it). ``rejected_events`` keeps its first
``RAW_LIMIT`` bytes as text, with its full size, its SHA-256 and whether it was cut, so
a huge or binary reject never bloats the table (or the worker's buffer, which holds
rejects until the next flush) and can still be matched with its DLQ copy. The DLQ copy
(``streams.kafka.dead_letter``) uses the same helpers with the producer's limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

RAW_LIMIT: Final = 64 * 1024
"""Bytes of a rejected message kept in ``rejected_events.raw`` (the DLQ keeps more)."""


def utf8_prefix(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes of ``data``, not cutting a UTF-8 character in two.

    A cut inside a multi-byte character would decode as a replacement character; bytes
    that were not UTF-8 in the first place are left as they are.
    """
    if len(data) <= limit:
        return data
    end = max(limit, 0)
    back = end
    # Step back over at most three continuation bytes (10xxxxxx) to a lead byte.
    while back > 0 and end - back < 3 and data[back] & 0xC0 == 0x80:
        back -= 1
    if back < end and data[back] & 0xC0 == 0xC0 and _sequence_length(data[back]) > end - back:
        return data[:back]
    return data[:end]


def _sequence_length(lead: int) -> int:
    """Bytes of the UTF-8 sequence a lead byte starts (1 for anything else)."""
    if lead >= 0xF0:
        return 4
    if lead >= 0xE0:
        return 3
    if lead >= 0xC0:
        return 2
    return 1


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of the whole original message (identifies it after truncation)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class KeptRaw:
    """What ``rejected_events`` stores of a rejected message."""

    text: str
    """The first ``RAW_LIMIT`` bytes, decoded as UTF-8 (invalid bytes replaced)."""
    size: int
    """Bytes of the original message."""
    sha256: str
    truncated: bool


def keep_raw(raw: bytes, limit: int = RAW_LIMIT) -> KeptRaw:
    """The stored form of a rejected message's bytes."""
    kept = utf8_prefix(raw, limit)
    return KeptRaw(kept.decode("utf-8", errors="replace"), len(raw), sha256_hex(raw),
                   len(kept) < len(raw))
