"""The shapes a registry file is read into: cells that remember their line, and problems.

Shared by the CSV and YAML readers (:mod:`schemas.registry_files`,
:mod:`schemas.registry_yaml`) and the rules (:mod:`schemas.campaigns`), so that every
problem reaches the user as ``FILE:LINE: column: reason``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Final

COLUMNS: Final = (
    "campaign_id", "name", "kind", "channel", "starts_on", "ends_on", "goal_metric",
    "goal_target", "goal_currency", "goal_model", "spend", "spend_currency", "declared_on",
)
REQUIRED_COLUMNS: Final = (
    "campaign_id", "kind", "starts_on", "ends_on", "goal_metric", "goal_target",
)
#: Pseudo-columns for problems that are not about one column.
FILE, HEADER, ROW = "file", "header", "row"


@dataclass(frozen=True, slots=True)
class RegistryProblem:
    """One reason a registry file cannot be loaded, printed as ``FILE:LINE: column: reason``."""

    file: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Nested:
    """A YAML list or mapping where a single value was expected."""

    what: str  # "a list" or "a mapping"


@dataclass(frozen=True, slots=True)
class Cell:
    """One value of one record: its text as written, its typed value, and its line.

    ``value`` is the text itself for CSV, and YAML's typed scalar (``int``, ``float``,
    ``bool``, ``str``, ``date``...) or a :class:`Nested` for YAML; numeric columns read
    ``value``, every other column reads ``text``. ``text`` is ``""`` when not given.
    """

    text: str
    value: object
    line: int


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One campaign as read from the file: known columns only, not yet validated."""

    line: int
    cells: dict[str, Cell]


@dataclass(slots=True)
class RawFile:
    """The records of a file, the problems of its format, and columns its header lacks."""

    records: list[RawRecord] = field(default_factory=list)
    problems: list[RegistryProblem] = field(default_factory=list)
    #: Columns missing from (or repeated in) a CSV header: already reported once there,
    #: so the rules must not report them again on every row.
    absent_columns: frozenset[str] = frozenset()


def unknown_column(column: str) -> str:
    """Explain an unknown column, suggesting the known one it most resembles."""
    lowered = {known.lower(): known for known in COLUMNS}
    guess = lowered.get(column.lower()) or next(
        iter(difflib.get_close_matches(column, COLUMNS, n=1, cutoff=0.75)), None
    )
    hint = f" (did you mean {guess}?)" if guess else ""
    return f"unknown column{hint}; the columns are {', '.join(COLUMNS)}"


def failed(name: str, line: int, column: str, reason: str) -> RawFile:
    """A file that could not be read at all."""
    return RawFile(problems=[RegistryProblem(name, line, column, reason)])
