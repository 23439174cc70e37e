"""The first cell of every notebook: it installs k8snetviz where the kernel lacks it.

Where learners open the notebooks:

- Binder, ``make lab``, a JupyterHub set up as docs/teaching.md says: the package is installed; the cell
  does nothing.
- VS Code or a plain Jupyter in a clone of the repository: it installs the clone (editable) into the
  kernel's environment and puts it on the path at once.
- Colab, or a notebook downloaded on its own: it installs the released package from the package index.
- JupyterLite (``sys.platform == "emscripten"``): the site build ships the package; the cell does nothing.

    python tools/setup_cell.py          write (or update) the cell at the top of notebooks/*.ipynb
    python tools/setup_cell.py --check  exit 1 naming each notebook whose first cell differs

The notebooks are edited as text (the cell is inserted or replaced in place), so nothing else in them
changes. tests/test_setup_cell.py checks every notebook and what the cell does in each place.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["CELL_ID", "SOURCE", "cell", "apply", "main"]

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "k8snetviz-setup"
SOURCE = """\
# Set-up: installs k8snetviz where it is missing (Colab, VS Code, a plain Jupyter); elsewhere it does nothing.
import importlib.metadata
import pathlib
import sys

try:
    importlib.metadata.version("k8snetviz")
except importlib.metadata.PackageNotFoundError:
    if sys.platform != "emscripten":  # in JupyterLite the site installs it
        here = pathlib.Path.cwd().resolve()
        checkout = next((p for p in [here, *here.parents] if (p / "k8snetviz" / "__init__.py").is_file()), None)
        spec = f'-e "{checkout}"' if checkout else "k8snetviz"
        %pip install {spec}
        sys.path[:0] = [str(checkout)] if checkout else []  # this kernel imports it now, not after a restart
        importlib.invalidate_caches()"""


def cell() -> dict[str, object]:
    lines = SOURCE.splitlines(keepends=True)
    return {"cell_type": "code", "execution_count": None, "id": CELL_ID, "metadata": {}, "outputs": [],
            "source": lines}


def apply(text: str) -> str:
    """The notebook ``text`` with the set-up cell first: inserted, or replacing an older version of it."""
    nb = json.loads(text)
    if nb.get("nbformat") != 4 or nb.get("nbformat_minor", 0) < 5:
        raise ValueError("notebooks must be nbformat 4.5 (cells have ids)")
    start = text.index('"cells": [') + len('"cells": [')
    rest = text[start:].lstrip()
    if nb["cells"] and nb["cells"][0].get("id") == CELL_ID:  # drop the old version
        _, end = json.JSONDecoder().raw_decode(rest)
        rest = rest[end:].lstrip().removeprefix(",").lstrip()
    body = json.dumps(cell(), indent=1, sort_keys=True, ensure_ascii=False).replace("\n", "\n  ")
    if rest.startswith("{"):
        return f"{text[:start]}\n  {body},\n  {rest}"
    return f"{text[:start]}\n  {body}\n {rest}"


def first_cell_ok(text: str) -> bool:
    cells = json.loads(text)["cells"]
    return bool(cells) and cells[0].get("id") == CELL_ID and "".join(cells[0]["source"]) == SOURCE \
        and cells[0]["cell_type"] == "code"


def main(argv: list[str]) -> int:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if argv == ["--check"]:
        wrong = [p.name for p in notebooks if not first_cell_ok(p.read_text(encoding="utf-8"))]
        for name in wrong:
            print(f"notebooks/{name}: the first cell is not the set-up cell; run python tools/setup_cell.py",
                  file=sys.stderr)
        return 1 if wrong else 0
    if argv:
        print("usage: python tools/setup_cell.py [--check]", file=sys.stderr)
        return 2
    for path in notebooks:
        text = path.read_text(encoding="utf-8")
        new = apply(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
