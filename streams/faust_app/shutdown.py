"""Stopping the worker always works: SIGTERM/SIGINT end it within ``--shutdown-timeout``.

Faust's shutdown waits until every message handed to the agent is acknowledged
(``Consumer.wait_empty``, which loops forever). With ack-after-flush a message is
acknowledged once its flush succeeds, so the wait normally ends within a flush or two.
It did not end when a message could never be acknowledged: after an error in the agent
loop, with ClickHouse or Kafka away, or a flush stuck in a thread (the worker then
ignored SIGTERM for as long as one waited). So, on the first signal:

* after half the timeout, messages still unacknowledged are given up: Faust stops
  waiting for them, commits what was acknowledged, and the next start processes the
  rest again (safe: the engine is idempotent, see docs/exactly-once.md);
* a watchdog thread waits for the process to exit; at the timeout (or at a second
  signal) it logs the stack of every thread and asyncio task, so the stuck one can be
  seen, and ends the process with exit status 3 (``EXIT_STUCK``).

``LeadclockWorker`` is Faust's worker with these hooks, the quiet-logs filter
(``streams.faust_app.quiet_logs``) and without its terminal spinner (which wrote cursor
control codes even into a log file).
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import faust

from streams.faust_app.gc_tuning import tune_after_start
from streams.faust_app.quiet_logs import QuietLogs, install

EXIT_STUCK: Final = 3
"""Exit status of a worker that did not stop within its shutdown timeout."""


@dataclass
class Shutdown:
    """What happens once the worker was asked to stop."""

    timeout_s: float
    consumer: Callable[[], Any]
    """The app's consumer (Faust's, with the ``_unacked_messages`` it waits for)."""
    log: Callable[[str], None]
    abandon: Callable[[], bool] = lambda: False
    """True when nothing more will be written (the worker stops after an error): the
    unacknowledged messages are then given up at once instead of after half the timeout."""
    exit: Callable[[int], None] = os._exit
    began: float | None = None
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _gave_up: bool = field(default=False, repr=False)

    def begin(self, loop: asyncio.AbstractEventLoop) -> None:
        """A stop signal: schedule the give-up and start the watchdog (second: exit now)."""
        if self.began is not None:
            self.stuck("a second stop signal arrived")
            return
        self.began = time.monotonic()
        self._loop = loop
        self.log(f"stopping: writing what was processed (at most {self.timeout_s:g}s)")
        loop.call_later(0 if self.abandon() else self.timeout_s / 2, self.give_up_unacked)
        threading.Thread(target=self._watch, name="leadclock-shutdown-watchdog",
                         daemon=True).start()

    def give_up_unacked(self) -> None:
        """Stop waiting for messages that could not be written and acknowledged in time."""
        unacked = self.consumer()._unacked_messages
        if unacked and not self._gave_up:
            self._gave_up = True
            self.log(f"stopping: {len(unacked):,} messages were not written "
                     f"{'after the error' if self.abandon() else f'in {self.timeout_s / 2:g}s'}"
                     f"; they stay uncommitted and are processed again at the next start")
            unacked.clear()

    def _watch(self) -> None:
        deadline = (self.began or time.monotonic()) + self.timeout_s
        time.sleep(max(deadline - time.monotonic(), 0.0))
        self.stuck(f"did not stop within {self.timeout_s:g}s")

    def stuck(self, why: str) -> None:
        """Log every thread's and task's stack, then end the process (status 3)."""
        self.log(f"{why}; the stacks of its threads and asyncio tasks follow, then it "
                 f"exits with status {EXIT_STUCK}")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        if self._loop is not None:
            dump_tasks(self._loop)
        sys.stderr.flush()
        self.exit(EXIT_STUCK)


def dump_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Print the stack of every unfinished asyncio task of ``loop`` (from any thread)."""
    for task in asyncio.all_tasks(loop):
        print(f"--- asyncio task {task.get_name()}", file=sys.stderr)
        task.print_stack(limit=12, file=sys.stderr)


class LeadclockWorker(faust.Worker):
    """Faust's worker with the shutdown hooks above and no terminal spinner."""

    def __init__(self, *args: Any, shutdown: Shutdown, logs: QuietLogs, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None  # cursor codes (\x1b[?25l) even when stdout is a file
        self.leadclock_shutdown = shutdown
        self.leadclock_logs = logs

    async def on_startup_finished(self) -> None:
        """Once Faust has started: the garbage-collector settings for streaming."""
        await super().on_startup_finished()
        tune_after_start()

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """Once mode has set up logging: the quiet-logs filter on its handlers."""
        super().on_setup_root_logger(logger, level)
        install(logger.handlers, self.leadclock_logs)

    def _on_sigint(self) -> None:
        self.leadclock_shutdown.begin(self.loop)
        super()._on_sigint()

    def _on_sigterm(self) -> None:
        self.leadclock_shutdown.begin(self.loop)
        super()._on_sigterm()
