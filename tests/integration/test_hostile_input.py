"""Hostile traffic never stalls, fools or silences the worker (issue 7's repros and more).

Every message is sent by a raw kafka-python producer with an explicit partition, key and
headers (``tests.integration.hostile``), as kcat or any other client could. Each test
checks what a user relies on: views equal to the oracle, every message accounted for
once (received = produced), one DLQ entry and one ``v_rejected_events`` row per reject,
committed offsets at the end of every partition (the rerouted topic included), and a
worker that stops cleanly on SIGTERM.
"""

from __future__ import annotations

import hashlib
import random
import signal
from pathlib import Path

import orjson
import pytest

from schemas.events import Purchase, Rejection, Touch
from schemas.validation import parse_event
from sinks.client import connect
from streams.engine.config import EngineConfig
from streams.engine.routing import format_position
from streams.kafka.admin import ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topics import TopicNames
from tests.compare import assert_same
from tests.integration.dataset import build
from tests.integration.harness import Worker, clickhouse_dsn, read_topic, read_views, run_cli
from tests.integration.hostile import (
    NEAR_MAX,
    PARTITIONS,
    Hostile,
    RawName,
    crc32_partition,
    murmur2_partition,
)
from tests.messages import event_json
from tests.oracle import batch
from tests.unit.corpus import INVALID

pytestmark = pytest.mark.integration
DAY_US = 86_400_000_000
T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _setup(brokers: str, prefix: str) -> tuple[TopicNames, Hostile]:
    topics = TopicNames.with_prefix(prefix)
    ensure_topics(brokers, topics.created, PARTITIONS, topics.configs)
    return topics, Hostile(brokers, topics)


def _run(brokers: str, prefix: str, tmp_path: Path, topics: TopicNames,
         *extra: str, dsn: str = "", app: str = "w") -> Worker:
    """Start a worker, wait until it committed everything, stop it with SIGTERM."""
    worker = Worker(brokers, prefix, tmp_path, app_id=f"{prefix}{app}",
                    extra=("--progress-every", "2", *extra), dsn=dsn)
    worker.start()
    worker.wait_caught_up(topics.consumed, timeout=240)
    assert worker.stop(signal.SIGTERM, timeout=60) == 0, worker.tail()
    return worker


def _ledger(dsn: str) -> dict[str, int]:
    client = connect(dsn)
    try:
        rows = client.query("SELECT accepted, duplicates, rejected, received, rerouting "
                            "FROM v_ingest_accounting WHERE source_kind = 'kafka'").result_rows
    finally:
        client.close()
    names = ("accepted", "duplicates", "rejected", "received", "rerouting")
    return dict(zip(names, (int(v) for v in rows[0]), strict=True))


def _rejected_rows(dsn: str) -> list[tuple[object, ...]]:
    client = connect(dsn)
    try:
        return list(client.query(
            "SELECT source, partition, offset, raw, reason, raw_size, raw_sha256, truncated "
            "FROM v_rejected_events").result_rows)
    finally:
        client.close()


def check(hostile: Hostile, dsn: str, brokers: str, topics: TopicNames, *,
          crashed: bool = False) -> None:
    """Views, accounting, DLQ and v_rejected_events: exactly what was produced.

    After a crash a reject may be dead-lettered twice (its offset was not committed),
    so the DLQ is then compared by source position only.
    """
    assert_same(batch(hostile.valid, EngineConfig()), read_views(dsn))
    distinct = len({(e.lead_id, e.event_id) for e in hostile.valid})
    assert _ledger(dsn) == {
        "accepted": distinct, "duplicates": len(hostile.valid) - distinct,
        "rejected": len(hostile.rejected), "received": hostile.sent, "rerouting": 0}
    wanted = sorted(format_position(p).encode() for p in hostile.rejected)
    sources = sorted(h["leadclock-source"] for _, _, h in read_topic(brokers, topics.dlq))
    assert (sorted(set(sources)) if crashed else sources) == wanted
    rows = _rejected_rows(dsn)
    assert sorted(f"{r[0]}/{r[1]}/{r[2]}".encode() for r in rows) == wanted
    assert all(row[4] for row in rows)  # a reason for every reject


def _click(event_id: str, lead: str, day: int = 0, campaign: str = "spring") -> bytes:
    return event_json(Touch(event_id, lead, campaign, "click", T0 + day * DAY_US))


def _buy(event_id: str, lead: str, day: int, cents: int) -> bytes:
    return event_json(Purchase(event_id, lead, T0 + day * DAY_US, cents, "USD"))


