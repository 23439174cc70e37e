"""Every shipped scenario built in the kernel, and every trace of its verify suite agreeing with the simulator.

A disagreement is a bug in the simulator or in the lab: the test fails and prints the table.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import k8snetviz
from k8snetviz import shipped_scenarios
from k8snetviz.lab import build as labbuild
from k8snetviz.lab.errors import LabError, NamespaceCollision, NotRoot
from k8snetviz.lab.netns import Lab, down, lab_netns_on_host
from k8snetviz.lab.state import RUN_DIR
from k8snetviz.lab.verify import verify

pytestmark = pytest.mark.lab

SCENARIOS = shipped_scenarios()


def _leftovers(lab_id: str) -> list[str]:
    """Anything of the lab still on the machine: namespaces, its record, /etc/netns files, its processes."""
    found = [n for n in lab_netns_on_host() if n.startswith(f"knv-{lab_id}-")]
    found += [str(p) for p in RUN_DIR.glob(f"{lab_id}*")]
    found += [str(p) for p in Path("/etc/netns").glob(f"knv-{lab_id}-*")]
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    found += [line for line in ps.splitlines() if "k8snetviz.lab.podserver" in line and "--name" in line
              and f"knv-{lab_id}-" in line]
    # a DNS server's command line names its query log, in the lab's work directory
    found += [line for line in ps.splitlines() if "k8snetviz.lab.dnsserver" in line
              and f"{RUN_DIR}/{lab_id}/" in line]
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_agrees_with_the_kernel(scenario: str, lab_id: str) -> None:
    cluster = k8snetviz.load(scenario)
    labbuild.up(scenario, lab_id=lab_id)
    try:
        report = verify(cluster, lab_id)
    finally:
        assert down(lab_id) == []
    assert not _leftovers(lab_id)
    assert report.all_agree, "\n" + report.text()
    kinds = {c.what.split(":")[0].split(" (")[0] for c in report.checks}
    assert {"pod->pod same node", "pod->own node", "pod->other node"} <= kinds
    # every shipped scenario has CoreDNS: the real resolver's queries are compared in each
    assert {"DNS queries", "DNS answer"} <= kinds


def test_a_failure_midway_leaves_nothing_behind(lab_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = k8snetviz.load("kind-default")
    real_start = labbuild.podserver.start
    started: list[int] = []

    def failing_start(*args: object, **kwargs: object) -> object:
        if len(started) == 2:  # two pod servers up, pods and veths made: then a step fails
            raise LabError("injected failure")
        proc = real_start(*args, **kwargs)  # type: ignore[arg-type]
        started.append(proc.pid)
        return proc

    monkeypatch.setattr(labbuild.podserver, "start", failing_start)
    with pytest.raises(LabError, match="injected failure"):
        labbuild.up("kind-default", lab_id=lab_id)
    assert len(started) == 2
    assert not _leftovers(lab_id)
    for pid in started:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    assert cluster.pods  # the model is untouched by a failed build


def test_a_name_taken_by_someone_else_is_refused_and_left_alone(lab_id: str) -> None:
    taken = f"knv-{lab_id}-lan"
    subprocess.run(["ip", "netns", "add", taken], check=True)
    try:
        with pytest.raises(NamespaceCollision, match="was not created by this lab"):
            labbuild.up("two-node-bridge", lab_id=lab_id)
        assert taken in lab_netns_on_host()
        assert [n for n in lab_netns_on_host() if n.startswith(f"knv-{lab_id}-")] == [taken]
        assert not list(RUN_DIR.glob(f"{lab_id}*"))
    finally:
        subprocess.run(["ip", "netns", "del", taken], check=True)


def test_too_large_is_refused_before_anything_is_made(lab_id: str) -> None:
    nodes = "\n".join(["- role: control-plane"] + ["- role: worker"] * 12)
    big = k8snetviz.loads(f"kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n{nodes}\n")
    with pytest.raises(LabError, match="too large for the lab: 13 nodes"):
        labbuild.check_size(big)
    with pytest.raises(NotRoot, match="needs root"), Lab(lab_id, euid=1000):
        pass
    assert not _leftovers(lab_id)


def test_cli_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    from k8snetviz.lab.cli import run_lab

    assert run_lab("up", "two-node-bridge") == 0
    try:
        assert run_lab("verify", "two-node-bridge") == 0
    finally:
        assert run_lab("down", "two-node-bridge") == 0
    out = capsys.readouterr().out
    last = [line for line in out.splitlines() if line.endswith(" disagree")]
    assert last and last[0].endswith(", 0 disagree")
    assert not _leftovers("two-node-bridge")
    assert os.geteuid() == 0
