"""The packet-walk widget: pick a source and a destination, then step through the hops.

>>> import k8snetviz
>>> from k8snetviz.widgets import PacketWalk
>>> walk = PacketWalk(k8snetviz.load("two-node-bridge"), src="default/client", dst="default/web:80")
>>> walk.result.verdict, walk.step.value, len(walk.result.request_hops), walk.step.max  # there and back
('delivered', 1, 9, 18)
>>> walk.step.value = 5  # the browser only moves highlights; the layout is not redone
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import ipywidgets as w

import k8snetviz.widgets.arguments as args
from k8snetviz.api.refs import Ref
from k8snetviz.errors import K8sNetVizError
from k8snetviz.views.dot import hop_ids
from k8snetviz.widgets.diagram import Diagram
from k8snetviz.widgets.layout import cluster_svg, shown_pods

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.kernel.walk import Hop
    from k8snetviz.questions.results import TraceResult

__all__ = ["PacketWalk", "source_options", "destination_options", "hop_html"]


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


def _changed(prev: Hop | None, hop: Hop) -> set[str]:
    if prev is None:
        return set(hop.changed)
    out = set(hop.changed)
    if prev.src != hop.src:
        out.add("src")
    if prev.dst != hop.dst:
        out.add("dst")
    if prev.outer != hop.outer:
        out.add("outer")
    return out


def hop_html(result: TraceResult, index: int) -> str:
    """The current hop: where, what, the deciding rule, and the headers with changed fields marked."""
    hop = result.hops[index]
    prev = result.hops[index - 1] if index > 0 else None
    changed = _changed(prev, hop)

    def cell(name: str, value: str) -> str:
        mark = ' style="background:#F0E442;font-weight:bold"' if name in changed else ""
        badge = " ✱ changed" if name in changed else ""
        return f"<tr><th>{name}</th><td{mark}><code>{escape(value)}</code>{badge}</td></tr>"

    rows = cell("src", hop.src) + cell("dst", hop.dst)
    if hop.outer or "outer" in changed:
        rows += cell("outer", hop.outer or "(removed)")
    rule = f"<p>Decided by: <code>{escape(hop.rule)}</code></p>" if hop.rule else ""
    last = index == len(result.hops) - 1
    verdict = ""
    if last:
        colour = "#009E73" if result.delivered else "#D55E00"
        verdict = (f'<p class="knv-verdict" style="border-left:4px solid {colour};padding-left:6px">'
                   f"<b>{escape(result.verdict)}</b>: {escape(result.reason)}</p>")
    direction = " · <i>the reply, on its way back</i>" if hop.reply else ""
    return (f'<div class="knv-hop"><p><b>Step {hop.step} of {len(result.hops)}</b>{direction} · '
            f"<code>{escape(hop.at)}</code> · device <code>{escape(hop.device)}</code> · "
            f"<b>{escape(hop.action)}</b></p><p>{escape(hop.detail)}</p>{rule}"
            f'<table class="knv-headers">{rows}</table>{verdict}</div>')


class PacketWalk(w.VBox):
    """Source and destination pickers, step controls, the diagram and the current hop's details."""

    def __init__(self, cluster: Cluster | str, src: str | None = None, dst: str | None = None) -> None:
        self.cluster = cluster = args.cluster_of("PacketWalk", cluster)
        src = args.optional_text("PacketWalk", "src", src, "pod/NS/NAME, node/NAME or external")
        dst = args.optional_text("PacketWalk", "dst", dst, "pod/NS/NAME:PORT, svc/NS/NAME:PORT or IP:PORT")
        self.result: TraceResult | None = None
        sources = source_options(cluster)
        self.src = w.Combobox(options=sources, value=src or (sources[0] if sources else ""),
                              description="from", ensure_option=False, layout=w.Layout(width="330px"))
        self.dst = w.Combobox(options=destination_options(cluster), value=dst or "", description="to",
                              placeholder="pod/NS/NAME:PORT, IP:PORT, …", ensure_option=False,
                              layout=w.Layout(width="330px"))
        self.go = w.Button(description="Trace", button_style="primary", icon="play")
        self.step = w.IntSlider(value=0, min=0, max=0, description="step", continuous_update=True)
        self.play = w.Play(value=0, min=0, max=0, interval=900, description="play")
        w.jslink((self.play, "value"), (self.step, "value"))
        self.error = w.HTML()
        self.info = w.HTML()
        # With a pair to trace, the trace lays the diagram out (with the pods it involves); else lay out now.
        svg, description = ("", "") if src and dst else cluster_svg(cluster, shown_pods(cluster))
        self.diagram = Diagram(svg=svg, description=description, navigation=True)
        # Linked in the browser: the slider, the play button and the diagram's own back/next buttons
        # repaint the diagram without waiting for the kernel; the kernel then fills in the hop's details.
        w.jslink((self.step, "value"), (self.diagram, "step"))
        for widget, cls in ((self.src, "knv-src"), (self.dst, "knv-dst"), (self.go, "knv-trace"),
                            (self.step, "knv-step"), (self.error, "knv-error"), (self.info, "knv-info")):
            widget.add_class(cls)
        self.go.on_click(lambda _: self.trace())
        self.step.observe(self._on_step, names="value")
        self.diagram.observe(self._on_diagram_step, names="step")
        super().__init__([
            w.HBox([self.src, self.dst, self.go]),
            w.HBox([self.play, self.step]),
            self.error, self.diagram, self.info,
        ])
        self.add_class("knv-packetwalk")
        if src and dst:
            self.trace()

    def trace(self) -> TraceResult | None:
        """Trace the chosen pair; bad input is shown in place and the typed text is kept."""
        try:
            result = self.cluster.trace(self.src.value.strip(), self.dst.value.strip())
        except K8sNetVizError as e:
            self.error.value = f'<p style="color:#D55E00"><b>Error:</b> {escape(str(e))}</p>'
            if not self.diagram.svg:
                self.diagram.svg, self.diagram.description = cluster_svg(self.cluster, shown_pods(self.cluster))
            return None
        self.error.value = ""
        self.result = result
        # One layout per set of pods drawn: a trace through a system pod (CoreDNS) brings it into view.
        involved = {Ref.parse(h.at).key for h in result.hops if h.at.startswith("pod/")}
        svg, description = cluster_svg(self.cluster, shown_pods(self.cluster, involved))
        if svg != self.diagram.svg:
            self.diagram.svg = svg
        self.diagram.description = description
        n = len(result.hops)
        self.diagram.steps = [hop_ids(self.cluster, h) for h in result.hops]
        self.diagram.step_texts = [f"Step {h.step}: {h.at}, {h.action}. {h.detail}" for h in result.hops]
        self.diagram.dropped = not result.delivered
        self.step.max = self.play.max = n
        self.step.min = self.play.min = 1 if n else 0
        self.step.value = 1 if n else 0
        self._on_step()
        return result

    def next(self) -> None:
        """One hop forward (what the diagram's "next ▶" button does in the browser)."""
        self.step.value = min(self.step.max, self.step.value + 1)

    def back(self) -> None:
        """One hop back."""
        self.step.value = max(self.step.min, self.step.value - 1)

    def _on_diagram_step(self, change: dict) -> None:
        if change["new"] != self.step.value and self.step.min <= change["new"] <= self.step.max:
            self.step.value = change["new"]

    def _on_step(self, change: object = None) -> None:
        # Only the step travels to the browser: the SVG stays, classes move.
        self.diagram.step = self.step.value
        if self.result and self.result.hops and self.step.value >= 1:
            self.info.value = hop_html(self.result, self.step.value - 1)
        else:
            self.info.value = ""
