"""The worker's garbage-collector settings: start-up objects frozen, fewer young collections.

Why (measured with ``benchmarks/worker_bench.py``, 50k events, 2 cores): with CPython's
defaults the worker ran 25 full collections in a 56 s run, 120-345 ms each, 4.7 s in
all, plus 1.4 s of middle-generation ones. A collection holds the interpreter lock, so
every one of them stalls the agent, the flush and the heartbeats alike (the slow flushes
of the flush p99 were collections). Almost nothing the worker makes per message is part
of a reference cycle: reference counting frees it, and the collector only walks the
heap.

So, once Faust has started the worker and recovered its table
(``LeadclockWorker.on_startup_finished``; only the worker process, never a test process
that builds the app): ``gc.freeze()`` moves everything built so far (modules, the Faust
app, clients: 115-175k objects) out of the collector's sight, and the youngest
generation is collected after 50,000 allocations instead of 700, so that a batch's
short-lived objects die by reference counting before a collection sees them.
Measured: 1,192 events/s against 989, full collections 4 (0.24 s in all) instead of 25
(4.7 s), the same peak RSS (docs/performance.md has every run). Cycles are still
collected, less often; a frozen object that becomes cyclic garbage later is never
freed, which is why only what exists after start-up is frozen.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 50_000
"""Allocations (minus deallocations) of container objects between young collections."""


def tune_after_start() -> None:
    """Freeze what start-up built and collect young objects less often (see above)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
