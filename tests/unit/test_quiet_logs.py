"""The quiet-logs filter: rate limit, outage report, expected conditions, shutdown wait."""

from __future__ import annotations

import logging

from streams.faust_app.quiet_logs import Outage, QuietLogs, RateLimit, classify


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(name: str, level: int, msg: str, *args: object,
            exc: BaseException | None = None) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args,
                             (type(exc), exc, None) if exc else None)


def test_rate_limit_lets_one_line_per_kind_per_interval_and_counts_the_rest() -> None:
    clock = Clock()
    limit = RateLimit(30.0, clock)
    assert limit.allow(_record("faust.x", logging.ERROR, "Error in commit of %s", "tp1"))
    for n in range(500):  # the same template, other arguments
        clock.now += 0.01
        assert not limit.allow(_record("faust.x", logging.ERROR, "Error in commit of %s", n))
    assert limit.allow(_record("faust.x", logging.WARNING, "Error in commit of %s", 1))
    assert limit.allow(_record("faust.x", logging.ERROR, "Partition 3 lost"))  # another kind
    assert not limit.allow(_record("faust.x", logging.ERROR, "Partition 12 lost"))  # numbers
    clock.now += 30
    later = _record("faust.x", logging.ERROR, "Error in commit of %s", "tp9")
    assert limit.allow(later)
    assert later.getMessage() == "Error in commit of tp9 (and 500 more like it in the last 35s)"


def test_classify_expected_conditions() -> None:
    assert classify(_record("aiokafka.conn", logging.ERROR, "Unable connect to node with id "
                            "%s: %s", 1, "[Errno 111] Connect call failed")) == "outage"
    assert classify(_record("aiokafka.consumer.group_coordinator", logging.ERROR,
                            "Group Coordinator Request failed: [Error 15] "
                            "GroupCoordinatorNotAvailableError")) == "startup"
    assert classify(_record("mode.timers", logging.WARNING, "Timer %s is overlapping "
                            "(interval=%r runtime=%r)", "flush", 0.5, 0.9)) == "overlap"
    assert classify(_record("aiokafka.consumer.group_coordinator", logging.ERROR,
                            "Heartbeat session expired - marking coordinator dead")) == \
        "coordinator"
    assert classify(_record("faust.transport.consumer", logging.WARNING,
                            "wait_empty: Waiting for tasks %r", [1, 2])) == "wait_empty"
    assert classify(_record("faust.agents", logging.ERROR, "Agent crashed",
                            exc=KeyError("x"))) == "other"
    assert classify(_record("myapp", logging.ERROR, "Connect call failed")) == "other"


def test_an_outage_is_one_warning_then_one_info(caplog) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    answers = [False, True]
    outage = Outage("k:9092", clock=clock, probe=lambda _: answers.pop(0))
    quiet = QuietLogs(outage, RateLimit(30.0, clock))
    caplog.set_level(logging.INFO, logger="leadclock")
    for n in range(3000):
        clock.now += 0.003
        assert not quiet.filter(_record("aiokafka.conn", logging.ERROR,
                                        "Unable connect to node with id %s: %s", 1,
                                        "[Errno 111] Connect call failed",
                                        exc=ConnectionRefusedError(n)))
    outage.check()  # errors still fresh: nothing
    clock.now += 5
    outage.check()  # quiet, but the broker does not answer yet
    outage.check()  # it answers
    reports = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(reports) == 2
    assert reports[0][0] == "WARNING" and "k:9092 is unreachable" in reports[0][1]
    assert reports[1] == ("INFO", "Kafka at k:9092 is reachable again, after 12.0s")
    assert outage.started is None and outage.outages == 1
    # Its aftershocks are part of it; later, a lost heartbeat is one WARNING.
    heartbeat = _record("aiokafka.consumer.group_coordinator", logging.ERROR,
                        "Heartbeat session expired - marking coordinator dead")
    assert not quiet.filter(heartbeat)
    clock.now += 120
    assert quiet.filter(heartbeat) and heartbeat.levelname == "WARNING"


def test_kafka_python_errors_never_open_an_outage() -> None:
    outage = Outage("k:9092", probe=lambda _: True)
    quiet = QuietLogs(outage)
    assert not quiet.filter(_record("kafka.net.transport", logging.ERROR,
                                    "%s: socket disconnected", "<transport>"))
    assert outage.started is None


def test_startup_noise_info_and_timer_overlaps_are_dropped_the_rest_kept() -> None:
    quiet = QuietLogs(Outage("k:9092", probe=lambda _: True))
    assert not quiet.filter(_record("aiokafka.consumer.group_coordinator", logging.ERROR,
                                    "Group Coordinator Request failed: [Error 15] "
                                    "GroupCoordinatorNotAvailableError"))
    assert not quiet.filter(_record("mode.timers", logging.WARNING, "Timer %s is overlapping "
                                    "(interval=%r runtime=%r)", "flush", 0.5, 0.9))
    assert not quiet.filter(_record("faust.app", logging.INFO, "Ready"))
    crash = _record("faust.agents", logging.ERROR, "Agent crashed", exc=KeyError("x"))
    assert quiet.filter(crash) and crash.exc_info is not None  # unexpected: traceback kept


def test_the_shutdown_wait_is_logged_as_a_count() -> None:
    quiet = QuietLogs(Outage("k:9092", probe=lambda _: True))
    record = _record("faust.transport.consumer", logging.WARNING,
                     "wait_empty: Waiting for tasks %r", [(1, "m")] * 700)
    assert quiet.filter(record)
    assert record.getMessage() == "stopping: waiting for 700 processed messages to be written"
