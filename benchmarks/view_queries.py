"""Dashboard query times over the public views, next to the same questions asked of raw events.

Run from the repository root with the venv's Python (CPU-heavy: nice it on a shared
machine)::

    nice -n 10 .venv/bin/python benchmarks/view_queries.py [--events 1000000] [--runs 5]
    .venv/bin/python benchmarks/view_queries.py --dsn chdb:///abs/dir --log events.ndjson

What it does:

1. ``leadclock demo`` (sized from a small sample so that the log really has
   ``--events`` lines) + ``leadclock replay`` + ``leadclock campaigns load`` into a
   fresh embedded ClickHouse;
2. loads the same log, validated by the engine's parser, into a plain MergeTree table
   ``bench_raw_events`` (one row per event, ordered by lead and time);
3. times each dashboard question three ways, whole result fetched, ``--runs`` times
   after one warm-up: the views over the sums the replay stored, the same views over the
   per-lead rows (marking the version's sums stale, as any lead write does; stored again
   at the end), and the raw events; prints one table: median, min, max, rows and the
   ratio to the sums path.

The raw-events queries are the "no pipeline" baseline issue 12 compares with: plain SQL
over the event log, recomputed at every query. They are close to, not exactly, SPEC §3
(no duplicate removal, no exact remainder split, linear and first-touch only): they
exist to show what query time a dashboard would pay without pre-aggregation.

``--json PATH`` also writes the figures as JSON (read by ``run_all.py``). This is a
benchmark, not a test: nothing is asserted, and times on a shared machine
vary widely (the range is printed with the median).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
from _common import leadclock

from schemas.events import Purchase, Touch
from sinks.client import connect
from sinks.partials_refresh import mark_stale, refresh
from streams.engine.accounting import parse_message
from streams.web.panels import PANELS

RAW_TABLE = """
CREATE TABLE IF NOT EXISTS bench_raw_events (
    lead_id String, event_id String, type LowCardinality(String), campaign_id String,
    occurred_at DateTime64(6, 'UTC'), amount_minor Int64, currency LowCardinality(String)
) ENGINE = MergeTree ORDER BY (lead_id, occurred_at)
"""
LOOKBACK = "toIntervalDay(90)"

VIEW_QUERIES: dict[str, str] = {
    "scorecard view": "SELECT * FROM v_campaign_scorecard",
    "attribution by campaign, linear": """
        SELECT campaign_id, currency, toInt64(sum(revenue_minor)) FROM v_attribution
        WHERE model = 'linear' GROUP BY campaign_id, currency""",
    "attribution by campaign, first_touch": """
        SELECT campaign_id, currency, toInt64(sum(revenue_minor)) FROM v_attribution
        WHERE model = 'first_touch' GROUP BY campaign_id, currency""",
    "attribution by campaign, time_decay": """
        SELECT campaign_id, currency, toInt64(sum(revenue_minor)) FROM v_attribution
        WHERE model = 'time_decay' GROUP BY campaign_id, currency""",
    "reach by campaign": """
        SELECT campaign_id, toInt64(sum(touches)), toInt64(sum(leads)) FROM v_marketing_reach
        GROUP BY campaign_id""",
    "lead clock": "SELECT * FROM v_lead_clock",
}
"""Each dashboard question over the public views (what a panel or a user runs)."""

_PATHS = f"""
    SELECT p.currency AS currency, p.amount_minor AS amount,
           arraySort(x -> x.1, arrayFilter(x -> x.1 <= p.occurred_at
                     AND x.1 >= p.occurred_at - {LOOKBACK}, t.ts)) AS path
    FROM (SELECT * FROM bench_raw_events WHERE type = 'purchase') AS p
    LEFT JOIN (SELECT lead_id, groupArray((occurred_at, campaign_id)) AS ts
               FROM bench_raw_events WHERE type != 'purchase' GROUP BY lead_id) AS t
        ON t.lead_id = p.lead_id"""
_LINEAR = f"""
    SELECT campaign, currency, toInt64(sum(share)) AS revenue FROM (
        SELECT currency, if(empty(path), '(none)', x.2) AS campaign,
               intDiv(amount, greatest(length(path), 1)) AS share
        FROM ({_PATHS}) ARRAY JOIN if(empty(path), [(toDateTime64(0, 6, 'UTC'), '')], path) AS x
    ) GROUP BY campaign, currency"""
_STAGES = """
    SELECT lead_id, argMin(campaign_id, occurred_at) AS warm_campaign,
           min(occurred_at) AS warm_at,
           argMinIf(campaign_id, occurred_at, type IN ('click', 'call')) AS hot_campaign,
           countIf(type IN ('click', 'call')) > 0 AS is_hot,
           minIf(occurred_at, type IN ('click', 'call')) AS hot_at
    FROM bench_raw_events WHERE type != 'purchase' GROUP BY lead_id"""
RAW_QUERIES: dict[str, str] = {
    "scorecard view": f"""
        SELECT r.campaign_id, r.name, r.kind, x.touches, x.reached, s.warmed, s.hot, m.revenue
        FROM (SELECT * FROM campaigns FINAL) AS r
        FULL OUTER JOIN (SELECT campaign_id, count() AS touches, uniqExact(lead_id) AS reached
                         FROM bench_raw_events WHERE type != 'purchase'
                         GROUP BY campaign_id) AS x ON x.campaign_id = r.campaign_id
        LEFT JOIN (SELECT c AS campaign_id, sum(w) AS warmed, sum(h) AS hot FROM (
                       SELECT warm_campaign AS c, 1 AS w, 0 AS h FROM ({_STAGES})
                       UNION ALL
                       SELECT hot_campaign, 0, 1 FROM ({_STAGES}) WHERE is_hot)
                   GROUP BY c) AS s ON s.campaign_id = x.campaign_id
        LEFT JOIN ({_LINEAR}) AS m
            ON m.campaign = r.campaign_id AND m.currency = r.goal_currency""",
    "attribution by campaign, linear": _LINEAR,
    "attribution by campaign, first_touch": f"""
        SELECT if(empty(path), '(none)', path[1].2) AS campaign, currency,
               toInt64(sum(amount)) FROM ({_PATHS}) GROUP BY campaign, currency""",
    "reach by campaign": """
        SELECT campaign_id, toInt64(sum(t)), toInt64(sum(l)) FROM (
            SELECT campaign_id, type, toStartOfDay(occurred_at) AS w,
                   count() AS t, uniqExact(lead_id) AS l
            FROM bench_raw_events WHERE type != 'purchase' GROUP BY campaign_id, type, w)
        GROUP BY campaign_id""",
    "lead clock": f"""
        SELECT window_start, stage, entered,
               sum(entered) OVER (PARTITION BY stage ORDER BY window_start) AS reached
        FROM (
            SELECT toStartOfDay(at) AS window_start, stage, toInt64(count()) AS entered
            FROM (
                SELECT 'warm' AS stage, warm_at AS at FROM ({_STAGES})
                UNION ALL SELECT 'hot', hot_at FROM ({_STAGES}) WHERE is_hot
                UNION ALL SELECT 'customer', min(occurred_at) FROM bench_raw_events
                          WHERE type = 'purchase' GROUP BY lead_id)
            GROUP BY window_start, stage)""",
}
"""The same questions over the raw event log (recomputed from scratch at each query)."""


def demo_log(workdir: Path, events: int) -> Path:
    """A demo log of exactly ``events`` lines (the first ones of a big enough demo)."""
    sample = workdir / "sample.ndjson"
    subprocess.run([leadclock(), "demo", "--leads", "2000", "--output", str(sample)],
                   check=True, capture_output=True)
    per_lead = sum(1 for _ in sample.open("rb")) / 2000
    full, log = workdir / "demo.ndjson", workdir / "events.ndjson"
    leads = math.ceil(events / per_lead * 1.05) + 10
    subprocess.run([leadclock(), "demo", "--leads", str(leads), "--output", str(full)],
                   check=True)
    with full.open("rb") as source, log.open("wb") as target:
        for n, line in enumerate(source):
            if n >= events:
                break
            target.write(line)
    return log


def prepare(workdir: Path, events: int) -> str:
    """Generate, replay and register the demo; return the database's DSN."""
    log = demo_log(workdir, events)
    dsn = f"chdb://{workdir / 'clickhouse'}"
    started = time.perf_counter()
    subprocess.run([leadclock(), "replay", "--input", str(log), "--clickhouse", dsn],
                   check=True)
    print(f"replay of {events:,} events: {time.perf_counter() - started:.1f} s", flush=True)
    subprocess.run([leadclock(), "campaigns", "load", str(workdir / "demo.campaigns.csv"),
                    "--clickhouse", dsn], check=True)
    return dsn


