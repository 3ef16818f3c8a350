"""A progress line on stderr for long commands: count, rate, share done and time left.

Hand-written rather than rich/tqdm: one line is all a replay needs, and CI logs stay
readable. On a terminal the line is redrawn in place (at most 5 times a second) and
each phase ends with its final line; elsewhere (a pipe, a CI log) one line is printed
every ``every_s`` seconds and at the end of each phase, so a log shows the whole run
without thousands of carriage returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from streams.engine.replay import Tick

UNITS = {"read": "events", "fold+write": "leads"}


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class ProgressLine:
    """Renders :class:`Tick` values of successive phases as progress lines."""

    prefix: str = "replay"
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    every_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    tty: bool | None = None
    _phase: str = ""
    _started: float = 0.0
    _shown: float = 0.0
    _last: Tick | None = None
    _width: int = 0

    def __post_init__(self) -> None:
        """Decide once whether the line can be redrawn in place."""
        if self.tty is None:
            self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, tick: Tick) -> None:
        """Show a tick (rate-limited); a new phase first closes the previous one."""
        now = self.clock()
        if tick.phase != self._phase:
            self.end()
            self._phase, self._started, self._shown = tick.phase, now, now
        self._last = tick
        interval = 0.2 if self.tty else self.every_s
        if now - self._shown >= interval:
            self._show(tick, now)
            self._shown = now

    def end(self) -> None:
        """Print the final line of the current phase (if any tick came)."""
        if self._last is not None:
            self._show(self._last, self.clock(), final=True)
        self._last, self._phase = None, ""

    def note(self, text: str) -> None:
        """A line of its own, clear of any line being redrawn."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(f"{self.prefix}: {text}\n")
        self.stream.flush()

    def _show(self, tick: Tick, now: float, *, final: bool = False) -> None:
        elapsed = max(now - self._started, 1e-9)
        unit = UNITS.get(tick.phase, "items")
        parts = [f"{self.prefix}: {tick.phase} {tick.done:,} {unit}",
                 f"{tick.done / elapsed:,.0f}/s"]
        if final:
            parts.append(f"done in {_duration(elapsed)}")
        elif tick.fraction is not None and 0 < tick.fraction <= 1:
            parts.append(f"{tick.fraction:.0%}")
            parts.append(f"ETA {_duration(elapsed * (1 - tick.fraction) / tick.fraction)}")
        text = "  ".join(parts)
        if self.tty:
            pad = " " * max(0, self._width - len(text))
            self.stream.write("\r" + text + pad + ("\n" if final else ""))
            self._width = 0 if final else len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
