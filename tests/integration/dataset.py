"""A test dataset: demo events plus every malformed corpus message plus duplicates."""

from __future__ import annotations

import random
from dataclasses import dataclass

from schemas.events import Event, Rejection
from schemas.validation import parse_event
from streams.demo import generate
from tests.unit.corpus import INVALID


@dataclass
class Dataset:
    """Messages in arrival order, with what the pipeline must make of them."""

    messages: list[bytes]
    valid: list[Event]
    rejected: list[bytes]
    duplicates: int


def build(leads: int, seed: int = 11, duplicate_share: float = 0.03) -> Dataset:
    """Demo events, shuffled, with corpus rejects and exact duplicates mixed in."""
    rng = random.Random(seed)
    good = list(generate(leads, seed=seed))
    duplicates = rng.sample(good, int(len(good) * duplicate_share))
    bad = [case.raw for case in INVALID if case.raw.strip() and b"\n" not in case.raw]
    messages = good + duplicates + bad
    rng.shuffle(messages)
    valid, rejected = [], []
    for message in messages:
        parsed = parse_event(message)
        if isinstance(parsed, Rejection):
            rejected.append(message)
        else:
            valid.append(parsed)
    return Dataset(messages, valid, rejected, len(duplicates))
