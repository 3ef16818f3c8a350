"""A Kafka broker of a test's own, for tests that stop it (outages, restarts).

``deploy/local/kafka.sh`` with its own ``KAFKA_DIR`` and ports (the jars are shared with
the session's broker, under ``KAFKA_LIBS``), so stopping it disturbs no other test.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateBroker:
    """A broker of this test's own (data under its tmp dir, its own ports)."""

    directory: Path
    port: int
    controller_port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _script(self, action: str) -> None:
        env = {**os.environ, "KAFKA_DIR": str(self.directory), "KAFKA_PORT": str(self.port),
               "KAFKA_CONTROLLER_PORT": str(self.controller_port)}
        subprocess.run(["bash", str(ROOT / "deploy" / "local" / "kafka.sh"), action],
                       env=env, check=True, capture_output=True, timeout=180)

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")
