"""Value types and defaults of the ``leadclock`` arguments (argparse ``type=`` functions).

Each raises ``argparse.ArgumentTypeError``, which the parser turns into its one-line error.
"""

from __future__ import annotations

import argparse
import os


def env(name: str, default: str) -> str:
    """The environment variable ``name`` if set and not empty, else ``default``."""
    return os.environ.get(name) or default


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"{text!r} is not a positive integer"
        raise argparse.ArgumentTypeError(msg)
    return value


def seconds(text: str) -> float:
    """A number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        msg = f"{text!r} is not a number of seconds (0 or more)"
        raise argparse.ArgumentTypeError(msg)
    return value


def port(text: str) -> int:
    """A TCP port number (0: any free one, where a command allows it)."""
    if not text.isdigit() or int(text) > 65535:
        msg = f"{text!r} is not a port number (0-65535)"
        raise argparse.ArgumentTypeError(msg)
    return int(text)
