"""Notebook 04 in a real JupyterLab: the service explorer answers the externalTrafficPolicy toggle.

Flipping Cluster → Local in the browser must travel to the kernel, rebuild the influxdb scenario,
trace again and bring back a new "the backend sees the client as …" line: a node's address first,
the laptop's own address after the flip.
"""

from __future__ import annotations

import re

import pytest

from .jupyterlab import click, open_notebook, read_text, run_all_cells, widget

pytestmark = pytest.mark.ui
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

NOTEBOOK = "notebooks/05-exposing-services.ipynb"


def _seen(text: str) -> str:
    m = re.search(r"sees the client as (\d+\.\d+\.\d+\.\d+)", text)
    assert m, f"no client address in: {text!r}"
    return m.group(1)


def test_flipping_external_traffic_policy_changes_the_client_address(lab, lab_page):
    panel = open_notebook(lab_page, lab, NOTEBOOK)
    run_all_cells(lab_page, NOTEBOOK, timeout=180)

    explorer = panel.locator(".knv-explorer").filter(has_text="influxdb").first
    explorer.scroll_into_view_if_needed()
    seen = explorer.locator(".knv-explorer-client-ip")
    # The address alone, in its own element: the line around it also quotes the MASQUERADE rule, which
    # names the client's address before the flip too, so waiting on the whole line's text proves nothing.
    address = seen.locator(".knv-explorer-seen")
    # The explorer's views are on the page before the kernel's first answer fills them (an empty HTML
    # widget is visible too): wait for the answer, then read it.
    expect(address).to_have_text("172.18.0.3")
    before = _seen(read_text(seen))
    assert before == "172.18.0.3", "under Cluster the pod sees the node that masqueraded the packet"

    click(widget(explorer.locator(".knv-explorer-policy"), css_class="widget-toggle-button", text="Local"))
    expect(address).to_have_text("172.18.0.100")  # waits for the kernel's new answer
    after = _seen(read_text(seen))
    assert after != before and after == "172.18.0.100"
    expect(explorer.locator(".knv-explorer-nat")).not_to_contain_text("MASQUERADE")

    click(widget(explorer.locator(".knv-explorer-policy"), css_class="widget-toggle-button", text="Cluster"))
    expect(address).to_have_text("172.18.0.3")
    expect(explorer.locator(".knv-explorer-nat")).to_contain_text("MASQUERADE")
    assert not lab_page.console_errors, lab_page.console_errors
