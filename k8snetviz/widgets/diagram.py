"""The diagram widget: an SVG laid out once, restyled per step in the browser."""

from __future__ import annotations

from pathlib import Path

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

    svg = traitlets.Unicode("").tag(sync=True)
    description = traitlets.Unicode("").tag(sync=True)
    steps = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    step_texts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    dropped = traitlets.Bool(False).tag(sync=True)
    navigation = traitlets.Bool(False).tag(sync=True)  # show the back/next buttons, handled in the browser
