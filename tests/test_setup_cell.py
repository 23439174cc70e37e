"""The notebooks' first cell (tools/setup_cell.py): the same in every notebook, and what it does in each
place learners open them. The cell is run as IPython would run it (its ``%pip`` line becomes a call to
``get_ipython().run_line_magic``), with a recording stand-in for IPython, so nothing is installed here."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parents[1]


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("setup_cell", ROOT / "tools" / "setup_cell.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_notebook_starts_with_the_setup_cell(path: Path) -> None:
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    assert first["id"] == tool.CELL_ID and first["cell_type"] == "code", \
        f"{path.name}: its first cell must be the set-up cell: run python tools/setup_cell.py"
    assert "".join(first["source"]) == tool.SOURCE, \
        f"{path.name}: its set-up cell is not the current one: run python tools/setup_cell.py"


def test_the_tool_inserts_once_and_replaces_an_old_version() -> None:
    text = NOTEBOOKS[0].read_text(encoding="utf-8")
    assert tool.apply(text) == text  # already there: nothing changes
    cells = json.loads(text)["cells"]
    without = json.dumps({**json.loads(text), "cells": cells[1:]}, indent=1, sort_keys=True, ensure_ascii=False)
    assert json.loads(tool.apply(without))["cells"] == cells
    old = json.loads(text)
    old["cells"][0]["source"] = ["# an older set-up cell\n"]
    redone = json.loads(tool.apply(json.dumps(old, indent=1, sort_keys=True)))
    assert redone["cells"] == cells
    empty = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    assert [c["id"] for c in json.loads(tool.apply(empty))["cells"]] == [tool.CELL_ID]


class FakeIPython:
    def __init__(self) -> None:
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line))


def run_cell(monkeypatch: pytest.MonkeyPatch, cwd: Path, *, installed: bool,
             platform: str = "linux") -> tuple[FakeIPython, dict[str, Any]]:
    """Run the set-up cell in ``cwd`` as IPython would, with k8snetviz installed or not."""
    code = TransformerManager().transform_cell(tool.SOURCE)
    ipython = FakeIPython()
    real_version = importlib.metadata.version

    def version(name: str) -> str:
        if name == "k8snetviz" and not installed:
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(cwd)
    namespace: dict[str, Any] = {"get_ipython": lambda: ipython}
    exec(compile(code, "<setup cell>", "exec"), namespace)
    return ipython, namespace


def test_where_the_package_is_installed_the_cell_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    path_before = list(sys.path)
    ipython, _ = run_cell(monkeypatch, ROOT / "notebooks", installed=True)
    assert ipython.magics == [] and sys.path == path_before


def test_in_a_clone_it_installs_the_clone_and_imports_it_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    ipython, namespace = run_cell(monkeypatch, ROOT / "notebooks", installed=False)
    assert ipython.magics == [("pip", "install {spec}")]
    assert namespace["spec"] == f'-e "{ROOT}"'
    assert sys.path[0] == str(ROOT)


def test_elsewhere_it_installs_the_released_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ipython, namespace = run_cell(monkeypatch, tmp_path, installed=False)  # Colab: /content, no checkout
    assert ipython.magics == [("pip", "install {spec}")] and namespace["spec"] == "k8snetviz"


def test_in_jupyterlite_it_leaves_the_package_to_the_site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ipython, _ = run_cell(monkeypatch, tmp_path, installed=False, platform="emscripten")
    assert ipython.magics == []
