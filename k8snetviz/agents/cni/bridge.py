"""``bridge``: the reference bridge plugin with host-local IPAM, and plain layer-3 routes between nodes.

A ``cni0`` bridge per node holds the gateway (the podCIDR's first address); each pod's veth is a port
of it; each node has a static route to every other node's podCIDR via that node's IP — the classic
figure of Kubernetes networking (the routes as an administrator or a cloud's route table would add them).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from k8snetviz.agents.cni.base import CNIPlugin, ipam, node_ns, pod_ns
from k8snetviz.agents.writes import LinkSet, Owner, RouteAdd, Write
from k8snetviz.api.objects import Node, Pod

__all__ = ["BridgePlugin"]


class BridgePlugin(CNIPlugin):
    name = "bridge"
    title = "the reference bridge plugin with static routes between nodes"
    binary = "bridge"
    daemon = "static-route"
    conf_file = "10-bridge.conflist"
    bridge = "cni0"
    enforces_network_policy = False
    policy_source = ("containernetworking/plugins: the bridge plugin only wires pods; nothing in it reads "
                     "NetworkPolicy objects")

    def daemon_owner(self, obj: str | None, why: str, node: str | None = None) -> Owner:
        # The classic layer-3 figure: an administrator (or a cloud's route table) adds the routes between nodes.
        return Owner("static-route", node, obj, (), why)

    def pod_routes(self, node: Node, pod: Pod, gw: IPv4Address) -> list[Write]:
        return [
            RouteAdd(pod_ns(pod), "default", "eth0", via=gw,
                     owner=self.plugin_owner(pod, "isDefaultGateway: the default route via the bridge")),
            RouteAdd(pod_ns(pod), node.pod_cidr, "eth0", proto="kernel", scope="link", src=pod.ip,
                     owner=Owner("kernel", node.name, f"Pod {pod.key}", (), "the address on eth0")),
        ]

    def host_side(self, node: Node, pod: Pod, host: str, gw: IPv4Address) -> list[Write]:
        # The veth's host end becomes a port of the bridge.
        return [LinkSet(node_ns(node), host, master=self.bridge,
                        owner=self.plugin_owner(pod, f"the host end of the veth, a port of {self.bridge}"))]

    def conflist(self, pod_cidr: str, data_dir: str | None = None, node: str | None = None) -> dict[str, Any]:
        """The classic bridge set-up: ``cni0`` holds the gateway, pods default-route through it."""
        bridge = {
            "type": "bridge",
            "bridge": "cni0",
            "isGateway": True,
            "isDefaultGateway": True,
            "ipMasq": False,
            "hairpinMode": True,
            "ipam": ipam(pod_cidr, data_dir),
        }
        return {
            "cniVersion": "1.0.0",
            "name": "k8s-pod-network",
            "plugins": [bridge, {"type": "portmap", "capabilities": {"portMappings": True}}],
        }
