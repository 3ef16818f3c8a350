"""The worker's garbage-collector settings: start-up objects frozen, young collections rarer."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streams.faust_app.gc_tuning import YOUNG_THRESHOLD, tune_after_start


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Put this test process's collector back as it was."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    middle, old = gc.get_threshold()[1:]
    built = [object()]  # something start-up built (a list: the collector tracks it)
    tune_after_start()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)
    assert not any(obj is built for obj in gc.get_objects())  # out of the collector's sight

