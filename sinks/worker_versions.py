"""The worker's view of the versions store: which version to write, and its handoff records.

Implements ``streams.faust_app.follow.VersionControl`` over ClickHouse. A worker can
follow a version only if everything in it came from the same topics it reads: a
version holding events from files would lose them (the worker rewrites a lead from its
table, which holds the topics' events only), and a version built under another state
TTL would mix two expiry policies. Such a version is reported, not followed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from sinks import version_feed
from sinks.sink import ClickHouseSink
from sinks.versions import VersionInfo, current_version, get_version, set_status
from streams.engine.config import EngineConfig
from streams.engine.versions import Feed, TopicPartitionKey, VersionTarget


def engine_config(recorded: Mapping[str, str], fallback: EngineConfig) -> EngineConfig:
    """The engine configuration a version records (``fallback``'s for missing keys)."""
    described = fallback.describe()
    return EngineConfig.from_text(window=recorded.get("window", described["window"]),
                                  lookback=recorded.get("lookback", described["lookback"]),
                                  half_life=recorded.get("half_life", described["half_life"]))


def why_not(info: VersionInfo, label: str, ttl: Mapping[str, str]) -> str:
    """Why a worker reading ``label`` with TTL ``ttl`` cannot write ``info`` ('' if it can)."""
    files = [s for s in info.sources if not s.startswith("kafka:")]
    if files:
        return (f"it holds events from {files[0]}, which the worker would drop when it "
                "rewrites those leads from the topics (write another version: "
                "--attribution-version N)")
    others = [s for s in info.sources if s != label]
    if others:
        return f"it was built from other topics ({others[0]}), not {label}"
    if info.config.get("state_ttl") != ttl.get("state_ttl"):
        wanted = ttl.get("state_ttl", "none")
        return (f"it was built with state TTL {info.config.get('state_ttl', 'none')}, this "
                f"worker runs with {wanted}")
    return ""


@dataclass
class WorkerVersions:
    """One worker's control over which version its sink writes."""

    client: Client
    """Its own client (the sink writes on another thread)."""
    sink: ClickHouseSink
    label: str
    """The topics the worker reads, as a version source (``kafka:PREFIX``)."""
    engine: EngineConfig
    ttl: Mapping[str, str]

    def target(self) -> VersionTarget | None:
        """The current version, with its configuration and whether it can be written."""
        current = current_version(self.client)
        info = get_version(self.client, current) if current is not None else None
        if info is None:
            return None
        return VersionTarget(info.version, engine_config(info.config, self.engine),
                             why_not(info, self.label, self.ttl))

    def feeds(self, version: int) -> dict[TopicPartitionKey, Feed]:
        """What ``version`` records per partition."""
        return version_feed.feeds(self.client, version)

    def record(self, version: int, offsets: Mapping[TopicPartitionKey, int], *,
               fed: bool) -> None:
        """Record the offsets; a version this worker feeds lists its topics as a source."""
        version_feed.record(self.client, version, offsets, fed=fed)
        info = get_version(self.client, version) if fed else None
        if info is not None and self.label not in info.sources:
            set_status(self.client, info, info.status, add_source=self.label)

    def use(self, version: int) -> None:
        """Point the sink at ``version`` (takes effect at its next write)."""
        self.sink.version = version
