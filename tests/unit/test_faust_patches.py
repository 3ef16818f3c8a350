"""The start-up check of faust-streaming: a patched or used private name that changed stops
the worker with one line naming it, instead of misbehaving after an upgrade."""

from __future__ import annotations

from typing import Any

import pytest
from faust.stores.rocksdb import Store
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import Consumer as DriverConsumer

from streams import cli
from streams.faust_app import patches
from streams.faust_app.exceptions import FaustIncompatible
from streams.faust_app.patches import (
    CONSUMER,
    DRIVER_CONSUMER,
    ROCKSDB_STORE,
    check_faust,
    install_faust_patches,
)

REAL = {CONSUMER: Consumer, DRIVER_CONSUMER: DriverConsumer, ROCKSDB_STORE: Store}


class FakeConsumer:
    """Every name the patches touch, with faust-streaming 0.15's signatures."""

    _committed_offset: dict[Any, Any]
    _acked: dict[Any, Any]
    _acked_index: dict[Any, Any]
    _read_offset: dict[Any, Any]
    _unacked_messages: set[Any]

    async def perform_seek(self) -> None: ...
    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None: ...
    def _new_offset(self, tp: Any) -> int | None: ...
    async def _commit_offsets(self, offsets: Any, start_new_transaction: bool = True) -> bool:
        return True


class FakeDriver(FakeConsumer):
    async def seek_wait(self, partitions: Any) -> None: ...
    async def earliest_offsets(self, *partitions: Any) -> Any: ...
    def highwater(self, tp: Any) -> int:
        return 0
    def assignment(self) -> set[Any]:
        return set()


class FakeStore:
    _dbs: dict[int, Any]

    def _visible_items(self, db: Any) -> Any: ...


FAKE = {CONSUMER: FakeConsumer, DRIVER_CONSUMER: FakeDriver, ROCKSDB_STORE: FakeStore}


def _without(cls: type, name: str) -> type:
    """A subclass-free copy of ``cls`` lacking ``name`` (method or annotation)."""
    namespace = {k: v for k, v in vars(cls).items() if k != name}
    namespace["__annotations__"] = {
        k: v for k, v in vars(cls).get("__annotations__", {}).items() if k != name}
    return type(cls.__name__, (), namespace)


def test_the_installed_faust_streaming_passes() -> None:
    check_faust("0.15.3", REAL)
    check_faust("0.15.3", FAKE)


def test_another_series_is_refused() -> None:
    with pytest.raises(FaustIncompatible, match=r"faust-streaming 0\.16\.0 is installed"):
        check_faust("0.16.0", REAL)


@pytest.mark.parametrize("name", ["_add_gap", "_new_offset", "_committed_offset", "_acked"])
def test_a_missing_consumer_attribute_is_named(name: str) -> None:
    classes = {**FAKE, CONSUMER: _without(FakeConsumer, name)}
    with pytest.raises(FaustIncompatible) as error:
        check_faust("0.15.3", classes)
    assert f"{CONSUMER}.{name} is missing" in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_store_attribute_is_named() -> None:
    with pytest.raises(FaustIncompatible, match=r"rocksdb\.Store\._visible_items is missing"):
        check_faust("0.15.3", {**FAKE, ROCKSDB_STORE: _without(FakeStore, "_visible_items")})


def test_a_changed_signature_is_named_with_both_signatures() -> None:
    class Changed(FakeConsumer):
        async def _add_gap(self, tp: Any, offsets: range) -> None: ...  # type: ignore[override]

    class Driver(Changed, FakeDriver):
        pass

    with pytest.raises(FaustIncompatible) as error:
        check_faust("0.15.3", {**FAKE, CONSUMER: Changed, DRIVER_CONSUMER: Driver})
    assert str(error.value) == (
        f"faust-streaming 0.15.3: {CONSUMER}._add_gap takes (self, tp, offsets), "
        "leadclock's consumer patches expect (self, tp, offset_from, offset_to)")


def test_a_driver_that_overrides_a_patched_method_is_refused() -> None:
    class Driver(FakeDriver):
        def _new_offset(self, tp: Any) -> int | None: ...

    with pytest.raises(FaustIncompatible, match=r"aiokafka\.Consumer\._new_offset overrides"):
        check_faust("0.15.3", {**FAKE, DRIVER_CONSUMER: Driver})


def test_installing_checks_first_and_patches_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("perform_seek", "_add_gap", "_new_offset", "_commit_offsets"):
        monkeypatch.setattr(Consumer, name, getattr(Consumer, name))
    monkeypatch.setattr(Consumer, "_read_offset", None, raising=False)
    safety = install_faust_patches(frozenset({"t.clicks"}))
    assert safety.event_topics == frozenset({"t.clicks"})
    assert Consumer._add_gap.__wrapped__ is not None  # type: ignore[attr-defined]
    check_faust("0.15.3", REAL)  # still passes once patched: originals are compared
    monkeypatch.setattr(patches, "installed_version", lambda: "0.16.1")
    with pytest.raises(FaustIncompatible):
        install_faust_patches(frozenset({"t.clicks"}))


def test_the_worker_stops_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(patches, "installed_version", lambda: "0.16.1")
    # The check runs before any connection: the broker and ClickHouse are never reached.
    code = cli.main(["worker", "--brokers", "127.0.0.1:1", "--clickhouse", "http://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("leadclock worker: error: faust-streaming 0.16.1 is installed")
