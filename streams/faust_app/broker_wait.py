"""A worker that cannot reach Kafka while it starts retries for ``--broker-wait`` seconds.

Before Faust starts, the composition root creates the topics, retrying an unreachable
broker with backoff (``streams.kafka.admin.with_broker_wait``). Faust then starts its
producer and consumer, whose aiokafka clients try each bootstrap address once: a broker
that went away in between (a restart, or a machine too loaded to start everything in
time) made the worker exit with a 37-line traceback. ``retry_bootstrap`` makes those
clients retry too, with backoff, until the same deadline; after it the worker stops with
a one-line error. Once started, aiokafka reconnects by itself (an outage is then
reported by ``streams.faust_app.quiet_logs``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError

MAX_BACKOFF_S = 5.0


def retry_bootstrap(deadline: float, log: Callable[[str], None]) -> None:
    """Make aiokafka's ``bootstrap`` retry until ``deadline`` (``time.monotonic()``)."""
    original = getattr(AIOKafkaClient.bootstrap, "__wrapped__", AIOKafkaClient.bootstrap)
    told: list[bool] = []

    async def bootstrap(client: Any) -> None:
        delay = 0.5
        while True:
            try:
                await original(client)
            except KafkaConnectionError as error:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                if not told:
                    told.append(True)
                    log(f"Kafka is not reachable yet ({error}); retrying for up to "
                        f"{left:.0f}s (--broker-wait)")
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, MAX_BACKOFF_S)
            else:
                return

    bootstrap.__wrapped__ = original  # type: ignore[attr-defined]
    AIOKafkaClient.bootstrap = bootstrap
