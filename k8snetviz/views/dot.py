"""The cluster as a Graphviz diagram, and a trace drawn on top of it. Builds DOT text only; running
Graphviz lives in :mod:`k8snetviz.views.render`.

Every device, veth pair, wire and routing-table row gets a stable ``id`` that Graphviz carries into
the SVG. A widget lays the diagram out once and then only restyles those ids as the step changes;
:func:`hop_ids` says which ids a hop lights up.

Colours come from the Okabe-Ito palette, which stays distinct for colour-blind readers, and the
path is also marked by line weight and step numbers, so colour is never the only cue.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

from k8snetviz.api.refs import Ref
from k8snetviz.kernel.netns import NetNS
from k8snetviz.kernel.walk import element_id, link_id, route_id

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.kernel.walk import Hop
    from k8snetviz.questions.results import TraceResult

__all__ = ["cluster_dot", "hop_ids", "element_id", "route_svg_id", "PALETTE", "describe"]

PALETTE = {
    "node": "#F2F2F2",
    "pod": "#FFFFFF",
    "path": "#0072B2",  # blue: the packet's path so far
    "current": "#D55E00",  # vermillion: the current hop
    "bridge": "#56B4E9",
    "vxlan": "#CC79A7",
    "external": "#F0E442",
    "drop": "#D55E00",
}


def _q(text: str) -> str:
    """Quote for DOT; a real newline in ``text`` becomes a centred line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dev_id(ns: str, dev: str) -> str:
    return link_id(ns, dev)


def route_svg_id(row_id: str) -> str:
    """The SVG id of a routing-table row: Graphviz writes a table cell's ID only for a cell with a link,
    as the link's group ``a_<ID>``; the cell's tooltip says who installed the route."""
    return "a_" + row_id


def _veth_id(a: str, b: str) -> str:
    return element_id("veth", *sorted([a, b]))


def _wire_id(ns: str) -> str:
    return element_id("wire", ns)


def _route_table(ns: NetNS, highlight: dict[str, str]) -> str:
    rows = []
    for r in ns.routes.sorted():
        rid = route_id(ns.name, r)
        colour = highlight.get(rid)
        bg = f' BGCOLOR="{colour}"' if colour else ""
        font = '<FONT COLOR="white">' if colour else "<FONT>"
        why = escape(r.why or str(r), quote=True)
        rows.append(f'<TR><TD ALIGN="LEFT" ID="{rid}" HREF="#{rid}" TOOLTIP="{why}"{bg}>{font}{escape(str(r))}'
                    '</FONT></TD></TR>')
    title = f'<TR><TD ALIGN="LEFT" BGCOLOR="#DDDDDD"><B>ip route</B> ({escape(ns.name)})</TD></TR>'
    return f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">{title}{"".join(rows)}</TABLE>>'


def _device_label(ns: NetNS, dev: str) -> str:
    i = ns.interfaces[dev]
    kind = {"bridge": " (bridge)", "vxlan": " (VXLAN)"}.get(i.kind, "")
    addrs = "\n".join(str(a) for a in i.addrs)
    return f"{dev}{kind}" + (f"\n{addrs}" if addrs else "")


def hop_ids(cluster: Cluster, hop: Hop) -> list[str]:
    """The diagram elements a hop lights up: its device, the row it used, the link it crossed."""
    ids = []
    if hop.at in cluster.netns and hop.device in cluster.netns[hop.at].interfaces:
        ids.append(_dev_id(hop.at, hop.device))
    d = hop.decided_by
    if hop.action == "route" and d is not None and d.kind == "route" and hop.at in cluster.netns \
            and cluster.netns[hop.at].kind == "node":
        ids.append(route_svg_id(d.id))
    if hop.peer:
        ns, _, dev = hop.peer.partition("#")
        if hop.action == "veth":
            ids.append(_veth_id(f"{hop.at}#{hop.device}", hop.peer))
        elif hop.action == "bridge":
            ids.append(element_id("port", ns, dev))
        elif hop.action == "forward":
            ids += [_wire_id(hop.at), _wire_id(ns)]
        ids.append(_dev_id(ns, dev))
    if hop.action == "forward" and not hop.peer:
        ids += [_wire_id(hop.at), "gateway"]
    if hop.at == "internet":
        ids.append("gateway")
    return ids


