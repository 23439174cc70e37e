"""The packet walk: hop by hop through veths, bridges, routing tables, the wire and the VXLAN overlay.

Source addresses and "peer seen" values are the lab's ground truth: the real plugins in network
namespaces, with a TCP server reporting the peer address it saw (see k8snetviz.lab).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import k8snetviz
from k8snetviz.cluster import Cluster
from k8snetviz.errors import NotFound, UsageError
from k8snetviz.questions.trace import ACTIONS, VERDICTS, TraceResult

LAB = Path(__file__).parent / "scenarios" / "lab-pairs.yaml"
CP, W = "node/kind-control-plane", "node/kind-worker"


def lab(cni: str, overrides: str = "") -> Cluster:
    spec = f"{{cni: {cni}, systemPods: false{', overrides: ' + overrides if overrides else ''}}}"
    return k8snetviz.load(str(LAB), "apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\n"
                          f"metadata: {{name: lab-pairs}}\nspec: {spec}\n")


def actions(t: TraceResult) -> list[str]:
    return [h.action for h in t.request_hops]


def where(t: TraceResult) -> list[tuple[str, str, str]]:
    return [(h.at, h.device, h.action) for h in t.request_hops]


def veth(c: Cluster, pod: str) -> str:
    peer = c.netns[f"pod/default/{pod}"].interfaces["eth0"].peer
    assert peer is not None
    return peer[1]


# --- pod to pod, each model ----------------------------------------------------------------------

def test_bridge_cross_node() -> None:
    c = lab("bridge")
    t = c.trace("default/a0", "default/b0:80")
    assert where(t) == [
        ("pod/default/a0", "eth0", "route"), ("pod/default/a0", "eth0", "veth"),
        (CP, "cni0", "bridge"),  # addressed to the gateway's MAC: up to the node's IP stack
        (CP, "eth0", "route"), (CP, "eth0", "forward"),
        (W, "cni0", "route"), (W, "cni0", "bridge"), (W, veth(c, "b0"), "veth"),
        ("pod/default/b0", "eth0", "deliver"),
    ]
    assert [h.rule for h in t.request_hops if h.action == "route"] == [
        "default via 10.244.0.1 dev eth0",
        "10.244.1.0/24 via 172.18.0.3 dev eth0",
        "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1",
    ]
    assert t.verdict == "delivered"
    # pod to pod is not NATed: the server sees the client pod's own address (lab: peer 10.244.0.2)
    assert t.final == {"src": "10.244.0.2:40000", "dst": "10.244.1.2:80", "pod": "default/b0"}
    assert all((h.src, h.dst) == ("10.244.0.2:40000", "10.244.1.2:80") for h in t.request_hops)


def test_bridge_same_node_is_switched_by_the_bridge_without_a_node_route() -> None:
    c = lab("bridge")
    t = c.trace("default/a0", "default/a1:8080")
    assert where(t) == [
        ("pod/default/a0", "eth0", "route"), ("pod/default/a0", "eth0", "veth"),
        (CP, "cni0", "bridge"), (CP, "cni0", "bridge"), (CP, veth(c, "a1"), "veth"),
        ("pod/default/a1", "eth0", "deliver"),
    ]
    assert t.request_hops[0].rule == "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2"
    assert t.final is not None and t.final["src"] == "10.244.0.2:40000"


def test_kindnet_same_node_is_routed_by_the_node_through_the_host_route() -> None:
    c = lab("kindnet")
    t = c.trace("default/a0", "default/a1:8080")
    assert where(t) == [
        ("pod/default/a0", "eth0", "route"), ("pod/default/a0", "eth0", "veth"),
        (CP, veth(c, "a1"), "route"), (CP, veth(c, "a1"), "veth"),
        ("pod/default/a1", "eth0", "deliver"),
    ]
    assert t.request_hops[0].rule == "10.244.0.0/24 via 10.244.0.1 dev eth0 src 10.244.0.2"
    assert t.request_hops[2].rule == f"10.244.0.3 dev {veth(c, 'a1')} scope host"


def test_kindnet_cross_node() -> None:
    c = lab("kindnet")
    t = c.trace("default/a0", "default/b0:80")
    assert actions(t) == ["route", "veth", "route", "forward", "route", "veth", "deliver"]
    assert [h.rule for h in t.request_hops if h.action == "route"] == [
        "default via 10.244.0.1 dev eth0",
        "10.244.1.0/24 via 172.18.0.3 dev eth0",
        f"10.244.1.2 dev {veth(c, 'b0')} scope host",
    ]
    assert t.final is not None and t.final["src"] == "10.244.0.2:40000"


def test_flannel_cross_node_is_encapsulated_between_node_ips() -> None:
    c = lab("flannel")
    t = c.trace("default/a0", "default/b0:80")
    assert where(t) == [
        ("pod/default/a0", "eth0", "route"), ("pod/default/a0", "eth0", "veth"),
        (CP, "cni0", "bridge"), (CP, "flannel.1", "route"), (CP, "flannel.1", "encap"),
        (CP, "eth0", "route"), (CP, "eth0", "forward"),
        (W, "flannel.1", "decap"), (W, "cni0", "route"), (W, "cni0", "bridge"), (W, veth(c, "b0"), "veth"),
        ("pod/default/b0", "eth0", "deliver"),
    ]
    assert t.request_hops[3].rule == "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink"
    # the outer header: UDP from node IP to node IP, port 8472, with the pod packet inside
    enc = t.request_hops[4]
    assert enc.changed == ("outer",)
    inner = "[TCP 10.244.0.2:40000 → 10.244.1.2:80]"
    carried = [h for h in t.request_hops if h.outer]
    assert [h.action for h in carried] == ["encap", "route", "forward"]
    for h in carried:
        head, _, rest = h.outer.partition(" → ")
        assert head.startswith("UDP 172.18.0.2:")
        assert 32768 <= int(head.rsplit(":", 1)[1]) < 61000  # an ephemeral source port from the flow hash
        assert rest == f"172.18.0.3:8472 {inner}"
    # the outer packet is routed by the node's own table (the connected node network)
    assert t.request_hops[5].rule == "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2"
    assert t.request_hops[7].changed == ("outer",) and not t.request_hops[7].outer
    # inner headers are untouched end to end
    assert t.final is not None and t.final["src"] == "10.244.0.2:40000"


def test_flannel_same_node_stays_on_the_bridge() -> None:
    t = lab("flannel").trace("default/a0", "default/a1:80")
    assert actions(t) == ["route", "veth", "bridge", "bridge", "veth", "deliver"]
    assert not any(h.outer for h in t.request_hops)


# --- nodes and the outside ---------------------------------------------------------------------

# (src, dst, cni) -> source address the server saw, from the lab's probes
NODE_TO_POD = [
    ("bridge", "node/kind-control-plane", "default/a0", "10.244.0.1"),  # cni0's address: src of the connected route
    ("bridge", "node/kind-control-plane", "default/b0", "172.18.0.2"),  # eth0's: the route via the peer node
    ("bridge", "node/kind-worker", "default/a1", "172.18.0.3"),
    ("kindnet", "node/kind-control-plane", "default/a0", "10.244.0.1"),  # the host end's /32 gateway address
    ("kindnet", "node/kind-control-plane", "default/b0", "172.18.0.2"),
    ("kindnet", "node/kind-worker", "default/a1", "172.18.0.3"),
    ("flannel", "node/kind-control-plane", "default/a0", "10.244.0.1"),
    ("flannel", "node/kind-control-plane", "default/b0", "10.244.0.0"),  # flannel.1's address
    ("flannel", "node/kind-worker", "default/a1", "10.244.1.0"),
]


@pytest.mark.parametrize(("cni", "src", "dst", "seen"), NODE_TO_POD)
def test_node_to_pod_source_address_selection(cni: str, src: str, dst: str, seen: str) -> None:
    t = lab(cni).trace(src, f"{dst}:8080")
    assert t.verdict == "delivered"
    assert t.final is not None and t.final["src"] == f"{seen}:40000"
    assert t.final["pod"] == dst
    assert t.request_hops[0].at == src and t.request_hops[0].src == f"{seen}:40000"


def forward_hops(t: TraceResult) -> list[tuple[str, str, str]]:
    """The hops up to delivery (conntrack's reply hops come after it)."""
    out = where(t)
    return out[: [a for _, _, a in out].index("deliver") + 1]


@pytest.mark.parametrize("cni", ["bridge", "kindnet", "flannel"])
def test_pod_to_node(cni: str) -> None:
    t = lab(cni).trace("default/a0", "node/kind-worker:10250")
    assert t.verdict == "delivered"
    assert forward_hops(t)[-1] == (W, "eth0", "deliver")
    assert t.final is not None and t.final["dst"] == "172.18.0.3:10250" and t.final["pod"] is None
    assert "forward" in actions(t) and "encap" not in actions(t)


@pytest.mark.parametrize("cni", ["kindnet", "flannel"])
def test_pod_to_node_is_masqueraded(cni: str) -> None:
    # kind-masq-agent (kindnet) masquerades all but pod-network destinations; flanneld masquerades what
    # leaves the flannel network. Either way the other node sees this node's address.
    t = lab(cni).trace("default/a0", "node/kind-worker:10250")
    assert t.final is not None and t.final["src"] == "172.18.0.2:40000"
    snat = [h for h in t.request_hops if h.action == "snat"]
    assert len(snat) == 1 and snat[0].at == CP and "MASQUERADE" in snat[0].detail


def test_icmp_has_no_ports() -> None:
    t = lab("bridge").trace("default/a0", "default/b0:80", protocol="ICMP")
    assert t.delivered and t.final is not None and t.final["src"] == "10.244.0.2" and t.final["dst"] == "10.244.1.2"


@pytest.mark.parametrize("cni", ["bridge", "kindnet", "flannel"])
def test_pod_to_outside_leaves_through_the_gateway(cni: str) -> None:
    t = lab(cni).trace("default/a0", "1.1.1.1:443")
    assert t.verdict == "delivered"
    assert forward_hops(t)[-2:] == [(CP, "eth0", "forward"), ("internet", "-", "deliver")]
    assert [h.rule for h in t.request_hops if h.action == "route"][-1] == "default via 172.18.0.1 dev eth0"


@pytest.mark.parametrize("cni", ["kindnet", "flannel"])
def test_pod_to_outside_is_masqueraded_to_the_node_address(cni: str) -> None:
    t = lab(cni).trace("default/a0", "1.1.1.1:443")
    assert t.final is not None and t.final["src"].split(":")[0] == "172.18.0.2"
    # and the reply is un-NATed back to the pod by conntrack on the node
    replies = t.reply_hops
    unnat = [h for h in replies if h.action == "un-nat"]
    assert len(unnat) == 1 and unnat[0].at == CP and unnat[0].dst == "10.244.0.2:40000"
    assert (replies[-1].at, replies[-1].action) == ("pod/default/a0", "deliver")


def test_a_pod_address_is_not_routable_beyond_the_gateway() -> None:
    t = lab("bridge").trace("default/a0", "10.244.9.9:80")
    assert t.verdict == "no-route"
    assert t.reason == "10.244.9.9 is not routable outside the cluster"
    assert t.request_hops[-1].action == "drop"


# --- broken networks ----------------------------------------------------------------------------

def test_deleted_route_and_no_default_is_no_route_with_the_reason() -> None:
    c = lab("bridge", "[{target: node/kind-control-plane, deleteRoutes: [10.244.1.0/24, default]}]")
    assert "10.244.1.0/24 via 172.18.0.3 dev eth0" not in str(c.netns[CP].routes)
    t = c.trace("default/a0", "default/b0:80")
    assert t.verdict == "no-route"
    assert t.reason == "node/kind-control-plane has no route to 10.244.1.2"
    assert where(t)[-1] == (CP, "cni0", "drop")
    assert not t.delivered and t.final is None


def test_deleted_route_falls_back_to_the_default_route_which_cannot_reach_pods() -> None:
    c = lab("bridge", "[{target: node/kind-control-plane, deleteRoutes: [10.244.1.0/24]}]")
    t = c.trace("default/a0", "default/b0:80")
    assert t.verdict == "no-route"
    assert [h.rule for h in t.request_hops if h.action == "route"][-1] == "default via 172.18.0.1 dev eth0"


def test_added_route_repairs_the_path() -> None:
    c = lab("bridge", "[{target: node/kind-control-plane, deleteRoutes: [10.244.1.0/24], "
                      "addRoutes: ['10.244.1.0/24 via 172.18.0.3 dev eth0']}]")
    assert c.trace("default/a0", "default/b0:80").delivered


def test_ip_forward_off_drops_routed_traffic() -> None:
    c = lab("bridge", "[{target: node/kind-control-plane, ipForward: false}]")
    t = c.trace("default/a0", "default/b0:80")
    assert t.verdict == "dropped"
    assert "net.ipv4.ip_forward = 0" in t.reason and "node/kind-control-plane" in t.reason
    assert where(t)[-1] == (CP, "cni0", "drop")
    # bridging within one node needs no forwarding: the frame never reaches the IP layer
    assert c.trace("default/a0", "default/a1:80").delivered


def test_ip_forward_off_breaks_even_same_node_traffic_with_ptp() -> None:
    # ptp has no bridge: every pod-to-pod packet is routed by the node.
    c = lab("kindnet", "[{target: node/kind-control-plane, ipForward: false}]")
    assert c.trace("default/a0", "default/a1:80").verdict == "dropped"


def test_a_routing_loop_is_cut_off() -> None:
    c = lab("kindnet", "[{target: node/kind-worker, deleteRoutes: [10.244.1.2], "
                       "addRoutes: ['10.244.1.2 via 172.18.0.2 dev eth0']}]")
    t = c.trace("default/a0", "default/b0:80")
    assert t.verdict == "dropped" and "looped" in t.reason


# --- input and output -------------------------------------------------------------------------------

def test_unknown_source_and_destination() -> None:
    c = lab("bridge")
    with pytest.raises(NotFound, match=r'^pods "nope" not found in namespace "default"$'):
        c.trace("default/nope", "default/b0:80")
    with pytest.raises(NotFound, match=r'^pods "nope" not found in namespace "default"$'):
        c.trace("default/a0", "default/nope:80")
    with pytest.raises(NotFound, match=r'^nodes "nope" not found$'):
        c.trace("node/nope", "default/b0:80")


@pytest.mark.parametrize(("dst", "message"), [
    ("default/b0:http", 'destination "default/b0:http": port must be a number from 1 to 65535, not "http"'),
    ("default/b0:70000", 'destination "default/b0:70000": port must be a number from 1 to 65535, not "70000"'),
    ("default/b0", 'destination "default/b0": needs a port, e.g. default/b0:80'),
])
def test_malformed_destination(dst: str, message: str) -> None:
    with pytest.raises(UsageError) as e:
        lab("bridge").trace("default/a0", dst)
    assert str(e.value) == message


def test_source_forms_are_equivalent() -> None:
    c = lab("bridge")
    a = c.trace("default/a0", "default/b0:80").to_dict()
    assert c.trace("pod/default/a0", "pod/default/b0:80").to_dict() == a
    assert c.trace("default/a0", "10.244.1.2:80").to_dict()["hops"] == a["hops"]


def test_to_dict_follows_the_json_contract() -> None:
    t = lab("flannel").trace("default/a0", "default/b0:80")
    d = json.loads(json.dumps(t.to_dict()))
    assert set(d) == {"delivered", "verdict", "reason", "hops", "final", "candidates"}
    assert d["verdict"] in VERDICTS and d["delivered"] is True
    assert [h["step"] for h in d["hops"]] == list(range(1, len(d["hops"]) + 1))
    for h in d["hops"]:
        assert {"step", "at", "device", "action", "detail", "src", "dst"} <= set(h)
        assert h["action"] in ACTIONS
    assert "outer" in d["hops"][4] and "rule" in d["hops"][0]


def test_the_walk_is_deterministic() -> None:
    one = k8snetviz.load("flannel-vxlan")
    two = k8snetviz.load("flannel-vxlan")
    web = sorted(p for p in one.pods if p.startswith("default/web-"))[0]
    assert one.trace("default/client", f"{web}:80").to_dict() == two.trace("default/client", f"{web}:80").to_dict()


def test_shipped_classic_figure() -> None:
    # notebooks 01/02: veth -> bridge -> eth0 -> wire -> eth0 -> bridge -> veth
    t = k8snetviz.load("two-node-bridge").trace("default/client", "default/web:80")
    assert actions(t) == ["route", "veth", "bridge", "route", "forward", "route", "bridge", "veth", "deliver"]
    assert t.text().splitlines()[-1].startswith("verdict: delivered: delivered to pod/default/web at 10.244.2.")


# --- the reply's way back ------------------------------------------------------------------------

def test_the_reply_is_routed_back_and_reaches_the_client() -> None:
    # A connection needs its answer to come back: the reply is routed hop by hop from the server.
    t = lab("bridge").trace("default/a0", "default/b0:80")
    back = [(h.at, h.action) for h in t.reply_hops]
    assert back[0] == ("pod/default/b0", "route") and back[-1] == ("pod/default/a0", "deliver")
    assert (W, "forward") in back and all(h.src == "10.244.1.2:80" for h in t.reply_hops)


def test_a_reply_with_no_way_back_means_no_connection() -> None:
    # lab (broken-route): node-a has no route to node-b's pods, so its SYN-ACK goes to the default
    # gateway and is lost; the kernel's TCP connection times out although the SYN arrived.
    c = lab("bridge", "[{target: node/kind-control-plane, deleteRoutes: [10.244.1.0/24]}]")
    t = c.trace("default/b0", "default/a0:80")
    assert t.final is not None and t.final["pod"] == "default/a0"  # the request itself arrived
    assert not t.delivered and t.verdict == "no-route"
    assert "but the reply cannot get back" in t.reason
    assert t.reply_hops[-1].action == "drop" and t.reply_hops[-1].at == "gateway"
