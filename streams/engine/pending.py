"""One detached batch of the output buffer, and how it becomes what a writer takes.

``streams.engine.buffer.OutputBuffer`` swaps its pending batch out at a flush; the batch
is then drained (each lead's contribution, as a row diff where the store allows it, and
the partials' changed keys) possibly on another thread, and merged back if the write
fails. It touches no state of the buffer, which is what lets the write run off-loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from streams.engine.config import EngineConfig
from streams.engine.contribution import contribution, revision
from streams.engine.partials import Key, Partials
from streams.engine.port import LedgerRow, OutputBatch, PartialWrite, RejectedRow
from streams.engine.records import Contribution, LeadKey
from streams.engine.row_diff import WrittenLeads, changed_credits, changed_reach, new_events
from streams.engine.state import LeadState


@dataclass
class Pending:
    """What is waiting to be written."""

    leads: dict[LeadKey, LeadState] = field(default_factory=dict)
    ledger: list[LedgerRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    oldest: float | None = None
    bases: dict[LeadKey, tuple[LeadState | None, int]] = field(default_factory=dict)
    """Each lead's state when it entered the batch, if the caller said it (what the
    store and the partials hold for it until the batch is written), and its home
    partition (partials only)."""
    stored: list[tuple[LeadKey, int, int]] = field(default_factory=list)
    """Set by ``drain``: (lead, revision, lineage) the store holds once the write succeeds."""
    era: int = 0
    """``WrittenLeads.era`` when drained (a write that outlives a rebalance is not kept)."""
    applied: bool = False
    """Partials only: the batch moved the partials (its leads' newest states are in)."""
    taken: dict[int, frozenset[tuple[str, Key]]] = field(default_factory=dict)
    """Partials only: the changed keys this batch took to write (given back on failure)."""

    def size(self) -> int:
        """Leads plus ledger and reject rows waiting."""
        return len(self.leads) + len(self.ledger) + len(self.rejected)

    def merge_older(self, older: Pending) -> None:
        """Put a failed batch back behind this newer one (newer lead states win)."""
        for key, state in older.leads.items():
            self.leads.setdefault(key, state)
        # The partials hold the older base again (``give_back`` moved them back), so
        # it replaces a newer base (the table state after the older batch).
        self.bases.update(older.bases)
        self.ledger[:0] = older.ledger
        self.rejected[:0] = older.rejected

    def drain(self, config: EngineConfig, partials: dict[int, Partials] | None = None,
              written: WrittenLeads | None = None) -> OutputBatch:
        """The batch a writer takes: each lead's contribution at its newest state.

        With ``written``, a lead the store holds at its base revision goes as a diff.
        With ``partials``, each lead first moves its home partition's partials from its
        base state to its newest one, and the batch carries every changed key.
        """
        leads = {key: contribution(state, config) for key, state in self.leads.items()}
        rows, states, lineages = self._diffs(leads, config, written)
        if partials is None:
            return OutputBatch(rows, self.ledger, self.rejected, states, lineages=lineages)
        for key, new in leads.items():
            base, home = self.bases[key]
            part = partials.get(home)
            if part is None:
                part = partials[home] = Partials()
            part.apply(None if base is None else contribution(base, config), new)
        self.applied = True
        for home, part in partials.items():
            keys = part.changed.take()
            if keys:
                self.taken[home] = frozenset(keys)
        writes = tuple(PartialWrite(home, partials[home], keys)
                       for home, keys in self.taken.items())
        return OutputBatch(rows, self.ledger, self.rejected, states, writes, lineages)

    def _diffs(self, leads: dict[LeadKey, Contribution], config: EngineConfig,
               written: WrittenLeads | None,
               ) -> tuple[dict[LeadKey, Contribution], dict[LeadKey, LeadState],
                          dict[LeadKey, int]]:
        """Rows, events and lineage of each lead to write: a diff where the store allows."""
        self.era = 0 if written is None else written.era
        if written is None or not written.token:  # whole writes only (the replay): no copies
            lineages = {key: new.revision for key, new in leads.items()}
            self.stored = [(key, rev, rev) for key, rev in lineages.items()]
            return leads, self.leads, lineages
        self.stored = []
        rows, states = dict(leads), dict(self.leads)
        lineages = {}
        for key, new in leads.items():
            changed = self._diff(key, new, config, written)
            if changed is not None:
                rows[key], states[key], lineage = changed
            else:  # a whole write starts a lineage
                lineage = written.whole_lineage(new.revision)
            lineages[key] = lineage
            self.stored.append((key, new.revision, lineage))
        return rows, states, lineages

    def _diff(self, key: LeadKey, new: Contribution, config: EngineConfig,
              written: WrittenLeads) -> tuple[Contribution, LeadState, int] | None:
        """The lead's changed rows, new events and lineage; None: write it whole."""
        base = self.bases.get(key, (None, 0))[0]
        if base is None:
            return None
        lineage = written.lineage_over(key, revision(base))
        if lineage is None:
            return None
        # Without credits now, the base (an older state of this one) had none either.
        credits = changed_credits(contribution(base, config), new) if new.credits else ()
        if credits is None:
            return None
        events = new_events(base, self.leads[key])
        reach = changed_reach(new, events, config.window) if written.reach_diffs else new.reach
        return replace(new, credits=credits, reach=reach), events, lineage
