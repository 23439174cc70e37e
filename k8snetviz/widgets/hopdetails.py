"""The hop-details panel of the packet walk: every hop sent once, the current one drawn in the browser.

``hops`` is :func:`k8snetviz.views.hops.hop_details` of the walk; ``step`` is linked in the browser to
the diagram's and the slider's, so stepping shows the hop with no round trip to the kernel. The
decision line opens to its why-chain (``static/hops.js``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import anywidget
import traitlets

from k8snetviz.views.hops import hop_html

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

    def __init__(self) -> None:
        super().__init__()
        self.result: TraceResult | None = None

    @property
    def value(self) -> str:
        """The current hop as HTML (what the browser shows, for tests and front ends without widgets)."""
        if self.result is None or not self.result.hops or not 1 <= self.step <= len(self.result.hops):
            return ""
        return hop_html(self.result, self.step - 1)
