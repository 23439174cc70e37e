"""The packet-walk widget: pick a source and a destination, then step through the hops.

A trace is one round trip: the kernel walks the packet, makes the drawing's DOT (or takes it from the
cache) and sends it (the browser lays it out), the ids each step lights and every hop's details at once. Stepping
(the diagram's back, play, slider and next) then happens in the browser: the diagram moves its highlights and
the hop panel redraws from what it holds, without waiting for the kernel; the kernel hears of the new step
in one message and keeps it in :attr:`PacketWalk.step`.

>>> import k8snetviz
>>> from k8snetviz.widgets import PacketWalk
>>> walk = PacketWalk(k8snetviz.load("two-node-bridge"), src="default/client", dst="default/web:80")
>>> walk.result.verdict, walk.step.value, len(walk.result.request_hops), walk.step.max  # there and back
('delivered', 1, 9, 18)
>>> walk.step.value = 5  # the browser only moves highlights; the drawing is not redone
>>> "Step 5 of 18" in walk.info.value
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as w
import traitlets

import k8snetviz.widgets.arguments as args
from k8snetviz.api.refs import Ref
from k8snetviz.errors import K8sNetVizError
from k8snetviz.views.dot import FULL_NODES, folded_pods_id
from k8snetviz.views.hops import hop_details, hop_html
from k8snetviz.views.theme import error_html
from k8snetviz.widgets.diagram import Diagram
from k8snetviz.widgets.hopdetails import HopDetails
from k8snetviz.widgets.layout import layout, shown_pods

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = ["PacketWalk", "Steps", "source_options", "destination_options", "hop_html"]


class Steps(traitlets.HasTraits):
    """The walk's step and its bounds, in the kernel. The controls are the diagram's, in the browser (a
    slider of ipywidgets there would sync every step to the kernel in a message of its own)."""

    value = traitlets.Int(0)
    min = traitlets.Int(0)
    max = traitlets.Int(0)

    @traitlets.validate("value")
    def _within_bounds(self, proposal: traitlets.Bunch) -> int:
        # As a slider does: a step beyond the walk is its first or last.
        return max(self.min, min(self.max, int(proposal["value"])))


def source_options(cluster: Cluster) -> list[str]:
    pods = [f"{p.key}" for p in sorted(cluster.pods.values(), key=lambda p: p.key)]
    return pods + [f"node/{n}" for n in cluster.nodes] + [f"external/{e}" for e in cluster.externals]


def destination_options(cluster: Cluster) -> list[str]:
    out = []
    for p in sorted(cluster.pods.values(), key=lambda p: p.key):
        ports = sorted({cp.container_port for cp in p.ports}) or [80]
        out += [f"{p.key}:{port}" for port in ports]
    out += [f"node/{n}:10250" for n in cluster.nodes]
    out += [f"svc/{key}:{port}" for key, port in getattr(cluster, "service_destinations", lambda: [])()]
    return out


class PacketWalk(w.VBox):
    """Source and destination pickers, step controls, the diagram and the current hop's details."""

    def __init__(self, cluster: Cluster | str, src: str | None = None, dst: str | None = None) -> None:
        self.cluster = cluster = args.cluster_of("PacketWalk", cluster)
        src = args.optional_text("PacketWalk", "src", src, "pod/NS/NAME, node/NAME or external")
        dst = args.optional_text("PacketWalk", "dst", dst, "pod/NS/NAME:PORT, svc/NS/NAME:PORT or IP:PORT")
        self.result: TraceResult | None = None
        self.unfolded: list[str] = []  # nodes the learner asked to see in full
        sources = source_options(cluster)
        self.src = w.Combobox(options=sources, value=src or (sources[0] if sources else ""),
                              description="from", ensure_option=False, layout=w.Layout(width="330px"))
        self.dst = w.Combobox(options=destination_options(cluster), value=dst or "", description="to",
                              placeholder="pod/NS/NAME:PORT, IP:PORT, …", ensure_option=False,
                              layout=w.Layout(width="330px"))
        self.go = w.Button(description="Trace", button_style="primary", icon="play")
        self.step = Steps()
        self.error = w.HTML()
        # With a pair to trace, the trace draws the diagram (with the pods it involves); else draw it now.
        self.diagram = Diagram(navigation=True)
        if not (src and dst):
            self._draw(None)
        # The hop panel shows the diagram's step: in the browser, the two step together with no kernel.
        self.info = HopDetails(diagram=self.diagram)
        for widget, cls in ((self.src, "knv-src"), (self.dst, "knv-dst"), (self.go, "knv-trace"),
                            (self.error, "knv-error"), (self.info, "knv-info")):
            widget.add_class(cls)
        self.go.on_click(lambda _: self.trace())
        self.step.observe(self._on_step, names="value")
        self.diagram.observe(self._on_diagram_step, names="step")
        self.diagram.on_unfold(self._on_unfold)
        controls = [w.HBox([self.src, self.dst, self.go])]
        if len(cluster.nodes) > FULL_NODES:
            # A large cluster is drawn folded around the walk; any node can be drawn in full.
            self.node = w.Combobox(options=list(cluster.nodes), placeholder="a node to draw in full",
                                   description="node", ensure_option=True, layout=w.Layout(width="330px"))
            self.unfold_button = w.Button(description="Unfold", icon="expand")
            self.unfold_button.on_click(lambda _: self.unfold(self.node.value))
            self.unfold_button.add_class("knv-unfold")
            controls.append(w.HBox([self.node, self.unfold_button]))
        super().__init__([*controls, self.error, self.diagram, self.info])
        self.add_class("knv-packetwalk")
        if src and dst:
            self.trace()

    def _draw(self, result: TraceResult | None) -> None:
        """Draw ``result`` (from the cache when it shows the same) and send its DOT if it changed."""
        involved = {Ref.parse(h.at).key for h in result.hops if h.at.startswith("pod/")} if result else set()
        got = layout(self.cluster, shown_pods(self.cluster, involved), result, self.unfolded)
        if got.dot != self.diagram.dot:
            self.diagram.dot = got.dot
        self.diagram.description = got.description

    def trace(self) -> TraceResult | None:
        """Trace the chosen pair; bad input is shown in place and the typed text is kept."""
        try:
            result = self.cluster.trace(self.src.value.strip(), self.dst.value.strip())
        except K8sNetVizError as e:
            self.error.value = error_html(str(e))
            if not self.diagram.dot:
                self._draw(None)
            return None
        self.error.value = ""
        self.result = result
        details = hop_details(self.cluster, result)
        n = len(result.hops)
        # One message to the browser: the drawing (made once per set of things drawn), what each step
        # lights, and every hop's details.
        with self.diagram.hold_sync(), self.info.hold_sync():
            self._draw(result)
            self.diagram.steps = [d["ids"] for d in details]
            self.diagram.step_texts = [d["text"] for d in details]
            self.diagram.dropped = not result.delivered
            self.diagram.walk += 1
            self.info.result = result
            self.info.hops = details
            self.step.max = n
            self.step.min = 1 if n else 0
            self.step.value = 1 if n else 0
            self._on_step()
        return result

    def unfold(self, node: str) -> None:
        """Draw ``node`` in full (all its pods, its whole routing table), with the current walk on it."""
        if node not in self.cluster.nodes or node in self.unfolded:
            return
        self.unfolded.append(node)
        with self.diagram.hold_sync():
            self._draw(self.result)

    def _on_unfold(self, element: str) -> None:
        node = next((n for n in self.cluster.nodes if folded_pods_id(n) == element), None)
        if node is not None:
            self.unfold(node)

    def next(self) -> None:
        """One hop forward (what the diagram's "next ▶" button does in the browser)."""
        self.step.value = min(self.step.max, self.step.value + 1)

    def back(self) -> None:
        """One hop back."""
        self.step.value = max(self.step.min, self.step.value - 1)

    def _on_diagram_step(self, change: dict) -> None:
        # The browser stepped (or Python did, below): the kernel's copy follows. The diagram already shows
        # the step, so nothing goes back to the browser.
        if change["new"] != self.step.value and self.step.min <= change["new"] <= self.step.max:
            self.step.value = change["new"]

    def _on_step(self, change: object = None) -> None:
        # A step made here in Python: only the step travels, the browser has the drawing and every hop already.
        # (A step the browser made arrives as the diagram's own, equal value: nothing is sent back, which
        # would race with the learner's next click.)
        self.diagram.step = self.step.value
