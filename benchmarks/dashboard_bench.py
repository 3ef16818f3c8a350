"""Dashboard benchmark: each API endpoint's time and the page's load time in Chromium.

Run from the repository root with the venv's Python::

    .venv/bin/python benchmarks/dashboard_bench.py [--events 1000000] [--keep]
    .venv/bin/python benchmarks/dashboard_bench.py --reuse DIR   # a --keep'd run's directory

What it does, in one run:

1. builds the dataset (unless ``--reuse``): ``leadclock demo`` writes a log and its
   registry, the log is cut to exactly ``--events`` lines, ``leadclock replay --input``
   fills a fresh embedded ClickHouse directory and ``leadclock campaigns load`` registers
   the campaigns (child processes, as a user runs them);
2. starts ``leadclock dashboard --port 0`` on that directory as a child process;
3. times every API request the page makes (streams/web/static/dashboard.js: the
   selectors' defaults, each model for the model-dependent panels, and the query box's
   default SQL, which runs only on a click): ``--runs`` requests after one warm-up over a
   keep-alive connection, whole body read; prints the median and max wall time and the
   server's own ``query_ms`` (ClickHouse query + result decode, median);
4. loads the page ``--page-loads`` times in headless Chromium (Playwright driving the
   system browser), each in a fresh browser context: time from navigation until every
   panel has rendered (``body[data-renders='1']``), and the browser's Performance API
   entries for each request of that first render.

The server answers queries one at a time (streams/web/db.py), so the browser's six
parallel panel requests queue: their durations include the wait. Times depend on the
machine and its load. Without Chromium or Playwright the API timings still print, then
the script exits non-zero with one line. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from _common import demo_log, leadclock

from streams.web.app import STATIC_DIR
from streams.web.panels import PANELS
from streams.web.params import BUCKET, KIND

#: The parameters the page sends to each panel (panelParams in dashboard.js).
PAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "scorecard": ("kind", "model", "currency"),
    "reach": ("kind",),
    "lead-clock": (),
    "delayed-revenue": ("model", "kind", "bucket", "currency"),
    "lag": ("model", "kind", "currency"),
    "projection": ("model", "kind", "currency"),
    "model-comparison": ("kind", "currency"),
}
CHROMIUM = os.environ.get("LEADCLOCK_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
URL_RE = re.compile(r"dashboard: (http://\S+/)")
SQL_RE = re.compile(r'<textarea id="sql"[^>]*>(.*?)</textarea>', re.S)
ACCEPTED_SQL = "SELECT toInt64(sum(accepted)) FROM v_ingest_accounting"


def load_note() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min)"


def step(label: str, argv: list[str]) -> None:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


def build(workdir: Path, events: int) -> Path:
    """Generate, cut, replay and register the demo; return the ClickHouse directory."""
    chdir = workdir / "clickhouse"
    print(f"dataset: building {events:,} events in {workdir}", flush=True)
    log, registry = demo_log(workdir, events)
    dsn = f"chdb://{chdir}"
    step("leadclock replay", [leadclock(), "replay", "--input", str(log), "--clickhouse", dsn])
    step("leadclock campaigns load", [leadclock(), "campaigns", "load", str(registry),
                                      "--clickhouse", dsn])
    return chdir


def start_dashboard(chdir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``leadclock dashboard --port 0`` on ``chdir``; its URL once it serves."""
    argv = [leadclock(), "dashboard", "--clickhouse", f"chdb://{chdir}", "--port", "0"]
    started = time.perf_counter()
    with log.open("wb") as err:
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
    while (found := URL_RE.search(log.read_text(errors="replace"))) is None:
        if server.poll() is not None or time.perf_counter() - started > 300:
            stop(server)
            sys.stderr.write(log.read_text(errors="replace"))
            raise SystemExit("dashboard_bench: leadclock dashboard did not start")
        time.sleep(0.05)
    print(f"dashboard: {found.group(1)} serving after {time.perf_counter() - started:.1f} s "
          "(process start, open ClickHouse, schema probe)", flush=True)
    return server, found.group(1)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()  # SIGTERM: the dashboard stops cleanly
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class Api:
    """Requests to the dashboard over one keep-alive connection, timed to the last byte."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                               timeout=600)

    def call(self, path: str, body: bytes | None = None) -> tuple[float, bytes]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        self.conn.request("GET" if body is None else "POST", path, body, headers)
        response = self.conn.getresponse()
        data = response.read()
        seconds = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"dashboard_bench: {path} answered {response.status}: {data!r}")
        return seconds, data

    def json(self, path: str, body: bytes | None = None) -> Any:
        return orjson.loads(self.call(path, body)[1])


def page_requests(meta: dict[str, Any], default_sql: str) -> list[tuple[str, str, bytes | None]]:
    """(endpoint, query string, POST body) of every request the page makes."""
    if set(PAGE_PARAMS) != set(PANELS):
        print(f"warning: the server's panels {sorted(PANELS)} differ from the ones "
              f"this benchmark times {sorted(PAGE_PARAMS)}")
    calls: list[tuple[str, str, bytes | None]] = [("/api/meta", "", None)]
    defaults = {"kind": str(KIND.default), "bucket": str(BUCKET.default),
                "currency": meta["default_currency"] or ""}
    for name, params in PAGE_PARAMS.items():
        models = meta["models"] if "model" in params else [None]
        for model in sorted(models, key=lambda m: m != "linear"):  # the page's default first
            values = {**defaults, "model": model}
            calls.append((f"/api/{name}", urlencode({p: values[p] for p in params}), None))
    body = orjson.dumps({"sql": default_sql, "limit": 1000})
    calls.append(("/api/sql", "(query box, on Run)", body))
    return calls


def time_api(api: Api, runs: int) -> None:
    meta = api.json("/api/meta")
    match = SQL_RE.search((STATIC_DIR / "index.html").read_text())
    default_sql = match.group(1) if match else "SELECT 1"
    accepted = api.json("/api/sql", orjson.dumps({"sql": ACCEPTED_SQL}))["rows"][0][0]
    print(f"database: {accepted:,} accepted events, clock at {meta['as_of']}, "
          f"currencies {', '.join(meta['currencies'])}")
    print(f"\nAPI: median and max of {runs} requests after one warm-up ({load_note()})")
    print(f"{'endpoint':<22} {'params':<58} {'rows':>6} {'bytes':>9} "
          f"{'median':>8} {'max':>8} {'query':>8}")
    first_render = 0.0
    for path, query, body in page_requests(meta, default_sql):
        target = f"{path}?{query}" if query and body is None else path
        api.call(target, body)  # warm-up
        walls, query_ms = [], []
        for _ in range(runs):
            seconds, data = api.call(target, body)
            walls.append(seconds * 1000)
            payload = orjson.loads(data)
            query_ms.append(float(payload["query_ms"]))
        rows = len(payload["rows"]) if "rows" in payload else "-"
        print(f"{path:<22} {query:<58} {rows:>6} {len(data):>9,} "
              f"{statistics.median(walls):>6.0f}ms {max(walls):>6.0f}ms "
              f"{statistics.median(query_ms):>6.0f}ms", flush=True)
        if body is None and ("model=" not in query or "model=linear" in query):
            first_render += statistics.median(walls)
    print("(median/max: request to last byte, as the client sees it; query: the server's "
          "query_ms, ClickHouse query + decode)")
    print(f"the page's first render (meta, scorecard, 6 panels; model linear): "
          f"{first_render / 1000:.2f} s of requests, answered one at a time")


def page_loads(url: str, loads: int) -> None:
    from playwright.sync_api import sync_playwright

    totals: list[float] = []
    first_render: list[int] = []
    entries: list[list[list[Any]]] = []
    errors: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print(f"\npage: {loads} loads in headless Chromium {browser.version} at 1366x768, "
              f"each in a fresh context ({load_note()})")
        try:
            for n in range(1, loads + 1):
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                page = context.new_page()
                errors.clear()
                page.on("pageerror", lambda error: errors.append(str(error)))
                started = time.perf_counter()
                page.goto(url, timeout=120_000)
                page.wait_for_selector("body[data-renders='1']", state="attached",
                                       timeout=600_000)
                totals.append(time.perf_counter() - started)
                first_render.append(int(page.get_attribute("body", "data-first-render-ms")
                                        or 0))
                entries.append(page.evaluate(
                    "() => performance.getEntriesByType('resource').map(e => ["
                    "e.name, e.startTime, e.duration, e.encodedBodySize])"))
                context.close()
                print(f"  load {n}: every panel rendered {totals[-1]:.2f} s after navigation "
                      f"(the page's own clock: {first_render[-1] / 1000:.2f} s)"
                      + (f"; page errors: {errors}" if errors else ""), flush=True)
        finally:
            browser.close()
    print(f"page load: median {statistics.median(totals):.2f} s "
          f"(page clock {statistics.median(first_render) / 1000:.2f} s), "
          f"max {max(totals):.2f} s over {loads} loads")
    browser_view(entries)


def browser_view(loads: list[list[list[Any]]]) -> None:
    """Each resource's start and duration in the first render (Performance API), medians."""
    by_path: dict[str, list[tuple[float, float, int]]] = {}
    for entries in loads:
        seen: set[str] = set()
        for name, start, duration, size in entries:
            path = urlsplit(name).path
            if path not in seen:  # a refresh may have begun: first request of each only
                seen.add(path)
                by_path.setdefault(path, []).append((start, duration, size))
    print("\nbrowser view (Performance API resource entries, median over the loads; start "
          "is ms since navigation)")
    print(f"{'resource':<34} {'start':>8} {'duration':>9} {'bytes':>11}")
    for path, rows in sorted(by_path.items(), key=lambda item: item[1][0][0]):
        start = statistics.median(r[0] for r in rows)
        duration = statistics.median(r[1] for r in rows)
        print(f"{path:<34} {start:>6.0f}ms {duration:>7.0f}ms {rows[0][2]:>11,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="demo events in the dataset (default 1,000,000)")
    parser.add_argument("--reuse", type=Path, metavar="DIR", default=None,
                        help="skip the build: a directory kept by --keep, or a chdb "
                             "directory holding a replayed dataset")
    parser.add_argument("--runs", type=int, default=5, help="requests per endpoint (5)")
    parser.add_argument("--page-loads", type=int, default=3, help="page loads (3)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (log, registry, ClickHouse data)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, {load_note()} at start", flush=True)
    missing = None
    if importlib.util.find_spec("playwright") is None:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    elif CHROMIUM is None:
        missing = "no chromium binary (apt-get install chromium, or set LEADCLOCK_CHROMIUM)"

    workdir = Path(tempfile.mkdtemp(prefix="leadclock-dashbench-"))
    server = None
    try:
        if args.reuse is not None:
            chdir = args.reuse.resolve()
            if (chdir / "clickhouse").is_dir():
                chdir = chdir / "clickhouse"
            print(f"dataset: reusing {chdir}")
        else:
            chdir = build(workdir, args.events)
        server, url = start_dashboard(chdir, workdir / "dashboard.stderr")
        time_api(Api(url), args.runs)
        if missing is None:
            page_loads(url, args.page_loads)
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if missing is not None:
        raise SystemExit(f"dashboard_bench: page load not measured: {missing}")


if __name__ == "__main__":
    main()
