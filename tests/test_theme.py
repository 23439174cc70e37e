"""Outputs a learner can read: every rich output has a text form and the theme's style sheet; no colour is
hard-coded in Python; the walk is a summary with the details on demand; diagrams fit a notebook's width.

The colours themselves are measured in a real browser, light and dark, by tests/ui/test_theme.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import k8snetviz
from k8snetviz.course import pod_networking as pn
from k8snetviz.course.quiz import TextBlock
from k8snetviz.views.theme import STYLESHEET, css

PACKAGE = Path(k8snetviz.__file__).parent


def _bundles() -> dict[str, dict[str, str]]:
    c = k8snetviz.load("two-node-bridge")
    ingress = k8snetviz.load("ingress")
    gateway = k8snetviz.load("gateway")
    dns = k8snetviz.load("dns")
    task = pn.task_warm_up()
    return {
        "cluster": c._repr_mimebundle_(),
        "trace": c.trace("default/client", "default/web:80")._repr_mimebundle_(),
        "routes": c.routes("node-a")._repr_mimebundle_(),
        "ingress": ingress.ingress("shop.example.com", "/api")._repr_mimebundle_(),
        "gateway": gateway.http_route("shop.example.com", "/cart")._repr_mimebundle_(),
        "dns": dns.resolve("app/client", "web")._repr_mimebundle_(),
        "check": task.check("node-a")._repr_mimebundle_(),
        "solution": task.solution()._repr_mimebundle_(),
        "text block": TextBlock("a\nb")._repr_mimebundle_(),
    }


def test_every_rich_output_has_a_text_form_and_the_theme() -> None:
    for name, bundle in _bundles().items():
        assert bundle.get("text/plain", "").strip(), f"{name} has no text form"
        html = bundle["text/html"]
        assert '<div class="knv' in html and "--knv-fg" in html, f"{name} is not themed"


def test_the_style_sheet_takes_its_colours_from_the_theme() -> None:
    sheet = css()
    for var in ("--jp-content-font-color1", "--jp-layout-color0", "--jp-border-color1", "--jp-error-color1"):
        assert f"var({var}" in sheet
    assert 'body[data-jp-theme-light="false"] .knv' in sheet  # the accent fills change in the dark theme
    # every rule is scoped to the package's own elements: nothing else on the page changes
    rules = re.sub(r"/\*.*?\*/", "", sheet, flags=re.S)
    for selector in re.findall(r"^([^{}@\s][^{]*)\{", rules, re.M):
        for part in selector.split(","):
            assert ".knv" in part, f"unscoped rule: {part.strip()}"


def test_no_colour_is_hard_coded_in_python() -> None:
    # Colours live in the style sheets (views/static, widgets/static), which take them from the theme. The
    # reachability matrix's cells keep their deep fills (white marks on blue or vermillion read in both themes).
    allowed = {"views/policygrid.py"}
    pattern = re.compile(r"""(color|background|border[a-z-]*)\s*:\s*[^;'"]*#[0-9A-Fa-f]{3,6}""")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in allowed or rel == "views/dot.py":  # the DOT source names Graphviz colours the sheet remaps
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and "var(--" not in line:
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "colours hard-coded in Python:\n" + "\n".join(offenders)


def test_a_walk_shows_its_steps_and_keeps_the_full_account_behind_details() -> None:
    c = k8snetviz.load("two-node-bridge")
    t = c.trace("default/client", "default/web:80")
    html = t._repr_mimebundle_()["text/html"]
    summary, _, details = html.partition('<details class="knv-details">')
    assert summary.count("<tr") == len(t.hops) + 1  # a header row and one row per step
    assert "decided by" not in summary and "decided by" in details  # the rules only when asked for
    assert t._repr_mimebundle_()["text/plain"] == t.text()  # the text form stays the whole account


def test_an_error_shown_in_place_has_a_text_form(capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display

    from k8snetviz.course.quiz import show_in_place

    shown: list[object] = []
    shell = InteractiveShell.instance()
    shell.display_pub.publish = lambda data, **kw: shown.append(data)  # type: ignore[method-assign]
    try:
        c = k8snetviz.load("two-node-bridge")
        show_in_place(lambda: c.trace("default/nope", "x:1"))
        display("ok")  # the publisher is the one show_in_place used
    finally:
        InteractiveShell.clear_instance()
    error = shown[0]
    assert isinstance(error, dict) and error["text/plain"].startswith("✘ ") and "nope" in error["text/plain"]
    assert "knv-error" in error["text/html"]


@pytest.mark.parametrize("scenario", ["two-node-bridge", "kind-default", "services", "netpol", "gateway"])
def test_diagrams_are_laid_out_for_a_notebooks_width(scenario: str) -> None:
    # A notebook cell is about 900 px wide; Graphviz sizes in points (1 pt = 4/3 px). Laid out left to right the
    # nodes stack downwards, so the drawing stays under 1,000 pt and its 10 pt labels stay readable when fitted.
    from k8snetviz.views.dot import cluster_dot
    from k8snetviz.views.render import have_dot, render

    if not have_dot():
        pytest.skip("Graphviz (dot) is not installed")
    svg = render(cluster_dot(k8snetviz.load(scenario)), "svg").decode()
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    assert width <= 1000, f"{scenario}: {width:.0f} pt wide"


def test_the_style_sheet_ships_with_the_package() -> None:
    assert STYLESHEET.is_file() and STYLESHEET.parent.name == "static"


def test_a_walk_in_a_live_kernel_keeps_its_verdict_steps_and_details_around_the_widget(monkeypatch) -> None:
    # In a kernel the diagram is the widget laid out in the browser (views/notebook.py's entry point); the
    # verdict before it and the steps and details after it are the same as in the static figure.
    from k8snetviz.views import notebook
    from k8snetviz.widgets.diagram import live_figure

    boxes: list = []

    def spy(*args, **kwargs):  # the entry point, keeping the box it shows
        import ipywidgets

        made = ipywidgets.VBox.__init__

        def keep(self, *a, **kw):
            made(self, *a, **kw)
            boxes.append(self)

        monkeypatch.setattr(ipywidgets.VBox, "__init__", keep)
        try:
            return live_figure(*args, **kwargs)
        finally:
            monkeypatch.setattr(ipywidgets.VBox, "__init__", made)

    monkeypatch.setattr(notebook, "_in_kernel", lambda: True)
    monkeypatch.setattr(notebook, "live_diagram", lambda: spy)
    t = k8snetviz.load("two-node-bridge").trace("default/client", "default/web:80")
    bundle = t._repr_mimebundle_()
    (box,) = boxes
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    assert "knv-trace" in box._dom_classes  # the walk's box is marked as its static figure is
    first, diagram, last = box.children
    assert "knv-verdict" in first.value and "delivered" in first.value and "--knv-fg" in first.value
    assert type(diagram).__name__ == "Diagram" and diagram.figure and diagram.dot.startswith("digraph")
    assert last.value.count("<tr") == len(t.hops) + 1 and '<details class="knv-details">' in last.value


def test_tables_keep_their_columns_in_a_narrow_cell() -> None:
    # The screenshot walk found kubectl's tables wrapped mid-column ("CONTAINER-R / UNTIME"): a table scrolls
    # sideways instead, in a cluster's display and in a command's output.
    from k8snetviz.course import run

    c = k8snetviz.load("kind-default")
    assert '<div class="knv-table"><pre>NAME' not in c._repr_mimebundle_()["text/html"]  # the repr line first
    assert '<div class="knv-table"><pre>&lt;Cluster' in c._repr_mimebundle_()["text/html"]
    assert ".knv .knv-table pre { white-space: pre; overflow-x: auto; }" in css()
    assert "white-space:pre;overflow-x:auto" in run(c, "kubectl get nodes -o wide")._repr_mimebundle_()["text/html"]
