"""``flannel`` with its VXLAN backend: pods on a ``cni0`` bridge, nodes joined by a VXLAN overlay.

flanneld creates ``flannel.1`` (VNI 1, UDP 8472, MTU 1450) with the node's podCIDR network address
as a /32, and for every other node: a route to its podCIDR ``onlink`` through ``flannel.1`` via that
node's VTEP address, a permanent neighbour entry for that address and an FDB entry sending its MAC
to the node's IP. flannel's CNI plugin delegates to the bridge plugin with host-local.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address
from typing import Any

from k8snetviz.agents.cni.base import daemonset, ipam, mac_for, node_ns, pod_ns
from k8snetviz.agents.cni.bridge import BridgePlugin
from k8snetviz.agents.writes import (
    AddrAdd,
    FdbAdd,
    IptablesRestore,
    LinkAdd,
    NeighAdd,
    Owner,
    RouteAdd,
    SharedNeighbours,
    Write,
)
from k8snetviz.api.objects import Node, Pod

__all__ = ["FlannelPlugin", "FLANNEL_VNI", "FLANNEL_PORT", "VXLAN_OVERHEAD", "subnet_env"]

FLANNEL_VNI = 1
FLANNEL_PORT = 8472  # the Linux kernel's historical VXLAN port, which flannel uses (IANA's is 4789)
VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8


def subnet_env(pod_cidr: str, network: str = "10.244.0.0/16", mtu: int = 1450) -> str:
    """``/run/flannel/subnet.env`` as flanneld writes it (FLANNEL_SUBNET is the .1 of the lease).

    >>> print(subnet_env("10.244.1.0/24"), end="")
    FLANNEL_NETWORK=10.244.0.0/16
    FLANNEL_SUBNET=10.244.1.1/24
    FLANNEL_MTU=1450
    FLANNEL_IPMASQ=true
    """
    cidr = ipaddress.IPv4Network(pod_cidr)
    return (f"FLANNEL_NETWORK={network}\nFLANNEL_SUBNET={cidr.network_address + 1}/{cidr.prefixlen}\n"
            f"FLANNEL_MTU={mtu}\nFLANNEL_IPMASQ=true\n")


class FlannelPlugin(BridgePlugin):
    name = "flannel"
    title = "flannel with the VXLAN backend"
    daemon = "flanneld"
    conf_file = "10-flannel.conflist"
    mtu = 1500 - VXLAN_OVERHEAD
    detect = ("kube-flannel", "flannel")
    enforces_network_policy = False
    policy_source = ("flannel-io/flannel README: flanneld does not natively enforce Network Policies (for that, "
                     "add kube-network-policies, or Calico as Canal)")

    def __init__(self, pod_subnet: Any) -> None:
        super().__init__(pod_subnet)
        # every node's neighbour and FDB entries for its VTEP, built once for a list of nodes (kept: its id)
        self._vteps: tuple[list[Node], tuple[NeighAdd, ...], tuple[FdbAdd, ...],
                           dict[str, tuple[NeighAdd, FdbAdd]]] | None = None

    def daemon_owner(self, obj: str | None, why: str, node: str | None = None) -> Owner:
        return Owner("flanneld", node, obj, (), why)

    def system_objects(self) -> list[dict[str, Any]]:
        """kube-flannel.yml's DaemonSet, in its own namespace kube-flannel."""
        return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-flannel"}},
                daemonset("kube-flannel-ds", "kube-flannel", {"app": "flannel", "k8s-app": "flannel", "tier": "node"},
                          {"name": "kube-flannel", "image": "docker.io/flannel/flannel:v0.25.6",
                           "command": ["/opt/bin/flanneld"], "args": ["--ip-masq", "--kube-subnet-mgr"]},
                          tolerations=[{"operator": "Exists", "effect": "NoSchedule"}])]

    def node_writes(self, node: Node, nodes: list[Node], has_pods: bool) -> list[Write]:
        ns = node_ns(node)
        owner = self.daemon_owner(f"Node {node.name}", "the VXLAN tunnel endpoint (VTEP) of this node", node.name)
        vtep: list[Write] = [
            LinkAdd(ns, "flannel.1", "vxlan", mac_for(f"{node.name}/flannel.1"), self.mtu,
                    vxlan={"id": FLANNEL_VNI, "local": str(node.internal_ip), "dev": "eth0", "dstport": FLANNEL_PORT,
                           "learning": False}, owner=owner),
            AddrAdd(ns, "flannel.1", f"{node.pod_cidr.network_address}/32", owner),
        ]
        return vtep + super().node_writes(node, nodes, has_pods)

    def peer_writes(self, node: Node, nodes: list[Node]) -> list[Write]:
        # flanneld: route each peer's subnet onlink through the VTEP, with a permanent neighbour entry for
        # the peer's VTEP address and an FDB entry mapping that MAC to the peer's node IP; every node gets
        # the same entries but for its own, kept once by the kernel.
        table = self._vteps
        if table is None or table[0] is not nodes:
            by_name: dict[str, tuple[NeighAdd, FdbAdd]] = {}
            for peer in nodes:
                mac = mac_for(f"{peer.name}/flannel.1")
                obj = f"Node {peer.name}"
                by_name[peer.name] = (
                    NeighAdd("", "flannel.1", str(peer.pod_cidr.network_address), mac,
                             self.daemon_owner(obj, f"the MAC of {peer.name}'s VTEP")),
                    FdbAdd("", "flannel.1", mac, str(peer.internal_ip),
                           self.daemon_owner(obj, f"frames for {peer.name}'s VTEP go to its node IP")))
            table = self._vteps = (nodes, tuple(n for n, _ in by_name.values()),
                                   tuple(f for _, f in by_name.values()), by_name)
        own = table[3].get(node.name, ())
        return [self.peer_routes(node, nodes), SharedNeighbours(node_ns(node), "flannel.1", table[1], table[2], own)]

    def peer_route(self, peer: Node) -> RouteAdd:
        return RouteAdd("", str(peer.pod_cidr), "flannel.1", via=str(peer.pod_cidr.network_address), onlink=True,
                        owner=self.daemon_owner(f"Node {peer.name}",
                                                f"the podCIDR of {peer.name} through the VXLAN device"))

    def pod_routes(self, node: Node, pod: Pod, gw: IPv4Address) -> list[Write]:
        # flannel's CNI plugin adds a route to the whole cluster network via the bridge.
        return super().pod_routes(node, pod, gw) + [
            RouteAdd(pod_ns(pod), str(self.pod_subnet), "eth0", via=str(gw),
                     owner=Owner("kubelet/flannel", node.name, f"Pod {pod.key}", (),
                                 "the flannel CNI plugin's route to the cluster network"))]

    def plugin_owner(self, pod: Pod, why: str) -> Owner:
        # flannel's CNI plugin delegates to the bridge plugin, which does the work.
        return Owner("kubelet/bridge", pod.node_name, f"Pod {pod.key}", ("delegated by the flannel plugin",), why)

    def netfilter(self, node: Node) -> IptablesRestore:
        """flanneld's rules: masquerade what leaves the flannel network, and let it be forwarded."""
        net, local = str(self.pod_subnet), str(node.pod_cidr)
        c = ["-m", "comment", "--comment", "flanneld masq"]
        f = ["-m", "comment", "--comment", "flanneld forward"]
        out = IptablesRestore(node_ns(node), owner=self.daemon_owner(
            f"Node {node.name}", "masquerade traffic leaving the flannel network, and forward its packets", node.name))
        out.new_chain("nat", "FLANNEL-POSTRTG")
        out.append("nat", "POSTROUTING", [*c, "-j", "FLANNEL-POSTRTG"])
        out.append("nat", "FLANNEL-POSTRTG", ["-m", "mark", "--mark", "0x4000/0x4000", *c, "-j", "RETURN"])
        out.append("nat", "FLANNEL-POSTRTG", ["-s", local, "-d", net, *c, "-j", "RETURN"])
        out.append("nat", "FLANNEL-POSTRTG", ["-s", net, "-d", local, *c, "-j", "RETURN"])
        out.append("nat", "FLANNEL-POSTRTG", ["!", "-s", net, "-d", local, *c, "-j", "RETURN"])
        out.append("nat", "FLANNEL-POSTRTG", ["-s", net, "!", "-d", "224.0.0.0/4", *c, "-j", "MASQUERADE",
                                              "--random-fully"])
        out.append("nat", "FLANNEL-POSTRTG", ["!", "-s", net, "-d", net, *c, "-j", "MASQUERADE", "--random-fully"])
        out.new_chain("filter", "FLANNEL-FWD")
        out.append("filter", "FORWARD", [*f, "-j", "FLANNEL-FWD"])
        out.append("filter", "FLANNEL-FWD", ["-s", net, *f, "-j", "ACCEPT"])
        out.append("filter", "FLANNEL-FWD", ["-d", net, *f, "-j", "ACCEPT"])
        return out

    def conflist(self, pod_cidr: str, data_dir: str | None = None, node: str | None = None) -> dict[str, Any]:
        """kube-flannel.yml's ``/etc/cni/net.d/10-flannel.conflist`` (the same on every node)."""
        return {
            "name": "cbr0",
            "cniVersion": "0.3.1",
            "plugins": [
                {"type": "flannel", "delegate": {"hairpinMode": True, "isDefaultGateway": True}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }

    def runtime_conflist(self, pod_cidr: str, data_dir: str | None = None, node: str | None = None) -> dict[str, Any]:
        """The list with the flannel plugin replaced by the bridge configuration it delegates to.

        flannel's CNI plugin reads ``subnet.env``: ``mtu`` from FLANNEL_MTU, ``ipMasq`` = not
        FLANNEL_IPMASQ, ``isGateway`` true, host-local's range = the node's lease and one route to
        FLANNEL_NETWORK; kube-flannel.yml's ``delegate`` adds ``hairpinMode`` and ``isDefaultGateway``.
        """
        base = self.conflist(pod_cidr, data_dir, node)
        delegate = {
            "type": "bridge",
            "hairpinMode": True,
            "isDefaultGateway": True,
            "ipMasq": False,
            "mtu": self.mtu,
            "isGateway": True,
            "ipam": ipam(pod_cidr, data_dir, [{"dst": str(self.pod_subnet)}]),
        }
        return {"name": base["name"], "cniVersion": base["cniVersion"], "plugins": [delegate, base["plugins"][1]]}
