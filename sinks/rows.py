"""Row layouts of the ClickHouse delta tables, built from engine deltas.

This is the only place that knows both the delta dataclasses and the table columns.
Times are written as integers (DateTime: seconds, DateTime64(6): microseconds), which
clickhouse-connect passes through without datetime conversions.

Rows (tuples) suit the worker's small per-event batches; a replay's totals, millions of
entries written at once, are built straight into columns instead (clickhouse-connect's
column-oriented insert), which skips a tuple per row and the driver's row-to-column pivot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from streams.deltas import CreditDelta, ReachDelta, StageDelta

US = 1_000_000

REACH_COLUMNS: Final = (
    "version", "campaign_id", "touch_type", "window_start", "touches", "leads",
    "lead_id", "cause_id",
)
STAGE_COLUMNS: Final = (
    "version", "stage", "campaign_id", "window_start", "lead_id", "touch_event_id",
    "touched_at", "leads", "cause_id",
)
CREDIT_COLUMNS: Final = (
    "version", "model", "campaign_id", "currency", "touch_window", "purchase_window",
    "lead_id", "purchase_event_id", "touch_event_id", "touched_at", "purchased_at",
    "revenue_minor", "conversions_e9", "cause_id",
)
REJECTED_COLUMNS: Final = ("raw", "reason", "rejected_at", "source", "partition", "offset")

Row = tuple[object, ...]


def reach_row(version: int, lead_id: str, cause_id: str, d: ReachDelta) -> Row:
    """A reach_deltas row."""
    return (version, d.campaign_id, d.touch_type, d.window_start_us // US, d.touches,
            d.leads, lead_id, cause_id)


def stage_row(version: int, lead_id: str, cause_id: str, d: StageDelta) -> Row:
    """A stage_deltas row."""
    return (version, d.stage, d.campaign_id, d.window_start_us // US, lead_id,
            d.touch_event_id, d.touched_at_us, d.leads, cause_id)


def credit_row(version: int, lead_id: str, cause_id: str, d: CreditDelta) -> Row:
    """A credit_deltas row."""
    return (version, d.model, d.campaign_id, d.currency, d.touch_window_us // US,
            d.purchase_window_us // US, lead_id, d.purchase_event_id, d.touch_event_id,
            d.touched_at_us, d.purchased_at_us, d.revenue_minor, d.conversions_e9, cause_id)


Columns = list[list[object]]
"""Column-oriented data for one insert: one list per table column, in column order."""


def reach_total_columns(
    version: int, cause_id: str, sums: Iterable[tuple[tuple[str, str, int], list[int]]]
) -> Columns:
    """reach_deltas columns of netted reach sums, keys that net to zero left out.

    ``sums`` maps (campaign, touch type, window start µs) to [touches, leads]; a total
    has no single lead, so ``lead_id`` is empty.
    """
    kept = [(key, pair) for key, pair in sums if pair[0] or pair[1]]
    n = len(kept)
    return [
        [version] * n,
        [key[0] for key, _ in kept],
        [key[1] for key, _ in kept],
        [key[2] // US for key, _ in kept],
        [pair[0] for _, pair in kept],
        [pair[1] for _, pair in kept],
        [""] * n,
        [cause_id] * n,
    ]


def stage_columns(
    version: int, cause_id: str, entries: Sequence[tuple[str, StageDelta]]
) -> Columns:
    """stage_deltas columns, the same values :func:`stage_row` gives row by row."""
    n = len(entries)
    deltas = [d for _, d in entries]
    return [
        [version] * n,
        [d.stage for d in deltas],
        [d.campaign_id for d in deltas],
        [d.window_start_us // US for d in deltas],
        [lead for lead, _ in entries],
        [d.touch_event_id for d in deltas],
        [d.touched_at_us for d in deltas],
        [d.leads for d in deltas],
        [cause_id] * n,
    ]


def credit_columns(
    version: int, cause_id: str, entries: Sequence[tuple[str, CreditDelta]]
) -> Columns:
    """credit_deltas columns, the same values :func:`credit_row` gives row by row."""
    n = len(entries)
    deltas = [d for _, d in entries]
    return [
        [version] * n,
        [d.model for d in deltas],
        [d.campaign_id for d in deltas],
        [d.currency for d in deltas],
        [d.touch_window_us // US for d in deltas],
        [d.purchase_window_us // US for d in deltas],
        [lead for lead, _ in entries],
        [d.purchase_event_id for d in deltas],
        [d.touch_event_id for d in deltas],
        [d.touched_at_us for d in deltas],
        [d.purchased_at_us for d in deltas],
        [d.revenue_minor for d in deltas],
        [d.conversions_e9 for d in deltas],
        [cause_id] * n,
    ]
