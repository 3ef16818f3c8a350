"""The reference for ``v_revenue_projection`` (SPEC §6): how much revenue is still to come.

Plain data in, the view's rows out; written step by step as the SQL view will be
(group-bys, cumulative sums, one join per step, arithmetic), never by fitting. The
method, in the words of docs/projection.md:

1. **Lag history.** Only *mature touch days* teach the lag: a UTC day ``τ`` is mature at
   ``as_of`` when ``(τ + 1 day) + lookback ≤ as_of``, i.e. every touch of that day has had
   its whole lookback, so all the revenue it will ever be credited has arrived (a credit
   needs its touch within the lookback before the purchase). Credits of touches made on
   mature days, grouped by ``lag_days = floor((purchased_at − touched_at) / 1 day)`` as in
   ``v_revenue_lag``, give the lag curve ``F(d)`` = share of the revenue with lag ≤ d,
   per (kind, channel, model, currency) and per (kind, model, currency).
2. **Which history.** A campaign uses its (kind, channel) history when it holds at least
   ``min_history_credits`` credits with revenue from at least ``min_history_campaigns``
   campaigns; else its kind's history under the same rule; else it has
   ``too_little_history``. Unregistered campaigns are kind ``unclassified``, channel ``''``
   and are projected from the history of unregistered campaigns.
3. **Matured share.** A campaign's exposure is its touches per UTC day so far, ``n(τ)``.
   A touch is taken at the middle of its day, so at time ``T`` it is ``x = (T − τ·day)/day
   − ½`` days old, and the share of its eventual revenue arrived by then is the lag curve
   read continuously: ``C(x) = F(n − 1) + (x − n)·(F(n) − F(n − 1))`` with ``n = ⌊x⌋``,
   ``F(−1) = 0``, ``C = 0`` for ``x < 0`` and 1 beyond the curve's last lag day.
   ``matured_share = Σ n(τ)·C(x_τ) / Σ n(τ)``, at ``T = as_of``.
4. **Projection** (Benktander, i.e. Bornhuetter-Ferguson applied twice). The history's
   revenue per touch ``ρ`` (mature revenue / touches on mature days, same group, model
   and currency) gives the peers' expectation ``prior = ρ·N`` for the campaign's ``N``
   touches so far. With ``m = matured_share``: ``BF = so_far + (1 − m)·prior`` (the
   unarrived part of the peers' expectation added to what arrived), then
   ``projected = so_far + (1 − m)·BF`` = ``(2 − m)·so_far + (1 − m)²·prior``, rounded
   half up. That is the campaign's own pace ``so_far / m`` (chain ladder) blended with
   its peers' expectation by the weight ``Z = 1 − (1 − m)²``: a young campaign leans on
   its peers, an old one on itself, and one with no revenue yet still gets
   ``(1 − m)²·prior`` (not 0). Chosen over plain BF (``Z = m``) and chain ladder
   (``Z = 1``) by the backtest (benchmarks/projection_backtest.py).
5. **judge_from**: the first UTC day ``d`` at whose start the matured share of its touches
   so far reaches ``judge_share`` (90 %), scanning from its first touch day; never later
   than its revenue due day; the due day itself without usable history.
6. **status**: ``mature`` once ``as_of ≥`` the revenue due date (``ends_on + 1 day +
   lookback``; for an unregistered campaign its last touch day + 1 day + lookback), then
   ``matured_share = 1`` and ``projected = so far``; else ``maturing`` with history; else
   ``too_little_history`` with ``matured_share`` and ``projected`` NULL (None).

Rows: one per (seen campaign, model, currency) for every model and every currency the
campaign has credits in, its kind's mature history has revenue in, or its revenue goal is
in (so a campaign with no revenue yet in a currency its peers sell in is projected in
it). ``(none)``, campaigns without touches, and an unregistered campaign with neither
revenue nor history have no rows. Money stays in its currency; nothing is converted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from schemas.campaign_types import NO_CAMPAIGN, Campaign
from tests.oracle import MODELS
from tests.oracle_judgment import DAY_US, EPOCH, UNCLASSIFIED


class CreditLike(Protocol):
    """What the projection reads of a credit (``tests.oracle_judgment.Credit`` or the
    engine's ``CreditDelta``)."""

    @property
    def campaign_id(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def touched_at_us(self) -> int | None: ...
    @property
    def purchased_at_us(self) -> int: ...
    @property
    def revenue_minor(self) -> int: ...


@dataclass(frozen=True)
class ProjectionConfig:
    """The method's knobs; ``lookback_us`` must be the engine's."""

    lookback_us: int = 90 * DAY_US
    min_history_credits: int = 30
    min_history_campaigns: int = 2
    judge_share: float = 0.9


@dataclass(frozen=True)
class ProjectionRow:
    """One row of ``v_revenue_projection``."""

    campaign_id: str
    kind: str
    model: str
    currency: str
    revenue_minor: int
    matured_share: float | None
    projected_revenue_minor: int | None
    judge_from: date
    status: str


@dataclass(frozen=True)
class Estimate:
    """What a row is made of (the backtest also builds other estimators from it)."""

    revenue_minor: int
    matured_share: float | None  # None without usable history
    prior_minor: float | None  # ρ·N: the peers' eventual revenue for this exposure
    history_level: str  # "channel", "kind" or "" (none usable)
    mature: bool  # as_of ≥ the revenue due date
    curve: list[float] | None  # F(d) of the history used, d = 0..max lag
    exposure: Mapping[int, int]  # touches per UTC day number
    due: date  # the day of the revenue due date


@dataclass
class _History:
    """Mature-history sums of one group: lag histogram, revenue, credits, campaigns."""

    by_lag: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    revenue: int = 0
    credits: int = 0
    campaigns: set[str] = field(default_factory=set)

    def curve(self) -> list[float]:
        """``F(d)`` for d = 0..max lag: share of the group's revenue with lag ≤ d.

        ``v_revenue_lag``'s ``cumulative_share``, restricted to mature touch days, with
        the lag days that have no revenue filled in (an ASOF lookup in SQL).
        """
        top = max(self.by_lag, default=-1)
        running, out = 0, []
        for lag in range(top + 1):
            running += self.by_lag.get(lag, 0)
            out.append(running / self.revenue)
        return out


def day_of(us: int) -> int:
    """UTC day number (days since 1970-01-01) of an instant."""
    return us // DAY_US


def touches_per_day(touch_times: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """(campaign, day number) -> touches, from (campaign, occurred_at µs) pairs."""
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for campaign_id, at_us in touch_times:
        counts[(campaign_id, day_of(at_us))] += 1
    return dict(counts)


def arrived_share(curve: list[float], age_days: float) -> float:
    """``C(x)``: share of a touch's eventual revenue arrived when it is ``x`` days old.

    ``F(⌊x⌋ − 1)`` (revenue with lag < ⌊x⌋ has surely arrived) plus the fraction
    ``x − ⌊x⌋`` of lag day ⌊x⌋'s share: the curve read as if each lag day's revenue
    arrived evenly through that day.
    """
    if age_days < 0:
        return 0.0
    whole = math.floor(age_days)
    if whole >= len(curve):
        return 1.0
    before = curve[whole - 1] if whole > 0 else 0.0
    return before + (age_days - whole) * (curve[whole] - before)


def matured_share_at(curve: list[float], exposure: Mapping[int, int], at_us: int) -> float:
    """Exposure-weighted arrived share of a campaign's touches at instant ``at_us``."""
    total = sum(exposure.values())
    arrived = sum(n * arrived_share(curve, (at_us - day * DAY_US) / DAY_US - 0.5)
                  for day, n in exposure.items())
    return arrived / total


def estimate_parts(
    credits: Iterable[CreditLike],
    touches: Mapping[tuple[str, int], int],
    registry: Iterable[Campaign],
    as_of_us: int | None,
    config: ProjectionConfig = ProjectionConfig(),
) -> dict[tuple[str, str, str], Estimate]:
    """Per (campaign, model, currency): revenue so far, matured share, prior, due day."""
    if as_of_us is None:
        return {}
    registered = {c.campaign_id: c for c in registry}

    def group(campaign_id: str) -> tuple[str, str]:
        campaign = registered.get(campaign_id)
        return (campaign.kind, campaign.channel) if campaign else (UNCLASSIFIED, "")

    mature_before = day_of(as_of_us - config.lookback_us)  # mature iff touch day < this
    exposure: dict[str, dict[int, int]] = defaultdict(dict)
    history_touches: dict[tuple[str, ...], int] = defaultdict(int)
    for (campaign_id, day), n in touches.items():
        if campaign_id == NO_CAMPAIGN:
            continue
        exposure[campaign_id][day] = exposure[campaign_id].get(day, 0) + n
        if day < mature_before:
            kind, channel = group(campaign_id)
            history_touches[(kind, channel)] += n
            history_touches[(kind,)] += n

    so_far: dict[tuple[str, str, str], int] = defaultdict(int)
    history: dict[tuple[str, ...], _History] = {}
    for credit in credits:
        if credit.campaign_id == NO_CAMPAIGN or credit.touched_at_us is None:
            continue
        so_far[(credit.campaign_id, credit.model, credit.currency)] += credit.revenue_minor
        if day_of(credit.touched_at_us) >= mature_before or credit.revenue_minor <= 0:
            continue
        kind, channel = group(credit.campaign_id)
        lag = (credit.purchased_at_us - credit.touched_at_us) // DAY_US
        for key in ((kind, channel, credit.model, credit.currency),
                    (kind, credit.model, credit.currency)):
            entry = history.setdefault(key, _History())
            entry.by_lag[lag] += credit.revenue_minor
            entry.revenue += credit.revenue_minor
            entry.credits += 1
            entry.campaigns.add(credit.campaign_id)

    def usable(key: tuple[str, ...]) -> _History | None:
        entry = history.get(key)
        if entry is None:
            return None
        enough = (entry.credits >= config.min_history_credits
                  and len(entry.campaigns) >= config.min_history_campaigns)
        return entry if enough and history_touches[key[:-2]] > 0 else None

    kind_currencies: dict[str, set[str]] = defaultdict(set)
    for group_key in history:
        if len(group_key) == 3:  # (kind, model, currency)
            kind_currencies[group_key[0]].add(group_key[2])

    out = {}
    for campaign_id in set(exposure) | {k[0] for k in so_far}:
        kind, channel = group(campaign_id)
        days = exposure.get(campaign_id, {})
        if not days:
            continue
        campaign = registered.get(campaign_id)
        last_day = (campaign.ends_on - EPOCH).days if campaign else max(days)
        due_us = (last_day + 1) * DAY_US + config.lookback_us
        currencies = {k[2] for k in so_far if k[0] == campaign_id} | kind_currencies[kind]
        if campaign is not None and campaign.goal_currency:
            currencies.add(campaign.goal_currency)
        for model in MODELS:
            for currency in sorted(currencies):
                revenue = so_far.get((campaign_id, model, currency), 0)
                chosen, level = usable((kind, channel, model, currency)), "channel"
                if chosen is None:
                    chosen, level = usable((kind, model, currency)), "kind"
                curve = share = prior = None
                if chosen is not None:
                    curve = chosen.curve()
                    rate = chosen.revenue / history_touches[
                        (kind, channel) if level == "channel" else (kind,)]
                    share = matured_share_at(curve, days, as_of_us)
                    prior = rate * sum(days.values())
                out[(campaign_id, model, currency)] = Estimate(
                    revenue, share, prior, level if chosen else "", as_of_us >= due_us,
                    curve, days, EPOCH + timedelta(days=day_of(due_us)))
    return out


def judge_from(curve: list[float] | None, exposure: Mapping[int, int], due: date,
               judge_share: float) -> date:
    """First day at whose start ``judge_share`` of the revenue is expected; at most ``due``."""
    if curve is None:
        return due
    due_day = (due - EPOCH).days
    for day in range(min(exposure), due_day):
        if matured_share_at(curve, exposure, day * DAY_US) >= judge_share:
            return EPOCH + timedelta(days=day)
    return due


def project(
    credits: Iterable[CreditLike],
    touches: Mapping[tuple[str, int], int],
    registry: Iterable[Campaign],
    as_of_us: int | None,
    config: ProjectionConfig = ProjectionConfig(),
) -> dict[tuple[str, str, str], ProjectionRow]:
    """The rows of ``v_revenue_projection``, keyed by (campaign, model, currency)."""
    registry = list(registry)
    kinds = {c.campaign_id: c.kind for c in registry}
    rows = {}
    for key, est in estimate_parts(credits, touches, registry, as_of_us, config).items():
        campaign_id, model, currency = key
        when = judge_from(est.curve, est.exposure, est.due, config.judge_share)
        share: float | None
        projected: int | None
        if est.mature:
            share, projected, status = 1.0, est.revenue_minor, "mature"
        elif est.matured_share is None or est.prior_minor is None:
            share, projected, status = None, None, "too_little_history"
        else:
            share, status = est.matured_share, "maturing"
            projected = benktander(est.revenue_minor, share, est.prior_minor)
        rows[key] = ProjectionRow(campaign_id, kinds.get(campaign_id, UNCLASSIFIED), model,
                                  currency, est.revenue_minor, share, projected, when, status)
    return rows


def bornhuetter_ferguson(so_far: int, matured_share: float, prior: float) -> float:
    """Revenue so far plus the part of the peers' expectation not yet arrived."""
    return so_far + (1.0 - matured_share) * prior


def benktander(so_far: int, matured_share: float, prior: float) -> int:
    """The view's projection: Bornhuetter-Ferguson applied twice, rounded half up.

    The first pass's estimate becomes the prior of the second: ``so_far + (1 − m)·BF``,
    which is ``(2 − m)·so_far + (1 − m)²·prior`` = ``Z·(so_far / m) + (1 − Z)·prior``
    with ``Z = 1 − (1 − m)²``: the campaign's own pace gets more weight than in BF.
    """
    first = bornhuetter_ferguson(so_far, matured_share, prior)
    return math.floor(so_far + (1.0 - matured_share) * first + 0.5)
