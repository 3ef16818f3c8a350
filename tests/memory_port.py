"""In-memory implementation of the engine's writer port: the pipeline without ClickHouse.

``MemoryWriter`` keeps what the views would show after the writes (each lead's
contribution at its highest revision, the ledger and the rejected rows keyed by their
position, so a rewrite replaces), and can fail on demand like a sink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from schemas.events import Event
from streams.engine.exceptions import OutputError
from streams.engine.port import LedgerRow, OutputBatch, Position, Refusal, RejectedRow
from streams.engine.records import Contribution, LeadKey
from streams.engine.state import LeadState
from tests.compare import answer_from_totals
from tests.incremental_engine import outcome_of
from tests.oracle import Answer
from tests.totals import Totals

RANK = {"rerouted": 0, "rejected": 1, "duplicate": 2, "accepted": 3}
"""``ingest_ledger.rank``: which outcome of a position the table keeps."""


@dataclass
class MemoryWriter:
    """A ``streams.engine.port.Writer`` over dicts."""

    leads: dict[LeadKey, Contribution] = field(default_factory=dict)
    states: dict[LeadKey, LeadState] = field(default_factory=dict)
    """The state behind each stored contribution (what ``replay --append`` reads back)."""
    ledger: dict[Position, LedgerRow] = field(default_factory=dict)
    rejected: dict[Position, RejectedRow] = field(default_factory=dict)
    writes: int = 0
    transient_failures: int = 0
    """Fail this many writes as retryable (``retry_after`` 0)."""
    fatal: str = ""
    """Fail every write for good with this message, while set."""
    refuse: frozenset[str] = frozenset()
    """Lead ids whose rows are refused for good (the rest of the batch is written)."""
    on_write: Callable[[], None] | None = None
    """Called at the start of every write (on the writer's thread)."""

    def write(self, batch: OutputBatch) -> list[Refusal]:
        if self.on_write is not None:
            self.on_write()
        if self.transient_failures:
            self.transient_failures -= 1
            raise OutputError("memory writer: unavailable", retry_after=0.0)
        if self.fatal:
            raise OutputError(self.fatal)
        refused = []
        for key, contribution in batch.leads.items():
            if key.lead_id in self.refuse:
                refused.append(Refusal(key, "refused by the memory writer"))
                continue
            seen = self.leads.get(key)
            if seen is None or contribution.revision >= seen.revision:
                self.leads[key] = contribution
                if key in batch.states:
                    self.states[key] = batch.states[key]
        for row in batch.ledger:  # like ReplacingMergeTree(rank): the highest outcome wins
            seen = self.ledger.get(row[:3])
            if seen is None or RANK[row[3]] >= RANK[seen[3]]:
                self.ledger[row[:3]] = row
        for rejected in batch.rejected:
            self.rejected[rejected[3:6]] = rejected
        self.writes += 1
        return refused

    def stored_events(self, lead_ids: Sequence[str]) -> dict[str, list[Event]]:
        """``streams.engine.port.StoredEvents``: the stored states' events, by lead."""
        found: dict[str, list[Event]] = {}
        for lead_id in lead_ids:
            state = self.states.get(LeadKey(lead_id))
            if state is not None:
                found[lead_id] = [*state.touches, *state.purchases]
        return found

    def outcomes(self) -> dict[Position, str]:
        """The ledger's outcome of every message, by position."""
        return {position: row[3] for position, row in self.ledger.items()}

    def answer(self) -> Answer:
        """The views' contents, in the oracle's shape (a generation counts as a lead)."""
        totals = Totals()
        for (lead_id, generation), contribution in self.leads.items():
            totals.add(f"{lead_id}/{generation}", outcome_of(contribution))
        return answer_from_totals(totals)
