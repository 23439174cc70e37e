"""``k8snetviz lab up|verify|down`` as the command line sees it, without root or namespaces.

An interrupt ends every phase the same way (one line, 128 + the signal's number); a teardown under way
finishes before the interrupt is reported; a slow probe is a failed check, not the end of ``verify``;
and the lab needs no package that ``make test`` does not install, or says in one line which extra to add.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import k8snetviz
from k8snetviz.lab import build, netns, preflight
from k8snetviz.lab import verify as lab_verify
from k8snetviz.lab.cli import run_lab
from k8snetviz.lab.errors import CommandError, LabInterrupted
from k8snetviz.lab.netns import Lab

REPO = Path(__file__).resolve().parents[1]


def _signal_self(sig: signal.Signals) -> Any:
    def deliver(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), sig)
        raise AssertionError("the signal handler should have raised")
    return deliver


def _run(action: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_lab(action, "two-node-bridge", out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("action", "patch", "outcome"), [
    ("up", (build, "up"), "nothing was built"),
    ("verify", (lab_verify, "verify"), "verify stopped; lab two-node-bridge is still up "
                                       "(k8snetviz lab down two-node-bridge takes it down)"),
    ("down", (netns, "down"), "lab two-node-bridge was not taken down; run k8snetviz lab down two-node-bridge again"),
])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_exits_128_plus_the_signal_in_every_action(monkeypatch: pytest.MonkeyPatch, action: str,
                                                               patch: tuple[Any, str], outcome: str,
                                                               sig: signal.Signals) -> None:
    monkeypatch.setattr(preflight, "require_root", lambda euid=None: None)
    monkeypatch.setattr(*patch, _signal_self(sig))
    before = signal.getsignal(sig)
    code, out, err = _run(action)
    assert code == 128 + sig == {signal.SIGINT: 130, signal.SIGTERM: 143}[sig]
    assert err == f"k8snetviz: interrupted by {sig.name}; {outcome}\n"
    assert out == ""
    assert signal.getsignal(sig) is before, "the handlers are put back"


def test_an_interrupt_inside_the_build_tears_the_lab_down_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    # The build's own handler (Lab) raises; the command line reports it like any other phase.
    def up(scenario: str, *, lab_id: str | None = None) -> None:
        raise LabInterrupted(signal.SIGINT)

    monkeypatch.setattr(build, "up", up)
    assert _run("up") == (130, "", "k8snetviz: interrupted by SIGINT; the lab was torn down\n")


def test_the_command_line_exits_with_the_interrupts_status(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from k8snetviz.cli import main

    monkeypatch.setattr(netns, "down", _signal_self(signal.SIGINT))
    assert main(["lab", "down", "two-node-bridge"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "k8snetviz: interrupted by SIGINT; lab two-node-bridge was not taken down; run k8snetviz lab down "
        "two-node-bridge again"]


def test_a_teardown_under_way_finishes_before_the_interrupt_is_raised(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    real_rmtree = netns.shutil.rmtree

    def rmtree(path: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # in the middle of the teardown: noted, acted on after
        real_rmtree(path, **kwargs)

    # What SIGINT did before the lab (Python's default_int_handler, or SIG_IGN where the test runner was
    # started in the background by a non-interactive shell) is what it does after.
    before = signal.getsignal(signal.SIGINT)
    lab = Lab("t-defer", keep=False, run_dir=tmp_path, euid=0)
    with pytest.raises(LabInterrupted, match="^interrupted by SIGINT; the lab was torn down$"):
        with lab:
            workdir = lab.workdir
            monkeypatch.setattr(netns.shutil, "rmtree", rmtree)
    assert not workdir.exists() and not (tmp_path / "t-defer.json").exists(), "the teardown finished"
    assert signal.getsignal(signal.SIGINT) is before


# --- verify goes on past a slow probe ----------------------------------------------------------------------

def test_a_probe_that_does_not_answer_is_a_failed_check_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = k8snetviz.load("two-node-bridge")
    layout = build.Layout("t-slow", "two-node-bridge", "/usr/lib/cni",
                          netns={"pod/default/client": "knv-t-slow-p1", "pod/default/web": "knv-t-slow-p2"},
                          servers={"pod/default/web": {"tcp": [80], "udp": []}})
    case = lab_verify.Case("pod->pod cross node", "pod/default/client", str(cluster.pods["default/web"].ip), 80)
    sim = cluster.trace(case.src, case.dst)
    argv = ["ip", "netns", "exec", "knv-t-slow-p1", "python3", "-m", "k8snetviz.lab.podserver"]

    def ask(*args: Any, **kwargs: Any) -> Any:
        raise CommandError(argv, "no answer within 11s", None)

    monkeypatch.setattr(lab_verify.podserver, "ask", ask)
    ans = lab_verify._ask(layout, case, "pod/default/client", sim)
    assert isinstance(ans, lab_verify.ProbeFailed)
    report = lab_verify.Report()
    monkeypatch.setattr(lab_verify, "route_get", lambda ns, addr: {"error": "not in a lab"})
    lab_verify._run_case(cluster, layout, case, ans, sim, report, set())
    check = report.checks[0]
    assert check.what == f"pod->pod cross node: pod/default/client -> {case.dst}/TCP"
    assert (check.real, check.agree) == ("no answer from the probe", False)
    assert check.sim.startswith("answered by default/web, saw ")
    assert check.detail == ("the probe failed, so the kernel's side is unknown: command 'ip netns exec "
                            "knv-t-slow-p1 python3 -m k8snetviz.lab.podserver' timed out: no answer within 11s")
    assert len(report.checks) > 1, "the route checks of the same walk still run"


# --- without dnslib ---------------------------------------------------------------------------------------

_NO_DNSLIB = """
import os, sys
sys.modules["dnslib"] = None  # as if the lab extra were not installed
{setup}
from k8snetviz.cli import main
sys.exit(main({argv!r}))
"""


def _without_dnslib(argv: list[str], setup: str = "") -> subprocess.CompletedProcess[str]:
    code = _NO_DNSLIB.format(setup=textwrap.dedent(setup), argv=argv)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


@pytest.mark.parametrize("action", ["up", "verify", "down"])
def test_without_dnslib_a_non_root_user_is_refused_as_non_root(action: str) -> None:
    done = _without_dnslib(["lab", action, "two-node-bridge"], "os.geteuid = lambda: 1000")
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("k8snetviz: the lab needs root to create network namespaces (running as uid 1000); "
                           "run it with sudo, or use the simulator alone\n")


def test_without_dnslib_lab_down_works(tmp_path: Path) -> None:
    done = _without_dnslib(["lab", "down", "two-node-bridge"], f"""
        import os
        os.geteuid = lambda: 0
        import k8snetviz.lab.netns as n
        from pathlib import Path
        n.RUN_DIR = Path({str(tmp_path)!r})
        n.down.__kwdefaults__["run_dir"] = n.RUN_DIR
    """)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == "lab two-node-bridge is down\n"


def test_without_dnslib_lab_up_says_which_extra_to_install() -> None:
    done = _without_dnslib(["lab", "up", "two-node-bridge"], """
        import os
        os.geteuid = lambda: 0
        import k8snetviz.lab.build as b
        b.preflight = lambda euid=None: "/usr/lib/cni"
        b.Lab = None  # nothing may be built
    """)
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("k8snetviz: the lab's DNS servers need the Python package dnslib: "
                           "pip install 'k8snetviz[lab]'\n")


# --- the probe starts at once ---------------------------------------------------------------------------

def test_the_probe_runs_by_its_path_on_the_standard_library_alone() -> None:
    # Importing the package took most of a second of CPU per probe, and eight side by side on a busy
    # machine ran past verify's deadline: the probe imports nothing of k8snetviz and runs without site.
    import ast
    import json
    import socket
    import threading

    from k8snetviz.lab import probe

    tree = ast.parse(probe.PATH.read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] + \
        [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.split(".")[0] == "k8snetviz"], imported

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def answer() -> None:  # as a pod server answers: one JSON line naming the pod and the peer it saw
            conn, peer = server.accept()
            with conn:
                conn.sendall(json.dumps({"pod": "default/web", "peer": f"{peer[0]}:{peer[1]}",
                                         "local": f"127.0.0.1:{port}", "proto": "tcp"}).encode() + b"\n")

        thread = threading.Thread(target=answer)
        thread.start()
        done = subprocess.run([sys.executable, "-I", "-S", str(probe.PATH), f"tcp://127.0.0.1:{port}",
                               "--timeout", "10"], capture_output=True, text=True, timeout=60)
        thread.join(timeout=10)
    assert done.returncode == 0, done.stderr
    got = probe.Answer(**json.loads(done.stdout))
    assert (got.ok, got.pod, got.proto, got.local) == (True, "default/web", "tcp", f"127.0.0.1:{port}")
    assert got.peer.startswith("127.0.0.1:")
