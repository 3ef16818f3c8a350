"""``leadclock replay``: a log (file, stdin or the topics) into an attribution version.

The steps, each said on stderr: identify the source (file fingerprint, or the topics'
offsets now); choose the version (``replay_plan``: new, append, resume, or a one-line
refusal); read the log (progress with rate, share and ETA); refuse an empty log or one
whose every line was rejected, before anything is written; mark the version
``building``; fold and write (progress again); mark it ``ready``, record the topics'
end offsets, make it current if the database had no current version (or ``--promote``);
then a summary with the top rejection reasons.

Ctrl-C at any point leaves the current version as it was (a replay writes a version
that is not current, except when appending into the current one, which it says), says
what is left and how to resume, and exits 130; rerunning the same command resumes the
interrupted version and converges to the uninterrupted result.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from clickhouse_connect.driver.client import Client

from sinks.client import connect, redact, sharing_note, skip_pandas
from sinks.faults import Faults
from sinks.migrate import apply
from sinks.partials_refresh import refresh
from sinks.version_feed import feeds, record
from sinks.version_ops import promote
from sinks.versions import BUILDING, READY, current_version, ensure_version, get_version, set_status
from streams.commands.progress import ProgressLine
from streams.commands.replay_local import LocalReplay
from streams.commands.replay_parallel import ParallelReplay
from streams.commands.replay_plan import APPEND, RESUME, Target, choose
from streams.commands.sharing import shared_if_embedded
from streams.commands.sources import open_log
from streams.engine.config import EngineConfig
from streams.engine.replay import ReplayStats, file_records
from streams.exceptions import ReplayError
from streams.kafka.topic_reader import TopicPlan, TopicReader, plan
from streams.kafka.topics import TopicNames

TOP_REASONS = 3


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """Everything ``leadclock replay`` was asked (see ``leadclock replay --help``)."""

    dsn: str
    engine: EngineConfig
    input_name: str | None
    """A file, ``-`` for stdin, or None for the topics."""
    version: int | None = None
    source: str | None = None
    append: bool = False
    promote: bool = False
    brokers: str = "localhost:9092"
    topics: TopicNames = field(default_factory=TopicNames)
    processes: int | None = 1
    """Replay processes; None: one per core for a large log, else one."""
    write_batch: int = 50_000
    """Leads plus ledger and reject rows per ClickHouse write."""


PARALLEL_FROM_MESSAGES = 300_000
PARALLEL_FROM_BYTES = 48 << 20
"""Below these sizes one process is faster than starting several."""


def default_processes() -> int:
    """As many replay processes as this machine has cores."""
    return os.cpu_count() or 1


def _processes(request: ReplayRequest, size: int, messages: int) -> int:
    if request.processes is not None:
        return request.processes
    large = size >= PARALLEL_FROM_BYTES or messages >= PARALLEL_FROM_MESSAGES
    return default_processes() if large else 1


def run(request: ReplayRequest) -> ReplayStats:
    """Run the replay; KeyboardInterrupt propagates after saying what is left."""
    out = ProgressLine()
    skip_pandas()
    with ExitStack() as stack:
        topic_plan: TopicPlan | None = None
        if request.input_name is not None:
            log = stack.enter_context(open_log(request.input_name, request.source))
            label, shown = log.label, log.shown
        else:
            topic_plan = plan(request.brokers, request.topics)
            label, shown = request.topics.label, f"the topics on {request.brokers}"
        client = connect(request.dsn)
        if note := sharing_note(client):
            out.note(note)
        apply(client)
        config = request.engine.describe()
        target = choose(client, requested=request.version, config=config, label=label,
                        append=request.append)
        where = f"version {target.version} of ClickHouse {redact(request.dsn)}"
        out.note(f"{label} ({shown}) -> {where} {_mode_text(target)}")
        processes = _processes(request, 0 if topic_plan else log.size,
                               topic_plan.messages if topic_plan else 0)
        runner: LocalReplay | ParallelReplay
        if processes > 1:
            stack.enter_context(shared_if_embedded(client))  # children write through it
            request = replace(request, processes=processes)
            runner = (ParallelReplay(request, target.version, plan=topic_plan)
                      if topic_plan is not None else
                      ParallelReplay(request, target.version, lines=file_records(log.handle, label),
                                     fraction=log.fraction, label=label))
        elif topic_plan is not None:
            reader = TopicReader(request.brokers, topic_plan.ranges)
            runner = LocalReplay(reader.records(), request.engine, client,
                                 target.version, reader.fraction,
                                 write_batch=request.write_batch)
        else:
            runner = LocalReplay(file_records(log.handle, label), request.engine,
                                 client, target.version, log.fraction,
                                 write_batch=request.write_batch)
        phase, started = "reading", time.monotonic()
        try:
            stats = runner.read(out)
            out.end()
            _check_read(stats, shown)
            phase = "writing"
            ensure_version(client, target.version, config, source=label, status=BUILDING)
            info = get_version(client, target.version)
            if info is not None and not info.building:
                set_status(client, info, BUILDING)
            stats = runner.write(out, merge=target.merges)
            out.end()
        except KeyboardInterrupt:
            runner.stop()
            out.end()
            out.note(_interrupted(target, phase, runner.stats, where))
            raise
        stats.seconds = time.monotonic() - started
        _finish(client, request, target, topic_plan, out)
        _summary(out, stats, target, label, where, current_version(client))
    return stats


def _mode_text(target: Target) -> str:
    if target.mode == RESUME:
        return ("(resuming an interrupted replay of this source: appending to what it "
                "wrote, so the result is that of one uninterrupted replay)")
    if target.mode == APPEND:
        live = ("; it is the current version: dashboards see its leads change as they are "
                "written" if target.version == target.current else "")
        return f"(appending to its {target.info.leads if target.info else 0:,} leads{live})"
    return "(new)"


def _check_read(stats: ReplayStats, shown: str) -> None:
    """Refuse, before writing anything, a log with no event or with only rejected lines."""
    if not stats.received:
        msg = f"{shown} holds no events: nothing was written"
        raise ReplayError(msg)
    if stats.rejected == stats.received:
        reason = stats.reasons.most_common(1)[0][0]
        msg = (f"every one of the {stats.received:,} lines of {shown} was rejected (e.g. "
               f"{reason}): nothing was written; is it NDJSON, one JSON event per line "
               "(not gzip, not a JSON array)?")
        raise ReplayError(msg)


def _finish(client: Client, request: ReplayRequest, target: Target,
            topic_plan: TopicPlan | None, out: ProgressLine) -> None:
    refreshed = refresh(client, target.version, Faults.from_env().after_sums)
    out.note(f"partial sums: {refreshed.rows:,} rows in {refreshed.seconds:.1f}s"
             if refreshed.epoch is not None else f"partial sums not stored: {refreshed.note}")
    info = get_version(client, target.version)
    assert info is not None
    set_status(client, info, READY)
    if topic_plan is not None:
        fed = {tp for tp, feed in feeds(client, target.version).items() if feed.fed}
        record(client, target.version,
               {tp: end for tp, end in topic_plan.end_offsets().items() if tp not in fed},
               fed=False)
    if current_version(client) is None:
        promote(client, target.version)
        out.note(f"version {target.version} is now current (the database had no current "
                 "version)")
    elif request.promote:
        previous = promote(client, target.version)
        out.note(f"promoted: version {target.version} is now current (was {previous})")


def _summary(out: ProgressLine, stats: ReplayStats, target: Target, label: str, where: str,
             current: int | None) -> None:
    out.note(stats.line() + ("; duplicates include the events the version already held"
                             if target.merges and stats.duplicates else ""))
    out.note(stats.phases_line())
    if stats.rejected:
        top = "; ".join(f"{n:,} x {reason}"
                        for reason, n in stats.reasons.most_common(TOP_REASONS))
        out.note(f"{stats.rejected:,} rejected; top reasons: {top}")
        where_source = (f"source = '{label}'" if label.startswith("file:") else
                        f"startsWith(source, '{label.removeprefix('kafka:')}')")
        out.note("each rejected message and its reason: SELECT source, offset, reason, raw "
                 f"FROM rejected_events WHERE {where_source}")
    if current == target.version:
        out.note(f"wrote {where}, which is current")
    else:
        out.note(f"wrote {where} (ready, not shown: the views show version {current}); "
                 f"compare: leadclock diff {current} {target.version}; "
                 f"switch: leadclock promote {target.version}")


def _interrupted(target: Target, phase: str, stats: ReplayStats, where: str) -> str:
    version = target.version
    if phase == "reading":
        return (f"interrupted while reading ({stats.received:,} events read): nothing was "
                f"written; version {version} is as it was")
    current = ("it is the current version: the views show the partial append"
               if target.current == version else
               f"the current version ({target.current or 'none'}) is untouched")
    return (f"interrupted: {where} is incomplete (status building; "
            f"{stats.leads_done:,} of {stats.leads:,} leads folded, the last batch may not "
            f"be written); {current}. Resume: rerun the same command (it continues version "
            f"{version}); or drop it: leadclock retire {version}")

