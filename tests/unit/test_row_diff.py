"""Row diffs (issue 12, goal 5): a flush writes what a lead's new events changed, exactly.

The buffer sends a lead it stored before as a diff (its changed rows, its new events)
and everyone else whole. Whatever the order of events, the flush points, failed writes,
refusals and rebalances, the rows the store keeps (modelled by ``tests.row_store``, and
in a real embedded ClickHouse) read exactly as if every lead had been written whole:
with reach diffs in a ``lead_reach`` that keeps each key's most touches (DDL 001), and
with reach rows whole in one created before (versioned by revision).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event, Purchase, Touch
from sinks.reach_version import keeps_most_touches
from sinks.sink import ClickHouseSink
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept, contribution, revision
from streams.engine.exceptions import OutputError
from streams.engine.port import OutputBatch, Refusal
from streams.engine.records import LeadKey
from streams.engine.row_diff import WrittenLeads
from streams.engine.state import LeadState
from tests.compare import assert_same
from tests.integration.harness import answer_from_views
from tests.oracle import batch
from tests.row_store import RowStore, sorted_records
from tests.strategies import DAY_US, event_logs

CONFIG = EngineConfig(window="1d", lookback_us=3 * DAY_US, half_life_us=DAY_US)
T0 = 1_767_225_600_000_000


@dataclass
class _Store:
    """The row model behind a writer that fails or refuses leads on request."""

    fail: list[bool]
    refuse: list[frozenset[str]]
    touches_versioned: bool = True
    """``lead_reach`` as DDL 001 creates it (else: a table created before issue 12)."""
    rows: RowStore = field(init=False)
    writes: int = 0
    batches: list[OutputBatch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rows = RowStore(touches_versioned=self.touches_versioned)

    def write(self, out: OutputBatch) -> list[Refusal]:
        n, self.writes = self.writes, self.writes + 1
        if n < len(self.fail) and self.fail[n]:
            if n % 2:  # half the failures land some rows first
                self.rows.write(OutputBatch(dict(list(out.leads.items())[:1]), [], [],
                                            lineages=out.lineages))
            raise OutputError("store: unavailable", retry_after=0.0)
        refuse = self.refuse[n] if n < len(self.refuse) else frozenset()
        refused = [Refusal(key, "refused") for key in out.leads if key.lead_id in refuse]
        self.rows.write(out, frozenset(r.key for r in refused))
        self.batches.append(out)
        return refused


@dataclass
class _Worker:
    """A worker's lead table and buffer; a crash loses the buffer and part of the table."""

    store: _Store
    random: Any
    table: dict[str, list[Event]] = field(default_factory=dict)
    """Each lead's accepted events, in the order they were applied."""
    history: dict[str, dict[int, list[LeadState]]] = field(default_factory=dict)
    """Every state a lead had, by revision (two histories can share a revision)."""
    unacked: list[Event] = field(default_factory=list)
    """Messages whose offsets are not committed (what a crash redelivers)."""
    refused: set[str] = field(default_factory=set)
    """Leads refused for good (dead-lettered and committed), by every process."""
    buffer: OutputBuffer = field(init=False)

    def __post_init__(self) -> None:
        self.buffer = self._buffer()

    def _buffer(self) -> OutputBuffer:
        reach_diffs = self.store.touches_versioned  # what the worker asks the store
        return OutputBuffer(CONFIG, written=WrittenLeads.for_process(reach_diffs=reach_diffs))

    def state(self, lead: str) -> LeadState:
        state = LeadState()
        for event in self.table.get(lead, ()):
            state = accept(state, event) or state
        return state

    def apply(self, event: Event) -> None:
        self.unacked.append(event)
        previous = self.state(event.lead_id) if event.lead_id in self.table else None
        state = accept(previous or LeadState(), event)
        if state is not None:
            self.table.setdefault(event.lead_id, []).append(event)
        state = self.state(event.lead_id)
        self.history.setdefault(event.lead_id, {}).setdefault(revision(state), []).append(state)
        self.buffer.put_lead(event.lead_id, state, previous=previous)

    def take_refused(self) -> set[str]:
        self.refused.update(lead for lead, _, _ in self.buffer.take_refused())
        return self.refused

    def flush(self) -> None:
        try:
            self.buffer.flush(self.store)
        except OutputError:
            return  # given back: retried by a later flush
        # Everything read so far is acknowledged; the offsets are committed later (Faust
        # commits on an interval), so a crash may first redeliver flushed messages whose
        # changelog writes it lost: the new process's whole write can then be of an
        # older revision than rows the old one stored.
        if not self.buffer.pending() and (self.random is None or self.random.random() < 0.5):
            self.unacked = []

    def crash(self) -> list[Event]:
        """Lose the buffer and, of each lead, some of its newest uncommitted events
        (their changelog writes); a new process starts. Returns the uncommitted
        messages, to be delivered again (in another order: another topic interleaving)."""
        unacked = {id(e) for e in self.unacked}
        for events in self.table.values():
            keep = len(events)
            while keep and id(events[keep - 1]) in unacked and self.random.random() < 0.5:
                keep -= 1
            del events[keep:]
        self.table = {lead: events for lead, events in self.table.items() if events}
        self.take_refused()
        self.buffer = self._buffer()
        again, self.unacked = self.unacked, []
        self.random.shuffle(again)
        return again


