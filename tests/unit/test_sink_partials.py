"""The sink writes the buffer's partials in epochs; summed, they equal the public views.

The public views still read the per-lead tables: the partial tables written beside
them must give the same answer (embedded engine, directly and through the gateway).
"""

from __future__ import annotations

import random

from clickhouse_connect.driver.client import Client

from sinks import partials_store as store
from sinks.sink import ClickHouseSink
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept
from streams.engine.partials import Partials, nonzero, total
from streams.engine.routing import home_partition
from streams.engine.state import LeadState
from tests.unit.test_partials_store import _log

CONFIG = EngineConfig(window="1d", lookback_us=5 * 86_400_000_000)
PARTITIONS = 3


def _view(client: Client, sql: str) -> dict[tuple[object, ...], list[int]]:
    return {tuple(row[:-2]): [int(row[-2]), int(row[-1])]
            for row in client.query(sql).result_rows}


def test_partials_written_by_flushes_sum_to_the_views(client: Client) -> None:
    partials: dict[int, Partials] = {p: Partials() for p in range(PARTITIONS)}
    buffer, sink = OutputBuffer(CONFIG, partials=partials), ClickHouseSink(client, 1)
    for p in range(PARTITIONS):  # a new owner: nothing yet, an empty epoch
        sink.sync(p, partials[p], PARTITIONS)
    states: dict[str, LeadState] = {}
    rng = random.Random(3)
    for event in _log(4, 300):
        previous = states.get(event.lead_id)
        state = previous or LeadState()
        states[event.lead_id] = accept(state, event) or state
        buffer.put_lead(event.lead_id, states[event.lead_id], previous=previous,
                        home=home_partition(event.lead_id.encode(), PARTITIONS))
        if rng.random() < 0.1:
            buffer.flush(sink)
    buffer.flush(sink)
    assert all(seq > 0 for _, seq in sink.epochs.values())

    want = nonzero(total(partials.values()))
    for table in want:
        got = {k: v for k, v in store.summed(client, 1, table).items() if any(v)}
        assert got == want[table], table
    reach = _view(client, "SELECT campaign_id, touch_type, toInt64(toUnixTimestamp("
                  "window_start)) * 1000000, touches, leads FROM v_marketing_reach")
    assert reach == want["agg_reach"]
    credits = _view(client, "SELECT campaign_id, model, currency, toInt64(toUnixTimestamp("
                    "touch_window)) * 1000000, toInt64(toUnixTimestamp(purchase_window)) * "
                    "1000000, revenue_minor, toInt64(round(conversions * 1e9)) "
                    "FROM v_attribution")
    assert credits == {k: v[:2] for k, v in want["agg_credits"].items()}
