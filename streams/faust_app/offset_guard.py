"""Patches to Faust's consumer so that it never skips offsets nobody has processed.

Two faust-streaming behaviours can move a partition past messages nobody processed.

**Partitions nobody has committed yet.** While a worker restores its table after a
rebalance, Faust's fetcher drains records of the not-yet-active source partitions from
aiokafka and drops them (``Consumer.getmany`` yields only active partitions), which
advances aiokafka's position. Faust then relies on ``perform_seek`` (seek to the
committed offset) to read them again, but that is a no-op for a partition with no
committed offset, so the partition silently resumes wherever the drained records
ended. Seen in ``tests/integration/test_recovery.py::test_two_workers_one_killed``: a
worker joining a young group started ``calls/0`` at offset 497 instead of 0, and 265
calls were never processed (related: faust-streaming#216). This module makes
``perform_seek`` move such partitions of the event topics to their first offset, which
is what ``consumer_auto_offset_reset="earliest"`` promises.

**Prefetched messages after a rebalance.** faust-streaming can hand an agent a
prefetched message far beyond the committed offset right after a rebalance
(faust-streaming#221), and it then records the skipped range as a "gap" that counts as
acknowledged (``Consumer._add_gap``, meant for compacted topics and transaction
markers; see also #606), so the next commit moves past messages nobody processed.
(This was first blamed for the loss above; the guard below did fire once on a real
skip, ``calls/1: offsets 2..177``, but could not see the uncommitted case, where it
had no committed offset to compare with.)

leadclock's event topics are plain, non-compacted and written without transactions,
so their offsets are contiguous and a gap can only mean "skipped". This module:

* seeks uncommitted event partitions to their earliest offset after every
  ``perform_seek`` (see above);
* stops Faust from acknowledging gaps on the event topics (other topics unchanged), so
  a skip can at worst hold commits back, never lose a message;
* watches the offsets the agent sees and, when one jumps ahead of the next expected
  offset, seeks the partition back to it, so the skipped messages are read again.

Consequence (documented): event topics must not be compacted or written by
transactional producers; their control records would look like skips forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaError
from faust.transport.consumer import Consumer

RESEEK_INTERVAL_S = 1.0


def committable_offset(acked: list[int], start: int | None) -> tuple[int | None, list[int]]:
    """The offset to commit for one partition, and the acknowledged offsets still held.

    ``start`` is the first offset not yet committed (Kafka's committed offset, or the
    partition's first offset when nothing was committed). A commit covers only the run
    of acknowledged offsets that begins exactly there, so it can never pass a message
    that was not processed. Faust's own rule commits the first run of acknowledged
    offsets wherever it begins when nothing was committed yet, and accepts a run that
    begins one past the committed offset.
    """
    held = sorted(offset for offset in set(acked) if start is None or offset >= start)
    if start is None or not held or held[0] != start:
        return None, held
    end = 0
    while end + 1 < len(held) and held[end + 1] == held[end] + 1:
        end += 1
    return held[end] + 1, held[end + 1:]


@dataclass
class ConsumerSafety:
    """Patches to Faust's consumer that keep it from moving past unprocessed messages.

    Installed once per worker for the event topics, by ``streams.faust_app.patches``
    after it has checked the private names used here (other topics, such as the table
    changelog, keep Faust's behaviour). Installing again replaces the patches.
    """

    event_topics: frozenset[str]
    starts: dict[Any, int] = field(default_factory=dict)
    """Where each uncommitted event partition was sent back to, since the last assignment."""
    durable: dict[Any, int] = field(default_factory=dict)
    """Committed offsets known to be in Kafka: read at assignment, or from a commit that
    succeeded. (Faust records a commit's offsets even when the commit failed.)"""

    def start_of(self, consumer: Any, tp: Any) -> int | None:
        """The first offset of ``tp`` not yet committed, or None while unknown."""
        committed = consumer._committed_offset.get(tp)
        return int(committed) if committed else self.starts.get(tp)

    def durable_start_of(self, tp: Any) -> int | None:
        """Like ``start_of``, counting only commits known to have succeeded.

        What the state TTL relies on: a message below this offset is never redelivered
        to this group.
        """
        committed = self.durable.get(tp)
        return committed if committed is not None else self.starts.get(tp)

    def forget(self) -> None:
        """Call on every assignment: start offsets are found again after it."""
        self.starts.clear()
        self.durable.clear()

    def install(self) -> None:
        """Replace Faust's seek, gap and commit-offset methods for the event topics.

        Must run before the app creates its consumer (``_read_offset`` is wrapped when
        the consumer sets it in ``__init__``).
        """
        safety = self
        original_seek = _unpatched(Consumer.perform_seek)
        original_gap = _unpatched(Consumer._add_gap)
        original_new_offset = _unpatched(Consumer._new_offset)
        original_commit = _unpatched(Consumer._commit_offsets)

        async def perform_seek(consumer: Consumer) -> None:
            await original_seek(consumer)
            for tp in consumer.assignment():
                committed = consumer._committed_offset.get(tp)
                if tp.topic in safety.event_topics and committed:
                    safety.durable[tp] = int(committed)  # just read from Kafka
            await safety._restart_uncommitted(consumer)

        async def commit_offsets(consumer: Consumer, offsets: Any,
                                 start_new_transaction: bool = True) -> bool:
            did_commit: bool = await original_commit(consumer, offsets,
                                                     start_new_transaction)
            if did_commit:
                assignment = consumer.assignment()
                safety.durable.update({tp: offset for tp, offset in offsets.items()
                                       if tp in assignment and tp.topic in safety.event_topics})
            return did_commit

        async def add_gap(consumer: Consumer, tp: Any, offset_from: int,
                          offset_to: int) -> None:
            if tp.topic in safety.event_topics:
                return  # a gap is a skip here: OffsetGuard reads it again
            await original_gap(consumer, tp, offset_from, offset_to)

        def new_offset(consumer: Consumer, tp: Any) -> int | None:
            if tp.topic not in safety.event_topics:
                return original_new_offset(consumer, tp)  # type: ignore[no-any-return]
            offset, held = committable_offset(consumer._acked[tp],
                                              safety.start_of(consumer, tp))
            consumer._acked[tp] = held
            consumer._acked_index[tp] = set(held)
            return offset

        patches: tuple[tuple[str, Any, Any], ...] = (
            ("perform_seek", perform_seek, original_seek),
            ("_add_gap", add_gap, original_gap),
            ("_new_offset", new_offset, original_new_offset),
            ("_commit_offsets", commit_offsets, original_commit),
        )
        for name, patch, original in patches:
            patch.__wrapped__ = original
            setattr(Consumer, name, patch)
        Consumer._read_offset = property(  # type: ignore[assignment]
            lambda consumer: consumer.__dict__["_leadclock_read_offset"],
            lambda consumer, offsets: consumer.__dict__.__setitem__(
                "_leadclock_read_offset", ReadOffsets(safety.event_topics, offsets)),
        )

    async def _restart_uncommitted(self, consumer: Consumer) -> None:
        """Send event partitions with no committed offset back to their first offset.

        Faust's ``perform_seek`` leaves them wherever the records it drained and dropped
        ended. Offset 0 resets to the earliest retained offset under
        ``auto_offset_reset="earliest"``, which is then looked up so that commits know
        where the partition starts. Records the fetcher hands out from the old position
        meanwhile are caught by ``OffsetGuard`` and can never be committed past.
        """
        uncommitted = [tp for tp in consumer.assignment()
                       if tp.topic in self.event_topics
                       and not consumer._committed_offset.get(tp)]
        if not uncommitted:
            return
        if not await seek_safely(consumer, dict.fromkeys(uncommitted, 0)):
            return
        earliest = await consumer.earliest_offsets(*uncommitted)
        for tp in uncommitted:
            self.starts[tp] = int(earliest[tp])


class ReadOffsets(dict[Any, int | None]):
    """Faust's last-read offset per partition, never consulted for the event topics.

    Faust's fetcher drops a message whose offset is below the last one it read. After a
    seek back (``OffsetGuard``), a message fetched before the seek can still finish its
    delivery and record its (higher) offset *after* the seek, and the fetcher then drops
    every re-read message: the worker re-seeks forever and its commits never move (seen
    as a stalled ``test_two_workers_one_killed``). For the event topics a re-read is
    harmless (the engine is idempotent), so this mapping answers "nothing read yet" for
    them, which lets every message through; other topics keep Faust's behaviour.
    """

    def __init__(self, event_topics: frozenset[str], offsets: Any = ()) -> None:
        super().__init__(offsets)
        self.event_topics = event_topics

    def __getitem__(self, tp: Any) -> int | None:
        if tp.topic in self.event_topics:
            return None
        return self.get(tp)


async def seek_safely(consumer: Any, offsets: dict[Any, int]) -> bool:
    """Seek on the consumer's own thread; False if the partitions moved meanwhile.

    Faust's ``Consumer.seek`` calls aiokafka from the caller's thread while the consumer
    thread may be inside ``fetched_records``; the two then race on aiokafka's record
    buffer (seen as ``KeyError`` in ``fetched_records``, crashing the worker's fetcher).
    ``seek_wait`` runs the seek on the consumer thread and waits for the new position.
    A rebalance in between (partition no longer assigned, or no position in time) is
    not an error: the next assignment seeks again, and commits stay held until then.
    """
    try:
        await consumer.seek_wait(offsets)
    except (KafkaError, TimeoutError):
        return False
    return True


def _unpatched(method: Any) -> Any:
    """Faust's own method, so that installing again replaces a patch instead of stacking it."""
    return getattr(method, "__wrapped__", method)


@dataclass
class OffsetGuard:
    """Tracks the next expected offset per partition and seeks back over skips."""

    committed: Callable[[Any], int | None]
    """The first offset of a partition not yet committed (``ConsumerSafety.start_of``)."""
    next_offset: dict[Any, int] = field(default_factory=dict)
    last_seek: dict[Any, float] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget expectations (after a rebalance the committed offsets are the truth)."""
        self.next_offset.clear()

    def skipped_from(self, tp: Any, offset: int) -> int | None:
        """The first skipped offset if ``offset`` jumps ahead, else None (and advance)."""
        expected = self.next_offset.get(tp)
        if expected is None:
            expected = self.committed(tp)
            if expected is None:
                self.next_offset[tp] = offset + 1
                return None
        if offset > expected:
            return expected
        self.next_offset[tp] = max(expected, offset + 1)
        return None

    def should_seek(self, tp: Any) -> bool:
        """Rate-limit seeks per partition (a seek takes effect after a fetch or two)."""
        now = time.monotonic()
        if now - self.last_seek.get(tp, 0.0) < RESEEK_INTERVAL_S:
            return False
        self.last_seek[tp] = now
        return True
