"""Rich notebook displays: a diagram (SVG) beside its text description, plus the text output."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from k8snetviz.questions.display import rich_view
from k8snetviz.questions.results import TraceResult

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["trace_bundle", "cluster_bundle", "svg_or_note"]


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


@rich_view.register
def trace_bundle(result: TraceResult) -> dict[str, str]:
    from k8snetviz.views.dot import cluster_dot, describe, drawing

    text = result.text()
    html = ""
    if result.cluster is not None:
        shown = drawing(result.cluster, result)  # what the diagram shows: decided once for both
        html = _figure(svg_or_note(cluster_dot(result.cluster, result, shown=shown)),
                       describe(result.cluster, result, shown=shown))
    return {"text/plain": text, "text/html": html + f"<pre>{escape(text)}</pre>"}


def cluster_bundle(cluster: Cluster) -> dict[str, str]:
    from k8snetviz.views.dot import cluster_dot, describe, drawing

    text = repr(cluster) + "\n" + cluster.get("nodes", wide=True)
    shown = drawing(cluster)
    html = _figure(svg_or_note(cluster_dot(cluster, shown=shown)), describe(cluster, shown=shown))
    return {"text/plain": text, "text/html": html + f"<pre>{escape(text)}</pre>"}
