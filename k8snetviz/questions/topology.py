"""The cluster's topology as a graph: network namespaces, their devices, and what joins them.

Nodes are namespaces (``node/kind-worker``, ``pod/default/web``, ``external/client``, ...: each stands
for its IP stack), devices (``node/kind-worker#eth0``) and the two places outside every host: ``lan``
(the node network) and ``gateway``. Edges say how they are joined: ``has`` (the stack uses a device;
a bridge's ports hang off the bridge instead), ``veth`` (the two ends
of a pair), ``port`` (a device enslaved to a bridge), ``tunnel`` (an overlay device that sends through
``eth0``), ``wire`` (an ``eth0`` on the node network) and ``uplink`` (the node network's gateway).
Every node carries ``kind`` and, for devices, ``addresses`` and ``owner`` (who created it).

Devices also carry ``ifindex`` and, for a veth, ``peer`` (the node of its other end, drawn or not);
namespaces carry ``routes``, their routing table. ``topology(cluster, netns)`` is the graph of some
namespaces only (what a diagram draws), built in time proportional to them, not to the cluster.

It is a :class:`networkx.MultiGraph`, so a learner can ask networkx's own questions of it:

>>> import networkx as nx
>>> import k8snetviz
>>> g = k8snetviz.load("two-node-bridge").graph()
>>> path = nx.shortest_path(g, "pod/default/client", "pod/default/web")
>>> [n for n in path if "#" in n][:3]
['pod/default/client#eth0', 'node/node-a#veth4b7483f1', 'node/node-a#cni0']
>>> g.nodes["node/node-a#cni0"]["kind"], g.nodes["node/node-a#cni0"]["addresses"]
('bridge', ['10.244.1.1/24'])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["topology", "device"]


def device(netns: str, dev: str) -> str:
    """A device's node in the graph: ``NETNS#DEV``."""
    return f"{netns}#{dev}"


def topology(cluster: Cluster, netns: Iterable[str] | None = None) -> nx.MultiGraph:
    """The cluster's namespaces, devices and links as a networkx multigraph (see the module docstring);
    with ``netns``, only those namespaces and the links among them (and to the node network)."""
    chosen = list(cluster.netns.values()) if netns is None else [cluster.netns[n] for n in netns]
    g = nx.MultiGraph(name=cluster.config.name)
    g.add_node("lan", kind="network", cidr=str(cluster.config.node_network))
    g.add_node("gateway", kind="gateway", address=str(cluster.config.gateway))
    g.add_edge("lan", "gateway", kind="uplink")
    for ns in chosen:
        g.add_node(ns.name, kind=ns.kind, routes=ns.routes)
        for dev in ns.interfaces.values():
            if dev.kind == "loopback":
                continue
            d = device(ns.name, dev.name)
            g.add_node(d, kind=dev.kind, netns=ns.name, name=dev.name, mac=dev.mac, mtu=dev.mtu, ifindex=dev.ifindex,
                       addresses=[a.with_prefixlen for a in dev.addrs], owner=dev.owner.component,
                       peer=device(*dev.peer) if dev.peer is not None else None)
            if not dev.master:  # a bridge port has no IP of its own: the bridge is its way into the stack
                g.add_edge(ns.name, d, kind="has")
    for ns in chosen:
        for dev in ns.interfaces.values():
            d = device(ns.name, dev.name)
            if dev.kind == "veth" and dev.peer is not None and d < device(*dev.peer) and device(*dev.peer) in g:
                g.add_edge(d, device(*dev.peer), kind="veth")
            if dev.master:
                g.add_edge(d, device(ns.name, dev.master), kind="port")
            if dev.kind in ("vxlan", "ipip") and "eth0" in ns.interfaces:
                g.add_edge(d, device(ns.name, "eth0"), kind="tunnel")
            if dev.kind == "ether" and dev.name == "eth0":
                on_lan = any(a.ip in cluster.config.node_network for a in dev.addrs)
                g.add_edge(d, "lan" if on_lan else "gateway", kind="wire")
    return g
