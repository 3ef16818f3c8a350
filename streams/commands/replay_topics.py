"""A replay from the topics in several processes, each folding the leads of its partitions.

Partition numbers are dealt to the processes (partition p to process p mod k); each
reads partition p of all four event topics, so with the default partitioner every
lead's events arrive in the process that owns its home partition
(``murmur2(lead_id) mod partitions``). A message that another partitioner put elsewhere
is handed to the owner of its lead's home partition (rare by nature), so every lead
still meets all its events in one state. Each process then folds its leads and writes
them itself (through the gateway of an embedded database this process holds).

The command drives the phases: every process reads and exchanges misrouted messages,
then reports what it read and waits; only when the command has checked the whole log
and marked the version building does it tell them to write. Processes report progress
and results on one queue; a failure in any of them stops the replay with its message.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from typing import Any

from schemas.events import Event
from schemas.exceptions import LeadclockError
from streams.commands.replay import ReplayRequest
from streams.engine.replay import Progress, Record, ReplayStats, Tick
from streams.exceptions import ReplayError
from streams.kafka.topic_reader import Ranges, TopicPlan, TopicReader, home_partition

POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class ChildJob:
    """What one replay process reads and writes."""

    index: int
    request: ReplayRequest
    version: int
    ranges: Ranges
    partitions: int
    owners: dict[int, int]
    """Partition number -> index of the process that owns it."""


def child_main(job: ChildJob, inboxes: list[Any], control: Any, events: Any) -> None:
    """Entry point of a replay process (spawned)."""
    try:
        _child(job, inboxes, control, events)
    except KeyboardInterrupt:
        for pipe in (*inboxes, control, events):
            pipe.cancel_join_thread()  # exit now, whatever is still queued
        return  # the command says what is left
    except LeadclockError as error:
        events.put(("error", job.index, str(error)))
    except BaseException:  # reported to the command, which fails with it: never hidden
        events.put(("error", job.index, traceback.format_exc(limit=5)))


def _child(job: ChildJob, inboxes: list[Any], control: Any, events: Any) -> None:
    from sinks.client import connect
    from streams.commands.replay_local import LocalReplay

    request, index = job.request, job.index
    mine = {p for p, owner in job.owners.items() if owner == index}
    homes: dict[str, int] = {}

    def foreign(event: Event, record: Record) -> bool:
        home = homes.get(event.lead_id)
        if home is None:
            home = homes[event.lead_id] = home_partition(event.lead_id, job.partitions)
        if home in mine:
            return False
        inboxes[job.owners[home]].put(("record", record))
        return True

    def progress(tick: Tick) -> None:
        events.put(("tick", index, tick))

    client = connect(request.dsn)
    reader = TopicReader(request.brokers, job.ranges)
    local = LocalReplay(reader.records(), True, request.engine, client, job.version,
                        reader.fraction, foreign, write_batch=request.write_batch)
    local.read(progress)
    for other, inbox in enumerate(inboxes):
        if other != index:
            inbox.put(("end", index))
    ended = 1
    handed: list[Record] = []
    while ended < len(inboxes):
        kind, payload = inboxes[index].get()
        if kind == "end":
            ended += 1
        else:
            handed.append(payload)
    local.read_more(handed)
    events.put(("read", index, local.stats))
    order, merge = control.get()
    if order != "go":
        return
    local.write(progress, merge=merge)
    events.put(("done", index, local.stats))


@dataclass
class ParallelReplay:
    """Runs the replay processes and combines their progress and results."""

    request: ReplayRequest
    plan: TopicPlan
    version: int
    stats: ReplayStats = field(default_factory=ReplayStats)
    _processes: list[SpawnProcess] = field(default_factory=list)
    _controls: list[Any] = field(default_factory=list)
    _events: Any = None
    _ticks: dict[int, Tick] = field(default_factory=dict)

    def read(self, progress: Progress | None) -> ReplayStats:
        """Start the processes; wait until every one has read its partitions."""
        count = max(1, min(self.request.processes, self.plan.partitions))
        owners = {p: p % count for p in range(self.plan.partitions)}
        context = multiprocessing.get_context("spawn")
        inboxes = [context.Queue() for _ in range(count)]
        self._controls = [context.Queue() for _ in range(count)]
        self._events = context.Queue()
        for index in range(count):
            ranges = {tp: r for tp, r in self.plan.ranges.items() if owners[tp[1]] == index}
            job = ChildJob(index, self.request, self.version, ranges, self.plan.partitions,
                           owners)
            process = context.Process(target=child_main, name=f"leadclock-replay-{index}",
                                      args=(job, inboxes, self._controls[index],
                                            self._events))
            process.start()
            self._processes.append(process)
        results = self._collect("read", progress, self.plan.messages)
        self.stats = ReplayStats()
        for result in results:
            self.stats.add(result)
        return self.stats

    def write(self, progress: Progress | None, *, merge: bool) -> ReplayStats:
        """Let every process fold and write; wait for all of them."""
        total = self.stats.leads
        for control in self._controls:
            control.put(("go", merge))
        results = self._collect("done", progress, total)
        self.stats = ReplayStats()
        for result in results:
            self.stats.add(result)
        for process in self._processes:
            process.join(timeout=30)
        return self.stats

    def stop(self) -> None:
        """Stop every process (Ctrl-C, or a failure in one of them)."""
        for control in self._controls:
            control.put(("stop", False))
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)

    def _collect(self, kind: str, progress: Progress | None, total: int) -> list[ReplayStats]:
        results: dict[int, ReplayStats] = {}
        self._ticks.clear()
        while len(results) < len(self._processes):
            try:
                message = self._events.get(timeout=POLL_S)
            except queue.Empty:
                self._check_alive(results)
                continue
            what, index, payload = message
            if what == "error":
                self.stop()
                msg = f"replay process {index} failed: {str(payload).strip()}"
                raise ReplayError(msg)
            if what == "tick" and progress is not None:
                if payload.phase != ("read" if kind == "read" else "fold+write"):
                    continue  # a late tick of the previous phase
                self._ticks[index] = payload
                done = sum(t.done for t in self._ticks.values())
                progress(Tick(payload.phase, done, done / total if total else None))
            elif what == kind:
                results[index] = payload
        return [results[i] for i in sorted(results)]

    def _check_alive(self, results: dict[int, ReplayStats]) -> None:
        for index, process in enumerate(self._processes):
            if index not in results and not process.is_alive():
                self.stop()
                msg = f"replay process {index} exited with code {process.exitcode}"
                raise ReplayError(msg)
