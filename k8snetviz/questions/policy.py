"""NetworkPolicy questions: the reachability matrix, and the verdict the walk shows at a pod's edge.

The engine (:mod:`k8snetviz.agents.networkpolicy`) judges addresses as the CNI plugin sees them:
after kube-proxy's DNAT (the chosen endpoint pod) and after any SNAT (a masqueraded client is
its node's address).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from k8snetviz.agents.networkpolicy import (
    DirectionVerdict,
    PodPort,
    PolicyEngine,
    PolicyNamespace,
    PolicyPod,
    Reachability,
)
from k8snetviz.questions.display import Shown

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["engine", "build_engine", "matrix", "has_policies", "egress_verdict", "ingress_verdict", "PolicyMatrix"]


def has_policies(cluster: Cluster) -> bool:
    return cluster.has_network_policies


def _pods(cluster: Cluster) -> list[PolicyPod]:
    out = []
    for p in cluster.pods.values():
        node = cluster.nodes[p.node_name]
        out.append(PolicyPod(p.namespace, p.name, p.labels, p.ip,
                             tuple(PodPort(cp.container_port, cp.name, cp.protocol) for cp in p.ports),
                             node_ip=node.internal_ip, host_network=p.host_network))
    return out


def build_engine(cluster: Cluster) -> PolicyEngine:
    """A policy engine for the cluster's pods, namespaces and NetworkPolicies, its indexes built now."""
    namespaces = [PolicyNamespace(n.name, dict(n.labels)) for n in cluster.namespaces.values()]
    return PolicyEngine(_pods(cluster), namespaces, [m.body for m in cluster.scenario.of_kind("NetworkPolicy")])


def engine(cluster: Cluster) -> PolicyEngine:
    """The cluster's policy engine (built once per build, see ``Cluster.policy_engine``; invalid policies
    raise InvalidObject)."""
    return cluster.policy_engine


class PolicyMatrix(Shown):
    """``policy --json``: which pod may open a connection to which, on one port and protocol."""

    def __init__(self, cluster: Cluster, result: Reachability) -> None:
        self.cluster = cluster
        self.result = result

    @property
    def enforced(self) -> bool:
        """Whether the cluster's CNI enforces the policies; the matrix is what they say either way."""
        return self.cluster.policy_enforced

    @property
    def enforcement(self) -> str:
        """Who enforces the policies, or why nothing does, with the source of that fact."""
        cni = self.cluster.cni
        if cni.enforces_network_policy:
            return f"enforced by {self.cluster.policy_enforcer} ({cni.name}): {cni.policy_source}"
        return (f"not enforced: the CNI ({cni.name}) implements no NetworkPolicy, so every connection is in fact "
                f"allowed; the matrix shows what the policies say ({cni.policy_source})")

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "enforced": self.enforced, "enforcement": self.enforcement}


def matrix(cluster: Cluster, port: int = 80, protocol: str = "TCP") -> PolicyMatrix:
    """The pods × pods reachability matrix for ``port``/``protocol``."""
    return PolicyMatrix(cluster, engine(cluster).reachability(port, protocol))


def egress_verdict(cluster: Cluster, src_pod: str, dst: IPv4Address, port: int, protocol: str) -> DirectionVerdict:
    return engine(cluster).check(src_pod, str(dst), port, protocol).egress


def ingress_verdict(cluster: Cluster, src: IPv4Address, dst_pod: str, port: int, protocol: str) -> DirectionVerdict:
    # Traffic from the pod's own node is always allowed, whichever of the node's addresses it carries
    # (masquerading to a local pod picks the bridge's or the veth's 10.244.N.1, not the InternalIP).
    node = cluster.nodes[cluster.pods[dst_pod].node_name]
    if src in cluster.netns[f"node/{node.name}"].local_addresses():
        src = node.internal_ip
    return engine(cluster).check(str(src), dst_pod, port, protocol).ingress
