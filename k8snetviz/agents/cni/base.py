"""The three CNI set-ups a scenario can choose: what each leaves in the node's and the pod's namespace.

- ``bridge``: the reference bridge plugin with host-local IPAM: a ``cni0`` bridge per node holding the
  gateway address, a veth per pod attached to it, and plain layer-3 routes between nodes.
- ``kindnet`` (kind's default): the ptp plugin: a veth per pod, no bridge; the node side holds the
  gateway address as a /32 and a host route to each pod; kindnetd adds routes to other nodes' podCIDRs.
- ``flannel`` (VXLAN backend): the bridge plugin for ``cni0`` plus ``flannel.1``, a VXLAN device (VNI 1,
  UDP 8472); other nodes' podCIDRs are routed onlink through ``flannel.1`` and encapsulated.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from k8snetviz.kernel.addressing import DEFAULT_ROUTE as DEFAULT
from k8snetviz.kernel.addressing import Interface, NetNS, Route
from k8snetviz.api.objects import Node, Pod

__all__ = ["CNIModel", "BridgeCNI", "KindnetCNI", "FlannelCNI", "cni_model", "host_veth_name", "mac_for",
           "FLANNEL_VNI", "FLANNEL_PORT", "VXLAN_OVERHEAD"]

FLANNEL_VNI = 1
FLANNEL_PORT = 8472  # the Linux kernel's historical VXLAN port, which flannel uses (IANA's is 4789)
VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode()).digest()


def host_veth_name(pod: Pod) -> str:
    """The host end of a pod's veth pair: ``veth`` and 8 hex digits, as the plugins name it."""
    return "veth" + _digest("veth/" + pod.key).hex()[:8]


def mac_for(seed: str) -> str:
    """A stable, locally administered unicast MAC."""
    b = bytearray(_digest("mac/" + seed)[:6])
    b[0] = (b[0] & 0xFC) | 0x02
    return ":".join(f"{x:02x}" for x in b)


