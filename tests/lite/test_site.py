"""The static JupyterLite site of the course (``make site``), run offline in Debian's Chromium.

Each test starts a fresh browser profile that reaches nothing but the local server (tests/lite/browser.py);
the ``offline`` fixture fails the test if any request tried to go elsewhere. The kernel is Pyodide in the
page: the notebooks run there top to bottom, the widgets answer as in JupyterLab, and diagrams are laid
out in the page by Graphviz compiled to WebAssembly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from .browser import open_notebook, outputs, run_all, scroll_to
from .conftest import REPO, SITE

pytestmark = pytest.mark.site
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

CURRENT_IDS = "(root) => Array.from(root.querySelectorAll('.knv-current')).map((e) => e.id).sort()"
WALK, EXPLORER = "notebooks/02-pod-networking.ipynb", "notebooks/05-exposing-services.ipynb"
# Every other notebook runs top to bottom on its own (the two above run whole in their widget's test).
NOTEBOOKS = sorted(f"notebooks/{p.name}" for p in (REPO / "notebooks").glob("*.ipynb")
                   if f"notebooks/{p.name}" not in (WALK, EXPLORER))


def _errors(page) -> list[str]:
    """Every error output of the open notebook, as ``cell N: Name: value``."""
    found = []
    for number, cell in enumerate(outputs(page)):
        for out in cell:
            if out["output_type"] == "error":
                found.append(f"code cell {number}: {out['ename']}: {out['evalue']}")
            elif out.get("name") == "stderr" and "Traceback" in "".join(out.get("text", "")):
                found.append(f"code cell {number}: {''.join(out['text'])[-400:]}")
    return found


def test_the_packet_walk_steps_in_the_browser(page, offline):
    open_notebook(page, offline.base, WALK)
    run_all(page)
    assert _errors(page) == []

    walk = scroll_to(page, 'PacketWalk(cluster, src="default/client"', ".knv-packetwalk")
    diagram = walk.locator(".knv-diagram")
    expect(diagram).to_have_attribute("data-painted-step", "1")  # laid out in the page, first hop lit
    assert diagram.locator("svg [id^='dev--']").count() > 0  # the DOT's ids survive the layout
    first = diagram.evaluate(CURRENT_IDS)
    assert "dev--pod_default_client--eth0" in first

    walk.locator("button.knv-next").click()
    expect(diagram).to_have_attribute("data-painted-step", "2")
    second = diagram.evaluate(CURRENT_IDS)
    assert second and second != first, (first, second)
    expect(walk.locator(".knv-info")).to_contain_text("Step 2 of")  # the hop panel follows in the page

    # A new trace goes to the kernel (Pyodide) and back: its first hop lights the new pod.
    walk.locator(".knv-src input").fill("default/cache")
    walk.locator(".knv-trace").click()
    expect(diagram.locator('[id="dev--pod_default_cache--eth0"]')).to_have_class(re.compile(r"\bknv-current\b"))
    assert page.errors == []


def test_the_service_explorer_answers_in_the_browser(page, offline):
    """Notebook 05's explorer: flipping externalTrafficPolicy travels to the kernel and back."""
    open_notebook(page, offline.base, EXPLORER)
    run_all(page)
    assert _errors(page) == []

    explorer = scroll_to(page, "ServiceExplorer(influxdb", ".knv-explorer")
    # The address alone, in its own element (the line around it also quotes the MASQUERADE rule, which
    # names the client's address before the flip too).
    seen = explorer.locator(".knv-explorer-client-ip .knv-explorer-seen")
    expect(seen).to_have_text("172.18.0.3")  # under Cluster the pod sees the node that masqueraded
    explorer.locator(".knv-explorer-policy .widget-toggle-button", has_text="Local").click()
    expect(seen).to_have_text("172.18.0.100")  # under Local, the laptop itself
    # A result's own display (a trace) is a diagram laid out in the page too.
    figure = scroll_to(page, "influxdb.trace(", ".knv-figure")
    expect(figure.locator("svg")).to_have_count(1)
    assert page.errors == []


def test_the_exam_terminal_runs_commands_in_the_browser(page, offline):
    open_notebook(page, offline.base, "notebooks/00-start-here.ipynb")
    page.evaluate(
        """async () => {
          const app = window.jupyterapp;
          const notebook = app.shell.currentWidget.content;
          notebook.model.sharedModel.insertCell(0, {cell_type: 'code',
            source: 'from k8snetviz.course import terminal\\nterminal("two-node-bridge")'});
          notebook.activeCellIndex = 0;
          await app.commands.execute('notebook:run-cell');
        }""")
    terminal = page.locator(".knv-terminal-widget").first
    terminal.locator(".knv-terminal-input").fill("kubectl get pods -o wide")
    terminal.locator(".knv-terminal-input").press("Enter")
    expect(terminal.locator(".knv-terminal-output").last).to_contain_text("10.244.")
    assert page.errors == []


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_notebook_runs_top_to_bottom(page, offline, notebook):
    open_notebook(page, offline.base, notebook)
    run_all(page)
    assert _errors(page) == []
    if notebook == "notebooks/03-cni.ipynb":  # the real Linux lab cannot run here: one line says so
        said = [line for cell in outputs(page) for out in cell
                for line in "".join(out.get("data", {}).get("text/plain", "")).splitlines()
                if "cannot run in a browser" in line]
        assert len(said) == 1 and "make lab" in said[0], said


def test_the_committed_graphviz_bundle_is_a_fresh_build(tmp_path: Path):
    """k8snetviz/widgets/static/graphviz.js is generated (make bundle): it must be what the locked npm
    packages build, byte for byte."""
    esbuild = REPO / "site" / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.skip("site/node_modules is missing: make site (or cd site && npm ci)")
    committed = REPO / "k8snetviz" / "widgets" / "static" / "graphviz.js"
    fresh = tmp_path / "graphviz.js"
    script = json.loads((REPO / "site" / "package.json").read_text())["scripts"]["bundle"]
    outfile = "--outfile=../k8snetviz/widgets/static/graphviz.js"
    assert outfile in script
    subprocess.run(["bash", "-c", script.replace(outfile, f"--outfile={fresh}")], cwd=REPO / "site", check=True,
                   env={**os.environ, "PATH": f"{esbuild.parent}:{os.environ['PATH']}"})
    assert fresh.read_bytes() == committed.read_bytes(), "run make bundle and commit the result"


def test_the_site_serves_everything_the_kernel_loads(site_url):
    """Pyodide and every wheel its lock names are files of the site; no setting points to a CDN."""
    lock = json.loads((SITE / "static" / "pyodide" / "pyodide-lock.json").read_text())
    missing = [p["file_name"] for p in lock["packages"].values()
               if not (SITE / "static" / "pyodide" / p["file_name"]).is_file()]
    assert missing == [] and "k8snetviz" in lock["packages"]
    config = json.loads((SITE / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs" and kernel["disablePyPIFallback"] is True
