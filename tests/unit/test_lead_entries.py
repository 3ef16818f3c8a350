"""A lead's state over several table entries (issue 12, goal 5): exact, bounded, crash-safe.

The table is modelled with its changelog: every write and delete is a record, and a
crash keeps a prefix of the records (the changelog loses a suffix) and rebuilds the
table from it, as Faust restores a table. Whatever the events, duplicates, crashes and
expiries, a lead reads as a state it had, each message writes one entry of at most
``CHUNK_EVENTS`` events (a duplicate: every entry), and an expired lead's leftovers are
never read by its next generation.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event, Touch
from streams.engine import lead_entries
from streams.engine.contribution import accept
from streams.engine.lead_entries import CHUNK_EVENTS, StoredLead
from streams.engine.state import LeadState, decode_state, encode_state
from tests.strategies import BASE_US, event_logs


class _Table(dict[bytes, bytes]):
    """A dict table whose writes and deletes are also kept as a changelog."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[bytes, bytes | None]] = []

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.log.append((key, value))
        super().__setitem__(key, value)

    def __delitem__(self, key: bytes) -> None:
        self.log.append((key, None))
        super().__delitem__(key)

    def restored(self, kept: int) -> _Table:
        """The table a restart rebuilds from the first ``kept`` changelog records."""
        table = _Table()
        for key, value in self.log[:kept]:
            if value is None:
                dict.pop(table, key, None)
            else:
                dict.__setitem__(table, key, value)
        table.log = self.log[:kept]
        return table


def _apply(table: _Table, event: Event) -> int:
    """What the processor does with a valid event; returns the records written."""
    key = event.lead_id.encode()
    stored = lead_entries.read(table, event.lead_id, key)
    before = len(table.log)
    kept = accept(stored.state(), event)
    lead_entries.write(table, key, stored, None if kept is None else event,
                       stored.state() if kept is None else kept, None)
    return len(table.log) - before


def _fold(events: list[Event]) -> LeadState:
    state = LeadState()
    for event in events:
        state = accept(state, event) or state
    return state


def _events_in(value: bytes) -> int:
    state = decode_state("x", value)
    return len(state.touches) + len(state.purchases)


@settings(max_examples=300, deadline=None)
@given(log=event_logs(max_events=40), crashes=st.lists(st.integers(0, 10_000), max_size=4))
def test_every_lead_reads_as_a_state_it_had_whatever_the_crashes(
        log: list[Event], crashes: list[int]) -> None:
    table = _Table()
    accepted: dict[str, list[Event]] = {}
    for n, event in enumerate(log):
        state = lead_entries.read(table, event.lead_id, event.lead_id.encode()).state()
        new = accept(state, event) is not None
        records = _apply(table, event)
        written = table.log[-records:]
        if new:  # one entry, bounded, whatever the lead's history
            assert records == 1 and _events_in(written[0][1] or b"") <= CHUNK_EVENTS
            accepted.setdefault(event.lead_id, []).append(event)
        else:  # a duplicate rewrites every entry of its lead
            assert records == -(-len(_ids(state)) // CHUNK_EVENTS)
        if n < len(crashes) * 3 and n % 3 == 0:  # a crash keeps a prefix of the changelog
            table = table.restored(crashes[n // 3] % (len(table.log) + 1))
            for lead, events in accepted.items():
                now = _ids(lead_entries.read(table, lead, lead.encode()).state())
                # Entries fill in acceptance order: what is left is a prefix of it.
                assert now == sorted(e.event_id for e in events[:len(now)])
                accepted[lead] = events[:len(now)]
    for event in log:  # everything redelivered once more
        _apply(table, event)
    for lead in {e.lead_id for e in log}:
        assert lead_entries.read(table, lead, lead.encode()).state() == _fold(
            [e for e in log if e.lead_id == lead])


def _ids(state: LeadState) -> list[str]:
    """The state's event ids, sorted."""
    return sorted(e.event_id for e in (*state.touches, *state.purchases))


def _touch(n: int) -> Touch:
    return Touch(f"t{n:02d}", "L", "spring", "click", BASE_US + (99 - n) * 1_000)  # late first


def test_a_lead_goes_on_in_entries_of_at_most_chunk_events() -> None:
    table = _Table()
    events = 2 * CHUNK_EVENTS + 3
    for n in range(events):
        assert _apply(table, _touch(n)) == 1
    assert sorted(table) == [b"L", b"L\xff1", b"L\xff2"]
    assert [_events_in(table[k]) for k in (b"L", b"L\xff1", b"L\xff2")] == [
        CHUNK_EVENTS, CHUNK_EVENTS, 3]
    stored = lead_entries.read(table, "L", b"L")
    assert stored.state() == _fold([_touch(n) for n in range(events)])  # path order
    assert len({lead_entries.read(table, "L", b"L").stamp}) == 1


def test_an_entry_written_before_holds_the_whole_state_and_the_lead_goes_on() -> None:
    old = _fold([_touch(n) for n in range(CHUNK_EVENTS + 2)])
    table = _Table()
    dict.__setitem__(table, b"L", encode_state(old))  # no stamp: written before entries
    assert lead_entries.read(table, "L", b"L").state() == old
    _apply(table, _touch(CHUNK_EVENTS + 2))
    assert sorted(table) == [b"L", b"L\xff1"] and table[b"L"] == encode_state(old)
    assert lead_entries.read(table, "L", b"L").state() == _fold(
        [_touch(n) for n in range(CHUNK_EVENTS + 3)])
    assert _apply(table, _touch(3)) == 2  # a duplicate rewrites both entries


@settings(max_examples=100, deadline=None)
@given(kept=st.integers(0, 20), events=st.integers(CHUNK_EVENTS + 1, 3 * CHUNK_EVENTS + 1))
def test_an_expired_leads_leftovers_are_never_read_by_its_next_generation(
        kept: int, events: int) -> None:
    table = _Table()
    for n in range(events):
        _apply(table, _touch(n))
    before = len(table.log)
    lead_entries.delete(table, b"L", lead_entries.read(table, "L", b"L"))
    # A crash loses some of the tombstones (the first entry's is written first).
    table = table.restored(before + min(kept, len(table.log) - before))
    old = [] if kept else [_touch(n) for n in range(events)]  # kept 0: nothing expired
    back = [Touch(f"n{n:02d}", "L", "summer", "call", BASE_US + n)
            for n in range(CHUNK_EVENTS + 2)]
    for n, event in enumerate(back):
        _apply(table, event)
        stored: StoredLead = lead_entries.read(table, "L", b"L")
        assert stored.state() == _fold(old + back[:n + 1])