class CNIModel:
    """How pods are wired on a node. Subclasses describe one plugin set-up."""

    name = ""
    plugin = ""  # the main plugin binary
    mtu = 1500
    bridge: str | None = None

    def __init__(self, pod_subnet: IPv4Network) -> None:
        self.pod_subnet = pod_subnet

    # --- the node -----------------------------------------------------------------------------
    def wire_node(self, node: Node, ns: NetNS, peers: list[Node], has_pods: bool) -> None:
        """Devices and routes on the node that do not belong to one pod."""
        if self.bridge and has_pods:
            # The bridge plugin creates the bridge and gives it the gateway address at the first ADD.
            gw = node.pod_cidr.network_address + 1
            ns.add_interface(Interface(self.bridge, "bridge", ns.next_ifindex(), mac_for(f"{node.name}/{self.bridge}"),
                                       [IPv4Interface(f"{gw}/{node.pod_cidr.prefixlen}")], mtu=self.mtu))
            ns.routes.add(Route(node.pod_cidr, self.bridge, proto="kernel", scope="link", src=gw,
                                why="the kernel, for the address on the bridge (added by the bridge plugin)"))
        for peer in peers:
            self.route_to_peer(node, ns, peer)

    def route_to_peer(self, node: Node, ns: NetNS, peer: Node) -> None:
        ns.routes.add(self._peer_route(peer))

    def _peer_route(self, peer: Node) -> Route:
        # Every node holds the same row for a given peer: build it once (a 1,000-node cluster has ~1M rows).
        cache = self.__dict__.setdefault("_peer_routes", {})
        if peer.name not in cache:
            cache[peer.name] = self.peer_route(peer)
        return cache[peer.name]

    def peer_route(self, peer: Node) -> Route:
        return Route(peer.pod_cidr, "eth0", via=peer.internal_ip,
                     why=f"podCIDR of {peer.name} via its node IP ({self.route_author})")

    route_author = "added by the cluster's routing"
    masq_chain = "IP-MASQ-AGENT"
    masq_author = "ip-masq-agent"

    # --- the node's iptables rules ------------------------------------------------------------
    def netfilter_rules(self, node: Node) -> list[tuple[str, str, list[str]]]:
        """(table, chain, rule) the networking add-on installs on the node, in order; a rule of ``[]``
        creates the chain. The default: an ip-masq-agent-style chain that masquerades traffic leaving the
        pod network (so that pods reach the outside world with their node's address) and leaves
        pod-to-pod traffic alone."""
        who, chain = self.masq_author, self.masq_chain
        return [
            ("nat", chain, []),
            ("nat", "POSTROUTING", ["-m", "addrtype", "!", "--dst-type", "LOCAL", "-m", "comment", "--comment",
                                    f"{who}: ensure nat POSTROUTING directs all non-LOCAL destination traffic to "
                                    f"our custom {chain} chain", "-j", chain]),
            ("nat", chain, ["-d", str(self.pod_subnet), "-m", "comment", "--comment",
                            f"{who}: local traffic is not subject to MASQUERADE", "-j", "RETURN"]),
            ("nat", chain, ["-m", "comment", "--comment",
                            f"{who}: outbound traffic is subject to MASQUERADE (must be last in chain)",
                            "-j", "MASQUERADE"]),
        ]

    # --- one pod ------------------------------------------------------------------------------
    def wire_pod(self, node: Node, node_ns: NetNS, pod: Pod, pod_ns: NetNS) -> None:
        assert pod.ip is not None
        gw = node.pod_cidr.network_address + 1
        host_name = host_veth_name(pod)
        host = node_ns.add_interface(Interface(host_name, "veth", node_ns.next_ifindex(), mac_for(host_name + "@h"),
                                               mtu=self.mtu))
        eth0 = pod_ns.add_interface(Interface("eth0", "veth", pod_ns.next_ifindex(), mac_for(pod.key + "/eth0"),
                                              [IPv4Interface(f"{pod.ip}/{node.pod_cidr.prefixlen}")], mtu=self.mtu))
        host.peer, host.peer_ifindex = (pod_ns.name, "eth0"), eth0.ifindex
        eth0.peer, eth0.peer_ifindex = (node_ns.name, host_name), host.ifindex
        self.pod_routes(node, pod, pod_ns, gw)
        self.host_side(node, node_ns, pod, host, gw)

    def pod_routes(self, node: Node, pod: Pod, ns: NetNS, gw: IPv4Address) -> None:
        raise NotImplementedError

    def host_side(self, node: Node, ns: NetNS, pod: Pod, host: Interface, gw: IPv4Address) -> None:
        raise NotImplementedError


class BridgeCNI(CNIModel):
    name = "bridge"
    plugin = "bridge"
    bridge = "cni0"
    route_author = "a static route, as in the classic layer-3 set-up"

    def pod_routes(self, node: Node, pod: Pod, ns: NetNS, gw: IPv4Address) -> None:
        ns.routes.add(Route(DEFAULT, "eth0", via=gw, why="isDefaultGateway: the bridge plugin"))
        ns.routes.add(Route(node.pod_cidr, "eth0", proto="kernel", scope="link", src=pod.ip,
                            why="the kernel, for the address on eth0"))

    def host_side(self, node: Node, ns: NetNS, pod: Pod, host: Interface, gw: IPv4Address) -> None:
        host.master = self.bridge


