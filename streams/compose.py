"""The composition root: each ``leadclock`` command wired from the engine, sink and shells.

The CLI (``streams.cli``) parses arguments into typed values and calls one function
here. This is the only module that knows every room: it opens ClickHouse (``sinks``),
creates topics (``streams.kafka``), runs the engine (``streams.engine``) and starts the
Faust worker (``streams.faust_app``). Heavy imports are local to the command that
needs them, so ``leadclock --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from streams.commands.sharing import shared_if_embedded
from streams.exceptions import InputError
from streams.faust_app.settings import WorkerSettings
from streams.kafka.topics import TopicNames

if TYPE_CHECKING:
    from streams.commands.replay import ReplayRequest


def say(text: str) -> None:
    """A progress or result line on stderr."""
    print(text, file=sys.stderr, flush=True)


@contextmanager
def open_input(name: str) -> Iterator[IO[bytes]]:
    """A file to read, or stdin for ``-``; InputError in one line if it cannot be read."""
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(name).open("rb")
    except OSError as error:
        msg = f"cannot read {name}: {error.strerror}"
        raise InputError(msg) from error
    with handle:
        yield handle


def migrate(dsn: str, *, cluster: str | None = None, dashboard_role: str | None = None,
            dashboard_user: str | None = None, dry_run: bool = False) -> None:
    """Apply the DDL (or print it), optionally in cluster mode and with a dashboard role."""
    from sinks.access import DashboardAccess
    from sinks.client import connect, redact
    from sinks.migrate import MigrateOptions, apply, check_backend, plan_text

    if dashboard_user and not dashboard_role:
        msg = "--dashboard-user needs --dashboard-role"
        raise InputError(msg)
    password = os.environ.get("LEADCLOCK_DASHBOARD_PASSWORD")
    if dashboard_user and not password and not dry_run:
        msg = "--dashboard-user needs its password in env LEADCLOCK_DASHBOARD_PASSWORD"
        raise InputError(msg)
    # A dry run never prints the password: the plan shows a placeholder instead.
    dashboard = DashboardAccess(dashboard_role, dashboard_user or "",
                                None if dry_run else password) if dashboard_role else None
    options = MigrateOptions(cluster, dashboard, copy_rows=True, reapply=True)
    if dry_run:
        print(plan_text(options, dsn), end="")
        return
    check_backend(dsn, options)
    done = apply(connect(dsn), options)
    files = ", ".join(done.files) if done.files else "nothing to apply"
    if done.created:
        say(f"migrate: created the schema in {redact(dsn)} ({files}); no version is current "
            "until a worker or a replay makes one")
    else:
        say(f"migrate: {redact(dsn)} is up to date ({files})")
    for note in done.notes:
        say(f"migrate: {note}")


def replay(request: ReplayRequest) -> None:
    """Replay a file, stdin or the topics into an attribution version (see the module)."""
    from streams.commands.replay import run

    run(request)


def versions_command(command: str, dsn: str, args: dict[str, object]) -> None:
    """``versions``, ``diff A B``, ``promote N`` or ``retire N`` (printed on stdout)."""
    from sinks.client import connect, sharing_note
    from sinks.migrate import apply
    from streams.commands import versions as render

    client = connect(dsn)
    if note := sharing_note(client):
        say(note)
    apply(client)
    if command == "versions":
        print(render.versions_text(client, offsets=bool(args["offsets"])))
    elif command == "diff":
        print(render.diff_text(client, int(str(args["a"])), int(str(args["b"])),
                               limit=int(str(args["limit"]))))
    elif command == "promote":
        print(render.promote_text(client, int(str(args["version"]))))
    else:
        print(render.retire_text(client, int(str(args["version"]))))


def worker(settings: WorkerSettings) -> None:
    """Patch Faust, create topics, migrate, pick the version, run (+ gateway, + page)."""
    from sinks.client import connect, skip_pandas
    from sinks.faults import Faults
    from sinks.migrate import apply
    from sinks.reach_version import keeps_most_touches
    from sinks.report import campaign_report
    from sinks.sink import ClickHouseSink
    from sinks.worker_versions import WorkerVersions
    from streams.commands.worker_dashboard import WorkerPage
    from streams.commands.worker_version import start_version
    from streams.faust_app.app import build_app
    from streams.faust_app.broker_wait import retry_bootstrap
    from streams.faust_app.follow import VersionWiring
    from streams.faust_app.patches import install_faust_patches
    from streams.faust_app.runner import run
    from streams.kafka.admin import ensure_topics, with_broker_wait

    skip_pandas()
    topics = settings.topics
    safety = install_faust_patches(frozenset(topics.consumed))
    deadline = time.monotonic() + settings.broker_wait_s
    with_broker_wait(lambda: ensure_topics(settings.brokers, topics.created,
                                           settings.partitions, topics.configs),
                     settings.broker_wait_s, lambda line: say(f"worker: {line}"))
    retry_bootstrap(deadline, lambda line: say(f"worker: {line}"))
    client = connect(settings.clickhouse)
    for note in apply(client).notes:  # an older schema: what `leadclock migrate` would do
        say(f"worker: {note}")
    writer = ClickHouseSink.with_lanes(client, 0, Faults.from_env())
    control = WorkerVersions(connect(settings.clickhouse), writer, topics.label,
                             settings.engine,
                             settings.state_ttl.describe() if settings.state_ttl else {})
    version, engine = start_version(client, settings, control, say)
    writer.version = version
    page = WorkerPage(settings.clickhouse, settings.dashboard_host, settings.dashboard_port, say)
    built = build_app(replace(settings, engine=engine), writer, safety,
                      report=lambda: page.below(campaign_report(client)),
                      versions=VersionWiring(control, version, settings.version is not None),
                      reach_diffs=keeps_most_touches(client))
    # The page reads through a client of its own, opened once the database is shared.
    with shared_if_embedded(client), page.serving(), closing(writer):
        run(built, settings)


def produce(*, input_name: str, brokers: str, topics: TopicNames, partitions: int,
            rate: float) -> None:
    """Send a file to the topics (created first if missing)."""
    from streams.kafka.admin import ensure_topics
    from streams.kafka.produce import produce as send

    ensure_topics(brokers, topics.created, partitions, topics.configs)
    with open_input(input_name) as handle:
        sent = send(handle, brokers, topics, progress=say, rate=rate)
    say(f"produce: {sent:,} events sent to {brokers}")


def create_topics(*, brokers: str, topics: TopicNames, partitions: int) -> None:
    """Create the topics."""
    from streams.kafka.admin import ensure_topics

    ensure_topics(brokers, topics.created, partitions, topics.configs)
    say(f"topics: {', '.join(topics.created)} ready ({partitions} partitions)")


def status(*, brokers: str, topics: TopicNames, app_id: str, metrics_url: str) -> None:
    """Print lag (and worker metrics when a URL is given)."""
    from streams.kafka.status import lag_table, worker_metrics

    print(f"consumer group {app_id} on {brokers}")
    print(lag_table(brokers, app_id, topics.consumed))
    if metrics_url:
        print(worker_metrics(metrics_url))


def campaigns_load(dsn: str, name: str) -> None:
    """Validate a whole registry file, then upsert it; every problem first, nothing loaded."""
    from datetime import UTC, datetime

    from schemas.campaign_types import Campaign
    from schemas.campaigns import parse_registry
    from sinks.campaign_store import upsert
    from sinks.client import connect, sharing_note
    from sinks.migrate import migrate as apply_ddl

    with open_input(name) as handle:
        data = handle.read()
    parsed = parse_registry(name, data, datetime.now(UTC).date())
    campaigns = [item for item in parsed if isinstance(item, Campaign)]
    if len(campaigns) < len(parsed):
        for problem in parsed:
            print(problem, file=sys.stderr)
        noun = "problem" if len(parsed) == 1 else "problems"
        msg = f"{len(parsed)} {noun} in {name}; nothing loaded"
        raise InputError(msg)
    client = connect(dsn)
    note = sharing_note(client)
    if note:
        say(note)
    if not client.command("EXISTS TABLE campaigns"):
        apply_ddl(client)
    upsert(client, campaigns)
    say(f"campaigns: {len(campaigns)} loaded from {name}")


def campaigns_list(dsn: str, output_format: str) -> None:
    """Print the registry as a table, or as a CSV/YAML file ``campaigns load`` reads back."""
    from schemas.registry_render import to_csv, to_table, to_yaml
    from sinks.campaign_store import list_campaigns
    from sinks.client import connect

    client = connect(dsn)
    if not client.command("EXISTS TABLE campaigns"):
        msg = "no campaign registry in this database yet (leadclock campaigns load FILE)"
        raise InputError(msg)
    render = {"table": to_table, "csv": to_csv, "yaml": to_yaml}[output_format]
    text = render(list_campaigns(client))
    print(text, end="" if text.endswith("\n") else "\n")


def demo(*, leads: int, seed: int, output: str, campaigns: str | None = None,
         days: int = 365) -> None:
    """Write the demo dataset (streamed) and, next to it, its campaign registry."""
    from schemas.registry_render import to_csv
    from streams.demo_events import generate, span_campaigns

    lines = generate(leads, seed=seed, days=days)
    if campaigns is None and output != "-":
        campaigns = str(Path(output).with_suffix("")) + ".campaigns.csv"
    try:
        if campaigns:
            Path(campaigns).write_text(to_csv(span_campaigns(leads, days)), encoding="utf-8",
                                       newline="")
            say(f"demo: campaign registry written to {campaigns}")
        if output == "-":
            out = sys.stdout.buffer
            for line in lines:
                out.write(line + b"\n")
            out.flush()
            return
        with Path(output).open("wb") as handle:
            for line in lines:
                handle.write(line + b"\n")
    except OSError as error:
        msg = f"cannot write {error.filename or output}: {error.strerror}"
        raise InputError(msg) from error


def serve(dsn: str, *, host: str, port: int, read_only: bool) -> None:
    """Hold the embedded ClickHouse and serve the gateway (docs/embedded-sharing.md)."""
    from sinks.gateway.serve import RunningGateway, serve_until_signal

    def announce(running: RunningGateway) -> None:
        mode = "read-only" if running.read_only else "read-write"
        say(f"serve: the embedded ClickHouse {running.directory} is shared ({mode}) at "
            f"{running.url}; Ctrl-C to stop")

    serve_until_signal(dsn, host=host, port=port, read_only=read_only, announce=announce)
    say("serve: stopped")


def dashboard(dsn: str, *, host: str, port: int) -> None:
    """Serve the dashboard page until interrupted (docs/dashboard.md)."""
    from sinks.client import connect, redact
    from streams.web.server import serve as serve_page

    client = connect(dsn)
    try:
        # Quiet: the page's own line says where it serves; the gateway's URL is in the
        # directory's endpoint file for other processes (docs/embedded-sharing.md).
        with shared_if_embedded(client, announce=False):
            serve_page(client, redact(dsn), host, port, say=say)
    finally:
        client.close()


def sql(dsn: str, text: str, output_format: str) -> None:
    """One read-only query, its result on stdout (``leadclock sql``; docs/querying.md)."""
    from sinks.client import connect, sharing_note
    from streams.commands.sql import read_only_statement, run

    statement = read_only_statement(sys.stdin.read() if text == "-" else text)
    client = connect(dsn)
    try:
        if note := sharing_note(client):
            say(note)
        run(client, statement, output_format, sys.stdout)
        sys.stdout.flush()
    finally:
        client.close()
