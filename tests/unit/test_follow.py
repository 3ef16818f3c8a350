"""Following a promote (streams.faust_app.follow), without Kafka or ClickHouse.

The worker writes version 1; version 2 (replayed up to offset E) becomes current. The
switch must write what was processed into version 1 first, record where version 1
stops, rewrite into version 2 exactly the leads of the messages processed at or after
E (from the table), and record version 2 as fed; messages after the switch go to 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from schemas.events import Touch
from streams.engine.accounting import Counters
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.port import OutputBatch, Refusal
from streams.engine.processor import MessageProcessor
from streams.engine.versions import Feed, TopicPartitionKey, VersionTarget
from streams.faust_app.ack import AckAfterFlush
from streams.faust_app.agent import Agent
from streams.faust_app.deliveries import Deliveries
from streams.faust_app.follow import Follower, lead_keys
from tests.messages import event_json

T0 = 1_767_225_600_000_000
TOPIC = "t.clicks"
SHORT = EngineConfig(lookback_us=86_400_000_000)


class TP(NamedTuple):
    topic: str
    partition: int


class Message(NamedTuple):
    tp: TP
    offset: int


class Event(NamedTuple):
    message: Message


@dataclass
class VersionedWriter:
    """Remembers which version each lead was written into, and with which config."""

    version: int = 1
    writes: list[tuple[int, str, int]] = field(default_factory=list)

    def write(self, batch: OutputBatch) -> list[Refusal]:
        for key, contribution in batch.leads.items():
            self.writes.append((self.version, key.lead_id, contribution.revision))
        return []


@dataclass
class Control:
    writer: VersionedWriter
    target_version: int = 1
    recorded: dict[int, dict[TopicPartitionKey, Feed]] = field(default_factory=dict)
    records: list[tuple[int, dict[TopicPartitionKey, int], bool]] = field(default_factory=list)

    def target(self) -> VersionTarget | None:
        return VersionTarget(self.target_version, SHORT)

    def feeds(self, version: int) -> dict[TopicPartitionKey, Feed]:
        return dict(self.recorded.get(version, {}))

    def record(self, version: int, offsets: Mapping[TopicPartitionKey, int], *,
               fed: bool) -> None:
        self.records.append((version, dict(offsets), fed))
        self.recorded.setdefault(version, {}).update(
            {tp: Feed(offset, fed) for tp, offset in offsets.items()})

    def use(self, version: int) -> None:
        self.writer.version = version


class Stream:
    async def ack(self, event: Any) -> None:
        return None


class Safety:
    def start_of(self, consumer: Any, tp: Any) -> int:
        return 0


def _worker() -> tuple[Agent, VersionedWriter, Control, list[dict[Any, tuple[int, int]]]]:
    writer = VersionedWriter()
    buffer = OutputBuffer(EngineConfig())
    flusher = AckAfterFlush(buffer, writer, lambda *a: asyncio.sleep(0), stream=Stream(),
                            position_of=lambda e: (e.message.tp, e.message.offset))
    processor = MessageProcessor({}, buffer, lambda *a: None, Counters())

    async def produce(*args: Any) -> None:
        return None

    deliveries = Deliveries(produce, lambda line: None)
    agent = Agent(processor, buffer, flusher, Safety(), None, lambda: None,  # type: ignore[arg-type]
                  deliveries, [], "rerouted")
    reads: list[dict[Any, tuple[int, int]]] = []
    return agent, writer, Control(writer), reads


def _process(agent: Agent, lead: str, offset: int) -> None:
    touch = Touch(f"e{offset}", lead, "spring", "click", T0 + offset)
    agent.processor.process(lead.encode(), event_json(touch), TOPIC, 0, offset)
    agent.firsts.setdefault(TP(TOPIC, 0), offset)  # as Agent.handle keeps them
    agent.positions[TP(TOPIC, 0)] = offset + 1
    agent.flusher.unacked.append(Event(Message(TP(TOPIC, 0), offset)))


def test_a_promote_rewrites_exactly_the_leads_the_new_version_lacks() -> None:
    agent, writer, control, reads = _worker()
    keys_at = {0: b"a", 1: b"a", 2: b"b", 3: b"c", 4: b"a"}

    def read_keys(ranges: dict[TopicPartitionKey, tuple[int, int]]) -> set[bytes]:
        reads.append(dict(ranges))
        return {keys_at[o] for (start, end) in ranges.values() for o in range(start, end)}

    follower = Follower(control, agent, read_keys, lambda: {TP(TOPIC, 0)}, lambda: True,
                        version=1)

    async def run() -> None:
        await follower.poll()  # version 1 at start: nothing recorded, nothing processed
        for offset, key in sorted(keys_at.items()):
            _process(agent, key.decode(), offset)
        await agent.flusher.flush()
        control.recorded[2] = {(TOPIC, 0): Feed(3, False)}  # replayed below offset 3
        control.target_version = 2
        await follower.poll()
        _process(agent, "d", 5)
        await agent.flusher.flush()

    asyncio.run(run())
    assert reads[-1] == {(TOPIC, 0): (3, 5)}
    assert (1, {(TOPIC, 0): 5}, False) in control.records  # version 1 complete below 5
    assert control.records[-1] == (2, {(TOPIC, 0): 5}, True)
    into_two = {(lead, revision) for version, lead, revision in writer.writes if version == 2}
    assert into_two == {("a", 3), ("c", 1), ("d", 1)}  # b (offset 2) is in the replay
    assert agent.buffer.config == SHORT
    assert follower.version == 2


def test_a_pinned_worker_keeps_its_version() -> None:
    agent, writer, control, _ = _worker()
    follower = Follower(control, agent, lambda ranges: set(), lambda: {TP(TOPIC, 0)},
                        lambda: True, version=1, pinned=True)
    control.target_version = 2

    async def run() -> None:
        _process(agent, "a", 0)
        await follower.poll()
        await agent.flusher.flush()

    asyncio.run(run())
    assert follower.version == 1
    assert {version for version, _, _ in writer.writes} == {1}
    # Fed from its first processed offset on (0): nothing before it to complete.
    assert control.records == [(1, {(TOPIC, 0): 0}, True)]


def test_a_switch_interrupted_before_its_rewrite_is_finished_by_the_next_poll() -> None:
    agent, _writer, control, reads = _worker()
    failures = [OSError("broker away")]

    def read_keys(ranges: dict[TopicPartitionKey, tuple[int, int]]) -> set[bytes]:
        reads.append(dict(ranges))
        if failures:
            raise failures.pop()
        return {b"a"}

    follower = Follower(control, agent, read_keys, lambda: {TP(TOPIC, 0)}, lambda: True,
                        version=1)

    async def run() -> None:
        for offset in range(4):
            _process(agent, "a", offset)
        await agent.flusher.flush()
        control.recorded[2] = {(TOPIC, 0): Feed(1, False)}
        control.target_version = 2
        try:
            await follower.poll()
        except OSError:
            pass
        _process(agent, "a", 4)  # after the switch: written into version 2 anyway
        await follower.poll()
        await agent.flusher.flush()

    asyncio.run(run())
    assert reads == [{(TOPIC, 0): (1, 4)}, {(TOPIC, 0): (1, 4)}]  # the switch's range, twice
    assert control.records[-1] == (2, {(TOPIC, 0): 4}, True)


def test_the_leads_to_rewrite_come_from_the_values_not_the_kafka_keys() -> None:
    """Producers key messages as they like (or not at all): the rewrite must still find
    every lead a message changed, and none for a message that changed nothing."""
    values = [event_json(Touch("e1", "lead-a", "spring", "click", T0)),
              event_json(Touch("e2", "lead-b", "spring", "call", T0 + 1)),
              None, b"", b"not json", b'{"type": "click"}']
    assert lead_keys(values) == {b"lead-a", b"lead-b"}
