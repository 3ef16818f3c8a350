"""The output buffer keeps partials in step with the per-lead rows, through failures.

Events arrive in any order; flushes happen at random points, some fail (the batch is
given back and retried) and some refuse leads for good (their newer rows are not
stored, so the partials must move back). At the end the partials written to the store
equal, key for key, the partials of the contributions the store holds; with nothing
refused, the oracle's answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept
from streams.engine.exceptions import OutputError
from streams.engine.partials import Key, Partials, nonzero, rebuild, total
from streams.engine.port import OutputBatch, Refusal
from streams.engine.records import Contribution
from streams.engine.routing import home_partition
from streams.engine.state import LeadState
from tests.compare import assert_same
from tests.oracle import batch
from tests.row_store import RowStore
from tests.strategies import DAY_US, event_logs
from tests.unit.test_partials import _as_answer

CONFIG = EngineConfig(window="1d", lookback_us=3 * DAY_US, half_life_us=DAY_US)


@dataclass
class _Store:
    """Per-lead rows (as ClickHouse keeps them) and partial rows (last write wins)."""

    fail: list[bool]
    refuse: list[frozenset[str]]
    leads: RowStore = field(default_factory=RowStore)
    rows: dict[tuple[int, str, Key], list[int]] = field(default_factory=dict)
    writes: int = 0

    def write(self, out: OutputBatch) -> list[Refusal]:
        n, self.writes = self.writes, self.writes + 1
        if n < len(self.fail) and self.fail[n]:
            raise OutputError("store: unavailable", retry_after=0.0)
        refuse = self.refuse[n] if n < len(self.refuse) else frozenset()
        refused = [Refusal(key, "refused") for key in out.leads if key.lead_id in refuse]
        self.leads.write(out, frozenset(r.key for r in refused))
        for write in out.partials:
            for table, key in write.keys:
                if table != "as_of":
                    self.rows[(write.partition, table, key)] = write.partials.value(table, key)
        return refused


def _store_partials(store: _Store, partitions: int) -> list[Partials]:
    split: list[list[Contribution]] = [[] for _ in range(partitions)]
    for key, c in store.leads.contributions().items():
        split[home_partition(key.lead_id.encode(), partitions)].append(c)
    return [rebuild(cs) for cs in split]


@settings(max_examples=150, deadline=None)
@given(log=event_logs(), order=st.randoms(use_true_random=False),
       partitions=st.integers(1, 3), flushes=st.lists(st.booleans(), min_size=1, max_size=6),
       fail=st.lists(st.booleans(), max_size=12),
       refuse=st.lists(st.frozensets(st.sampled_from(["lead-a", "lead-b"]), max_size=1),
                       max_size=12))
def test_partials_follow_the_stored_leads_through_failures_and_refusals(
        log: list[Event], order: object, partitions: int, flushes: list[bool],
        fail: list[bool], refuse: list[frozenset[str]]) -> None:
    shuffled = list(log)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    store = _Store(fail, refuse)
    buffer = OutputBuffer(CONFIG, partials={})
    states: dict[str, LeadState] = {}

    def flush() -> None:
        try:
            buffer.flush(store)
        except OutputError:
            pass  # given back: retried by a later flush

    for n, event in enumerate(shuffled):
        previous = states.get(event.lead_id)
        state = previous or LeadState()
        states[event.lead_id] = accept(state, event) or state
        buffer.put_lead(event.lead_id, states[event.lead_id], previous=previous,
                        home=home_partition(event.lead_id.encode(), partitions))
        if flushes[n % len(flushes)]:
            flush()
    store.fail, store.refuse = [], []
    while buffer.pending():
        buffer.flush(store)
    buffer.flush(store)  # keys moved back by the last refusals
    book = buffer.partials
    assert book is not None
    held = _store_partials(store, partitions)
    for p in range(partitions):
        want = nonzero(held[p])
        assert nonzero(book.get(p, Partials()))["agg_reach"] == want["agg_reach"]
        tables = {t: {k: v for (q, t2, k), v in store.rows.items() if q == p and t2 == t and any(v)}
                  for t in want}
        assert tables == want, p
    if not buffer.take_refused():
        assert_same(batch(log, CONFIG), _as_answer(total(held)))
