"""Row layouts of the per-lead tables, built from a lead's contribution.

The only module that knows both the contribution dataclasses and the table columns.
Times are integers (DateTime: seconds, DateTime64(6): microseconds) so that
clickhouse-connect writes them without datetime conversions.
"""

from __future__ import annotations

from typing import Final

from schemas.events import TOUCH_TYPES, Purchase, Touch, TouchType
from streams.engine.records import Contribution, LeadKey
from streams.engine.state import LeadState

US: Final = 1_000_000
_TOUCH_TYPE: Final[dict[str, TouchType]] = {kind: kind for kind in TOUCH_TYPES}
Row = tuple[object, ...]


COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    # The lead's state (its events): what ``replay --append`` merges a new log with.
    "lead_events": ("version", "lead_id", "generation", "event_id", "type", "occurred_at",
                    "campaign_id", "amount_minor", "currency"),
    "lead_reach": ("version", "lead_id", "generation", "campaign_id", "touch_type",
                   "window_start", "touches", "revision"),
    "lead_stages": ("version", "lead_id", "generation", "stage", "campaign_id",
                    "window_start", "touch_event_id", "touched_at", "revision"),
    "lead_credits": ("version", "lead_id", "generation", "purchase_event_id",
                     "touch_event_id", "model", "campaign_id", "currency", "touch_window",
                     "purchase_window", "touched_at", "purchased_at", "revenue_minor",
                     "conversions_e9", "revision", "lineage"),
    # Written after the tables above: the views move a lead to a revision after its rows.
    # It also carries the lead's own facts (newest event, first purchase: SPEC §6).
    "lead_revisions": ("version", "lead_id", "generation", "revision", "written_at",
                       "last_event_at", "first_purchase_at", "first_purchase_window",
                       "lineage"),
    "ingest_ledger": ("source", "partition", "offset", "outcome", "lead_id", "event_id",
                      "recorded_at"),
    "rejected_events": ("raw", "reason", "rejected_at", "source", "partition", "offset",
                        "raw_size", "raw_sha256", "truncated"),
}
REVISIONED: Final = ("lead_reach", "lead_stages", "lead_credits", "lead_revisions")
"""Tables whose rows belong to one revision of a lead (the views pick its newest)."""
LEAD_TABLES: Final = ("lead_events", *REVISIONED)
"""Every per-lead table: ``lead_revisions`` is inserted last, after all the others have
landed (the sink inserts the others at the same time when it has lanes)."""
REVISION_AT: Final = COLUMNS["lead_revisions"].index("revision")
"""Where a ``lead_revisions`` row holds its revision."""


def lead_rows(
    version: int, key: LeadKey, c: Contribution, now_ms: int, lineage: int | None = None
) -> dict[str, list[Row]]:
    """The rows of one lead (generation) at one revision, by table.

    ``c`` holds all the lead's records (a whole write, ``lineage`` None: its revision) or
    only the changed ones, in the lead's current ``lineage`` (``streams.engine.row_diff``).
    """
    rev = c.revision
    lineage = rev if lineage is None else lineage
    lead_id, gen = key
    return {
        "lead_reach": [
            (version, lead_id, gen, r.campaign_id, r.touch_type, r.window_start_us // US,
             r.touches, rev)
            for r in c.reach
        ],
        "lead_stages": [
            (version, lead_id, gen, s.stage, s.campaign_id, s.window_start_us // US,
             s.touch_event_id, s.touched_at_us, rev)
            for s in c.stages
        ],
        "lead_credits": [
            (version, lead_id, gen, d.purchase_event_id, d.touch_event_id, d.model, d.campaign_id,
             d.currency, d.touch_window_us // US, d.purchase_window_us // US,
             d.touched_at_us, d.purchased_at_us, d.revenue_minor, d.conversions_e9, rev,
             lineage)
            for d in c.credits
        ],
        "lead_revisions": [(
            version, lead_id, gen, rev, now_ms, c.last_event_at_us, c.first_purchase_at_us,
            None if c.first_purchase_window_us is None else c.first_purchase_window_us // US,
            lineage,
        )],
    }


def event_rows(version: int, key: LeadKey, state: LeadState) -> list[Row]:
    """One row per event of the lead's state (a purchase without campaign stores '')."""
    lead_id, gen = key
    rows: list[Row] = [
        (version, lead_id, gen, t.event_id, t.touch_type, t.occurred_at_us, t.campaign_id, 0, "")
        for t in state.touches
    ]
    rows.extend(
        (version, lead_id, gen, p.event_id, "purchase", p.occurred_at_us, p.campaign_id or "",
         p.amount_minor, p.currency)
        for p in state.purchases
    )
    return rows


def event_from_row(lead_id: str, event_id: str, kind: str, at_us: int, campaign_id: str,
                   amount_minor: int, currency: str) -> Touch | Purchase:
    """The event a ``lead_events`` row stores (the inverse of :func:`event_rows`)."""
    if kind == "purchase":
        return Purchase(event_id, lead_id, at_us, amount_minor, currency, campaign_id or None)
    return Touch(event_id, lead_id, campaign_id, _TOUCH_TYPE[kind], at_us)
