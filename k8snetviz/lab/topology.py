"""Wiring the lab's cluster: a LAN, nodes on it, pods attached by real CNI plugins.

Nothing here touches the host's own namespace: every ``ip`` call names a lab namespace
(``ip -n NS ...`` or ``ip netns exec NS ...``), and CNI plugins run inside the node's.

- the LAN: one namespace holding a Linux bridge ``br0`` (the role docker's kind network plays);
- a node: a namespace whose ``eth0`` is a veth to ``br0``, with the node IP and
  ``net.ipv4.ip_forward=1``;
- a pod: a namespace attached by running a conflist's plugin chain for ADD in the node's
  namespace (so the host side - ``cni0``, ``vethXXXXXXXX`` - lands there);
- node routes (kindnetd's ``10.244.1.0/24 via 172.18.0.3``) and flanneld's VXLAN set-up
  (``flannel.1``, its /32 address, the permanent neighbour and FDB entries, the onlink routes).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from k8snetviz.lab.cniexec import CNIResult, add_network_list, k8s_cni_args, save_result
from k8snetviz.lab.netns import Lab

__all__ = [
    "LAN_BRIDGE",
    "Node",
    "Pod",
    "add_lan",
    "add_node",
    "add_pod",
    "add_route",
    "add_flannel_vxlan",
    "add_flannel_peer",
    "link_mac",
]

LAN_BRIDGE = "br0"


@dataclass(frozen=True)
class Node:
    name: str  # the Kubernetes node name (kind-worker)
    netns: str
    ip: str  # 172.18.0.3
    prefixlen: int
    pod_cidr: str


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    netns: str
    node: Node
    container_id: str
    result: CNIResult

    @property
    def ip(self) -> str:
        return self.result.addresses()[0].split("/")[0]


def add_lan(lab: Lab, role: str = "lan") -> str:
    """The LAN namespace with bridge ``br0`` up; returns the namespace name."""
    ns = lab.add_netns(role)
    lab.run_in(ns, ["ip", "link", "add", LAN_BRIDGE, "type", "bridge"])
    lab.run_in(ns, ["ip", "link", "set", LAN_BRIDGE, "up"])
    return ns


def add_node(lab: Lab, lan: str, name: str, ip_cidr: str, pod_cidr: str, *, port: str, mtu: int = 1500) -> Node:
    """A node namespace with ``eth0`` on the LAN bridge; ``port`` names the LAN end (<= 15 chars)."""
    iface = ipaddress.IPv4Interface(ip_cidr)
    ns = lab.add_netns(name)
    # created in the LAN namespace, the peer moved straight into the node's: never in the host's
    lab.run_in(lan, ["ip", "link", "add", port, "mtu", str(mtu), "type", "veth", "peer", "name", "eth0", "netns", ns])
    lab.run_in(lan, ["ip", "link", "set", port, "master", LAN_BRIDGE, "up"])
    lab.run_in(ns, ["ip", "addr", "add", str(iface), "dev", "eth0"])
    lab.run_in(ns, ["ip", "link", "set", "eth0", "up"])
    lab.sysctl(ns, "net.ipv4.ip_forward", "1")
    return Node(name, ns, str(iface.ip), iface.network.prefixlen, pod_cidr)


def add_pod(
    lab: Lab,
    node: Node,
    namespace: str,
    name: str,
    conflist: dict[str, Any],
    *,
    cni_path: str = "/usr/lib/cni",
    ifname: str = "eth0",
) -> Pod:
    """Create the pod's namespace and run the conflist's ADD chain in the node's namespace."""
    ns = lab.add_netns(f"pod-{namespace}-{name}")
    container_id = ns  # any unique id does; host-local records it beside each address
    result = add_network_list(
        conflist,
        run_in=node.netns,
        container_id=container_id,
        netns=ns,
        ifname=ifname,
        cni_path=cni_path,
        cni_args=k8s_cni_args(namespace, name, container_id),
    )
    save_result(lab.workdir / "cni-results", conflist["name"], container_id, ifname, result)
    return Pod(namespace, name, ns, node, container_id, result)


def add_route(lab: Lab, netns: str, dst: str, via: str, *, dev: str | None = None, onlink: bool = False) -> None:
    argv = ["ip", "route", "replace", dst, "via", via]
    if dev:
        argv += ["dev", dev]
    if onlink:
        argv.append("onlink")
    lab.run_in(netns, argv)


def link_mac(lab: Lab, netns: str, dev: str) -> str:
    out = lab.run_in(netns, ["ip", "-br", "link", "show", "dev", dev]).stdout.split()
    return out[2]


def add_flannel_vxlan(lab: Lab, node: Node, *, vni: int = 1, port: int = 8472) -> str:
    """flanneld's VXLAN device: ``flannel.<vni>`` on eth0, learning off, the subnet's .0 as /32.

    The kernel gives it eth0's MTU minus the 50 bytes of VXLAN overhead. Returns its MAC
    (the VtepMAC flanneld publishes in the node's annotations).
    """
    dev = f"flannel.{vni}"
    lab.run_in(
        node.netns,
        [
            "ip",
            "link",
            "add",
            dev,
            "type",
            "vxlan",
            "id",
            str(vni),
            "local",
            node.ip,
            "dev",
            "eth0",
            "dstport",
            str(port),
            "nolearning",
        ],
    )
    subnet = ipaddress.IPv4Network(node.pod_cidr)
    lab.run_in(node.netns, ["ip", "addr", "add", f"{subnet.network_address}/32", "dev", dev])
    lab.run_in(node.netns, ["ip", "link", "set", dev, "up"])
    return link_mac(lab, node.netns, dev)


def add_flannel_peer(lab: Lab, node: Node, remote: Node, remote_vtep_mac: str, *, vni: int = 1) -> None:
    """What flanneld adds for each remote node: neighbour, FDB entry, then the onlink route."""
    dev = f"flannel.{vni}"
    gw = str(ipaddress.IPv4Network(remote.pod_cidr).network_address)
    lab.run_in(node.netns, ["ip", "neigh", "replace", gw, "lladdr", remote_vtep_mac, "dev", dev, "nud", "permanent"])
    lab.run_in(
        node.netns,
        ["bridge", "fdb", "replace", remote_vtep_mac, "dev", dev, "dst", remote.ip, "self", "permanent"],
    )
    add_route(lab, node.netns, remote.pod_cidr, gw, dev=dev, onlink=True)