def _run(log: list[Event], worker: _Worker, flushes: list[bool], rebalances: list[bool],
         crashes: list[bool]) -> None:
    """Put every event through the worker, flushing, rebalancing and crashing on cue."""
    queue = list(log)
    n = 0
    while queue:
        worker.apply(queue.pop(0))
        if rebalances[n % len(rebalances)]:
            worker.buffer.forget_written()
        if flushes[n % len(flushes)]:
            worker.flush()
        if n < len(crashes) and crashes[n]:
            queue[:0] = worker.crash()  # redelivered before what was never read
        n += 1
    worker.store.fail, worker.store.refuse = [], []
    while worker.buffer.pending():
        worker.buffer.flush(worker.store)


@settings(max_examples=300, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False),
       flushes=st.lists(st.booleans(), min_size=1, max_size=6),
       fail=st.lists(st.booleans(), max_size=12),
       refuse=st.lists(st.frozensets(st.sampled_from(["lead-a", "lead-b"]), max_size=1),
                       max_size=12),
       rebalances=st.lists(st.booleans(), min_size=1, max_size=8),
       crashes=st.lists(st.booleans(), max_size=12), touches_versioned=st.booleans())
def test_the_stored_rows_read_as_whole_writes_whatever_happens(
        log: list[Event], order: Any, flushes: list[bool], fail: list[bool],
        refuse: list[frozenset[str]], rebalances: list[bool], crashes: list[bool],
        touches_versioned: bool) -> None:
    shuffled = list(log)
    order.shuffle(shuffled)
    worker = _Worker(_Store(fail, refuse, touches_versioned), order)
    _run(shuffled, worker, flushes, rebalances, crashes)
    refused = worker.take_refused()
    stored = worker.store.rows.contributions()
    for key, held in stored.items():
        # Whatever the lead's store holds is the contribution of a state it had
        # (crashes can leave a state of an older history, refusals an older revision).
        states = worker.history[key.lead_id][held.revision]
        assert held in [sorted_records(contribution(s, CONFIG)) for s in states], key
    final = {lead: worker.state(lead) for lead in worker.table}
    for lead, state in final.items():
        if lead not in refused:
            assert stored[LeadKey(lead)] == sorted_records(contribution(state, CONFIG))
    if not refused:
        assert_same(batch(log, CONFIG), batch([e for es in worker.table.values() for e in es],
                                              CONFIG))


def _events() -> list[Event]:
    """One lead: touches a day apart, two purchases, then a touch before them all."""
    return [
        Touch("t1", "L", "spring", "email_open", T0),
        Touch("t2", "L", "spring", "click", T0 + DAY_US),
        Purchase("p1", "L", T0 + DAY_US + 1, 1000, "USD"),
        Touch("t3", "L", "summer", "email_open", T0 + 2 * DAY_US),
        Touch("t4", "L", "summer", "call", T0 + 2 * DAY_US + 5),
        Purchase("p2", "L", T0 + 2 * DAY_US + 9, 2500, "EUR"),
        Touch("t0", "L", "winter", "email_open", T0 - DAY_US),  # late: first touch moves
    ]


