"""Write only what a lead's new events changed: credit diffs and new events.

Issue 12, goal 5. A lead's contribution is absolute (``streams.engine.records``), and
writing it whole at every flush makes the work per event grow with the lead's history:
its credits are purchases x touches x models, so 89 rows at a lead's 14th event, most
of them unchanged. A flush may instead write, of a lead the store already holds at the
revision the batch started from,

* its credits whose identity is new or whose values changed,
* its events that are new,
* its reach and stage rows and its revision row whole, as before (a handful per lead).

**Lineages.** Credit rows carry a *lineage* in their sorting key: a whole write starts
one, the diffs after it keep it, and ``lead_revisions`` says which lineage is the lead's
current one; the views read the credit rows of that lineage only (per identity its newest
revision, ``FINAL``). So a credit that disappears (a late, earlier touch takes a
first-touch credit from another touch) needs no delete: the lead is written whole in a
new lineage. Each lineage is one writer's own sequence of writes: its number holds a token
drawn by the process (``WrittenLeads.for_process``) and a count of its whole writes, so
rows written by another worker, or before a crash, from another history of the lead,
are in another lineage and can neither be read with this one nor replace its rows. A
whole write of revision N in any lineage holds a complete contribution, and the head with
the highest revision wins, exactly as before (docs/exactly-once.md).

**Reach.** Its views read every row with ``FINAL`` (no lineage, no revision filter, for
speed). ``lead_reach`` keeps, per key, the row with the most touches (DDL 001): a lead's
states only gain events, so a key's count only grows with the truth, and a row from
another history can hide a newer count only until this lineage's own count passes it
(which it does: the truth holds every event of the log). So a diff writes the reach keys
its new events touched (:func:`changed_reach`), nothing else can have changed. A table
created before that (versioned by revision, ``sinks.reach_version``) gets reach rows
whole: there, only a whole write's highest revision is sure to hold every key's truth.

Stage rows stay whole at every flush (one or two per lead): a late, earlier touch can
move a stage to another touch, so they stay versioned by revision.

**What is known.** "The store holds the lead at revision r in lineage e" is only known
for a write this process made and saw succeed: :class:`WrittenLeads` remembers it per
lead. A lead it does not know (a start, a rebalance, a failed or refused write, a
version switch) is written whole, so the first write of every lead after a restart
repairs it whole, as before. A buffer without a process token (the replay) writes
every lead whole, with the revision as its lineage (deterministic, like its rows).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Final

from streams.engine.records import Contribution, Credit, LeadKey, Reach
from streams.engine.state import LeadState
from streams.engine.windows import window_start_us

MAX_REMEMBERED: Final = 250_000
"""Leads :class:`WrittenLeads` remembers (about 60 MB, estimated); past it, all but the
most recently written half are forgotten, and those leads are written whole next time."""

COUNTER_BITS: Final = 40
"""A worker's lineage is ``token << 40 | n``: its n-th whole write (2**40 of them)."""
TOKEN_LIMIT: Final = 2**23
"""Tokens are 1 .. 2**23 - 1, so a lineage fits an Int64 as well as the UInt64 column."""


def changed_credits(base: Contribution, new: Contribution) -> tuple[Credit, ...] | None:
    """``new``'s credits that are new or differ from ``base``'s; None if one disappeared.

    A credit's identity is its sorting key past the lead: (purchase, touch, model).
    """
    before = {(c.purchase_event_id, c.touch_event_id, c.model): c for c in base.credits}
    changed: list[Credit] = []
    kept = 0
    for credit in new.credits:
        old = before.get((credit.purchase_event_id, credit.touch_event_id, credit.model))
        if old is None:
            changed.append(credit)
            continue
        kept += 1
        if old != credit:
            changed.append(credit)
    if kept != len(before):
        return None
    return tuple(changed)


def changed_reach(new: Contribution, events: LeadState, window: str) -> tuple[Reach, ...]:
    """``new``'s reach rows of the keys ``events`` (the lead's new events) touched.

    A touch counts in its own (campaign, touch type, window) key only, so every other
    key holds what the store already holds.
    """
    touched = {(t.campaign_id, t.touch_type, window_start_us(t.occurred_at_us, window))
               for t in events.touches}
    return tuple(r for r in new.reach
                 if (r.campaign_id, r.touch_type, r.window_start_us) in touched)


def new_events(base: LeadState, state: LeadState) -> LeadState:
    """The events of ``state`` that ``base`` does not hold (``base`` is an older state)."""
    seen = {t.event_id for t in base.touches}
    seen.update(p.event_id for p in base.purchases)
    return LeadState(tuple(t for t in state.touches if t.event_id not in seen),
                     tuple(p for p in state.purchases if p.event_id not in seen))


@dataclass
class WrittenLeads:
    """Per lead, the revision and lineage of this process's last successful write of it."""

    token: int = 0
    """This process's lineage token (0: no diffs, every lead written whole)."""
    reach_diffs: bool = False
    """The store keeps each reach key's row with the most touches: diffs may leave out
    the keys no new event touched (``sinks.reach_version``)."""
    wholes: int = 0
    """Whole writes so far: each starts a lineage no other write of this process has."""
    limit: int = MAX_REMEMBERED
    era: int = 0
    """Counts ``forget()`` of everything. A write may end on the flush thread after a
    rebalance (on the event loop) forgot everything: what it stored is kept with the era
    it was drained in, and only entries of the current era count. No lock is needed."""
    _known: dict[LeadKey, tuple[int, int, int]] = field(default_factory=dict)
    """Lead -> (revision, lineage, era)."""

    @classmethod
    def for_process(cls, *, reach_diffs: bool = False) -> WrittenLeads:
        """With a random token of its own (a worker: diffs on, lineages of its own)."""
        return cls(token=secrets.randbelow(TOKEN_LIMIT - 1) + 1, reach_diffs=reach_diffs)

    def whole_lineage(self, revision: int) -> int:
        """A new lineage for a whole write of a lead at ``revision``.

        Without a token it is the revision (what every write was before lineages: a
        replay's rows stay deterministic); with one, the next number of this process.
        """
        if not self.token:
            return revision
        self.wholes += 1
        return self.token << COUNTER_BITS | self.wholes

    def lineage_over(self, key: LeadKey, base_revision: int) -> int | None:
        """The lineage to diff in, if the store holds this lead at ``base_revision``."""
        if not self.token:
            return None
        known = self._known.get(key)
        if known is None or known[0] != base_revision or known[2] != self.era:
            return None
        return known[1]

    def wrote(self, written: Iterable[tuple[LeadKey, int, int]], era: int) -> None:
        """These leads are now stored at (revision, lineage), by a write drained in ``era``."""
        if era != self.era:
            return
        known = self._known
        for key, revision, lineage in written:
            known.pop(key, None)  # re-inserted last: the dict's order is recency
            known[key] = (revision, lineage, era)
        if len(known) > self.limit:
            for key in list(islice(iter(known), len(known) - self.limit // 2)):
                known.pop(key, None)

    def forget(self, keys: Iterable[LeadKey] | None = None) -> None:
        """What the store holds for these leads (all: None) is no longer known."""
        if keys is None:
            self.era += 1  # first: a write ending meanwhile stores entries of the old era
            self._known.clear()
            return
        for key in keys:
            self._known.pop(key, None)

    def __len__(self) -> int:
        return len(self._known)

    def __iter__(self) -> Iterator[LeadKey]:
        return iter(self._known)
