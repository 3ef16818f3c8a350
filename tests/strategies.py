"""Hypothesis strategies for event logs that hit SPEC §3's edges on purpose.

Times come from a small grid around window and lookback boundaries, ids from small
pools, so ties, exact-boundary touches and late touches are common, not rare.
"""

from __future__ import annotations

from hypothesis import strategies as st

from schemas.events import Event, Purchase, Touch

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
BASE_US = 1_700_006_400_000_000  # 2023-11-15T00:00:00Z, a UTC midnight
CURRENCIES = ("USD", "JPY", "KWD")

times = st.builds(
    lambda day, hour, jitter: BASE_US + day * DAY_US + hour * HOUR_US + jitter,
    st.integers(0, 12), st.sampled_from([0, 1, 12, 23]), st.sampled_from([0, 0, 1, -1]),
)
leads = st.sampled_from(["lead-a", "lead-b", "lead-c"])
campaigns = st.sampled_from(["spring", "summer", "fall"])


def _touch(n: int, lead: str, campaign: str, kind: str, at: int) -> Touch:
    return Touch(f"e{n:03d}", lead, campaign, kind, at)  # type: ignore[arg-type]


@st.composite
def event_logs(draw: st.DrawFn, max_events: int = 25) -> list[Event]:
    """A log of unique events (ids e000...) plus exact duplicates of some of them."""
    count = draw(st.integers(1, max_events))
    events: list[Event] = []
    for n in range(count):
        lead, at = draw(leads), draw(times)
        if draw(st.integers(0, 3)) == 0:
            events.append(Purchase(
                f"e{n:03d}", lead, at, draw(st.integers(1, 100_001)),
                draw(st.sampled_from(CURRENCIES)), draw(st.none() | campaigns),
            ))
        else:
            kind = draw(st.sampled_from(["email_open", "click", "call"]))
            events.append(_touch(n, lead, draw(campaigns), kind, at))
    duplicates = draw(st.lists(st.sampled_from(events), max_size=5))
    return events + duplicates
