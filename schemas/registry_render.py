"""Write campaigns back as a registry file (CSV or YAML) that parse_registry reads back equal.

Used by the demo to write its campaigns file and by ``leadclock campaigns list`` (as a
file, or as a table for people: :func:`to_table`). Money is written as a decimal
string in major units (``"1500.50"``), never a float, so the file means exactly the
minor units it came from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import yaml

from schemas.campaign_types import DEFAULT_GOAL_MODEL, Campaign
from schemas.money import format_minor
from schemas.registry_files import COLUMNS


class _Dumper(yaml.SafeDumper):
    """SafeDumper that double-quotes text holding YAML's Unicode line breaks.

    PyYAML writes NEL (U+0085) and U+2028/U+2029 raw in plain and single-quoted
    scalars, where a reader folds them into a space; only double quotes escape them.
    """


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if any(ch in text for ch in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def minor_text(amount_minor: int, currency: str) -> str:
    """Minor units as a plain decimal in major units: ``(150050, "USD") -> "1500.50"``."""
    return format_minor(amount_minor, currency).rpartition(" ")[0]


def campaign_row(campaign: Campaign) -> dict[str, str]:
    """One campaign as registry column texts (``""`` for a column left to its default)."""
    target = (
        minor_text(campaign.goal_target, campaign.goal_currency)
        if campaign.goal_metric == "revenue" else str(campaign.goal_target)
    )
    spend = (
        minor_text(campaign.spend_minor, campaign.spend_currency)
        if campaign.spend_minor is not None else ""
    )
    return {
        "campaign_id": campaign.campaign_id,
        "name": campaign.name,
        "kind": campaign.kind,
        "channel": campaign.channel,
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat(),
        "goal_metric": campaign.goal_metric,
        "goal_target": target,
        "goal_currency": campaign.goal_currency,
        "goal_model": campaign.goal_model,
        "spend": spend,
        "spend_currency": campaign.spend_currency,
        "declared_on": campaign.declared_on.isoformat(),
    }


def to_csv(campaigns: Iterable[Campaign]) -> str:
    """An RFC 4180 registry (CRLF line ends, every column, a header row)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for campaign in campaigns:
        row = campaign_row(campaign)
        writer.writerow([row[column] for column in COLUMNS])
    return out.getvalue()


def to_yaml(campaigns: Iterable[Campaign]) -> str:
    """A YAML registry: a list of mappings, defaults left out, counts and dates native."""
    items = []
    for campaign in campaigns:
        row = campaign_row(campaign)
        item: dict[str, object] = {
            column: row[column] for column in COLUMNS
            if row[column] and not (column == "goal_model" and row[column] == DEFAULT_GOAL_MODEL)
        }
        if campaign.goal_metric != "revenue":
            item["goal_target"] = campaign.goal_target
        for column in ("starts_on", "ends_on", "declared_on"):  # YAML dates, unquoted
            item[column] = getattr(campaign, column)
        items.append(item)
    return yaml.dump(
        items, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


def goal_text(campaign: Campaign) -> str:
    """The goal in words: ``leads_warmed >= 600`` or ``revenue >= 4500.00 USD (linear)``."""
    if campaign.goal_metric == "revenue":
        money = format_minor(campaign.goal_target, campaign.goal_currency)
        return f"revenue >= {money} ({campaign.goal_model})"
    return f"{campaign.goal_metric} >= {campaign.goal_target}"


def to_table(campaigns: Iterable[Campaign]) -> str:
    """An aligned text table of the registry, for a terminal."""
    header = ("campaign", "kind", "channel", "starts_on", "ends_on", "goal", "spend",
              "declared_on")
    rows = [header]
    for c in campaigns:
        spend = format_minor(c.spend_minor, c.spend_currency) if c.spend_minor is not None \
            else "-"
        late = "" if c.declared_in_advance else " (late)"
        rows.append((c.campaign_id, c.kind, c.channel or "-", c.starts_on.isoformat(),
                     c.ends_on.isoformat(), goal_text(c), spend,
                     c.declared_on.isoformat() + late))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
