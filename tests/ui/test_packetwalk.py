"""The packet-walk widget in notebook 02, in a real JupyterLab in Chromium: pick a source, trace, step.

The diagram is laid out once; stepping only moves the ``knv-current`` class between SVG elements
(their ids come from the DOT view), so the test reads those classes and the diagram's
``data-painted-step`` to see the highlighted hop change.
"""

from __future__ import annotations

import pytest

from .jupyterlab import click, open_notebook, run_all_cells, write_notebook

pytestmark = pytest.mark.ui
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)").expect

NOTEBOOK = "notebooks/02-pod-networking.ipynb"
CURRENT_IDS = "(root) => Array.from(root.querySelectorAll('.knv-current')).map((e) => e.id).sort()"


def _walk_in_new_notebook(lab, lab_page, lab_tmp_dir, name: str, source: str):
    """Write a one-cell notebook, run it, and return (its panel, the walk, the walk's diagram) once the
    walk's first hop is lit."""
    notebook = write_notebook(lab_tmp_dir / name, [source])
    rel = notebook.relative_to(lab.root_dir).as_posix()
    panel = open_notebook(lab_page, lab, rel)
    run_all_cells(lab_page, rel)
    walk = panel.locator(".knv-packetwalk").first
    walk.scroll_into_view_if_needed()
    diagram = walk.locator(".knv-diagram")
    expect(diagram).to_have_attribute("data-painted-step", "1")
    return panel, walk, diagram


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
    # The current hop is drawn in the theme's current-hop colour (the screenshot walk found it in the border's
    # grey: the sheet's remapping of Graphviz's black outranked it).
    stroke, current = diagram.evaluate("""(d) => [
      getComputedStyle(d.querySelector('[id="dev--pod_default_cache--eth0"] > polygon, '
                                       + '[id="dev--pod_default_cache--eth0"] > path')).stroke,
      getComputedStyle(d).getPropertyValue('--knv-current').trim()]""")
    assert stroke == {"#d55e00": "rgb(213, 94, 0)", "#e69f00": "rgb(230, 159, 0)"}[current.lower()], stroke

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


# Clicks "next ▶" and reads the hop panel in the same task of the page: what it shows then was drawn
# before any message could come back from the kernel.
STEP_WITHOUT_KERNEL_JS = """
(walk) => {
  const before = walk.querySelector('.knv-info').textContent;
  (walk.querySelector('button.knv-next') || walk.querySelector('.knv-next button')).click();
  return { before, after: walk.querySelector('.knv-info').textContent,
           painted: walk.querySelector('.knv-diagram').dataset.paintedStep };
}
"""


SERVICE_WALK = """\
import k8snetviz
from k8snetviz.widgets import PacketWalk
PacketWalk(k8snetviz.load("kind-default"), src="default/client", dst="svc/default/web:80")
"""


def test_stepping_shows_the_hop_at_once_and_its_why_chain_opens(lab, lab_page, lab_tmp_dir):
    panel, walk, diagram = _walk_in_new_notebook(lab, lab_page, lab_tmp_dir, "service-walk.ipynb", SERVICE_WALK)
    expect(walk.locator(".knv-info")).to_contain_text("Step 1 of")

    got = walk.evaluate(STEP_WITHOUT_KERNEL_JS)
    assert "Step 1 of" in got["before"] and "Step 2 of" in got["after"] and got["painted"] == "2", got

    # Step on to kube-proxy's DNAT and open "Decided by": the chain says which program wrote the rule,
    # for which EndpointSlice, because of which Service.
    info = walk.locator(".knv-info")
    for _ in range(30):
        if " · dnat" in (info.text_content() or ""):
            break
        click(walk.locator("button.knv-next, .knv-next button").first)
    expect(info).to_contain_text("dnat")
    click(info.locator(".knv-why summary"))
    chain = info.locator(".knv-why-chain")
    expect(chain).to_be_visible()
    expect(chain).to_contain_text("written by kube-proxy on kind-")
    expect(chain).to_contain_text("EndpointSlice default/web-")
    expect(chain).to_contain_text("because of Service default/web")
    # The open chain stays open as the learner steps on.
    click(walk.locator("button.knv-next, .knv-next button").first)
    if info.locator(".knv-why").count():
        assert info.locator(".knv-why").evaluate("(d) => d.open")


