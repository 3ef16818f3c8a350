"""The offset guard notices a skipped range, and uncommitted partitions restart at 0."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.transport.consumer import Consumer
from faust.types import TP

from streams.faust_app.offset_guard import (
    ConsumerSafety,
    OffsetGuard,
    ReadOffsets,
    committable_offset,
)


def test_contiguous_offsets_pass() -> None:
    guard = OffsetGuard(lambda tp: None)
    assert [guard.skipped_from("p0", o) for o in (0, 1, 2, 3)] == [None] * 4


def test_a_jump_past_the_committed_offset_is_a_skip() -> None:
    guard = OffsetGuard(lambda tp: 291)
    assert guard.skipped_from("p0", 548) == 291
    # Re-reading from the skip point, the offsets are contiguous again.
    assert [guard.skipped_from("p0", o) for o in (291, 292, 293)] == [None] * 3


def test_rereads_after_a_rebalance_are_not_skips() -> None:
    guard = OffsetGuard(lambda tp: 10)
    for offset in range(10, 20):
        assert guard.skipped_from("p0", offset) is None
    guard.reset()
    assert guard.skipped_from("p0", 10) is None  # back to the committed offset
    assert guard.skipped_from("p0", 15) == 11


def test_seeks_are_rate_limited() -> None:
    guard = OffsetGuard(lambda tp: 0)
    assert guard.should_seek("p0") is True
    assert guard.should_seek("p0") is False
    assert guard.should_seek("p1") is True


class _Consumer:
    """Just what Faust's ``Consumer.perform_seek`` and leadclock's patches touch."""

    def __init__(self, committed: dict[str, int | None], assigned: list[str]) -> None:
        self._committed = committed
        self._assigned = assigned
        self._committed_offset: dict[object, int | None] = {}
        self._read_offset: dict[object, int | None] = {}
        self._acked: dict[object, list[int]] = {}
        self._acked_index: dict[object, set[int]] = {}
        self.seeks: list[tuple[object, int]] = []

    async def seek_to_committed(self) -> dict[object, int | None]:
        return {_tp(name): offset for name, offset in self._committed.items()}

    def assignment(self) -> set[object]:
        return {_tp(name) for name in self._assigned}

    async def earliest_offsets(self, *tps: object) -> dict[object, int]:
        return dict.fromkeys(tps, 7)  # as if retention had removed offsets 0..6

    async def seek_wait(self, offsets: dict[object, int]) -> None:
        self.seeks.extend(offsets.items())


def _tp(name: str) -> TP:
    topic, partition = name.split("/")
    return TP(topic, int(partition))


@pytest.fixture
def safety(monkeypatch: pytest.MonkeyPatch) -> ConsumerSafety:
    # Restore Faust's methods after the test, whatever the patches do to them.
    for name in ("perform_seek", "_add_gap", "_new_offset", "_commit_offsets"):
        monkeypatch.setattr(Consumer, name, getattr(Consumer, name))
    monkeypatch.setattr(Consumer, "_read_offset", None, raising=False)
    patches = ConsumerSafety(frozenset({"calls", "clicks"}))
    patches.install()
    patches.install()  # installing again replaces the patches instead of stacking them
    return patches


def test_uncommitted_event_partitions_restart_at_their_first_offset(
    safety: ConsumerSafety,
) -> None:
    consumer = _Consumer(
        committed={"calls/0": 120, "calls/1": None, "clicks/0": None, "w-changelog/1": None},
        assigned=["calls/0", "calls/1", "clicks/0", "w-changelog/1"],
    )
    asyncio.run(Consumer.perform_seek(consumer))  # type: ignore[arg-type]
    # calls/0 stays where Faust sought it (its committed offset); the changelog is not an
    # event topic and stays Faust's business. Offset 0 resets to the earliest retained.
    assert sorted(consumer.seeks) == [(_tp("calls/1"), 0), (_tp("clicks/0"), 0)]
    assert safety.start_of(consumer, _tp("calls/0")) == 120
    assert safety.start_of(consumer, _tp("calls/1")) == 7
    assert safety.start_of(consumer, _tp("w-changelog/1")) is None
    # What the state TTL trusts: offsets read from Kafka (or committed successfully).
    assert safety.durable_start_of(_tp("calls/0")) == 120
    assert safety.durable_start_of(_tp("calls/1")) == 7
    safety.forget()
    assert safety.durable_start_of(_tp("calls/0")) is None


def test_commits_never_pass_an_unprocessed_offset(safety: ConsumerSafety) -> None:
    consumer = _Consumer(committed={}, assigned=["calls/0"])
    tp = _tp("calls/0")
    new_offset = Consumer._new_offset
    # Nothing committed and the start not known yet: hold everything.
    consumer._acked[tp] = [405, 406]
    assert new_offset(consumer, tp) is None  # type: ignore[arg-type]
    # The partition starts at 7: 405.. wait for 7..404 (Faust would commit 407 here).
    safety.starts[tp] = 7
    assert new_offset(consumer, tp) is None  # type: ignore[arg-type]
    consumer._acked[tp] += [7, 8, 9, 11]
    assert new_offset(consumer, tp) == 10  # type: ignore[arg-type]
    assert consumer._acked[tp] == [11, 405, 406]
    # After the commit, the committed offset is the start; one past it is not enough.
    consumer._committed_offset[tp] = 10
    assert new_offset(consumer, tp) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("acked", "start", "expected"), [
    ([], 0, (None, [])),
    ([0, 1, 2], None, (None, [0, 1, 2])),
    ([2, 0, 1], 0, (3, [])),
    ([1, 2], 0, (None, [1, 2])),
    ([3, 4, 5, 9], 5, (6, [9])),  # 3 and 4 were committed already (re-read after a seek)
    ([5, 5, 6], 5, (7, [])),
])
def test_committable_offset(acked: list[int], start: int | None,
                            expected: tuple[int | None, list[int]]) -> None:
    assert committable_offset(acked, start) == expected


def test_the_fetcher_never_drops_re_reads_of_event_topics(safety: ConsumerSafety) -> None:
    # What Consumer.__init__ does to the attribute, without building a consumer.
    holder = SimpleNamespace()
    read_offset = vars(Consumer)["_read_offset"]
    read_offset.fset(holder, {_tp("calls/0"): 1392, _tp("w-changelog/0"): 50})
    offsets = read_offset.fget(holder)
    offsets[_tp("calls/1")] = 7
    assert isinstance(offsets, ReadOffsets)
    assert offsets[_tp("calls/0")] is None  # so a re-read of 282 after a seek passes
    assert offsets[_tp("calls/1")] is None
    assert offsets[_tp("w-changelog/0")] == 50  # Faust's behaviour elsewhere
    assert offsets[_tp("w-changelog/9")] is None
