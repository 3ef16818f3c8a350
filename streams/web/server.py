"""Serving the dashboard: inside an already running asyncio loop, or as its own process.

:func:`start` is a coroutine, so any asyncio program (the Faust worker in particular)
can serve the page from its own loop next to its other work and stop it with
``await runner.cleanup()``. :func:`serve` is the standalone ``leadclock dashboard``:
it opens one ClickHouse client, serves until interrupted, and closes everything.
"""

from __future__ import annotations

import asyncio
import errno
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from sinks.client import connect, redact
from streams.web.app import LOOPBACK_HOSTS, build_app
from streams.web.db import ClientReader
from streams.web.exceptions import ListenError, QueryFailed
from streams.web.handlers import Limits

#: A view of SPEC §4: without it the database holds no leadclock schema at all.
_SCHEMA_PROBE = "SELECT count() FROM v_attribution WHERE 0"


@dataclass(frozen=True, slots=True)
class Running:
    """A started dashboard: its runner (``await running.runner.cleanup()`` stops it)."""

    runner: web.AppRunner
    url: str


def is_loopback(host: str) -> bool:
    """True for the names and addresses of this machine only."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


async def start(app: web.Application, host: str, port: int) -> Running:
    """Serve ``app`` on ``host:port`` from the running loop; port 0 picks a free one."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ListenError(_listen_failure(host, port, error)) from error
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    shown = f"[{host}]" if ":" in host else host
    return Running(runner, f"http://{shown}:{bound}/")


def _listen_failure(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another dashboard?); "
                "choose another with --port")
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"not allowed to listen on {host}:{port} (ports below 1024 need privileges)"
    reason = error.strerror or str(error)
    return f"cannot listen on {host}:{port}: {reason}"


def serve(dsn: str, host: str, port: int, limits: Limits | None = None,
          say: Callable[[str], None] | None = None) -> None:
    """Run the standalone dashboard until Ctrl-C or SIGTERM, then stop cleanly."""
    tell = say or (lambda text: print(text, file=sys.stderr, flush=True))
    client = connect(dsn)
    reader = ClientReader(client)
    try:
        asyncio.run(_serve(reader, dsn, host, port, limits, tell))
    finally:
        reader.close()
        client.close()


async def _serve(reader: ClientReader, dsn: str, host: str, port: int,
                 limits: Limits | None, tell: Callable[[str], None]) -> None:
    try:
        await reader.query(_SCHEMA_PROBE, {})
    except QueryFailed as error:
        msg = (f"{redact(dsn)} holds no leadclock views ({error}); run `leadclock "
               "migrate` or a replay first")
        raise ListenError(msg) from error
    allowed = LOOPBACK_HOSTS if is_loopback(host) else None
    running = await start(build_app(reader, limits=limits, allowed_hosts=allowed),
                          host, port)
    tell(f"dashboard: {running.url} (reading {redact(dsn)}; Ctrl-C to stop)")
    if not is_loopback(host):
        tell("dashboard: warning: listening beyond this machine; anyone who can reach "
             "it can read the data and run read-only SQL")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await running.runner.cleanup()
    tell("dashboard: stopped")