def raw_rows(log: Path) -> Iterator[tuple[object, ...]]:
    """The log's valid events as ``bench_raw_events`` rows (rejected lines skipped)."""
    with log.open("rb") as lines:
        for line in lines:
            event = parse_message(line.strip())
            if isinstance(event, Touch):
                yield (event.lead_id, event.event_id, event.touch_type, event.campaign_id,
                       event.occurred_at_us, 0, "")
            elif isinstance(event, Purchase):
                yield (event.lead_id, event.event_id, "purchase", event.campaign_id or "",
                       event.occurred_at_us, event.amount_minor, event.currency)


def load_raw(dsn: str, log: Path) -> None:
    """(Re)load the log into ``bench_raw_events``, in chunks."""
    client = connect(dsn)
    client.command("DROP TABLE IF EXISTS bench_raw_events")
    client.command(RAW_TABLE)
    columns = ["lead_id", "event_id", "type", "campaign_id", "occurred_at", "amount_minor",
               "currency"]
    chunk: list[tuple[object, ...]] = []
    for row in raw_rows(log):
        chunk.append(row)
        if len(chunk) >= 100_000:
            client.insert("bench_raw_events", chunk, column_names=columns)
            chunk = []
    if chunk:
        client.insert("bench_raw_events", chunk, column_names=columns)
    client.command("OPTIMIZE TABLE bench_raw_events FINAL")
    client.close()


