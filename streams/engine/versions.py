"""What a worker needs to know about attribution versions: which one to write, and how.

Plain values shared by the worker shell (``streams.faust_app.follow``), which switches
versions, and the store that records them (``sinks.worker_versions``), so that neither
imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.engine.config import EngineConfig

TopicPartitionKey = tuple[str, int]
"""(topic, partition) of an event topic."""


@dataclass(frozen=True, slots=True)
class VersionTarget:
    """The version the views show, with the configuration it was built with."""

    version: int
    config: EngineConfig
    blocked: str = ""
    """Why this worker cannot write it ('' if it can): e.g. it holds events from files."""


@dataclass(frozen=True, slots=True)
class Feed:
    """What a version records for one partition of the event topics."""

    complete_below: int
    """The version holds every event of the partition below this offset."""
    fed: bool
    """A worker writes the version from this partition (and keeps it complete)."""
