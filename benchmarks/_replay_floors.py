"""The replay's floors: what validating, folding and laying out a log costs in memory.

``replay_bench.py`` compares ``leadclock replay`` with a bare read + ``orjson`` decode
loop (issue 12, goal 4: at most 10x). Between the two lie steps any replay with this
engine must take whatever it writes to; this times each of them on the same file, in
this process, with nothing written anywhere, so the figures say how much of the budget
each step uses:

1. **validate**: read each line and ``parse_event`` it (SPEC §2, every rule; what the
   replay and the worker both run);
2. **fold**: group the valid events by lead, sort each lead's events into path order and
   fold them into its state (``accept``: duplicates dropped), as the replay does;
3. **contributions**: each lead's contribution at its final state (SPEC §3 for one
   lead: reach, stages, credits under every model);
4. **row layout**: the per-lead table rows of each contribution and of each state's
   events (``sinks.lead_rows``), as the sink builds them before encoding.

Steps 2-4 start from step 1's output, and each is timed on its own. The garbage
collector is paused as in the replay. Nothing here is encoded for or sent to
ClickHouse, so the sum is a lower bound for the replay's wall time on one core.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path

from schemas.events import Event
from schemas.validation import parse_event
from sinks.lead_rows import event_rows, lead_rows
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept, contribution
from streams.engine.records import LeadKey
from streams.engine.replay import path_order
from streams.engine.state import LeadState


@dataclass(frozen=True, slots=True)
class Floors:
    """Seconds per step over one log (each step alone, not cumulative)."""

    validate_s: float
    fold_s: float
    contributions_s: float
    rows_s: float
    events: int
    leads: int
    rows: int

    @property
    def total_s(self) -> float:
        return self.validate_s + self.fold_s + self.contributions_s + self.rows_s

    def steps(self) -> list[tuple[str, float]]:
        return [("validate (SPEC §2)", self.validate_s), ("fold by lead", self.fold_s),
                ("contributions (SPEC §3)", self.contributions_s),
                ("row layout", self.rows_s)]


def measure(path: Path, config: EngineConfig | None = None) -> Floors:
    """Time the four steps over the NDJSON log at ``path``."""
    config = config or EngineConfig()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        events: list[Event] = []
        with path.open("rb") as handle:
            for line in handle:
                event = parse_event(line)
                if isinstance(event, Event):
                    events.append(event)
        validated = time.perf_counter()

        by_lead: dict[str, list[Event]] = {}
        for event in events:
            by_lead.setdefault(event.lead_id, []).append(event)
        states: dict[str, LeadState] = {}
        for lead_id, lead_events in by_lead.items():
            lead_events.sort(key=path_order)
            state = LeadState()
            for event in lead_events:
                state = accept(state, event) or state
            states[lead_id] = state
        folded = time.perf_counter()

        contributions = {lead_id: contribution(state, config)
                         for lead_id, state in states.items()}
        contributed = time.perf_counter()

        rows = 0
        for lead_id, lead_contribution in contributions.items():
            key = LeadKey(lead_id)
            laid_out = lead_rows(1, key, lead_contribution, 0)
            rows += sum(len(table_rows) for table_rows in laid_out.values())
            rows += len(event_rows(1, key, states[lead_id]))
        laid = time.perf_counter()
        return Floors(validated - started, folded - validated, contributed - folded,
                      laid - contributed, len(events), len(states), rows)
    finally:
        if was_enabled:
            gc.enable()
