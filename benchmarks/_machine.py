"""The machine a benchmark table came from: CPU, cores, RAM, Python, Kafka, ClickHouse, date.

Figures from a shared 2-core box and from a workstation are not comparable, so
``run_all.py`` prints these next to its table and writes them into its Markdown file.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return found.group(1).strip() if found else platform.processor() or "unknown"


def ram() -> str:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return "unknown"
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.M)
    return f"{int(found.group(1)) / 1024 / 1024:.1f} GiB" if found else "unknown"


def local_kafka_version() -> str | None:
    """The version of the jars of a broker process on this host (``kafka.Kafka``), if any."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" not in args or b"-cp" not in args:
            continue
        classpath = args[args.index(b"-cp") + 1].decode(errors="replace")
        for entry in classpath.split(":"):
            for jar in Path(entry.rstrip("*")).glob("kafka-server-*.jar"):
                return jar.name.removeprefix("kafka-server-").removesuffix(".jar")
    return None


def kafka_version(brokers: str) -> str:
    """The local broker's jar version, else the protocol version the client negotiated."""
    local = local_kafka_version()
    if local is not None:
        return f"{local} (local broker {brokers})"
    try:
        admin = KafkaAdminClient(bootstrap_servers=brokers.split(","),
                                 client_id="leadclock-bench")
    except (KafkaError, OSError) as error:
        return f"unknown ({type(error).__name__})"
    try:
        api = admin.config.get("api_version")
        return f"API {'.'.join(map(str, api)) if api else '?'} at {brokers}"
    finally:
        admin.close()


def clickhouse_version() -> str:
    """chdb's package version and its ClickHouse engine's (in a child: one engine each)."""
    code = ("import chdb, sys; sys.stdout.write(chdb.__version__ + ' ' + "
            "str(chdb.query('SELECT version()', 'TSV')).strip())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    if done.returncode != 0:
        return "unknown"
    chdb_version, _, engine = done.stdout.partition(" ")
    return f"chdb {chdb_version}, ClickHouse {engine}"


def faust_version() -> str:
    """faust-streaming's version, and whether its Cython fast paths are importable."""
    try:
        version = metadata.version("faust-streaming")
    except metadata.PackageNotFoundError:
        return "not installed"
    try:
        import faust._cython.streams  # noqa: F401
    except ImportError:
        return f"{version} (no Cython fast paths)"
    return f"{version} (Cython fast paths)"


def describe(brokers: str) -> dict[str, str]:
    return {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "RAM": ram(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Kafka": kafka_version(brokers),
        "ClickHouse": clickhouse_version(),
        "Faust": faust_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
