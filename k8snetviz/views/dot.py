"""The cluster as a Graphviz diagram, and a trace drawn on top of it. Builds DOT text only; running
Graphviz lives in :mod:`k8snetviz.views.render`.

The drawing is made from the topology graph (:func:`k8snetviz.questions.topology.topology`) of the
namespaces it shows. What it shows is a :class:`Drawing`: a small cluster in full; a large one
folded around the question: the nodes and pods the walk touches in full, the rest as counts
("4,997 more nodes", "27 more pods in 3 namespaces"), each long routing table trimmed to the rows
that matter (the walk's, the default and connected routes, those to the pods and nodes drawn) plus
a count. ``unfold`` draws a node in full. So the DOT text, and Graphviz's layout time, stay the same
size however large the cluster grows.

The element-id contract (what a widget, or Graphviz run in the browser, relies on): every device,
veth pair, wire and routing-table row gets a stable ``id`` that Graphviz carries into the SVG;
:func:`hop_ids` says which ids a hop lights up, and those are the ids :class:`~k8snetviz.kernel.walk.DecidedBy`
names (a routing row ``route--<netns>--<key>``, seen in the SVG as its link group ``a_route--…``).
Folded elements are ``fold--nodes`` and ``fold--pods--<node netns>``.

Colours come from the Okabe-Ito palette, which stays distinct for colour-blind readers, and the
path is also marked by line weight and step numbers, so colour is never the only cue.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from k8snetviz.api.refs import Ref
from k8snetviz.kernel.walk import element_id, link_id, route_id
from k8snetviz.questions.topology import topology

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster
    from k8snetviz.kernel.routing import Route
    from k8snetviz.kernel.walk import Hop
    from k8snetviz.questions.results import TraceResult

__all__ = ["cluster_dot", "hop_ids", "element_id", "route_svg_id", "PALETTE", "describe", "Drawing", "drawing",
           "FULL_NODES", "PODS_PER_NODE", "ROUTE_ROWS", "UNFOLDED_ROUTE_ROWS", "FOLDED_NODES_ID", "folded_pods_id"]

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

FULL_NODES = 8  # a cluster of at most this many nodes is drawn with every node
PODS_PER_NODE = 12  # a drawn node with more pods than this shows only the walk's (and folds the rest)
ROUTE_ROWS = 16  # a longer routing table is trimmed to the rows that matter
UNFOLDED_ROUTE_ROWS = 200  # even an unfolded node's table stops here (Graphviz lays out every row)
FOLDED_NODES_ID = "fold--nodes"


def folded_pods_id(node: str) -> str:
    """The id of a drawn node's "N more pods" box (the widget unfolds the node when it is clicked)."""
    return element_id("fold", "pods", f"node/{node}")


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


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# ----------------------------------------------------------------------------------------- what is drawn


@dataclass(frozen=True)
class Drawing:
    """What one diagram shows of a cluster: the nodes drawn, each one's pods and routing rows, what is folded.

    ``rows[node]`` is None when the node's whole routing table is drawn, else the ids of the rows kept.
    """

    nodes: tuple[str, ...]
    pods: tuple[tuple[str, tuple[str, ...]], ...]  # (node, pod keys drawn) in node order
    rows: tuple[tuple[str, tuple[str, ...] | None], ...]  # (node, row ids kept or None: all)
    folded_pods: tuple[tuple[str, int, int], ...] = ()  # (node, pods folded, their namespaces)
    left_out: int = 0  # pods on drawn nodes that the caller's ``pods`` leaves out (system pods)
    folded_nodes: int = 0
    folded_node_pods: int = 0
    folded_namespaces: int = 0
    unfolded: tuple[str, ...] = field(default=())

    def pods_on(self, node: str) -> tuple[str, ...]:
        return dict(self.pods).get(node, ())

    def rows_of(self, node: str) -> tuple[str, ...] | None:
        return dict(self.rows).get(node)

    def folded_on(self, node: str) -> tuple[int, int]:
        for name, n, namespaces in self.folded_pods:
            if name == node:
                return n, namespaces
        return 0, 0

    @property
    def netns(self) -> list[str]:
        """The namespaces drawn: the nodes', then their pods'."""
        return [f"node/{n}" for n in self.nodes] + [f"pod/{p}" for _, pods in self.pods for p in pods]


