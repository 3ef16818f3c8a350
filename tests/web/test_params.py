"""Query-parameter validation and the panels' SQL (pure: no server, no ClickHouse)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from streams.web.exceptions import BadRequest
from streams.web.panels import CLOCK_SQL, CURRENCIES_SQL, PANELS
from streams.web.params import (
    CAMPAIGN,
    CURRENCY,
    DATE_FROM,
    DATE_TO,
    KIND,
    MODEL,
    MODELS,
    parse_query,
)
from tests.oracle import MODELS as ORACLE_MODELS

ACCEPTED = (MODEL, KIND, CURRENCY, CAMPAIGN, DATE_FROM, DATE_TO)


def test_the_models_are_the_engines_models() -> None:
    assert MODELS == ORACLE_MODELS


def test_defaults_fill_in_and_values_are_typed() -> None:
    values = parse_query([("from", "2026-01-31"), ("model", "time_decay")], ACCEPTED, "/x")
    assert values == {"model": "time_decay", "kind": "all", "currency": None,
                      "campaign": None, "from": dt.date(2026, 1, 31), "to": None}


@pytest.mark.parametrize(("pairs", "message"), [
    ([("modle", "linear")], "unknown parameter 'modle' for /x (it takes: campaign, currency"),
    ([("model", "linear"), ("model", "linear")], "'model' is given more than once"),
    ([("model", "LINEAR")], "model: 'LINEAR' is not one of first_touch, last_touch, linear"),
    ([("model", "")], "model: '' is not one of"),
    ([("kind", "both")], "kind: 'both' is not one of marketing, sales, unclassified, all"),
    ([("currency", "usd")], "currency: 'usd' is not an ISO 4217 currency code"),
    ([("currency", "US D")], "currency: 'US D' is not an ISO 4217"),
    ([("from", "2026-1-5")], "from: '2026-1-5' is not an ISO date (YYYY-MM-DD)"),
    ([("from", "2026-02-30")], "from: '2026-02-30' is not a valid date"),
    ([("to", "2026-01-01T00:00:00Z")], "to: '2026-01-01T00:00:00Z' is not an ISO date"),
    ([("from", "2026-03-02"), ("to", "2026-03-01")], "from (2026-03-02) is after to (2026-03-01)"),
    ([("campaign", "")], "campaign: a campaign id has 1 to 256 characters"),
    ([("campaign", "x" * 257)], "campaign: a campaign id has 1 to 256 characters"),
])
def test_bad_parameters_are_refused_with_the_parameter_named(
        pairs: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_query(pairs, ACCEPTED, "/x")
    assert message in str(caught.value)


def test_an_endpoint_without_parameters_says_so() -> None:
    with pytest.raises(BadRequest, match=r"it takes: none"):
        parse_query([("x", "1")], (), "/api/meta")


def _relations(sql: str) -> set[str]:
    return set(re.findall(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", sql))


@pytest.mark.parametrize("name", sorted(PANELS))
def test_panels_read_only_public_views(name: str) -> None:
    panel = PANELS[name]
    for text in filter(None, (panel.sql, panel.sql_by_kind)):
        relations = _relations(text)
        assert relations, text
        assert all(relation.startswith("v_") for relation in relations), relations


def test_meta_queries_read_only_public_views() -> None:
    assert _relations(CLOCK_SQL) == {"v_clock"}
    assert _relations(CURRENCIES_SQL) == {"v_attribution"}


@pytest.mark.parametrize("name", sorted(PANELS))
def test_request_values_travel_only_as_server_side_parameters(name: str) -> None:
    panel = PANELS[name]
    hostile = "x'); DROP TABLE lead_credits; --"
    values = {param.name: param.default for param in panel.params}
    values.update({"campaign": hostile, "currency": "USD", "kind": "sales"})
    values = {key: value for key, value in values.items() if key in
              {param.name for param in panel.params}}
    sql, parameters = panel.query(values)
    assert hostile not in sql
    assert sql in (panel.sql, panel.sql_by_kind)
    placeholders = set(re.findall(r"\{([a-z_]+):", sql))
    assert set(parameters) == placeholders
    if "campaign" in values:
        assert parameters["campaign"] == hostile
