"""The resolver in a real JupyterLab: notebook 08 runs, a typed name is resolved, the queries change.

Typing a name and pressing Enter sends it over the comm; the kernel resolves it as the pod's resolver would
and the list of queries must come back to the page. A name that is not one shows an error in place and keeps
the text.
"""

from __future__ import annotations

import pytest

from .jupyterlab import open_notebook, run_all_cells, widget

pytestmark = pytest.mark.ui
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

NOTEBOOK = "notebooks/08-cluster-dns.ipynb"


def _type_name(box, name: str) -> None:
    box.fill(name)
    box.press("Enter")  # continuous_update=False: the value travels on Enter (or blur)


def test_typing_a_name_lists_its_queries(lab, lab_page):
    panel = open_notebook(lab_page, lab, NOTEBOOK)
    run_all_cells(lab_page, NOTEBOOK, timeout=180)

    resolver = widget(panel, css_class="knv-resolver")
    queries = resolver.locator(".knv-resolver-queries")
    # Started with example.com from app/client: three search domains fail before the name itself answers.
    expect(queries).to_contain_text("example.com.app.svc.cluster.local.")
    expect(queries.locator("tbody tr")).to_have_count(4)
    expect(resolver.locator(".knv-resolver-cost")).to_contain_text("3 before the answer")

    box = resolver.locator(".knv-resolver-name input")
    _type_name(box, "db.data")
    expect(queries).to_contain_text("db.data.svc.cluster.local.")
    expect(queries.locator("tbody tr")).to_have_count(2)
    expect(queries.locator("tbody tr").first).to_contain_text("NXDOMAIN")
    expect(queries).not_to_contain_text("example.com")

    _type_name(box, "db data")
    expect(resolver.locator(".knv-resolver-error")).to_contain_text("invalid DNS name")
    expect(box).to_have_value("db data")
    expect(queries).to_contain_text("db.data.svc.cluster.local.")  # the last answer stays

    _type_name(box, "example.com.")
    expect(resolver.locator(".knv-resolver-error")).to_have_text("")
    expect(queries.locator("tbody tr")).to_have_count(1)
    # The second pod (compare mode, app/legacy) asks the node's resolver.
    expect(resolver.locator(".knv-resolver-other-queries")).to_contain_text("172.18.0.1")
