"""The diagram widget: DOT laid out once in the browser, restyled per step there.

The kernel sends DOT (:mod:`k8snetviz.views.dot`); the front end (``static/diagram.js``) lays it out
with Graphviz compiled to WebAssembly (``static/graphviz.js``), so no ``dot`` binary is needed where the
notebook runs, JupyterLite included. Every element the steps light keeps in the SVG the ``id`` the DOT
gave it; ``steps[i]`` lists the ids step ``i + 1`` lights. A click on a folded element (``fold--…``)
comes back as a message ``{"event": "unfold", "id": ID}``. The engine is 1.35 MB: it travels to the
browser once per kernel, in one :class:`Graphviz` model that every diagram refers to, and is started
once per page.

A result's notebook display (a cluster, a trace) is drawn the same way in a live kernel:
:func:`live_figure` is the ``k8snetviz.display`` entry point that :mod:`k8snetviz.views.notebook` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets

from k8snetviz.views.theme import css, themed

__all__ = ["Diagram", "Graphviz", "graphviz", "live_figure"]

_STATIC = Path(__file__).parent / "static"


class Graphviz(ipywidgets.Widget):
    """Graphviz compiled to WebAssembly, as the source of one ES module; a model without a view."""

    source = traitlets.Unicode("").tag(sync=True)


_engine: Graphviz | None = None


def graphviz() -> Graphviz:
    """The kernel's one :class:`Graphviz` (made again if it was closed)."""
    global _engine
    if _engine is None or _engine.comm is None:
        _engine = Graphviz(source=(_STATIC / "graphviz.js").read_text(encoding="utf-8"))
    return _engine


class Diagram(anywidget.AnyWidget):
    """Lays ``dot`` out in the browser; lights the element ids of ``steps[:step]``, the last one as the current hop.

    Changing ``step`` sends one integer to the browser, which moves CSS classes: no layout runs. With
    ``navigation`` on, back/next buttons step in the browser itself, with no round trip to the kernel.
    A non-empty ``svg`` is shown as it is, without a layout.
    """

    _esm = _STATIC / "diagram.js"
    # The theme's colours first (shared with the static outputs), then the widget's own rules.
    _css = css() + (_STATIC / "diagram.css").read_text(encoding="utf-8")

    dot = traitlets.Unicode("").tag(sync=True)
    svg = traitlets.Unicode("").tag(sync=True)
    engine = traitlets.Instance(Graphviz).tag(sync=True, **ipywidgets.widget_serialization)
    description = traitlets.Unicode("").tag(sync=True)
    steps = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    step_texts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # Not echoed back: the browser tells the kernel of a step once the learner pauses on it, so an echo of
    # the step it sent last could arrive after a newer step the browser has not sent yet, and undo it.
    step = traitlets.Int(0).tag(sync=True, echo_update=False)
    dropped = traitlets.Bool(False).tag(sync=True)
    navigation = traitlets.Bool(False).tag(sync=True)  # show the back/next buttons, handled in the browser
    walk = traitlets.Int(0).tag(sync=True)  # a new number for each new walk (the page marks when it shows it)
    figure = traitlets.Bool(False).tag(sync=True)  # drawn as a static figure: Graphviz's own size, no steps

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._unfold: list[Callable[[str], None]] = []
        self.on_msg(self._on_msg)

    @traitlets.default("engine")
    def _default_engine(self) -> Graphviz:
        return graphviz()

    def on_unfold(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(element_id)`` when the learner clicks a folded element of the drawing."""
        self._unfold.append(callback)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "unfold" and isinstance(content.get("id"), str):
            for callback in self._unfold:
                callback(content["id"])


def live_figure(dot: str, description: str, text: str, *, before: str = "", after: str | None = None,
                classes: str = "") -> dict[str, Any]:
    """The widget part of a result's notebook display: ``before`` (HTML, a walk's verdict), the diagram laid
    out in the browser, then ``after`` (HTML: a walk's steps and details; the text by default). ``classes``
    mark the box as the static figure's are marked (``knv-trace``, ``knv-cluster``)."""
    parts: list[ipywidgets.Widget] = [ipywidgets.HTML(before)] if before else []
    parts.append(Diagram(dot=dot, description=description, figure=True))
    parts.append(ipywidgets.HTML(themed(f"<pre>{escape(text)}</pre>") if after is None else after))
    box = ipywidgets.VBox(parts)
    box.add_class("knv-result")
    for name in classes.split():
        box.add_class(name)
    view = "application/vnd.jupyter.widget-view+json"
    return {view: box._repr_mimebundle_()[view]}
