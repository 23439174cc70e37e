"""Rich notebook displays: a diagram beside its text description, plus the text output.

In a live notebook kernel the diagram is a widget that the browser lays out from the DOT (Graphviz
compiled to WebAssembly): no ``dot`` binary is needed, JupyterLite included. The widgets layer offers it
through the ``k8snetviz.display`` entry point named ``diagram`` (views never import widgets). The
bundle's ``text/html`` stays a static figure, an SVG made by Graphviz's ``dot`` where it is installed,
for front ends without widgets (nbconvert, a plain IPython).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from k8snetviz.questions.display import rich_view
from k8snetviz.questions.results import TraceResult

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["trace_bundle", "cluster_bundle", "svg_or_note", "live_diagram"]


def svg_or_note(dot_source: str) -> str:
    from k8snetviz.views.render import have_dot, render

    if not have_dot():
        return "<p><i>(Install Graphviz to see the diagram.)</i></p>"
    svg = render(dot_source, "svg").decode()
    return svg[svg.find("<svg"):]


def _figure(svg: str, description: str) -> str:
    return (f'<figure class="knv-figure" role="group" aria-label="{escape(description)}" style="margin:0">'
            f'<div style="overflow-x:auto">{svg}</div>'
            f"<figcaption><small>{escape(description)}</small></figcaption></figure>")


@functools.cache
def live_diagram() -> Callable[[str, str, str], dict[str, Any]] | None:
    """What shows a diagram in a live kernel: ``live(dot, description, text)`` returns the display's
    widget part; None where the widgets are not installed."""
    from importlib.metadata import entry_points

    for point in entry_points(group="k8snetviz.display", name="diagram"):
        return point.load()  # type: ignore[no-any-return]
    return None


def _in_kernel() -> bool:
    """Whether a notebook kernel (ipykernel, JupyterLite's Pyodide kernel) runs this code: widgets can show."""
    import sys

    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def _bundle(dot: str | None, description: str, text: str) -> dict[str, Any]:
    html = f"<pre>{escape(text)}</pre>"
    if dot is None:
        return {"text/plain": text, "text/html": html}
    bundle: dict[str, Any] = {"text/plain": text, "text/html": _figure(svg_or_note(dot), description) + html}
    live = live_diagram() if _in_kernel() else None
    if live is not None:
        bundle.update(live(dot, description, text))
    return bundle


@rich_view.register
def trace_bundle(result: TraceResult) -> dict[str, Any]:
    from k8snetviz.views.dot import cluster_dot, describe, drawing

    if result.cluster is None:
        return _bundle(None, "", result.text())
    shown = drawing(result.cluster, result)  # what the diagram shows: decided once for the DOT and its text
    return _bundle(cluster_dot(result.cluster, result, shown=shown), describe(result.cluster, result, shown=shown),
                   result.text())


def cluster_bundle(cluster: Cluster) -> dict[str, Any]:
    from k8snetviz.views.dot import cluster_dot, describe, drawing

    shown = drawing(cluster)
    return _bundle(cluster_dot(cluster, shown=shown), describe(cluster, shown=shown),
                   repr(cluster) + "\n" + cluster.get("nodes", wide=True))
