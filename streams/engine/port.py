"""The engine's output port: what the processor and the replay write, what a sink implements.

Two small contracts, both defined here so that the engine depends on no sink:

* :class:`Output` is what the engine writes per message: a lead's newest state, a
  ledger row, a rejection. ``streams.engine.buffer.OutputBuffer`` is the implementation
  the worker and the replay use; tests may use any object with these three methods.
* :class:`Writer` is what a flush hands a drained batch to: each changed lead's
  contribution (computed once per flush, however many of its events arrived) and state,
  the ledger and the rejected rows. ``sinks.sink.ClickHouseSink`` implements it; a writer
  signals failure with ``streams.engine.exceptions.OutputError``.
* :class:`StoredEvents` is how an appending replay reads back the events a store holds
  for some leads, to merge a new log into them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, TypeAlias

from schemas.events import Event, Rejection
from streams.engine.partials import Key, Partials
from streams.engine.records import Contribution, LeadKey
from streams.engine.state import LeadState

Position: TypeAlias = tuple[str, int, int]
"""Where a message came from: (source, partition, offset); files use (file:NAME, -1, line)."""
LedgerRow: TypeAlias = tuple[str, int, int, str, str, str]
"""One received message: source, partition, offset, outcome, lead_id, event_id."""
RejectedRow: TypeAlias = tuple[str, str, int, str, int, int, int, str, bool]
"""One rejected message: raw text (its first ``truncate.RAW_LIMIT`` bytes), reason,
rejected_at (ms), source, partition, offset, raw_size, raw_sha256, truncated."""


class Output(Protocol):
    """Where the engine writes what it decided about each message."""

    def put_lead(self, lead_id: str, state: LeadState, generation: str = "",
                 previous: LeadState | None = None, home: int = 0) -> None:
        """The lead (generation) now has this state; only the newest state matters.

        ``previous`` (its state before this message, None if it had none) and ``home``
        (its home partition) matter only to an output that keeps partials.
        """

    def put_ledger(self, position: Position, outcome: str, lead_id: str,
                   event_id: str) -> None:
        """Account for one received message (accepted, duplicate or rejected)."""

    def put_rejection(self, rejection: Rejection, position: Position) -> None:
        """Keep a rejected message with its reason."""


@dataclass(frozen=True, slots=True)
class OutputBatch:
    """One flush's worth of output, ready for a writer."""

    leads: dict[LeadKey, Contribution]
    """Each changed lead's contribution: whole, or only its changed records (``lineages``)."""
    ledger: list[LedgerRow]
    rejected: list[RejectedRow]
    states: Mapping[LeadKey, LeadState] = field(default_factory=dict)
    """The state (events) behind each contribution, which a store keeps so that a later
    ``replay --append`` can merge new events into it (``StoredEvents``); for a diff,
    only the events the store does not hold yet."""
    partials: tuple[PartialWrite, ...] = ()
    """Changed keys of each partition's partials, when the buffer keeps them."""
    lineages: Mapping[LeadKey, int] = field(default_factory=dict)
    """Each lead's lineage (``streams.engine.row_diff``): its revision when the lead is
    written whole, and the lineage of the rows the store holds when ``leads`` and
    ``states`` hold only what changed. Absent: written whole."""


@dataclass(frozen=True, slots=True)
class PartialWrite:
    """Keys of one partition's partials to write (their values as they are now)."""

    partition: int
    partials: Partials
    keys: frozenset[tuple[str, Key]]


class Refusal(NamedTuple):
    """A lead whose rows the store refused for good, and why (it goes to the DLQ)."""

    key: LeadKey
    reason: str


class Writer(Protocol):
    """Makes an :class:`OutputBatch` durable (a sink)."""

    def write(self, batch: OutputBatch) -> list[Refusal]:
        """Write the batch; return the leads refused for good (the rest is written).

        Raises ``OutputError``: with ``retry_after`` when the write may succeed later,
        without when it cannot. Writing the same batch twice must be harmless (rows
        are per lead and revision), because a failed write is retried whole.
        """
        ...


class StoredEvents(Protocol):
    """Reads back the lead states a writer stored (for ``replay --append``)."""

    def stored_events(self, lead_ids: Sequence[str]) -> dict[str, list[Event]]:
        """The stored events of these leads (generation ''), by lead; absent if none."""
        ...
