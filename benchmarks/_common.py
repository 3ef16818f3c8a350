"""What the benchmark scripts share: the ``leadclock`` command they measure, demo logs."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def leadclock() -> str:
    """The venv's ``leadclock`` (next to this Python), else the one on PATH."""
    found = BIN / "leadclock"
    if found.exists():
        return str(found)
    on_path = shutil.which("leadclock")
    if on_path is None:
        raise SystemExit("cannot find the leadclock command; run with the venv's python")
    return on_path


EVENTS_PER_LEAD = 2.5
"""What ``leadclock demo`` (streams/demo_events.py) writes per lead: ~2.51 at 20 000."""


def demo_log(workdir: Path, events: int) -> tuple[Path, Path]:
    """A ``leadclock demo`` log of exactly ``events`` lines and its campaign registry.

    The demo is generated per lead, so a first guess of the lead count can fall short:
    then it is generated again with proportionally more leads.
    """
    full, log = workdir / "demo.ndjson", workdir / "events.ndjson"
    registry = workdir / "demo.campaigns.csv"
    leads = math.ceil(events / EVENTS_PER_LEAD * 1.02) + 10
    while True:
        started = time.perf_counter()
        subprocess.run([leadclock(), "demo", "--leads", str(leads), "--output", str(full),
                        "--campaigns", str(registry)], check=True)
        print(f"  leadclock demo --leads {leads:,}: {time.perf_counter() - started:.1f} s",
              flush=True)
        written = _cut(full, log, events)
        if written == events:
            break
        leads = math.ceil(leads * events / written * 1.02)
    full.unlink()
    return log, registry


def _cut(full: Path, log: Path, events: int) -> int:
    """Copy the first ``events`` lines of ``full`` to ``log``; how many there were."""
    written = 0
    with full.open("rb") as source, log.open("wb") as target:
        for line in source:
            if written == events:
                break
            target.write(line)
            written += 1
    return written
