"""The package's folders are the cluster's layers, and imports only run one way.

ARCHITECTURE.md: scenario/ → api/ → agents/ → kernel/ → questions/ → views/ → the facade
(``k8snetviz.cluster``, ``k8snetviz.__init__``) → widgets/ → course/ → lab/ → cli. A module may import
from its own layer and the layers before it; ``errors`` is shared by all. Imports inside functions
count; imports under ``if TYPE_CHECKING:`` exist for annotations only and do not.
"""

from __future__ import annotations

import ast
import functools
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


@functools.cache
def _runtime_imports(path: Path, module: str) -> tuple[tuple[int, str, bool], ...]:
    """(line, imported module, named by ``from … import``) for every runtime import of ``path``.

    Imports are statements, so only statement bodies are walked (a fraction of the syntax tree); the
    ``if TYPE_CHECKING:`` branch is skipped, its ``else`` is not.
    """
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    found: list[tuple[int, str, bool]] = []

    def statements(stmts: list[ast.stmt]) -> None:
        for st in stmts:
            if isinstance(st, ast.Import):
                found.extend((st.lineno, a.name, False) for a in st.names)
            elif isinstance(st, ast.ImportFrom):
                if st.level:
                    base = ("k8snetviz." + module).split(".")
                    base = base if is_pkg else base[:-1]
                    base = base[: len(base) - (st.level - 1)]
                    name = ".".join(base + ([st.module] if st.module else []))
                else:
                    name = st.module or ""
                found.append((st.lineno, name, True))
            elif isinstance(st, ast.If) and _is_type_checking(st.test):
                statements(st.orelse)
                continue
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                block = getattr(st, field, None)
                if isinstance(block, list):
                    for item in block:
                        if isinstance(item, ast.stmt):
                            statements([item])
                        elif hasattr(item, "body"):  # except handlers, match cases
                            statements(item.body)

    statements(tree.body)
    return tuple((line, name[len("k8snetviz."):], named) for line, name, named in found
                 if name.startswith("k8snetviz."))


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module below the package) for every runtime import of ``path``."""
    return [(line, name) for line, name, _ in _runtime_imports(path, module)]


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


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or round a loop (a package counts as its __init__)."""
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for _, name, named_by_from in _runtime_imports(path, module):
            target = name
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != module:
                edges[module].add(target)
            if named_by_from and name in modules and name != module:
                edges[module].add(name)  # ``from k8snetviz.pkg import sub`` runs the package's __init__ too
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
