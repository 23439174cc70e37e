"""cluster.graph(): the topology as a networkx graph that learners can query."""

from __future__ import annotations

import networkx as nx

import k8snetviz


def test_every_device_is_a_node_with_its_addresses_and_owner() -> None:
    c = k8snetviz.load("kind-default")
    g = c.graph()
    for ns in c.netns.values():
        assert g.nodes[ns.name]["kind"] == ns.kind
        for dev in ns.interfaces.values():
            if dev.kind == "loopback":
                continue
            node = g.nodes[f"{ns.name}#{dev.name}"]
            assert node["kind"] == dev.kind
            assert node["addresses"] == [a.with_prefixlen for a in dev.addrs]
            assert node["owner"] == dev.owner.component


def test_a_pod_reaches_a_pod_on_another_node_through_the_bridges_and_the_wire() -> None:
    g = k8snetviz.load("two-node-bridge").graph()
    path = nx.shortest_path(g, "pod/default/client", "pod/default/web")
    assert "node/node-a#cni0" in path and "node/node-b#cni0" in path  # bridged: ports hang off the bridge
    assert "lan" in path
    kinds = [g.edges[a, b, 0]["kind"] for a, b in zip(path, path[1:], strict=False)]
    assert kinds.count("veth") == 2 and kinds.count("wire") == 2


def test_overlay_devices_send_through_eth0() -> None:
    g = k8snetviz.load("flannel-vxlan").graph()
    tunnels = [(a, b) for a, b, k in g.edges(data="kind") if k == "tunnel"]
    assert tunnels and all({a.split("#")[1], b.split("#")[1]} == {"flannel.1", "eth0"} for a, b in tunnels)