def test_each_flush_writes_only_what_changed() -> None:
    store = _Store([], [])
    worker = _Worker(store, None)
    events = _events()
    _run(events, worker, [True], [False], [])
    first, *later = store.batches
    token = worker.buffer.written.token << 40
    assert first.lineages == {LeadKey("L"): token | 1}
    for out in later:  # each diff holds the one new event; the whole write all seven
        held = out.states[LeadKey("L")]
        assert len(held.touches) + len(held.purchases) == (
            7 if out.lineages[LeadKey("L")] == token | 2 else 1)
    # The late first touch takes first-touch credits away: that flush is whole, in the
    # worker's second lineage; every other flush after the first is a diff in its first.
    assert [out.lineages[LeadKey("L")] - token for out in store.batches] == [1] * 6 + [2]
    diff = store.batches[3].leads[LeadKey("L")]  # t3: a touch after p1, before p2
    assert not diff.credits  # the key t3 touched; spring's two keys are left as stored
    assert [(r.campaign_id, r.touch_type, r.touches) for r in diff.reach] == [
        ("summer", "email_open", 1)]
    assert not store.batches[2].leads[LeadKey("L")].reach  # p1 touches no key
    # p2's path is t1..t4: 1 + 1 + 4 x 3 new credits; p1's eight stay where they are.
    p2 = store.batches[5].leads[LeadKey("L")]
    assert len(p2.credits) == 14 and {c.purchase_event_id for c in p2.credits} == {"p2"}
    whole = contribution(_state(events), CONFIG)
    assert store.rows.read(LeadKey("L")) == sorted_records(whole)


def test_reach_rows_go_whole_into_a_table_created_before() -> None:
    """A ``lead_reach`` versioned by revision: every write holds each key's truth."""
    store = _Store([], [], touches_versioned=False)
    events = _events()
    _run(events, _Worker(store, None), [True], [False], [])
    assert [len(out.leads[LeadKey("L")].reach) for out in store.batches] == [1, 2, 2, 3, 4, 4, 5]
    assert store.rows.read(LeadKey("L")) == sorted_records(contribution(_state(events), CONFIG))


@dataclass
class _Scripted:
    """Choices made in advance: ``draw`` for every random draw (>= 0.5: a flush commits
    no offset; < 0.5: a crash loses every uncommitted changelog write), and the order
    of the redelivery."""

    draw: float
    order: list[str]

    def random(self) -> float:
        return self.draw

    def shuffle(self, events: list[Event]) -> None:
        events.sort(key=lambda e: self.order.index(e.event_id))


def _touch(event_id: str, campaign: str, at_us: int) -> Touch:
    return Touch(event_id, "L", campaign, "email_open", at_us)


@pytest.mark.parametrize("touches_versioned", [True, False])
def test_a_reach_count_older_rows_hide_is_rewritten_or_never_left_out(
        touches_versioned: bool) -> None:
    """Why reach diffs need ``lead_reach`` to keep the most touches.

    A worker stores L at revision 4 (spring 1, summer 2, autumn 1) and reads one more
    touch (spring), then crashes before committing: its changelog writes are lost, the
    messages come again in another order (both spring touches first, one from another
    topic) and the new process writes L whole at revision 2 (spring 2), below the old
    rows. Its later diffs leave spring out: nothing new touches it. Kept by revision,
    the old spring row (1) would win for good; kept by touches, it never does.
    """
    store = _Store([], [], touches_versioned)
    script = _Scripted(0.9, ["t5", "t1", "t2", "t3", "t6"])
    worker = _Worker(store, script)
    if not touches_versioned:  # the hazard: diffs into a table kept by revision
        worker.buffer.written.reach_diffs = True
    log = [_touch("t1", "spring", T0), _touch("t2", "summer", T0), _touch("t3", "summer", T0 + 1),
           _touch("t6", "autumn", T0)]
    for event in log:
        worker.apply(event)
    worker.flush()  # revision 4; the offsets are not committed
    worker.apply(_touch("t5", "spring", T0 + 2))
    script.draw = 0.0
    again = worker.crash()  # every uncommitted changelog write is lost: L is gone
    worker.buffer.written.reach_diffs = True
    for n, event in enumerate(again):
        worker.apply(event)
        if n in (1, 2, 3, 4):  # whole at revision 2 (t5, t1), then diffs
            worker.flush()
    truth = sorted_records(contribution(worker.state("L"), CONFIG))
    assert revision(worker.state("L")) == 5
    assert (store.rows.read(LeadKey("L")) == truth) is touches_versioned


def _state(events: list[Event]) -> LeadState:
    state = LeadState()
    for event in events:
        state = accept(state, event) or state
    return state


