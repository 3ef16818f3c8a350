"""What the benchmark scripts share: finding the ``leadclock`` command they measure."""

from __future__ import annotations

import shutil
import sys
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
