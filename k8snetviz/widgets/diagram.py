"""The diagram widget: an SVG laid out once, restyled per step in the browser.

The contract with the front end (``static/diagram.js``), which a layout made in the browser with
Graphviz compiled to WebAssembly can take over unchanged: ``dot`` is the DOT source
(:mod:`k8snetviz.views.dot`) and ``svg`` its layout; every element the steps light carries in both
the same ``id``; ``steps[i]`` lists the ids step ``i + 1`` lights. A click on a folded element
(``fold--…``) comes back as a message ``{"event": "unfold", "id": ID}``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

__all__ = ["Diagram"]

_STATIC = Path(__file__).parent / "static"


class Diagram(anywidget.AnyWidget):
    """Shows ``svg``; lights the element ids of ``steps[:step]``, the last one as the current hop.

    Changing ``step`` sends one integer to the browser, which moves CSS classes: no layout runs. With
    ``navigation`` on, back/next buttons step in the browser itself, with no round trip to the kernel.
    """

    _esm = _STATIC / "diagram.js"
    _css = _STATIC / "diagram.css"

    dot = traitlets.Unicode("").tag(sync=True)  # the DOT source of ``svg``, with the same element ids
    svg = traitlets.Unicode("").tag(sync=True)
    description = traitlets.Unicode("").tag(sync=True)
    steps = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    step_texts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    dropped = traitlets.Bool(False).tag(sync=True)
    navigation = traitlets.Bool(False).tag(sync=True)  # show the back/next buttons, handled in the browser
    walk = traitlets.Int(0).tag(sync=True)  # a new number for each new walk (the page marks when it shows it)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._unfold: list[Callable[[str], None]] = []
        self.on_msg(self._on_msg)

    def on_unfold(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(element_id)`` when the learner clicks a folded element of the drawing."""
        self._unfold.append(callback)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "unfold" and isinstance(content.get("id"), str):
            for callback in self._unfold:
                callback(content["id"])
