"""Backtest of the revenue projection (v_revenue_projection, docs/projection.md).

For each seed: generate the demo over two years and a quarter (2026-01-01 to
2028-03-31: marketing revenue slow, sales fast), attribute it with the engine, then for
each cut date keep only the events with ``occurred_at < cut``, project every campaign at
the cut, and compare with what the full history credits to it (same campaign, model and
currency). Evaluated rows: campaigns that had ended before the cut, were not yet mature
at the cut (``as_of <`` revenue due date) and are mature at the end of the full history,
with revenue > 0 in the full history.

The credits of the cut are the full history's credits of purchases before the cut: a
purchase's path only holds touches at or before it, so no later event changes them (the
script checks this once per seed by attributing the cut events afresh).

Prints the mean absolute percentage error (MAPE) of "revenue so far" (naive) and of
the projection (the view's method: Benktander, Bornhuetter-Ferguson applied twice),
with the two estimators it blends for comparison (chain ladder ``so_far /
matured_share``; plain Bornhuetter-Ferguson), per kind, per cut and overall. Rows with
too little history are counted, not scored. Then how much of the final revenue had
arrived by each row's ``judge_from`` (the aim is 90 %).

    .venv/bin/python benchmarks/projection_backtest.py [--leads 60000] [--seeds 1 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from bisect import bisect_left
from collections import defaultdict
from datetime import date
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.campaign_types import Campaign
from schemas.events import Purchase, Touch
from schemas.validation import parse_event
from streams.demo_events import DemoEvents
from streams.engine.attribution import credits_for
from streams.engine.config import EngineConfig
from streams.engine.records import Credit
from streams.engine.state import LeadState
from tests.oracle_projection import (
    Estimate,
    ProjectionConfig,
    benktander,
    bornhuetter_ferguson,
    estimate_parts,
    judge_from,
    touches_per_day,
)

DAYS = 821  # 2026-01-01 .. 2028-03-31
CUTS = (
    date(2026, 10, 1), date(2026, 12, 31), date(2027, 2, 15), date(2027, 4, 15),
    date(2027, 6, 1), date(2027, 7, 15), date(2027, 9, 10), date(2027, 11, 15),
    date(2027, 12, 20),
)
DAY_US = 86_400_000_000
EPOCH = date(1970, 1, 1)
METHODS = ("naive", "chain_ladder", "bornhuetter_f", "projection")


def attribute(events: list[Touch | Purchase], config: EngineConfig) -> list[Credit]:
    """Every credit of the events, computed by the engine (streams.attribution)."""
    states: dict[str, LeadState] = {}
    for event in events:
        states[event.lead_id] = states.get(event.lead_id, LeadState()).with_event(event)
    return [credit for state in states.values() for purchase in state.purchases
            for credit in credits_for(purchase, state.path(purchase, config.lookback_us),
                                      config)]


def estimates(est: Estimate) -> dict[str, float]:
    """Each method's estimate of the eventual revenue of one row."""
    so_far = est.revenue_minor
    assert est.matured_share is not None and est.prior_minor is not None
    share, prior = est.matured_share, est.prior_minor
    bf = bornhuetter_ferguson(so_far, share, prior)
    return {
        "naive": so_far,
        "chain_ladder": so_far / share if share > 0.05 else bf,
        "bornhuetter_f": bf,
        "projection": benktander(so_far, share, prior),
    }


def us(day: date) -> int:
    return (day - EPOCH).days * DAY_US


def due_us(campaign: Campaign, lookback_us: int) -> int:
    return us(campaign.ends_on) + DAY_US + lookback_us


