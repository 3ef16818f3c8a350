"""DLQ copies and rerouted events: never dropped, never crash the loop; and the watchdog."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from faust.exceptions import ProducerSendError

from streams.engine.processor import DeadLetter, Forward
from streams.faust_app.app import dead_letter_out, forward_out
from streams.faust_app.deliveries import Deliveries, Outgoing
from streams.faust_app.shutdown import EXIT_STUCK, Shutdown


class FakeKafka:
    """Fails as told: ``plan`` holds, per send, None (ok) or the error to fail with."""

    def __init__(self, plan: list[BaseException | None], *, at_once: bool = False) -> None:
        self.plan = plan
        self.at_once = at_once
        self.sent: list[Outgoing] = []

    async def produce(self, outgoing: Outgoing) -> Any:
        self.sent.append(outgoing)
        error = self.plan.pop(0) if self.plan else None
        if error is not None and self.at_once:
            raise ProducerSendError(f"Error while sending: {error!r}") from error
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if error is None:
            future.set_result("metadata")
        else:
            future.set_exception(error)
        return future


def _deliveries(kafka: FakeKafka, log: list[str]) -> Deliveries:
    async def no_wait(_: float) -> None:
        return None

    return Deliveries(kafka.produce, log.append, sleep=no_wait)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_failed_delivery_is_sent_again_with_backoff_until_kafka_has_it() -> None:
    kafka = FakeKafka([KafkaConnectionError("down"), KafkaConnectionError("down"), None])
    log: list[str] = []
    deliveries = _deliveries(kafka, log)
    out = forward_out("t.rerouted", Forward(b"L", b"{}", 2, ("t.clicks", 1, 7)))

    async def go() -> None:
        await deliveries.submit(out)
        await deliveries.settle()

    _run(go())
    assert [o.partition for o in kafka.sent] == [2, 2, 2]
    assert dict(kafka.sent[0].headers) == {"leadclock-origin": b"t.clicks/1/7"}
    assert len(log) == 2 and "sending it again in 0.5s" in log[0] and "in 1.0s" in log[1]
    assert not deliveries.pending


def test_a_dead_letter_refused_as_too_large_is_cut_to_half_and_sent() -> None:
    too_big = MessageSizeTooLargeError("broker says no")
    kafka = FakeKafka([too_big, too_big, None], at_once=False)
    log: list[str] = []
    deliveries = _deliveries(kafka, log)
    dead = DeadLetter(b"k", b"x" * 900_000, "invalid JSON: y", ("t.clicks", 0, 3))

    async def go() -> None:
        await deliveries.submit(dead_letter_out("t.dlq", dead))
        await deliveries.settle()

    _run(go())
    sizes = [len(o.value) for o in kafka.sent]
    assert sizes[0] == 900_000 and sizes[1] < 500_000 and sizes[2] < 250_000
    assert dict(kafka.sent[2].headers)["leadclock-truncated"] == b"true"
    assert all("too large" in line for line in log)


def test_a_send_that_fails_at_once_does_not_raise_into_the_agent() -> None:
    kafka = FakeKafka([MessageSizeTooLargeError("producer limit"), None], at_once=True)
    deliveries = _deliveries(kafka, [])
    dead = DeadLetter(None, None, "message: empty value", ("t.calls", 1, 0))

    async def go() -> None:
        await deliveries.submit(dead_letter_out("t.dlq", dead))  # raises nothing
        assert deliveries.pending
        await deliveries.settle()

    _run(go())
    assert len(kafka.sent) == 2 and kafka.sent[-1].value == b""


def test_a_cancelled_settle_keeps_what_is_not_settled() -> None:
    kafka = FakeKafka([KafkaConnectionError("down")] * 100)

    async def forever(_: float) -> None:
        await asyncio.sleep(3600)

    deliveries = Deliveries(kafka.produce, lambda _: None, sleep=forever)
    out = forward_out("t.rerouted", Forward(b"L", b"{}", 0, ("t.calls", 0, 1)))

    async def go() -> None:
        await deliveries.submit(out)
        task = asyncio.ensure_future(deliveries.settle())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    _run(go())
    assert [o for o, _ in deliveries.pending] == [out]


def test_the_watchdog_dumps_the_stacks_and_exits_3(capfd) -> None:  # type: ignore[no-untyped-def]
    exits: list[int] = []
    log: list[str] = []
    shutdown = Shutdown(0.2, lambda: None, log.append, exit=exits.append)

    async def go() -> None:
        shutdown.begin(asyncio.get_running_loop())
        await asyncio.sleep(0.6)

    _run(go())
    assert exits == [EXIT_STUCK]
    assert "did not stop within 0.2s" in log[-1]
    assert "most recent call first" in capfd.readouterr().err


def test_a_second_signal_exits_at_once_and_give_up_clears_the_wait() -> None:
    exits: list[int] = []

    class Consumer:
        def __init__(self) -> None:
            self._unacked_messages = {1, 2, 3}

    consumer = Consumer()
    log: list[str] = []
    shutdown = Shutdown(60, lambda: consumer, log.append, exit=exits.append)

    async def go() -> None:
        loop = asyncio.get_running_loop()
        shutdown.begin(loop)
        shutdown.give_up_unacked()
        shutdown.begin(loop)

    _run(go())
    assert not consumer._unacked_messages
    assert "3 messages were not written in 30s" in log[1]
    assert exits == [EXIT_STUCK] and "a second stop signal" in log[-1]
