"""The URL tester in a real JupyterLab: notebook 06 runs, a typed URL is routed, the backend text changes.

Typing into the tester's box and pressing Enter sends the new value over the comm; the kernel routes it and
the answer must come back to the page. A URL that is not one shows an error in place and keeps the text.
"""

from __future__ import annotations

import pytest

from .jupyterlab import open_notebook, run_all_cells, widget

pytestmark = pytest.mark.ui
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

NOTEBOOK = "notebooks/06-ingress.ipynb"


def _type_url(box, url: str) -> None:
    box.fill(url)
    box.press("Enter")  # continuous_update=False: the value travels on Enter (or blur)


def test_typing_a_url_routes_it(lab, lab_page):
    panel = open_notebook(lab_page, lab, NOTEBOOK)
    run_all_cells(lab_page, NOTEBOOK, timeout=180)

    tester = widget(panel, css_class="knv-urltester")
    backend = tester.locator(".knv-backend")
    # Started with /apix: Prefix /api does not match it, web does.
    expect(backend).to_contain_text("default/web:80")
    expect(tester.locator(".knv-rules")).to_contain_text("only shares characters")

    box = tester.locator(".knv-url input")
    _type_url(box, "http://shop.example.com/api/orders")
    expect(backend).to_contain_text("default/api:8080")
    expect(backend).to_contain_text("path /api Prefix")
    expect(tester.locator(".knv-walk")).to_contain_text("ingress-nginx opens a new connection")

    _type_url(box, "shop.example.com/api")
    expect(tester.locator(".knv-error")).to_contain_text("is not a URL")
    expect(box).to_have_value("shop.example.com/api")
    expect(backend).to_contain_text("default/api:8080")  # the last answer stays until a good URL

    _type_url(box, "http://a.b.example.com/")
    expect(tester.locator(".knv-error")).to_have_text("")
    expect(backend).to_contain_text("defaultBackend of Ingress default/fallback")
