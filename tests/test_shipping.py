"""What a user gets from the package's metadata and the command line's front door: the licence, one
version, the lock that Binder and CI install with, ``--version`` and ``--help``. (Building and installing
the wheel and the sdist is the packaging layer, tests/distribution/.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import k8snetviz
from k8snetviz.cli import EPILOG, main

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "constraints.txt"


def lock() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = Version(version)
    return pins


def requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    return [r for r in reqs if r.name != "k8snetviz"]


def test_the_licence_is_apache_2_in_spdx_form_with_its_text() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert not any(c.startswith("License ::") for c in PYPROJECT["project"]["classifiers"])  # PEP 639


def test_the_version_is_written_once() -> None:
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "k8snetviz.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", k8snetviz.__version__)


def test_dependencies_have_lower_bounds_and_no_upper_pins() -> None:
    for req in requirements():
        ops = {s.operator for s in req.specifier}
        assert ops == {">="}, f"{req}: the package states lower bounds; exact versions belong in constraints.txt"


def test_the_lock_pins_every_dependency_within_its_bounds() -> None:
    pins = lock()
    for req in requirements():
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{req.name} is not in constraints.txt: run make lock"
        assert pins[name] in req.specifier, f"constraints.txt pins {req.name}=={pins[name]}, outside {req.specifier}"


def test_binder_installs_the_course_extra_with_the_lock_for_the_locked_python() -> None:
    lines = [ln for ln in (ROOT / "binder/requirements.txt").read_text().splitlines()
             if ln and not ln.startswith("#")]
    assert lines == ["-c ../constraints.txt", "-e .[course]"]
    runtime = (ROOT / "binder/runtime.txt").read_text().strip()
    assert f"python {runtime.removeprefix('python-')} " in LOCK.read_text().splitlines()[0]
    assert "graphviz" in (ROOT / "binder/apt.txt").read_text().split()


def test_the_course_extra_has_no_test_tools() -> None:
    course = {Requirement(r).name for r in PYPROJECT["project"]["optional-dependencies"]["course"]}
    assert "jupyterlab" in course
    assert not course & {"pytest", "playwright", "ruff", "mypy", "nbval", "build"}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"k8snetviz {k8snetviz.__version__}\n"


def test_help_lists_the_shipped_scenarios_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    listed = out.split("shipped scenarios (use the name instead of a path):\n", 1)[1].split("\n\n", 1)[0]
    assert sorted(n.strip() for n in listed.replace("\n", ",").split(",") if n.strip()) == k8snetviz.shipped_scenarios()
    assert "k8snetviz trace two-node-bridge --from default/client --to default/web:80" in out
    assert "completion bash" in out


def test_every_example_in_help_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples are commands a learner copies: each one answers with status 0 (the one that reads the
    learner's own dump runs on a copy of a shipped scenario with a Service)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-cluster.yaml").write_text((ROOT / "k8snetviz/data/scenarios/kind-default.yaml").read_text())
    examples = [ln.split("#")[0].strip() for ln in EPILOG.split("examples:\n", 1)[1].split("\n\n")[0].splitlines()]
    assert len(examples) >= 5
    for example in examples:
        argv = shlex.split(example)
        assert argv[0] == "k8snetviz"
        code = main(argv[1:])
        out, err = capsys.readouterr()
        assert code == 0, (example, err)
        assert out or err, example
    assert (tmp_path / "walk.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
