"""Prometheus metrics of the worker (prometheus-client), also summarised in its log."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

EVENTS = Counter("leadclock_events_total", "Messages processed, by outcome", ["outcome"])
FLUSH_SECONDS = Histogram("leadclock_sink_flush_seconds", "Duration of successful flushes")
FLUSH_RETRIES = Counter("leadclock_sink_flush_retries_total", "Failed flushes (retried)")
PENDING = Gauge("leadclock_sink_pending", "Entries waiting to be written to ClickHouse")
LEADS_EXPIRED = Counter("leadclock_leads_expired_total",
                        "Lead states dropped by the state TTL (--state-ttl)")
LAG = Gauge("leadclock_partition_lag", "Messages not yet committed", ["topic", "partition"])


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on host:port (0: do not serve); in a container, host 0.0.0.0."""
    if port:
        start_http_server(port, addr=host)
