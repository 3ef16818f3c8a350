"""Fault injection for tests: ClickHouse outages and refused rows, on demand.

Enabled only through ``LEADCLOCK_FAULTS`` (``flush_transient=5`` fails the next five
flushes as if ClickHouse were away; ``refuse_lead=ID`` makes every insert holding that
lead's rows fail permanently, as a data error would; ``flush_bug=1`` raises an
unexpected error in the next flush, as a bug would; ``flush_stuck=1`` blocks the next
flush's thread for good, as a hung connection would; ``pause_after_flushes=N`` says so on
stderr after N successful writes and then blocks, so that a test can interrupt a replay
at a known point without depending on timing; ``pause_after_sums=N`` does the same after
a replay stored N of a version's partial tables), so a test can drive a real worker or
replay process through these without mocking ClickHouse.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass

from sinks.exceptions import PermanentRowError, TransientSinkError


@dataclass
class Faults:
    """Remaining injected failures."""

    flush_transient: int = 0
    refuse_lead: str = ""
    flush_bug: int = 0
    flush_stuck: int = 0
    pause_after_flushes: int = 0
    pause_after_sums: int = 0

    @classmethod
    def from_env(cls) -> Faults:
        """Parse ``LEADCLOCK_FAULTS=name=value,...``; unknown names are ignored."""
        faults = cls()
        for item in os.environ.get("LEADCLOCK_FAULTS", "").split(","):
            name, _, count = item.partition("=")
            name = name.strip()
            if name in ("flush_transient", "flush_bug", "flush_stuck",
                        "pause_after_flushes", "pause_after_sums") and \
                    count.strip().isdigit():
                setattr(faults, name, int(count))
            elif name == "refuse_lead":
                faults.refuse_lead = count.strip()
        return faults

    def after_flush(self) -> None:
        """After the configured number of writes: say so, then block (until a signal)."""
        if self.pause_after_flushes > 0:
            self.pause_after_flushes -= 1
            if self.pause_after_flushes == 0:
                _pause()

    def after_sums(self) -> None:
        """After the configured number of partial tables stored: say so, then block."""
        if self.pause_after_sums > 0:
            self.pause_after_sums -= 1
            if self.pause_after_sums == 0:
                _pause()

    def before_flush(self) -> None:
        """Raise (or hang) as injected, while any injected failure remains."""
        if self.flush_stuck > 0:
            self.flush_stuck -= 1
            threading.Event().wait()  # never set: this thread is stuck for good
        if self.flush_bug > 0:
            self.flush_bug -= 1
            msg = "injected fault: a bug in the sink (LEADCLOCK_FAULTS)"
            raise RuntimeError(msg)
        if self.flush_transient > 0:
            self.flush_transient -= 1
            msg = "injected fault: ClickHouse unavailable (LEADCLOCK_FAULTS)"
            raise TransientSinkError(msg, retry_after=0.5)

    def before_lead_insert(self, leads: Collection[str]) -> None:
        """Refuse an insert holding the configured lead's rows."""
        if self.refuse_lead and self.refuse_lead in leads:
            msg = f"injected fault: rows of lead {self.refuse_lead} refused (LEADCLOCK_FAULTS)"
            raise PermanentRowError(msg)


def _pause() -> None:
    print("injected pause (LEADCLOCK_FAULTS)", file=sys.stderr, flush=True)
    while True:
        time.sleep(3600)