def _walked(result: TraceResult | None) -> tuple[set[str], set[str], dict[str, set[str]]]:
    """The nodes and pods a walk touches, and the routing rows it used in each namespace."""
    nodes: set[str] = set()
    pods: set[str] = set()
    rows: dict[str, set[str]] = {}
    if result is None:
        return nodes, pods, rows
    cluster = result.cluster
    for h in result.hops:
        for where in (h.at, h.peer.partition("#")[0]):
            if where.startswith("node/"):
                nodes.add(where[5:])
            elif where.startswith("pod/"):
                key = Ref.parse(where).key
                pods.add(key)
                pod = cluster.pods.get(key) if cluster is not None else None
                if pod is not None:
                    nodes.add(pod.node_name)
        d = h.decided_by
        if d is not None and d.kind == "route":
            rows.setdefault(h.at, set()).add(d.id)
    return nodes, pods, rows


def _kept_rows(cluster: Cluster, node: str, drawn_pods: Iterable[Pod], drawn_nodes: Iterable[str],
               used: set[str], limit: int) -> tuple[str, ...] | None:
    """The routing rows a trimmed table keeps (None: the whole table fits)."""
    nsn = f"node/{node}"
    table = cluster.netns[nsn].routes
    if len(table) <= limit:
        return None
    devices = set()
    for p in drawn_pods:
        peer = cluster.netns.get(f"pod/{p.key}")
        host = peer.interfaces["eth0"].peer if peer is not None and "eth0" in peer.interfaces else None
        if host is not None:
            devices.add(host[1])
    cidrs = {cluster.nodes[n].pod_cidr for n in drawn_nodes if n != node}
    kept = []
    for r in table.sorted():
        rid = route_id(nsn, r)
        if rid in used or r.is_default or r.proto == "kernel" or r.dev in devices or r.dst in cidrs:
            kept.append(rid)
    return tuple(kept[:limit]) if len(kept) > limit else tuple(kept)


_per_namespace: weakref.WeakKeyDictionary[Cluster, Counter[str]] = weakref.WeakKeyDictionary()


def _namespaces(cluster: Cluster) -> Counter[str]:
    """How many pods (with a namespace of their own) each namespace has; counted once per cluster."""
    got = _per_namespace.get(cluster)
    if got is None:
        got = _per_namespace[cluster] = Counter(p.namespace for p in cluster.pods.values() if p.has_sandbox)
    return got


def drawing(cluster: Cluster, result: TraceResult | None = None, pods: Iterable[str] | None = None,
            unfold: Iterable[str] = ()) -> Drawing:
    """What to draw: see the module docstring. ``pods`` limits the pods drawn (the walk's are always drawn);
    ``unfold`` names nodes to draw in full."""
    walked_nodes, walked_pods, used = _walked(result)
    unfolded = tuple(n for n in dict.fromkeys(unfold) if n in cluster.nodes)
    allowed = set(pods) | walked_pods if pods is not None else None
    names = list(cluster.nodes)
    if len(names) <= FULL_NODES:
        nodes = names
    else:
        wanted = walked_nodes | set(unfolded)
        nodes = [n for n in names if n in wanted] or names[:3]
    by_node = cluster.pods_by_node
    drawn_pods: list[tuple[str, tuple[str, ...]]] = []
    folded: list[tuple[str, int, int]] = []
    left_out = 0
    chosen: dict[str, list[Pod]] = {}
    for n in nodes:
        here = [p for p in by_node.get(n, ()) if p.has_sandbox]  # a finished or unscheduled pod has none to draw
        candidates = [p for p in here if allowed is None or p.key in allowed]
        left_out += len(here) - len(candidates)
        if n in unfolded or len(candidates) <= PODS_PER_NODE:
            shown = candidates
        else:
            shown = [p for p in candidates if p.key in walked_pods]
        rest = [p for p in candidates if p not in shown] if len(shown) < len(candidates) else []
        if rest:
            folded.append((n, len(rest), len({p.namespace for p in rest})))
        chosen[n] = shown
        drawn_pods.append((n, tuple(p.key for p in shown)))
    rows = tuple((n, _kept_rows(cluster, n, chosen[n], nodes, used.get(f"node/{n}", set()),
                                UNFOLDED_ROUTE_ROWS if n in unfolded else ROUTE_ROWS)) for n in nodes)
    folded_nodes = len(names) - len(nodes)
    folded_node_pods = folded_namespaces = 0
    if folded_nodes:
        # the pods of the folded nodes: all of them but those of the drawn nodes, counted by namespace
        per_namespace = Counter(_namespaces(cluster))
        per_namespace.subtract(p.namespace for n in nodes for p in by_node.get(n, ()) if p.has_sandbox)
        folded_node_pods = sum(per_namespace.values())
        folded_namespaces = sum(1 for v in per_namespace.values() if v > 0)
    return Drawing(tuple(nodes), tuple(drawn_pods), rows, tuple(folded), left_out, folded_nodes, folded_node_pods,
                   folded_namespaces, unfolded)


