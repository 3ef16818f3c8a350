"""The one place faust-streaming internals are patched, and checked first.

leadclock works around faust-streaming rebalance bugs by replacing private consumer
methods (``streams.faust_app.offset_guard``) and reads private store attributes
(``streams.faust_app.table_sweep``). Private names can change in any release without
notice; a patch that no longer fits would misbehave silently (lost or re-read messages).
So :func:`install_faust_patches` is the only way to install them, once at worker start,
and it first checks the installed version and every private name used (and the
signature of every method patched or called), stopping the worker with a one-line
error naming the attribute when something does not match. It also makes aiokafka's
fetcher survive non-UTF-8 header names (``streams.faust_app.tolerant_fetch``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from importlib import metadata
from typing import Final

from streams.faust_app import tolerant_fetch
from streams.faust_app.exceptions import FaustIncompatible
from streams.faust_app.offset_guard import ConsumerSafety

SUPPORTED_SERIES: Final = "0.15."
"""The faust-streaming series the patches were written for and tested against."""
CONSUMER: Final = "faust.transport.consumer.Consumer"
DRIVER_CONSUMER: Final = "faust.transport.drivers.aiokafka.Consumer"
ROCKSDB_STORE: Final = "faust.stores.rocksdb.Store"
PATCHED: Final = ("perform_seek", "_add_gap", "_new_offset", "_commit_offsets")
"""Methods of the base consumer that ``ConsumerSafety.install`` replaces."""
EXPECTED: Final[tuple[tuple[str, str, tuple[str, ...] | None], ...]] = (
    # (class, attribute, parameter names; None for an attribute set in __init__)
    (CONSUMER, "perform_seek", ("self",)),
    (CONSUMER, "_add_gap", ("self", "tp", "offset_from", "offset_to")),
    (CONSUMER, "_new_offset", ("self", "tp")),
    (CONSUMER, "_commit_offsets", ("self", "offsets", "start_new_transaction")),
    (CONSUMER, "_committed_offset", None),
    (CONSUMER, "_acked", None),
    (CONSUMER, "_acked_index", None),
    (CONSUMER, "_read_offset", None),
    (CONSUMER, "_unacked_messages", None),
    (DRIVER_CONSUMER, "seek_wait", ("self", "partitions")),
    (DRIVER_CONSUMER, "earliest_offsets", ("self", "partitions")),
    (DRIVER_CONSUMER, "highwater", ("self", "tp")),
    (DRIVER_CONSUMER, "assignment", ("self",)),
    (ROCKSDB_STORE, "_dbs", None),
    (ROCKSDB_STORE, "_visible_items", ("self", "db")),
)


def install_faust_patches(event_topics: frozenset[str]) -> ConsumerSafety:
    """Check faust-streaming, then install the consumer patches for ``event_topics``.

    Must run before the Faust app creates its consumer. Raises ``FaustIncompatible``.
    """
    from faust.stores.rocksdb import Store
    from faust.transport.consumer import Consumer
    from faust.transport.drivers.aiokafka import Consumer as DriverConsumer

    check_faust(installed_version(),
                {CONSUMER: Consumer, DRIVER_CONSUMER: DriverConsumer, ROCKSDB_STORE: Store})
    missing = tolerant_fetch.check()
    if missing is not None:
        msg = (f"aiokafka {metadata.version('aiokafka')}: {missing} is missing; leadclock's "
               f"patch for non-UTF-8 header names relies on it")
        raise FaustIncompatible(msg)
    safety = ConsumerSafety(event_topics)
    safety.install()
    tolerant_fetch.install()
    return safety


def installed_version() -> str:
    """The installed faust-streaming distribution's version."""
    return metadata.version("faust-streaming")


def check_faust(version: str, classes: Mapping[str, type]) -> None:
    """Raise ``FaustIncompatible`` unless ``version`` and ``classes`` are what we patch.

    ``classes`` maps the dotted names used in ``EXPECTED`` to the classes to inspect.
    Methods are compared by their original (unpatched) signatures, so checking again
    after ``install_faust_patches`` gives the same answer.
    """
    if not version.startswith(SUPPORTED_SERIES):
        msg = (f"faust-streaming {version} is installed, but leadclock's consumer patches "
               f"were made for {SUPPORTED_SERIES}x; install faust-streaming>=0.15,<0.16")
        raise FaustIncompatible(msg)
    for owner, name, params in EXPECTED:
        cls = classes[owner]
        where = f"faust-streaming {version}: {owner}.{name}"
        if params is None:
            if name not in _annotations(cls):
                msg = f"{where} is missing; leadclock's consumer patches rely on it"
                raise FaustIncompatible(msg)
            continue
        method = _original(getattr(cls, name, None))
        if not callable(method):
            msg = f"{where} is missing; leadclock's consumer patches rely on it"
            raise FaustIncompatible(msg)
        found = tuple(inspect.signature(method).parameters)
        if found != params:
            msg = (f"{where} takes ({', '.join(found)}), leadclock's consumer patches "
                   f"expect ({', '.join(params)})")
            raise FaustIncompatible(msg)
    driver, base = classes[DRIVER_CONSUMER], classes[CONSUMER]
    for name in PATCHED:
        if _original(getattr(driver, name)) is not _original(getattr(base, name)):
            msg = (f"faust-streaming {version}: {DRIVER_CONSUMER}.{name} overrides "
                   f"{CONSUMER}.{name}, so leadclock's patch of it would not apply")
            raise FaustIncompatible(msg)


def _annotations(cls: type) -> dict[str, object]:
    """Annotated attributes of ``cls`` and its bases (instance attributes are declared so)."""
    names: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        names.update(inspect.get_annotations(klass))
    return names


def _original(method: object) -> object:
    """The method faust-streaming defined, behind a leadclock patch if one is installed."""
    return getattr(method, "__wrapped__", method)
