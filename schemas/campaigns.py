"""The campaign registry contract (SPEC §6): what a campaign is and how it is judged.

:func:`parse_registry` turns a registry file into :class:`Campaign` values, or into the
complete list of :class:`~schemas.registry_files.RegistryProblem` (all of them, sorted by
line, then column), so a load is all-or-nothing. It is pure: no I/O, "today" is passed
in. The file format (CSV/YAML, lines, columns) is :mod:`schemas.registry_files`; the
rules for one campaign's values are :mod:`schemas.campaign_rules`; the record type is
:mod:`schemas.campaign_types`.

Decisions where SPEC §6 is silent (the README must repeat them with the CLI):

- ``(none)`` cannot be registered: it holds revenue whose purchase had no touch in its
  lookback, and it is not a campaign.
- A campaign id repeated in one file is reported on every line it is on, naming the
  others.
- Money (``goal_target`` of a revenue goal, ``spend``) follows the event ``amount`` rules
  of :mod:`schemas.money` exactly, in the currency given next to it; it is checked once
  that currency is valid. Counts are whole numbers from 1 to 2^63 - 1 (no fraction, no
  sign, no thousands separator; a YAML float or boolean is refused).
- ``goal_currency`` is only for revenue goals (a currency on a reach goal is an error:
  it suggests the goal was meant in money). ``goal_model`` is allowed on every campaign
  (default ``linear``) because ``roas`` uses it for marketing campaigns too.
- Dates are ``YYYY-MM-DD`` exactly, from 1970-01-01 to 2105-12-31 (the days an event can
  have, SPEC §2 as implemented in :mod:`schemas.validation`). ``declared_on`` may be any
  such date, even after today or after the campaign (then it was not declared in
  advance, which the scorecard shows).
"""

from __future__ import annotations

from datetime import date
from typing import Final

from schemas.campaign_rules import check_record
from schemas.campaign_types import (
    ATTRIBUTION_MODELS,
    DEFAULT_GOAL_MODEL,
    GOAL_METRICS,
    KINDS,
    NO_CAMPAIGN,
    REACH_METRICS,
    Campaign,
    CampaignKind,
    GoalMetric,
)
from schemas.registry_files import (
    COLUMNS,
    FILE,
    HEADER,
    ROW,
    RawRecord,
    RegistryProblem,
    read_registry_file,
)

__all__ = [
    "ATTRIBUTION_MODELS",
    "COLUMNS",
    "DEFAULT_GOAL_MODEL",
    "GOAL_METRICS",
    "KINDS",
    "NO_CAMPAIGN",
    "REACH_METRICS",
    "Campaign",
    "CampaignKind",
    "GoalMetric",
    "RegistryProblem",
    "parse_registry",
]


def parse_registry(name: str, data: bytes, today: date) -> list[Campaign] | list[RegistryProblem]:
    """Read a whole registry file: every campaign, or every problem (never both).

    ``name`` is the file name as the user gave it (its extension picks the format; it
    prefixes every problem); ``today`` is the default ``declared_on``.
    """
    raw = read_registry_file(name, data)
    problems = list(raw.problems)
    campaigns: list[Campaign] = []
    for record in raw.records:
        checked = check_record(name, record, raw.absent_columns, today)
        if isinstance(checked, Campaign):
            campaigns.append(checked)
        else:
            problems.extend(checked)
    problems.extend(_duplicate_ids(name, raw.records))
    if problems:  # a YAML anchor merged into many campaigns reports its problem once
        return sorted(dict.fromkeys(problems), key=_problem_order)
    return campaigns


def _duplicate_ids(name: str, records: list[RawRecord]) -> list[RegistryProblem]:
    """Report every line of every campaign id that appears more than once."""
    lines: dict[str, list[int]] = {}
    for record in records:
        cell = record.cells.get("campaign_id")
        if cell is not None and cell.text:
            lines.setdefault(cell.text, []).append(cell.line)
    problems = []
    for campaign_id, where in lines.items():
        if len(where) < 2:
            continue
        for line in where:
            others = [str(other) for other in where if other != line] or [str(line)]
            noun = "line" if len(others) == 1 else "lines"
            problems.append(RegistryProblem(
                name, line, "campaign_id",
                f"{campaign_id!r} appears more than once in this file (also {noun} "
                f"{', '.join(others)})",
            ))
    return problems


_COLUMN_RANK: Final = {FILE: -3, HEADER: -2, ROW: -1} | {c: i for i, c in enumerate(COLUMNS)}


def _problem_order(problem: RegistryProblem) -> tuple[int, int]:
    """Sort key: by line, then in the registry's column order (unknown columns last)."""
    return problem.line, _COLUMN_RANK.get(problem.column, len(COLUMNS))
