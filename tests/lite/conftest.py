"""Fixtures of the site layer: the built site served on 127.0.0.1, Debian's Chromium with no other network.

``make test-site`` builds the site first (``make site``, cached while its inputs do not change). Locally the
layer skips with a reason when the site, Chromium or Playwright is missing; under CI=true the skip becomes
a failure (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.jupyterlab import chromium_missing

from .browser import Offline, offline_browser, serve

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "build" / "site"


@pytest.fixture(scope="session")
def site_url() -> Iterator[str]:
    """The base URL of build/site, served by a local HTTP server for the whole session."""
    if not (SITE / "index.html").is_file():
        pytest.skip(f"{SITE} is not built: make site")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="session")
def playwright() -> Iterator[object]:
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    runner = sync_api.sync_playwright().start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture
def offline(playwright, site_url: str, tmp_path: Path) -> Iterator[Offline]:
    """A fresh (cold) Chromium profile that reaches only the site; the test fails if anything tried to leave."""
    with offline_browser(playwright, tmp_path / "profile", site_url) as browser:
        yield browser
    assert browser.blocked == [], f"requests outside 127.0.0.1: {browser.blocked}"


@pytest.fixture
def page(offline: Offline):
    """A page of the offline browser; errors the page reports are kept on ``page.errors``, its console
    (and its workers', where the kernel runs) on ``page.console``."""
    page = offline.context.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(60_000)
    page.errors, page.console = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"[:500]))
    page.on("worker", lambda w: w.on("console", lambda m: page.console.append(f"worker {m.type}: {m.text}"[:500])))
    yield page
    page.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # On failure: a screenshot (while the page still shows it) and the page's console.
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None and not page.is_closed():
        folder = REPO / "build" / "test-results" / "site"
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / ("".join(c if c.isalnum() or c in "-_." else "_" for c in item.name) + ".png")
        try:
            page.screenshot(path=str(shot), full_page=True)
            report.sections.append(("screenshot", str(shot)))
        except Exception as error:  # a screenshot must not hide the real failure
            report.sections.append(("screenshot", f"not taken: {error}"))
        report.sections.append(("browser console (last 40 lines)", "\n".join(page.console[-40:])))
    return report
