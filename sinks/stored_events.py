"""Reading back the events a version holds for some leads, for ``replay --append``.

Implements ``streams.engine.port.StoredEvents`` over ``lead_events``: batched lookups by
the table's primary key (version, lead_id), so appending a log touches only the leads
it contains, however large the version is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from schemas.events import Event
from sinks.lead_rows import event_from_row

_QUERY = """
SELECT lead_id, event_id, type, toUnixTimestamp64Micro(occurred_at), campaign_id,
       amount_minor, currency
FROM lead_events FINAL
WHERE version = {v:UInt32} AND generation = '' AND lead_id IN {ids:Array(String)}
"""


@dataclass
class ClickHouseStoredEvents:
    """The stored events of one version, looked up ``batch`` leads at a time."""

    client: Client
    version: int
    batch: int = 20_000

    def stored_events(self, lead_ids: Sequence[str]) -> dict[str, list[Event]]:
        """The stored events of these leads, by lead (leads without any are absent)."""
        found: dict[str, list[Event]] = {}
        for start in range(0, len(lead_ids), self.batch):
            ids = list(lead_ids[start:start + self.batch])
            rows = self.client.query(_QUERY, parameters={"v": self.version, "ids": ids})
            for lead_id, event_id, kind, at_us, campaign, amount, currency in rows.result_rows:
                found.setdefault(lead_id, []).append(
                    event_from_row(lead_id, event_id, kind, int(at_us), campaign, int(amount),
                                   currency))
        return found