# ------------------------------------------------------------------------------------------------ DOT


def _route_table(nsn: str, routes: list[Route], kept: tuple[str, ...] | None, highlight: dict[str, str]) -> str:
    rows = []
    shown = set(kept) if kept is not None else None
    hidden: Counter[str] = Counter()
    for r in routes:
        rid = route_id(nsn, r)
        if shown is not None and rid not in shown:
            hidden[r.owner.component or "kernel"] += 1
            continue
        colour = highlight.get(rid)
        bg = f' BGCOLOR="{colour}"' if colour else ""
        font = '<FONT COLOR="white">' if colour else "<FONT>"
        why = escape(r.why or str(r), quote=True)
        rows.append(f'<TR><TD ALIGN="LEFT" ID="{rid}" HREF="#{rid}" TOOLTIP="{why}"{bg}>{font}{escape(str(r))}'
                    '</FONT></TD></TR>')
    if hidden:
        by = ", ".join(f"{n:,} by {who}" for who, n in sorted(hidden.items()))
        rows.append(f'<TR><TD ALIGN="LEFT"><I>… {_plural(sum(hidden.values()), "more row")} ({escape(by)})</I>'
                    "</TD></TR>")
    title = f'<TR><TD ALIGN="LEFT" BGCOLOR="#DDDDDD"><B>ip route</B> ({escape(nsn)})</TD></TR>'
    return f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">{title}{"".join(rows)}</TABLE>>'


def _device_label(attrs: dict[str, Any]) -> str:
    kind = {"bridge": " (bridge)", "vxlan": " (VXLAN)"}.get(attrs["kind"], "")
    addrs = "\n".join(attrs["addresses"])
    return f"{attrs['name']}{kind}" + (f"\n{addrs}" if addrs else "")


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


def describe(cluster: Cluster, result: TraceResult | None = None, pods: Iterable[str] | None = None,
             unfold: Iterable[str] = (), shown: Drawing | None = None) -> str:
    """A short text description of the diagram, for screen readers (``pods``: the pods drawn, if not all)."""
    cfg = cluster.config
    d = shown or drawing(cluster, result, pods, unfold)
    parts = [f"Diagram of cluster {cfg.name}: {len(cluster.nodes)} nodes on the node network {cfg.node_network}, "
             f"CNI {cfg.cni}."]
    if d.left_out:
        parts.append(f"{d.left_out} system pods are not drawn.")
    for name in d.nodes:
        n = cluster.nodes[name]
        here = list(d.pods_on(name))
        folded, namespaces = d.folded_on(name)
        noun = "pod" if len(here) + folded == 1 else "pods"
        text = f"Node {n.name} ({n.internal_ip}, podCIDR {n.pod_cidr}) holds {len(here) + folded:,} {noun}"
        if folded:
            text += (f"; drawn: {', '.join(here) or 'none'}; {folded:,} more in "
                     f"{_plural(namespaces, 'namespace')} are folded")
        elif here:
            text += ": " + ", ".join(here)
        parts.append(text + ".")
    if d.folded_nodes:
        parts.append(f"{_plural(d.folded_nodes, 'more node')} with {_plural(d.folded_node_pods, 'pod')} in "
                     f"{_plural(d.folded_namespaces, 'namespace')} are folded into one box.")
    if result is not None:
        parts.append(f"The packet from {result.source} to {result.destination} takes {len(result.hops)} steps "
                     f"and is {result.verdict}: {result.reason}.")
    return " ".join(parts)


