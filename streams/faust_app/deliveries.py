"""Messages the worker produces because of one it consumed, acknowledged before their source.

Rejects go to the DLQ and misrouted events to the rerouted topic. Their source message
may be acknowledged (and its offset committed) only once Kafka has acknowledged them,
or a crash in between would lose them. So they are sent at once, without waiting, and
``settle`` (called by the ack-after-flush protocol before it acknowledges anything)
waits for every delivery sent so far. A failed delivery never crashes the agent loop
and is never dropped: it is sent again with backoff (0.5 s doubling to 30 s) until Kafka
takes it, and a DLQ copy refused as too large is cut to half the size first
(``streams.kafka.dead_letter``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from faust.exceptions import ProducerSendError

from streams.kafka.dead_letter import Headers

MAX_BACKOFF_S = 30.0
SEND_ERRORS = (KafkaError, ProducerSendError, OSError, asyncio.TimeoutError)
"""What producing may raise, at once or through the delivery future, when Kafka cannot
take a message now (unreachable, timed out, too large...)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    partition: int | None
    what: str
    """What it is, for the log ("dead letter", "rerouted event")."""
    shrink: Callable[[], Outgoing | None] | None = None
    """A smaller version after a "too large" refusal; None: it cannot shrink."""


Produce = Callable[[Outgoing], Awaitable[Awaitable[object]]]
"""Hands a message to the producer; returns the future of its delivery."""


def too_large(error: BaseException) -> bool:
    """True when Kafka (the producer or the broker) refused a message for its size."""
    sizes = (MessageSizeTooLargeError, RecordTooLargeError)
    return isinstance(error, sizes) or isinstance(error.__cause__, sizes)


@dataclass
class Deliveries:
    """Messages sent and not yet known to be acknowledged by Kafka."""

    produce: Produce
    log: Callable[[str], None]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    pending: list[tuple[Outgoing, Awaitable[object] | BaseException]] = field(
        default_factory=list)
    retries: int = 0

    async def submit(self, outgoing: Outgoing) -> None:
        """Send a message now; ``settle`` waits for its delivery."""
        self.pending.append((outgoing, await self._send(outgoing)))

    async def settle(self) -> None:
        """Return once every message submitted so far is acknowledged by Kafka.

        If cancelled (the worker stops), whatever is not yet settled stays pending.
        """
        batch, self.pending = self.pending, []
        done = 0
        try:
            for outgoing, sent in batch:
                await self._deliver(outgoing, sent)
                done += 1
        except BaseException:
            self.pending[:0] = batch[done:]
            raise

    async def _send(self, outgoing: Outgoing) -> Awaitable[object] | BaseException:
        try:
            return await self.produce(outgoing)
        except SEND_ERRORS as error:
            return error  # sent again by settle

    async def _deliver(self, outgoing: Outgoing,
                       sent: Awaitable[object] | BaseException) -> None:
        delay = 0.5
        while True:
            if isinstance(sent, BaseException):
                error = sent
            else:
                try:
                    await sent
                except SEND_ERRORS as failure:
                    error = failure
                else:
                    return
            self.retries += 1
            smaller = outgoing.shrink() if too_large(error) and outgoing.shrink else None
            if smaller is not None:
                self.log(f"{outgoing.what} to {outgoing.topic} too large for Kafka "
                         f"({len(outgoing.value):,} bytes); sending it cut to "
                         f"{len(smaller.value):,} bytes")
                outgoing = smaller
            else:
                self.log(f"{outgoing.what} to {outgoing.topic} not acknowledged "
                         f"({_describe(error)}); sending it again in {delay:.1f}s")
                await self.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
            sent = await self._send(outgoing)


def _describe(error: BaseException) -> str:
    cause = error.__cause__ if isinstance(error, ProducerSendError) else None
    shown = cause or error
    text = str(shown).splitlines()[0] if str(shown) else ""
    return f"{type(shown).__name__}: {text}"[:300] if text else type(shown).__name__
