"""The offset guard notices a skipped range instead of letting it be committed."""

from __future__ import annotations

from streams.offset_guard import OffsetGuard


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
