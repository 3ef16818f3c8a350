"""Which row of a reach key ``lead_reach`` keeps: the most touches, or the newest revision.

A worker may write only the reach keys a lead's new events touched (row diffs,
``streams.engine.row_diff``) when the table keeps, per key, the row with the most
touches: a lead's states only gain events, so that is the truth whichever writer, crash
or order of writes put the rows there. DDL 001 creates the table so. A database
created before keeps ``ReplacingMergeTree(revision)``, where a key left out of a newer
write could be hidden by an older history's row of a higher revision, and ClickHouse
cannot change a table's version column in place: a worker writing into such a table
sends its reach rows whole, as it always did (exact, only more rows), until an explicit
``leadclock migrate`` re-creates it (``sinks.partitioning``).
"""

from __future__ import annotations

import re
from typing import Final

from clickhouse_connect.driver.client import Client

TOUCHES: Final = "touches"
"""The version column of ``lead_reach`` since reach diffs (DDL 001)."""
_VERSION: Final = re.compile(r"ReplacingMergeTree\((?:[^()]*,\s*)?`?(?P<column>\w+)`?\s*\)")


def keeps_most_touches(client: Client) -> bool:
    """True if ``lead_reach`` (its local table in a cluster) is versioned by ``touches``."""
    columns = _version_columns(client)
    return bool(columns) and all(column == TOUCHES for column in columns)


def reach_by_revision(client: Client) -> bool:
    """True if ``lead_reach`` exists in an older layout (not versioned by ``touches``)."""
    return any(column != TOUCHES for column in _version_columns(client))


def _version_columns(client: Client) -> list[str | None]:
    """The version column of ``lead_reach``, or of its local table in a cluster."""
    rows = client.query(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() "
        "AND name IN ('lead_reach', 'lead_reach_local') AND engine != 'Distributed'"
    ).result_rows
    return [version_column(str(engine)) for (engine,) in rows]


def version_column(engine_full: str) -> str | None:
    """The version column of a ReplacingMergeTree engine clause (None: none given)."""
    match = _VERSION.search(engine_full)
    return None if match is None else match.group("column")
