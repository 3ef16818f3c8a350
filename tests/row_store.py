"""An in-memory model of what the per-lead tables keep and what the views read of them.

Independent of ``streams.engine.row_diff``: it knows only the tables' rules
(``schemas/ddl``): per lead and sorting key (a reach or stage row's identity; a
credit's identity and lineage) one row is kept, the later write on a tie
(ReplacingMergeTree read with FINAL): of a reach key the row with the most touches
(``touches_versioned``, DDL 001 since issue 12; else the highest revision, as in
databases created before), of the others the row of the highest revision; the lead's
revision row likewise; the views read the reach and stage rows as they are and the
credit rows of the lineage of the lead's revision row. So a writer that sends diffs is
checked against the rows it would have stored by writing every lead whole.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from streams.engine.port import OutputBatch
from streams.engine.records import Contribution, LeadKey

Stored = tuple[int, int, object]
"""(revision, lineage, record)."""


def _identities(c: Contribution) -> Iterable[tuple[str, Hashable, object]]:
    for r in c.reach:
        yield "lead_reach", (r.campaign_id, r.touch_type, r.window_start_us), r
    for s in c.stages:
        yield "lead_stages", s.stage, s
    for d in c.credits:
        yield "lead_credits", (d.purchase_event_id, d.touch_event_id, d.model), d


def _assemble(items: Iterable[tuple[str, Hashable, object]], facts: Contribution,
              ) -> Contribution:
    """A contribution of these records, sorted by table and identity, with ``facts``."""
    by_table: dict[str, list[object]] = {"lead_reach": [], "lead_stages": [], "lead_credits": []}
    for table, _, record in sorted(items, key=lambda item: (item[0], item[1])):
        by_table[table].append(record)
    return Contribution(facts.revision, tuple(by_table["lead_reach"]),  # type: ignore[arg-type]
                        tuple(by_table["lead_stages"]),  # type: ignore[arg-type]
                        tuple(by_table["lead_credits"]),  # type: ignore[arg-type]
                        facts.last_event_at_us, facts.first_purchase_at_us,
                        facts.first_purchase_window_us)


def sorted_records(c: Contribution) -> Contribution:
    """``c`` with its records in the order :meth:`RowStore.read` gives them."""
    return _assemble(_identities(c), c)


@dataclass
class RowStore:
    """The per-lead rows of one version, as ClickHouse keeps them."""

    rows: dict[LeadKey, dict[tuple[str, Hashable], Stored]] = field(default_factory=dict)
    heads: dict[LeadKey, tuple[int, int, Contribution]] = field(default_factory=dict)
    """lead_revisions: (revision, lineage, the contribution whose facts the row holds)."""
    touches_versioned: bool = True
    """lead_reach keeps each key's row with the most touches (else: highest revision)."""

    def write(self, batch: OutputBatch, refused: frozenset[LeadKey] = frozenset()) -> None:
        """Insert the batch's lead rows (a refused lead's rows are deleted again)."""
        for key, c in batch.leads.items():
            if key not in refused:
                self.insert(key, c, batch.lineages.get(key, c.revision))

    def insert(self, key: LeadKey, c: Contribution, lineage: int) -> None:
        """One lead's rows at ``c.revision`` in ``lineage``: the newer (or later) row wins."""
        rows = self.rows.setdefault(key, {})
        for table, identity, record in _identities(c):
            sort_key = (table, (identity, lineage) if table == "lead_credits" else identity)
            old = rows.get(sort_key)
            if old is None or self._version(table, c.revision, record) >= self._version(
                    table, old[0], old[2]):
                rows[sort_key] = (c.revision, lineage, record)
        head = self.heads.get(key)
        if head is None or c.revision >= head[0]:
            self.heads[key] = (c.revision, lineage, c)

    def _version(self, table: str, revision: int, record: object) -> int:
        """The ReplacingMergeTree version of a row of ``table``."""
        if table == "lead_reach" and self.touches_versioned:
            return record.touches  # type: ignore[attr-defined, no-any-return]
        return revision

    def read(self, key: LeadKey) -> Contribution | None:
        """What the views read of a lead: its records, sorted by identity, and facts."""
        head = self.heads.get(key)
        if head is None:
            return None
        _, lineage, facts = head
        return _assemble(((table, sort_key, record) for (table, sort_key), (_, row_lineage, record)
                          in self.rows.get(key, {}).items()
                          if table != "lead_credits" or row_lineage == lineage), facts)

    def contributions(self) -> dict[LeadKey, Contribution]:
        """Every stored lead, as the views read it."""
        return {key: c for key in self.heads if (c := self.read(key)) is not None}
