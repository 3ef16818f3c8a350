"""Dashboard test fixtures: demo data replayed into embedded ClickHouse, the app served.

One package-scoped database for all dashboard tests (chdb allows one open path per
process; the package scope closes it before any other test package runs). The registry
is loaded with ``leadclock campaigns load``, as a user does, and every panel reads the
real §6 views.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from clickhouse_connect.driver.client import Client

from sinks.client import connect
from streams.cli import main
from streams.demo import generate
from streams.web.app import build_app
from streams.web.db import ClientReader
from streams.web.handlers import Limits
from streams.web.server import Running, start

DEMO_LEADS = 300

# The dashboard's test registry, loaded with `leadclock campaigns load`. cold-outbound
# stays unregistered: it must show as unclassified / unjudged.
REGISTRY = Path(__file__).with_name("campaigns.csv")


@dataclass(frozen=True)
class DemoDb:
    dsn: str
    client: Client


@dataclass(frozen=True)
class Served:
    url: str
    """Base URL without the trailing slash, e.g. http://127.0.0.1:41234."""


@pytest.fixture(scope="package")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoDb]:
    """The demo dataset replayed through `leadclock replay`, and the registry loaded."""
    root = tmp_path_factory.mktemp("dashboard")
    events = root / "demo.ndjson"
    dsn = f"chdb://{root / 'ch'}"
    # The dense synthetic load (January to May 2026, every currency even at 300 leads),
    # which the assertions about dates and currencies were written for.
    with events.open("wb") as handle:
        for line in generate(DEMO_LEADS, seed=7):
            handle.write(line + b"\n")
    assert main(["replay", "--input", str(events), "--clickhouse", dsn]) == 0
    assert main(["campaigns", "load", str(REGISTRY), "--clickhouse", dsn]) == 0
    client = connect(dsn)
    yield DemoDb(dsn, client)
    client.close()


@contextmanager
def serving(app: web.Application) -> Iterator[Served]:
    """Serve ``app`` on an ephemeral loopback port from its own thread and event loop."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: list[Running] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        box.append(loop.run_until_complete(start(app, "127.0.0.1", 0)))
        ready.set()
        loop.run_forever()
        loop.run_until_complete(box[0].runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="dashboard-test-server", daemon=True)
    thread.start()
    assert ready.wait(30), "the dashboard did not start"
    try:
        yield Served(box[0].url.rstrip("/"))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


@pytest.fixture(scope="package")
def served(demo_db: DemoDb) -> Iterator[Served]:
    """The dashboard over the demo database (1 s refresh, 1 s SQL timeout)."""
    reader = ClientReader(demo_db.client)
    try:
        with serving(build_app(reader, limits=Limits(refresh_seconds=1, sql_timeout_s=1))) as s:
            yield s
    finally:
        reader.close()
