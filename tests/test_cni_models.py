"""The three CNI set-ups, pinned to what the real plugins left in the kernel.

Expected tables are the lab's ground truth (k8snetviz.lab: the real bridge/ptp/flannel plugins with
host-local, run in network namespaces, read back with `ip route`): two kind nodes, pods a0 a1 on
the control plane and b0 b1 on the worker. Differences on purpose: the lab's nodes have no default
route (kind's nodes have one, via the docker network's gateway), and veth names are random there.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

import k8snetviz
from k8snetviz.cluster import Cluster

LAB = Path(__file__).parent / "scenarios" / "lab-pairs.yaml"


def lab(cni: str) -> Cluster:
    return k8snetviz.load(str(LAB), "apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\n"
                          f"metadata: {{name: lab-pairs}}\nspec: {{cni: {cni}, systemPods: false}}\n")


def routes(c: Cluster, ns: str) -> list[str]:
    return str(c.netns[ns].routes).splitlines()


def veth(c: Cluster, pod: str) -> str:
    """The host end of a pod's veth pair."""
    peer = c.netns[f"pod/default/{pod}"].interfaces["eth0"].peer
    assert peer is not None
    return peer[1]


CP, W = "node/kind-control-plane", "node/kind-worker"
NODE_DEFAULT = "default via 172.18.0.1 dev eth0"


@pytest.mark.parametrize("cni", ["bridge", "kindnet", "flannel"])
def test_every_pod_has_eth0_as_a_veth_whose_peer_is_on_its_node(cni: str) -> None:
    c = lab(cni)
    for p in ("a0", "a1", "b0", "b1"):
        eth0 = c.netns[f"pod/default/{p}"].interfaces["eth0"]
        node = f"node/{c.pods[f'default/{p}'].node_name}"
        assert eth0.kind == "veth" and eth0.peer is not None and eth0.peer[0] == node
        host = c.netns[node].interfaces[eth0.peer[1]]
        assert host.peer == (f"pod/default/{p}", "eth0")
        # the ifindexes point at each other (what `eth0@ifN` shows)
        assert (eth0.peer_ifindex, host.peer_ifindex) == (host.ifindex, eth0.ifindex)
        # CNI plugins name the host end veth + 8 hex digits
        assert re.fullmatch(r"veth[0-9a-f]{8}", host.name)


@pytest.mark.parametrize("cni", ["bridge", "kindnet", "flannel"])
def test_addresses_are_host_local_order_and_every_node_forwards(cni: str) -> None:
    c = lab(cni)
    assert {k: str(p.ip) for k, p in c.pods.items()} == {
        "default/a0": "10.244.0.2", "default/a1": "10.244.0.3", "default/b0": "10.244.1.2", "default/b1": "10.244.1.3"}
    assert c.netns[CP].ip_forward and c.netns[W].ip_forward
    assert c.netns["pod/default/a0"].interfaces["eth0"].addrs == [IPv4Interface("10.244.0.2/24")]


# --- bridge --------------------------------------------------------------------------------------

def test_bridge_routing_tables() -> None:
    c = lab("bridge")
    assert routes(c, "pod/default/a0") == ["default via 10.244.0.1 dev eth0",
                                           "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2"]
    assert routes(c, "pod/default/b1") == ["default via 10.244.1.1 dev eth0",
                                           "10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.3"]
    assert routes(c, CP) == [NODE_DEFAULT,
                             "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1",
                             "10.244.1.0/24 via 172.18.0.3 dev eth0",
                             "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2"]
    assert routes(c, W) == [NODE_DEFAULT,
                            "10.244.0.0/24 via 172.18.0.2 dev eth0",
                            "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1",
                            "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.3"]


def test_bridge_devices() -> None:
    c = lab("bridge")
    node = c.netns[W]
    assert [i.name for i in sorted(node.interfaces.values(), key=lambda i: i.ifindex)] == [
        "lo", "eth0", "cni0", veth(c, "b0"), veth(c, "b1")]
    cni0 = node.interfaces["cni0"]
    assert (cni0.kind, cni0.addrs, cni0.mtu) == ("bridge", [IPv4Interface("10.244.1.1/24")], 1500)
    # host ends are bridge ports and carry no address
    for p in ("b0", "b1"):
        h = node.interfaces[veth(c, p)]
        assert (h.master, h.addrs) == ("cni0", [])


