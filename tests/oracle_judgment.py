"""SPEC §6 as a batch, written to be obviously correct: what each judgment view must hold.

Given the accepted events, the engine configuration and the campaign registry, it
computes the exact contents of ``v_clock``, ``v_campaign_scorecard``,
``v_model_comparison``, ``v_revenue_lag`` and ``v_lead_clock`` (not the projection,
which is an estimate with its own backtest). It reuses the §3 oracle's dedupe, weights
and split, and keeps every ratio exact (``Fraction``) until a test compares it with a
view's Float64.

Decisions where SPEC §6 is silent (to be repeated in the README with the views):

- ``as_of`` is the latest ``occurred_at`` of an accepted event, in µs; with no event at
  all it is NULL (None), and then no goal can be ``not_met`` yet (``maturing``).
- A campaign is *seen* when it has at least one accepted touch. A purchase's own
  ``campaign_id`` does not make a campaign seen (SPEC §2: stored, not used for credit).
- ``(none)`` never appears in a campaign view: not in the scorecard, not in the model
  comparison, and not in the revenue lag (its credits have no touch, hence no lag).
  Its purchases still count as customers in ``v_lead_clock`` (that view is per lead).
- Every count and sum is over all time, not clipped to ``starts_on..ends_on``: the
  scorecard must agree with ``v_marketing_reach`` and ``v_attribution`` (touches made
  after a campaign's end still belong to it).
- Unregistered (seen) campaigns: ``name`` = the id, ``kind`` ``unclassified``,
  ``channel``/``goal_metric``/``goal_currency``/``goal_model``/``spend_currency`` ``''``,
  ``starts_on``/``ends_on``/``due_at``/``declared_in_advance``/``spend_minor`` NULL,
  ``goal_target`` and ``actual`` 0 (Int64 columns), verdict ``unjudged``. Registered
  campaigns without events appear with zero counts and are judged like any other.
- ``due_at`` is a ``DateTime`` at 00:00 UTC (µs here): ``ends_on + 1 day`` for reach,
  plus the engine's lookback for revenue. ``maturing`` while ``as_of < due_at``, so at
  exactly ``due_at`` an unmet goal is ``not_met``.
- ``cost_per_lead_warmed`` = spend in major units / ``leads_warmed``; NULL without spend
  or with no lead warmed (no division by zero, no infinity).
- ``roas`` = credits under ``goal_model`` in ``spend_currency`` / spend (both minor units
  of one currency, so the ratio is unit-free); credits in other currencies are never
  converted and do not count. NULL without spend; 0.0 with spend but no such revenue.
- ``v_model_comparison`` has a row per (campaign, currency) for which ``v_attribution``
  has a row (a credit with revenue or conversions > 0 under some model), all five models
  summed over all windows (0 where a model gives it nothing).
- ``v_revenue_lag`` ``kind`` is the registry's kind, ``unclassified`` for unregistered
  campaigns; rows only where ``revenue_minor > 0``; ``cumulative_share`` includes the
  row's own lag day.
- ``v_lead_clock`` uses the engine's window size; ``reached`` of a row counts every lead
  whose first moment in the stage is in that window or an earlier one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from schemas.campaign_types import NO_CAMPAIGN, Campaign
from schemas.events import Event, Purchase, Touch
from schemas.money import MINOR_UNIT_EXPONENTS
from streams.engine.config import EngineConfig
from streams.engine.windows import window_start_us
from tests.oracle import MODELS, dedupe, split, weights

DAY_US = 86_400_000_000
EPOCH = date(1970, 1, 1)
UNCLASSIFIED = "unclassified"
STAGES = ("warm", "hot", "customer")


@dataclass(frozen=True)
class Credit:
    """One purchase's revenue share for one touch (or for ``(none)``) under one model."""

    campaign_id: str
    model: str
    currency: str
    touched_at_us: int | None  # None for (none): no touch
    purchased_at_us: int
    revenue_minor: int
    conversions: Fraction


@dataclass(frozen=True)
class ScorecardRow:
    """One row of ``v_campaign_scorecard`` (dates as ``date``, ``due_at`` in µs)."""

    campaign_id: str
    name: str
    kind: str
    channel: str
    starts_on: date | None
    ends_on: date | None
    touches: int
    leads_reached: int
    leads_warmed: int
    leads_hot: int
    goal_metric: str
    goal_target: int
    goal_currency: str
    goal_model: str
    actual: int
    due_at_us: int | None
    verdict: str
    declared_in_advance: bool | None
    spend_minor: int | None
    spend_currency: str
    cost_per_lead_warmed: Fraction | None
    roas: Fraction | None


