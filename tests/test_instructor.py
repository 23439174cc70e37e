"""Instructor copies (``make instructor``, tools/instructor.py): every answer cell solved, presentation
mode on at the usual size, and each task's own solution passes its checker."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("instructor", ROOT / "tools" / "instructor.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def code(nb: dict, predicate=lambda s: True) -> list[str]:
    return [s for c in nb["cells"] if c["cell_type"] == "code" and predicate(s := "".join(c["source"]))]


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("instructor")
    assert tool.main([str(out)]) == 0
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_answer_cell_is_solved(copies: Path, path: Path) -> None:
    original = json.loads(path.read_text(encoding="utf-8"))
    copy = json.loads((copies / path.name).read_text(encoding="utf-8"))
    nbformat.validate(nbformat.from_dict(copy))
    checks = code(original, lambda s: "task.check(" in s)
    # A new shape of answer cell would be left unsolved: the tool must learn it.
    assert len(code(original, lambda s: bool(tool.ANSWER_CELL.match(s)))) == len(checks), path.name
    assert code(copy, lambda s: "task.check(" in s) == [tool.SOLVED] * len(checks)
    ids = [c["id"] for c in copy["cells"]]
    assert ids[:3] == ["k8snetviz-setup", "instructor-note", "instructor-present"]
    assert all(c["outputs"] == [] for c in copy["cells"] if c["cell_type"] == "code")


def test_the_learners_notebooks_are_untouched(tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in NOTEBOOKS}
    assert tool.main([str(tmp_path)]) == 0
    assert {p: p.read_bytes() for p in NOTEBOOKS} == before


# `task = st.task_fix_selector()` and the import that names `st`.
TASK_LINE = re.compile(r"^task = (\w+)\.(\w+)\(\)$", re.M)
ALIAS = re.compile(r"^from (k8snetviz\.course) import (\w+) as (\w+)$", re.M)


def notebook_tasks() -> list[tuple[str, str, str]]:
    found = []
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        source = "\n".join(code(nb))
        aliases = {alias: f"{pkg}.{module}" for pkg, module, alias in ALIAS.findall(source)}
        for alias, factory in TASK_LINE.findall(source):
            found.append((path.name, aliases[alias], factory))
    return found


TASKS = notebook_tasks()


@pytest.mark.parametrize(("notebook", "module", "factory"), TASKS, ids=[f"{n}:{f}" for n, _, f in TASKS])
def test_each_task_s_solution_passes_its_checker(notebook: str, module: str, factory: str) -> None:
    """What the instructor's copy shows: the solution, checked, is correct."""
    task = getattr(importlib.import_module(module), factory)()
    result = task.check(task.solution().answer)
    assert result.passed, f"{notebook}: {factory}: {result}"


def test_every_task_in_the_notebooks_is_found() -> None:
    assert len(TASKS) == sum(len(code(json.loads(p.read_text()), lambda s: "task.check(" in s)) for p in NOTEBOOKS)
