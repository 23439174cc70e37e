"""The notebook terminal in a real JupyterLab: notebook 10 runs, a typed command is answered, the prompt moves.

Pressing Enter sends the line over the comm; the kernel runs it in the terminal's session (the engine of
``k8snetviz shell``) and the transcript must come back to the page. What a command changes stays: a fix typed
here is what the next command sees. ↑ recalls the last command.
"""

from __future__ import annotations

import pytest

from .jupyterlab import open_notebook, run_all_cells, widget

pytestmark = pytest.mark.ui
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

NOTEBOOK = "notebooks/10-troubleshooting.ipynb"


def _type(box, line: str) -> None:
    box.fill(line)
    box.press("Enter")


def test_typing_a_command_shows_its_output(lab, lab_page):
    panel = open_notebook(lab_page, lab, NOTEBOOK)
    run_all_cells(lab_page, NOTEBOOK, timeout=240)

    term = widget(panel, css_class="knv-terminal-widget")  # section 3: ticket #102's cluster
    screen = term.locator(".knv-terminal-screen")
    box = term.locator(".knv-terminal-input")
    prompt = term.locator(".knv-terminal-prompt")
    expect(prompt).to_have_text("root@kind-control-plane:~# ")

    _type(box, "kubectl get svc api")
    expect(screen).to_contain_text("root@kind-control-plane:~# kubectl get svc api")
    expect(screen).to_contain_text("ClusterIP")
    expect(box).to_have_value("")

    # The fix changes the cluster; the next command sees it.
    _type(box, "kubectl get ep api")
    expect(screen).to_contain_text(":9090,")  # the pods listen on 8080
    _type(box, "kubectl patch svc api -p '{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}}'")
    expect(screen).to_contain_text("service/api patched")
    box.press("ArrowUp")
    box.press("ArrowUp")
    expect(box).to_have_value("kubectl get ep api")
    box.press("Enter")
    expect(screen).to_contain_text(":8080,")

    # A node, and back.
    _type(box, "ssh kind-worker")
    expect(prompt).to_have_text("root@kind-worker:~# ")
    _type(box, "ip route get 10.244.1.2 | head -1")
    expect(screen).to_contain_text("10.244.1.2 dev ")
    _type(box, "exit")
    expect(prompt).to_have_text("root@kind-control-plane:~# ")

    _type(box, "tcpdump -i eth0")
    expect(screen).to_contain_text("not available in this simulator: tcpdump -i eth0")
