"""The hop-details panel of the packet walk: every hop sent once, the current one drawn in the browser.

``hops`` is :func:`k8snetviz.views.hops.hop_details` of the walk. With a ``diagram``, the panel shows
that diagram's step, followed in the browser (its back, play, slider and next), so stepping shows the hop
with no round trip to the kernel and no message of the panel's own (``step`` is used only without one).
The decision line opens to its why-chain (``static/hops.js``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import anywidget
import ipywidgets
import traitlets

from k8snetviz.views.hops import hop_html
from k8snetviz.widgets.diagram import Diagram

if TYPE_CHECKING:
    from k8snetviz.questions.results import TraceResult

__all__ = ["HopDetails"]

_STATIC = Path(__file__).parent / "static"


class HopDetails(anywidget.AnyWidget):
    """The current hop of a walk: where, what, the decision and why, the headers; drawn in the browser."""

    _esm = _STATIC / "hops.js"
    _css = _STATIC / "hops.css"

    hops = traitlets.List(traitlets.Dict()).tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    diagram = traitlets.Instance(Diagram, allow_none=True).tag(sync=True, **ipywidgets.widget_serialization)

    def __init__(self, diagram: Diagram | None = None) -> None:
        super().__init__(diagram=diagram)
        self.result: TraceResult | None = None

    @property
    def value(self) -> str:
        """The current hop as HTML (what the browser shows, for tests and front ends without widgets)."""
        step = self.diagram.step if self.diagram is not None else self.step
        if self.result is None or not self.result.hops or not 1 <= step <= len(self.result.hops):
            return ""
        return hop_html(self.result, step - 1)
