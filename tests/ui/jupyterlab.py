"""Drive a real JupyterLab 4 from tests: start an isolated server, open notebooks, run them, use widgets.

The server runs with ``LabApp.expose_app_in_browser`` so the page exposes ``window.jupyterapp``; the
helpers go through the application's own commands and session objects (the same objects the menus use),
and through the DOM only for what a learner sees and clicks. Browser: Debian's Chromium through
Playwright, never a downloaded browser.

Typical use (the fixtures in ``tests/ui/conftest.py`` do the first two lines)::

    with lab_server(root_dir=repo, workdir=tmp) as server:
        page = ...  # a Playwright page on /usr/bin/chromium
        open_notebook(page, server, "notebooks/02-pod-networking.ipynb")
        run_all_cells(page, "notebooks/02-pod-networking.ipynb")
        click(widget(page, css_class="widget-button", text="Step"))
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LabServer",
    "LabServerError",
    "chromium_missing",
    "click",
    "free_port",
    "lab_server",
    "open_notebook",
    "output_text",
    "read_text",
    "run_all_cells",
    "screenshot",
    "wait_for_kernel_idle",
    "widget",
    "write_notebook",
]

CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium as root in a sandboxed machine with no network but the package registries: no
# setuid sandbox, no GPU, and none of the background connections that would only be refused.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# The application object exposed by the page; every helper script starts from it.
_FIND_PANEL_JS = """
(path) => {
  const app = window.jupyterapp;
  if (!app) { return null; }
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) { return w; }
  }
  return null;
}
"""


class LabServerError(RuntimeError):
    """The JupyterLab server did not start or stopped answering; the message carries its log tail."""


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab server: where it listens and how to authenticate."""

    url: str
    token: str
    root_dir: Path
    log: Path

    def lab_url(self, path: str | None = None, workspace: str | None = None) -> str:
        """URL of the Lab UI, opening ``path`` (relative to ``root_dir``) in a fresh ``workspace``.

        >>> s = LabServer("http://127.0.0.1:8888/", "t0k", Path("/r"), Path("/l"))
        >>> s.lab_url("notebooks/a b.ipynb", workspace="w1")
        'http://127.0.0.1:8888/lab/workspaces/w1/tree/notebooks/a%20b.ipynb?token=t0k'
        """
        route = "lab"
        if workspace:
            route += f"/workspaces/{quote(workspace)}"
        if path:
            route += f"/tree/{quote(str(path))}"
        return f"{self.url}{route}?token={self.token}"

    def api(self, route: str, timeout: float = 5.0) -> dict:
        """GET a REST route (``api/status``) and return its JSON."""
        request = urllib.request.Request(
            self.url + route, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _isolated_env(workdir: Path) -> dict[str, str]:
    """Environment with Jupyter's per-user config, data, runtime, settings and workspaces in ``workdir``.

    The environment's own share/jupyter (lab extensions, the ipykernel spec) is still found through
    sys.prefix; nothing from the user's home leaks in.
    """
    dirs = {
        "JUPYTER_CONFIG_DIR": workdir / "config",
        "JUPYTER_DATA_DIR": workdir / "data",
        "JUPYTER_RUNTIME_DIR": workdir / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": workdir / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": workdir / "workspaces",
        "IPYTHONDIR": workdir / "ipython",
    }
    for folder in dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    # No news feed and no update check: there is no network, and a toast would cover widgets.
    notification = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"checkForUpdates": False, "fetchNews": "false"})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update({k: str(v) for k, v in dirs.items()})
    # The kernel spec says "python": make that this environment's interpreter.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def lab_server(root_dir: Path, workdir: Path, timeout: float = 120.0) -> Iterator[LabServer]:
    """Start ``jupyter lab`` serving ``root_dir``, wait until it answers, and stop it on exit.

    ``workdir`` holds the isolated Jupyter directories and the server log.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(24)
    port = free_port()
    log = workdir / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        # JupyterLab 4 / jupyter_server 2: the token belongs to the IdentityProvider
        # (ServerApp.token is its deprecated alias).
        f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=None",
        "--LanguageServerManager.autodetect=False",
    ]
    server = LabServer(f"http://127.0.0.1:{port}/", token, Path(root_dir), log)
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=_isolated_env(workdir),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its kernels join its process group, so teardown reaches them
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise LabServerError(
                    f"jupyter lab exited with status {process.returncode}:\n{_log_tail(log)}"
                )
            try:
                server.api("api/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                if time.monotonic() > deadline:
                    raise LabServerError(
                        f"jupyter lab did not answer on {server.url} within {timeout:.0f} s:\n"
                        f"{_log_tail(log)}"
                    ) from None
                time.sleep(0.25)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (server and kernels), then SIGKILL what is left."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """Write a notebook of code ``cells`` for the ``python3`` kernel (nbformat 4) and return its path."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    return path