def test_a_tombstone_is_rejected_and_its_partition_goes_on(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Issue 7, repro 1 (and 3: the worker still stops on SIGTERM)."""
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    lead = "tomb-lead"
    home = murmur2_partition(lead)
    hostile.send(topics.clicks, home, lead.encode(), _click("c1", lead))
    hostile.send(topics.clicks, home, b"k", None)  # kcat -Z: a tombstone
    hostile.send(topics.clicks, home, lead.encode(), None)  # a tombstone for the lead
    hostile.send(topics.calls, 2, b"", b"")  # an empty message
    hostile.send(topics.clicks, home, lead.encode(), _click("c2", lead, 1))
    hostile.close()
    worker = _run(kafka_brokers, topic_prefix, tmp_path, topics)
    check(hostile, worker.dsn, kafka_brokers, topics)
    dead = read_topic(kafka_brokers, topics.dlq)
    assert sorted(key or b"" for key, _, _ in dead) == [b"", b"k", lead.encode()]
    assert all(h["leadclock-reason"].startswith(b"message: empty value") for *_, h in dead)


def test_a_reject_too_big_for_the_dlq_is_dead_lettered_cut(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Issue 7, repro 2: between the producer's limit (1,000,000) and the broker's."""
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    lead = "big-lead"
    home = murmur2_partition(lead)
    big = b'{"type": "click", "padding": "' + b"x" * 1_040_000  # invalid JSON
    hostile.send(topics.clicks, home, b"big-key", big)
    hostile.send(topics.clicks, home, lead.encode(), _click("c1", lead))
    hostile.close()
    worker = _run(kafka_brokers, topic_prefix, tmp_path, topics)
    check(hostile, worker.dsn, kafka_brokers, topics)
    [(key, value, headers)] = read_topic(kafka_brokers, topics.dlq)
    assert key == b"big-key" and big.startswith(value) and len(value) < 1_000_000
    assert headers["leadclock-truncated"] == b"true"
    assert headers["leadclock-original-size"] == str(len(big)).encode()
    assert headers["leadclock-original-sha256"] == hashlib.sha256(big).hexdigest().encode()
    [row] = _rejected_rows(worker.dsn)
    raw, size, digest, truncated = row[3], row[5], row[6], row[7]
    assert (size, digest, truncated) == (len(big), hashlib.sha256(big).hexdigest(), True)
    assert isinstance(raw, str) and big.startswith(raw.encode()) and len(raw) == 64 * 1024


def _leads_where_partitioners_differ(count: int) -> list[str]:
    leads = (f"mix-lead-{n}" for n in range(1, 1000))
    return [lead for lead in leads if crc32_partition(lead) != murmur2_partition(lead)][:count]


def test_a_leads_events_meet_whatever_partitioner_sent_them(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Issue 7, repro 4: kcat's CRC32 and leadclock produce's murmur2 on one lead."""
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    first, second = _leads_where_partitioners_differ(2)
    hostile.send(topics.clicks, crc32_partition(first), first.encode(),
                 _click("k1", first))
    hostile.send(topics.purchases, crc32_partition(second), second.encode(),
                 _buy("p2", second, 3, 5_000))
    hostile.close()
    produced = [_buy("p1", first, 3, 5_000), _click("k2", second)]
    produce(produced, kafka_brokers, topics)  # murmur2, keyed by lead_id
    for message in produced:
        hostile.valid.append(Purchase("p1", first, T0 + 3 * DAY_US, 5_000, "USD")
                             if b'"p1"' in message else Touch("k2", second, "spring",
                                                               "click", T0))
    hostile.sent += len(produced)
    worker = _run(kafka_brokers, topic_prefix, tmp_path, topics)
    check(hostile, worker.dsn, kafka_brokers, topics)
    revenue = read_views(worker.dsn).revenue
    assert sum(v for k, v in revenue.items() if k[1] == "linear") == 10_000
    assert all(k[0] == "spring" for k in revenue)  # both purchases met their click


def _padded_click(event_id: str, lead: str, size: int) -> bytes:
    """A valid click whose extra property makes the message ``size`` bytes."""
    head = _click(event_id, lead)[:-1] + b', "padding": "'
    return head + b"p" * (size - len(head) - 2) + b'"}'


def _extras(hostile: Hostile, topics: TopicNames) -> None:
    """One of each hostile message beyond the dataset's."""
    big_lead, far_lead = "huge-lead", "far-lead"
    home, far_home = murmur2_partition(big_lead), murmur2_partition(far_lead)
    near_max = [
        (topics.clicks, home, big_lead.encode(), _padded_click("huge-1", big_lead, NEAR_MAX)),
        (topics.clicks, (far_home + 1) % PARTITIONS, b"\xfe",  # moved to its partition
         _padded_click("huge-2", far_lead, NEAR_MAX)),
        (topics.calls, 2, b"\xffbig", b'{"event_id": "' + b"a" * NEAR_MAX),  # rejected
    ]
    when = '"occurred_at": "2026-01-02T10:00:00Z"'
    odd = [
        (topics.clicks, 0, b"k", None), (topics.purchases, 3, b"\xff", None),  # tombstones
        (topics.calls, 1, None, b""), (topics.email_opens, 2, b"e", b""),  # empty values
        (topics.clicks, 1, b"dk", ('{"event_id": "dup-0", "event_id": "dup-1", "type": '
                                   f'"click", "lead_id": "dk", "campaign_id": "c", {when}}}'
                                   ).encode()),  # duplicate keys: the last one wins
        (topics.clicks, 2, b"dk", ('{"event_id": "dup-2", "type": "click", "type": "nope", '
                                   f'"lead_id": "dk", "campaign_id": "c", {when}}}').encode()),
        (topics.purchases, 0, b"n", ('{"event_id": "nan", "type": "purchase", "lead_id": "n",'
                                     f' {when}, "currency": "USD", "amount": NaN}}').encode()),
        (topics.purchases, 1, b"i", ('{"event_id": "inf", "type": "purchase", "lead_id": "i",'
                                     f' {when}, "currency": "USD", "amount": Infinity}}'
                                     ).encode()),
        (topics.clicks, 3, b"deep", b'{"event_id": "deep", "properties": ' + b"[" * 10_000
         + b"]" * 10_000 + b"}"),
        (topics.clicks, 0, b"\x80", b"\xff\xfe{\"not\": \"utf-8\"}"),
    ]
    for topic, partition, key, value in (*near_max, *odd):
        hostile.send(topic, partition, key, value, [("trace", b"\xff\x00")])


def test_any_bytes_key_headers_and_partition_are_accounted_once(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    """The hostile-input suite: everything at once, then the worker and a topic replay."""
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    rng = random.Random(7)
    data = build(leads=150, seed=31)  # demo events, duplicates and SPEC §2's invalid cases
    odd_name = RawName(b"\xff\xfename")
    for message in data.messages:
        parsed = parse_event(message)
        lead = f"x{rng.randrange(40)}" if isinstance(parsed, Rejection) else parsed.lead_id
        how = rng.choice(["murmur2", "crc32", "random"])
        partition = (murmur2_partition(lead) if how == "murmur2" else crc32_partition(lead)
                     if how == "crc32" else rng.randrange(PARTITIONS))
        kind = orjson.loads(message).get("type") if not isinstance(parsed, Rejection) else ""
        topic = topics.for_type(kind) if kind else rng.choice(topics.events)
        key = rng.choice([lead.encode(), None, b"\xff\x00" + lead.encode(), b""])
        headers = rng.choice([[], [("trace", b"\xff\xfe")], [(odd_name, b"v")]])
        hostile.send(topic, partition, key, message, headers)
    _extras(hostile, topics)
    hostile.close()
    worker = _run(kafka_brokers, topic_prefix, tmp_path, topics)
    check(hostile, worker.dsn, kafka_brokers, topics)
    truncated = [h for _, _, h in read_topic(kafka_brokers, topics.dlq)
                 if h.get("leadclock-truncated")]
    assert len(truncated) == 1 and truncated[0]["leadclock-original-size"] == str(
        len(b'{"event_id": "') + NEAR_MAX).encode()
    assert "Traceback" not in worker.tail(100_000)

    # A replay of the topics (which it reads whatever partition a lead's events are on).
    replayed = clickhouse_dsn(tmp_path, "replayed")
    result = run_cli("replay", "--from-topics", "--brokers", kafka_brokers,
                     "--topic-prefix", topic_prefix, "--clickhouse", replayed)
    assert result.returncode == 0, result.stderr.decode()
    assert_same(batch(hostile.valid, EngineConfig()), read_views(replayed))
    assert _ledger(replayed)["received"] == hostile.sent


def test_redelivered_rejects_are_one_row_each_in_v_rejected_events(
    kafka_brokers: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Issue 7, repro 5: a second group writes every reject again into the same tables."""
    topics, hostile = _setup(kafka_brokers, topic_prefix)
    for n, case in enumerate(INVALID[:40]):
        hostile.send(topics.clicks, n % PARTITIONS, b"k", case.raw or None)
    hostile.send(topics.clicks, murmur2_partition("r-lead"), b"r", _click("c1", "r-lead"))
    hostile.close()
    first = _run(kafka_brokers, topic_prefix, tmp_path, topics, app="a")
    _run(kafka_brokers, topic_prefix, tmp_path, topics, app="b", dsn=first.dsn)
    client = connect(first.dsn)
    try:
        stored = client.query("SELECT count() FROM rejected_events").result_rows[0][0]
    finally:
        client.close()
    print(f"\nrejected_events holds {stored} rows (unmerged) for {len(hostile.rejected)} rejects")
    rows = _rejected_rows(first.dsn)
    assert len(rows) == len({(r[0], r[1], r[2]) for r in rows}) == len(hostile.rejected)
