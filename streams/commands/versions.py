"""``leadclock versions``, ``diff``, ``promote`` and ``retire``, rendered for a terminal.

The work is in ``sinks.versions``, ``sinks.version_diff`` and ``sinks.version_ops``;
this module turns their results into aligned text (money with ``schemas.money``).
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.money import format_minor
from sinks.exceptions import VersionError
from sinks.version_diff import Diff, Move, diff
from sinks.version_feed import feeds
from sinks.version_ops import promote, retire
from sinks.versions import get_version, list_versions
from streams.engine.versions import Feed


def versions_text(client: Client, *, offsets: bool = False) -> str:
    """One line per version (and, with ``offsets``, one per partition it records)."""
    infos = list_versions(client)
    if not infos:
        return "no versions yet: run a worker or a replay"
    header = (f"{'version':>7}  {'status':<8}  {'leads':>9}  {'events':>11}  "
              f"{'created (UTC)':<16}  {'configuration':<36}  sources; offsets")
    lines = [header, "-" * (len(header) + 24)]
    for info in infos:
        recorded = feeds(client, info.version)
        status = info.status + ("*" if info.building and info.status == "current" else "")
        lines.append(
            f"{info.version:>7}  {status:<8}  {info.leads:>9,}  {info.events:>11,}  "
            f"{info.created_at:%Y-%m-%d %H:%M}  {info.config_text():<36}  "
            f"{', '.join(info.sources) or '-'}{_offsets_text(recorded)}")
        if offsets:
            lines.extend(f"{'':>9}{topic}/{partition}: complete below {feed.complete_below:,}"
                         + (" (a worker feeds it)" if feed.fed else "")
                         for (topic, partition), feed in sorted(recorded.items()))
    lines.append("building: a replay writes it or was interrupted (rerun it to finish); "
                 "ready: complete, not shown; current: what the views show"
                 + ("; current*: an append into it was interrupted"
                    if any(i.building and i.status == "current" for i in infos) else ""))
    return "\n".join(lines)


def _offsets_text(recorded: dict[tuple[str, int], Feed]) -> str:
    if not recorded:
        return ""
    fed = sum(feed.fed for feed in recorded.values())
    if fed:
        return f"; fed live by a worker ({fed} of {len(recorded)} partitions)"
    below = sum(feed.complete_below for feed in recorded.values())
    return f"; complete below {below:,} offsets ({len(recorded)} partitions)"


def _money_row(move: Move) -> str:
    campaign, model, currency = move.key
    sign = "+" if move.change > 0 else "-"
    change = sign + format_minor(abs(move.change), currency)
    return (f"{campaign:<19} {model:<15} {format_minor(move.before, currency):>16} "
            f"{format_minor(move.after, currency):>16} {change:>17}")


def diff_text(client: Client, a: int, b: int, *, limit: int = 20) -> str:
    """Revenue and stage-count moves from version ``a`` to ``b``, largest first."""
    for version in (a, b):
        if get_version(client, version) is None:
            msg = f"there is no version {version} (leadclock versions lists them)"
            raise VersionError(msg)
    result = diff(client, a, b)
    return "\n".join(_diff_lines(result, limit))


def _diff_lines(result: Diff, limit: int) -> list[str]:
    a, b = result.a, result.b
    lines = [f"revenue moving from version {a} to {b}, per campaign and model "
             f"({len(result.revenue):,} keys move; largest first in each currency):"]
    by_currency: dict[str, list[Move]] = {}
    for move in result.revenue:
        by_currency.setdefault(move.key[2], []).append(move)
    for currency, moves in sorted(by_currency.items()):
        lines.append(f"{currency}: {'campaign':<19} {'model':<15} {f'version {a}':>16} "
                     f"{f'version {b}':>16} {'change':>17}")
        lines.extend("     " + _money_row(move) for move in moves[:limit])
        if len(moves) > limit:
            lines.append(f"     ... {len(moves) - limit:,} more in {currency} (--limit N)")
    if not result.revenue:
        lines.append("  none: every campaign keeps its revenue under every model")
    changed = {key: v for key, v in result.totals.items() if v[0] != v[1]}
    lines.append("totals per model and currency: " + (
        "unchanged (revenue only moves between campaigns and windows)" if not changed else
        "; ".join(f"{m} {format_minor(x, c)} -> {format_minor(y, c)}"
                  for (m, c), (x, y) in sorted(changed.items()))))
    lines.append(f"lead stages moving (per campaign and stage; {len(result.stages):,} move):")
    if result.stages:
        lines.append(f"{'campaign':<24} {'stage':<6} {f'version {a}':>10} {f'version {b}':>10} "
                     f"{'change':>8}")
        lines.extend(f"{m.key[0]:<24} {m.key[1]:<6} {m.before:>10,} {m.after:>10,} "
                     f"{m.change:>+8,}" for m in result.stages[:limit])
    else:
        lines.append("  none")
    return lines


def promote_text(client: Client, version: int) -> str:
    """Promote and say what changed."""
    previous = promote(client, version)
    if previous == version:
        return f"version {version} is already current"
    return (f"version {version} is now current (was {previous or 'none'}): the views "
            "switched in one statement. A worker that follows the current version switches "
            "within seconds and continues it from the offsets the version recorded.")


def retire_text(client: Client, version: int) -> str:
    """Retire and say what was dropped."""
    done = retire(client, version)
    return (f"version {version} retired: {done.info.leads:,} leads, {done.info.events:,} "
            f"events dropped ({'; '.join(done.dropped)})")
