"""The worker's settings: one typed, frozen value built by the CLI from flags and env."""

from __future__ import annotations

from dataclasses import dataclass

from streams.engine.config import EngineConfig
from streams.engine.expiry import StateTtl
from streams.kafka.topics import TopicNames


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Everything ``leadclock worker`` needs to know; see the README's Configuration."""

    brokers: str
    """Kafka bootstrap servers, comma-separated."""
    topics: TopicNames
    partitions: int
    """Partitions of every event topic (they must all match)."""
    clickhouse: str
    """ClickHouse DSN (``chdb://...`` or ``http(s)://...``)."""
    version: int | None
    """Attribution version written; None: follow the current version."""
    engine: EngineConfig
    state_ttl: StateTtl | None = None
    app_id: str = "leadclock"
    """Faust app id = consumer group."""
    data_dir: str = "var/worker"
    """RocksDB table store directory."""
    instance_id: str = ""
    """Static group membership id ('' for none)."""
    session_timeout_s: float = 10.0
    metrics_port: int = 0
    """Prometheus ``/metrics`` port (0: off)."""
    metrics_host: str = "127.0.0.1"
    """Address ``/metrics`` listens on (0.0.0.0 in a container)."""
    dashboard_port: int = 0
    """Port of the dashboard page served from the worker process (0: off)."""
    dashboard_host: str = "127.0.0.1"
    """Address the dashboard page listens on (127.0.0.1: this machine only)."""
    progress_every_s: float = 5.0
    report_every_s: float = 0.0
    """Print per-campaign results this often (0: never)."""
    unsafe_auto_ack: bool = False
    """Benchmarking only: ack before the flush (loses effectively-once on a crash)."""
    unsafe_memory_state: bool = False
    """Benchmarking only: lead state in a dict, not the Faust table (no changelog, no
    standby: a restart loses it, a rebalance leaves it stale, and results are then
    wrong). It measures the worker without the cost of its state store, an upper bound
    for any other store."""
    shutdown_timeout_s: float = 30.0
    """After SIGTERM/SIGINT: half of it to write what was processed, then the process
    ends anyway (status 3, stacks logged) if it has not (``streams.faust_app.shutdown``)."""
    broker_wait_s: float = 60.0
    """How long a starting worker retries an unreachable broker before it gives up."""

    def describe_version(self) -> dict[str, str]:
        """The configuration recorded with the version: the engine's and the TTL's."""
        return {**self.engine.describe(), **(self.state_ttl.describe() if self.state_ttl else {})}
