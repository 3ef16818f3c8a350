"""Quiet, useful logs under faults: one line per kind of trouble, not thousands.

faust-streaming, aiokafka and kafka-python log every failed connection attempt, often
as ERROR with a traceback: an 8 s broker outage once wrote 35,606 lines (3.7 MB). A
``QuietLogs`` filter on the root handlers turns that into:

* a broker outage: one WARNING when the first connection error arrives ("Kafka at ...
  unreachable; retrying"), nothing while it lasts, one INFO when it is over, with its
  duration (``Outage``; the end is seen by ``Outage.check``, called every second);
* conditions expected at start-up or after a restart (the group coordinator not yet
  available, a coordinator marked dead): not logged (they heal by themselves); a lost
  heartbeat: part of an outage if there was one within a minute, else one WARNING;
* the same kind of record again (same logger, level and message with numbers taken
  out) within ``RATE_LIMIT_S``: dropped, and counted on the next one that passes;
* no traceback for the conditions above; tracebacks stay for everything unexpected;
* mode's "Timer ... is overlapping" (a flush took longer than its check interval, which
  is ordinary under load) and kafka-python's "... is blocking the event loop" (its own
  selector, in the lag timer's thread, on a loaded machine): not logged. Faust's
  shutdown wait, which would print every waiting message, is logged as a count.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

RATE_LIMIT_S: Final = 30.0
OUTAGE_QUIET_S: Final = 3.0
"""An outage is over once no connection error was seen this long and a broker answers."""
AFTERSHOCK_S: Final = 60.0
"""After an outage, the group coordinator's complaints are part of it (not logged)."""
LIBRARIES: Final = ("aiokafka", "kafka", "faust", "mode", "leadclock")
_OUTAGE: Final = re.compile(
    r"Connect call failed|ECONNREFUSED|ECONNRESET|NodeNotReadyError|KafkaConnectionError|"
    r"Unable to update metadata|Unable connect to node|Connection lost|Connection at .* closed|"
    r"Unable to bootstrap|Bootstrap|cannot reach Kafka|Heartbeat send request failed|"
    r"Error sending HeartbeatRequest|Unable to request metadata|KafkaTimeoutError|"
    r"RequestTimedOutError|Failed fetch messages|socket disconnected|Connection reset|"
    r"Broken pipe|NoBrokersAvailable")
_STARTUP: Final = re.compile(
    r"GroupCoordinatorNotAvailableError|CoordinatorNotAvailable|NotCoordinatorForGroup|"
    r"Marking the coordinator dead|CoordinatorLoadInProgress")
_COORDINATOR: Final = re.compile(
    r"Heartbeat failed|Heartbeat session expired|coordinator dead|is either not started")
_NUMBERS: Final = re.compile(r"\d+")
Kind = Literal["outage", "startup", "coordinator", "overlap", "wait_empty", "other"]
log = logging.getLogger("leadclock.worker")


def classify(record: logging.LogRecord) -> Kind:
    """What a log record is about (only records of the Kafka and Faust libraries)."""
    if not record.name.startswith(LIBRARIES):
        return "other"
    text = record.getMessage() if record.args else str(record.msg)
    if record.exc_info and record.exc_info[1] is not None:
        text += f" {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
    if ("is overlapping" in text and str(record.msg).startswith("Timer ")) or (
            "It is blocking the event loop" in text):
        return "overlap"
    if str(record.msg).startswith("wait_empty: Waiting for tasks"):
        return "wait_empty"
    if _STARTUP.search(text):
        return "startup"
    if _COORDINATOR.search(text):
        return "coordinator"
    if _OUTAGE.search(text):
        return "outage"
    return "other"


