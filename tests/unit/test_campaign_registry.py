"""The campaign registry (SPEC §6) read from CSV: file format, every rule, round trips."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.campaigns import ATTRIBUTION_MODELS, Campaign, RegistryProblem, parse_registry
from schemas.registry_render import to_csv, to_yaml
from tests.campaign_strategies import registries
from tests.oracle import MODELS

TODAY = date(2026, 1, 2)
HEADER = "campaign_id,kind,starts_on,ends_on,goal_metric,goal_target"
VALID = "nl-jan,marketing,2026-01-05,2026-01-30,leads_warmed,500"
FULL = (
    "campaign_id,name,kind,channel,starts_on,ends_on,goal_metric,goal_target,goal_currency,"
    "goal_model,spend,spend_currency,declared_on"
)


def parse_csv(text: str, name: str = "reg.csv") -> list[Campaign] | list[RegistryProblem]:
    return parse_registry(name, text.encode(), TODAY)


def problems(text: str, name: str = "reg.csv") -> list[str]:
    result = parse_csv(text, name)
    assert all(isinstance(p, RegistryProblem) for p in result), result
    assert result, "expected problems"
    return [str(p) for p in result]


def campaigns(text: str, name: str = "reg.csv") -> list[Campaign]:
    result = parse_csv(text, name)
    assert all(isinstance(c, Campaign) for c in result), [str(p) for p in result]
    return result  # type: ignore[return-value]


def one_row(**values: str) -> str:
    """A full-header CSV with one row: a valid sales campaign, overridden by ``values``."""
    row = {
        "campaign_id": "spring-sale", "name": "Spring sale", "kind": "sales",
        "channel": "email", "starts_on": "2026-03-20", "ends_on": "2026-04-30",
        "goal_metric": "revenue", "goal_target": "25000.00", "goal_currency": "USD",
        "goal_model": "linear", "spend": "", "spend_currency": "", "declared_on": "",
    } | values
    return FULL + "\n" + ",".join(row[c] for c in FULL.split(",")) + "\n"


# --- valid files ---------------------------------------------------------------------


def test_minimal_csv_gets_the_defaults() -> None:
    [campaign] = campaigns(f"{HEADER}\n{VALID}\n")
    assert campaign == Campaign(
        campaign_id="nl-jan", name="nl-jan", kind="marketing", channel="",
        starts_on=date(2026, 1, 5), ends_on=date(2026, 1, 30), goal_metric="leads_warmed",
        goal_target=500, goal_currency="", goal_model="linear", spend_minor=None,
        spend_currency="", declared_on=TODAY,
    )
    assert campaign.declared_in_advance


def test_full_row_money_in_minor_units() -> None:
    [campaign] = campaigns(one_row(
        goal_target="25000.5", goal_currency="KWD", goal_model="time_decay",
        spend="1200.50", spend_currency="USD", declared_on="2026-03-01",
    ))
    assert (campaign.goal_target, campaign.goal_currency) == (25_000_500, "KWD")
    assert (campaign.spend_minor, campaign.spend_currency) == (120_050, "USD")
    assert campaign.goal_model == "time_decay"
    assert campaign.declared_on == date(2026, 3, 1)
    assert campaign.declared_in_advance


def test_declared_after_start_is_not_in_advance() -> None:
    [campaign] = campaigns(one_row(declared_on="2026-03-21"))
    assert not campaign.declared_in_advance


def test_bom_crlf_quotes_commas_newlines_and_spaces() -> None:
    text = (
        f"\ufeff{HEADER},name,goal_currency\r\n"
        '"a,b",marketing,2026-01-05,2026-01-30,leads_reached,10,"Say ""hi"", all",\r\n'
        'c, sales, 2026-02-01, 2026-02-02, revenue, 5,"two\r\nlines",JPY\r\n'
    )
    first, second = campaigns(text)
    assert (first.campaign_id, first.name) == ("a,b", 'Say "hi", all')
    assert (second.campaign_id, second.kind, second.name) == ("c", "sales", "two\r\nlines")
    assert (second.goal_target, second.goal_currency) == (5, "JPY")


def test_line_numbers_count_physical_lines() -> None:
    text = (
        f"{HEADER},name\r\n"
        '\r\nx,marketing,2026-01-05,2026-01-30,leads_reached,10,"three\r\nline\nname"\r\n'
        "y,marketing,2026-01-05,2026-01-30,leads_reached,0,\r\n"
    )
    assert problems(text) == ["reg.csv:6: goal_target: must be >= 1 (got 0)"]


def test_blank_and_empty_rows_are_skipped() -> None:
    text = f"\n{HEADER}\n\n{VALID}\n,,,,,\n\n"
    assert [c.campaign_id for c in campaigns(text)] == ["nl-jan"]


def test_extension_is_case_insensitive() -> None:
    assert campaigns(f"{HEADER}\n{VALID}\n", name="Campaigns.CSV")


# --- file-level problems -------------------------------------------------------------


def test_unsupported_extension() -> None:
    assert problems("x", name="reg.json") == [
        "reg.json:1: file: unsupported file type: use a .csv, .yaml or .yml file"
    ]


@pytest.mark.parametrize("text", ["", "\n\n", f"{HEADER}\n", f"{HEADER}\n,,,,,\n"])
def test_a_file_without_campaigns_is_an_error(text: str) -> None:
    assert problems(text) == ["reg.csv:1: file: no campaigns in this file"]


def test_not_utf8_reports_the_line() -> None:
    data = f"\ufeff{HEADER}\n{VALID}\n".encode() + b"bad\xff,x\n"
    assert [str(p) for p in parse_registry("reg.csv", data, TODAY)] == [
        "reg.csv:3: file: not UTF-8 text (invalid start byte at byte 4 of the line)"
    ]


def test_missing_columns_are_reported_once_at_the_header() -> None:
    text = "campaign_id,kind,starts_on\nx,sales,2026-01-01\ny,marketing,2026-01-01\n"
    assert problems(text) == [
        "reg.csv:1: ends_on: required column missing from the header",
        "reg.csv:1: goal_metric: required column missing from the header",
        "reg.csv:1: goal_target: required column missing from the header",
    ]


def test_unknown_repeated_and_unnamed_columns() -> None:
    text = f"{HEADER},goal_modle,Channel,notes,kind,\n{VALID},x,y,z,sales,\n"
    found = problems(text)
    assert found[0] == "reg.csv:1: header: column 11 has no name"
    assert found[1] == "reg.csv:1: kind: appears twice in the header"
    assert found[2].startswith("reg.csv:1: goal_modle: unknown column (did you mean goal_model?)")
    assert found[3].startswith("reg.csv:1: Channel: unknown column (did you mean channel?)")
    assert found[4].startswith("reg.csv:1: notes: unknown column; the columns are campaign_id,")
    assert len(found) == 5


def test_wrong_field_count_is_one_problem_per_row() -> None:
    text = f"{HEADER}\n{VALID},extra\nshort,sales\n{VALID.replace('nl-jan', 'ok')}\n"
    assert problems(text) == [
        "reg.csv:2: row: has 7 fields but the header has 6",
        "reg.csv:3: row: has 2 fields but the header has 6",
    ]


def test_malformed_quoting_stops_at_the_record_start() -> None:
    text = f'{HEADER}\n{VALID}\n"open,sales,2026-01-01,2026-01-02,revenue,5\nmore\n'
    assert problems(text) == ["reg.csv:3: row: malformed CSV: unexpected end of data"]
    text = f'{HEADER}\n"x"y,sales,2026-01-01,2026-01-02,revenue,5\n'
    assert problems(text) == ["reg.csv:2: row: malformed CSV: ',' expected after '\"'"]


# --- every value rule ----------------------------------------------------------------

RULES = [
    ("campaign_id", "", "required, but missing or empty"),
    ("campaign_id", "x" * 257, "must be 1-256 characters (got 257)"),
    ("campaign_id", "(none)", "(none) is reserved for revenue with no touch in its lookback"),
    ("kind", "", "required, but missing or empty"),
    ("kind", "brand", "must be one of marketing, sales (got 'brand')"),
    ("kind", "Sales", "(values are lower case: 'sales')"),
    ("starts_on", "", "required, but missing or empty"),
    ("starts_on", "2026-3-20", "must be an ISO date YYYY-MM-DD (got '2026-3-20')"),
    ("starts_on", "20260320", "must be an ISO date YYYY-MM-DD"),
    ("starts_on", "2026-03-20T00:00:00Z", "must be an ISO date YYYY-MM-DD"),
    ("starts_on", "2026-02-30", "not a real calendar date (got '2026-02-30')"),
    ("starts_on", "1969-12-31", "1969-12-31 is outside the days leadclock can store"),
    ("ends_on", "2106-01-01", "outside the days leadclock can store (1970-01-01 to 2105-12-31)"),
    ("ends_on", "2026-03-19", "2026-03-19 is before starts_on 2026-03-20"),
    ("goal_metric", "", "required, but missing or empty"),
    ("goal_metric", "opens", "must be one of leads_reached, leads_warmed, leads_hot (marketing)"),
    ("goal_target", "", "required, but missing or empty"),
    ("goal_target", "0", "must be > 0"),
    ("goal_target", "-5", "must be > 0"),
    ("goal_target", "25000.001", "has 3 decimals but USD allows 2"),
    ("goal_target", '"1,500"', "not a decimal string"),
    ("goal_target", "$1500", "not a decimal string"),
    ("goal_target", "99999999999999999999", "too large"),
    ("goal_currency", "", "required for a revenue goal"),
    ("goal_currency", "usd", "unknown ISO 4217 code 'usd' (codes are upper case: 'USD')"),
    ("goal_currency", "XAU", "'XAU' has no minor unit in ISO 4217"),
    ("goal_currency", "ABC", "unknown ISO 4217 code 'ABC'"),
    ("goal_model", "u_shaped", "must be one of first_touch, last_touch, linear,"),
    ("spend", "0", "must be > 0"),
    ("spend", "12.345", "has 3 decimals but USD allows 2"),
    ("declared_on", "yesterday", "must be an ISO date YYYY-MM-DD (got 'yesterday')"),
]


@pytest.mark.parametrize(("column", "value", "reason"), RULES)
def test_each_rule(column: str, value: str, reason: str) -> None:
    extra = {"spend_currency": "USD"} if column == "spend" else {}
    [problem] = problems(one_row(**{column: value}, **extra))
    assert problem.startswith(f"reg.csv:2: {column}: ")
    assert reason in problem


def test_goal_metric_pairing_for_marketing() -> None:
    [problem] = problems(one_row(kind="marketing"))
    assert problem == (
        "reg.csv:2: goal_metric: revenue is a sales goal; a marketing campaign is judged by "
        "reach: leads_reached, leads_warmed or leads_hot"
    )


@pytest.mark.parametrize("metric", ["leads_reached", "leads_warmed", "leads_hot"])
def test_goal_metric_pairing_for_sales(metric: str) -> None:
    [problem] = problems(one_row(goal_metric=metric, goal_target="5", goal_currency=""))
    assert problem == (
        f"reg.csv:2: goal_metric: {metric} is a marketing goal; a sales campaign is judged by "
        "revenue (goal_metric: revenue)"
    )


@pytest.mark.parametrize("metric", ["leads_reached", "leads_warmed", "leads_hot"])
def test_reach_goals_are_counts(metric: str) -> None:
    [campaign] = campaigns(one_row(kind="marketing", goal_metric=metric, goal_target="0500",
                                   goal_currency=""))
    assert (campaign.goal_metric, campaign.goal_target) == (metric, 500)


@pytest.mark.parametrize(("value", "reason"), [
    ("0", "must be >= 1 (got 0)"),
    ("1.5", "must be a whole number >= 1 (got '1.5')"),
    ("1e3", "must be a whole number >= 1 (got '1e3')"),
    ("-1", "must be a whole number >= 1 (got '-1')"),
    ("9223372036854775808", "too large: must fit a signed 64-bit integer"),
])
def test_count_targets(value: str, reason: str) -> None:
    row = one_row(kind="marketing", goal_metric="leads_hot", goal_target=value, goal_currency="")
    assert problems(row) == [f"reg.csv:2: goal_target: {reason}"]


def test_count_target_limit_is_int64() -> None:
    row = one_row(kind="marketing", goal_metric="leads_hot", goal_target="9223372036854775807",
                  goal_currency="")
    assert campaigns(row)[0].goal_target == 2**63 - 1


def test_a_reach_goal_has_no_currency() -> None:
    row = one_row(kind="marketing", goal_metric="leads_hot", goal_target="5")
    assert problems(row) == [
        "reg.csv:2: goal_currency: only a revenue goal has a currency (leads_hot is a count)"
    ]


def test_jpy_goal_has_no_decimals() -> None:
    assert campaigns(one_row(goal_target="1500", goal_currency="JPY"))[0].goal_target == 1500
    assert campaigns(one_row(goal_target="1500.0", goal_currency="JPY"))[0].goal_target == 1500
    assert problems(one_row(goal_target="1500.5", goal_currency="JPY")) == [
        "reg.csv:2: goal_target: has 1 decimal but JPY allows 0"
    ]


@pytest.mark.parametrize("model", ATTRIBUTION_MODELS)
def test_every_model_is_a_goal_model(model: str) -> None:
    assert campaigns(one_row(goal_model=model))[0].goal_model == model


def test_goal_models_are_the_engines_models() -> None:
    assert ATTRIBUTION_MODELS == MODELS


def test_spend_and_its_currency_both_or_neither() -> None:
    assert problems(one_row(spend="100")) == [
        "reg.csv:2: spend_currency: required when spend is given (both or neither)"
    ]
    assert problems(one_row(spend_currency="EUR")) == [
        "reg.csv:2: spend: required when spend_currency is given (both or neither)"
    ]
    assert problems(one_row(spend="100", spend_currency="eur")) == [
        "reg.csv:2: spend_currency: unknown ISO 4217 code 'eur' (codes are upper case: 'EUR')"
    ]
    [campaign] = campaigns(one_row(spend="100", spend_currency="JPY"))
    assert (campaign.spend_minor, campaign.spend_currency) == (100, "JPY")


def test_id_of_256_characters_is_fine() -> None:
    assert campaigns(one_row(campaign_id="é" * 256))[0].campaign_id == "é" * 256


# --- several problems, duplicates, order --------------------------------------------


def test_duplicate_ids_report_every_line() -> None:
    text = f"{HEADER}\n{VALID}\nother,sales,2026-01-01,2026-01-02,revenue,5\n{VALID}\n{VALID}\n"
    found = problems(text)
    assert "reg.csv:3: goal_currency: required for a revenue goal" in found
    assert [p for p in found if "more than once" in p] == [
        "reg.csv:2: campaign_id: 'nl-jan' appears more than once in this file (also lines 4, 5)",
        "reg.csv:4: campaign_id: 'nl-jan' appears more than once in this file (also lines 2, 5)",
        "reg.csv:5: campaign_id: 'nl-jan' appears more than once in this file (also lines 2, 4)",
    ]


def test_all_problems_of_all_rows_sorted_by_line_then_column() -> None:
    text = (
        f"{FULL}\n"
        'a,"two\nlines",brand,,2026-01-10,2026-01-01,revenue,1.234,usd,,5,,\n'
        "b,,sales,,2026-01-01,2026-01-31,revenue,100,EUR,,,,2026-13-01\n"
        ",,marketing,,2026-01-01,2026-01-31,leads_hot,0,,,,,\n"
        "a,,sales,,2026-01-01,2026-01-31,revenue,100,EUR,,,,\n"
    )
    assert problems(text) == [
        "reg.csv:2: campaign_id: 'a' appears more than once in this file (also line 6)",
        "reg.csv:2: kind: must be one of marketing, sales (got 'brand')",
        "reg.csv:2: ends_on: 2026-01-01 is before starts_on 2026-01-10",
        "reg.csv:2: goal_currency: unknown ISO 4217 code 'usd' (codes are upper case: 'USD')",
        "reg.csv:2: spend_currency: required when spend is given (both or neither)",
        "reg.csv:4: declared_on: not a real calendar date (got '2026-13-01')",
        "reg.csv:5: campaign_id: required, but missing or empty",
        "reg.csv:5: goal_target: must be >= 1 (got 0)",
        "reg.csv:6: campaign_id: 'a' appears more than once in this file (also line 2)",
    ]


def test_problem_format() -> None:
    assert str(RegistryProblem("f.csv", 3, "kind", "bad")) == "f.csv:3: kind: bad"


# --- round trips ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(registry=registries(), bom=st.booleans())
def test_csv_round_trip(registry: list[Campaign], bom: bool) -> None:
    data = ("\ufeff" if bom else "") + to_csv(registry)
    assert parse_csv(data) == registry


@settings(max_examples=60, deadline=None)
@given(registry=registries())
def test_yaml_round_trip(registry: list[Campaign]) -> None:
    assert parse_registry("reg.yaml", to_yaml(registry).encode(), TODAY) == registry


@settings(max_examples=100, deadline=None)
@given(registry=registries(), data=st.data())
def test_damaged_files_give_problems_not_exceptions(registry: list[Campaign],
                                                    data: st.DataObject) -> None:
    for name, text in (("reg.csv", to_csv(registry)), ("reg.yaml", to_yaml(registry))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 5)))
        damaged = text[:start] + data.draw(st.text(max_size=5)) + text[end:]
        result = parse_registry(name, damaged.encode(), TODAY)
        assert all(isinstance(r, Campaign) for r in result) \
            or all(isinstance(r, RegistryProblem) and r.line >= 1 for r in result)
