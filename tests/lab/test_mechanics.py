"""The lab's safety: it creates only what it records, and removes all of it, whatever happens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from k8snetviz.lab.command import run
from k8snetviz.lab.errors import CommandError, LabError, NamespaceCollision
from k8snetviz.lab.netns import ETC_NETNS_DIR, Lab, down, lab_netns_on_host, netns_exists
from k8snetviz.lab.state import RUN_DIR, list_labs

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


def _ours(lab_id: str) -> list[str]:
    return [n for n in lab_netns_on_host() if n.startswith(f"knv-{lab_id}-")]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child still answers kill(0); it has stopped running
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def test_build_then_teardown_leaves_nothing(lab_id: str) -> None:
    etc_netns_existed = ETC_NETNS_DIR.exists()
    with Lab(lab_id, keep=False) as lab:
        a = lab.add_netns("a")
        b = lab.add_netns("b")
        lab.run_in(a, ["ip", "link", "add", "x0", "type", "veth", "peer", "name", "x1", "netns", b])
        resolv = lab.write_netns_file(a, "resolv.conf", "nameserver 10.96.0.10\n")
        sleeper = lab.spawn(b, ["sleep", "60"])
        assert _ours(lab_id) == sorted([a, b])
        assert lab.state is not None and lab.state.path.exists()
        # `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf
        assert lab.run_in(a, ["cat", "/etc/resolv.conf"]).stdout == "nameserver 10.96.0.10\n"
        ipam = lab.ipam_dir
    assert _ours(lab_id) == []
    assert not resolv.exists() and not resolv.parent.exists()
    assert ETC_NETNS_DIR.exists() == etc_netns_existed
    assert not ipam.exists()
    assert not (RUN_DIR / f"{lab_id}.json").exists()
    assert lab_id not in list_labs()
    assert not _alive(sleeper.pid)


def test_exception_midway_tears_down_and_propagates(lab_id: str) -> None:
    with pytest.raises(CommandError, match=r"'ip netns exec knv-.*-a ip link set nosuchdev up' exited 1"):
        with Lab(lab_id) as lab:  # keep=True: only the failure may tear it down
            a = lab.add_netns("a")
            lab.add_netns("b")
            lab.run_in(a, ["ip", "link", "set", "nosuchdev", "up"])
    assert _ours(lab_id) == []
    assert lab_id not in list_labs()


def test_kept_lab_is_taken_down_from_its_record(lab_id: str) -> None:
    with Lab(lab_id) as lab:
        lab.add_netns("a")
    assert len(_ours(lab_id)) == 1 and lab_id in list_labs()
    with pytest.raises(LabError, match="already up"):
        with Lab(lab_id):
            pass
    assert len(_ours(lab_id)) == 1, "refusing to build over a lab must not touch it"
    assert down(lab_id) == []
    assert _ours(lab_id) == [] and lab_id not in list_labs()
    assert down(lab_id) == []  # already down: nothing to do


def _builder(lab_id: str, then: str) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        import sys, time
        from k8snetviz.lab.netns import Lab
        with Lab({lab_id!r}, keep=False) as lab:
            ns = lab.add_netns("a")
            lab.add_netns("b")
            lab.spawn(ns, ["sleep", "60"])
            print("built", flush=True)
            {then}
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "built", proc.stderr.read() if proc.stderr else ""
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_midway_tears_down(lab_id: str, sig: signal.Signals) -> None:
    proc = _builder(lab_id, "time.sleep(30)")
    record = (RUN_DIR / f"{lab_id}.json").read_text()
    assert len(_ours(lab_id)) == 2
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0
    assert f"interrupted by {sig.name}; the lab was torn down" in err
    assert _ours(lab_id) == [] and lab_id not in list_labs()
    sleeper = int(record.split('"pid": ')[1].split(",")[0])
    assert not _alive(sleeper)


def test_killed_builder_is_cleaned_up_by_down(lab_id: str) -> None:
    # SIGKILL gives no chance to clean up: the record written before each step is what saves us
    proc = _builder(lab_id, "time.sleep(30)")
    proc.kill()
    proc.communicate(timeout=10)
    assert len(_ours(lab_id)) == 2 and lab_id in list_labs()
    assert down(lab_id) == []
    assert _ours(lab_id) == [] and lab_id not in list_labs()


def test_collision_is_refused_and_the_foreign_namespace_survives(lab_id: str) -> None:
    foreign = f"knv-{lab_id}-taken"
    run(["ip", "netns", "add", foreign])  # made by this test, not by the lab
    try:
        with pytest.raises(NamespaceCollision) as err:
            with Lab(lab_id) as lab:
                lab.add_netns("first")
                lab.add_netns("taken")
        assert str(err.value) == (
            f"network namespace {foreign!r} already exists and was not created by this lab; "
            "refusing to touch it (remove it yourself, or pick another lab id)"
        )
        assert netns_exists(foreign), "the lab must never delete what it did not create"
        assert _ours(lab_id) == [foreign]
        assert lab_id not in list_labs()
    finally:
        run(["ip", "netns", "del", foreign])


def test_etc_netns_collision_is_refused(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        ns = lab.add_netns("a")
        foreign = ETC_NETNS_DIR / ns
        parent_existed = ETC_NETNS_DIR.exists()
        foreign.mkdir(parents=True)  # made by this test, not by the lab
        try:
            with pytest.raises(NamespaceCollision, match=f"directory '{foreign}' already exists"):
                lab.write_netns_file(ns, "resolv.conf", "x")
        finally:
            foreign.rmdir()
            if not parent_existed:
                ETC_NETNS_DIR.rmdir()


def test_namespace_not_of_this_lab_is_refused(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        with pytest.raises(LabError, match="does not belong to lab"):
            lab.run_in("knv-someone-else", ["true"])
        with pytest.raises(LabError, match="invalid namespace role"):
            lab.add_netns("Bad Role")


def test_second_process_cannot_open_a_lab_in_use(lab_id: str) -> None:
    proc = _builder(lab_id, "time.sleep(30)")
    try:
        with pytest.raises(LabError, match="in use by another process"):
            down(lab_id)
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert _ours(lab_id) == []


def test_run_names_command_and_stderr() -> None:
    with pytest.raises(CommandError) as err:
        run(["ip", "route", "get", "not-an-address"])
    assert err.value.returncode != 0
    assert str(err.value).startswith("command 'ip route get not-an-address' exited ")
    assert "not-an-address" in err.value.detail
    assert run(["false"], check=False).returncode == 1
    t0 = time.monotonic()
    with pytest.raises(CommandError, match=r"'sleep 5' timed out: no answer within 0.2s"):
        run(["sleep", "5"], timeout=0.2)
    assert time.monotonic() - t0 < 3
    with pytest.raises(CommandError, match="cannot start"):
        run(["/nonexistent/binary"])
    with pytest.raises(TypeError, match="never a shell string"):
        run("ip route")  # type: ignore[arg-type]
