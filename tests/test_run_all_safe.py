"""Run All is safe (issue 16): no notebook builds the real lab unless the learner opts in.

Notebook 03's lab cell passes ``run=RUN_THE_LAB`` with ``RUN_THE_LAB = False``; ``lab_demo`` touches the kernel
only with ``run=True``, even as root with every program the lab needs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def test_no_notebook_builds_the_lab_by_default() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                         if c["cell_type"] == "code")
        for call in re.findall(r"lab_demo\([^)]*\)", code):
            assert "run=RUN_THE_LAB" in call, f"{path.name}: {call}"
            assert re.search(r"^RUN_THE_LAB = False\b", code, re.M), f"{path.name}: the lab is on by default"
        assert not re.search(r"\bLab\(|lab up|\bbuild\(lab", code), f"{path.name} builds the lab"


def test_lab_demo_touches_nothing_without_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from k8snetviz.lab import demo

    monkeypatch.setattr(demo, "lab_unavailable", lambda: None)  # as root, every program present

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the lab was built")

    monkeypatch.setattr(demo, "Lab", refuse)
    shown = demo.lab_demo("kind-default", "kind-worker")
    assert "run=True" in str(shown)
