"""A ClickHouse-HTTP-compatible gateway over the embedded engine (see docs/embedded-sharing.md).

The embedded ClickHouse (chdb) can be opened by one process only. The process that holds
it can serve this gateway, and every other process (``leadclock sql``, a second worker, a
notebook, Grafana) then reaches the same database with an ordinary HTTP ClickHouse client.
Importing this package is cheap; aiohttp is imported by the modules that serve.
"""