def cluster_dot(cluster: Cluster, result: TraceResult | None = None, step: int | None = None,
                pods: Iterable[str] | None = None, unfold: Iterable[str] = (), shown: Drawing | None = None) -> str:
    """DOT source for the cluster, with ``result`` drawn on top up to ``step`` (the request's path if None).

    ``pods`` limits the pods drawn (the trace's own pods are always drawn); ``unfold`` draws those nodes
    in full; ``shown`` is the :class:`Drawing` to use (by default :func:`drawing` of the rest).
    """
    d = shown or drawing(cluster, result, pods, unfold)
    # Without a step: the request's path (the reply mostly retraces it); with one: every hop up to it.
    hops = (list(result.hops[:step]) if step is not None else list(result.request_hops)) if result else []
    lit: dict[str, str] = {}
    step_of: dict[str, list[int]] = {}
    for h in hops:
        colour = PALETTE["current"] if h is hops[-1] else PALETTE["path"]
        for i in hop_ids(cluster, h):
            lit[i] = colour
            step_of.setdefault(i, []).append(h.step)

    g = topology(cluster, d.netns + [f"external/{e}" for e in cluster.externals])
    out = ["digraph cluster {",
           # Left to right: the nodes stack downwards, so the drawing keeps the width of a notebook cell
           # (about 700 points) however many nodes there are, and its labels stay readable when it is fitted.
           '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, compound=true, nodesep=0.25, ranksep=0.45, '
           'newrank=true, id="k8snetviz"];',
           '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica", fontsize=10];',
           '  edge [dir=none, fontname="Helvetica", fontsize=9, color="#555555"];']

    def node_stmt(ident: str, label: str, fill: str = "white", shape: str = "box", extra: str = "") -> str:
        colour = lit.get(ident)
        style = f', color="{colour}", penwidth=3' if colour else ""
        return f'    {_q(ident)} [id={_q(ident)}, label={_q(label)}, fillcolor="{fill}", shape={shape}{style}{extra}];'

    def edge_stmt(a: str, b: str, ident: str, style: str = "solid") -> str:
        colour = lit.get(ident)
        extra = f', color="{colour}", penwidth=3' if colour else ""
        steps = step_of.get(ident)
        label = f', label={_q(",".join(map(str, steps)))}, fontcolor="{colour}"' if steps and colour else ""
        return f'  {_q(a)} -> {_q(b)} [id={_q(ident)}, style={style}{extra}{label}];'

    # Each namespace's devices, from the graph, in the order the kernel numbered them.
    devices: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for n, attrs in g.nodes(data=True):
        if "netns" in attrs:
            devices.setdefault(attrs["netns"], []).append((n, attrs))
    for devs in devices.values():
        devs.sort(key=lambda item: item[1]["ifindex"])

    def links(dev: str, kind: str) -> list[str]:
        """The devices ``dev`` is joined to by links of ``kind`` (in the graph)."""
        return sorted(other for _, other, k in g.edges(dev, data="kind") if k == kind)

    edges: list[str] = []
    for name in d.nodes:
        node = cluster.nodes[name]
        nsn = f"node/{name}"
        out.append(f"  subgraph {_q('cluster_' + element_id(nsn))} {{")
        title = f"{node.name}  {node.internal_ip}  podCIDR {node.pod_cidr}"
        out.append(f'    id={_q(element_id("box", nsn))}; label={_q(title)}; '
                   f'style="rounded,filled"; fillcolor="{PALETTE["node"]}";')
        for dev, attrs in devices.get(nsn, []):
            peer = attrs["peer"]
            if attrs["kind"] == "veth" and peer is not None and peer not in g:
                continue  # the host end of a pod that is not drawn
            fill = {"bridge": PALETTE["bridge"], "vxlan": PALETTE["vxlan"]}.get(attrs["kind"], "white")
            out.append(node_stmt(_dev_id(nsn, attrs["name"]), _device_label(attrs), fill))
            for bridge in links(dev, "port"):
                if g.nodes[bridge]["kind"] == "bridge" and bridge != dev:
                    edges.append(edge_stmt(_dev_id(nsn, attrs["name"]), _dev_id(*bridge.split("#", 1)),
                                           element_id("port", nsn, attrs["name"])))
        rows = {}
        for h in hops:
            if h.at == nsn and h.action == "route" and h.decided_by is not None:
                rows[h.decided_by.id] = lit.get(route_svg_id(h.decided_by.id), PALETTE["path"])
        table = _route_table(nsn, g.nodes[nsn]["routes"].sorted(), d.rows_of(name), rows)
        out.append(f'    {_q(element_id("routes", nsn))} [id={_q(element_id("routes", nsn))}, shape=plain, '
                   f'style="", label={table}];')
        for key in d.pods_on(name):
            pns = f"pod/{key}"
            out.append(f"    subgraph {_q('cluster_' + element_id(pns))} {{")
            out.append(f'      id={_q(element_id("box", pns))}; label={_q(f"pod {key}")}; '
                       f'style="rounded,filled"; fillcolor="{PALETTE["pod"]}";')
            for _, attrs in devices.get(pns, []):
                out.append("  " + node_stmt(_dev_id(pns, attrs["name"]), _device_label(attrs)))
            out.append("    }")
            for dev, _ in devices.get(pns, []):
                for host in links(dev, "veth"):
                    edges.append(edge_stmt(_dev_id(*dev.split("#", 1)), _dev_id(*host.split("#", 1)),
                                           _veth_id(dev, host), "bold"))
        folded, namespaces = d.folded_on(name)
        if folded:
            ident = folded_pods_id(name)
            out.append(node_stmt(ident, f"{_plural(folded, 'more pod')} in {_plural(namespaces, 'namespace')}\n"
                                 "(click to unfold the node)", PALETTE["pod"], "box",
                                 ', style="rounded,dashed,filled", tooltip="unfold this node"'))
        out.append("  }")
        for dev, attrs in devices.get(nsn, []):
            for eth0 in links(dev, "tunnel") if attrs["kind"] in ("vxlan", "ipip") else ():
                # the overlay device sends its outer packets through eth0
                edges.append(edge_stmt(_dev_id(nsn, attrs["name"]), _dev_id(*eth0.split("#", 1)),
                                       element_id("underlay", nsn, attrs["name"]), "dashed"))
        edges += [edge_stmt(_dev_id(nsn, "eth0"), where, _wire_id(nsn)) for where in links(f"{nsn}#eth0", "wire")]
    for ext in cluster.externals.values():
        nsn = f"external/{ext.name}"
        out.append(node_stmt(_dev_id(nsn, "eth0"), f"{nsn}\n{ext.ip}", PALETTE["external"], "box"))
        edges += [edge_stmt(_dev_id(nsn, "eth0"), where, _wire_id(nsn)) for where in links(f"{nsn}#eth0", "wire")]
    if d.folded_nodes:
        what = f"{_plural(d.folded_nodes, 'more node')}\n{_plural(d.folded_node_pods, 'pod')} in " \
               f"{_plural(d.folded_namespaces, 'namespace')}"
        out.append(node_stmt(FOLDED_NODES_ID, what, PALETTE["node"], "box3d", ', style="filled"'))
        edges.append(edge_stmt(FOLDED_NODES_ID, "lan", element_id("wire", "fold"), "dashed"))
    cfg = cluster.config
    out.append(node_stmt("lan", f"node network {cfg.node_network}", "#FFFFFF", "ellipse"))
    out.append(node_stmt("gateway", f"gateway {cfg.gateway}\n(the outside world)", "#FFFFFF", "ellipse"))
    edges.append(edge_stmt("lan", "gateway", "uplink"))
    out += edges
    out.append("}")
    return "\n".join(out) + "\n"