# The kernel's copy of the step is shown by a label its observer writes: what the page shows there came
# back from the kernel.
KERNEL_STEP_WALK = """\
import ipywidgets
import k8snetviz
from k8snetviz.widgets import PacketWalk
walk = PacketWalk(k8snetviz.load("two-node-bridge"), src="default/client", dst="default/web:80")
heard = ipywidgets.Label(f"kernel at step {walk.step.value}")
heard.add_class("knv-heard")
walk.step.observe(lambda change: setattr(heard, "value", f"kernel at step {change['new']}"), "value")
display(walk, heard)
"""


def test_the_kernel_hears_of_the_steps_taken_in_the_browser(lab, lab_page, lab_tmp_dir):
    """Back, next, the slider and play step in the page (the diagram's own controls); the kernel hears of
    the step the learner stops on, in PacketWalk.step."""
    panel, walk, diagram = _walk_in_new_notebook(lab, lab_page, lab_tmp_dir, "kernel-step.ipynb", KERNEL_STEP_WALK)
    heard = panel.locator(".knv-heard")
    expect(heard).to_have_text("kernel at step 1")

    for _ in range(3):
        click(walk.locator("button.knv-next"))
    expect(diagram).to_have_attribute("data-painted-step", "4")
    expect(walk.locator(".knv-counter")).to_have_text("step 4 of 18")
    expect(walk.locator(".knv-info")).to_contain_text("Step 4 of 18")
    expect(heard).to_have_text("kernel at step 4")

    # The slider: its input paints at once, and the kernel hears of where it was left.
    walk.locator("input.knv-slider").evaluate(
        "(s) => { s.value = '9'; s.dispatchEvent(new Event('input', { bubbles: true })); }")
    expect(diagram).to_have_attribute("data-painted-step", "9")
    expect(walk.locator(".knv-info")).to_contain_text("Step 9 of 18")
    expect(heard).to_have_text("kernel at step 9")

    # Play steps on by itself; pause stops it where it is.
    click(walk.locator("button.knv-play"))
    expect(diagram).to_have_attribute("data-painted-step", "11", timeout=10_000)
    click(walk.locator("button.knv-play"))
    paused = diagram.get_attribute("data-painted-step")
    assert paused is not None and int(paused) >= 11
    lab_page.wait_for_timeout(2_000)  # two beats of play: nothing moves
    expect(diagram).to_have_attribute("data-painted-step", paused)
    expect(heard).to_have_text(f"kernel at step {paused}")


# Steps next then back, the back click at moments around when the page tells the kernel of the first step
# (static/diagram.js waits 250 ms for the learner to pause): the kernel's answer to that message must not
# put back the step the learner has already left.
STEP_AROUND_THE_SEND_JS = """
async (walk) => {
  const diagram = walk.querySelector('.knv-diagram');
  const next = walk.querySelector('button.knv-next'), prev = walk.querySelector('button.knv-prev');
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const undone = [];
  for (let offset = 230; offset <= 330; offset += 5) {
    next.click();
    await sleep(offset);
    prev.click();
    const back = diagram.dataset.paintedStep;
    await sleep(400);  // the kernel's answer comes within tens of milliseconds
    if (diagram.dataset.paintedStep !== back) undone.push({ offset, back, now: diagram.dataset.paintedStep });
  }
  return undone;
}
"""


def test_an_answer_from_the_kernel_never_undoes_a_newer_step(lab, lab_page, lab_tmp_dir):
    panel, walk, diagram = _walk_in_new_notebook(lab, lab_page, lab_tmp_dir, "step-race.ipynb", KERNEL_STEP_WALK)
    assert walk.evaluate(STEP_AROUND_THE_SEND_JS) == []
    expect(panel.locator(".knv-heard")).to_have_text("kernel at step 1")
