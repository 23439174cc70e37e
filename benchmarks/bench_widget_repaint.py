"""In the browser: the packet-walk widget in a real JupyterLab and Chromium (the UI tests' harness).

Opens notebook 02, runs it, then, in the page, with the browser's own clock:

- steps the first walk to its end and back with its "next ▶"/"◀ back" buttons, at a reader's pace (a pause
  after each step, long enough for the kernel to be told of it and to answer before the next): the work
  of repainting, that is the click's script (the diagram's highlights moved, the hop panel drawn, both in
  the browser: no kernel round trip is on this path) plus the next frame's style, layout and paint.
  Goal: p95 < 16 ms, one frame at 60 Hz. The time from the click to that frame on screen, which adds
  the wait for the display's next refresh, is printed too.
- picks a new source, pauses as a learner would, and clicks Trace: from the click to the frame that shows
  the new walk (the kernel traces, takes the layout from its cache or lays out, and sends the walk in one
  message). Goal: p95 < 100 ms.

Medians and p95 after a warm-up; prints numbers, asserts nothing.

    .venv/bin/python benchmarks/bench_widget_repaint.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stats import Table, sample  # noqa: E402

from tests.ui.jupyterlab import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    chromium_missing,
    lab_server,
    open_notebook,
    run_all_cells,
)

SOURCE = REPO / "notebooks" / "02-pod-networking.ipynb"
# A copy under build/ (git-ignored): JupyterLab saves the notebook it runs, outputs and all.
COPY = REPO / "build" / "bench-widget" / "02-pod-networking.ipynb"
NOTEBOOK = COPY.relative_to(REPO).as_posix()
STEPS = 140  # four times through the walk and back: enough steps that p95 is not the third slowest
WALKS = 30
SOURCES = ["default/cache", "default/client"]

# A reader's pause after each step (ms): longer than the diagram waits before it tells the kernel
# (static/diagram.js, SEND_AFTER_MS) plus the kernel's answer, so that every step is sent.
PAUSE_MS = 600

STEP_JS = """
async ({ walkIndex, rounds, warmup, pause }) => {
  const walk = document.querySelectorAll('.knv-packetwalk')[walkIndex];
  const diagram = walk.querySelector('.knv-diagram');
  const info = walk.querySelector('.knv-info .knv-hops');
  const next = walk.querySelector('.knv-next');
  const prev = walk.querySelector('.knv-prev');
  // after the next frame is drawn (or a second, should the page not draw frames)
  const frame = () => new Promise((done) => {
    requestAnimationFrame(() => setTimeout(done, 0));
    setTimeout(done, 1000);
  });
  const script = [], render = [], work = [], shown = [], paints = [];
  let step = parseInt(diagram.dataset.paintedStep);
  // Through the whole walk and back, as a learner steps: every kind of hop, the reply's turn, the verdict.
  let forward = true;
  for (let i = 0; i < warmup + rounds; i++) {
    if (forward && next.disabled) forward = false;
    if (!forward && prev.disabled) forward = true;
    const target = forward ? step + 1 : step - 1;
    await frame();
    const t0 = performance.now();
    (forward ? next : prev).click();
    const t1 = performance.now();
    if (diagram.dataset.paintedStep !== String(target) || info.dataset.paintedStep !== String(target)) {
      throw new Error(`step ${target} was not painted at once`);
    }
    // The frame that shows the step: from its start (rAF's timestamp) to its style, layout and paint done
    // (a task queued from rAF runs after them). The wait for that frame's turn (vsync) is not work.
    const frameStart = await new Promise((done) => {
      requestAnimationFrame((ts) => done(ts));
      setTimeout(() => done(performance.now()), 1000);
    });
    await new Promise((done) => setTimeout(done, 0));
    const t2 = performance.now();
    if (i >= warmup) {
      script.push(t1 - t0); render.push(t2 - frameStart); work.push((t1 - t0) + (t2 - frameStart));
      shown.push(t2 - t0); paints.push(parseFloat(diagram.dataset.paintMs));
    }
    step = target;
    await new Promise((done) => setTimeout(done, pause));
  }
  return { script, render, work, shown, paints, svgBytes: diagram.querySelector('svg').outerHTML.length };
}
"""

WALK_JS = """
async ({ walkIndex, rounds, warmup, sources, pause }) => {
  const walk = document.querySelectorAll('.knv-packetwalk')[walkIndex];
  const diagram = walk.querySelector('.knv-diagram');
  const info = walk.querySelector('.knv-info .knv-hops');
  const input = walk.querySelector('.knv-src input');
  const button = walk.querySelector('button.knv-trace') || walk.querySelector('.knv-trace button');
  // after the next frame is drawn (or a second, should the page not draw frames)
  const frame = () => new Promise((done) => {
    requestAnimationFrame(() => setTimeout(done, 0));
    setTimeout(done, 1000);
  });
  const times = [];
  for (let i = 0; i < warmup + rounds; i++) {
    const src = sources[i % sources.length];
    input.value = src;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const before = diagram.dataset.walk;
    // As a learner types and then reaches for the button: the typed value's trip to the kernel (its
    // busy and idle redrawn by JupyterLab) is over before the click.
    await new Promise((done) => setTimeout(done, pause));
    await frame();
    const shown = new Promise((done, fail) => {
      const check = () => diagram.dataset.walk !== before && diagram.dataset.paintedStep === '1'
        && info.textContent.includes('Step 1 of') && info.textContent.includes(src);
      if (check()) { done(); return; }
      const obs = new MutationObserver(() => { if (check()) { obs.disconnect(); done(); } });
      obs.observe(walk, { attributes: true, childList: true, subtree: true, characterData: true });
      setTimeout(() => { obs.disconnect(); fail(new Error(`the walk from ${src} did not show within 10 s: `
        + `walk ${diagram.dataset.walk} (was ${before}), step ${diagram.dataset.paintedStep}, `
        + `panel "${info.textContent.slice(0, 80)}", error "${walk.querySelector('.knv-error').textContent}"`)); },
        10000);
    });
    const t0 = performance.now();
    button.click();
    await shown;
    await frame();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return { times };
}
"""


def main() -> None:
    reason = chromium_missing()
    if reason:
        print(f"skipped: {reason}")
        return
    from playwright.sync_api import sync_playwright

    COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(SOURCE, COPY)
    try:
        steps, walks = measure_in_browser(sync_playwright)
    finally:
        shutil.rmtree(COPY.parent, ignore_errors=True)
    report(steps, walks)


def measure_in_browser(sync_playwright: object) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as tmp, lab_server(root_dir=REPO, workdir=Path(tmp)) as server:
        with sync_playwright() as pw:  # type: ignore[operator]
            context = pw.chromium.launch_persistent_context(
                user_data_dir=str(Path(tmp) / "profile"), executable_path=CHROMIUM, headless=True,
                args=list(CHROMIUM_ARGS), viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            open_notebook(page, server, NOTEBOOK)
            run_all_cells(page, NOTEBOOK)
            page.locator(".knv-packetwalk").first.scroll_into_view_if_needed()
            # The walk's own diagram: notebook 02 shows static figures (.knv-diagram too) before its first walk.
            page.wait_for_function(
                "() => document.querySelector('.knv-packetwalk .knv-diagram')?.dataset.paintedStep === '1'")
            page.set_default_timeout(120_000)
            try:
                steps = page.evaluate(STEP_JS, {"walkIndex": 0, "rounds": STEPS, "warmup": 6, "pause": PAUSE_MS})
                print(f"stepped {len(steps['shown'])} times", flush=True)
                walks = page.evaluate(WALK_JS, {"walkIndex": 0, "rounds": WALKS, "warmup": 4, "sources": SOURCES,
                                                "pause": PAUSE_MS})
            finally:
                context.close()
    return steps, walks


def report(steps: dict, walks: dict) -> None:
    ms = 1e-3
    table = Table(f"Packet-walk widget in JupyterLab + Chromium, notebook 02 (SVG {steps['svgBytes'] / 1024:.0f} KiB)")
    table.add("step (next/back) → repainted: the click's script and the frame's rendering",
              sample([t * ms for t in steps["work"]]), 16e-3, on="p95")
    table.add("  of it: click → highlights moved and hop panel drawn (script)",
              sample([t * ms for t in steps["script"]]))
    table.add("  of it: the next frame's style, layout and paint", sample([t * ms for t in steps["render"]]))
    slowest = sorted(steps["work"])[-5:]
    table.note(f"    (the five slowest steps: {', '.join(f'{t:.1f}' for t in slowest)} ms)")
    table.add("  of it: the diagram's own repaint (moving classes)", sample([t * ms for t in steps["paints"]]))
    table.add("  click → next frame shown (with the wait for the display's next refresh)",
              sample([t * ms for t in steps["shown"]]))
    table.add("new source, Trace: click → frame showing the new walk", sample([t * ms for t in walks["times"]]),
              100e-3, on="p95")
    table.print()


if __name__ == "__main__":
    main()
