"""Events and a registry into a real ClickHouse, and the SPEC §6 views back in the oracle's shape.

``load`` runs events through the engine in the order given (as the worker would:
accept, buffer, flush every few events, so leads are written at several revisions)
and upserts the registry with the same code as ``leadclock campaigns load``;
``read_judgment`` reads ``v_clock``, ``v_campaign_scorecard``, ``v_model_comparison``,
``v_revenue_lag`` and ``v_lead_clock`` into :class:`tests.oracle_judgment.Judgment`;
``assert_same_judgment`` compares exactly, floats within a relative tolerance.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from fractions import Fraction

from clickhouse_connect.driver.client import Client

from schemas.campaign_types import Campaign
from schemas.events import Event
from sinks.campaign_store import upsert
from sinks.partials_refresh import refresh
from sinks.partials_store import AS_OF_TABLE, EPOCHS_TABLE
from sinks.sink import ClickHouseSink
from sinks.versions import ensure_version
from streams.engine.buffer import OutputBuffer
from streams.engine.config import EngineConfig
from streams.engine.contribution import accept
from streams.engine.partials import TABLES as PARTIAL_TABLES
from streams.engine.state import LeadState
from tests.oracle_judgment import Judgment, ScorecardRow

FLOAT_TOLERANCE = 1e-9
TABLES = ("lead_revisions", "lead_reach", "lead_stages", "lead_credits", "campaigns",
          "attribution_versions", *PARTIAL_TABLES, AS_OF_TABLE, EPOCHS_TABLE)
SCORECARD_COLUMNS = ", ".join((
    "campaign_id", "name", "kind", "channel", "starts_on", "ends_on", "touches",
    "leads_reached", "leads_warmed", "leads_hot", "goal_metric", "goal_target",
    "goal_currency", "goal_model", "actual", "due_at", "verdict", "declared_in_advance",
    "spend_minor", "spend_currency", "cost_per_lead_warmed", "roas",
))


def reset(client: Client) -> None:
    """Empty every table a judgment reads (between hypothesis examples)."""
    for table in TABLES:
        client.command(f"TRUNCATE TABLE {table}")


def load(client: Client, events: Iterable[Event], config: EngineConfig,
         registry: Iterable[Campaign], *, flush_every: int = 3, version: int = 1,
         stored_sums: bool = False) -> None:
    """Write the events (in this order) through the engine and sink, then the registry.

    ``stored_sums``: then store the version's sums as a replay does at its end, so that
    the views read the partial tables instead of the per-lead rows.
    """
    ensure_version(client, version, config.describe())
    sink = ClickHouseSink(client, version)
    buffer = OutputBuffer(config)
    states: dict[str, LeadState] = {}
    for n, event in enumerate(events, 1):
        state = accept(states.get(event.lead_id, LeadState()), event)
        if state is not None:
            states[event.lead_id] = state
            buffer.put_lead(event.lead_id, state)
        if n % flush_every == 0:
            buffer.flush(sink)
    buffer.flush(sink)
    if stored_sums:
        assert refresh(client, version).epoch is not None
    upsert(client, list(registry))


def us(value: object) -> int:
    """A DateTime/DateTime64 from ClickHouse as exact µs since the epoch (naive = UTC)."""
    assert isinstance(value, datetime), value
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _day(value: object) -> date | None:
    if value is None:
        return None
    assert isinstance(value, date) and not isinstance(value, datetime), value
    return value


def read_judgment(client: Client) -> Judgment:
    """Every §6 view the oracle defines, read from ClickHouse."""
    (as_of,), = client.query("SELECT as_of FROM v_clock").result_rows
    scorecard = {}
    for row in client.query(f"SELECT {SCORECARD_COLUMNS} FROM v_campaign_scorecard"
                            ).result_rows:
        (cid, name, kind, channel, starts_on, ends_on, touches, reached, warmed, hot, metric,
         target, goal_currency, goal_model, actual, due_at, verdict, declared, spend_minor,
         spend_currency, cost, roas) = row
        assert cid not in scorecard, f"two scorecard rows for {cid!r}"
        scorecard[cid] = ScorecardRow(
            cid, name, kind, channel, _day(starts_on), _day(ends_on), touches, reached,
            warmed, hot, metric, target, goal_currency, goal_model, actual,
            None if due_at is None else us(due_at), verdict,
            None if declared is None else bool(declared), spend_minor, spend_currency,
            None if cost is None else Fraction(cost), None if roas is None else Fraction(roas),
        )
    comparison = {
        (cid, currency): dict(zip(("first_touch", "last_touch", "linear", "position_based",
                                   "time_decay"), models, strict=True))
        for cid, currency, *models in client.query(
            "SELECT campaign_id, currency, first_touch, last_touch, linear, position_based, "
            "time_decay FROM v_model_comparison").result_rows
    }
    lag = {
        (model, kind, currency, lag_days): (revenue, Fraction(share))
        for model, kind, currency, lag_days, revenue, share in client.query(
            "SELECT model, kind, currency, lag_days, revenue_minor, cumulative_share "
            "FROM v_revenue_lag").result_rows
    }
    clock = {
        (us(window), stage): (entered, reached)
        for window, stage, entered, reached in client.query(
            "SELECT window_start, stage, entered, reached FROM v_lead_clock").result_rows
    }
    return Judgment(None if as_of is None else us(as_of), scorecard, comparison, lag, clock)


def _close(want: Fraction | None, got: Fraction | None) -> bool:
    if want is None or got is None:
        return want is got
    return abs(float(want) - float(got)) <= FLOAT_TOLERANCE * max(1.0, abs(float(want)))


def assert_same_judgment(expected: Judgment, actual: Judgment) -> None:
    """Exact equality for counts, money, dates and verdicts; floats within tolerance."""
    assert actual.as_of_us == expected.as_of_us, "v_clock.as_of"
    assert set(actual.scorecard) == set(expected.scorecard), "scorecard campaigns"
    for cid, want in expected.scorecard.items():
        got = actual.scorecard[cid]
        for field in ScorecardRow.__dataclass_fields__:
            a, b = getattr(want, field), getattr(got, field)
            same = _close(a, b) if field in ("cost_per_lead_warmed", "roas") else a == b
            assert same, f"scorecard {cid!r}.{field}: expected {a!r}, got {b!r}"
    assert actual.model_comparison == expected.model_comparison, "v_model_comparison"
    assert set(actual.revenue_lag) == set(expected.revenue_lag), "v_revenue_lag keys"
    for key, (amount, share) in expected.revenue_lag.items():
        got_amount, got_share = actual.revenue_lag[key]
        assert got_amount == amount, f"v_revenue_lag {key}: revenue {amount} vs {got_amount}"
        assert _close(share, got_share), f"v_revenue_lag {key}: share {share} vs {got_share}"
    assert actual.lead_clock == expected.lead_clock, "v_lead_clock"