def describe(cluster: Cluster, result: TraceResult | None = None, pods: Iterable[str] | None = None) -> str:
    """A short text description of the diagram, for screen readers (``pods``: the pods drawn, if not all)."""
    cfg = cluster.config
    drawn = set(pods) if pods is not None else None
    parts = [f"Diagram of cluster {cfg.name}: {len(cluster.nodes)} nodes on the node network {cfg.node_network}, "
             f"CNI {cfg.cni}."]
    if drawn is not None:
        left_out = sum(1 for p in cluster.pods.values() if p.key not in drawn and not p.host_network)
        if left_out:
            parts.append(f"{left_out} system pods are not drawn.")
    for n in cluster.nodes.values():
        pods_here = [p.key for p in cluster.pods.values() if p.node_name == n.name and not p.host_network
                     and f"pod/{p.key}" in cluster.netns and (drawn is None or p.key in drawn)]
        noun = "pod" if len(pods_here) == 1 else "pods"
        parts.append(f"Node {n.name} ({n.internal_ip}, podCIDR {n.pod_cidr}) holds {len(pods_here)} {noun}"
                     + (": " + ", ".join(pods_here) if pods_here else "") + ".")
    if result is not None:
        parts.append(f"The packet from {result.source} to {result.destination} takes {len(result.hops)} steps "
                     f"and is {result.verdict}: {result.reason}.")
    return " ".join(parts)


