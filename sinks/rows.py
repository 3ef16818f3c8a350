"""Row layouts of the ClickHouse delta tables, built from engine deltas.

This is the only place that knows both the delta dataclasses and the table columns.
Times are written as integers (DateTime: seconds, DateTime64(6): microseconds), which
clickhouse-connect passes through without datetime conversions.
"""

from __future__ import annotations

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
