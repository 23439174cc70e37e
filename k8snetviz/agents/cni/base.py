"""What every CNI model shares: how a pod's veth pair is made, and the questions a model answers.

A model is one network plugin set-up as it runs on a node. It says, as writes to the kernel
(:mod:`k8snetviz.agents.writes`), what the CNI binary does for each pod (the veth pair, the address,
the pod's routes, the host side) and what the node agent does for the node (a bridge or a tunnel
device, routes to the other nodes' pods, masquerading rules). Each write names its owner, so the
walk can say which program wrote the row that decided a hop.

Add a model by writing one module in this package with a subclass of :class:`CNIPlugin` that sets
``name``; :mod:`k8snetviz.agents.cni` finds it.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, ClassVar

from k8snetviz.agents.ipam import HostLocalIPAM, PodIPAM
from k8snetviz.agents.writes import AddrAdd, IptablesRestore, LinkAdd, Owner, RouteAdd, SharedRoutes, Sysctl, Write
from k8snetviz.api.objects import Node, Pod
from k8snetviz.scenario.loader import Scenario

__all__ = ["CNIPlugin", "host_veth_name", "mac_for", "ipam", "node_ns", "pod_ns", "daemonset"]


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode()).digest()


def host_veth_name(pod: Pod) -> str:
    """The host end of a pod's veth pair: ``veth`` and 8 hex digits, as the plugins name it."""
    return "veth" + _digest("veth/" + pod.key).hex()[:8]


def mac_for(seed: str) -> str:
    """A stable, locally administered unicast MAC."""
    b = bytearray(_digest("mac/" + seed)[:6])
    b[0] = (b[0] & 0xFC) | 0x02
    return b.hex(":")


def node_ns(node: Node) -> str:
    return f"node/{node.name}"


def pod_ns(pod: Pod) -> str:
    return f"pod/{pod.key}"


def ipam(pod_cidr: str, data_dir: str | None, routes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """host-local's ``ipam`` section: the node's podCIDR as its one range."""
    out: dict[str, Any] = {"type": "host-local"}
    if data_dir:
        out["dataDir"] = data_dir
    if routes is not None:
        out["routes"] = routes
    out["ranges"] = [[{"subnet": pod_cidr}]]
    return out


def daemonset(name: str, namespace: str, labels: dict[str, str], container: dict[str, Any], *,
              tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A node agent's DaemonSet: one host-network pod per Linux node."""
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"selector": {"matchLabels": dict(labels)}, "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"hostNetwork": True, "priorityClassName": "system-node-critical",
                     "nodeSelector": {"kubernetes.io/os": "linux"},
                     "tolerations": tolerations if tolerations is not None else [{"operator": "Exists"}],
                     "containers": [container]}}},
    }


