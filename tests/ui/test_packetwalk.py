"""The packet-walk widget in notebook 02, in a real JupyterLab in Chromium: pick a source, trace, step.

The diagram is laid out once; stepping only moves the ``knv-current`` class between SVG elements
(their ids come from the DOT view), so the test reads those classes and the diagram's
``data-painted-step`` to see the highlighted hop change.
"""

from __future__ import annotations

import pytest

from .jupyterlab import click, open_notebook, run_all_cells

pytestmark = pytest.mark.ui
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

NOTEBOOK = "notebooks/02-pod-networking.ipynb"
CURRENT_IDS = "(root) => Array.from(root.querySelectorAll('.knv-current')).map((e) => e.id).sort()"


def test_pick_a_source_and_step_the_walk(lab, lab_page):
    panel = open_notebook(lab_page, lab, NOTEBOOK)
    run_all_cells(lab_page, NOTEBOOK)

    walk = panel.locator(".knv-packetwalk").first
    walk.scroll_into_view_if_needed()
    diagram = walk.locator(".knv-diagram")
    expect(diagram).to_have_attribute("data-painted-step", "1")

    # Pick another source pod and trace again: the first hop now lights the new pod's eth0.
    src = walk.locator(".knv-src input")
    src.fill("default/cache")
    click(walk.locator(".knv-trace button, button.knv-trace").first)
    expect(diagram.locator('[id="dev--pod_default_cache--eth0"]')).to_have_class("node knv-current")
    first = diagram.evaluate(CURRENT_IDS)
    assert "dev--pod_default_cache--eth0" in first

    click(walk.locator("button.knv-next, .knv-next button").first)
    expect(diagram).to_have_attribute("data-painted-step", "2")
    second = diagram.evaluate(CURRENT_IDS)
    assert second and second != first, (first, second)
    expect(walk.locator(".knv-info")).to_contain_text("Step 2 of")
    # The earlier hop stays lit as part of the path (blue), no longer as the current one.
    assert diagram.locator('[id="dev--pod_default_cache--eth0"]').evaluate(
        "(e) => e.classList.contains('knv-lit')")

    click(walk.locator("button.knv-prev, .knv-prev button").first)
    expect(diagram).to_have_attribute("data-painted-step", "1")
    assert diagram.evaluate(CURRENT_IDS) == first
