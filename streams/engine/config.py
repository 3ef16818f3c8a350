"""Engine configuration: window size, lookback and half-life, parsed from flags/env.

The configuration is part of what an attribution *version* means: the same events under
a different window or lookback give different aggregates. It is therefore a frozen value
that is recorded with the data (see ``sinks.versions``) rather than a set of globals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from schemas.timestamps import US_PER_SECOND
from streams.engine.exceptions import ConfigError

_UNIT_US: Final = {
    "s": US_PER_SECOND,
    "m": 60 * US_PER_SECOND,
    "h": 3600 * US_PER_SECOND,
    "d": 86400 * US_PER_SECOND,
    "w": 7 * 86400 * US_PER_SECOND,
}
WINDOW_SIZES: Final = ("1h", "1d", "1w")
_DURATION = re.compile(r"^([0-9]{1,9})([smhdw])$")


def parse_duration_us(text: str, *, name: str) -> int:
    """Parse ``90d``/``7d``/``12h``-style durations into microseconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        msg = f"{name}: {text!r} is not a duration like 90d, 12h, 30m or 2w"
        raise ConfigError(msg)
    return int(match.group(1)) * _UNIT_US[match.group(2)]


def format_duration_us(us: int) -> str:
    """Render microseconds in the largest whole unit, the inverse of parse_duration_us."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_US[unit]
        if us % size == 0 and us > 0:
            return f"{us // size}{unit}"
    return f"{us}us"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything that changes what the engine computes for the same events."""

    window: str = "1d"
    lookback_us: int = 90 * _UNIT_US["d"]
    half_life_us: int = 7 * _UNIT_US["d"]

    def __post_init__(self) -> None:
        """Reject configurations the engine cannot honour, at construction time."""
        if self.window not in WINDOW_SIZES:
            msg = f"window: {self.window!r} must be one of {', '.join(WINDOW_SIZES)}"
            raise ConfigError(msg)
        if self.lookback_us < 0:
            msg = "lookback: must not be negative"
            raise ConfigError(msg)
        if self.half_life_us <= 0:
            msg = "half-life: must be positive"
            raise ConfigError(msg)

    @classmethod
    def from_text(cls, *, window: str, lookback: str, half_life: str) -> EngineConfig:
        """Build a configuration from the textual forms used by flags and env vars."""
        return cls(
            window=window,
            lookback_us=parse_duration_us(lookback, name="lookback"),
            half_life_us=parse_duration_us(half_life, name="half-life"),
        )

    def describe(self) -> dict[str, str]:
        """Textual form, recorded next to the data it produced."""
        return {
            "window": self.window,
            "lookback": format_duration_us(self.lookback_us),
            "half_life": format_duration_us(self.half_life_us),
        }