def test_bridge_exists_only_where_pods_run() -> None:
    # the bridge plugin creates cni0 at the first pod's ADD
    c = k8snetviz.load(str(LAB), "apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\nmetadata: {name: lab-pairs}\n"
                       "spec: {cni: bridge, systemPods: false}\n---\n"
                       "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: kind\n"
                       "nodes: [{role: control-plane}, {role: worker}, {role: worker}]\n")
    assert "cni0" not in c.netns["node/kind-worker2"].interfaces
    assert "10.244.2.0/24 via 172.18.0.4 dev eth0" in routes(c, CP)


# --- kindnet (ptp) ---------------------------------------------------------------------------------

def test_kindnet_routing_tables() -> None:
    c = lab("kindnet")
    # ptp: the subnet via the gateway, and the gateway as a link route (no connected /24 on eth0)
    assert routes(c, "pod/default/a0") == ["default via 10.244.0.1 dev eth0",
                                           "10.244.0.0/24 via 10.244.0.1 dev eth0 src 10.244.0.2",
                                           "10.244.0.1 dev eth0 scope link src 10.244.0.2"]
    assert routes(c, "pod/default/b1") == ["default via 10.244.1.1 dev eth0",
                                           "10.244.1.0/24 via 10.244.1.1 dev eth0 src 10.244.1.3",
                                           "10.244.1.1 dev eth0 scope link src 10.244.1.3"]
    # ptp: a /32 host route per pod; kindnetd: other nodes' podCIDRs via their node IPs
    assert routes(c, CP) == [NODE_DEFAULT,
                             f"10.244.0.2 dev {veth(c, 'a0')} scope host",
                             f"10.244.0.3 dev {veth(c, 'a1')} scope host",
                             "10.244.1.0/24 via 172.18.0.3 dev eth0",
                             "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2"]
    assert routes(c, W) == [NODE_DEFAULT,
                            "10.244.0.0/24 via 172.18.0.2 dev eth0",
                            f"10.244.1.2 dev {veth(c, 'b0')} scope host",
                            f"10.244.1.3 dev {veth(c, 'b1')} scope host",
                            "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.3"]


def test_kindnet_has_no_bridge_and_each_host_end_holds_the_gateway_as_a_32() -> None:
    c = lab("kindnet")
    node = c.netns[CP]
    assert not any(i.kind == "bridge" for i in node.interfaces.values())
    for p in ("a0", "a1"):
        h = node.interfaces[veth(c, p)]
        assert (h.master, h.addrs) == (None, [IPv4Interface("10.244.0.1/32")])


# --- flannel (VXLAN) ----------------------------------------------------------------------------------

def test_flannel_node_routing_tables() -> None:
    c = lab("flannel")
    assert routes(c, CP) == [NODE_DEFAULT,
                             "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1",
                             "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink",
                             "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2"]
    assert routes(c, W) == [NODE_DEFAULT,
                            "10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink",
                            "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1",
                            "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.3"]


def test_flannel_pod_routing_table_on_a_node_whose_pod_cidr_sorts_after_the_network() -> None:
    c = lab("flannel")
    # the flannel CNI plugin adds the whole cluster network via the gateway
    assert routes(c, "pod/default/b0") == ["default via 10.244.1.1 dev eth0",
                                           "10.244.0.0/16 via 10.244.1.1 dev eth0",
                                           "10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.2"]


def test_flannel_pod_routing_table_where_pod_cidr_and_network_share_an_address() -> None:
    # Kernel listing order for 10.244.0.0/24 and 10.244.0.0/16: longer prefix first (see test_routing).
    c = lab("flannel")
    assert routes(c, "pod/default/a0") == ["default via 10.244.0.1 dev eth0",
                                           "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2",
                                           "10.244.0.0/16 via 10.244.0.1 dev eth0"]


