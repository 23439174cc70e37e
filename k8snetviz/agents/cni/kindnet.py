"""``kindnet``: kind's default. The ``ptp`` plugin wires each pod; kindnetd routes between nodes.

No bridge: ptp gives the node end of each veth the gateway address as a /32 and adds a host route
per pod (``10.244.1.2 dev vethXXXXXXXX scope host``); inside the pod the default route goes via the
gateway, reached over a link route. kindnetd adds a route to every other node's podCIDR via that
node's IP, and masquerades what leaves the pod network (its KIND-MASQ-AGENT chain).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from k8snetviz.agents.cni.base import CNIPlugin, daemonset, ipam, node_ns, pod_ns
from k8snetviz.agents.kubeadm_files import IMAGES
from k8snetviz.agents.writes import AddrAdd, RouteAdd, Write
from k8snetviz.api.objects import Node, Pod

__all__ = ["KindnetPlugin", "KINDNET_DATA_DIR"]

KINDNET_DATA_DIR = "/run/cni-ipam-state"  # kindnetd keeps host-local's state on tmpfs


class KindnetPlugin(CNIPlugin):
    name = "kindnet"
    title = "kindnetd with the ptp plugin (kind's default)"
    binary = "ptp"
    daemon = "kindnet"
    conf_file = "10-kindnet.conflist"
    detect = ("kindnet",)
    # kindnetd gained a NetworkPolicy controller in kind v0.24.0 (kubernetes-sigs/kind commit e7903573
    # "implement network policies", first in kindnetd v20240813-c6f155d6): it embeds
    # sigs.k8s.io/kube-network-policies, which judges each new connection in an nfqueue. The model follows
    # kind >= v0.24 (the default since Kubernetes v1.31); before it, kindnetd enforced no policy.
    enforces_network_policy = True
    policy_source = ("kindnetd enforces NetworkPolicy since kind v0.24.0 (kindnetd v20240813, kubernetes-sigs/kind "
                     "images/kindnetd) with sigs.k8s.io/kube-network-policies; older kind did not")
    policy_agent = "kindnet/kube-network-policies"
    masq_chain = "KIND-MASQ-AGENT"
    masq_author = "kind-masq-agent"

    def system_objects(self) -> list[dict[str, Any]]:
        """kind's kindnet DaemonSet (kind v0.24.0's manifest: kindnetd v20240813, NetworkPolicy included)."""
        env = [{"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
               {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
               {"name": "POD_SUBNET", "value": str(self.pod_subnet)}]
        return [daemonset("kindnet", "kube-system", {"app": "kindnet", "tier": "node", "k8s-app": "kindnet"},
                          {"name": "kindnet-cni", "image": IMAGES["kindnetd"],
                           "env": env})]

    def pod_routes(self, node: Node, pod: Pod, gw: IPv4Address) -> list[Write]:
        # ptp replaces the connected subnet route with a route via the gateway, reached by a link route.
        ns = pod_ns(pod)
        return [
            RouteAdd(ns, "default", "eth0", via=gw, owner=self.plugin_owner(pod, "host-local's route 0.0.0.0/0")),
            RouteAdd(ns, node.pod_cidr, "eth0", via=gw, src=pod.ip,
                     owner=self.plugin_owner(pod, "the subnet via the gateway")),
            RouteAdd(ns, gw, "eth0", scope="link", src=pod.ip,
                     owner=self.plugin_owner(pod, "the gateway is reached directly over the veth")),
        ]

    def host_side(self, node: Node, pod: Pod, host: str, gw: IPv4Address) -> list[Write]:
        ns = node_ns(node)
        assert pod.ip is not None
        return [
            AddrAdd(ns, host, self.gateway(node)[1],
                    self.plugin_owner(pod, "the gateway address on the host end of the veth")),
            RouteAdd(ns, pod.ip, host, scope="host", owner=self.plugin_owner(pod, f"the host route to pod {pod.key}")),
        ]

    def conflist(self, pod_cidr: str, data_dir: str | None = None, node: str | None = None) -> dict[str, Any]:
        """kindnetd's ``/etc/cni/net.d/10-kindnet.conflist`` (its template in kind's images/kindnetd)."""
        ptp = {
            "type": "ptp",
            "ipMasq": False,
            "ipam": ipam(pod_cidr, data_dir or KINDNET_DATA_DIR, [{"dst": "0.0.0.0/0"}]),
            "mtu": self.mtu,
        }
        return {
            "cniVersion": "0.3.1",
            "name": "kindnet",
            "plugins": [ptp, {"type": "portmap", "capabilities": {"portMappings": True}}],
        }
