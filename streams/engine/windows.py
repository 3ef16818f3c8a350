"""Tumbling event-time windows, aligned to UTC midnight.

Hours and days are aligned to the Unix epoch (which is a UTC midnight). Weeks start on
Monday 00:00 UTC, like ISO weeks and ClickHouse's ``toMonday``: the epoch was a
Thursday, so week windows are shifted by four days.
"""

from __future__ import annotations

from typing import Final

_HOUR_US: Final = 3600 * 1_000_000
_DAY_US: Final = 24 * _HOUR_US
_WEEK_US: Final = 7 * _DAY_US
_MONDAY_OFFSET_US: Final = 4 * _DAY_US  # 1970-01-05 was the first Monday
_SIZES: Final = {"1h": _HOUR_US, "1d": _DAY_US, "1w": _WEEK_US}


def window_start_us(occurred_at_us: int, window: str) -> int:
    """Start (µs since epoch, UTC) of the window of size ``window`` holding the instant."""
    size = _SIZES[window]
    if window == "1w":
        shifted = occurred_at_us - _MONDAY_OFFSET_US
        return shifted - shifted % size + _MONDAY_OFFSET_US
    return occurred_at_us - occurred_at_us % size
