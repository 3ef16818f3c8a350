"""Store a version's sums in the partial tables, so that the views stop reading its leads.

The views read a version's per-lead rows (exact, but every query scans every lead ever
written) unless the version has a registered partial layout that no write has made
stale since (DDL 007, ``read_plan``). A replay knows when a version stops changing:
when it has written the last lead. :func:`refresh` then sums the version's per-lead rows
with the same per-version views the per-lead path uses (``pv_*``, so both paths give
the same answers by construction) into partition 0 of a new epoch, and registers it.

Staleness is fenced by epochs, not clocks: every writer of per-lead rows marks the
version stale with an epoch greater than every one before (:func:`mark_stale`), so the
newest row of ``agg_epochs`` says which path is current. A refresh that sees a mark newer
than the state it summed does not register (the layout might miss those writes), and one
that registered concurrently with a mark writes a mark after itself. A writer marks
again at a write after a newer registration (the sink checks before each write). Left
open: a writer that marked before a refresh began and inserts while it sums, without
marking again, is missing from those sums until its next write (docs/performance.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from clickhouse_connect.driver.client import Client

from sinks import partials_store as store
from sinks.partials_store import AS_OF_TABLE
from sinks.version_feed import fed_partitions
from streams.engine.partials import KEYS, TABLES, VALUES

STALE_PARTITION: Final = -1
"""The ``partition`` of a stale mark in ``agg_epochs`` (a registration has >= 0)."""
SOURCES: Final[dict[str, str]] = {
    "agg_campaign": (
        "(SELECT r.campaign_id AS campaign_id, r.touches AS touches, "
        "r.leads_reached AS leads_reached, s.warmed AS leads_warmed, s.hot AS leads_hot "
        "FROM pv_campaign_reach(version = {v}) AS r LEFT JOIN ("
        "SELECT campaign_id, toInt64(sumIf(leads, stage = 'warm')) AS warmed, "
        "toInt64(sumIf(leads, stage = 'hot')) AS hot "
        "FROM pv_lead_stages(version = {v}) GROUP BY campaign_id) AS s "
        "ON s.campaign_id = r.campaign_id)"),
    "agg_campaign_revenue": "pv_campaign_revenue(version = {v})",
    "agg_reach": "pv_marketing_reach(version = {v})",
    "agg_stages": "pv_lead_stages(version = {v})",
    "agg_credits": "pv_attribution(version = {v})",
    "agg_lag": "pv_credit_lag(version = {v})",
    "agg_clock": (
        "(SELECT window_start, toString(stage) AS stage, toInt64(sum(leads)) AS entered "
        "FROM pv_lead_stages(version = {v}) GROUP BY window_start, stage "
        "UNION ALL SELECT window_start, 'customer' AS stage, entered "
        "FROM pv_customers(version = {v}))"),
    AS_OF_TABLE: ("(SELECT assumeNotNull(newest) AS as_of FROM (SELECT as_of AS newest "
                  "FROM pv_as_of(version = {v})) WHERE newest IS NOT NULL)"),
}
"""Where each partial table's keys and values come from: a per-version view (or a
query over them) whose columns are named like the table's."""


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What :func:`refresh` did: the registered epoch (None: not registered) and why."""

    epoch: int | None
    rows: int
    seconds: float
    note: str


def mark_stale(client: Client, version: int) -> int:
    """Make the views read ``version``'s per-lead rows until its next refresh; the epoch."""
    epoch = store.next_epoch(client, version, None)
    store.register_epoch(client, version, STALE_PARTITION, epoch, 0)
    return epoch


def refresh(client: Client, version: int,
            after_table: Callable[[], None] | None = None) -> Refreshed:
    """Sum ``version``'s per-lead rows into a new partial layout and register it.

    Not for a version a worker feeds: the worker keeps writing, and its sums would go
    stale at its next flush anyway (it marks the version stale on each start).
    ``after_table`` runs after each table is stored (fault injection in tests).
    """
    started = time.monotonic()
    if fed_partitions(client, version):
        return Refreshed(None, 0, 0.0, "fed live by a worker: the views read its leads")
    before = store.newest_epoch(client, version)
    epoch = store.epoch_after(before)
    for table in (*TABLES, AS_OF_TABLE):
        picked = ", ".join((*KEYS[table], *VALUES[table]) if table in KEYS else ("as_of",))
        client.command(
            f"INSERT INTO {table} ({', '.join(store.columns(table))}) "
            f"SELECT {int(version)}, 0, {epoch}, {picked}, 0 "
            f"FROM {SOURCES[table].format(v=int(version))}", settings=store.FOREGROUND)
        if after_table is not None:
            after_table()
    rows = _rows(client, version, epoch)
    if store.newest_epoch(client, version) != before:
        return Refreshed(None, rows, time.monotonic() - started,
                         "written to while summing: the views read its leads")
    store.register_epoch(client, version, 0, epoch, 1)
    (marks,), = client.query(
        "SELECT count() FROM agg_epochs WHERE version = {v:UInt32} AND epoch > {b:UInt64} "
        "AND partitions = 0", parameters={"v": version, "b": before}).result_rows
    if marks:
        mark_stale(client, version)
        return Refreshed(None, rows, time.monotonic() - started,
                         "written to while registering: the views read its leads")
    return Refreshed(epoch, rows, time.monotonic() - started, "")


def _rows(client: Client, version: int, epoch: int) -> int:
    """Rows of one partial layout, over every partial table."""
    counts = " + ".join(
        f"(SELECT count() FROM {table} WHERE version = {{v:UInt32}} AND epoch = {{e:UInt64}})"
        for table in (*TABLES, AS_OF_TABLE))
    (found,), = client.query(f"SELECT {counts}",
                             parameters={"v": version, "e": epoch}).result_rows
    return int(found)
