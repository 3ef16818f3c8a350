"""Shared fixtures: a real local Kafka broker, started once per session if needed.

Integration tests use the same script as users and CI (``deploy/local/kafka.sh``). If
a broker already answers at ``LEADCLOCK_BROKERS`` it is used as is (and left running);
otherwise the session starts one and stops it at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROKERS = os.environ.get("LEADCLOCK_BROKERS", "127.0.0.1:9092")


def _answers(address: str) -> bool:
    host, _, port = address.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_brokers() -> Iterator[str]:
    """Bootstrap servers of a running broker (started here if none answers)."""
    if _answers(BROKERS):
        yield BROKERS
        return
    script = ROOT / "deploy" / "local" / "kafka.sh"
    subprocess.run(["bash", str(script), "start"], check=True)
    try:
        yield BROKERS
    finally:
        subprocess.run(["bash", str(script), "stop"], check=False)


@pytest.fixture
def topic_prefix() -> str:
    """A fresh topic namespace per test, so tests never see each other's events."""
    return f"test-{uuid.uuid4().hex[:10]}."
