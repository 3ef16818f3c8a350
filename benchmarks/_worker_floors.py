"""leadclock's own work per event, in memory: what the worker adds to a Faust agent.

``worker_bench.py`` compares the worker with a Faust agent that does nothing (issue 12,
goal 2: at least 0.7x). This times, in this process and with no Kafka, Faust or
ClickHouse, the two pieces of work the worker adds per message, on the same demo load:

1. **per message** (the agent's part): ``MessageProcessor.process`` with a plain dict
   as the table: validate, read and decode the lead's state, apply the event, encode
   the state back (what goes to the changelog), account, and buffer the lead;
2. **per flush** (the flush thread's part), every ``batch`` messages: each changed
   lead's contribution at its newest state (``Pending.drain``) and its table rows and
   event rows (``sinks.lead_rows``). Encoding for ClickHouse and the insert are not
   included.

Set against the no-op agent's time per message, these bound what the worker could
reach if it did this work and nothing else on top of the agent (one core, no overlap).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice

from sinks.lead_rows import event_rows, lead_rows
from streams.engine.accounting import Counters
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.processor import DeadLetter, MessageProcessor
from streams.engine.row_diff import WrittenLeads
from streams.faust_app.gc_tuning import tune_after_start


@dataclass(frozen=True, slots=True)
class WorkerFloors:
    """Microseconds per message of each piece of work, over ``events`` messages."""

    events: int
    process_us: float
    flush_us: float
    batch: int

    @property
    def total_us(self) -> float:
        return self.process_us + self.flush_us

    def bound(self, noop_rate: float) -> float:
        """The best worker/no-op ratio if the worker added only this work to the agent."""
        noop_us = 1e6 / noop_rate
        return noop_us / (noop_us + self.total_us)


def measure(lines: Iterable[bytes], batch: int = 2_000) -> WorkerFloors:
    """Process ``lines`` as messages of one partition, flushing every ``batch`` of them."""
    config = EngineConfig()
    buffer = OutputBuffer(config, max_pending=10 * batch, max_age_s=float("inf"),
                          written=WrittenLeads.for_process(reach_diffs=True))  # as the worker
    rejected: list[DeadLetter] = []
    processor = MessageProcessor({}, buffer, rejected.append, Counters())
    process = processor.process
    processing = flushing = 0.0
    events = 0
    thresholds = gc.get_threshold()
    gc.collect()
    tune_after_start()  # the worker's collector settings (freeze, fewer young passes)
    try:
        remaining = iter(lines)
        while chunk := list(islice(remaining, batch)):
            process_s, flush_s = _round(chunk, process, buffer, config, events)
            processing, flushing = processing + process_s, flushing + flush_s
            events += len(chunk)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    return WorkerFloors(events, processing / events * 1e6, flushing / events * 1e6, batch)


def _round(chunk: list[bytes], process: Callable[..., str], buffer: OutputBuffer,
           config: EngineConfig, offset: int) -> tuple[float, float]:
    """Process one batch of messages, then lay out its flush; the seconds of each."""
    started = time.perf_counter()
    for i, line in enumerate(chunk):
        process(None, line, "events", 0, offset + i)
    processed = time.perf_counter()
    pending = buffer.take()
    if pending is not None:
        drained = pending.drain(config, None, buffer.written)
        for key, contribution in drained.leads.items():
            lead_rows(1, key, contribution, 0, drained.lineages.get(key))
            event_rows(1, key, drained.states[key])
        buffer.written.wrote(pending.stored, pending.era)  # as a successful write does
    return processed - started, time.perf_counter() - processed
