"""Drive the static JupyterLite site (``make site``) offline: a local HTTP server and Debian's Chromium.

The site is served from ``build/site`` by a threaded ``http.server`` on 127.0.0.1, and the browser gets
no other network: Chromium resolves no host name but 127.0.0.1, any other address goes to a dead proxy,
and a Playwright route aborts every request that is not for the local server and records it, so a test
can fail when anything tried to leave. The site exposes ``window.jupyterapp`` (``exposeAppInBrowser``);
the helpers go through the application's commands and the notebook model, and through the DOM for what a
learner sees and clicks.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.ui.jupyterlab import CHROMIUM, CHROMIUM_ARGS

__all__ = ["Offline", "serve", "offline_browser", "open_notebook", "run_all", "outputs", "scroll_to",
           "OFFLINE_ARGS"]

# Chromium itself refuses every host but 127.0.0.1: names do not resolve, addresses go to a dead proxy.
OFFLINE_ARGS = (*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1")


class _Handler(http.server.SimpleHTTPRequestHandler):
    # WebAssembly must be served as such for streaming compilation; ES modules as JavaScript.
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Offline:
    """A Chromium context that reaches only ``base``; ``blocked`` lists every other request it tried."""

    context: object
    base: str
    blocked: list[str] = field(default_factory=list)


@contextlib.contextmanager
def offline_browser(playwright, profile: Path, base: str, cache: bool = False) -> Iterator[Offline]:
    """Debian's Chromium (never a downloaded browser) with a fresh profile in ``profile``.

    Every request not for ``base`` is aborted and recorded by a route. A route turns the HTTP cache off,
    so with ``cache=True`` (warm-start measurements) requests are only recorded, from the request events;
    Chromium's own flags still keep them from leaving the machine.
    """
    context = playwright.chromium.launch_persistent_context(
        user_data_dir=str(profile), executable_path=CHROMIUM, headless=True, args=list(OFFLINE_ARGS),
        viewport={"width": 1400, "height": 1000})
    offline = Offline(context, base)
    local = (base + "/", "blob:", "data:")

    def route(r) -> None:
        if r.request.url.startswith(local):
            r.continue_()
        else:
            offline.blocked.append(r.request.url)
            r.abort()

    if cache:
        context.on("request", lambda req: None if req.url.startswith(local) else offline.blocked.append(req.url))
    else:
        context.route("**/*", route)
    try:
        yield offline
    finally:
        context.close()


# Ready: the kernel is idle and connected. A dialog (JupyterLab asking which kernel to start) ends the
# wait too, so the test fails at once with what the dialog says.
_KERNEL_IDLE = """() => {
  const dialog = document.querySelector('.jp-Dialog');
  if (dialog) return 'dialog: ' + dialog.innerText.replace(/\\s+/g, ' ');
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected' && 'idle';
}"""


def open_notebook(page, base: str, name: str, timeout: float = 120.0) -> dict[str, float]:
    """Open notebook ``name`` of the site in JupyterLab and wait for its kernel to be ready.

    Returns the seconds from navigation to the notebook shown and to the kernel ready (Pyodide, the
    kernel's packages and its Python side loaded: it answered and is idle).
    """
    start = time.monotonic()
    page.goto(f"{base}/lab/index.html?path={quote(name)}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-NotebookPanel .jp-Cell')",
                           timeout=timeout * 1000)
    shown = time.monotonic() - start
    state = page.wait_for_function(_KERNEL_IDLE, timeout=timeout * 1000, polling=100).json_value()
    if state != "idle":
        raise AssertionError(f"{name}: the kernel did not start by itself; JupyterLab shows a {state}")
    return {"notebook_shown": shown, "kernel_ready": time.monotonic() - start}


def run_all(page, timeout: float = 300.0) -> None:
    """Run every cell of the current notebook and wait until the last has finished (kernel idle again)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    # Done when every code cell has an execution count and the kernel is idle (a failing cell stops
    # run-all: the cells after it keep no count, and the test reads the error from the outputs).
    page.wait_for_function(
        """() => {
          const panel = window.jupyterapp.shell.currentWidget;
          const kernel = panel.sessionContext.session.kernel;
          const cells = Array.from(panel.content.model.cells).filter((c) => c.type === 'code');
          const errored = cells.some((c) => c.outputs.toJSON().some((o) => o.output_type === 'error'));
          const busy = Array.from(panel.content.widgets).some(
            (w) => w.model.type === 'code' && w.promptNode && w.promptNode.textContent.includes('*'));
          return kernel.status === 'idle' && !busy && (errored || cells.every((c) => c.executionCount));
        }""",
        timeout=timeout * 1000, polling=250)


def outputs(page) -> list[list[dict]]:
    """Each code cell's outputs as nbformat JSON, from the notebook model (JupyterLab does not render
    the DOM of cells far off-screen)."""
    return page.evaluate(
        """() => Array.from(window.jupyterapp.shell.currentWidget.content.model.cells)
                 .filter((c) => c.type === 'code').map((c) => c.outputs.toJSON())""")


def scroll_to(page, source: str, css: str, timeout: float = 60.0):
    """Bring the first cell whose code contains ``source`` into view; returns the Locator of ``css`` in it."""
    index = page.evaluate(
        """(source) => Array.from(window.jupyterapp.shell.currentWidget.content.model.cells)
                         .findIndex((c) => c.sharedModel.getSource().includes(source))""", source)
    if index < 0:
        raise AssertionError(f"no cell has {source!r}")
    page.evaluate("async (i) => { await window.jupyterapp.shell.currentWidget.content.scrollToItem(i, 'center'); }",
                  index)
    # JupyterLab renders only the cells near the view; each carries its index in the notebook.
    locator = page.locator(f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"] {css}').first
    locator.wait_for(state="visible", timeout=timeout * 1000)
    return locator
