"""murmur2 cost per message: the hash that decides a lead's home partition.

Run from the repository root with the venv's Python::

    .venv/bin/python benchmarks/murmur2_bench.py

Times, per call, kafka-python's and aiokafka's pure-Python ``murmur2``, leadclock's
(``streams.engine.routing.murmur2``, which unpacks the 4-byte words in one C call) and
the worker's cached lookup (``HomePartitions``, a dict hit once a lead was seen), on
lead ids shaped like the demo's (``lead-000123``) and on 36-character UUIDs.
"""

from __future__ import annotations

import timeit
import uuid

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from streams.engine.routing import HomePartitions, murmur2

KEYS = {
    "demo ids (11 bytes)": [f"lead-{n:06d}" for n in range(10_000)],
    "UUIDs (36 bytes)": [str(uuid.UUID(int=n * 7919 + 1)) for n in range(10_000)],
}


def per_call_us(function: object, items: list[object], repeat: int = 5) -> float:
    best = min(timeit.repeat(lambda: [function(i) for i in items],  # type: ignore[operator]
                             number=3, repeat=repeat))
    return best / (3 * len(items)) * 1e6


def main() -> None:
    for shape, leads in KEYS.items():
        keys = [lead.encode() for lead in leads]
        homes = HomePartitions(4)
        for lead in leads:
            homes(lead)
        print(f"{shape}:")
        print(f"  kafka-python murmur2   {per_call_us(kafka_python_murmur2, keys):6.2f} µs")
        print(f"  aiokafka murmur2       {per_call_us(aiokafka_murmur2, keys):6.2f} µs")
        print(f"  leadclock murmur2      {per_call_us(murmur2, keys):6.2f} µs")
        print(f"  HomePartitions, cached {per_call_us(homes, leads):6.2f} µs "  # type: ignore[arg-type]
              "(what the worker pays per message for a lead it has seen)")


if __name__ == "__main__":
    main()
