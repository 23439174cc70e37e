"""The node inspector: the interfaces and routes of a chosen node or pod, as iproute2 prints them."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import ipywidgets as w

import k8snetviz.widgets.arguments as args
from k8snetviz.views.iproute import ip_br_addr, ip_link, ip_route

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["NodeInspector"]


class NodeInspector(w.VBox):
    """Pick ``node/NAME`` or ``pod/NS/NAME``; see ``ip -br addr``, ``ip route`` and ``ip link`` there.

    ``cluster``: a Cluster or a scenario's name or path. ``target``: where to look first (the first node
    when None).
    """

    def __init__(self, cluster: Cluster | str, target: str | None = None) -> None:
        self.cluster = cluster = args.cluster_of("NodeInspector", cluster)
        names = [n for n in cluster.netns if not n.startswith("external/")]
        first = names[0] if target is None else \
            args.choice("NodeInspector", "target", target, names, read=args.netns_name)
        self.target = w.Dropdown(options=names, value=first, description="inside")
        self.lookup = w.Text(placeholder="an address, e.g. 10.244.2.3", description="ip route get")
        self.out = w.HTML()
        self.target.add_class("knv-target")
        self.out.add_class("knv-inspector-out")
        self.target.observe(lambda _: self.refresh(), names="value")
        self.lookup.observe(lambda _: self.refresh(), names="value")
        super().__init__([w.HBox([self.target, self.lookup]), self.out])
        self.add_class("knv-inspector")
        self.refresh()

    def refresh(self) -> None:
        ns = self.cluster.netns[self.target.value]
        blocks = [("ip -br addr", ip_br_addr(ns)), ("ip route", ip_route(ns)), ("ip link", ip_link(ns))]
        addr = self.lookup.value.strip()
        if addr:
            try:
                r = ns.routes.lookup(addr)
                text = f"{addr} → {r}" + (f"\n({r.why})" if r and r.why else "") if r else \
                    "RTNETLINK answers: Network is unreachable"
            except ValueError:
                text = f'Error: "{addr}" is not an IPv4 address'
            blocks.insert(2, (f"ip route get {addr} (longest prefix match)", text))
        self.out.value = "".join(f"<p><b><code>$ {escape(c)}</code></b></p><pre>{escape(t)}</pre>" for c, t in blocks)