@dataclass
class Judgment:
    """Every §6 view the oracle defines, keyed like the views."""

    as_of_us: int | None
    scorecard: dict[str, ScorecardRow]
    #: (campaign, currency) -> model -> revenue_minor
    model_comparison: dict[tuple[str, str], dict[str, int]]
    #: (model, kind, currency, lag_days) -> (revenue_minor, cumulative_share)
    revenue_lag: dict[tuple[str, str, str, int], tuple[int, Fraction]]
    #: (window_start_us, stage) -> (entered, reached)
    lead_clock: dict[tuple[int, str], tuple[int, int]]


def by_lead(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Accepted events (first of each id) per lead, in (occurred_at, event_id) order."""
    leads: dict[str, list[Event]] = defaultdict(list)
    for event in dedupe(events):
        leads[event.lead_id].append(event)
    return {lead: sorted(evs, key=lambda e: (e.occurred_at_us, e.event_id))
            for lead, evs in leads.items()}


def credits(leads: dict[str, list[Event]], config: EngineConfig) -> list[Credit]:
    """Every credit of SPEC §3, with the exact touch and purchase instants."""
    out = []
    for ordered in leads.values():
        touches = [e for e in ordered if isinstance(e, Touch)]
        for purchase in (e for e in ordered if isinstance(e, Purchase)):
            t = purchase.occurred_at_us
            path = [x for x in touches if t - config.lookback_us <= x.occurred_at_us <= t]
            for model in MODELS:
                if not path:
                    out.append(Credit(NO_CAMPAIGN, model, purchase.currency, None, t,
                                      purchase.amount_minor, Fraction(1)))
                    continue
                ws = weights(model, path, t, config.half_life_us)
                for touch, w, share in zip(path, ws, split(purchase.amount_minor, ws),
                                           strict=True):
                    out.append(Credit(touch.campaign_id, model, purchase.currency,
                                      touch.occurred_at_us, t, share, w))
    return out


def due_at_us(campaign: Campaign, config: EngineConfig) -> int:
    """00:00 UTC the day after ``ends_on``, plus the lookback for a revenue goal."""
    day_after = (campaign.ends_on + timedelta(days=1) - EPOCH).days * DAY_US
    return day_after + (config.lookback_us if campaign.goal_metric == "revenue" else 0)


def verdict(actual: int, target: int, as_of_us: int | None, due_us: int) -> str:
    """``met``, else ``maturing`` before the due date, else ``not_met``."""
    if actual >= target:
        return "met"
    if as_of_us is None or as_of_us < due_us:
        return "maturing"
    return "not_met"


def judge(events: Iterable[Event], config: EngineConfig, registry: Iterable[Campaign]
          ) -> Judgment:
    """Compute every §6 view from the full event set and the registry."""
    leads = by_lead(events)
    registered = {c.campaign_id: c for c in registry}
    all_credits = credits(leads, config)
    as_of = max((e.occurred_at_us for evs in leads.values() for e in evs), default=None)

    touches: dict[str, int] = defaultdict(int)
    reached: dict[str, set[str]] = defaultdict(set)
    warmed: dict[str, int] = defaultdict(int)
    hot: dict[str, int] = defaultdict(int)
    for lead, ordered in leads.items():
        lead_touches = [e for e in ordered if isinstance(e, Touch)]
        for touch in lead_touches:
            touches[touch.campaign_id] += 1
            reached[touch.campaign_id].add(lead)
        if lead_touches:
            warmed[lead_touches[0].campaign_id] += 1
        first_hot = next((t for t in lead_touches if t.touch_type in ("click", "call")), None)
        if first_hot is not None:
            hot[first_hot.campaign_id] += 1

    revenue: dict[tuple[str, str, str], int] = defaultdict(int)  # (campaign, model, currency)
    for credit in all_credits:
        revenue[(credit.campaign_id, credit.model, credit.currency)] += credit.revenue_minor

    scorecard = {}
    for campaign_id in (set(touches) | set(registered)) - {NO_CAMPAIGN}:
        counts = (touches[campaign_id], len(reached[campaign_id]), warmed[campaign_id],
                  hot[campaign_id])
        campaign = registered.get(campaign_id)
        if campaign is None:
            scorecard[campaign_id] = ScorecardRow(
                campaign_id, campaign_id, UNCLASSIFIED, "", None, None, *counts, "", 0, "", "",
                0, None, "unjudged", None, None, "", None, None,
            )
            continue
        scorecard[campaign_id] = _registered_row(campaign, counts, revenue, as_of, config)

    return Judgment(
        as_of_us=as_of,
        scorecard=scorecard,
        model_comparison=_model_comparison(all_credits),
        revenue_lag=_revenue_lag(all_credits, registered),
        lead_clock=_lead_clock(leads, config),
    )


def _registered_row(campaign: Campaign, counts: tuple[int, int, int, int],
                    revenue: dict[tuple[str, str, str], int], as_of: int | None,
                    config: EngineConfig) -> ScorecardRow:
    """The scorecard row of a registered campaign, judged against its goal."""
    cid = campaign.campaign_id
    n_touches, n_reached, n_warmed, n_hot = counts
    actual = {
        "leads_reached": n_reached,
        "leads_warmed": n_warmed,
        "leads_hot": n_hot,
        "revenue": revenue[(cid, campaign.goal_model, campaign.goal_currency)],
    }[campaign.goal_metric]
    due = due_at_us(campaign, config)
    cost = roas = None
    if campaign.spend_minor is not None:
        exponent = MINOR_UNIT_EXPONENTS[campaign.spend_currency]
        if n_warmed:
            cost = Fraction(campaign.spend_minor, 10**exponent * n_warmed)
        earned = revenue[(cid, campaign.goal_model, campaign.spend_currency)]
        roas = Fraction(earned, campaign.spend_minor)
    return ScorecardRow(
        cid, campaign.name, campaign.kind, campaign.channel, campaign.starts_on,
        campaign.ends_on, n_touches, n_reached, n_warmed, n_hot, campaign.goal_metric,
        campaign.goal_target, campaign.goal_currency, campaign.goal_model, actual, due,
        verdict(actual, campaign.goal_target, as_of, due), campaign.declared_in_advance,
        campaign.spend_minor, campaign.spend_currency, cost, roas,
    )


def _model_comparison(all_credits: list[Credit]) -> dict[tuple[str, str], dict[str, int]]:
    """All-time revenue per (campaign, currency) under each model."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for credit in all_credits:
        if credit.campaign_id == NO_CAMPAIGN or not (credit.revenue_minor or credit.conversions):
            continue
        row = rows.setdefault((credit.campaign_id, credit.currency), dict.fromkeys(MODELS, 0))
        row[credit.model] += credit.revenue_minor
    return rows


def _revenue_lag(all_credits: list[Credit], registered: dict[str, Campaign]
                 ) -> dict[tuple[str, str, str, int], tuple[int, Fraction]]:
    """Revenue by whole days from touch to purchase, with the running share."""
    sums: dict[tuple[str, str, str, int], int] = defaultdict(int)
    for credit in all_credits:
        if credit.touched_at_us is None or credit.campaign_id == NO_CAMPAIGN:
            continue
        campaign = registered.get(credit.campaign_id)
        kind = campaign.kind if campaign is not None else UNCLASSIFIED
        lag = (credit.purchased_at_us - credit.touched_at_us) // DAY_US
        sums[(credit.model, kind, credit.currency, lag)] += credit.revenue_minor
    rows = {}
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for (model, kind, currency, lag), amount in sums.items():
        if amount > 0:
            groups[(model, kind, currency)].append(lag)
    for (model, kind, currency), lags in groups.items():
        total = sum(sums[(model, kind, currency, lag)] for lag in lags)
        running = 0
        for lag in sorted(lags):
            amount = sums[(model, kind, currency, lag)]
            running += amount
            rows[(model, kind, currency, lag)] = (amount, Fraction(running, total))
    return rows


def _lead_clock(leads: dict[str, list[Event]], config: EngineConfig
                ) -> dict[tuple[int, str], tuple[int, int]]:
    """Leads entering each stage per window, and how many are in it by the window's end."""
    entered: dict[tuple[int, str], int] = defaultdict(int)
    for ordered in leads.values():
        firsts = {
            "warm": next((e for e in ordered if isinstance(e, Touch)), None),
            "hot": next((e for e in ordered if isinstance(e, Touch)
                         and e.touch_type in ("click", "call")), None),
            "customer": next((e for e in ordered if isinstance(e, Purchase)), None),
        }
        for stage, event in firsts.items():
            if event is not None:
                entered[(window_start_us(event.occurred_at_us, config.window), stage)] += 1
    rows = {}
    for stage in STAGES:
        running = 0
        for window in sorted(w for w, s in entered if s == stage):
            running += entered[(window, stage)]
            rows[(window, stage)] = (entered[(window, stage)], running)
    return rows