def cluster_dot(cluster: Cluster, result: TraceResult | None = None, step: int | None = None,
                pods: list[str] | None = None) -> str:
    """DOT source for the cluster, with ``result`` drawn on top up to ``step`` (the request's path if None).

    ``pods`` limits the pods drawn (for large clusters); the trace's own pods are always drawn.
    """
    # Without a step: the request's path (the reply mostly retraces it); with one: every hop up to it.
    hops = (list(result.hops[:step]) if step is not None else list(result.request_hops)) if result else []
    lit: dict[str, str] = {}
    for h in hops:
        colour = PALETTE["current"] if h is (hops[-1] if hops else None) else PALETTE["path"]
        for i in hop_ids(cluster, h):
            lit[i] = colour
    step_of: dict[str, list[int]] = {}
    for h in hops:
        for i in hop_ids(cluster, h):
            step_of.setdefault(i, []).append(h.step)

    wanted = set(pods) if pods is not None else None
    if result is not None and wanted is not None:
        wanted |= {r.key for r in (Ref.parse(h.at, "node") for h in result.hops if h.at.startswith("pod/"))}

    out = ["digraph cluster {",
           '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, compound=true, nodesep=0.25, ranksep=0.45, '
           'newrank=true, id="k8snetviz"];',
           '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica", fontsize=10];',
           '  edge [dir=none, fontname="Helvetica", fontsize=9, color="#555555"];']

    def node_stmt(ident: str, label: str, fill: str = "white", shape: str = "box") -> str:
        colour = lit.get(ident)
        style = f', color="{colour}", penwidth=3' if colour else ""
        return f'    {_q(ident)} [id={_q(ident)}, label={_q(label)}, fillcolor="{fill}", shape={shape}{style}];'

    def edge_stmt(a: str, b: str, ident: str, style: str = "solid") -> str:
        colour = lit.get(ident)
        extra = f', color="{colour}", penwidth=3' if colour else ""
        steps = step_of.get(ident)
        label = f', label={_q(",".join(map(str, steps)))}, fontcolor="{colour}"' if steps and colour else ""
        return f'  {_q(a)} -> {_q(b)} [id={_q(ident)}, style={style}{extra}{label}];'

    edges: list[str] = []
    for node in cluster.nodes.values():
        nsn = f"node/{node.name}"
        ns = cluster.netns[nsn]
        out.append(f"  subgraph {_q('cluster_' + element_id(nsn))} {{")
        title = f"{node.name}  {node.internal_ip}  podCIDR {node.pod_cidr}"
        out.append(f'    id={_q(element_id("box", nsn))}; label={_q(title)}; '
                   f'style="rounded,filled"; fillcolor="{PALETTE["node"]}";')
        for dev in sorted(ns.interfaces, key=lambda d: ns.interfaces[d].ifindex):
            iface = ns.interfaces[dev]
            if iface.kind == "loopback":
                continue
            if iface.kind == "veth" and iface.peer is not None and wanted is not None \
                    and Ref.parse(iface.peer[0]).key not in wanted:
                continue
            fill = {"bridge": PALETTE["bridge"], "vxlan": PALETTE["vxlan"]}.get(iface.kind, "white")
            out.append(node_stmt(_dev_id(nsn, dev), _device_label(ns, dev), fill))
            if iface.master:
                edges.append(edge_stmt(_dev_id(nsn, dev), _dev_id(nsn, iface.master), element_id("port", nsn, dev)))
        # route table, highlighted rows
        rows = {}
        for h in hops:
            if h.at == nsn and h.action == "route" and h.decided_by is not None:
                rows[h.decided_by.id] = lit.get(route_svg_id(h.decided_by.id), PALETTE["path"])
        out.append(f'    {_q(element_id("routes", nsn))} [id={_q(element_id("routes", nsn))}, shape=plain, '
                   f'style="", label={_route_table(ns, rows)}];')
        for pod in sorted(cluster.pods.values(), key=lambda p: p.key):
            if pod.node_name != node.name or pod.host_network:
                continue
            if wanted is not None and pod.key not in wanted:
                continue
            pns = cluster.netns.get(f"pod/{pod.key}")
            if pns is None:  # a finished or unscheduled pod of a real dump has no sandbox to draw
                continue
            out.append(f"    subgraph {_q('cluster_' + element_id(pns.name))} {{")
            out.append(f'      id={_q(element_id("box", pns.name))}; label={_q(f"pod {pod.key}")}; '
                       f'style="rounded,filled"; fillcolor="{PALETTE["pod"]}";')
            out.append("  " + node_stmt(_dev_id(pns.name, "eth0"), _device_label(pns, "eth0")))
            out.append("    }")
            host = pns.interfaces["eth0"].peer
            if host:
                edges.append(edge_stmt(_dev_id(pns.name, "eth0"), _dev_id(host[0], host[1]),
                                       _veth_id(f"{pns.name}#eth0", f"{host[0]}#{host[1]}"), "bold"))
        out.append("  }")
        for tunnel in (i for i in ns.interfaces.values() if i.kind in ("vxlan", "ipip")):
            # the overlay device sends its outer packets through eth0
            edges.append(edge_stmt(_dev_id(nsn, tunnel.name), _dev_id(nsn, "eth0"),
                                   element_id("underlay", nsn, tunnel.name), "dashed"))
        edges.append(edge_stmt(_dev_id(nsn, "eth0"), "lan", _wire_id(nsn)))

    for ext in cluster.externals.values():
        nsn = f"external/{ext.name}"
        out.append(node_stmt(_dev_id(nsn, "eth0"), f"{nsn}\n{ext.ip}", PALETTE["external"], "box"))
        if ext.ip in cluster.config.node_network:
            edges.append(edge_stmt(_dev_id(nsn, "eth0"), "lan", _wire_id(nsn)))
        else:
            edges.append(edge_stmt(_dev_id(nsn, "eth0"), "gateway", _wire_id(nsn)))
    cfg = cluster.config
    out.append(node_stmt("lan", f"node network {cfg.node_network}", "#FFFFFF", "ellipse"))
    out.append(node_stmt("gateway", f"gateway {cfg.gateway}\n(the outside world)", "#FFFFFF", "ellipse"))
    edges.append(edge_stmt("lan", "gateway", "uplink"))
    out += edges
    out.append("}")
    return "\n".join(out) + "\n"
