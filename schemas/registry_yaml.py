"""Read a YAML campaign registry safely, keeping the line of every value.

The YAML half of :mod:`schemas.registry_files` (see its docstring for the decisions):
PyYAML's safe loader only, one document that is a list of mappings, merge keys honoured,
a key twice in one mapping reported rather than silently kept last.
"""

from __future__ import annotations

from typing import Final

import yaml

from schemas.registry_records import (
    COLUMNS,
    FILE,
    ROW,
    Cell,
    Nested,
    RawFile,
    RawRecord,
    RegistryProblem,
    failed,
    unknown_column,
)

_NULL_TAG: Final = "tag:yaml.org,2002:null"
_MAPPING_KEY_TAG: Final = "tag:yaml.org,2002:str"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


def read_yaml(name: str, text: str) -> RawFile:
    """Read a YAML list of mappings, safely, keeping every value's line."""
    raw = RawFile()
    try:
        loader = yaml.SafeLoader(text)  # checks the characters already
    except yaml.YAMLError as exc:
        return failed(name, _error_line(exc, text), FILE, f"invalid YAML: {_yaml_reason(exc)}")
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
