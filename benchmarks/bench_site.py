"""In the browser, offline: how soon the static site (make site) shows the first notebook's first walk.

Serves build/site on 127.0.0.1 and opens notebooks/00-start-here.ipynb in Debian's Chromium with no other
network (as tests/lite does), runs all its cells and times, from the navigation:

* the notebook shown (JupyterLab's page loaded);
* the kernel ready (Pyodide started, the kernel's packages loaded, idle);
* the first walk shown (the packet-walk widget's diagram laid out in the page with its first hop lit);
* every cell run.

A cold start uses a new browser profile (empty HTTP cache); a warm one the same profile again, as a
returning learner. Goals: the first walk within 20 s cold and 5 s warm. Prints numbers and the load
average (the machine's other work slows the page down); asserts nothing.

    .venv/bin/python benchmarks/bench_site.py [--rounds 3] [--notebook notebooks/00-start-here.ipynb]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lite.browser import offline_browser, open_notebook, serve  # noqa: E402
from tests.ui.jupyterlab import chromium_missing  # noqa: E402

SITE = REPO / "build" / "site"
GOALS = {"cold": 20.0, "warm": 5.0}

FIRST_WALK_JS = """async (source) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  const index = Array.from(notebook.model.cells).findIndex((c) => c.sharedModel.getSource().includes(source));
  await notebook.scrollToItem(index, 'center');  // JupyterLab renders only the cells near the view
  app.commands.execute('notebook:run-all-cells');
  return index;
}"""


def one_visit(playwright, profile: Path, base: str, notebook: str) -> dict[str, float]:
    with offline_browser(playwright, profile, base, cache=True) as browser:
        page = browser.context.new_page()  # type: ignore[attr-defined]
        start = time.monotonic()
        times = open_notebook(page, base, notebook)
        index = page.evaluate(FIRST_WALK_JS, "PacketWalk(cluster")
        page.locator(f'.jp-Cell[data-windowed-list-index="{index}"] .knv-packetwalk '
                     '.knv-diagram[data-painted-step="1"] svg').first.wait_for(timeout=300_000)
        times["first_walk"] = time.monotonic() - start
        page.wait_for_function(
            """() => { const panel = window.jupyterapp.shell.currentWidget;
                       return Array.from(panel.content.model.cells).filter((c) => c.type === 'code')
                         .every((c) => c.executionCount) && panel.sessionContext.session.kernel.status === 'idle'; }""",
            timeout=300_000, polling=250)
        times["all_cells"] = time.monotonic() - start
        if browser.blocked:
            raise SystemExit(f"requests outside 127.0.0.1: {browser.blocked}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--notebook", default="notebooks/00-start-here.ipynb")
    args = parser.parse_args()
    if not (SITE / "index.html").is_file():
        print(f"bench_site: {SITE} is not built: make site")
        return 0
    reason = chromium_missing()
    if reason:
        print(f"bench_site: {reason}")
        return 0
    from playwright.sync_api import sync_playwright

    runs: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
    loads = []
    with serve(SITE) as base, sync_playwright() as playwright:
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
                profile = Path(tmp)
                for kind in ("cold", "warm"):  # the warm visit re-uses the cold visit's profile
                    loads.append(os.getloadavg()[0])
                    runs[kind].append(one_visit(playwright, profile, base, args.notebook))
                    print(f"  {kind}: " + ", ".join(f"{k} {v:.1f} s" for k, v in runs[kind][-1].items()), flush=True)
    print(f"{args.notebook} from build/site, offline, {args.rounds} rounds; load average "
          f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs")
    for kind, visits in runs.items():
        for key in visits[0]:
            values = [v[key] for v in visits]
            goal = f"   goal < {GOALS[kind]:.0f} s" if key == "first_walk" else ""
            print(f"  {kind:4} {key:15} median {statistics.median(values):5.1f} s  "
                  f"(min {min(values):.1f}, max {max(values):.1f}){goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
