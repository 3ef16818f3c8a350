"""Read a campaign registry file (CSV or YAML) into cells that remember their line.

This module knows the *file format* only: encodings, CSV and YAML syntax, which columns
exist and which must be present. What a value must look like is
:mod:`schemas.campaigns`' job. Every problem carries the physical line it is on, so the
user sees ``FILE:LINE: column: reason`` for each of them, never a traceback.

Decisions where SPEC §6 is silent:

- Bytes are UTF-8, with or without a byte-order mark (spreadsheets write one).
- CSV is RFC 4180 with a header row; CRLF, LF (and lone CR) line ends are accepted, quoted
  fields may hold commas, quotes (doubled) and line breaks, and a space after a comma is
  skipped. A record's line is the physical line where it *starts*. Rows whose fields are
  all empty (blank lines, the ``,,,,`` rows spreadsheets export) are skipped. A row with
  more or fewer fields than the header is one error and its values are not checked
  further (they are probably shifted). Malformed quoting stops the read at that record.
- YAML is read with PyYAML's *safe* loader only (no Python tags), as one document that is
  a list of mappings; merge keys (``<<: *defaults``) are honoured. The line of a cell is
  its value's line. Text columns take the scalar *as written* (``campaign_id: 2024`` is
  the id ``"2024"``, ``channel: no`` is ``"no"``, not a boolean); numeric columns take
  YAML's type, so a boolean can be refused where a number is expected. A key twice in
  one mapping is an error (plain PyYAML would keep the last silently).
- Column names and values are stripped of surrounding whitespace; an empty value (or
  YAML ``null``/``~``) means "not given". Names are case-sensitive (a hint is given).
- Unknown columns are errors, like an enforced dbt model contract: the registry decides
  how campaigns are judged, and a typo in an optional column (``goal_modle``,
  ``declared_at``) would otherwise silently fall back to a default and change a verdict
  months later. CSV reports an unknown or missing column once, at the header line; YAML
  reports an unknown key where it is and a missing one at its mapping's line.
- A file with no campaign at all (empty, header only, ``[]``) is an error: a load
  upserts, so such a file could never change anything and is almost surely the wrong or
  a truncated file.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass, field
from typing import Final

import yaml

COLUMNS: Final = (
    "campaign_id", "name", "kind", "channel", "starts_on", "ends_on", "goal_metric",
    "goal_target", "goal_currency", "goal_model", "spend", "spend_currency", "declared_on",
)
REQUIRED_COLUMNS: Final = (
    "campaign_id", "kind", "starts_on", "ends_on", "goal_metric", "goal_target",
)
#: Pseudo-columns for problems that are not about one column.
FILE, HEADER, ROW = "file", "header", "row"
_NULL_TAG: Final = "tag:yaml.org,2002:null"
_MAPPING_KEY_TAG: Final = "tag:yaml.org,2002:str"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


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


def read_registry_file(name: str, data: bytes) -> RawFile:
    """Decode ``data`` and read it as CSV or YAML according to the extension of ``name``."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ("csv", "yaml", "yml"):
        return _failed(name, 1, FILE, "unsupported file type: use a .csv, .yaml or .yml file")
    data = data.removeprefix(b"\xef\xbb\xbf")  # the UTF-8 byte-order mark
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line, column = before.count(b"\n") + 1, exc.start - before.rfind(b"\n")
        return _failed(name, line, FILE, f"not UTF-8 text ({exc.reason} at byte {column} of "
                                         "the line)")
    raw = read_csv(name, text) if suffix == "csv" else read_yaml(name, text)
    if not raw.records and not raw.problems:
        raw.problems.append(RegistryProblem(name, 1, FILE, "no campaigns in this file"))
    return raw


def read_csv(name: str, text: str) -> RawFile:
    """Read RFC 4180 CSV with a header row into raw records."""
    raw = RawFile()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    header: list[str] | None = None
    known: frozenset[str] = frozenset()
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            fields = [value.strip() for value in row]
            if not any(fields):
                continue
            if header is None:
                header = fields
                raw.absent_columns = _check_header(name, line, header, raw.problems)
                known = _usable_columns(header)
            elif len(fields) != len(header):
                raw.problems.append(RegistryProblem(
                    name, line, ROW, f"has {len(fields)} fields but the header has {len(header)}"
                ))
            else:
                cells = {
                    column: Cell(value, value, line)
                    for column, value in zip(header, fields, strict=True)
                    if column in known
                }
                raw.records.append(RawRecord(line, cells))
    except csv.Error as exc:
        raw.problems.append(RegistryProblem(name, start, ROW, f"malformed CSV: {exc}"))
    return raw


def _check_header(
    name: str, line: int, header: list[str], problems: list[RegistryProblem]
) -> frozenset[str]:
    """Report unnamed, repeated, unknown and missing columns; return missing and repeated."""
    seen: set[str] = set()
    for number, column in enumerate(header, start=1):
        if not column:
            problems.append(RegistryProblem(name, line, HEADER, f"column {number} has no name"))
        elif column in seen:
            problems.append(RegistryProblem(name, line, column, "appears twice in the header"))
        elif column not in COLUMNS:
            problems.append(RegistryProblem(name, line, column, unknown_column(column)))
        seen.add(column)
    missing = [column for column in REQUIRED_COLUMNS if column not in seen]
    problems.extend(
        RegistryProblem(name, line, column, "required column missing from the header")
        for column in missing
    )
    return frozenset(missing) | {c for c in header if header.count(c) > 1}


