"""In the browser: the time from a step change in the packet-walk widget to the repainted diagram.

Starts a real JupyterLab (the UI tests' harness), opens notebook 02 in Debian's Chromium, runs it,
then clicks "next ▶" repeatedly and measures, in the page, the time from the click to the diagram's
``data-painted-step`` changing (the back/next buttons step in the browser, so no kernel round trip
is on this path), the time until the hop-details panel, which the kernel fills in, shows the new
step, and the front end's own repaint time (moving CSS classes; no layout runs).
Goal: under 50 ms from click to repaint. Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/bench_widget_repaint.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ui.jupyterlab import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    chromium_missing,
    lab_server,
    open_notebook,
    run_all_cells,
)

NOTEBOOK = "notebooks/02-pod-networking.ipynb"
ROUNDS = 3

MEASURE_JS = """
async (walkIndex) => {
  const walk = document.querySelectorAll('.knv-packetwalk')[walkIndex];
  const diagram = walk.querySelector('.knv-diagram');
  const next = walk.querySelector('.knv-next');
  const prev = walk.querySelector('.knv-prev');
  const steps = parseInt(walk.querySelector('.knv-step input, .knv-step .widget-readout')?.max || '0');
  const info = walk.querySelector('.knv-info');
  const times = [], paints = [], details = [];
  const waitInfo = (target) => new Promise((resolve) => {
    const t0 = performance.now();
    const check = () => {
      if (info.textContent.includes(`Step ${target} of`)) { resolve(performance.now() - t0); return true; }
      return false;
    };
    if (check()) return;
    const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
    obs.observe(info, { childList: true, subtree: true, characterData: true });
  });
  const wait = (target) => new Promise((resolve) => {
    const t0 = performance.now();
    const obs = new MutationObserver(() => {
      if (diagram.dataset.paintedStep === String(target)) { obs.disconnect(); resolve(performance.now() - t0); }
    });
    obs.observe(diagram, { attributes: true, attributeFilter: ['data-painted-step'] });
  });
  let step = parseInt(diagram.dataset.paintedStep);
  for (let i = 0; i < 8; i++) {
    const button = (i % 2 === 0) ? next : prev;
    const target = (i % 2 === 0) ? step + 1 : step - 1;
    const p = wait(target);
    const q = waitInfo(target);
    button.click();
    times.push(await p);
    details.push(await q);
    paints.push(parseFloat(diagram.dataset.paintMs));
    step = target;
  }
  return { times, paints, details, svgBytes: diagram.querySelector('svg').outerHTML.length };
}
"""


def main() -> None:
    reason = chromium_missing()
    if reason:
        print(f"skipped: {reason}")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, lab_server(root_dir=REPO, workdir=Path(tmp)) as server:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                user_data_dir=str(Path(tmp) / "profile"), executable_path=CHROMIUM, headless=True,
                args=list(CHROMIUM_ARGS), viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            open_notebook(page, server, NOTEBOOK)
            run_all_cells(page, NOTEBOOK)
            page.locator(".knv-packetwalk").first.scroll_into_view_if_needed()
            page.wait_for_function("() => document.querySelector('.knv-diagram')?.dataset.paintedStep === '1'")
            times: list[float] = []
            paints: list[float] = []
            details: list[float] = []
            size = 0
            for _ in range(ROUNDS):
                r = page.evaluate(MEASURE_JS, 0)
                times += r["times"]
                paints += r["paints"]
                details += r["details"]
                size = r["svgBytes"]
            context.close()
    times.sort()
    print(f"packet-walk widget, notebook 02 (SVG {size / 1024:.0f} KiB), {len(times)} step changes")
    print(f"  click → repainted diagram: median {statistics.median(times):.1f} ms, "
          f"p90 {times[int(len(times) * 0.9) - 1]:.1f} ms, max {times[-1]:.1f} ms (goal < 50 ms)")
    details.sort()
    print(f"  click → hop details panel (a kernel round trip): median {statistics.median(details):.1f} ms, "
          f"max {details[-1]:.1f} ms")
    print(f"  front-end repaint alone:   median {statistics.median(paints):.2f} ms, max {max(paints):.2f} ms")


if __name__ == "__main__":
    main()
