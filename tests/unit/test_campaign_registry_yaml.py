"""The campaign registry (SPEC §6) read from YAML: native types, lines, safe loading."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.campaigns import Campaign, RegistryProblem, parse_registry

TODAY = date(2026, 1, 2)
SALE = """\
- campaign_id: spring-sale
  kind: sales
  starts_on: 2026-03-20
  ends_on: 2026-04-30
  goal_metric: revenue
  goal_target: 25000.50
  goal_currency: USD
"""


def parse(text: str, name: str = "reg.yaml") -> list[Campaign] | list[RegistryProblem]:
    return parse_registry(name, text.encode(), TODAY)


def problems(text: str) -> list[str]:
    result = parse(text)
    assert result and all(isinstance(p, RegistryProblem) for p in result), result
    return [str(p) for p in result]


def campaigns(text: str, name: str = "reg.yaml") -> list[Campaign]:
    result = parse(text, name)
    assert all(isinstance(c, Campaign) for c in result), [str(p) for p in result]
    return result  # type: ignore[return-value]


def with_line(line: str) -> str:
    """SALE with one more (or an overriding) line at its end."""
    return SALE + f"  {line}\n"


def test_native_dates_and_numbers() -> None:
    [campaign] = campaigns(SALE, name="reg.yml")
    assert campaign.starts_on == date(2026, 3, 20)
    assert (campaign.goal_target, campaign.goal_currency) == (2_500_050, "USD")
    assert campaign.declared_on == TODAY


def test_quoted_values_are_the_same() -> None:
    text = SALE.replace("2026-03-20", '"2026-03-20"').replace("25000.50", '"25000.50"')
    assert campaigns(text) == campaigns(SALE)


def test_text_columns_keep_the_scalar_as_written() -> None:
    text = SALE.replace("spring-sale", "2024") + "  name: 1.10\n  channel: no\n"
    [campaign] = campaigns(text)
    assert (campaign.campaign_id, campaign.name, campaign.channel) == ("2024", "1.10", "no")


def test_integer_money_and_counts() -> None:
    assert campaigns(SALE.replace("25000.50", "25000"))[0].goal_target == 2_500_000
    text = SALE.replace("sales", "marketing").replace("revenue", "leads_hot")
    text = text.replace("25000.50", "1_000").replace("  goal_currency: USD\n", "")
    assert campaigns(text)[0].goal_target == 1000


def test_null_means_not_given() -> None:
    [campaign] = campaigns(SALE + "  name: ~\n  spend:\n  spend_currency: null\n")
    assert (campaign.name, campaign.spend_minor, campaign.spend_currency) == (
        "spring-sale", None, "")


@pytest.mark.parametrize(("line", "expected"), [
    ("goal_target: true", "goal_target: booleans are not numbers"),
    ("goal_target: 2026-01-01", "goal_target: must be a JSON number or a decimal string"),
    ("goal_target: 1500.001", "goal_target: has 3 decimals but USD allows 2"),
    ("goal_target: [1, 2]", "goal_target: must be a single value, not a list"),
    ("goal_target: {a: 1}", "goal_target: must be a single value, not a mapping"),
    ("goal_target: -5", "goal_target: must be > 0"),
    ("starts_on: 2026-03-20T10:00:00Z", "starts_on: must be an ISO date YYYY-MM-DD"),
    ("starts_on: 20260320", "starts_on: must be an ISO date YYYY-MM-DD"),
    ("kind: [sales]", "kind: must be a single value, not a list"),
    ("declared_on: no", "declared_on: must be an ISO date YYYY-MM-DD (got 'no')"),
    ("goal_modle: linear", "goal_modle: unknown column (did you mean goal_model?)"),
])
def test_bad_values_are_reported_on_their_line(line: str, expected: str) -> None:
    column = line.split(":")[0]
    text = "".join(
        kept for kept in SALE.splitlines(keepends=True) if not kept.startswith(f"  {column}:")
    )
    text += f"  {line}\n"
    [problem] = problems(text)
    assert problem.startswith(f"reg.yaml:{text.count(chr(10))}: {expected}")


def test_count_goal_refuses_floats_and_booleans() -> None:
    base = SALE.replace("sales", "marketing").replace("revenue", "leads_reached")
    base = base.replace("  goal_currency: USD\n", "")
    assert problems(base.replace("25000.50", "500.0")) == [
        "reg.yaml:6: goal_target: must be a whole number >= 1 (got 500.0)"
    ]
    assert problems(base.replace("25000.50", "yes")) == [
        "reg.yaml:6: goal_target: booleans are not numbers"
    ]


def test_spend_boolean_is_not_money() -> None:
    assert problems(SALE + "  spend: false\n  spend_currency: EUR\n") == [
        "reg.yaml:8: spend: booleans are not numbers"
    ]


def test_missing_keys_are_reported_at_the_mapping() -> None:
    text = SALE + "- campaign_id: other\n  kind: marketing\n"
    assert problems(text) == [
        "reg.yaml:8: starts_on: required, but missing or empty",
        "reg.yaml:8: ends_on: required, but missing or empty",
        "reg.yaml:8: goal_metric: required, but missing or empty",
        "reg.yaml:8: goal_target: required, but missing or empty",
    ]


def test_duplicate_key_and_duplicate_id() -> None:
    text = SALE + "  kind: marketing\n" + SALE
    assert problems(text) == [
        "reg.yaml:1: campaign_id: 'spring-sale' appears more than once in this file "
        "(also line 9)",
        "reg.yaml:8: kind: appears twice in this campaign",
        "reg.yaml:9: campaign_id: 'spring-sale' appears more than once in this file "
        "(also line 1)",
    ]


def test_merge_keys_share_defaults() -> None:
    text = (
        "- &base\n  campaign_id: a\n  kind: marketing\n  starts_on: 2026-01-01\n"
        "  ends_on: 2026-01-31\n  goal_metric: leads_reached\n  goal_target: 10\n"
        "- <<: *base\n  campaign_id: b\n  goal_target: 20\n"
    )
    first, second = campaigns(text)
    assert (first.campaign_id, first.goal_target) == ("a", 10)
    assert (second.campaign_id, second.goal_target, second.kind) == ("b", 20, "marketing")


@pytest.mark.parametrize(("text", "expected"), [
    ("", "reg.yaml:1: file: no campaigns in this file"),
    ("# only a comment\n", "reg.yaml:1: file: no campaigns in this file"),
    ("[]\n", "reg.yaml:1: file: no campaigns in this file"),
    ("campaign_id: x\n", "reg.yaml:1: file: must be a list of campaigns (mappings), not a mapping"),
    ("just text\n", "reg.yaml:1: file: must be a list of campaigns (mappings), not a single"),
    ("- x\n- [1]\n", "reg.yaml:1: row: must be a mapping of column: value"),
    ("- a: 1\n---\n- b: 2\n", "reg.yaml:2: file: invalid YAML: expected a single document"),
    ("- a: [1\n- b\n", "reg.yaml:3: file: invalid YAML: while parsing a flow sequence"),
    ("- a: 1\n  - b\n", "reg.yaml:2: file: invalid YAML:"),
    ("- a: \x07\n", "reg.yaml:1: file: invalid YAML:"),
])
def test_file_level_problems(text: str, expected: str) -> None:
    assert problems(text)[0].startswith(expected)


def test_python_tags_are_refused_not_run() -> None:
    [problem] = problems(SALE + "  name: !!python/name:os.system\n")
    assert problem.startswith("reg.yaml:8: name: invalid YAML: could not determine a constructor")
    [problem] = problems(SALE + "  name: !!python/object/apply:os.system ['echo pwned']\n")
    assert problem == "reg.yaml:8: name: must be a single value, not a list"


def test_keys_must_be_column_names() -> None:
    assert problems(SALE + "  1: x\n") == ["reg.yaml:8: row: keys must be column names"]


def test_bom_and_crlf() -> None:
    data = ("\ufeff" + SALE).replace("\n", "\r\n").encode()
    assert parse_registry("reg.yaml", data, TODAY) == campaigns(SALE)
