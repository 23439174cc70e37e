"""Instructor copies of the notebooks, with the solutions revealed (``make instructor``).

Each copy of ``notebooks/NN-topic.ipynb`` goes to ``build/instructor/NN-topic.ipynb`` (never committed):

- a note at the top says it is the instructor's copy;
- a cell after the set-up cell turns on presentation mode at the usual size (``k8snetviz.present(scale=1)``),
  so every task shows its solution and every prediction its folded answer;
- every answer cell (``answer = ...`` then ``task.check(answer)``) answers with the task's own solution,
  so running the copy shows each check passing.

    python tools/instructor.py [OUT_DIR]

Standard library only; the notebooks are read and written as JSON, outputs stay empty.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["instructor_copy", "ANSWER_CELL", "main"]

ROOT = Path(__file__).resolve().parents[1]
# An answer cell as the notebooks write it: a placeholder answer, then the check.
ANSWER_CELL = re.compile(r"\Aanswer = .*\ntask\.check\(answer\)\s*\Z", re.S)
SOLVED = "answer = task.solution().answer  # the instructor's copy: the task's own solution\ntask.check(answer)"
NOTE = ("> **Instructor's copy** (written by `make instructor` from `notebooks/{name}`): the solutions are shown "
        "and every answer cell holds the task's solution. Hand learners the notebook in `notebooks/`, not "
        "this one. To present live, run `k8snetviz.present()` for larger text and diagrams.")
PRESENT = "import k8snetviz\n\nk8snetviz.present(scale=1)  # solutions shown, usual size"


def _cell(kind: str, source: str, cell_id: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source.splitlines(True)}
    if kind == "code":
        cell |= {"execution_count": None, "outputs": []}
    return cell


def instructor_copy(nb: dict[str, Any], name: str) -> tuple[dict[str, Any], int]:
    """The instructor's copy of notebook ``nb`` (file ``name``) and how many answer cells it solved."""
    cells = [dict(c) for c in nb["cells"]]
    solved = 0
    for cell in cells:
        if cell["cell_type"] == "code" and ANSWER_CELL.match("".join(cell["source"])):
            cell["source"] = SOLVED.splitlines(True)
            solved += 1
    at = 1 if cells and cells[0].get("id") == "k8snetviz-setup" else 0
    cells[at:at] = [_cell("markdown", NOTE.format(name=name), "instructor-note"),
                    _cell("code", PRESENT, "instructor-present")]
    return {**nb, "cells": cells}, solved


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "build" / "instructor"
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        copy, solved = instructor_copy(json.loads(path.read_text(encoding="utf-8")), path.name)
        (out / path.name).write_text(json.dumps(copy, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
        total += solved
        print(f"{_shown(out / path.name)}: {solved} task{'s' if solved != 1 else ''} solved")
    print(f"==> {total} solutions revealed; open {_shown(out)}/ in JupyterLab (make lab, then the file browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
