"""Ctrl-C on ``k8snetviz lab up|verify|down``, for real: one line, exit status 130, and nothing left behind.

Each test runs the command line in a process of its own on a copy of a shipped scenario named after the
test's lab id (the lab of ``SCENARIO.yaml`` is named after the file), waits until the phase it wants
has begun, and sends SIGINT as a terminal's Ctrl-C would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from k8snetviz.lab.build import load_layout
from k8snetviz.lab.netns import down, lab_netns_on_host
from k8snetviz.lab.state import RUN_DIR
from k8snetviz.scenario.loader import resolve_path

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


def _ours(lab_id: str) -> list[str]:
    return [n for n in lab_netns_on_host() if n.startswith(f"knv-{lab_id}-")]


def _start(action: str, scenario: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "k8snetviz", "lab", action, str(scenario)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))


def _wait_for(ready: Callable[[], bool], proc: subprocess.Popen[str], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before {what}: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:.0f}s")
        time.sleep(0.05)


def _interrupt(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.fixture
def scenario(lab_id: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{lab_id}.yaml"
    shutil.copy(resolve_path("two-node-bridge"), path)
    return path


def test_ctrl_c_while_up_builds_tears_it_down_and_exits_130(lab_id: str, scenario: Path) -> None:
    proc = _start("up", scenario)
    _wait_for(lambda: len(_ours(lab_id)) >= 3, proc, "namespaces")  # in the middle of the build
    code, err = _interrupt(proc)
    assert (code, err) == (130, "k8snetviz: interrupted by SIGINT; the lab was torn down\n")
    assert _ours(lab_id) == [] and not (RUN_DIR / f"{lab_id}.json").exists()


def test_ctrl_c_during_verify_exits_130_and_leaves_the_lab_up(lab_id: str, scenario: Path) -> None:
    up = subprocess.run([sys.executable, "-m", "k8snetviz", "lab", "up", str(scenario)], capture_output=True,
                        text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert up.returncode == 0, up.stderr
    try:
        built = _ours(lab_id)
        logs = [Path(d["log"]) for d in load_layout(lab_id).dns.values()]
        assert logs, "the scenario has cluster DNS, whose servers log each query"
        before = [log.stat().st_size if log.exists() else 0 for log in logs]
        proc = _start("verify", scenario)
        # verify's real glibc lookups reach the lab's DNS servers, which log each query: once a log
        # grows, verify is under way (past loading the scenario)
        _wait_for(lambda: [log.stat().st_size if log.exists() else 0 for log in logs] != before, proc,
                  "a DNS query")
        code, err = _interrupt(proc)
        assert code == 130
        assert err == (f"k8snetviz: interrupted by SIGINT; verify stopped; lab {lab_id} is still up "
                       f"(k8snetviz lab down {scenario} takes it down)\n")
        assert _ours(lab_id) == built, "verify changes no namespace"
    finally:
        down(lab_id)
    assert _ours(lab_id) == []
