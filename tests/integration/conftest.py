"""Integration fixtures: no worker left behind a failed test; a private broker to stop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.harness import kill_leftovers
from tests.integration.private_broker import PrivateBroker, free_port


@pytest.fixture(scope="session")
def private_broker(tmp_path_factory: pytest.TempPathFactory,
                   kafka_brokers: str) -> Iterator[PrivateBroker]:
    """A broker of the tests that stop it (started once; each such test restarts it)."""
    broker = PrivateBroker(tmp_path_factory.mktemp("kafka"), free_port(), free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    yield
    kill_leftovers()
