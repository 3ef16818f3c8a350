"""Huge and binary rejects: what rejected_events keeps, and the DLQ copy cut to fit."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from streams.engine.truncate import RAW_LIMIT, keep_raw, utf8_prefix
from streams.kafka.dead_letter import (
    DLQ_LIMIT,
    MIN_LIMIT,
    RECORD_ROOM,
    dead_letter_record,
    halved,
)


@given(st.text(max_size=200), st.integers(0, 900))
def test_utf8_prefix_never_cuts_a_character(text: str, limit: int) -> None:
    data = text.encode()
    kept = utf8_prefix(data, limit)
    assert len(kept) <= max(limit, 0) or kept == data
    assert data.startswith(kept)
    kept.decode("utf-8")  # whole characters only
    assert len(data) <= limit or len(kept) > limit - 4


@given(st.binary(max_size=300), st.integers(0, 400))
def test_utf8_prefix_of_any_bytes_is_a_bounded_prefix(data: bytes, limit: int) -> None:
    kept = utf8_prefix(data, limit)
    assert data.startswith(kept)
    assert kept == data if len(data) <= limit else len(kept) <= limit


def test_keep_raw_small_message_whole() -> None:
    kept = keep_raw(b'{"type": "click"}')
    assert (kept.text, kept.size, kept.truncated) == ('{"type": "click"}', 17, False)
    assert kept.sha256 == hashlib.sha256(b'{"type": "click"}').hexdigest()


def test_keep_raw_huge_binary_message_is_cut_and_described() -> None:
    raw = b"\xff\xfe" + "é".encode() * 600_000
    kept = keep_raw(raw)
    assert kept.truncated and kept.size == len(raw)
    assert kept.sha256 == hashlib.sha256(raw).hexdigest()
    assert len(kept.text.encode()) <= RAW_LIMIT + 2 * 2  # two replaced bytes grow by 2 each
    assert kept.text.startswith("\ufffd\ufffdé")


def test_empty_value_is_kept_as_empty() -> None:
    kept = keep_raw(b"")
    assert (kept.text, kept.size, kept.truncated) == ("", 0, False)


def _size(record: object) -> int:
    key, value, headers = record.key, record.value, record.headers  # type: ignore[attr-defined]
    return len(key or b"") + len(value) + sum(len(n) + len(v) + 8 for n, v in headers)


def test_dead_letter_that_fits_is_the_original() -> None:
    record = dead_letter_record(b"\xffkey", b"not json", "invalid JSON: x", "t/1/2")
    assert (record.key, record.value, record.truncated) == (b"\xffkey", b"not json", False)
    assert dict(record.headers) == {"leadclock-reason": b"invalid JSON: x",
                                    "leadclock-source": b"t/1/2"}


def test_tombstone_dead_letter_has_an_empty_value() -> None:
    record = dead_letter_record(None, None, "message: empty value", "t/0/0")
    assert (record.key, record.value) == (None, b"")


def test_dead_letter_too_big_is_cut_with_size_and_digest() -> None:
    value = b"x" * 1_040_000
    record = dead_letter_record(b"k", value, "invalid JSON: y", "t/3/9")
    headers = dict(record.headers)
    assert record.truncated and record.key == b"k"
    assert headers["leadclock-truncated"] == b"true"
    assert headers["leadclock-original-size"] == b"1040000"
    assert headers["leadclock-original-sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert value.startswith(record.value)
    assert _size(record) <= DLQ_LIMIT - RECORD_ROOM


def test_dead_letter_with_a_huge_key_cuts_the_key_too() -> None:
    key = b"K" * 900_000
    record = dead_letter_record(key, b"v" * 500_000, "r", "t/0/1")
    headers = dict(record.headers)
    assert record.key == b"K" * 1024 and headers["leadclock-original-key-size"] == b"900000"
    assert _size(record) <= DLQ_LIMIT - RECORD_ROOM


@given(st.integers(MIN_LIMIT, 4 * DLQ_LIMIT), st.integers(0, 3 * DLQ_LIMIT))
def test_dead_letter_always_fits_its_limit(limit: int, size: int) -> None:
    record = dead_letter_record(b"key", b"v" * size, "reason", "t/0/1", limit)
    assert _size(record) <= limit - RECORD_ROOM


def test_halving_stops_before_the_headers_no_longer_fit() -> None:
    limits = [DLQ_LIMIT]
    while (half := halved(limits[-1])) is not None:
        limits.append(half)
    assert limits[-1] >= MIN_LIMIT and len(limits) < 10
