"""The kubelet's side of networking: each node's namespace as it boots, and each pod's sandbox wired by
the CNI plugin (:mod:`k8snetviz.agents.cni`), as writes to the kernel.

A kind node is a container: its ``eth0`` is one end of a veth pair whose other end is on docker's
bridge, and its default route points at docker's gateway. A pod's sandbox gets ``lo``, then the CNI
plugin adds ``eth0`` and its routes. A ``hostNetwork`` pod gets no sandbox: it lives in its node's namespace.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from k8snetviz.agents.cni import CNIPlugin, portmap
from k8snetviz.agents.cni.base import host_veth_name, mac_for
from k8snetviz.agents.cni.config import container_id
from k8snetviz.agents.writes import AddrAdd, LinkAdd, NetnsAdd, Owner, RouteAdd, Write
from k8snetviz.api.objects import Node, Pod

__all__ = ["node_writes", "pod_writes", "hostport_writes", "HOST_NETWORK"]

# The node's own network set-up, before Kubernetes: docker's for a kind node, the machine's otherwise.
HOST_NETWORK = "host-network"


def node_writes(node: Node, network: IPv4Network, gateway: IPv4Address | None, cni: CNIPlugin, nodes: list[Node],
                has_pods: bool) -> list[Write]:
    """The node's namespace: ``eth0`` on the node network, its routes, then what the CNI does for the node
    (``nodes``: every node of the cluster, this one included)."""
    ns = f"node/{node.name}"
    host = Owner(HOST_NETWORK, node.name, f"Node {node.name}", (), "the node's own interface on the node network")
    out: list[Write] = [
        NetnsAdd(ns, "node", Owner("kubelet", node.name, f"Node {node.name}")),
        # A kind node's eth0 is the container end of a veth pair whose other end is on docker's bridge.
        LinkAdd(ns, "eth0", "ether", mac_for(f"{node.name}/eth0"), peer_ifindex=_docker_ifindex(node, network),
                owner=host),
        AddrAdd(ns, "eth0", f"{node.internal_ip}/{network.prefixlen}", host),
    ]
    if gateway is not None:
        out.append(RouteAdd(ns, "default", "eth0", via=str(gateway), owner=Owner(
            HOST_NETWORK, node.name, f"Node {node.name}", (), "the node's default gateway")))
    else:
        # A real node has a default route, and more than the outside world depends on it: the node's own
        # connections to a ClusterIP are routed before kube-proxy's OUTPUT DNAT rewrites them, and Calico's
        # proxy-ARP next hop needs a route. A dump does not record the gateway: the route is shown on the link,
        # without one (inspect says so).
        out.append(RouteAdd(ns, "default", "eth0", scope="link", owner=Owner(
            HOST_NETWORK, node.name, f"Node {node.name}", (),
            "the node's default route, its gateway unknown (the dump does not record it)")))
    out.append(RouteAdd(ns, str(network), "eth0", proto="kernel", scope="link", src=str(node.internal_ip),
                        owner=Owner("kernel", node.name, f"Node {node.name}", (), "the address on eth0")))
    out += cni.node_writes(node, nodes, has_pods)
    return out


def pod_writes(cni: CNIPlugin, node: Node, pod: Pod) -> list[Write]:
    """The pod's sandbox and what the CNI plugin's ADD puts in it (nothing for a hostNetwork pod)."""
    if pod.host_network:
        return []
    return [NetnsAdd(f"pod/{pod.key}", "pod", Owner("kubelet", node.name, f"Pod {pod.key}", (),
                                                     "the pod's sandbox")),
            *cni.pod_writes(node, pod)]


def hostport_writes(cni: CNIPlugin, node: Node, pod: Pod) -> list[Write]:
    """What the conflist's chained ``portmap`` plugin does for ``pod``'s hostPorts at ADD (its rules go in
    after kube-proxy's: the node's kube-proxy runs before its pods start)."""
    if pod.host_network or pod.ip is None or not any(p.host_port for p in pod.ports):
        return []
    conf = cni.runtime_conflist(str(node.pod_cidr))
    if not any(p.get("type") == "portmap" for p in conf["plugins"]):
        return []
    # portmap sets route_localnet on the device the node routes the pod's address through
    host_if = cni.bridge or host_veth_name(pod)
    return portmap.portmap_writes(pod, conf["name"], container_id(pod),
                                  IPv4Interface(f"{pod.ip}/{node.pod_cidr.prefixlen}"), host_if, f"node/{node.name}")


def _docker_ifindex(node: Node, network: IPv4Network) -> int:
    # Docker creates one host-side veth per container, in start order; a stable stand-in for its index.
    return 3 + 2 * (int(node.internal_ip) - int(network.network_address) - 2) % 997
