"""Never let the consumer skip offsets it has not processed.

faust-streaming can hand an agent a prefetched message far beyond the committed offset
right after a rebalance (faust-streaming#221), and it then records the skipped range
as a "gap" that counts as acknowledged (``Consumer._add_gap``, meant for compacted
topics and transaction markers; see also #606). The next commit then moves past
messages nobody processed: a worker taking over a dead worker's partitions lost them
(seen in ``tests/integration/test_recovery.py::test_two_workers_one_killed``).

leadclock's event topics are plain, non-compacted and written without transactions,
so their offsets are contiguous and a gap can only mean "skipped". This module:

* stops Faust from acknowledging gaps on the event topics (other topics unchanged), so
  a skip can at worst hold commits back, never lose a message;
* watches the offsets the agent sees and, when one jumps ahead of the next expected
  offset, seeks the partition back to it, so the skipped messages are read again.

Consequence (documented): event topics must not be compacted or written by
transactional producers; their control records would look like skips forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from faust.transport.consumer import Consumer

RESEEK_INTERVAL_S = 1.0


def keep_gaps_unacknowledged(event_topics: Collection[str]) -> None:
    """Make Faust's consumer ignore offset gaps on ``event_topics`` instead of acking them."""
    original = Consumer._add_gap
    topics = frozenset(event_topics)

    async def add_gap(self: Consumer, tp: Any, offset_from: int, offset_to: int) -> None:
        if tp.topic in topics:
            return  # leadclock re-reads skipped offsets instead (OffsetGuard)
        await original(self, tp, offset_from, offset_to)

    Consumer._add_gap = add_gap  # type: ignore[method-assign]


@dataclass
class OffsetGuard:
    """Tracks the next expected offset per partition and seeks back over skips."""

    committed: Callable[[Any], int | None]
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