def _usable_columns(header: list[str]) -> frozenset[str]:
    """Known columns named once: a column named twice has no single value to check."""
    return frozenset(c for c in header if c in COLUMNS and header.count(c) == 1)


def unknown_column(column: str) -> str:
    """Explain an unknown column, suggesting the known one it most resembles."""
    lowered = {known.lower(): known for known in COLUMNS}
    guess = lowered.get(column.lower()) or next(
        iter(difflib.get_close_matches(column, COLUMNS, n=1, cutoff=0.75)), None
    )
    hint = f" (did you mean {guess}?)" if guess else ""
    return f"unknown column{hint}; the columns are {', '.join(COLUMNS)}"


def read_yaml(name: str, text: str) -> RawFile:
    """Read a YAML list of mappings, safely, keeping every value's line."""
    raw = RawFile()
    try:
        loader = yaml.SafeLoader(text)  # checks the characters already
    except yaml.YAMLError as exc:
        return _failed(name, _error_line(exc, text), FILE, f"invalid YAML: {_yaml_reason(exc)}")
    try:
        root = loader.get_single_node()
        if root is None:
            return raw
        if not isinstance(root, yaml.SequenceNode):
            what = "a mapping" if isinstance(root, yaml.MappingNode) else "a single value"
            raw.problems.append(RegistryProblem(
                name, _line(root), FILE, f"must be a list of campaigns (mappings), not {what}"
            ))
            return raw
        for item in root.value:
            _read_yaml_item(name, loader, item, raw)
    except yaml.YAMLError as exc:
        raw.problems.append(RegistryProblem(name, _error_line(exc, text), FILE,
                                            f"invalid YAML: {_yaml_reason(exc)}"))
    finally:
        loader.dispose()
    return raw


def _read_yaml_item(name: str, loader: yaml.SafeLoader, item: yaml.Node, raw: RawFile) -> None:
    """Turn one list item into a raw record, reporting what is not a campaign mapping."""
    if not isinstance(item, yaml.MappingNode):
        raw.problems.append(RegistryProblem(
            name, _line(item), ROW, "must be a mapping of column: value"
        ))
        return
    own_keys = sum(1 for key, _ in item.value if key.tag != _MERGE_TAG)
    loader.flatten_mapping(item)  # merge keys (<<: *anchor) become keys before the own ones
    merged = item.value[: len(item.value) - own_keys]
    cells: dict[str, Cell] = {}
    for key_node, value_node in merged:  # a key of the mapping itself overrides these
        column = _column(name, key_node, raw.problems)
        if column is not None:
            cell = _yaml_cell(name, loader, value_node, raw.problems, column)
            if cell is not None:
                cells[column] = cell
    own: set[str] = set()
    for key_node, value_node in item.value[len(merged):]:
        column = _column(name, key_node, raw.problems)
        if column is None:
            continue
        if column in own:
            raw.problems.append(RegistryProblem(
                name, _line(key_node), column, "appears twice in this campaign"
            ))
            continue
        own.add(column)
        cell = _yaml_cell(name, loader, value_node, raw.problems, column)
        if cell is not None:
            cells[column] = cell
    raw.records.append(RawRecord(_line(item), cells))


def _column(name: str, key: yaml.Node, problems: list[RegistryProblem]) -> str | None:
    """The known column a mapping key names, or None after reporting why it names none."""
    if not isinstance(key, yaml.ScalarNode) or key.tag != _MAPPING_KEY_TAG:
        problems.append(RegistryProblem(name, _line(key), ROW, "keys must be column names"))
        return None
    column = str(key.value).strip()
    if column not in COLUMNS:
        problems.append(RegistryProblem(name, _line(key), column, unknown_column(column)))
        return None
    return column


def _yaml_cell(
    name: str, loader: yaml.SafeLoader, node: yaml.Node, problems: list[RegistryProblem],
    column: str,
) -> Cell | None:
    """Build the cell of one YAML value, or report why it cannot be one."""
    line = _line(node)
    if isinstance(node, yaml.SequenceNode):
        return Cell("", Nested("a list"), line)
    if isinstance(node, yaml.MappingNode):
        return Cell("", Nested("a mapping"), line)
    if node.tag == _NULL_TAG:
        return Cell("", None, line)
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problems.append(RegistryProblem(name, line, column, f"invalid YAML: {_yaml_reason(exc)}"))
        return None
    return Cell(str(node.value).strip(), value, line)


def _line(node: yaml.Node) -> int:
    """1-based line where a YAML node starts."""
    return int(node.start_mark.line) + 1


def _error_line(exc: yaml.YAMLError, text: str) -> int:
    """1-based line of a YAML error (scanner/parser marks, or the reader's position)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(exc, "position", None)
    return text[:position].count("\n") + 1 if isinstance(position, int) else 1


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """The reason part of a PyYAML error, without its multi-line source excerpt."""
    if isinstance(exc, yaml.reader.ReaderError):
        return f"character U+{exc.character:04X} is not allowed ({exc.reason})"
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        return f"{context}, {problem}" if context else str(problem)
    return " ".join(str(exc).split())


def _failed(name: str, line: int, column: str, reason: str) -> RawFile:
    """A file that could not be read at all."""
    return RawFile(problems=[RegistryProblem(name, line, column, reason)])
