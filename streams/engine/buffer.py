"""The output buffer: the newest state of each changed lead, ledger and rejected rows.

The processor and the replay write here (it implements ``streams.engine.port.Output``);
a flush detaches what is pending, turns each lead's newest state into its contribution
and hands that to a writer (a sink). Several events of one lead between two flushes
therefore cost one contribution and one write.

A flush is all-or-nothing from the caller's point of view: the batch is swapped out
first and, if the write fails, merged back (newer lead states win), so a failed flush
loses nothing and the caller can retry it. Memory is bounded by the caller: ``full()``
says when to stop consuming until a flush succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from schemas.events import Rejection
from streams.engine.config import EngineConfig
from streams.engine.contribution import contribution
from streams.engine.port import LedgerRow, OutputBatch, Position, RejectedRow, Writer
from streams.engine.records import LeadKey
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
class Pending:
    """What is waiting to be written."""

    leads: dict[LeadKey, LeadState] = field(default_factory=dict)
    ledger: list[LedgerRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    oldest: float | None = None

    def size(self) -> int:
        """Leads plus ledger and reject rows waiting."""
        return len(self.leads) + len(self.ledger) + len(self.rejected)

    def merge_older(self, older: Pending) -> None:
        """Put a failed batch back behind this newer one (newer lead states win)."""
        for key, state in older.leads.items():
            self.leads.setdefault(key, state)
        self.ledger[:0] = older.ledger
        self.rejected[:0] = older.rejected

    def drain(self, config: EngineConfig) -> OutputBatch:
        """The batch a writer takes: each lead's contribution at its newest state."""
        return OutputBatch({key: contribution(state, config) for key, state in self.leads.items()},
                           self.ledger, self.rejected, self.leads)


@dataclass
class OutputBuffer:
    """Buffers lead states, ledger rows and rejects until a flush writes them."""

    config: EngineConfig
    max_pending: int = 20_000
    max_age_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    stats: FlushStats = field(default_factory=FlushStats)
    refused: list[Refused] = field(default_factory=list)
    _batch: Pending = field(default_factory=Pending)
    _oldest: float | None = None

    def put_lead(self, lead_id: str, state: LeadState, generation: str = "") -> None:
        """Remember the newest state of a lead (generation); written at the next flush."""
        self._batch.leads[LeadKey(lead_id, generation)] = state
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
        if not self._batch.size():
            return None
        batch, self._batch = self._batch, Pending()
        batch.oldest, self._oldest = self._oldest, None
        return batch

    def give_back(self, batch: Pending) -> None:
        """Re-attach a batch whose write failed, behind anything added since."""
        self._batch.merge_older(batch)
        if batch.oldest is not None:
            self._oldest = min(batch.oldest, self._oldest or batch.oldest)
        self.stats.failures += 1

    def write(self, batch: Pending, writer: Writer) -> int:
        """Write a detached batch; touches no pending state, so it may run off-loop."""
        started = self.clock()
        refusals = writer.write(batch.drain(self.config))
        self.refused.extend((r.key.lead_id, batch.leads[r.key], r.reason) for r in refusals)
        self.stats.flushes += 1
        self.stats.leads += len(batch.leads)
        self.stats.seconds += self.clock() - started
        return len(batch.leads)

    def take_refused(self) -> list[Refused]:
        """Leads refused for good since the last call, with why."""
        refused, self.refused = self.refused, []
        return refused

    def _touch(self) -> None:
        if self._oldest is None:
            self._oldest = self.clock()


def _now_ms() -> int:
    return int(time.time() * 1000)
