"""The state TTL applied to the worker's Faust table (the I/O side of ``streams.engine.expiry``).

Called by the agent (``streams.faust_app.agent``) after each valid message: it advances
the partition's event time and, when a sweep is due, deletes the partition's expired
leads through the table, so the RocksDB store, the changelog and the standby replica
all forget them. Faust writes a table change to the *current message's* partition,
which is why this runs inside the agent, for the partition of the message just
processed, and never on a timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from faust.types import TP

from streams.engine import lead_entries
from streams.engine.expiry import ROLES, TopicRole, Watermarks, expired_leads
from streams.faust_app import metrics
from streams.faust_app.offset_guard import ConsumerSafety


@dataclass
class TableSweeper:
    """Expires idle leads of one worker's table, partition by partition."""

    table: Any
    """The Faust table (RocksDB store: one database per partition)."""
    consumer: Callable[[], Any]
    safety: ConsumerSafety
    topic_roles: Mapping[str, TopicRole]
    """Event topic -> its role (as the processor's)."""
    watermarks: Watermarks
    expired: int = 0

    def after_message(self, tp: Any, offset: int, event_us: int) -> None:
        """Account for a processed message; sweep its partition if that is due."""
        highwater = self.consumer().highwater(tp)
        self.watermarks.observe(tp.partition, self.topic_roles[tp.topic], event_us,
                                time.time_ns() // 1_000,
                                backlog=highwater is not None and offset + 1 < highwater)
        horizon = self.watermarks.sweep_horizon(tp.partition)
        if horizon is not None:
            expired = self.sweep(tp.partition, horizon)
            self.expired += expired
            metrics.LEADS_EXPIRED.inc(expired)

    def sweep(self, partition: int, horizon_us: int) -> int:
        """Delete the partition's leads that ``expired_leads`` says may go."""
        topic_of = {role: topic for topic, role in self.topic_roles.items()}
        committed = [self.safety.durable_start_of(TP(topic_of[role], partition))
                     for role in ROLES]
        store = self.table.data
        db = store._dbs.get(partition)
        if db is None:
            return 0
        # Streamed: the partition's keys one by one, a lead's entries read from its store.
        expired = expired_leads(store._visible_keys(db), db, horizon_us, committed)
        for key, stored in expired:
            lead_entries.delete(self.table, key, stored)
        return len(expired)
