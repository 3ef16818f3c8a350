"""Integration fixtures: never leave a worker process behind a failed test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.harness import kill_leftovers


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    yield
    kill_leftovers()
