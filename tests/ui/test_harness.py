"""Proof that the UI harness works end to end: server, Chromium, kernel, ipywidgets 8 widget manager.

A notebook written here shows a Button and a Label; clicking the button in the browser sends a comm
message to the kernel, whose callback changes the Label, and the new value must come back to the page.
That round trip is what every course widget depends on.
"""

from __future__ import annotations

import pytest

from .jupyterlab import click, open_notebook, output_text, read_text, run_all_cells, widget, write_notebook

pytestmark = pytest.mark.ui
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

WIDGET_CELL = """\
import ipywidgets as widgets

button = widgets.Button(description="Send packet")
label = widgets.Label(value="waiting")
button.add_class("harness-button")
label.add_class("harness-label")

def on_click(_):
    label.value = f"delivered {len(clicks) + 1}"
    clicks.append(1)

clicks = []
button.on_click(on_click)
widgets.VBox([button, label])
"""

VERSION_CELL = 'print("ipywidgets", widgets.__version__)'


def test_button_click_changes_label(lab, lab_page, lab_tmp_dir):
    notebook = write_notebook(lab_tmp_dir / "harness.ipynb", [WIDGET_CELL, VERSION_CELL])
    rel = notebook.relative_to(lab.root_dir).as_posix()

    panel = open_notebook(lab_page, lab, rel)
    run_all_cells(lab_page, rel)

    assert output_text(panel, 1).startswith("ipywidgets 8.")
    label = widget(panel, css_class="harness-label")
    assert read_text(label) == "waiting"

    click(widget(panel, css_class="harness-button", text="Send packet"))
    # The new value arrives asynchronously over the comm; wait for it rather than sleeping.
    expect(label).to_have_text("delivered 1")
    click(widget(panel, css_class="harness-button"))
    expect(label).to_have_text("delivered 2")


def test_cell_error_is_reported(lab, lab_page, lab_tmp_dir):
    """run_all_cells must fail loudly with the cell's error, not pass over a broken notebook."""
    notebook = write_notebook(lab_tmp_dir / "broken.ipynb", ["1 / 0", "print('never')"])
    rel = notebook.relative_to(lab.root_dir).as_posix()
    open_notebook(lab_page, lab, rel)
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        run_all_cells(lab_page, rel)
