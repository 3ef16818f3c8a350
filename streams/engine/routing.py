"""Which partition a lead lives on, whatever partitioner its producer used.

A lead's state lives on one partition of the Faust table, so all of its events must be
processed there. Producers do not agree on where a key goes: the Java client and
kafka-python hash it with murmur2, librdkafka (kcat, Go, Node, .NET...) with CRC32 by
default, and some producers send no key or any key they like. The worker therefore
decides a lead's **home partition** itself, the way the Java client does with the
``lead_id`` as key (``murmur2(lead_id) % partitions``), and moves an event that arrived
anywhere else to its home partition on the internal ``rerouted`` topic (see
docs/exactly-once.md, "The repartition hop"). An event produced by ``leadclock
produce`` or any murmur2 producer keyed by ``lead_id`` is already home and costs one
hash (cached per lead).

The hop carries the message's original position in a header (``leadclock-origin``),
so the copy is accounted for at the original position, exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from struct import Struct
from typing import Final

from streams.engine.port import Position

ORIGIN_HEADER: Final = "leadclock-origin"
"""Header of a rerouted copy: where the original was (``topic/partition/offset``)."""
_SEED: Final = 0x9747B28C
_M: Final = 0x5BD1E995
_MASK: Final = 0xFFFFFFFF
_WORDS: dict[int, Struct] = {}


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (Java ``Utils.murmur2``), as an unsigned 32-bit integer.

    Same result as kafka-python's and aiokafka's pure-Python ``murmur2``; about twice
    as fast, because the 4-byte words are unpacked in one C call (benchmarks in the
    README, "Partitioners and the rerouted topic").
    """
    length = len(data)
    h = _SEED ^ length
    words = length >> 2
    if words:
        unpack = _WORDS.get(words)
        if unpack is None:
            unpack = _WORDS.setdefault(words, Struct(f"<{words}I"))
        for k in unpack.unpack_from(data):
            k = (k * _M) & _MASK
            k ^= k >> 24
            h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = length & 3
    if tail:
        base = length - tail
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h = ((h ^ data[base]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def home_partition(key: bytes, partitions: int) -> int:
    """The partition the Java client's default partitioner gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(slots=True)
class HomePartitions:
    """``lead_id`` -> its home partition, cached (a lead's events come in bursts)."""

    partitions: int
    max_cached: int = 200_000
    _cache: dict[str, int] = field(default_factory=dict)

    def __call__(self, lead_id: str) -> int:
        """The home partition of ``lead_id``."""
        home = self._cache.get(lead_id)
        if home is None:
            if len(self._cache) >= self.max_cached:
                self._cache.clear()  # cheaper than an LRU, and a miss costs one hash
            home = self._cache[lead_id] = home_partition(lead_id.encode(), self.partitions)
        return home


def format_position(position: Position) -> str:
    """``topic/partition/offset``: how headers name a message's position."""
    source, partition, offset = position
    return f"{source}/{partition}/{offset}"


def parse_origin(value: bytes | None) -> Position | None:
    """The position in a ``leadclock-origin`` header, or None if it is not one.

    Topic names cannot contain ``/`` (Kafka allows letters, digits, ``.``, ``_`` and
    ``-``), so the last two fields are the partition and the offset.
    """
    if not value:
        return None
    parts = value.decode("utf-8", errors="replace").rsplit("/", 2)
    if len(parts) != 3 or not parts[0]:
        return None
    topic, partition, offset = parts
    if not (partition.isdigit() and offset.isdigit()):
        return None
    return topic, int(partition), int(offset)
