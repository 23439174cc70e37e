"""Presentation mode in a real JupyterLab: ``k8snetviz.present(scale=2)`` doubles the notebook's text and
stretches the diagram to the notebook's width; ``present(False)``, run in a later cell, restores the page
(it replaces the earlier cell's style through its display id). A task shows its solution at once."""

from __future__ import annotations

import pytest

from .jupyterlab import _FIND_PANEL_JS, open_notebook, run_all_cells, wait_for_kernel_idle, widget, write_notebook

pytestmark = pytest.mark.ui
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

CELLS = [
    "import k8snetviz\nfrom k8snetviz.course import pod_networking as pn\n\nk8snetviz.present(scale=2)",
    'cluster = k8snetviz.load("two-node-bridge")\ncluster',
    "pn.task_warm_up()",
]

SIZES_JS = """() => {
  const editor = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content');
  const svg = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .knv-figure svg');
  const area = svg.closest('.jp-OutputArea-output');
  return {font: parseFloat(getComputedStyle(editor).fontSize),
          svg: svg.getBoundingClientRect().width, area: area.getBoundingClientRect().width};
}"""


def run_new_cell(page, path: str, source: str) -> None:
    """Append a code cell with ``source`` to the open notebook and run it, as a presenter would."""
    page.evaluate(
        f"""async ([path, source]) => {{
          const app = window.jupyterapp;
          const panel = ({_FIND_PANEL_JS})(path);
          const notebook = panel.content;
          notebook.model.sharedModel.insertCell(notebook.model.cells.length, {{cell_type: 'code', source}});
          notebook.activeCellIndex = notebook.model.cells.length - 1;
          await app.commands.execute('notebook:run-cell');
          return true;
        }}""",
        [path, source],
    )
    wait_for_kernel_idle(page, path)


def test_present_enlarges_the_page_and_present_false_restores_it(lab, lab_page, lab_tmp_dir):
    notebook = write_notebook(lab_tmp_dir / "present.ipynb", CELLS)
    rel = notebook.relative_to(lab.root_dir).as_posix()
    panel = open_notebook(lab_page, lab, rel)
    usual = lab_page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector("
        "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content')).fontSize)")

    run_all_cells(lab_page, rel)
    expect(widget(panel, css_class="knv-present-note")).to_contain_text("presentation mode on: text and diagrams 2×")
    on = lab_page.evaluate(SIZES_JS)
    assert on["font"] == pytest.approx(2 * usual, abs=0.5), (usual, on)
    assert on["svg"] == pytest.approx(on["area"], rel=0.1), on  # the diagram spans the output area
    expect(widget(panel, css_class="knv-task-solution")).to_contain_text("node-b")  # shown without a click

    run_new_cell(lab_page, rel, "k8snetviz.present(False)")
    expect(panel.locator(".knv-present-note").first).to_have_text("presentation mode off")
    off = lab_page.evaluate(SIZES_JS)
    assert off["font"] == pytest.approx(usual, abs=0.5), (usual, off)
