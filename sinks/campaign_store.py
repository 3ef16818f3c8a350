"""The campaign registry in ClickHouse (SPEC §6): upsert validated campaigns, list them.

The ``campaigns`` table (``schemas/ddl/005_judgment.sql``) is a ReplacingMergeTree by
load time ordered by ``campaign_id``, global rather than per attribution version: a
campaign loaded again replaces its row and the others stay. All campaigns of one load
go in one insert, so a load lands whole or not at all; validation happens before
(:func:`schemas.campaigns.parse_registry`), so nothing here judges the values.

The table stores the ISO 4217 exponent of the spend currency too: ClickHouse knows no
currencies, and ``cost_per_lead_warmed`` is in major units.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from typing import Final

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from schemas.campaign_types import GOAL_METRICS, KINDS, Campaign, CampaignKind, GoalMetric
from schemas.money import MINOR_UNIT_EXPONENTS
from sinks.errors import first_line
from sinks.exceptions import RegistryStoreError

TABLE: Final = "campaigns"
COLUMNS: Final = (
    "campaign_id", "name", "kind", "channel", "starts_on", "ends_on", "goal_metric",
    "goal_target", "goal_currency", "goal_model", "spend_minor", "spend_currency",
    "spend_exponent", "declared_on", "loaded_at",
)
_SELECT: Final = (
    f"SELECT {', '.join(c for c in COLUMNS if c not in ('spend_exponent', 'loaded_at'))} "
    f"FROM {TABLE} FINAL ORDER BY campaign_id"
)


def upsert(client: Client, campaigns: Sequence[Campaign], loaded_at_us: int | None = None
           ) -> int:
    """Write ``campaigns`` (one insert); each replaces a stored campaign of its id.

    ``loaded_at_us`` orders loads (the newest wins); default now. Returns the count.
    """
    if not campaigns:
        return 0
    at = loaded_at_us if loaded_at_us is not None else time.time_ns() // 1000
    rows = [_row(campaign, at) for campaign in campaigns]
    try:
        client.insert(TABLE, rows, column_names=list(COLUMNS))
    except ClickHouseError as error:
        msg = f"cannot write the campaign registry: {first_line(error)}"
        raise RegistryStoreError(msg) from error
    return len(rows)


def list_campaigns(client: Client) -> list[Campaign]:
    """Every registered campaign (its newest load), by id."""
    try:
        rows = client.query(_SELECT).result_rows
    except ClickHouseError as error:
        msg = f"cannot read the campaign registry: {first_line(error)}"
        raise RegistryStoreError(msg) from error
    return [_campaign(row) for row in rows]


def _row(campaign: Campaign, loaded_at_us: int) -> tuple[object, ...]:
    exponent = MINOR_UNIT_EXPONENTS.get(campaign.spend_currency, 0)
    return (
        campaign.campaign_id, campaign.name, campaign.kind, campaign.channel,
        campaign.starts_on, campaign.ends_on, campaign.goal_metric, campaign.goal_target,
        campaign.goal_currency, campaign.goal_model, campaign.spend_minor,
        campaign.spend_currency, exponent, campaign.declared_on, loaded_at_us,
    )


def _campaign(row: Sequence[object]) -> Campaign:
    (campaign_id, name, kind, channel, starts_on, ends_on, metric, target, goal_currency,
     goal_model, spend_minor, spend_currency, declared_on) = row
    return Campaign(
        campaign_id=str(campaign_id), name=str(name), kind=_kind(kind), channel=str(channel),
        starts_on=_day(starts_on), ends_on=_day(ends_on), goal_metric=_metric(metric),
        goal_target=int(str(target)), goal_currency=str(goal_currency),
        goal_model=str(goal_model),
        spend_minor=None if spend_minor is None else int(str(spend_minor)),
        spend_currency=str(spend_currency), declared_on=_day(declared_on),
    )


def _kind(value: object) -> CampaignKind:
    for kind in KINDS:
        if kind == value:
            return kind
    msg = f"the campaign registry holds an unknown kind {value!r}"
    raise RegistryStoreError(msg)


def _metric(value: object) -> GoalMetric:
    for metrics in GOAL_METRICS.values():
        for metric in metrics:
            if metric == value:
                return metric
    msg = f"the campaign registry holds an unknown goal metric {value!r}"
    raise RegistryStoreError(msg)


def _day(value: object) -> date:
    if not isinstance(value, date):
        msg = f"the campaign registry holds {value!r} where a date belongs"
        raise RegistryStoreError(msg)
    return value
