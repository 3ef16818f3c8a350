"""Following the current attribution version: a promote switches the worker without a gap.

Every few seconds the worker asks which version is current (``VersionControl.target``);
a worker pinned with ``--attribution-version`` keeps its version. When version N
becomes current while the worker writes V:

1. Under the flush lock it writes what it processed into V, then, with no await in
   between, notes how far V is complete (per partition, the offset after the last
   message it acknowledged) and how far it has processed, and points the writer (and
   the buffer's engine configuration) at N. Every message processed from then on is
   written into N.
2. It records V as complete below those offsets and no longer fed from its partitions,
   so promoting V back later resumes it the same way.
3. N records, per partition, the offset E below which N holds every event (a replay
   from the topics records where it stopped; 0 if nothing is recorded). The messages
   this worker processed in [E, processed) were written into V only: it reads them
   again with a side consumer, rewrites their leads (the ``lead_id`` in each value,
   never the Kafka key, which producers may set to anything) from its table state into
   N, flushes, and records N as fed from these partitions. The rerouted topic is
   followed like an event topic: a misrouted event reaches its lead's table through its
   copy there, so that copy's partition is where the lead must be rewritten (nothing is
   recorded for it by a replay, so it is read from its start, once per version).

Writes are absolute per lead and the newest revision wins, so rewriting a lead never
counts anything twice; and every event at or after E reaches N through either the
rewrite or normal processing, so nothing is missed. A crash before step 3 finishes
leaves N not fed for that partition, and the worker that takes the partition next does
step 3 again (from the committed offset). The same step runs for every partition a
worker is assigned while writing a version (a start, a rebalance): a partition the
version records as fed needs nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.events import Rejection
from streams.engine import lead_entries
from streams.engine.accounting import parse_message
from streams.engine.expiry import arrivals_from_json
from streams.engine.versions import Feed, TopicPartitionKey, VersionTarget
from streams.faust_app.ack import say
from streams.faust_app.agent import Agent

Ranges = dict[TopicPartitionKey, tuple[int, int]]
FOLLOW_EVERY_S = 3.0
"""How often a worker checks which version is current."""


class VersionControl(Protocol):
    """The worker's view of the versions store (``sinks.worker_versions``)."""

    def target(self) -> VersionTarget | None:
        """The current version and its configuration (None if none is current)."""
        ...

    def feeds(self, version: int) -> dict[TopicPartitionKey, Feed]:
        """What ``version`` records per partition."""
        ...

    def record(self, version: int, offsets: Mapping[TopicPartitionKey, int], *,
               fed: bool) -> None:
        """Record ``version`` complete below ``offsets``, fed by a worker or not."""
        ...

    def use(self, version: int) -> None:
        """Point the writer at ``version``."""
        ...


def key_of(tp: Any) -> TopicPartitionKey:
    """(topic, partition) of a Faust TP."""
    return (str(tp.topic), int(tp.partition))


@dataclass(frozen=True, slots=True)
class VersionWiring:
    """What the composition root hands the app: the store, the start version, if pinned."""

    control: VersionControl
    version: int
    pinned: bool


