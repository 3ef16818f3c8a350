"""Topic replay benchmark: ``replay --from-topics`` with 1 and 2 processes vs a bare loop.

Run from the repository root with the venv's Python and a broker on ``--brokers``::

    .venv/bin/python benchmarks/topic_replay_bench.py [--events 2000000] [--partitions 8]

In one run, on ONE set of freshly produced topics (prefix ``bench-<hex>.``):

1. produces ``--events`` demo events (~5.4 per lead) to the four event topics, keyed by
   ``lead_id`` (default partitioner);
2. the bare loop: the same kafka-python reader the replay uses
   (``streams.kafka.topic_reader.TopicReader``: same consumer settings, every partition
   from its first to its end offset), ``orjson.loads`` on every value, nothing else;
3. ``leadclock replay --from-topics --processes 1`` into a fresh embedded ClickHouse;
4. the same with ``--processes 2``.

For each it reports wall time, events/s, the CPU seconds of the measured process tree
(``os.wait4`` of the replay, which includes its replay processes; ``resource`` for the
bare loop, which runs in this process) and the CPU seconds the broker used meanwhile
(``/proc/<pid>/stat`` of the broker named by ``--broker-pid-file``): on a 2-core machine
the broker's share of the cores is the part of the comparison nobody controls, so it is
printed next to each figure. The goals (one process >= 60 % of the bare loop's rate, two
>= 1.7x one) are reported, not asserted. ``--keep`` keeps the work directory and topics.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from _common import leadclock

from streams.demo import generate
from streams.kafka.admin import admin_client, ensure_topics
from streams.kafka.produce import produce
from streams.kafka.topic_reader import TopicReader, plan
from streams.kafka.topics import TopicNames

EVENTS_PER_LEAD = 5.4
TICKS = os.sysconf("SC_CLK_TCK")
PHASES_RE = re.compile(r"replay: (read\+validate .*)")


def broker_cpu(pid_file: Path) -> float | None:
    """CPU seconds (user + system) the broker process has used so far."""
    try:
        pid = int(pid_file.read_text().strip())
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def produce_events(brokers: str, topics: TopicNames, events: int, partitions: int) -> int:
    ensure_topics(brokers, (*topics.events, topics.dlq), partitions)
    leads = int(events / EVENTS_PER_LEAD * 1.03) + 10
    lines = (line for _, line in zip(range(events), generate(leads, seed=19), strict=False))
    return produce(lines, brokers, topics)


def bare_loop(brokers: str, topics: TopicNames) -> tuple[float, float, int]:
    """(wall s, CPU s, messages): read every message with the replay's reader, decode it."""
    reader = TopicReader(brokers, plan(brokers, topics).ranges)
    loads = orjson.loads
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    count = 0
    for _, _, value in reader.records():
        loads(value)
        count += 1
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, count


def replay(brokers: str, prefix: str, dsn: str, processes: int) -> tuple[float, float, str]:
    """(wall s, CPU s of the replay's process tree, its stderr)."""
    argv = [leadclock(), "replay", "--from-topics", "--brokers", brokers, "--topic-prefix",
            prefix, "--clickhouse", dsn, "--processes", str(processes)]
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        err.seek(0)
        text = err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(text)
        raise SystemExit(f"replay --processes {processes} failed")
    return wall, usage.ru_utime + usage.ru_stime, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--brokers", default=os.environ.get("LEADCLOCK_BROKERS",
                                                            "127.0.0.1:9092"))
    parser.add_argument("--broker-pid-file", type=Path,
                        default=Path(os.environ.get("LEADCLOCK_VAR", "var")) / "kafka" /
                        "kafka.pid")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    prefix = f"bench-{secrets.token_hex(4)}."
    topics = TopicNames.with_prefix(prefix)
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-topic-bench-"))
    try:
        started = time.perf_counter()
        sent = produce_events(args.brokers, topics, args.events, args.partitions)
        print(f"produced {sent:,} events to {prefix}* ({args.partitions} partitions) in "
              f"{time.perf_counter() - started:.1f}s; {load_note()}")
        rates: dict[str, float] = {}
        for name in ("bare", "1", "2"):
            cpu_before = broker_cpu(args.broker_pid_file)
            if name == "bare":
                wall, cpu, count = bare_loop(args.brokers, topics)
                detail = f"{count:,} messages read and decoded"
            else:
                dsn = f"chdb://{workdir / f'ch{name}'}"
                wall, cpu, text = replay(args.brokers, prefix, dsn, int(name))
                phases = PHASES_RE.findall(text)
                detail = phases[-1] if phases else ""
            cpu_after = broker_cpu(args.broker_pid_file)
            broker = (f"; broker used {cpu_after - cpu_before:.1f} CPU s"
                      if cpu_before is not None and cpu_after is not None else "")
            rates[name] = sent / wall
            label = "bare consume+decode" if name == "bare" else f"replay, {name} process(es)"
            print(f"{label}: {wall:.2f}s wall, {sent / wall:,.0f} events/s, "
                  f"{cpu:.1f} CPU s{broker}; {detail}; {load_note()}")
        print(f"one process: {rates['1'] / rates['bare']:.0%} of the bare loop's rate "
              f"(goal >= 60%); two processes: {rates['2'] / rates['1']:.2f}x one "
              "(goal >= 1.7x)")
    finally:
        if args.keep:
            print(f"kept {workdir} and topics {prefix}*")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            admin = admin_client(args.brokers)
            try:
                admin.delete_topics([*topics.events, topics.dlq])
            finally:
                admin.close()


if __name__ == "__main__":
    main()
