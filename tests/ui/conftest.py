"""Fixtures of the UI layer: one JupyterLab server per session, Debian's Chromium, a page per test.

Locally the layer skips with a reason when Chromium or Playwright is missing; under CI=true the
skip becomes a failure (tests/conftest.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .jupyterlab import CHROMIUM, CHROMIUM_ARGS, LabServer, chromium_missing, lab_server, screenshot

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ui_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where failure screenshots go (``K8SNETVIZ_UI_ARTIFACTS`` overrides the pytest tmp dir)."""
    override = os.environ.get("K8SNETVIZ_UI_ARTIFACTS")
    folder = Path(override) if override else tmp_path_factory.mktemp("ui-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A real JupyterLab server rooted at the repository, with isolated Jupyter directories."""
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    with lab_server(root_dir=REPO, workdir=tmp_path_factory.mktemp("jupyter")) as server:
        yield server


@pytest.fixture(scope="session")
def lab_tmp_dir(lab: LabServer) -> Iterator[Path]:
    """A fresh folder inside the server root for notebooks a test writes; removed after the session.

    It lives under build/ (git-ignored) and is not hidden, because Jupyter refuses hidden paths.
    """
    folder = REPO / "build" / f"ui-tests-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory):
    """Debian's Chromium through Playwright, with a fresh user-data-dir; never a downloaded browser."""
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    playwright = sync_api.sync_playwright().start()
    try:
        # Playwright refuses --user-data-dir in args; a persistent context is how it takes one.
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
    finally:
        playwright.stop()


@pytest.fixture
def lab_page(browser_context, lab: LabServer, ui_artifacts: Path):
    """A new Chromium page for one test; browser console errors are kept on ``page.console_errors``.

    On failure a screenshot lands in ``ui_artifacts`` and its path in the report.
    """
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    page.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # Screenshot while the page still shows the failure (fixtures tear down after this report).
    report = yield
    page = getattr(item, "funcargs", {}).get("lab_page")
    if report.when == "call" and report.failed and page is not None and not page.is_closed():
        try:
            path = screenshot(page, item.funcargs["ui_artifacts"], item.name)
            report.sections.append(("UI screenshot", str(path)))
        except Exception as error:  # a screenshot must not hide the real failure
            report.sections.append(("UI screenshot", f"not taken: {error}"))
        if page.console_errors:
            report.sections.append(("browser console errors", "\n".join(page.console_errors)))
    return report