def test_a_diff_needs_the_revision_this_buffer_stored() -> None:
    assert WrittenLeads().lineage_over(LeadKey("L"), 0) is None  # no token: always whole
    written = WrittenLeads(token=3)
    key = LeadKey("L")
    written.wrote([(key, 3, 2)], written.era)
    assert written.lineage_over(key, 3) == 2
    assert written.lineage_over(key, 4) is None  # the store holds another state
    era = written.era
    written.forget()
    written.wrote([(key, 3, 2)], era)  # a write drained before the rebalance
    assert written.lineage_over(key, 3) is None


def test_the_least_recently_written_are_forgotten_first() -> None:
    written = WrittenLeads(token=1, limit=4)
    keys = [LeadKey(f"L{n}") for n in range(5)]
    written.wrote([(k, 1, 1) for k in keys[:4]], 0)
    written.wrote([(keys[0], 2, 1)], 0)  # L0 is now the most recent
    written.wrote([(keys[4], 1, 1)], 0)
    assert set(written) == {keys[0], keys[4]}
    assert written.lineage_over(keys[0], 2) == 1


OLD_REACH = """CREATE TABLE lead_reach (version UInt32, lead_id String, generation String,
    campaign_id String, touch_type LowCardinality(String), window_start DateTime('UTC'),
    touches Int64, revision UInt64) ENGINE = ReplacingMergeTree(revision)
    PARTITION BY version ORDER BY (version, lead_id, generation, campaign_id, touch_type,
    window_start)"""
"""``lead_reach`` as databases created before issue 12's reach diffs hold it."""


@pytest.mark.parametrize("created_before", [False, True])
def test_diffs_in_clickhouse_read_as_the_oracle(client: Client, created_before: bool) -> None:
    """Flush after every event (all diffs but the first and the late touch's): the
    views equal the oracle, and the credit rows of the older lineage are not read."""
    events = [*_events(), Touch("t5", "M", "spring", "click", T0),
              Purchase("p3", "M", T0 + 5, 700, "USD"), Touch("t6", "M", "autumn", "call", T0 + 3)]
    if created_before:
        client.command("DROP TABLE lead_reach")
        client.command(OLD_REACH)
    assert keeps_most_touches(client) is not created_before
    client.command("SYSTEM STOP MERGES lead_reach")  # so count() counts every row inserted
    client.command("SYSTEM STOP MERGES lead_events")
    buffer = OutputBuffer(CONFIG, written=WrittenLeads.for_process(
        reach_diffs=keeps_most_touches(client)))
    sink = ClickHouseSink(client, 1)
    states: dict[str, LeadState] = {}
    for event in events:
        previous = states.get(event.lead_id)
        states[event.lead_id] = accept(previous or LeadState(), event) or LeadState()  # no dups
        buffer.put_lead(event.lead_id, states[event.lead_id], previous=previous)
        buffer.flush(sink)
    assert_same(batch(events, CONFIG), answer_from_views(client))
    credits = client.query("SELECT count() FROM v_attribution_credits").result_rows[0][0]
    assert credits == sum(len(contribution(s, CONFIG).credits) for s in states.values())
    stored, inserted = client.query(
        "SELECT (SELECT count() FROM lead_events FINAL), count() FROM lead_events",
    ).result_rows[0]
    # L: 6 diffs of one event, then whole (7) for the late touch; M: 1, 1, then whole
    # (3): t6 takes p3's last-touch credit from t5.
    assert (stored, inserted) == (len(events), 6 + 7 + 1 + 1 + 3)
    stored, inserted = client.query(
        "SELECT (SELECT count() FROM lead_reach FINAL), count() FROM lead_reach",
    ).result_rows[0]
    # L's keys after each write: 1, 2, 2, 3, 4, 4, then whole (5); M's: 1, 1, then whole (2).
    whole = 1 + 2 + 2 + 3 + 4 + 4 + 5 + 1 + 1 + 2
    # Diffs: t1 whole (1), t2 1, p1 0, t3 1, t4 1, p2 0, t0 whole (5); t5 1, p3 0, t6 2.
    assert (stored, inserted) == (5 + 2, whole if created_before else 1 + 1 + 1 + 1 + 5 + 1 + 2)


def test_a_write_that_ends_after_a_rebalance_is_not_trusted() -> None:
    written = WrittenLeads(token=1)
    key = LeadKey("L")
    era = written.era  # the flush thread drains...
    written.forget()  # ...the loop's rebalance forgets everything...
    written.wrote([(key, 2, 5)], era)  # ...then the write ends
    assert written.lineage_over(key, 2) is None
    written._known[key] = (2, 5, era)  # even had it landed after the era check
    assert written.lineage_over(key, 2) is None
