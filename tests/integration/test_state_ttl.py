"""State TTL with the real worker: idle leads expire, a returning lead is a new generation.

Produced in three phases so that what expires does not depend on timing: (1) a lead R
and its neighbours, all committed; (2) later filler events that move every partition's
event time past R's TTL, so R expires (its messages are committed); (3) R comes back.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from schemas.events import Event, Purchase, Touch
from sinks.client import connect
from streams.engine.config import EngineConfig
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.integration.harness import Worker, read_views
from tests.messages import event_json
from tests.oracle import batch

pytestmark = pytest.mark.integration

DAY = 86_400 * 1_000_000
T0 = 1_767_225_600_000_000  # 2026-01-01, well behind the wall clock
CAMPAIGNS = ("spring", "summer", "autumn")


def _phases() -> tuple[list[Event], list[Event], list[Event]]:
    first: list[Event] = [Touch("r1", "R", "spring", "click", T0),
                          Touch("r2", "R", "summer", "email_open", T0 + DAY),
                          Purchase("r3", "R", T0 + 2 * DAY, 12_345, "USD")]
    for n in range(200):
        lead = f"early-{n}"
        first += [Touch(f"e{n}a", lead, CAMPAIGNS[n % 3], "call", T0 + (n % 10) * DAY),
                  Purchase(f"e{n}b", lead, T0 + (n % 10 + 1) * DAY, 100 + n, "EUR")]
    filler: list[Event] = [Touch(f"f{n}", f"filler-{n}", CAMPAIGNS[n % 3], "click",
                                 T0 + 11 * DAY + n * DAY // 10) for n in range(600)]
    back: list[Event] = [Touch("r4", "R", "autumn", "click", T0 + 75 * DAY),
                         Purchase("r5", "R", T0 + 76 * DAY, 5_000, "USD")]
    return first, filler, back


def test_idle_leads_expire_and_a_returning_lead_starts_a_new_generation(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    config = EngineConfig(lookback_us=10 * DAY)
    topics = TopicNames.with_prefix(topic_prefix)
    ensure_topics(kafka_brokers, (*topics.events, topics.dlq), 4)
    worker = Worker(kafka_brokers, topic_prefix, tmp_path, app_id=f"{topic_prefix}w",
                    extra=("--lookback", "10d", "--state-ttl", "10d",
                           "--progress-every", "1"))
    worker.start()
    first, filler, back = _phases()
    for phase in (first, filler, back):
        produce([event_json(e) for e in phase], kafka_brokers, topics)
        worker.wait_caught_up(topics.events)
    assert worker.stop() == 0, worker.tail()

    renamed = [replace(e, lead_id="R, second generation") for e in back]
    assert_same(batch(first + filler + renamed, config), read_views(worker.dsn))
    expired = [int(n.replace(",", "")) for n in
               re.findall(r"([0-9,]+) leads expired", worker.tail(100_000))]
    # R and the early leads at least (the fillers' own TTL has not passed everywhere).
    assert expired and expired[-1] >= 201, worker.tail()
    client = connect(worker.dsn)
    generations = client.query("SELECT DISTINCT generation FROM v_attribution_credits "
                               "WHERE lead_id = 'R' ORDER BY generation").result_rows
    config_row = client.query("SELECT config FROM attribution_versions").result_rows
    client.close()
    assert len(generations) == 2, generations
    assert '"state_ttl":"10d"' in config_row[0][0].replace(" ", "")
