"""The demo event log, streamed in event-time order with memory bounded by pending events.

``leadclock demo`` writes these NDJSON lines next to the campaign registry of
:func:`span_campaigns`, so the events tell the registry's story: marketing campaigns
reach their audiences (the Cyber Monday blast is opened by ~38 % of leads) and their
revenue arrives weeks to months later; sales campaigns sell within days; one sales
campaign misses its goal; the year's last campaigns are still maturing when the data
ends. What one lead does is :mod:`streams.demo_leads`; this module orders the leads.

Why it streams: the previous generator held every serialized line and sorted them
(6.3 GB at 280 000 leads). Here a first pass finds each lead's first event day and
counting-sorts the leads by it (two 4-byte array cells per lead); the second pass walks
the days in order, generates the leads that start that day, pushes their events on a
min-heap of compact tuples and writes every event earlier than that day. No lead
starting later can have an earlier event, so the output is sorted, and memory is the
heap of *pending* events (later touches and purchases of leads already started), not
the whole log.

The span starts on 2026-01-01 and lasts ``days`` days; each calendar year it covers
gets that year's demo campaigns (ids after 2026 carry the year: ``spring-sale-2027``)
and a share of the leads proportional to its days. Events after the span are never
written: the data ends as a live stream would, with revenue still on the way.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Final

import orjson

from schemas.campaign_types import Campaign
from schemas.timestamps import format_us
from streams.demo_campaigns import DEMO_YEAR, demo_campaigns
from streams.demo_leads import (
    CURRENCIES,
    DAY_S,
    PURCHASE,
    TOUCH_CODES,
    US_PER_S,
    Year,
    first_event_us,
    lead_rng,
    plan_lead,
    year_of,
)
from streams.engine.exceptions import ConfigError

START: Final = date(DEMO_YEAR, 1, 1)
DAY_US: Final = DAY_S * US_PER_S
DEFAULT_DAYS: Final = 365


def _day_us(day: date) -> int:
    """Microseconds since the epoch of 00:00 UTC on ``day``."""
    return (day.toordinal() - date(1970, 1, 1).toordinal()) * DAY_US


START_US: Final = _day_us(START)


def _years(days: int) -> list[tuple[int, int]]:
    """(calendar year, days of it inside the span) for every year the span touches."""
    end = START + timedelta(days=days)
    covered = []
    for year in range(START.year, end.year + 1):
        first, stop = max(START, date(year, 1, 1)), min(end, date(year + 1, 1, 1))
        if stop > first:
            covered.append((year, (stop - first).days))
    return covered


def span_campaigns(leads: int, days: int = DEFAULT_DAYS) -> tuple[Campaign, ...]:
    """The registry of the span: each covered year's campaigns that start inside it.

    Goals scale with the leads of that year (a share of ``leads`` by days covered).
    """
    end = START + timedelta(days=days)
    covered = _years(days)
    total = sum(n for _, n in covered)
    registry: list[Campaign] = []
    for year, n_days in covered:
        for campaign in demo_campaigns(max(1, round(leads * n_days / total)), year):
            if campaign.starts_on >= end:
                continue
            if year != DEMO_YEAR:
                campaign = replace(campaign, campaign_id=f"{campaign.campaign_id}-{year}",
                                   name=f"{campaign.name} {year}")
            registry.append(campaign)
    return tuple(registry)


class DemoEvents:
    """The demo's NDJSON lines (bytes, no newline), sorted by ``occurred_at``.

    Deterministic for (``leads``, ``seed``, ``days``). Iterate once; afterwards
    :attr:`peak_pending` is the largest number of events held at one time (the heap),
    which is what bounds memory.
    """

    def __init__(self, leads: int, seed: int = 7, days: int = DEFAULT_DAYS) -> None:
        """Plan a span of ``days`` days from 2026-01-01 with ``leads`` leads."""
        if leads < 1 or days < 1:
            msg = f"demo: --leads and --days must be at least 1 (got {leads}, {days})"
            raise ConfigError(msg)
        self.leads, self.seed, self.days = leads, seed, days
        self.campaigns = span_campaigns(leads, days)
        self.peak_pending = 0
        years: list[Year] = []
        weights: list[float] = []
        for year, n_days in _years(days):
            numbers = [i for i, c in enumerate(self.campaigns) if c.starts_on.year == year]
            first_s = max(START_US, _day_us(date(year, 1, 1))) // US_PER_S
            years.append(year_of([self.campaigns[i] for i in numbers],
                                 numbers[0] if numbers else 0, first_s,
                                 first_s + n_days * DAY_S))
            weights.append(float(n_days))
        self._years, self._weights = tuple(years), tuple(weights)

    def __iter__(self) -> Iterator[bytes]:
        """Yield every line in event-time order (ties in a fixed, seeded order)."""
        end_us = START_US + self.days * DAY_US
        order, offsets = self._leads_by_first_day()
        heap: list[tuple[int, int, int, int, int, int, int]] = []
        pushed = written = 0
        for day in range(self.days + 1):
            boundary = START_US + day * DAY_US
            while heap and heap[0][0] < boundary:
                written += 1
                yield self._line(written, heapq.heappop(heap))
            for lead_no in order[offsets[day]:offsets[day + 1]]:
                for at_s, code, campaign, amount, currency in plan_lead(
                        lead_rng(self.seed, lead_no), self._years, self._weights):
                    at_us = at_s * US_PER_S
                    if at_us < end_us:
                        pushed += 1
                        heapq.heappush(heap, (at_us, pushed, lead_no, code, campaign,
                                              amount, currency))
            self.peak_pending = max(self.peak_pending, len(heap))
        while heap:
            written += 1
            yield self._line(written, heapq.heappop(heap))

    def _leads_by_first_day(self) -> tuple[array[int], list[int]]:
        """Lead numbers sorted by first event day, and where each day's leads begin.

        A counting sort over compact arrays: 8 bytes per lead, the only per-lead memory.
        Day ``days`` collects leads whose first event is after the span (nothing of
        theirs is written).
        """
        first_day = array("I", bytes(4 * self.leads))
        counts = [0] * (self.days + 1)
        for lead_no in range(self.leads):
            at = first_event_us(lead_rng(self.seed, lead_no), self._years, self._weights)
            day = min(self.days, max(0, (at - START_US) // DAY_US))
            first_day[lead_no] = day
            counts[day] += 1
        offsets = [0] * (self.days + 2)
        for day, count in enumerate(counts):
            offsets[day + 1] = offsets[day] + count
        order = array("I", bytes(4 * self.leads))
        filled = offsets[:-1]
        for lead_no, day in enumerate(first_day):
            order[filled[day]] = lead_no
            filled[day] += 1
        return order, offsets

    def _line(self, number: int, entry: tuple[int, int, int, int, int, int, int]) -> bytes:
        at_us, _, lead_no, code, campaign, amount, currency = entry
        event: dict[str, object] = {
            "event_id": f"evt-{number:08d}", "type": "purchase" if code == PURCHASE
            else TOUCH_CODES[code], "lead_id": f"lead-{lead_no:06d}",
        }
        if code == PURCHASE:
            cur, exponent, _ = CURRENCIES[currency]
            event["occurred_at"] = format_us(at_us)
            event["amount"] = (f"{amount // 10**exponent}.{amount % 10**exponent:0{exponent}d}"
                               if exponent else str(amount))
            event["currency"] = cur
            event["order_id"] = f"ord-{number:08d}"
        else:
            event["campaign_id"] = self.campaigns[campaign].campaign_id
            event["occurred_at"] = format_us(at_us)
        return orjson.dumps(event)


def generate(leads: int, seed: int = 7, days: int = DEFAULT_DAYS) -> Iterator[bytes]:
    """Yield the demo's NDJSON lines (bytes, no newline) in event-time order."""
    return iter(DemoEvents(leads, seed, days))