def dashboard_scorecard() -> tuple[str, dict[str, object]]:
    """The dashboard's scorecard panel (it joins v_model_comparison and the projection)."""
    return PANELS["scorecard"].query({"kind": "all", "model": "linear", "currency": "USD"})


WARM_UP_RUNS = 4
"""Runs before the timed ones: ClickHouse compiles an expression to machine code the
third time it sees it (``min_count_to_compile_expression``), and that run takes several
times longer (the scorecard: ~0.7 s once, then 70-100 ms). A dashboard that refreshes
runs compiled code; one warm-up put the compiling run among the timed ones."""


def time_query(client: object, sql: str, params: dict[str, object], runs: int) -> list[float]:
    """Seconds of ``runs`` runs after the warm-up; the first element is the row count."""
    query = client.query  # type: ignore[attr-defined]
    rows = len(query(sql, parameters=params).result_rows)
    for _ in range(WARM_UP_RUNS - 1):
        query(sql, parameters=params)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        query(sql, parameters=params)
        seconds.append(time.perf_counter() - started)
    return [float(rows), *seconds]


def report(dsn: str, runs: int, leads_runs: int) -> dict[str, object]:
    """Print one table: each question over the views (stored sums, then the per-lead path
    the views take while a version's sums are stale) and over the raw events.

    Returns the figures for ``--json``: accepted events, and per question and source
    (``sums``, ``leads``, ``raw``) the median, min and max seconds and the row count.
    """
    client = connect(dsn)
    accepted = client.query("SELECT sum(accepted) FROM v_ingest_accounting").result_rows[0][0]
    (version, ready), = client.query("SELECT version, ready FROM read_plan").result_rows
    print(f"\n{accepted:,} accepted events; median (min-max) of {runs} runs after "
          f"{WARM_UP_RUNS} warm-up runs, whole result fetched; sums: the views over the "
          "stored sums, leads: the "
          "same views over the per-lead rows (a version whose sums are stale), raw: the "
          "question recomputed from the raw events\n")
    if not ready:
        print("the current version has no stored sums: replay it to store them")
    questions = [(name, sql, {}) for name, sql in VIEW_QUERIES.items()]
    questions.append(("dashboard scorecard panel", *dashboard_scorecard()))
    timed: dict[tuple[str, str], list[float]] = {}
    for name, sql, params in questions:
        timed[(name, "sums")] = time_query(client, sql, params, runs)
        if name in RAW_QUERIES:
            timed[(name, "raw")] = time_query(client, RAW_QUERIES[name], {}, runs)
    if leads_runs:
        mark_stale(client, version)
        for name, sql, params in questions:
            timed[(name, "leads")] = time_query(client, sql, params, leads_runs)
        refreshed = refresh(client, version)
        print(f"(sums stored again in {refreshed.seconds:.1f} s, {refreshed.rows:,} rows)\n")
    print(f"{'question':<38} {'source':<6} {'rows':>7} {'median':>9} {'min':>9} {'max':>9}"
          f" {'x sums':>8}")
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name, _, _ in questions:
        base = statistics.median(timed[(name, "sums")][1:])
        for source in ("sums", "leads", "raw"):
            if (name, source) not in timed:
                continue
            rows, *seconds = timed[(name, source)]
            median = statistics.median(seconds)
            figures.setdefault(name, {})[source] = {
                "median_s": median, "min_s": min(seconds), "max_s": max(seconds), "rows": rows}
            print(f"{name:<38} {source:<6} {int(rows):>7,} "
                  f"{median * 1000:>7.0f}ms {min(seconds) * 1000:>7.0f}ms "
                  f"{max(seconds) * 1000:>7.0f}ms {median / base:>7.1f}x", flush=True)
    client.close()
    return {"benchmark": "view_queries", "accepted": int(accepted), "runs": runs,
            "questions": figures, "load": os.getloadavg()[0]}


def _leads_runs(args: argparse.Namespace) -> int:
    return int(args.runs if args.leads_runs is None else args.leads_runs)


def write_json(path: Path | None, figures: dict[str, object]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--leads-runs", type=int, default=None,
                        help="runs over the per-lead rows (default --runs; 0: skip them, "
                             "they take minutes at 10 M events)")
    parser.add_argument("--dsn", default=None, help="an already loaded database")
    parser.add_argument("--log", type=Path, default=None,
                        help="with --dsn: the log it was loaded from (for the raw table)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures to PATH as JSON")
    args = parser.parse_args()
    if args.dsn:
        if args.log:
            load_raw(args.dsn, args.log)
        write_json(args.json, report(args.dsn, args.runs, _leads_runs(args)))
        return
    workdir = Path(tempfile.mkdtemp(prefix="leadclock-views-"))
    try:
        dsn = prepare(workdir, args.events)
        started = time.perf_counter()
        load_raw(dsn, workdir / "events.ndjson")
        print(f"raw events table loaded in {time.perf_counter() - started:.1f} s", flush=True)
        figures = report(dsn, args.runs, _leads_runs(args))
        write_json(args.json, {**figures, "events": args.events})
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