def _relative(server: LabServer, path: str | Path) -> str:
    path = Path(path)
    if path.is_absolute():
        path = path.resolve().relative_to(server.root_dir.resolve())
    return path.as_posix()


def open_notebook(page, server: LabServer, path: str | Path, timeout: float = 60.0):
    """Open the notebook at ``path`` (absolute or relative to the server root) in a fresh workspace.

    Waits for the Lab shell, the notebook panel and an idle kernel; returns the panel's Locator.
    """
    rel = _relative(server, path)
    page.goto(server.lab_url(rel, workspace=f"ui-{secrets.token_hex(4)}"), wait_until="domcontentloaded")
    ms = timeout * 1000
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=ms)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.wait_for_function(f"(path) => ({_FIND_PANEL_JS})(path) !== null", arg=rel, timeout=ms)
    page.evaluate(
        f"""async (path) => {{
          const panel = ({_FIND_PANEL_JS})(path);
          window.jupyterapp.shell.activateById(panel.id);
          await panel.context.ready;
          await panel.sessionContext.ready;
          return true;
        }}""",
        rel,
    )
    wait_for_kernel_idle(page, rel, timeout=timeout)
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first


def wait_for_kernel_idle(page, path: str | Path, timeout: float = 60.0) -> None:
    """Wait until the notebook's kernel exists and reports ``idle`` (started, nothing executing)."""
    page.wait_for_function(
        f"""(path) => {{
          const panel = ({_FIND_PANEL_JS})(path);
          const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
          return !!kernel && kernel.status === 'idle';
        }}""",
        arg=Path(path).as_posix(),
        timeout=timeout * 1000,
    )


def run_all_cells(page, path: str | Path, timeout: float = 120.0) -> None:
    """Run every cell of the open notebook ``path`` through Lab's ``notebook:run-all-cells`` command.

    The command's promise settles once the last cell has finished; a cell that raised makes it
    resolve ``false``, and the error outputs are raised as an AssertionError.
    """
    rel = Path(path).as_posix()
    # page.evaluate has no timeout of its own: race the command against a timer in the page.
    ok = page.evaluate(
        f"""async ([path, ms]) => {{
          const app = window.jupyterapp;
          const panel = ({_FIND_PANEL_JS})(path);
          app.shell.activateById(panel.id);
          const run = app.commands.execute('notebook:run-all-cells');
          const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), ms));
          return await Promise.race([run, timer]);
        }}""",
        [rel, timeout * 1000],
    )
    if ok == "timeout":
        raise TimeoutError(f"running all cells of {rel} took longer than {timeout:.0f} s")
    wait_for_kernel_idle(page, rel, timeout=timeout)
    if ok is False:
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        raise AssertionError(f"a cell of {rel} failed:\n" + "\n".join(errors.all_inner_texts()))


def widget(scope, css_class: str | None = None, text: str | None = None):
    """Locator of the first visible element with ``css_class`` and/or containing ``text``.

    ``scope`` is a Page or a Locator (for example the notebook panel).
    """
    if not css_class and text is None:
        raise ValueError("give a css_class, a text, or both")
    locator = scope.locator(f".{css_class}" if css_class else "*")
    if text is not None:
        locator = locator.filter(has_text=text)
    return locator.locator("visible=true").first


def click(locator, timeout: float = 30.0) -> None:
    """Click ``locator`` once it is visible and enabled."""
    locator.click(timeout=timeout * 1000)


def read_text(locator, timeout: float = 30.0) -> str:
    """The rendered text of ``locator`` (what a learner reads), whitespace-trimmed.

    JupyterLab 4 gives each notebook cell ``content-visibility: auto``: while a cell is off screen the browser
    skips rendering it, and ``innerText`` of anything inside is '' (Run All scrolls the notebook to the cell it
    runs, so a widget found earlier may be thousands of pixels away by now). A learner scrolls to what they
    read; so does this: the element is brought on screen and read after the browser has rendered it.
    """
    locator.wait_for(state="visible", timeout=timeout * 1000)
    locator.scroll_into_view_if_needed(timeout=timeout * 1000)
    locator.evaluate("e => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    return locator.inner_text().strip()


def output_text(scope, cell_index: int, timeout: float = 30.0) -> str:
    """The text of the outputs of code-or-markdown cell number ``cell_index`` (0-based)."""
    cell = scope.locator(".jp-Notebook .jp-Cell").nth(cell_index)
    return read_text(cell.locator(".jp-OutputArea"), timeout=timeout)


def screenshot(page, directory: Path, name: str) -> Path:
    """Save a full-page PNG of ``page`` as ``directory/name.png`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = directory / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def chromium_missing() -> str | None:
    """Why the UI layer cannot run here (a reason for pytest.skip), or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: apt-get install chromium"
    for module in ("jupyterlab", "playwright"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed in this environment: pip install -e '.[test]'"
    return None
