"""The dashboard page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Skipped only where no chromium binary exists; ``.ci/run`` installs it, so CI always runs
this. Playwright drives the system browser through ``executable_path`` (never
``playwright install``). Artifacts (a screenshot, the timings) go to var/test-artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, sync_playwright

from schemas.money import format_minor
from tests.web.conftest import DemoDb, Served

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM = os.environ.get("LEADCLOCK_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CHARTS = ("reach", "lead-clock", "delayed-revenue", "lag", "projection", "model-comparison")

#: Set by .ci/run: there a missing browser is a failure, not a skip.
REQUIRED = os.environ.get("LEADCLOCK_REQUIRE_BROWSER") == "1"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not REQUIRED,
    reason="no chromium binary here (apt-get install chromium); .ci/run installs it",
)


class Browser:
    """One page at 1366x768 that records console errors and every request URL."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.requests: list[str] = []


@pytest.fixture
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.fail("LEADCLOCK_REQUIRE_BROWSER=1 but no chromium binary is installed")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1366, "height": 768})
            watched = Browser(page)
            page.on("console", lambda message: watched.problems.append(
                f"console {message.type}: {message.text}") if message.type == "error" else None)
            page.on("pageerror", lambda error: watched.problems.append(f"page error: {error}"))
            page.on("requestfailed", lambda request: watched.problems.append(
                f"request failed: {request.url}"))
            page.on("request", lambda request: watched.requests.append(request.url))
            yield watched
        finally:
            chromium.close()


def _rendered(page: Page, count: int) -> None:
    # Waits on the DOM: the page's CSP forbids the eval that wait_for_function needs.
    page.wait_for_selector(f"body[data-renders='{count}']", state="attached",
                           timeout=60_000)


def _revenue_cells(page: Page) -> dict[str, str]:
    rows = page.locator("#scorecard tbody tr")
    return {rows.nth(i).get_attribute("data-campaign"):
            rows.nth(i).locator("td.revenue").inner_text() for i in range(rows.count())}


def test_the_page_shows_every_campaign_and_follows_the_model(
        browser: Browser, served: Served, demo_db: DemoDb) -> None:
    page = browser.page
    started = time.perf_counter()
    page.goto(f"{served.url}/")
    _rendered(page, 1)
    load_s = time.perf_counter() - started

    scorecard = demo_db.client.query(
        "SELECT campaign_id, verdict FROM v_campaign_scorecard").result_rows
    rows = page.locator("#scorecard tbody tr")
    shown = {rows.nth(i).get_attribute("data-campaign"): rows.nth(i).locator(".badge")
             .inner_text() for i in range(rows.count())}
    assert shown == {campaign: verdict.replace("_", " ") for campaign, verdict in scorecard}
    for name in CHARTS:
        assert page.locator(f"#chart-{name} canvas").count() >= 1, name
        assert page.locator(f"#panel-{name} .error").is_hidden(), name

    assert page.locator("#scorecard").get_attribute("data-model") == "linear"
    currency = page.locator("#scorecard").get_attribute("data-currency")
    linear = _revenue_cells(page)
    page.select_option("#model", "first_touch")
    page.wait_for_selector("#scorecard[data-model='first_touch']", state="attached")
    first_touch = _revenue_cells(page)
    assert first_touch.keys() == linear.keys()
    assert first_touch != linear
    expected = dict(demo_db.client.query(
        "SELECT campaign_id, first_touch FROM v_model_comparison WHERE currency = {c:String}",
        parameters={"c": currency}).result_rows)
    for campaign, text in first_touch.items():
        want = format_minor(int(expected.get(campaign, 0)), str(currency))
        assert text.replace(",", "") == want, campaign

    page.screenshot(path=str(_artifact("dashboard.png")), full_page=True)
    page.screenshot(path=str(_artifact("dashboard-1366x768.png")))
    first_render_ms = page.locator("body").get_attribute("data-first-render-ms")
    _artifact("dashboard-timings.json").write_text(json.dumps({
        "load_to_first_render_s": round(load_s, 3),
        "page_first_render_ms": int(first_render_ms or 0),
    }, indent=2))
    assert browser.problems == []
    _only_loopback(browser.requests)


def test_sorting_filtering_query_box_and_auto_refresh(browser: Browser, served: Served) -> None:
    page = browser.page
    page.goto(f"{served.url}/")
    _rendered(page, 1)

    page.click("#scorecard th[data-key='touches']")
    cells = page.locator("#scorecard tbody tr td:last-child").all_inner_texts()
    touches = [int(text.replace(",", "")) for text in cells]
    assert touches == sorted(touches)
    assert page.get_attribute("#scorecard th[data-key='touches']", "aria-sort") == "ascending"

    page.select_option("#kind", "sales")
    page.wait_for_selector("#scorecard tbody tr td.kind-sales", state="attached")
    page.wait_for_selector("#scorecard tbody tr td.kind-marketing", state="detached")
    kinds = set(page.locator("#scorecard tbody td.kind").all_inner_texts())
    assert {text.split("\n")[0] for text in kinds} == {"sales"}

    page.fill("#sql", "SELECT campaign_id FROM v_model_comparison "
                      "GROUP BY campaign_id ORDER BY campaign_id LIMIT 3")
    page.click("#sql-run")
    page.wait_for_selector("#sql-result tbody tr:nth-child(3)", state="attached")
    assert "3 rows" in page.inner_text("#sql-info")

    renders = int(page.get_attribute("body", "data-renders") or 0)
    _rendered(page, renders + 1)  # the page refreshes itself (1 s period in this fixture)
    assert browser.problems == []
    _only_loopback(browser.requests)


def _only_loopback(urls: list[str]) -> None:
    assert urls
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1", url


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
