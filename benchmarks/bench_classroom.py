"""Sizes for a classroom (docs/teaching.md): memory and CPU per learner.

A learner on JupyterHub or Binder has one Jupyter server and one kernel per open notebook. This starts
the JupyterLab server as `make lab` would (no browser) and reads its memory once it answers; then, for
each notebook, starts a fresh kernel in notebooks/, runs every code cell top to bottom (as *Run All*
does), and reads from inside the kernel (getrusage) its peak resident memory and the CPU time it and
its children (Graphviz's `dot`, short-lived) used, start-up included. Prints a table and the
per-learner totals docs/teaching.md quotes. Asserts nothing.

    .venv/bin/python benchmarks/bench_classroom.py [NOTEBOOK ...]
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
# The first four notebooks: a learner's first session.
FIRST_SESSION = 4

USAGE = """
import json, resource
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"peak_kb": me.ru_maxrss, "cpu": me.ru_utime + me.ru_stime,
                  "child_cpu": kids.ru_utime + kids.ru_stime}))
"""


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_rss() -> float:
    """The JupyterLab server's resident memory once it answers (no browser, no kernel)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(8)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={REPO}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                # The lab page loads its settings and extensions: ask for it once, as a browser would.
                urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10).read()
                time.sleep(2)
                return rss_mb(server.pid)
            except OSError:
                time.sleep(0.5)
        raise TimeoutError("jupyter lab did not answer within 120 s")
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_notebook(path: Path) -> dict[str, float]:
    """Run every code cell of ``path`` in a fresh kernel; the kernel's peak memory and CPU time."""
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    cwd = os.getcwd()
    os.chdir(NOTEBOOKS)  # kernels start in the notebook's folder, as in Jupyter
    try:
        km, kc = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
    finally:
        os.chdir(cwd)
    try:
        start = time.monotonic()
        for source in cells:
            reply = kc.execute_interactive(source, timeout=600, output_hook=lambda msg: None)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{path.name}: a cell failed: {reply['content'].get('evalue')}")
        wall = time.monotonic() - start
        out: list[str] = []
        kc.execute_interactive(USAGE, timeout=60, output_hook=lambda msg: out.append(
            msg["content"].get("text", "")) if msg["header"]["msg_type"] == "stream" else None)
        usage = json.loads("".join(out))
        process = getattr(km.provisioner, "process", None)  # a local kernel's Popen (LocalProvisioner)
        assert process is not None, "the kernel runs as a local process"
        return {"peak_mb": usage["peak_kb"] / 1024, "rss_mb": rss_mb(process.pid),
                "cpu_s": usage["cpu"] + usage["child_cpu"], "wall_s": wall}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    server = server_rss()
    print(f"JupyterLab server (idle, lab page served): {server:.0f} MB resident\n")
    print(f"{'notebook':<32} {'peak MB':>8} {'end MB':>7} {'CPU s':>6} {'wall s':>7}")
    rows = {}
    for path in paths:
        r = run_notebook(path)
        rows[path.name] = r
        print(f"{path.name:<32} {r['peak_mb']:>8.0f} {r['rss_mb']:>7.0f} {r['cpu_s']:>6.1f} {r['wall_s']:>7.1f}")
    first = [rows[n] for n in sorted(rows)[:FIRST_SESSION]]
    if len(first) == FIRST_SESSION:
        names = ", ".join(sorted(rows)[:FIRST_SESSION])
        print(f"\nfirst session ({names}):")
        print(f"  one notebook open at a time: server + largest kernel = "
              f"{server + max(r['peak_mb'] for r in first):.0f} MB")
        print(f"  all four kernels left running: server + four kernels = "
              f"{server + sum(r['peak_mb'] for r in first):.0f} MB")
        print(f"  CPU to run all four top to bottom: {sum(r['cpu_s'] for r in first):.1f} s")
    print(f"every notebook: largest kernel {max(r['peak_mb'] for r in rows.values()):.0f} MB, "
          f"CPU {sum(r['cpu_s'] for r in rows.values()):.1f} s in total")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
