"""Row layouts of the per-lead tables, built from a lead's contribution.

The only module that knows both the contribution dataclasses and the table columns.
Times are integers (DateTime: seconds, DateTime64(6): microseconds) so that
clickhouse-connect writes them without datetime conversions.
"""

from __future__ import annotations

from typing import Final

from streams.engine.records import Contribution, LeadKey

US: Final = 1_000_000
Row = tuple[object, ...]


COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "lead_reach": ("version", "lead_id", "generation", "campaign_id", "touch_type",
                   "window_start", "touches", "revision"),
    "lead_stages": ("version", "lead_id", "generation", "stage", "campaign_id",
                    "window_start", "touch_event_id", "touched_at", "revision"),
    "lead_credits": ("version", "lead_id", "generation", "purchase_event_id",
                     "touch_event_id", "model", "campaign_id", "currency", "touch_window",
                     "purchase_window", "touched_at", "purchased_at", "revenue_minor",
                     "conversions_e9", "revision"),
    # Written after the three above: the views move a lead to a revision after its rows.
    # It also carries the lead's own facts (newest event, first purchase: SPEC §6).
    "lead_revisions": ("version", "lead_id", "generation", "revision", "written_at",
                       "last_event_at", "first_purchase_at", "first_purchase_window"),
    "ingest_ledger": ("source", "partition", "offset", "outcome", "lead_id", "event_id",
                      "recorded_at"),
    "rejected_events": ("raw", "reason", "rejected_at", "source", "partition", "offset",
                        "raw_size", "raw_sha256", "truncated"),
}
LEAD_TABLES: Final = ("lead_reach", "lead_stages", "lead_credits", "lead_revisions")
REVISION_AT: Final = COLUMNS["lead_revisions"].index("revision")
"""Where a ``lead_revisions`` row holds its revision."""


def lead_rows(
    version: int, key: LeadKey, c: Contribution, now_ms: int
) -> dict[str, list[Row]]:
    """All rows of one lead (generation) at one revision, by table."""
    rev = c.revision
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
             d.touched_at_us, d.purchased_at_us, d.revenue_minor, d.conversions_e9, rev)
            for d in c.credits
        ],
        "lead_revisions": [(
            version, lead_id, gen, rev, now_ms, c.last_event_at_us, c.first_purchase_at_us,
            None if c.first_purchase_window_us is None else c.first_purchase_window_us // US,
        )],
    }