class CNIPlugin:
    """One network plugin set-up (a scenario's ``spec.cni``).

    Class attributes describe the model; the methods return what it writes. The defaults fit a
    plugin that puts pods on a bridge with plain routes between nodes.
    """

    name: ClassVar[str] = ""  # the value of the Scenario's spec.cni
    title: ClassVar[str] = ""  # in words, for inspect and the course
    binary: ClassVar[str] = ""  # the CNI binary that wires a pod (bridge, ptp, ...)
    daemon: ClassVar[str] = ""  # the node agent that routes between nodes and masquerades
    conf_file: ClassVar[str] = ""  # its file in /etc/cni/net.d
    mtu: ClassVar[int] = 1500
    bridge: ClassVar[str | None] = None
    # Names of kube-system workloads whose presence shows this plugin runs (a DaemonSet, its pods' prefix).
    detect: ClassVar[tuple[str, ...]] = ()
    # Whether the plugin implements NetworkPolicy, where that fact comes from, and the program that
    # enforces it (the owner of the walk's policy hops: "calico-node/felix").
    enforces_network_policy: ClassVar[bool] = False
    policy_source: ClassVar[str] = ""
    policy_agent: ClassVar[str] = ""
    # The add-on's rules go before kube-proxy's (Felix keeps its jumps at the top of the built-in chains).
    netfilter_first: ClassVar[bool] = False
    masq_chain: ClassVar[str] = "IP-MASQ-AGENT"
    masq_author: ClassVar[str] = "ip-masq-agent"

    def __init__(self, pod_subnet: IPv4Network) -> None:
        self.pod_subnet = pod_subnet
        # the routes to every node's podCIDR, built once for a list of nodes (kept, so its id is not reused)
        self._peer_table: tuple[list[Node], tuple[RouteAdd, ...], dict[str, tuple[RouteAdd, ...]]] | None = None
        # What the model shows differently from what the cluster's objects say runs (for inspect's notes).
        self.approximations: list[str] = []
        # each node's gateway (the first address of its podCIDR) and that address as a /32, made once per node
        self._gateways: dict[str, tuple[IPv4Network, IPv4Address, IPv4Interface]] = {}

    # --- what the plugin reads, and who hands out addresses ----------------------------------------------
    def read(self, scenario: Scenario) -> None:
        """Settings the plugin takes from the cluster's own objects (Calico: its IPPool); none by default."""

    def ipam(self, nodes: dict[str, Node]) -> PodIPAM:
        """The IPAM that gives pods their addresses: host-local on each node's podCIDR by default."""
        return HostLocalIPAM(nodes)

    def system_objects(self) -> list[dict[str, Any]]:
        """The add-on's own objects as its manifest installs them (its DaemonSet: ``kindnet``, ``calico-node``);
        none for a plugin without a node agent."""
        return []

    # --- owners --------------------------------------------------------------------------------------
    def plugin_owner(self, pod: Pod, why: str) -> Owner:
        """A row the CNI binary wrote while the runtime set up ``pod``'s sandbox."""
        return Owner(f"kubelet/{self.binary}", pod.node_name, f"Pod {pod.key}", (), why)

    def daemon_owner(self, obj: str | None, why: str, node: str | None = None) -> Owner:
        """A row the node agent wrote (``node`` None: the node that holds it)."""
        return Owner(self.daemon or f"kubelet/{self.binary}", node, obj, (), why)

    # --- the node ------------------------------------------------------------------------------------
    def node_writes(self, node: Node, nodes: list[Node], has_pods: bool) -> list[Write]:
        """Devices and routes on the node that do not belong to one pod (``nodes``: every node, this one too)."""
        # Both the bridge plugin (isGateway) and ptp turn forwarding on in the node.
        out: list[Write] = [Sysctl(node_ns(node), "net.ipv4.ip_forward", "1", Owner(
            f"kubelet/{self.binary}", node.name, f"Node {node.name}", (),
            "the plugin turns on forwarding so that the node routes its pods' packets"))]
        if self.bridge and has_pods:
            # The bridge plugin creates the bridge and gives it the gateway address at the first ADD.
            gw = node.pod_cidr.network_address + 1
            owner = Owner(f"kubelet/{self.binary}", node.name, f"Node {node.name}", (),
                          f"the bridge {self.bridge} with the gateway of podCIDR {node.pod_cidr}")
            out.append(LinkAdd(node_ns(node), self.bridge, "bridge", mac_for(f"{node.name}/{self.bridge}"), self.mtu,
                               owner=owner))
            out.append(AddrAdd(node_ns(node), self.bridge, f"{gw}/{node.pod_cidr.prefixlen}", owner))
            out.append(RouteAdd(node_ns(node), str(node.pod_cidr), self.bridge, proto="kernel", scope="link",
                                src=str(gw), owner=Owner("kernel", node.name, f"Node {node.name}", (),
                                                         f"the address on {self.bridge}")))
        if self.bridge and has_pods:
            for block in node.pod_blocks:
                out.append(RouteAdd(node_ns(node), str(block), self.bridge, scope="link", owner=self.daemon_owner(
                    f"Node {node.name}", f"pods of this node outside its podCIDR (the IPAM block {block})", node.name)))
        out += self.peer_writes(node, nodes)
        return out

    def peer_writes(self, node: Node, nodes: list[Node]) -> list[Write]:
        """What the node agent writes for the other nodes: a route to each one's podCIDR (and IPAM blocks)."""
        return [self.peer_routes(node, nodes)]

    def _block_route(self, peer: Node, block: IPv4Network) -> RouteAdd:
        """A peer's IPAM block (pods outside its podCIDR, in a dump), routed via the peer's node IP."""
        owner = self.daemon_owner(f"Node {peer.name}", f"the IPAM block {block} of {peer.name}'s pods, via its IP")
        return RouteAdd("", str(block), "eth0", via=str(peer.internal_ip), owner=owner)

    def peer_routes(self, node: Node, nodes: list[Node]) -> SharedRoutes:
        """The route to every other node's podCIDR. Every node holds the same row for a given peer, so every
        node gets the same requests, minus its own: the kernel keeps them once (a 5,000-node cluster would
        otherwise hold 25 million rows)."""
        table = self._peer_table
        if table is None or table[0] is not nodes:
            by_name = {n.name: (self.peer_route(n), *(self._block_route(n, b) for b in n.pod_blocks)) for n in nodes}
            table = self._peer_table = (nodes, tuple(r for rows in by_name.values() for r in rows), by_name)
        return SharedRoutes(node_ns(node), table[1], table[2].get(node.name, ()))

    def peer_route(self, peer: Node) -> RouteAdd:
        return RouteAdd("", str(peer.pod_cidr), "eth0", via=str(peer.internal_ip),
                        owner=self.daemon_owner(f"Node {peer.name}", f"the podCIDR of {peer.name} via its node IP"))

    # --- the node's iptables rules -------------------------------------------------------------------
    def netfilter(self, node: Node) -> IptablesRestore:
        """The rules the networking add-on installs on the node. The default: an ip-masq-agent-style
        chain that masquerades traffic leaving the pod network (so that pods reach the outside world
        with their node's address) and leaves pod-to-pod traffic alone."""
        who, chain = self.masq_author, self.masq_chain
        owner = Owner(self.daemon or who, node.name, f"Node {node.name}", (),
                      "masquerade what pods send out of the pod network")
        out = IptablesRestore(node_ns(node), owner=owner)
        out.new_chain("nat", chain)
        out.append("nat", "POSTROUTING", ["-m", "addrtype", "!", "--dst-type", "LOCAL", "-m", "comment", "--comment",
                                          f"{who}: ensure nat POSTROUTING directs all non-LOCAL destination traffic "
                                          f"to our custom {chain} chain", "-j", chain])
        out.append("nat", chain, ["-d", str(self.pod_subnet), "-m", "comment", "--comment",
                                  f"{who}: local traffic is not subject to MASQUERADE", "-j", "RETURN"])
        out.append("nat", chain, ["-m", "comment", "--comment",
                                  f"{who}: outbound traffic is subject to MASQUERADE (must be last in chain)",
                                  "-j", "MASQUERADE"])
        return out

    # --- one pod -------------------------------------------------------------------------------------
    def gateway(self, node: Node) -> tuple[IPv4Address, IPv4Interface]:
        """The node's gateway for its pods, the first address of its podCIDR, and that address as a /32 (the
        same objects for every pod of the node: a 150,000-pod cluster asks 150,000 times)."""
        cached = self._gateways.get(node.name)
        if cached is None or cached[0] is not node.pod_cidr:
            gw = node.pod_cidr.network_address + 1
            cached = self._gateways[node.name] = (node.pod_cidr, gw, IPv4Interface((int(gw), 32)))
        return cached[1], cached[2]

    def pod_writes(self, node: Node, pod: Pod) -> list[Write]:
        """What the CNI binary does at ADD: the veth pair, the pod's address and routes, the host side."""
        assert pod.ip is not None
        gw = self.gateway(node)[0]
        host = host_veth_name(pod)
        owner = self.plugin_owner(pod, f"the veth pair of pod {pod.key}")
        out: list[Write] = [
            LinkAdd(node_ns(node), host, "veth", mac_for(host + "@h"), self.mtu, peer=(pod_ns(pod), "eth0"),
                    owner=owner),
            LinkAdd(pod_ns(pod), "eth0", "veth", mac_for(pod.key + "/eth0"), self.mtu, peer=(node_ns(node), host),
                    owner=owner),
            AddrAdd(pod_ns(pod), "eth0", IPv4Interface((int(pod.ip), node.pod_cidr.prefixlen)),
                    self.plugin_owner(pod, "the address host-local assigned")),
        ]
        out += self.pod_routes(node, pod, gw)
        out += self.host_side(node, pod, host, gw)
        return out

    def pod_routes(self, node: Node, pod: Pod, gw: IPv4Address) -> list[Write]:
        raise NotImplementedError

    def host_side(self, node: Node, pod: Pod, host: str, gw: IPv4Address) -> list[Write]:
        raise NotImplementedError

    # --- the files -----------------------------------------------------------------------------------
    def conflist(self, pod_cidr: str, data_dir: str | None = None, node: str | None = None) -> dict[str, Any]:
        """The network configuration list in ``/etc/cni/net.d`` (``conf_file``) of ``node``."""
        raise NotImplementedError

    def runtime_conflist(self, pod_cidr: str, data_dir: str | None = None, node: str | None = None) -> dict[str, Any]:
        """The list whose plugins really run for a pod (a delegating plugin: what it delegates to)."""
        return self.conflist(pod_cidr, data_dir, node)

