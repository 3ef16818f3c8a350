"""The output buffer: the newest state of each changed lead, ledger and rejected rows.

The processor and the replay write here (it implements ``streams.engine.port.Output``);
a flush detaches what is pending, turns each lead's newest state into its contribution
and hands that to a writer (a sink). Several events of one lead between two flushes
therefore cost one contribution and one write.

A flush is all-or-nothing from the caller's point of view: the batch is swapped out
first and, if the write fails, merged back (newer lead states win), so a failed flush
loses nothing and the caller can retry it. Memory is bounded by the caller: ``full()``
says when to stop consuming until a flush succeeds.

A lead this buffer wrote successfully before, at the revision it had when it entered
the batch, is handed over as a row diff (``streams.engine.row_diff``): only its changed
rows and new events. Every other lead, and any lead after a failed write, goes whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from schemas.events import Rejection
from streams.engine.config import EngineConfig
from streams.engine.contribution import contribution
from streams.engine.partials import Partials
from streams.engine.pending import Pending
from streams.engine.port import Position, Writer
from streams.engine.records import LeadKey
from streams.engine.row_diff import WrittenLeads
from streams.engine.state import LeadState
from streams.engine.truncate import keep_raw

Refused = tuple[str, LeadState, str]
"""A lead refused for good: its id, the state whose rows were refused, and why."""


@dataclass
class FlushStats:
    """What the flushes have done so far, for progress lines and metrics."""

    flushes: int = 0
    failures: int = 0
    leads: int = 0
    seconds: float = 0.0


@dataclass
class OutputBuffer:
    """Buffers lead states, ledger rows and rejects until a flush writes them."""

    config: EngineConfig
    max_pending: int = 20_000
    max_age_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    stats: FlushStats = field(default_factory=FlushStats)
    refused: list[Refused] = field(default_factory=list)
    partials: dict[int, Partials] | None = None
    """Home partition -> its partials, if this buffer keeps them (then every
    ``put_lead`` must say the lead's previous state and home partition)."""
    written: WrittenLeads = field(default_factory=WrittenLeads)
    """What this buffer's writes stored, for row diffs (``streams.engine.row_diff``)."""
    _batch: Pending = field(default_factory=Pending)
    _oldest: float | None = None
    _held: dict[LeadKey, tuple[LeadState | None, int]] = field(default_factory=dict)
    """Refused leads: what the partials hold for them (not their table state)."""

    def put_lead(self, lead_id: str, state: LeadState, generation: str = "",
                 previous: LeadState | None = None, home: int = 0) -> None:
        """Remember the newest state of a lead (generation); written at the next flush.

        The first ``previous`` of the batch is the lead's base: the row diff starts from
        it when this buffer stored exactly that, and so do the partials.
        """
        key = LeadKey(lead_id, generation)
        self._batch.leads[key] = state
        if key not in self._batch.bases:
            held = self._held.pop(key, None)
            self._batch.bases[key] = held if held is not None else (previous, home)
        self._touch()

    def put_ledger(self, position: Position, outcome: str, lead_id: str,
                   event_id: str) -> None:
        """Account for one received message (accepted, duplicate or rejected)."""
        self._batch.ledger.append((*position, outcome, lead_id, event_id))
        self._touch()

    def put_rejection(self, rejection: Rejection, position: Position) -> None:
        """Keep a rejected message with its reason, within ``truncate.RAW_LIMIT``.

        Its first ``RAW_LIMIT`` bytes as text (invalid UTF-8 replaced), its size and
        digest, and whether it was cut.
        """
        kept = keep_raw(rejection.raw)
        self._batch.rejected.append((kept.text, rejection.reason, _now_ms(), *position,
                                     kept.size, kept.sha256, kept.truncated))
        self._touch()

    def pending(self) -> int:
        """Entries waiting to be written."""
        return self._batch.size()

    def due(self) -> bool:
        """True when the batch is big enough or its oldest entry old enough to write."""
        if self._oldest is None:
            return False
        return self.pending() >= self.max_pending or (
            self.clock() - self._oldest >= self.max_age_s)

    def full(self) -> bool:
        """True when the caller must stop adding until a flush succeeds (backpressure)."""
        return self.pending() >= 2 * self.max_pending

    def flush(self, writer: Writer) -> int:
        """Write everything pending; return the leads written. Raises on failure.

        Whatever the failure (``OutputError`` or any other exception), the batch is put
        back first, so nothing is lost. Leads refused for good are set aside
        (``take_refused``) and the rest of the batch is written.
        """
        batch = self.take()
        if batch is None:
            return 0
        try:
            return self.write(batch, writer)
        except BaseException:
            self.give_back(batch)
            raise

    def take(self) -> Pending | None:
        """Detach what is pending, to be written (possibly on another thread)."""
        if not self._batch.size() and not self._partials_changed():
            return None
        batch, self._batch = self._batch, Pending()
        batch.oldest, self._oldest = self._oldest, None
        return batch

    def give_back(self, batch: Pending) -> None:
        """Re-attach a batch whose write failed, behind anything added since.

        Any of its rows may or may not have landed, so its leads are written whole next.
        """
        self.written.forget(batch.leads)
        self._batch.merge_older(batch)
        if self.partials is not None:
            self._move_back(batch, batch.leads)
            for home, keys in batch.taken.items():
                self.partials[home].changed.keys.update(keys)
            batch.taken = {}
        if batch.oldest is not None:
            self._oldest = min(batch.oldest, self._oldest or batch.oldest)
        self.stats.failures += 1

    def write(self, batch: Pending, writer: Writer) -> int:
        """Write a detached batch; touches no pending state, so it may run off-loop.

        (It updates ``written``, which a rebalance on the loop may clear meanwhile:
        ``WrittenLeads`` keeps that safe with eras.)
        """
        started = self.clock()
        refusals = writer.write(batch.drain(self.config, self.partials, self.written))
        self.refused.extend((r.key.lead_id, batch.leads[r.key], r.reason) for r in refusals)
        self.written.wrote(batch.stored, batch.era)
        self.written.forget(r.key for r in refusals)
        if self.partials is not None:
            self._unwind(batch, [r.key for r in refusals])
        self.stats.flushes += 1
        self.stats.leads += len(batch.leads)
        self.stats.seconds += self.clock() - started
        return len(batch.leads)

    def _move_back(self, batch: Pending, keys: Iterable[LeadKey]) -> None:
        """Move these leads' partials back to their bases (what the store holds)."""
        assert self.partials is not None
        if not batch.applied:
            return
        for key in keys:
            base, home = batch.bases[key]
            self.partials[home].apply(contribution(batch.leads[key], self.config),
                                      None if base is None else contribution(base, self.config))

    def _unwind(self, batch: Pending, refused: list[LeadKey]) -> None:
        """Move refused leads' partials back: their newer rows are not in the store.

        The store keeps a refused lead's previous revision (the lead goes to the DLQ),
        so the partials must too; the keys this moves are written by the next flush. The
        lead's table state is newer than what the partials hold for it, so its base is
        held here until it is written again.
        """
        self._move_back(batch, refused)
        for key in refused:
            if key in self._batch.bases:  # newer events of the lead arrived meanwhile
                self._batch.bases[key] = batch.bases[key]
            else:
                self._held[key] = batch.bases[key]
        if refused:
            self._touch()

    def forget_written(self) -> None:
        """Write every lead whole next time (a rebalance, a version switch).

        After a rebalance another worker may have written this worker's leads; after a
        version switch the store of the new version holds nothing of this buffer's.
        """
        self.written.forget()

    def take_refused(self) -> list[Refused]:
        """Leads refused for good since the last call, with why."""
        refused, self.refused = self.refused, []
        return refused

    def _partials_changed(self) -> bool:
        return self.partials is not None and any(p.changed.keys for p in self.partials.values())

    def _touch(self) -> None:
        if self._oldest is None:
            self._oldest = self.clock()


def _now_ms() -> int:
    return int(time.time() * 1000)
