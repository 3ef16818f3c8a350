"""Running the gateway: inside an asyncio program, standalone until a signal, or in a thread.

The holder of an embedded directory (the worker, ``leadclock dashboard``, ``leadclock
serve``) starts the gateway on its own event loop with :func:`start_gateway`; it opens
its own handle to the engine, so it works whether or not the process already uses it.
Starting it publishes ``<dir>.endpoint`` for :func:`sinks.client.connect` to find;
closing it withdraws the file. Tests use :func:`gateway_thread`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from sinks import endpoint
from sinks.gateway.app import make_app
from sinks.gateway.engine import Engine
from sinks.gateway.exceptions import GatewayError, ServeError

SHUTDOWN_TIMEOUT_S = 10.0
"""How long closing waits for requests in flight (an insert being written) to finish."""
MAX_URL = 1024 * 1024
"""Longest request line or header, as ClickHouse's own default (http_max_uri_size)."""


@dataclass
class RunningGateway:
    """A gateway that is listening; ``url`` is what clients use."""

    url: str
    directory: Path
    read_only: bool
    runner: web.AppRunner
    engine: Engine
    published: bool

    async def close(self) -> None:
        """Withdraw the endpoint, finish requests in flight, close the engine handles."""
        if self.published:
            endpoint.withdraw(self.directory, self.url)
        await self.runner.cleanup()
        await self.engine.close()


def embedded_directory(dsn: str) -> Path:
    """The data directory of a ``chdb:///abs/path`` DSN, spelled as the engine spells it."""
    parts = urlsplit(dsn)
    if parts.scheme != "chdb" or parts.path in ("", "/") or parts.netloc == "memory":
        msg = f"only an embedded ClickHouse directory (chdb:///abs/path) can be served, not {dsn}"
        raise ServeError(msg)
    return Path(os.path.realpath(parts.path))


async def start_gateway(dsn: str, *, host: str = "127.0.0.1", port: int = 0,
                        read_only: bool = False, publish: bool = True) -> RunningGateway:
    """Open the engine for ``dsn`` and serve it on ``host:port`` (0: any free port)."""
    directory = embedded_directory(dsn)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        msg = f"cannot create the ClickHouse directory {directory}: {error.strerror}"
        raise ServeError(msg) from error
    holder = endpoint.holder(directory)
    if holder not in (None, os.getpid()):
        published = endpoint.read(directory)
        shared = f"; it already serves {published.url}" if published else ""
        msg = f"the embedded ClickHouse {directory} is held by process {holder or '?'}{shared}"
        raise ServeError(msg)
    engine = Engine(str(directory), read_only)
    try:
        await engine.open()
    except GatewayError as error:
        msg = f"cannot open the embedded ClickHouse {directory}: {error.message}"
        raise ServeError(msg) from error
    # auto_decompress off: the body is decoded by sinks.gateway.body, which knows lz4 and
    # concatenated frames; long lines allowed, as the server allows long query URLs.
    runner = web.AppRunner(make_app(engine, read_only, loopback_only=_is_loopback(host)),
                           access_log=None, handle_signals=False,
                           shutdown_timeout=SHUTDOWN_TIMEOUT_S, auto_decompress=False,
                           max_line_size=MAX_URL, max_field_size=MAX_URL)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        await engine.close()
        msg = (f"cannot listen on {host}:{port}: {error.strerror}; choose another port "
               "(0: any free one)")
        raise ServeError(msg) from error
    url = f"http://{_url_host(host)}:{runner.addresses[0][1]}"
    if publish:
        endpoint.publish(directory, url, read_only)
    return RunningGateway(url, directory, read_only, runner, engine, publish)


def serve_until_signal(dsn: str, *, host: str, port: int, read_only: bool,
                       announce: Callable[[RunningGateway], None]) -> None:
    """Serve until SIGINT or SIGTERM, then close cleanly (``leadclock serve``)."""

    async def main() -> None:
        running = await start_gateway(dsn, host=host, port=port, read_only=read_only)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            announce(running)
            await stop.wait()
        finally:
            await running.close()

    asyncio.run(main())


@contextmanager
def gateway_thread(dsn: str, *, host: str = "127.0.0.1", port: int = 0,
                   read_only: bool = False, publish: bool = True) -> Iterator[RunningGateway]:
    """A gateway on its own event loop in a background thread, closed on exit (tests)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="ch-gateway-loop", daemon=True)
    thread.start()
    try:
        start = start_gateway(dsn, host=host, port=port, read_only=read_only, publish=publish)
        running = asyncio.run_coroutine_threadsafe(start, loop).result()
        try:
            yield running
        finally:
            asyncio.run_coroutine_threadsafe(running.close(), loop).result()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    """How local clients reach a bound address (a wildcard means this machine)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
