"""The package's folders are the cluster's layers, and imports only run one way.

ARCHITECTURE.md: scenario/ → api/ → agents/ → kernel/ → questions/ → views/ → the facade
(``k8snetviz.cluster``, ``k8snetviz.__init__``) → widgets/ → course/ → lab/ → cli. A module may import
from its own layer and the layers before it; ``errors`` is shared by all. Imports inside functions
count; imports under ``if TYPE_CHECKING:`` exist for annotations only and do not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "k8snetviz"

# The order data flows in. Everything in one entry is one layer.
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("scenario",),
    ("api",),
    ("agents",),
    ("kernel",),
    ("questions",),
    ("views",),
    ("cluster", "__init__"),
    ("widgets",),
    ("course",),
    ("lab",),
    ("cli", "__main__", "completion"),
]


def _layer(module: str) -> int:
    """The layer index of a module given as a dotted path below the package (``agents.cni.bridge``)."""
    head = module.split(".")[0] or "__init__"
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"module k8snetviz.{module} belongs to no layer: add its folder to LAYERS")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module below the package) for every runtime import of ``path``."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for stmt in child.orelse:
                    visit_stmt(stmt)
                continue
            visit_stmt(child)

    def visit_stmt(child: ast.AST) -> None:
        if isinstance(child, ast.Import):
            found.extend((child.lineno, a.name) for a in child.names)
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = ("k8snetviz." + module).split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (child.level - 1)]
                name = ".".join(base + ([child.module] if child.module else []))
            else:
                name = child.module or ""
            found.append((child.lineno, name))
        visit(child)

    visit(tree)
    return [(line, name[len("k8snetviz."):]) for line, name in found if name.startswith("k8snetviz.")]


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        _layer(module)


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_run_one_way(module: str) -> None:
    path = _modules()[module]
    own = _layer(module)
    upward = [f"line {line}: imports k8snetviz.{name} ({LAYERS[_layer(name)][0]}/, a later layer)"
              for line, name in _imports(path, module) if _layer(name) > own]
    assert not upward, f"k8snetviz.{module} ({LAYERS[own][0]}) " + "; ".join(upward)
