"""Running Graphviz: DOT text in, SVG or PNG out. The only module that calls the ``dot`` binary."""

from __future__ import annotations

import shutil
from pathlib import Path

from k8snetviz.errors import K8sNetVizError

__all__ = ["render", "have_dot", "save"]

INSTALL_HINT = ("Graphviz's `dot` is not installed: run `sudo apt-get install graphviz` "
                "(or `make lab`, which installs it)")


def have_dot() -> bool:
    return shutil.which("dot") is not None


def render(dot_source: str, fmt: str = "svg") -> bytes:
    """Lay out and draw DOT text with Graphviz."""
    if not have_dot():
        raise K8sNetVizError(INSTALL_HINT)
    import graphviz

    return graphviz.pipe("dot", fmt, dot_source.encode())


def save(dot_source: str, path: str | Path) -> Path:
    """Write ``.dot`` as text, ``.svg``/``.png`` through Graphviz."""
    p = Path(path)
    suffix = p.suffix.lower().lstrip(".")
    if suffix == "dot":
        p.write_text(dot_source, encoding="utf-8")
    elif suffix in ("svg", "png"):
        p.write_bytes(render(dot_source, suffix))
    else:
        raise K8sNetVizError(f'-o {path}: the file must end in .svg, .png or .dot')
    return p
