"""Fault injection for tests: make the next N flushes fail as if ClickHouse were away.

Enabled only through ``LEADCLOCK_FAULTS`` (e.g. ``flush_transient=5``), so a test can
drive a real worker process through an outage without mocking ClickHouse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sinks.exceptions import TransientSinkError


@dataclass
class Faults:
    """Remaining injected failures."""

    flush_transient: int = 0

    @classmethod
    def from_env(cls) -> Faults:
        """Parse ``LEADCLOCK_FAULTS=name=count,...``; unknown names are ignored."""
        faults = cls()
        for item in os.environ.get("LEADCLOCK_FAULTS", "").split(","):
            name, _, count = item.partition("=")
            if name.strip() == "flush_transient" and count.strip().isdigit():
                faults.flush_transient = int(count)
        return faults

    def before_flush(self) -> None:
        """Raise an injected transient failure while any remain."""
        if self.flush_transient > 0:
            self.flush_transient -= 1
            msg = "injected fault: ClickHouse unavailable (LEADCLOCK_FAULTS)"
            raise TransientSinkError(msg, retry_after=0.5)