def run_seed(leads: int, seed: int, config: EngineConfig, projection: ProjectionConfig,
             verbose: bool) -> list[tuple[date, str, str, dict[str, float]]]:
    """(cut, kind, row label, {method: absolute percentage error}) of every scored row."""
    demo = DemoEvents(leads, seed=seed, days=DAYS)
    events = []
    for line in demo:
        event = parse_event(line)
        assert isinstance(event, Touch | Purchase), event
        events.append(event)
    credits = attribute(events, config)
    final: dict[tuple[str, str, str], int] = defaultdict(int)
    for credit in credits:
        final[(credit.campaign_id, credit.model, credit.currency)] += credit.revenue_minor
    by_key: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for credit in credits:
        by_key[(credit.campaign_id, credit.model, credit.currency)].append(
            (credit.purchased_at_us, credit.revenue_minor))
    arrivals = {key: ([t for t, _ in sorted(pairs)],
                      [0, *accumulate(r for _, r in sorted(pairs))])
                for key, pairs in by_key.items()}
    full_as_of = events[-1].occurred_at_us
    registry = {c.campaign_id: c for c in demo.campaigns}
    touch_times = [(e.campaign_id, e.occurred_at_us) for e in events if isinstance(e, Touch)]
    scored = []
    for number, cut in enumerate(CUTS):
        cut_us = us(cut)
        cut_events = [e for e in events if e.occurred_at_us < cut_us]
        cut_credits = [c for c in credits if c.purchased_at_us < cut_us]
        if number == 0:  # the cut's credits are the full history's, filtered
            assert sorted(map(repr, attribute(cut_events, config))) == sorted(
                map(repr, cut_credits))
        rows = estimate_parts(
            cut_credits, touches_per_day((c, t) for c, t in touch_times if t < cut_us),
            demo.campaigns, cut_events[-1].occurred_at_us, projection)
        for (campaign_id, model, currency), est in sorted(rows.items()):
            campaign = registry[campaign_id]
            truth = final[(campaign_id, model, currency)]
            due = due_us(campaign, config.lookback_us)
            if campaign.ends_on >= cut or est.mature or full_as_of < due or truth <= 0:
                continue
            label = f"{campaign_id}/{model}/{currency}"
            if est.matured_share is None:
                scored.append((cut, campaign.kind, label, {}))
                continue
            errors = {method: abs(value - truth) / truth * 100
                      for method, value in estimates(est).items()}
            scored.append((cut, campaign.kind, label, errors))
            when = judge_from(est.curve, est.exposure, est.due, projection.judge_share)
            times, sums = arrivals[(campaign_id, model, currency)]
            errors["arrived_by_judge_from"] = sums[bisect_left(times, us(when))] / truth
            if verbose and model == "linear" and currency == "USD":
                print(f"  seed {seed} cut {cut} {campaign_id:24} "
                      f"M={est.matured_share:.2f} (real {est.revenue_minor / truth:.2f}) "
                      f"[{est.history_level}] so far {est.revenue_minor / 100:>9.0f} "
                      f"projected {estimates(est)['projection'] / 100:>9.0f} "
                      f"final {truth / 100:>9.0f} judge_from {when}")
    return scored


def table(title: str, groups: dict[str, list[dict[str, float]]]) -> None:
    print(f"\n{title}")
    print(f"{'':24}{'rows':>6}" + "".join(f"{m:>14}" for m in METHODS) + f"{'proj/naive':>12}")
    for name, rows in groups.items():
        scored = [r for r in rows if r]
        if not scored:
            print(f"{name:24}{0:>6}  (too little history: {len(rows)})")
            continue
        mape = {m: statistics.fmean(r[m] for r in scored) for m in METHODS}
        ratio = mape["projection"] / mape["naive"] if mape["naive"] else float("nan")
        skipped = len(rows) - len(scored)
        print(f"{name:24}{len(scored):>6}" + "".join(f"{mape[m]:>13.1f}%" for m in METHODS)
              + f"{ratio:>12.2f}" + (f"  (+{skipped} too little history)" if skipped else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--verbose", action="store_true", help="per-campaign rows (linear USD)")
    parser.add_argument("--min-credits", type=int, default=ProjectionConfig.min_history_credits)
    parser.add_argument("--min-campaigns", type=int,
                        default=ProjectionConfig.min_history_campaigns)
    args = parser.parse_args()
    config = EngineConfig()
    projection = ProjectionConfig(config.lookback_us, args.min_credits, args.min_campaigns)
    started = time.monotonic()
    scored = []
    for seed in args.seeds:
        scored += run_seed(args.leads, seed, config, projection, args.verbose)
    by_kind: dict[str, list[dict[str, float]]] = defaultdict(list)
    by_cut: dict[str, list[dict[str, float]]] = defaultdict(list)
    by_model: dict[str, list[dict[str, float]]] = defaultdict(list)
    usd_linear: dict[str, list[dict[str, float]]] = defaultdict(list)
    for cut, kind, label, errors in scored:
        by_kind[kind].append(errors)
        by_kind["all"].append(errors)
        by_cut[str(cut)].append(errors)
        _, model, currency = label.split("/")
        by_model[f"{kind} {model}"].append(errors)
        by_model[f"{kind} {currency}"].append(errors)
        if label.endswith("/linear/USD"):
            usd_linear[kind].append(errors)
            usd_linear["all"].append(errors)
    print(f"leads {args.leads}, seeds {args.seeds}, {DAYS} days; "
          f"MAPE vs the full history (rows: campaign x model x currency)")
    table("by kind, every model and currency", dict(sorted(by_kind.items())))
    table("by kind, linear model, USD", dict(sorted(usd_linear.items())))
    table("by cut date", dict(sorted(by_cut.items())))
    table("by kind and model, by kind and currency", dict(sorted(by_model.items())))
    judged = [e["arrived_by_judge_from"] for _, _, _, e in scored if e]
    print(f"\njudge_from check: share of the final revenue arrived by judge_from: mean "
          f"{statistics.fmean(judged):.3f}, median {statistics.median(judged):.3f}, "
          f"rows below 0.85: {sum(x < 0.85 for x in judged) / len(judged):.1%}")
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
