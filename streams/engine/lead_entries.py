"""A lead's state over several table entries, so that a message writes a bounded one.

Issue 12, goal 5. The worker keeps each lead's state in its Faust table, and every table
write is a changelog record: with the whole state in one entry, the record a message
writes grows with the lead's history (730 bytes at a lead's 14th event in the demo,
against 58 at its first). So the state is split, in the order events were accepted:

* entry ``lead_id`` (UTF-8) holds the lead's first :data:`CHUNK_EVENTS` accepted events,
* entry ``lead_id 0xFF 1`` the next ones, ``lead_id 0xFF 2`` the next, and so on.

An accepted event is written into the last entry only (a new entry once that is full),
so a message writes at most :data:`CHUNK_EVENTS` events whatever the lead's history. The
entries are encoded as ``streams.engine.state`` encodes a state (byte 0xFF never occurs
in UTF-8, so no lead's key is another lead's entry), plus the *stamp* of the lead's
first entry, drawn when that was created; the bookkeeping (``extra``, a state TTL's
arrivals) is stored with the last entry.

Why each rule, for a crash (the changelog loses a suffix of what was produced) and the
state TTL (which deletes expired leads):

* A duplicate rewrites every entry, as a duplicate rewrote the whole state before: after
  a kill -9 the local store can hold an event whose changelog write was lost, and the
  rewrite puts it in the changelog before the duplicate's offset is committed.
* Entries fill in order, so a lost suffix of changelog writes loses a lead's newest
  events, never a middle entry: what is left is a state the lead had.
* An expired lead's first entry is deleted first. A crash can then lose the tombstones of
  later entries, and those would be read by the lead's next generation; the stamp tells
  them apart (a stamp differs, the entry is not the lead's).
* An entry written before entries were split holds the whole state, of any size, and no
  stamp: it is the lead's first entry (full if it holds 8 events or more, and the lead
  goes on in a second one), and the entries after it carry no stamp either.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Final, Protocol

from schemas.events import Event
from schemas.fast import fast_constructor
from streams.engine.state import LeadState, decode_stamped, encode_state

CHUNK_EVENTS: Final = 8
"""Events per entry: what one message's changelog record holds at most (about 50 bytes
each, encoded)."""
SEPARATOR: Final = b"\xff"
"""Between a lead's key and an entry's index (never part of UTF-8)."""

_path: Final = attrgetter("occurred_at_us", "event_id")


class Entries(Protocol):
    """Where entries are read from: the Faust table, one partition's store, a dict."""

    def get(self, key: bytes, /) -> bytes | None:
        """The entry at ``key`` (None: none)."""


@dataclass(frozen=True, slots=True)
class StoredLead:
    """What the table holds for a lead: its state, entry by entry."""

    parts: tuple[LeadState, ...] = ()
    """Each entry's events, first entry first (empty: no entry)."""
    extra: object = None
    """The bookkeeping stored with the last entry (None: none)."""
    stamp: int | None = None
    """The stamp every entry of this lead carries (None: written before stamps)."""

    @property
    def exists(self) -> bool:
        """True if the table holds an entry for the lead."""
        return bool(self.parts)

    def state(self) -> LeadState:
        """Every event of the lead, in path order."""
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return LeadState()
        return LeadState(tuple(sorted((t for p in parts for t in p.touches), key=_path)),
                         tuple(sorted((b for p in parts for b in p.purchases), key=_path)))


_new_stored: Callable[[tuple[LeadState, ...], object, int | None], StoredLead] = (
    fast_constructor(StoredLead))
_NOTHING: Final = StoredLead()
_stamps: Final = random.Random(os.urandom(16))
"""Stamps need only differ between a lead's generations, not be secret; this is faster
than ``secrets`` on the path of every new lead."""


def entry_key(key: bytes, index: int) -> bytes:
    """The table key of a lead's ``index``-th entry (``key``: the lead's own key)."""
    return key if index == 0 else key + SEPARATOR + str(index).encode()


def is_lead_key(key: bytes) -> bool:
    """True for a lead's first entry (the one that names the lead)."""
    return SEPARATOR not in key


def read(table: Entries, lead_id: str, key: bytes) -> StoredLead:
    """The lead's entries, from its first until one that is not full or is missing."""
    first = table.get(key)
    if first is None:
        return _NOTHING
    part, extra, stamp = decode_stamped(lead_id, first)
    if _size(part) < CHUNK_EVENTS:  # most leads: one entry
        return _new_stored((part,), extra, stamp)
    parts = [part]
    while _size(parts[-1]) >= CHUNK_EVENTS:
        data = table.get(entry_key(key, len(parts)))
        if data is None:
            break
        part, more, entry_stamp = decode_stamped(lead_id, data)
        if entry_stamp != stamp:
            break  # left by an expired generation (see the module docstring)
        parts.append(part)
        extra = more
    return _new_stored(tuple(parts), extra, stamp)


def write(table: MutableMapping[bytes, bytes], key: bytes, stored: StoredLead,
          accepted: Event | None, kept: LeadState, extra: object) -> None:
    """Store the lead after a message: its one changed entry (a duplicate: every entry).

    ``kept`` is the lead's whole state now, ``accepted`` the event the message added to
    ``stored`` (None: a duplicate; see the module docstring).
    """
    parts = stored.parts
    if accepted is None:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            _put(table, key, index, part, extra if last else None, stored.stamp)
    elif not parts:
        _put(table, key, 0, kept, extra, _stamps.getrandbits(31) + 1)
    elif len(parts) == 1 and _size(parts[0]) < CHUNK_EVENTS:
        _put(table, key, 0, kept, extra, stored.stamp)  # one entry holds the whole state
    elif _size(parts[-1]) >= CHUNK_EVENTS:
        _put(table, key, len(parts), LeadState().with_event(accepted), extra, stored.stamp)
    else:
        _put(table, key, len(parts) - 1, parts[-1].with_event(accepted), extra, stored.stamp)


def delete(table: MutableMapping[bytes, bytes], key: bytes, stored: StoredLead) -> None:
    """Forget the lead: its first entry first (see the module docstring)."""
    for index in range(len(stored.parts)):
        del table[entry_key(key, index)]


def leads(keys: Iterable[bytes], entries: Entries) -> Iterator[tuple[bytes, StoredLead]]:
    """Every lead among ``keys`` (a table's, or one partition's), with what it holds."""
    for key in keys:
        if is_lead_key(key):
            yield key, read(entries, key.decode("utf-8", errors="replace"), key)


def _size(part: LeadState) -> int:
    return len(part.touches) + len(part.purchases)


def _put(table: MutableMapping[bytes, bytes], key: bytes, index: int, part: LeadState,
         extra: object, stamp: int | None) -> None:
    table[entry_key(key, index)] = encode_state(part, extra, stamp)