@dataclass
class Follower:
    """Keeps the version this worker writes complete, and follows promotes."""

    control: VersionControl
    agent: Agent
    read_keys: Callable[[Ranges], set[bytes]]
    """Keys of the messages in the given ranges (a side consumer)."""
    assigned: Callable[[], set[Any]]
    """The event-topic partitions (Faust TPs) assigned to this worker now."""
    ready: Callable[[], bool]
    """False while the app rebalances or restores its table."""
    version: int
    pinned: bool = False
    log: Callable[[str], None] = say
    done: set[TopicPartitionKey] = field(default_factory=set)
    """Partitions for which ``version`` is complete and recorded as fed."""
    switched: dict[TopicPartitionKey, int] = field(default_factory=dict)
    """After a switch, until completed: per partition, how far this worker had processed
    (into the old version) when it switched; the new version must be completed to there."""
    _refused: int | None = None
    _busy: bool = False

    def reset(self) -> None:
        """After a rebalance: check every assigned partition again (from its new start)."""
        self.done.clear()
        self.switched.clear()

    async def poll(self) -> None:
        """The timer's body: switch if another version became current, then complete."""
        if self._busy or not self.ready():
            return
        self._busy = True
        try:
            loop = asyncio.get_running_loop()
            if not self.pinned:
                target = await loop.run_in_executor(None, self.control.target)
                if target is not None and target.version != self.version:
                    await self._switch(target)
            await self.complete()
        finally:
            self._busy = False

    async def _switch(self, target: VersionTarget) -> None:
        if target.blocked:
            if self._refused != target.version:
                self.log(f"version {target.version} is current, but this worker keeps "
                         f"writing version {self.version}: {target.blocked}")
                self._refused = target.version
            return
        agent, old = self.agent, self.version

        def swap() -> tuple[dict[TopicPartitionKey, int], dict[Any, int]]:
            # No await in here: the agent cannot process a message meanwhile.
            left = {key_of(tp): max(agent.flusher.written.get(tp, 0), self._start(tp))
                    for tp in self.assigned()}
            processed = dict(agent.positions)
            self.control.use(target.version)
            agent.buffer.config = target.config
            agent.buffer.forget_written()  # the new version holds none of our rows
            return left, processed

        left, processed = await agent.flusher.flush_then(swap)
        self.version, self.done = target.version, set()
        self.switched = {key_of(tp): max(processed.get(tp, 0), self._start(tp))
                         for tp in self.assigned()}
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.control.record(old, left, fed=False))
        self.log(f"version {target.version} is current: writing it now (was {old}; "
                 f"{old} holds every event below the offsets it recorded)")
        await self.complete()

    def _start(self, tp: Any) -> int:
        start = self.agent.safety.start_of(self.agent.consumer(), tp)
        return int(start) if start is not None else 0

    async def complete(self) -> None:
        """Make ``version`` complete for the assigned partitions not yet done."""
        tps = {key_of(tp): tp for tp in self.assigned()}
        todo = {key: tp for key, tp in tps.items() if key not in self.done}
        if not todo:
            return
        loop = asyncio.get_running_loop()
        version = self.version
        recorded = await loop.run_in_executor(None, self.control.feeds, version)
        ranges: Ranges = {}
        upto: dict[TopicPartitionKey, int] = {}
        for key, tp in todo.items():
            switching = key in self.switched
            if switching:  # what it processed before the switch went to the old version
                upto[key] = self.switched[key]
            else:  # writing it since the assignment: only what came before is missing
                first = self.agent.firsts.get(tp)
                upto[key] = first if first is not None else self._start(tp)
            feed = recorded.get(key)
            if feed is not None and feed.fed and not switching:
                continue  # fed all along (by this worker before a restart, or another)
            below = feed.complete_below if feed is not None and not feed.fed else 0
            if upto[key] > below:
                ranges[key] = (below, upto[key])
        keys = await loop.run_in_executor(None, self.read_keys, ranges) if ranges else set()
        rewritten = self._rewrite(keys)
        if rewritten:
            await self.agent.flusher.flush()
        if self.version != version:
            return  # switched again meanwhile: the next poll completes the new one
        await loop.run_in_executor(
            None, lambda: self.control.record(version, upto, fed=True))
        self.done.update(upto)
        for key in upto:
            self.switched.pop(key, None)
        if rewritten:
            spans = ", ".join(f"{t}/{p} {a}..{b - 1}" for (t, p), (a, b) in sorted(ranges.items()))
            self.log(f"version {version}: rewrote {rewritten:,} leads of the messages it "
                     f"lacked ({spans})")

    def _rewrite(self, keys: set[bytes]) -> int:
        """Hand each lead's table state to the buffer (synchronously: no message between)."""
        table = self.agent.processor.table
        ttl = self.agent.processor.topic_roles is not None
        buffer = self.agent.buffer
        count = 0
        for key in keys:
            lead = key.decode("utf-8", errors="replace")
            stored = lead_entries.read(table, lead, key)
            if not stored.exists:
                continue
            arrivals = arrivals_from_json(stored.extra) if ttl else None
            buffer.put_lead(lead, stored.state(), arrivals.generation if arrivals else "")
            count += 1
        return count


def lead_keys(values: Iterable[bytes | None]) -> set[bytes]:
    """The table keys (``lead_id``) of the valid events among message values.

    Parsed from the value as the processor does: the message's Kafka key is whatever
    its producer chose, and a rejected message changed no lead.
    """
    keys: set[bytes] = set()
    for value in values:
        parsed = parse_message(value)
        if not isinstance(parsed, Rejection):
            keys.add(parsed.lead_id.encode())
    return keys


def install(app: Any, agent: Agent, control: VersionControl, *, version: int, pinned: bool,
            brokers: str, topics: frozenset[str], every_s: float) -> Follower:
    """Create the follower of ``app`` (consumed topics ``topics``), polled every ``every_s``."""
    from streams.kafka.topic_reader import TopicReader

    def read_keys(ranges: Ranges) -> set[bytes]:
        return lead_keys(value for _, _, value in TopicReader(brokers, ranges).records())

    def assigned() -> set[Any]:
        return {tp for tp in app.consumer.assignment() if tp.topic in topics}

    def ready() -> bool:
        return (not app.rebalancing and not getattr(app, "in_recovery", False)
                and app.tables.recovery.completed.is_set())

    follower = Follower(control, agent, read_keys, assigned, ready, version, pinned)

    def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        agent.positions.clear()
        agent.firsts.clear()
        follower.reset()

    app.on_partitions_assigned.connect(on_assigned)
    running: set[asyncio.Task[None]] = set()

    @app.timer(interval=every_s)  # type: ignore[untyped-decorator]
    async def follow_versions() -> None:
        # A switch or a rewrite can outlast the interval: run it beside the timer.
        if not running:
            task = asyncio.ensure_future(follower.poll())
            running.add(task)
            task.add_done_callback(running.discard)

    return follower
