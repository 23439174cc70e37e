"""The Kubernetes objects of a scenario, as the model keeps them after defaults are filled in.

Only what networking needs is lifted into fields; the manifest as written stays in ``raw``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

__all__ = ["ContainerPort", "Node", "Pod", "Namespace", "ExternalClient", "ObjectRef"]


@dataclass(frozen=True)
class ObjectRef:
    """Where an object came from, for error messages: its kind, namespace and name."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class ContainerPort:
    """``spec.containers[].ports[]``: what a named targetPort or NetworkPolicy port resolves against."""

    container_port: int
    protocol: str = "TCP"
    name: str | None = None
    container: str = ""
    host_port: int | None = None  # the node's port the runtime forwards here (the CNI portmap plugin)
    host_ip: str | None = None  # the node address the hostPort is bound to (None: all of them)


@dataclass
class Node:
    name: str
    role: str  # control-plane | worker
    internal_ip: IPv4Address
    pod_cidr: IPv4Network
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    # Blocks of pod addresses outside ``pod_cidr`` that the CNI's own IPAM gave this node's pods (Calico's
    # /26 blocks, a cloud VPC's addresses): routed to the node like its podCIDR. Only dumps have them.
    pod_blocks: list[IPv4Network] = field(default_factory=list)

    @property
    def pod_ranges(self) -> list[IPv4Network]:
        """Every range of pod addresses this node holds: its podCIDR, then its IPAM blocks."""
        return [self.pod_cidr, *self.pod_blocks]

    @property
    def schedulable(self) -> bool:
        return not any(t.get("effect") == "NoSchedule" for t in self.taints)


@dataclass
class Pod:
    namespace: str
    name: str
    node_name: str
    ip: IPv4Address | None = None
    labels: dict[str, str] = field(default_factory=dict)
    ports: list[ContainerPort] = field(default_factory=list)
    host_network: bool = False
    ready: bool = True
    phase: str = "Running"
    terminating: bool = False
    hostname: str | None = None
    subdomain: str | None = None
    dns_policy: str = "ClusterFirst"
    dns_config: dict[str, Any] | None = None
    owner: ObjectRef | None = None
    images: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    # The pod's node is its own VM and holds the pod's address (EKS Fargate, virtual kubelets): the model runs it
    # in its node's network namespace, like a hostNetwork pod, while its DNS stays the pod's own (dnsPolicy).
    own_node: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def has_sandbox(self) -> bool:
        """Whether the pod has a network namespace of its own: it has an address and has not finished (the
        kubelet tears a finished pod's sandbox down, and its address may be handed to another pod)."""
        return not self.host_network and self.ip is not None and self.phase not in ("Succeeded", "Failed")

    def port_named(self, name: str, protocol: str | None = None) -> ContainerPort | None:
        for p in self.ports:
            if p.name == name and (protocol is None or p.protocol == protocol):
                return p
        return None


@dataclass
class Namespace:
    name: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class ExternalClient:
    """A host outside the cluster (on the nodes' network or beyond the gateway)."""

    name: str
    ip: IPv4Address
