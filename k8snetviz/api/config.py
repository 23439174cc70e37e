"""Cluster-wide settings: kind's ``Cluster`` config and the project's ``Scenario`` document.

The ``Scenario`` document (``apiVersion: k8snetviz.dev/v1alpha1``) says what plain manifests cannot;
every field is optional and documented in ``data/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from k8snetviz.api import defaults as d
from k8snetviz.errors import FieldError, InvalidObject
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["ClusterConfig", "Override", "read_config", "KUBE_PROXY_MODES"]

# The kube-proxy modes the model knows (kind's networking.kubeProxyMode; "none" runs no kube-proxy).
KUBE_PROXY_MODES = ("iptables", "nftables", "none")


@dataclass
class Override:
    """A change to one namespace's network state, for troubleshooting scenarios."""

    target: str
    where: str = "spec.overrides[0]"  # for messages: which Scenario document and index
    ip_forward: bool | None = None
    bridge_nf_call_iptables: bool | None = None
    add_routes: list[str] = field(default_factory=list)
    delete_routes: list[str] = field(default_factory=list)


@dataclass
class ClusterConfig:
    name: str = d.CLUSTER_NAME
    description: str = ""
    roles: list[str] = field(default_factory=lambda: list(d.DEFAULT_ROLES))
    pod_subnet: IPv4Network = IPv4Network(d.POD_SUBNET)
    service_subnet: IPv4Network = IPv4Network(d.SERVICE_SUBNET)
    node_network: IPv4Network = IPv4Network(d.NODE_NETWORK)
    gateway: IPv4Address = IPv4Address(d.NODE_GATEWAY)
    # False when the node network was inferred from a dump: no object records a real cluster's gateway.
    gateway_known: bool = True
    cluster_domain: str = d.CLUSTER_DOMAIN
    dns_service_ip: IPv4Address = IPv4Address(d.DNS_SERVICE_IP)
    # The cluster DNS Service, NS/NAME: kube-dns, or the dump's own under another name (RKE2's, OpenShift's).
    dns_service: str = "kube-system/kube-dns"
    # kube-apiserver's --service-node-port-range
    node_port_range: str = "30000-32767"
    kube_proxy_mode: str = d.KUBE_PROXY_MODE
    cni: str = d.CNI
    cni_from: str = ""  # the Scenario document that chose the CNI (for its error message)
    external_clients: dict[str, IPv4Address] = field(
        default_factory=lambda: {"client": IPv4Address(d.EXTERNAL_CLIENT_IP)})
    load_balancer_pool: IPv4Network = IPv4Network(d.LOAD_BALANCER_POOL)
    system_pods: bool = True
    overrides: list[Override] = field(default_factory=list)
    upstream_dns: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _network(kind: str, name: str, path: str, value: Any) -> IPv4Network:
    try:
        return IPv4Network(str(value), strict=True)
    except ValueError:
        raise InvalidObject(kind, name, [FieldError.invalid(
            path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]) from None


def _address(kind: str, name: str, path: str, value: Any) -> IPv4Address:
    try:
        return IPv4Address(str(value))
    except ValueError:
        raise InvalidObject(kind, name, [FieldError.invalid(
            path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]) from None


def _kind_config(m: Manifest, cfg: ClusterConfig) -> None:
    b = m.body
    cfg.name = str(b.get("name") or cfg.name)
    net = b.get("networking") or {}
    if "podSubnet" in net:
        cfg.pod_subnet = _network("Cluster", cfg.name, "networking.podSubnet", net["podSubnet"])
    if "serviceSubnet" in net:
        cfg.service_subnet = _network("Cluster", cfg.name, "networking.serviceSubnet", net["serviceSubnet"])
        # kubeadm gives kube-dns the tenth address of the service subnet.
        cfg.dns_service_ip = cfg.service_subnet.network_address + 10
    if "kubeProxyMode" in net:
        mode = str(net["kubeProxyMode"])
        if mode not in KUBE_PROXY_MODES:
            # kind also accepts "ipvs"; the model does not know that mode
            raise InvalidObject("Cluster", cfg.name, [FieldError.not_supported(
                "networking.kubeProxyMode", mode, KUBE_PROXY_MODES)])
        cfg.kube_proxy_mode = mode
    nodes = b.get("nodes")
    if nodes is not None:
        roles = []
        for i, n in enumerate(nodes):
            role = (n or {}).get("role", "control-plane")
            if role not in ("control-plane", "worker"):
                raise InvalidObject("Cluster", cfg.name, [FieldError.not_supported(
                    f"nodes[{i}].role", role, ["control-plane", "worker"])])
            roles.append(role)
        if not roles:
            raise InvalidObject("Cluster", cfg.name, [FieldError.required("nodes", "at least one node")])
        cfg.roles = roles


def _scenario_doc(m: Manifest, cfg: ClusterConfig) -> None:
    spec = m.body.get("spec") or {}
    name = m.name or "scenario"
    known = {"description", "cni", "externalClients", "loadBalancerPool", "systemPods", "overrides",
             "upstreamDNS", "clusterDomain", "nodeNetwork"}
    for key in spec:
        if key not in known:
            raise InvalidObject("Scenario", name, [FieldError.not_supported(f"spec.{key}", key, sorted(known))])
    cfg.description = str(spec.get("description", ""))
    if "cni" in spec:
        # The CNI models' registry (agents/cni) checks the value, naming this document.
        cfg.cni = str(spec["cni"])
        cfg.cni_from = name
    if "externalClients" in spec:
        cfg.external_clients = {}
        for i, c in enumerate(spec["externalClients"] or []):
            if not isinstance(c, dict) or "name" not in c:
                raise InvalidObject("Scenario", name, [FieldError.required(f"spec.externalClients[{i}].name")])
            cfg.external_clients[str(c["name"])] = _address(
                "Scenario", name, f"spec.externalClients[{i}].ip", c.get("ip"))
    if "loadBalancerPool" in spec:
        cfg.load_balancer_pool = _network("Scenario", name, "spec.loadBalancerPool", spec["loadBalancerPool"])
    if "nodeNetwork" in spec:
        cfg.node_network = _network("Scenario", name, "spec.nodeNetwork", spec["nodeNetwork"])
        cfg.gateway = cfg.node_network.network_address + 1
    if "clusterDomain" in spec:
        cfg.cluster_domain = str(spec["clusterDomain"]).rstrip(".")
    cfg.system_pods = bool(spec.get("systemPods", True))
    cfg.upstream_dns = dict(spec.get("upstreamDNS") or {})
    for i, o in enumerate(spec.get("overrides") or []):
        if not isinstance(o, dict) or "target" not in o:
            raise InvalidObject("Scenario", name, [FieldError.required(f"spec.overrides[{i}].target")])
        cfg.overrides.append(Override(
            target=str(o["target"]),
            where=f'Scenario "{name}": spec.overrides[{i}]',
            ip_forward=o.get("ipForward"),
            bridge_nf_call_iptables=o.get("bridgeNfCallIptables"),
            add_routes=[str(r) for r in o.get("addRoutes") or []],
            delete_routes=[str(r) for r in o.get("deleteRoutes") or []],
        ))


def read_config(scenario: Scenario) -> ClusterConfig:
    """The cluster settings: kind's defaults, then the kind config, then the Scenario document."""
    cfg = ClusterConfig()
    for m in scenario.of_kind("Cluster"):
        if m.api_version.startswith("kind.x-k8s.io/"):
            _kind_config(m, cfg)
    for m in scenario.of_kind("Scenario"):
        if m.api_version == d.API_VERSION:
            _scenario_doc(m, cfg)
    return cfg
