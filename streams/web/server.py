"""Serving the dashboard: inside a running asyncio loop, on a thread, or as its own process.

:func:`open_dashboard` is a coroutine, so any asyncio program can serve the page from its
own loop next to its other work, and stop it with ``await dashboard.stop()``.
:func:`dashboard_thread` serves it from a background thread with its own loop (how
``leadclock worker --dashboard-port N`` serves it beside Faust's loop). :func:`serve` is
the standalone ``leadclock dashboard``: it serves until interrupted, then stops cleanly.
"""

from __future__ import annotations

import asyncio
import errno
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web
from clickhouse_connect.driver.client import Client

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


async def start(app: web.Application, host: str, port: int, flag: str = "--port") -> Running:
    """Serve ``app`` on ``host:port`` from the running loop; port 0 picks a free one.

    ``flag`` is the option a user changes when the port is taken (named in the error).
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ListenError(_listen_failure(host, port, error, flag)) from error
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    shown = f"[{host}]" if ":" in host else host
    return Running(runner, f"http://{shown}:{bound}/")


def _listen_failure(host: str, port: int, error: OSError, flag: str) -> str:
    if error.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another dashboard?); "
                f"choose another with {flag}")
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"not allowed to listen on {host}:{port} (ports below 1024 need privileges)"
    reason = error.strerror or str(error)
    return f"cannot listen on {host}:{port}: {reason}"


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A dashboard served from the running loop over its own reader (one client)."""

    running: Running
    reader: ClientReader

    @property
    def url(self) -> str:
        """The address it answers on, e.g. ``http://127.0.0.1:8050/``."""
        return self.running.url

    async def stop(self) -> None:
        """Stop serving, then let a query still running finish (off the loop)."""
        await self.running.runner.cleanup()
        await asyncio.get_running_loop().run_in_executor(None, self.reader.close)


async def open_dashboard(client: Client, host: str, port: int,
                         limits: Limits | None = None, flag: str = "--port") -> Dashboard:
    """Serve the dashboard over ``client`` from the running loop (e.g. the worker's).

    The caller keeps owning ``client`` and closes it after :meth:`Dashboard.stop`; give
    the dashboard its own client, not one another task queries concurrently.
    """
    reader = ClientReader(client)
    allowed = LOOPBACK_HOSTS if is_loopback(host) else None
    try:
        running = await start(build_app(reader, limits=limits, allowed_hosts=allowed),
                              host, port, flag)
    except ListenError:
        reader.close()
        raise
    return Dashboard(running, reader)


@contextmanager
def dashboard_thread(client: Client, host: str, port: int, limits: Limits | None = None,
                     flag: str = "--port") -> Iterator[Dashboard]:
    """The dashboard served from a background thread and its own event loop until exit.

    For a program whose loop is not ours to extend (the Faust worker's): the page's
    request handling and JSON encoding then never run on that loop, and the page is up
    before the program starts and down after it ends. ListenError if it cannot listen.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="leadclock-dashboard",
                              daemon=True)
    thread.start()
    try:
        opening = open_dashboard(client, host, port, limits, flag)
        dashboard = asyncio.run_coroutine_threadsafe(opening, loop).result()
        try:
            yield dashboard
        finally:
            asyncio.run_coroutine_threadsafe(dashboard.stop(), loop).result()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def serve(client: Client, where: str, host: str, port: int, limits: Limits | None = None,
          say: Callable[[str], None] | None = None) -> None:
    """Run the standalone dashboard until Ctrl-C or SIGTERM, then stop cleanly.

    ``where`` names the database for messages (a DSN without its password); the caller
    (the composition root) opened ``client`` and closes it.
    """
    tell = say or (lambda text: print(text, file=sys.stderr, flush=True))
    asyncio.run(_serve(client, where, host, port, limits, tell))


async def _serve(client: Client, where: str, host: str, port: int,
                 limits: Limits | None, tell: Callable[[str], None]) -> None:
    dashboard = await open_dashboard(client, host, port, limits)
    try:
        await dashboard.reader.query(_SCHEMA_PROBE, {})
    except QueryFailed as error:
        await dashboard.stop()
        msg = (f"{where} holds no leadclock views ({error}); run `leadclock "
               "migrate` or a replay first")
        raise ListenError(msg) from error
    tell(f"dashboard: {dashboard.url} (reading {where}; Ctrl-C to stop)")
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
        await dashboard.stop()
    tell("dashboard: stopped")