@dataclass
class RateLimit:
    """At most one record per kind per interval; the next one says how many were dropped."""

    interval_s: float = RATE_LIMIT_S
    clock: Callable[[], float] = time.monotonic
    _seen: dict[tuple[str, int, str], tuple[float, int]] = field(default_factory=dict)

    def allow(self, record: logging.LogRecord) -> bool:
        """True if the record may be written (its message may get a count appended)."""
        kind = (record.name, record.levelno, _NUMBERS.sub("N", str(record.msg))[:200])
        now = self.clock()
        seen = self._seen.get(kind)
        if seen is not None and now - seen[0] < self.interval_s:
            self._seen[kind] = (seen[0], seen[1] + 1)
            return False
        self._seen[kind] = (now, 0)
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} (and {seen[1]:,} more like it in the last " \
                         f"{now - seen[0]:.0f}s)"
        return True


@dataclass
class Outage:
    """A broker outage, told as one WARNING at its start and one INFO at its end."""

    brokers: str
    clock: Callable[[], float] = time.monotonic
    probe: Callable[[str], bool] = field(default_factory=lambda: broker_answers)
    started: float | None = None
    last_symptom: float = 0.0
    ended: float = float("-inf")
    outages: int = 0

    def recent(self) -> bool:
        """True during an outage and for a minute after it (its aftershocks)."""
        return self.started is not None or self.clock() - self.ended < AFTERSHOCK_S

    def symptom(self, record: logging.LogRecord) -> None:
        """A connection error was logged: an outage starts (once) or goes on."""
        now = self.clock()
        self.last_symptom = now
        if self.started is None:
            self.started = now
            self.outages += 1
            detail = record.getMessage().splitlines()[0][:200] if record.msg else ""
            log.warning("Kafka at %s is unreachable (%s); the worker keeps retrying and "
                        "tells when it is back", self.brokers, detail)

    def check(self) -> None:
        """Called every second: ends the outage once errors stopped and a broker answers."""
        if self.started is None or self.clock() - self.last_symptom < OUTAGE_QUIET_S:
            return
        if self.probe(self.brokers):
            log.info("Kafka at %s is reachable again, after %.1fs", self.brokers,
                     self.last_symptom - self.started + OUTAGE_QUIET_S)
            self.started = None
            self.ended = self.clock()


def broker_answers(brokers: str) -> bool:
    """True if some bootstrap address accepts a TCP connection (within 1 s)."""
    for address in brokers.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=1.0):
                return True
        except (OSError, ValueError):
            continue
    return False


@dataclass
class QuietLogs(logging.Filter):
    """The filter described in the module docstring (installed on the root handlers)."""

    outage: Outage
    limit: RateLimit = field(default_factory=RateLimit)

    def __post_init__(self) -> None:
        """A Filter needs its name (unused: this one applies to every record)."""
        super().__init__()

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep, rewrite or drop one record."""
        if record.name == log.name:
            return True  # the outage reports themselves
        if record.levelno < logging.WARNING:
            return False  # the handlers pass INFO for those reports only
        kind = classify(record)
        if kind == "overlap" or kind == "startup":
            return False
        if kind == "coordinator":
            if self.outage.recent():
                return False
            record.levelno, record.levelname = logging.WARNING, "WARNING"  # it heals
            record.exc_info = None
        elif kind == "outage":
            # kafka-python only serves the lag timer, from a thread whose errors can
            # arrive seconds late: the worker's own consumer (aiokafka) tells outages.
            if not record.name.startswith(("kafka", "leadclock.lag")):
                self.outage.symptom(record)
            return False
        if kind == "wait_empty":
            waiting = record.args[0] if isinstance(record.args, tuple) and record.args else ()
            record.msg = "stopping: waiting for %d processed messages to be written"
            record.args = (len(waiting) if isinstance(waiting, list) else 0,)
        return self.limit.allow(record)


def install(handlers: Iterable[logging.Handler], quiet: QuietLogs) -> None:
    """Add the filter to ``handlers`` (the root logger's, once logging is set up).

    The handlers then pass INFO, for the end of an outage; the filter keeps every other
    record below WARNING out, as the worker's log level says.
    """
    for handler in handlers:
        if quiet not in handler.filters:
            handler.addFilter(quiet)
        handler.setLevel(min(handler.level or logging.INFO, logging.INFO))
    logging.getLogger("leadclock").setLevel(logging.INFO)
