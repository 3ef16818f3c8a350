"""The dashboard served from inside another running asyncio program (as the worker will)."""

from __future__ import annotations

import asyncio

import aiohttp

from sinks.client import connect
from streams.web.server import open_dashboard
from tests.web.conftest import DemoDb


def test_served_from_a_running_loop_next_to_other_work(demo_db: DemoDb) -> None:
    client = connect(demo_db.dsn)  # its own client, as the worker would give it

    async def program() -> tuple[int, int, int]:
        other_work_done = asyncio.Event()

        async def other_work() -> None:  # the host program keeps running its own tasks
            await asyncio.sleep(0)
            other_work_done.set()

        dashboard = await open_dashboard(client, "127.0.0.1", 0)
        task = asyncio.create_task(other_work())
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{dashboard.url}api/model-comparison") as reply:
                    status = reply.status
                    rows = len((await reply.json())["rows"])
                async with session.get(f"{dashboard.url}api/scorecard?model=nope") as reply:
                    bad = reply.status
            await asyncio.wait_for(other_work_done.wait(), 30)
            await task
        finally:
            await dashboard.stop()
        return status, rows, bad

    try:
        status, rows, bad = asyncio.run(program())
    finally:
        client.close()
    assert (status, bad) == (200, 400)
    assert rows > 0
