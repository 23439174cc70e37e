"""The course's table of contents, read from the notebooks themselves so it never goes stale."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["contents", "Contents", "Lesson", "notebooks_dir"]

LESSONS = "[0-9][0-9]-*.ipynb"  # a lesson's file name starts with its number


def notebooks_dir() -> Path:
    """Where the course's notebooks are: ``K8SNETVIZ_NOTEBOOKS``, else the kernel's working directory when
    it holds lessons (Jupyter starts a kernel in its notebook's folder: a clone, nbgitpuller's copy on a
    hub, the instructor's copies), else ``notebooks/`` beside the package's checkout."""
    env = os.environ.get("K8SNETVIZ_NOTEBOOKS")
    if env:
        return Path(env)
    here = Path.cwd()
    if any(here.glob(LESSONS)):
        return here
    return Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class Lesson:
    file: str  # e.g. 01-node-networking.ipynb
    title: str  # the notebook's first heading
    summary: str  # the first paragraph after it


@dataclass
class Contents:
    lessons: list[Lesson]

    def text(self) -> str:
        return "\n".join(f"{lesson.file}: {lesson.title}" for lesson in self.lessons) or "(no notebooks found)"

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        md = "\n".join(f"{i}. [{lesson.title}]({lesson.file}): {lesson.summary}"
                       for i, lesson in enumerate(self.lessons, 1))
        return {"text/plain": self.text(), "text/markdown": md or "(no notebooks found)"}


def _lesson(path: Path) -> Lesson:
    nb = json.loads(path.read_text(encoding="utf-8"))
    title, summary = path.stem, ""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        lines = "".join(cell.get("source", "")).splitlines()
        heads = [i for i, ln in enumerate(lines) if ln.startswith("# ")]
        if heads:
            title = lines[heads[0]][2:].strip()
            para = []
            for ln in lines[heads[0] + 1:]:
                if ln.strip():
                    para.append(ln.strip())
                elif para:
                    break
            summary = " ".join(para)
            break
    return Lesson(path.name, title, summary)


def contents(folder: str | os.PathLike[str] | None = None) -> Contents:
    """The notebooks in course order (their file names start with the lesson number)."""
    d = Path(folder) if folder else notebooks_dir()
    return Contents([_lesson(p) for p in sorted(d.glob(LESSONS))])
