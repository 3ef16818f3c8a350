"""``leadclock status``: how far behind the workers are, and what they are doing.

Lag comes from Kafka itself (end offsets minus the group's committed offsets), so it is
right even when no worker is running. If a worker serves metrics (``--metrics-port``),
its counters are read from that endpoint too.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

from streams.kafka.admin import group_lag
from streams.kafka.exceptions import MetricsUnavailable

_SHOWN = {
    "leadclock_events": "events",
    "leadclock_sink_flush_retries": "flush retries",
    "leadclock_sink_flush_seconds": "flushes",
    "leadclock_sink_pending": "pending in sink",
}


def lag_table(brokers: str, group: str, topics: Iterable[str]) -> str:
    """Per-partition lag of ``group`` as an aligned text table."""
    lags = group_lag(brokers, group, topics)
    lines = [f"{'topic':<36} {'partition':>9} {'lag':>10}"]
    for tp in sorted(lags, key=lambda t: (t.topic, t.partition)):
        lines.append(f"{tp.topic:<36} {tp.partition:>9} {lags[tp]:>10,}")
    lines.append(f"{'total':<36} {'':>9} {sum(lags.values()):>10,}")
    return "\n".join(lines)


def worker_metrics(url: str) -> str:
    """The worker's main counters, read from its Prometheus endpoint."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError) as error:
        msg = f"cannot read worker metrics at {url}: {getattr(error, 'reason', error)}"
        raise MetricsUnavailable(msg) from error
    lines = []
    for family in text_string_to_metric_families(text):
        label = _SHOWN.get(family.name)
        if label is None:
            continue
        for sample in family.samples:
            if sample.name.endswith(("_created", "_bucket")):
                continue
            detail = ",".join(f"{k}={v}" for k, v in sample.labels.items())
            suffix = sample.name.removeprefix(family.name)
            lines.append(f"{label}{suffix}{f' ({detail})' if detail else ''}: "
                         f"{sample.value:,.3f}".rstrip("0").rstrip("."))
    return "\n".join(lines)
