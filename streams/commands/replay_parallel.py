"""A replay in several processes, each folding and writing the leads it owns.

Leads are dealt to k processes, and every process must see all the events of its
leads. From the topics, partition p goes to process p mod k and each process reads its
partitions itself: with the default partitioner a lead's events all sit in its home
partition (``murmur2(lead_id) mod partitions``). From a file, this process reads the
lines and deals them by a cheap look at the raw ``lead_id`` bytes (no JSON parsing
here). Either way, after parsing, each process checks the real owner of every valid
event and hands the rare stray one (another partitioner, an escaped ``lead_id``) to the
process that owns its lead, so every lead still meets all its events in one state.

The command drives the phases: every process reads and exchanges strays, then reports
what it read and waits; only when the command has checked the whole log and marked the
version building does it tell them to fold and write (through the gateway of an
embedded database this process holds). Processes report progress and results on one
queue; a failure in any of them stops the replay with its message.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from typing import TYPE_CHECKING, Any

from schemas.events import Event
from schemas.exceptions import LeadclockError
from streams.engine.replay import Progress, Record, ReplayStats, Tick
from streams.exceptions import ReplayError
from streams.kafka.topic_reader import Ranges, TopicPlan, TopicReader, home_partition

if TYPE_CHECKING:
    from streams.commands.replay import ReplayRequest

POLL_S = 0.5
LINES_PER_BATCH = 2000
BATCHES_QUEUED = 16
"""Batches of lines waiting per process (the reader pauses beyond: bounded memory)."""


@dataclass(frozen=True, slots=True)
class ChildJob:
    """What one replay process reads and writes."""

    index: int
    count: int
    request: ReplayRequest
    version: int
    ranges: Ranges | None
    """Topics: this process's partitions; None: the command feeds it file lines."""
    partitions: int = 0

    def owner(self, lead_id: str) -> int:
        """The process that folds ``lead_id``."""
        if self.ranges is not None:
            return home_partition(lead_id, self.partitions) % self.count
        return zlib.crc32(lead_id.encode()) % self.count


def guess_owner(line: bytes, count: int) -> int:
    """The owner of a line's lead from its raw bytes (exact unless the id is escaped)."""
    key = line.find(b'"lead_id"')
    colon = line.find(b":", key + 9) if key >= 0 else -1
    start = line.find(b'"', colon + 1) if colon >= 0 else -1
    end = line.find(b'"', start + 1) if start >= 0 else -1
    return zlib.crc32(line[start + 1:end]) % count if end >= 0 else 0


def child_main(job: ChildJob, pipes: dict[str, Any]) -> None:
    """Entry point of a replay process (spawned)."""
    try:
        _child(job, pipes)
    except KeyboardInterrupt:
        for pipe in (*pipes["inboxes"], pipes["lines"], pipes["control"], pipes["events"]):
            if pipe is not None:
                pipe.cancel_join_thread()  # exit now, whatever is still queued
    except LeadclockError as error:
        pipes["events"].put(("error", job.index, str(error)))
    except BaseException:  # reported to the command, which fails with it: never hidden
        pipes["events"].put(("error", job.index, traceback.format_exc(limit=5)))


def _fed_lines(lines: Any, label: str) -> Iterator[Record]:
    while (batch := lines.get()) is not None:
        for number, line in batch:
            yield (label, -1, number), None, line


def _child(job: ChildJob, pipes: dict[str, Any]) -> None:
    from sinks.client import connect, skip_pandas
    from streams.commands.replay_local import LocalReplay

    skip_pandas()
    request, index, inboxes, events = job.request, job.index, pipes["inboxes"], pipes["events"]

    def foreign(event: Event, record: Record) -> bool:
        owner = job.owner(event.lead_id)
        if owner == index:
            return False
        inboxes[owner].put(record)
        return True

    def progress(tick: Tick) -> None:
        events.put(("tick", index, tick))

    records: Iterable[Record]
    if job.ranges is not None:
        reader = TopicReader(request.brokers, job.ranges)
        records, fraction = reader.records(), reader.fraction
    else:
        records, fraction = _fed_lines(pipes["lines"], pipes["label"]), None
    local = LocalReplay(records, request.engine, connect(request.dsn),
                        job.version, fraction, foreign, write_batch=request.write_batch)
    local.read(progress)
    for other, inbox in enumerate(inboxes):
        if other != index:
            inbox.put(None)
    strays: list[Record] = []
    ended = 1
    while ended < job.count:
        record = inboxes[index].get()
        if record is None:
            ended += 1
        else:
            strays.append(record)
    local.read_more(strays)
    events.put(("read", index, local.stats))
    order, merge = pipes["control"].get()
    if order == "go":
        local.write(progress, merge=merge)
        events.put(("done", index, local.stats))


