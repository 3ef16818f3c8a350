"""The event-contract conformance corpus, shared by the validator and schema tests.

``valid.ndjson`` and ``invalid.ndjson`` hold one case per line, in a format any language
can read (see ``README.md``), so producers can run the same corpus against their own
validation or against ``schemas/events.schema.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Case:
    """One corpus line: the exact message bytes and what parsing them must give."""

    name: str
    raw: bytes
    expect: dict[str, Any]
    reason: str


def _raw_of(line: dict[str, Any]) -> bytes:
    """Return the message bytes of a corpus line (``raw``, ``raw_hex`` or ``event``)."""
    if "raw_hex" in line:
        return bytes.fromhex(line["raw_hex"])
    if "raw" in line:
        return str(line["raw"]).encode("utf-8")
    # The stdlib keeps integers beyond 64 bits and -0.0 as written in the corpus.
    return json.dumps(line["event"], ensure_ascii=False).encode("utf-8")


def load(name: str) -> list[Case]:
    """Load ``valid`` or ``invalid`` as a list of cases, in file order."""
    cases = []
    with (CORPUS_DIR / f"{name}.ndjson").open(encoding="utf-8") as lines:
        for text in lines:
            line = json.loads(text)
            cases.append(
                Case(line["case"], _raw_of(line), line.get("expect", {}), line.get("reason", ""))
            )
    return cases


VALID = load("valid")
INVALID = load("invalid")
