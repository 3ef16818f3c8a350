"""Partials written to ClickHouse in epochs read back as the engine's sums (embedded engine).

Readers must see, per partition, only the newest registered epoch (an older one, a
zombie's, or a newer one never registered, is ignored) and, per key, its newest write.
"""

from __future__ import annotations

import random

from clickhouse_connect.driver.client import Client

from schemas.events import Event, Purchase, Touch
from sinks import partials_store as store
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept, contribution
from streams.engine.partials import TABLES, Partials, nonzero, total
from streams.engine.records import Contribution
from streams.engine.routing import home_partition
from streams.engine.state import LeadState
from tests.strategies import BASE_US, DAY_US, HOUR_US

CONFIG = EngineConfig(window="1d", lookback_us=5 * DAY_US, half_life_us=DAY_US)
PARTITIONS = 3


def _log(seed: int, count: int) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    for n in range(count):
        lead, at = f"lead-{rng.randrange(12)}", BASE_US + rng.randrange(240) * HOUR_US
        if rng.random() < 0.25:
            events.append(Purchase(f"e{seed}-{n}", lead, at, rng.randrange(1, 50_000),
                                   rng.choice(["USD", "JPY"]), None))
        else:
            events.append(Touch(f"e{seed}-{n}", lead, rng.choice(["spring", "fall"]),
                                rng.choice(["email_open", "click", "call"]), at))
    return events


class _Owner:
    """The engine side of a worker for all partitions: states and partials."""

    def __init__(self) -> None:
        self.parts = [Partials() for _ in range(PARTITIONS)]
        self.states: dict[str, LeadState] = {}
        self.written: dict[str, Contribution] = {}

    def apply(self, events: list[Event]) -> None:
        for event in events:
            state = self.states.get(event.lead_id, LeadState())
            self.states[event.lead_id] = accept(state, event) or state
        for lead in {e.lead_id for e in events}:
            new = contribution(self.states[lead], CONFIG)
            self.parts[home_partition(lead.encode(), PARTITIONS)].apply(
                self.written.get(lead), new)
            self.written[lead] = new


def _sync(client: Client, owner: _Owner, partition: int, now_ms: int) -> int:
    epoch = store.next_epoch(client, 1, partition, now_ms)
    store.write(client, owner.parts[partition], (1, partition, epoch), 0)
    store.register_epoch(client, 1, partition, epoch, PARTITIONS)
    owner.parts[partition].changed.take()
    return epoch


def _garbage(partials: Partials) -> Partials:
    wrong = Partials()
    for table in TABLES:
        wrong.tables[table] = {k: [v * 7 + 1 for v in vs]
                               for k, vs in partials.tables[table].items()}
    wrong.as_of_us = partials.as_of_us + DAY_US
    return wrong


def test_readers_see_the_newest_registered_epoch_and_the_newest_write_of_each_key(
        client: Client) -> None:
    owner = _Owner()
    owner.apply(_log(1, 150))
    # Partition 0: an old epoch with other values (a previous owner), then a full sync.
    stale = store.next_epoch(client, 1, 0, 1_000)
    store.write(client, _garbage(owner.parts[0]), (1, 0, stale), 5)
    store.register_epoch(client, 1, 0, stale, PARTITIONS)
    epochs = [_sync(client, owner, p, 2_000 + p) for p in range(PARTITIONS)]
    assert epochs[0] > stale
    # More events: only changed keys are written, with a higher seq.
    owner.apply(_log(2, 150))
    for p in range(PARTITIONS):
        store.write(client, owner.parts[p], (1, p, epochs[p]), 1, owner.parts[p].changed.take())
    # A newer epoch that was never registered (its owner crashed mid-sync): ignored.
    crashed = store.next_epoch(client, 1, 2, 3_000)
    store.write(client, _garbage(owner.parts[2]), (1, 2, crashed), 9)

    want = nonzero(total(owner.parts))
    for table in TABLES:
        got = {k: v for k, v in store.summed(client, 1, table).items() if any(v)}
        assert got == want[table], table
    (as_of,), = client.query(
        f"SELECT max(toUnixTimestamp64Micro(as_of)) FROM ({store.current_sql('agg_as_of')})",
        parameters={"v": 1}).result_rows
    assert as_of == max(p.as_of_us for p in owner.parts)

    for p in range(PARTITIONS):
        epoch, back = store.read(client, 1, p)
        assert epoch == epochs[p]
        assert nonzero(back) == nonzero(owner.parts[p])
        assert back.as_of_us == owner.parts[p].as_of_us
    assert store.next_epoch(client, 1, 0, 0) == epochs[0] + 1  # a clock behind: still newer


def test_nothing_registered_reads_empty(client: Client) -> None:
    assert store.read(client, 1, 0) == (0, Partials())
    assert store.summed(client, 1, "agg_reach") == {}