@dataclass
class ParallelReplay:
    """Runs the replay processes and combines their progress and results."""

    request: ReplayRequest
    version: int
    plan: TopicPlan | None = None
    lines: Iterable[Record] | None = None
    """A file's records, dealt to the processes by this one (None: topics)."""
    fraction: Callable[[], float | None] | None = None
    label: str = ""
    stats: ReplayStats = field(default_factory=ReplayStats)
    _processes: list[SpawnProcess] = field(default_factory=list)
    _controls: list[Any] = field(default_factory=list)
    _events: Any = None
    _ticks: dict[int, Tick] = field(default_factory=dict)

    def read(self, progress: Progress | None) -> ReplayStats:
        """Start the processes; wait until every one has read (and exchanged) its part."""
        plan = self.plan
        count = max(1, min(self.request.processes or 1, plan.partitions if plan else 64))
        context = multiprocessing.get_context("spawn")
        inboxes = [context.Queue() for _ in range(count)]
        feeds = [context.Queue(BATCHES_QUEUED) if plan is None else None for _ in range(count)]
        self._controls = [context.Queue() for _ in range(count)]
        self._events = context.Queue()
        for index in range(count):
            ranges = ({tp: r for tp, r in plan.ranges.items() if tp[1] % count == index}
                      if plan is not None else None)
            job = ChildJob(index, count, self.request, self.version, ranges,
                           plan.partitions if plan else 0)
            pipes = {"inboxes": inboxes, "lines": feeds[index], "label": self.label,
                     "control": self._controls[index], "events": self._events}
            process = context.Process(target=child_main, args=(job, pipes),
                                      name=f"leadclock-replay-{index}")
            process.start()
            self._processes.append(process)
        total = plan.messages if plan is not None else self._deal(feeds, count, progress)
        self._combine(self._collect("read", progress, total))
        return self.stats

    def _deal(self, feeds: list[Any], count: int, progress: Progress | None) -> int:
        """Deal the file's lines to the processes; return how many."""
        assert self.lines is not None
        batches: list[list[tuple[int, bytes]]] = [[] for _ in range(count)]
        dealt = 0
        for (_, _, number), _, line in self.lines:
            assert line is not None  # a file line, never a tombstone
            owner = guess_owner(line, count)
            batch = batches[owner]
            batch.append((number, line))
            if len(batch) >= LINES_PER_BATCH:
                feeds[owner].put(batch)
                batches[owner] = []
            dealt += 1
            if progress is not None and dealt % 8192 == 0:
                progress(Tick("read", dealt, self.fraction() if self.fraction else None))
        for owner, batch in enumerate(batches):
            if batch:
                feeds[owner].put(batch)
            feeds[owner].put(None)
        return dealt

    def write(self, progress: Progress | None, *, merge: bool) -> ReplayStats:
        """Let every process fold and write; wait for all of them."""
        total = self.stats.leads
        for control in self._controls:
            control.put(("go", merge))
        self._combine(self._collect("done", progress, total))
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

    def _combine(self, results: list[ReplayStats]) -> None:
        self.stats = ReplayStats()
        for result in results:
            self.stats.add(result)

    def _collect(self, kind: str, progress: Progress | None, total: int) -> list[ReplayStats]:
        results: dict[int, ReplayStats] = {}
        self._ticks.clear()
        phase = "read" if kind == "read" else "fold+write"
        while len(results) < len(self._processes):
            try:
                what, index, payload = self._events.get(timeout=POLL_S)
            except queue.Empty:
                self._check_alive(results)
                continue
            if what == "error":
                self.stop()
                msg = f"replay process {index} failed: {str(payload).strip()}"
                raise ReplayError(msg)
            if what == "tick" and progress is not None and payload.phase == phase:
                self._ticks[index] = payload
                done = sum(t.done for t in self._ticks.values())
                progress(Tick(phase, done, min(1.0, done / total) if total else None))
            elif what == kind:
                results[index] = payload
        return [results[i] for i in sorted(results)]

    def _check_alive(self, results: dict[int, ReplayStats]) -> None:
        for index, process in enumerate(self._processes):
            if index not in results and not process.is_alive():
                self.stop()
                msg = f"replay process {index} exited with code {process.exitcode}"
                raise ReplayError(msg)
