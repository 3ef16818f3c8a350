"""Reading the Grafana dashboards of deploy/grafana/dashboards/ for tests.

Walks a dashboard's panels, queries and variables, and resolves the variables the way
Grafana does when a dashboard loads (custom and constant values as saved, query
variables from their query's rows), so a test can run every panel query with the values
a user would see and with the other choices a user could make.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from tests.grafana_macros import QueryContext, VariableValue, expand

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards"
DASHBOARDS: dict[str, dict[str, Any]] = {
    path.name: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(DASHBOARD_DIR.glob("*.json"))
}
#: The provisioned data source (deploy/grafana/provisioning/datasources/clickhouse.yaml).
DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": "leadclock-clickhouse"}
# The demo's events fall in 2026: the dashboards' time range in tests.
TIME_FROM = datetime(2026, 1, 1, tzinfo=UTC)
TIME_TO = datetime(2027, 1, 1, tzinfo=UTC)


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


def all_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['id']} {target['refId']}", target["rawSql"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable["query"]


def find_variable(dashboard: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        v for v in dashboard["templating"]["list"] if v["name"] == name]
    assert len(found) == 1, f"{dashboard['uid']}: variable {name} must exist once"
    return found[0]


def option_values(variable: dict[str, Any]) -> list[str]:
    return [option["value"] for option in variable.get("options", [])]


class Resolver:
    """Dashboard variables as Grafana sets them: custom and constant values as saved, query
    variables from their query's rows (the first, or All where the variable offers it)."""

    def __init__(self, client: Client, dashboard: dict[str, Any]) -> None:
        self.client, self.dashboard = client, dashboard
        self._rows: dict[str, list[Sequence[Any]]] = {}

    def context(self, values: dict[str, VariableValue]) -> QueryContext:
        return QueryContext(TIME_FROM, TIME_TO, values)

    def run(self, sql: str, values: dict[str, VariableValue]) -> list[Sequence[Any]]:
        """Rows of ``sql`` expanded with ``values`` (each distinct text runs once)."""
        text = expand(sql, self.context(values))
        if text not in self._rows:
            self._rows[text] = list(self.client.query(text).result_rows)
        return self._rows[text]

    def options(self, name: str, values: dict[str, VariableValue]) -> list[str]:
        """The options of variable ``name`` given the values of the variables before it."""
        variable = find_variable(self.dashboard, name)
        if variable["type"] != "query":
            return option_values(variable)
        rows = self.run(variable["query"], values)
        assert all(len(row) == 1 for row in rows), f"variable {name}: one column"
        assert rows, f"variable {name} has no option on the demo data"
        return [str(row[0]) for row in rows]

    def resolve(self, **chosen: VariableValue) -> dict[str, VariableValue]:
        """Every variable's value, in dashboard order, with ``chosen`` ones as given."""
        values: dict[str, VariableValue] = {}
        for variable in self.dashboard["templating"]["list"]:
            name = variable["name"]
            default: VariableValue = variable["current"].get("value", "")
            if variable["type"] == "query" and not variable.get("includeAll"):
                default = self.options(name, values)[0]
            elif variable["type"] == "query":
                self.options(name, values)  # Grafana runs it even when All is chosen
            values[name] = chosen.get(name, default)
        return values

    def variants(self, used: set[str]) -> Iterator[dict[str, VariableValue]]:
        """The defaults, then each used variable set to its first and last other option
        (two campaigns for the multi-value one): every kind of SQL a choice can produce,
        without running each panel once per option."""
        defaults = self.resolve()
        yield defaults
        for name in sorted(used):
            variable = find_variable(self.dashboard, name)
            if variable["type"] == "constant" or variable.get("hide") == 2:
                continue
            options = self.options(name, defaults)
            if variable.get("multi"):
                yield self.resolve(**{name: options[:2]})
                continue
            others = [option for option in options if option != defaults[name]]
            for option in dict.fromkeys(others[:1] + others[-1:]):
                yield self.resolve(**{name: option})


def describe(client: Client, sql: str) -> list[tuple[str, str]]:
    """Column names and ClickHouse types of ``sql`` without its rows."""
    return [(row[0], row[1]) for row in client.query(f"DESCRIBE TABLE ({sql})").result_rows]


def named_fields(panel: dict[str, Any]) -> set[str]:
    """Every query column the panel's configuration refers to by name."""
    names: set[str] = set()
    derived: set[str] = set()
    for transformation in panel.get("transformations", []):
        options = transformation["options"]
        if transformation["id"] == "groupingToMatrix":
            names |= {options["rowField"], options["columnField"], options["valueField"]}
            derived.add(f"{options['rowField']}\\{options['columnField']}")
    for override in panel["fieldConfig"]["overrides"]:
        if override["matcher"]["id"] == "byName":
            names.add(override["matcher"]["options"])
    if "xField" in panel["options"]:
        names.add(panel["options"]["xField"])
    fields = panel["options"].get("reduceOptions", {}).get("fields", "")
    if match := re.fullmatch(r"/\^(\w+)\$/", fields):
        names.add(match.group(1))
    return names - derived