def test_flannel_vtep_device_neighbour_and_fdb() -> None:
    c = lab("flannel")
    cp, w = c.netns[CP], c.netns[W]
    vtep = cp.interfaces["flannel.1"]
    # flannel.1: the node's podCIDR network address as a /32, VNI 1, UDP 8472, MTU 1500 - 50
    assert vtep.kind == "vxlan"
    assert vtep.addrs == [IPv4Interface("10.244.0.0/32")]
    assert vtep.mtu == 1450
    assert vtep.vxlan is not None
    assert (vtep.vxlan["id"], vtep.vxlan["dstport"], vtep.vxlan["local"], vtep.vxlan["dev"]) == (
        1, 8472, IPv4Address("172.18.0.2"), "eth0")
    assert vtep.vxlan["learning"] is False
    # flanneld's permanent neighbour entry for the peer's VTEP and the FDB entry to the peer node
    peer_mac = w.interfaces["flannel.1"].mac
    assert {n.ip: n.lladdr for n in cp.neighbours["flannel.1"].values()} == {IPv4Address("10.244.1.0"): peer_mac}
    assert {e.mac: e.dst for e in cp.fdb["flannel.1"].values()} == {peer_mac: IPv4Address("172.18.0.3")}
    # each entry knows who wrote it, and for which node
    assert {(e.owner.component, e.owner.object) for e in cp.fdb["flannel.1"].values()} == {
        ("flanneld", "Node kind-worker")}


def test_flannel_mtu_is_carried_to_the_bridge_and_the_veths() -> None:
    c = lab("flannel")
    node = c.netns[CP]
    assert node.interfaces["eth0"].mtu == 1500
    assert node.interfaces["cni0"].mtu == 1450
    assert node.interfaces[veth(c, "a0")].mtu == 1450
    assert c.netns["pod/default/a0"].interfaces["eth0"].mtu == 1450
    # device order as the kernel numbered them: flanneld's VTEP comes before the bridge
    assert [i.name for i in sorted(node.interfaces.values(), key=lambda i: i.ifindex)][:4] == [
        "lo", "eth0", "flannel.1", "cni0"]


# --- the add-ons' iptables rules ------------------------------------------------------------------

def _nat_lines(scenario: str, node: str) -> list[str]:
    import k8snetviz

    text = k8snetviz.load(scenario).iptables(node)
    nat = text[text.index("*nat"):]
    return [line for line in nat[:nat.index("COMMIT")].splitlines() if line.startswith("-A ")]


def test_kindnet_masquerades_only_what_leaves_the_pod_network() -> None:
    # kindnetd's masquerade agent: a jump for every non-local destination, pod-network traffic returned,
    # MASQUERADE last; kube-proxy's KUBE-POSTROUTING jump comes first in POSTROUTING.
    rules = _nat_lines("kind-default", "kind-worker")
    post = [r for r in rules if r.startswith("-A POSTROUTING ")]
    assert post[0].endswith("-j KUBE-POSTROUTING") and post[1].endswith("-j KIND-MASQ-AGENT")
    assert "-m addrtype ! --dst-type LOCAL" in post[1]
    agent = [r for r in rules if r.startswith("-A KIND-MASQ-AGENT ")]
    assert agent[0].startswith("-A KIND-MASQ-AGENT -d 10.244.0.0/16 ") and agent[0].endswith("-j RETURN")
    assert agent[-1].endswith("-j MASQUERADE")


def test_flannel_leaves_pod_to_pod_traffic_alone_and_masquerades_the_rest() -> None:
    rules = [r for r in _nat_lines("flannel-vxlan", "kind-worker") if r.startswith("-A FLANNEL-POSTRTG ")]
    # packets kube-proxy marked for masquerade are left to KUBE-POSTROUTING
    assert rules[0].startswith("-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000") and rules[0].endswith("RETURN")
    assert any(r.startswith("-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 ") for r in rules)
    assert rules[-2].startswith("-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 ")
    assert all(r.endswith(("RETURN", "MASQUERADE --random-fully")) for r in rules)
