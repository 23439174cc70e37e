"""Rich notebook displays: a diagram beside its text description, plus the text output.

A walk shows its verdict, the diagram, one table row per step, and the full account (every rule that
decided a step, who wrote it, for which object) behind a *details* element the learner opens. Every
display has a ``text/plain`` form, and its HTML carries the theme's style sheet (:mod:`k8snetviz.views.theme`).

In a live notebook kernel the diagram is a widget that the browser lays out from the DOT (Graphviz
compiled to WebAssembly): no ``dot`` binary is needed, JupyterLite included. The widgets layer offers it
through the ``k8snetviz.display`` entry point named ``diagram`` (views never import widgets), with the
same HTML before and after it. The bundle's ``text/html`` stays a static figure, an SVG made by Graphviz's
``dot`` where it is installed, for front ends without widgets (nbconvert, a plain IPython).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from k8snetviz.questions.display import rich_view
from k8snetviz.questions.results import TraceResult
from k8snetviz.views.theme import themed

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["trace_bundle", "cluster_bundle", "svg_or_note", "live_diagram", "figure", "steps_table"]


def svg_or_note(dot_source: str) -> str:
    from k8snetviz.views.render import have_dot, render

    if not have_dot():
        return "<p><i>(Install Graphviz to see the diagram.)</i></p>"
    svg = render(dot_source, "svg").decode()
    return svg[svg.find("<svg"):]


def figure(svg: str, description: str) -> str:
    """The diagram fitted to the cell, a *fit to width* switch for a closer look, and its description."""
    return (f'<figure class="knv-figure" role="group" aria-label="{escape(description)}">'
            '<label class="knv-zoom"><input type="checkbox" class="knv-fit" checked>fit to width '
            "(untick to see the diagram at its own size)</label>"
            f'<div class="knv-svg">{svg}</div>'
            f"<figcaption>{escape(description)}</figcaption></figure>")


def steps_table(result: TraceResult) -> str:
    """One row per hop: step, where, device, what happened, source and destination as they leave the hop."""
    rows = []
    replying = False
    for h in result.hops:
        classes = []
        if h.reply and not replying:
            classes.append("knv-reply-start")
        replying = h.reply
        if h.action in ("drop", "reject") or (h is result.hops[-1] and not result.delivered):
            classes.append("knv-stop")
        cls = f' class="{" ".join(classes)}"' if classes else ""
        what = ("reply: " if h.reply else "") + h.action
        rows.append(f"<tr{cls}><td>{h.step}</td><td class=\"knv-where\">{escape(h.at)}</td><td>{escape(h.device)}</td>"
                    f"<td>{escape(what)}</td><td>{escape(h.src)} → {escape(h.dst)}</td></tr>")
    head = "<tr><th>step</th><th>where</th><th>device</th><th>what</th><th>source → destination</th></tr>"
    return f'<table class="knv-steps">{head}{"".join(rows)}</table>'


def _verdict(result: TraceResult) -> str:
    mark, cls = ("✔", "knv-ok") if result.delivered else ("✘", "knv-bad")
    return (f'<p class="knv-verdict {cls}">{mark} <b>{escape(result.verdict)}</b>: {escape(result.reason)}</p>')


@functools.cache
def live_diagram() -> Callable[..., dict[str, Any]] | None:
    """What shows a diagram in a live kernel: ``live(dot, description, text, before=HTML, after=HTML)``
    returns the display's widget part; None where the widgets are not installed."""
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


def _bundle(dot: str | None, description: str, text: str, *, before: str = "", after: str | None = None,
            classes: str = "") -> dict[str, Any]:
    """The display: ``before`` (HTML), the diagram of ``dot``, then ``after`` (HTML; the text by default)."""
    after = f"<pre>{escape(text)}</pre>" if after is None else after
    if dot is None:
        return {"text/plain": text, "text/html": themed(before + after, classes)}
    html = themed(before + figure(svg_or_note(dot), description) + after, classes)
    bundle: dict[str, Any] = {"text/plain": text, "text/html": html}
    live = live_diagram() if _in_kernel() else None
    if live is not None:
        bundle.update(live(dot, description, text, before=themed(before, classes) if before else "",
                           after=themed(after, classes), classes=classes))
    return bundle


@rich_view.register
def trace_bundle(result: TraceResult) -> dict[str, Any]:
    from k8snetviz.views.dot import cluster_dot, describe, drawing

    text = result.text()
    after = [steps_table(result)]
    if result.candidates:
        after.append("<p>kube-proxy could pick: " + escape(", ".join(
            f"{c['pod']} ({c['probability']:.0%})" for c in result.candidates)) + "</p>")
    after.append('<details class="knv-details"><summary>Every step, with the rule that decided it and who wrote '
                 f"it</summary><pre>{escape(text)}</pre></details>")
    parts = {"before": _verdict(result), "after": "".join(after), "classes": "knv-trace"}
    if result.cluster is None:
        return _bundle(None, "", text, **parts)
    shown = drawing(result.cluster, result)  # what the diagram shows: decided once for the DOT and its text
    return _bundle(cluster_dot(result.cluster, result, shown=shown), describe(result.cluster, result, shown=shown),
                   text, **parts)


def cluster_bundle(cluster: Cluster) -> dict[str, Any]:
    from k8snetviz.views.dot import cluster_dot, describe, drawing

    shown = drawing(cluster)
    text = repr(cluster) + "\n" + cluster.get("nodes", wide=True)
    # kubectl's table keeps its columns: it scrolls sideways in a narrow cell rather than wrap
    return _bundle(cluster_dot(cluster, shown=shown), describe(cluster, shown=shown), text,
                   after=f'<div class="knv-table"><pre>{escape(text)}</pre></div>', classes="knv-cluster")
