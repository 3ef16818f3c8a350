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
import io

from schemas.registry_records import (
    COLUMNS,
    FILE,
    HEADER,
    REQUIRED_COLUMNS,
    ROW,
    Cell,
    Nested,
    RawFile,
    RawRecord,
    RegistryProblem,
    failed,
    unknown_column,
)
from schemas.registry_yaml import read_yaml

__all__ = ["COLUMNS", "FILE", "HEADER", "REQUIRED_COLUMNS", "ROW", "Cell", "Nested",
           "RawFile", "RawRecord", "RegistryProblem", "read_csv", "read_registry_file",
           "read_yaml", "unknown_column"]


def read_registry_file(name: str, data: bytes) -> RawFile:
    """Decode ``data`` and read it as CSV or YAML according to the extension of ``name``."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ("csv", "yaml", "yml"):
        return failed(name, 1, FILE, "unsupported file type: use a .csv, .yaml or .yml file")
    data = data.removeprefix(b"\xef\xbb\xbf")  # the UTF-8 byte-order mark
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line, column = before.count(b"\n") + 1, exc.start - before.rfind(b"\n")
        return failed(name, line, FILE, f"not UTF-8 text ({exc.reason} at byte {column} of "
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
