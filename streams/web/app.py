"""The dashboard as an aiohttp application: routes, error mapping and security basics.

Why aiohttp: it is already installed (faust-streaming depends on it), it is asyncio
native, and an ``AppRunner`` starts from any coroutine, so ``leadclock worker
--dashboard-port N`` serves this very application from inside the worker process (on a
thread and event loop of its own beside Faust's; see streams.web.server), where the
embedded ClickHouse the worker holds is at hand. A WSGI/ASGI server would add a
dependency for the same job.

The app is built from a :class:`~streams.web.db.Reader` (one ClickHouse client), so the
standalone command, the worker and the tests all serve the same thing. Security basics:
user choices reach SQL only as server-side parameters; unknown parameters are a 400;
a ``Host`` check (DNS-rebinding protection) while bound to loopback; the SQL endpoint
takes JSON only from the page's own origin; a Content-Security-Policy keeps every
request of the page on the server it came from.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from streams.web.db import MISSING_OBJECT_CODES, Reader
from streams.web.exceptions import BadRequest, QueryFailed
from streams.web.handlers import Handlers, Limits, error_response
from streams.web.panels import PANELS

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Host names a loopback-bound dashboard answers to.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_BODY_BYTES = 64 * 1024
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'none'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_ALLOWED_HOSTS = web.AppKey("allowed_hosts", frozenset)


def build_app(reader: Reader, *, limits: Limits | None = None,
              allowed_hosts: Collection[str] | None = LOOPBACK_HOSTS) -> web.Application:
    """The dashboard application over ``reader``.

    ``allowed_hosts``: the ``Host`` header names accepted (None: any, for a server bound
    to a public interface behind the operator's own proxy).
    """
    handlers = Handlers(reader, limits or Limits())
    app = web.Application(middlewares=[_check_host, _api_errors],
                          client_max_size=MAX_BODY_BYTES)
    app[_ALLOWED_HOSTS] = frozenset(allowed_hosts or ())
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    app.router.add_get("/api", handlers.index)
    app.router.add_get("/api/meta", handlers.meta)
    for name, panel in PANELS.items():
        app.router.add_get(f"/api/{name}", handlers.panel(panel))
    app.router.add_post("/api/sql", _same_origin_json(handlers.sql))
    app.on_response_prepare.append(_security_headers)
    return app


async def _index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


@web.middleware
async def _check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a Host header that is not ours.

    A page on another site could otherwise reach this loopback server through a DNS
    name it re-pointed to 127.0.0.1 (DNS rebinding).
    """
    allowed = request.app[_ALLOWED_HOSTS]
    if allowed and _host_name(request.host) not in allowed:
        return error_response(403, f"Host {request.host!r} is not allowed; open the "
                                   "dashboard at http://127.0.0.1:<port>/")
    return await handler(request)


def _host_name(host: str) -> str:
    """``host[:port]`` or ``[v6]:port`` without the port."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


@web.middleware
async def _api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure of an API request as ``{"error": "..."}`` with the right status."""
    try:
        return await handler(request)
    except BadRequest as error:
        return error_response(400, str(error))
    except QueryFailed as error:
        if error.code in MISSING_OBJECT_CODES:
            return error_response(503, f"{error} (the leadclock views are missing or "
                                       "older than this dashboard: run `leadclock migrate`)")
        return error_response(500, str(error))
    except web.HTTPException as error:
        if not request.path.startswith("/api") or error.status < 400:
            raise
        if error.status == 404:
            message = f"no endpoint {request.path} (GET /api lists them)"
        else:
            message = f"{request.method} {request.path}: {error.reason}"
        return error_response(error.status, message)


def _same_origin_json(handler: Handler) -> Handler:
    """A POST handler that only accepts JSON from the page's own origin.

    A form on another site can POST ``text/plain`` without asking; it cannot send
    ``application/json`` cross-origin without a CORS preflight, which this server never
    answers. The Origin check closes the rest.
    """

    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return error_response(415, "send the query as application/json")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return error_response(403, f"cross-origin request from {origin!r} refused")
        return await handler(request)

    return guarded


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.path.startswith("/api") or request.path == "/":
        response.headers["Cache-Control"] = "no-store"
