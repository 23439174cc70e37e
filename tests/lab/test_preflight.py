"""Refusals that need neither root nor the system packages: they run everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8snetviz.errors import K8sNetVizError
from k8snetviz.lab.errors import MissingTool, NotRoot
from k8snetviz.lab.netns import Lab, down
from k8snetviz.lab.preflight import missing_requirements, require_root, require_tools
from k8snetviz.lab.state import netns_name, validate_lab_id


def test_not_root_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(NotRoot) as err:
        with Lab("demo", run_dir=run_dir, euid=1000):
            raise AssertionError("the body must not run")
    assert str(err.value) == (
        "the lab needs root to create network namespaces (running as uid 1000); "
        "run it with sudo, or use the simulator alone"
    )
    assert isinstance(err.value, K8sNetVizError)  # so the CLI prints one line and exits 2
    assert not run_dir.exists()
    with pytest.raises(NotRoot):
        down("demo", run_dir=run_dir, euid=1000)
    require_root(0)


def test_missing_plugins_and_programs_are_named(tmp_path: Path) -> None:
    (tmp_path / "bridge").write_text("#!/bin/sh\n")
    (tmp_path / "bridge").chmod(0o755)
    missing = missing_requirements(
        programs=("ip", "no-such-program-knv"), plugins=("bridge", "ptp"), dirs=(str(tmp_path),)
    )
    assert missing == ["no-such-program-knv", f"CNI plugin ptp (looked in {tmp_path})"]
    with pytest.raises(MissingTool, match=r"^the lab needs no-such-program-knv, CNI plugin ptp"):
        require_tools(programs=("no-such-program-knv",), plugins=("bridge", "ptp"), dirs=(str(tmp_path),))


def test_names_carry_the_prefix_and_are_checked() -> None:
    assert netns_name("gt-flannel", "kind-worker") == "knv-gt-flannel-kind-worker"
    for bad in ("", "Upper", "-x", "x-", "a" * 21, "a b", "a;rm"):
        with pytest.raises(K8sNetVizError, match="invalid lab id"):
            validate_lab_id(bad)