class FlannelCNI(BridgeCNI):
    name = "flannel"
    mtu = 1500 - VXLAN_OVERHEAD
    route_author = "flanneld"

    def wire_node(self, node: Node, ns: NetNS, peers: list[Node], has_pods: bool) -> None:
        vtep = ns.add_interface(Interface(
            "flannel.1", "vxlan", ns.next_ifindex(), mac_for(f"{node.name}/flannel.1"),
            [IPv4Interface(f"{node.pod_cidr.network_address}/32")], mtu=self.mtu,
            vxlan={"id": FLANNEL_VNI, "local": node.internal_ip, "dev": "eth0", "dstport": FLANNEL_PORT,
                   "learning": False}))
        ns.neighbours.setdefault(vtep.name, {})
        ns.fdb.setdefault(vtep.name, {})
        super().wire_node(node, ns, peers, has_pods)

    def route_to_peer(self, node: Node, ns: NetNS, peer: Node) -> None:
        # flanneld: route the peer's subnet onlink through the VTEP, with a static ARP entry for the
        # peer's VTEP address and an FDB entry mapping that MAC to the peer's node IP.
        peer_vtep = peer.pod_cidr.network_address
        ns.routes.add(self._peer_route(peer))
        mac = mac_for(f"{peer.name}/flannel.1")
        ns.neighbours["flannel.1"][peer_vtep] = mac
        ns.fdb["flannel.1"][mac] = peer.internal_ip

    def netfilter_rules(self, node: Node) -> list[tuple[str, str, list[str]]]:
        """flanneld's rules: masquerade what leaves the flannel network, and let it be forwarded."""
        net, local = str(self.pod_subnet), str(node.pod_cidr)
        c = ["-m", "comment", "--comment", "flanneld masq"]
        f = ["-m", "comment", "--comment", "flanneld forward"]
        return [
            ("nat", "FLANNEL-POSTRTG", []),
            ("nat", "POSTROUTING", [*c, "-j", "FLANNEL-POSTRTG"]),
            ("nat", "FLANNEL-POSTRTG", ["-m", "mark", "--mark", "0x4000/0x4000", *c, "-j", "RETURN"]),
            ("nat", "FLANNEL-POSTRTG", ["-s", local, "-d", net, *c, "-j", "RETURN"]),
            ("nat", "FLANNEL-POSTRTG", ["-s", net, "-d", local, *c, "-j", "RETURN"]),
            ("nat", "FLANNEL-POSTRTG", ["!", "-s", net, "-d", local, *c, "-j", "RETURN"]),
            ("nat", "FLANNEL-POSTRTG", ["-s", net, "!", "-d", "224.0.0.0/4", *c, "-j", "MASQUERADE",
                                        "--random-fully"]),
            ("nat", "FLANNEL-POSTRTG", ["!", "-s", net, "-d", net, *c, "-j", "MASQUERADE", "--random-fully"]),
            ("filter", "FLANNEL-FWD", []),
            ("filter", "FORWARD", [*f, "-j", "FLANNEL-FWD"]),
            ("filter", "FLANNEL-FWD", ["-s", net, *f, "-j", "ACCEPT"]),
            ("filter", "FLANNEL-FWD", ["-d", net, *f, "-j", "ACCEPT"]),
        ]

    def peer_route(self, peer: Node) -> Route:
        return Route(peer.pod_cidr, "flannel.1", via=peer.pod_cidr.network_address, onlink=True,
                     why=f"podCIDR of {peer.name} through the VXLAN device (flanneld)")

    def pod_routes(self, node: Node, pod: Pod, ns: NetNS, gw: IPv4Address) -> None:
        super().pod_routes(node, pod, ns, gw)
        # flannel's CNI plugin adds a route to the whole cluster network via the bridge.
        ns.routes.add(Route(self.pod_subnet, "eth0", via=gw, why="the flannel CNI plugin's route to the network"))


class KindnetCNI(CNIModel):
    name = "kindnet"
    plugin = "ptp"
    route_author = "kindnetd"
    masq_chain = "KIND-MASQ-AGENT"
    masq_author = "kind-masq-agent"

    def pod_routes(self, node: Node, pod: Pod, ns: NetNS, gw: IPv4Address) -> None:
        # ptp replaces the connected subnet route with a route via the gateway, reached by a link route.
        ns.routes.add(Route(DEFAULT, "eth0", via=gw, why="host-local's route 0.0.0.0/0 (ptp)"))
        ns.routes.add(Route(node.pod_cidr, "eth0", via=gw, src=pod.ip, why="ptp: the subnet via the gateway"))
        ns.routes.add(Route(IPv4Network(f"{gw}/32"), "eth0", scope="link", src=pod.ip,
                            why="ptp: the gateway is reached directly over the veth"))

    def host_side(self, node: Node, ns: NetNS, pod: Pod, host: Interface, gw: IPv4Address) -> None:
        host.addrs.append(IPv4Interface(f"{gw}/32"))
        ns.routes.add(Route(IPv4Network(f"{pod.ip}/32"), host.name, scope="host",
                            why=f"ptp: the host route to {pod.key}"))


_MODELS: dict[str, type[CNIModel]] = {"bridge": BridgeCNI, "kindnet": KindnetCNI, "flannel": FlannelCNI}


def cni_model(name: str, pod_subnet: IPv4Network) -> CNIModel:
    return _MODELS[name](pod_subnet)
