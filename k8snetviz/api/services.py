"""Services as the API server stores them: defaults filled in, addresses and ports allocated, validated.

``build_services`` takes Service manifests (parsed YAML) and does what ``kubectl apply`` makes the API
server do for each, in order:

1. decode and default (``type: ClusterIP``, ``protocol: TCP``, ``targetPort`` = ``port``,
   ``sessionAffinity: None``, ``externalTrafficPolicy: Cluster`` when externally accessible,
   ``internalTrafficPolicy: Cluster``, ``allocateLoadBalancerNodePorts: true``, IP families);
2. allocate: the cluster IP and the node ports (and the health-check node port of a LoadBalancer with
   ``externalTrafficPolicy: Local``). The API server allocates *before* it validates, so a clash is
   reported as the allocator words it (``provided port is already allocated``);
3. validate, with the API server's field paths and wording;
4. the load balancer's address (``status.loadBalancer.ingress``), as a cloud controller would set it.

Allocation is deterministic instead of random. Kubernetes splits the service CIDR into a *static*
band at the bottom (``min(max(16, size/16), 256)`` addresses: 10.96.0.1-10.96.1.0 for a /16) kept
for addresses chosen by hand, such as 10.96.0.1 (``default/kubernetes``) and 10.96.0.10 (kube-dns),
and a *dynamic* band above it. The API server starts at a random offset in the dynamic band and walks
upward; here the offset is a hash of ``namespace/name``, so a service keeps its address when others
are added. The node-port range is split the same way (``min(max(16, size/32), 128)`` ports: 30000-30085
are the static band of 30000-32767) and each port's start is a hash of ``namespace/name/port/protocol``.
Addresses and ports written in the manifests are reserved first, so an automatic choice never takes
one that a later manifest asks for.

Warnings (what kubectl prints after ``Warning:``) are appended to ``warnings`` without that prefix.

>>> svcs = build_services([{"kind": "Service", "metadata": {"name": "web"},
...     "spec": {"type": "NodePort", "selector": {"app": "web"},
...              "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}]}}])
>>> web = svcs[0]
>>> web.type, web.external_traffic_policy, web.ports[0]
('NodePort', 'Cluster', ServicePort(name='', protocol='TCP', port=80, target_port=8080, node_port=30080, \
app_protocol=None))
>>> web.ip in IPv4Network("10.96.0.0/16")
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_address
from typing import TYPE_CHECKING, Any

from k8snetviz.api.notes import is_observed
from k8snetviz.api.validation import (
    IP_ERROR,
    PORT_NUM_ERROR,
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    label_value_errors,
    port_name_errors,
    qualified_name_errors,
)
from k8snetviz.errors import FieldError, GoLiteral, InvalidObject, K8sNetVizError

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_SERVICE_CIDR",
    "DEFAULT_NODE_PORT_RANGE",
    "ServicePort",
    "LoadBalancerIngress",
    "Service",
    "ClusterIPAllocator",
    "NodePortAllocator",
    "build_services",
    "validate_service",
    "stable_hash",
]

DEFAULT_SERVICE_CIDR = "10.96.0.0/16"
DEFAULT_NODE_PORT_RANGE = "30000-32767"

TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
PROTOCOLS = ("SCTP", "TCP", "UDP")
AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
FAMILIES = ("IPv4", "IPv6")
DEFAULT_AFFINITY_TIMEOUT = 10800  # v1.DefaultClientIPServiceAffinitySeconds: three hours
MAX_AFFINITY_TIMEOUT = 86400


# --- the objects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServicePort:
    """``spec.ports[]``. ``target_port`` is a number or the name of a container port."""

    name: str
    protocol: str
    port: int
    target_port: int | str
    node_port: int | None = None
    app_protocol: str | None = None


@dataclass(frozen=True)
class LoadBalancerIngress:
    """``status.loadBalancer.ingress[]``: where the load balancer outside the cluster listens."""

    ip: str | None = None
    hostname: str | None = None
    ip_mode: str | None = None  # VIP (the default the API server fills in for an IP) or Proxy


@dataclass
class Service:
    """A Service after defaulting, allocation and validation.

    ``cluster_ip`` is the address as ``spec.clusterIP`` holds it: an IP, ``"None"`` for a headless
    service, or ``None`` for ExternalName (which has no cluster IP at all).
    """

    namespace: str
    name: str
    type: str = "ClusterIP"
    cluster_ip: str | None = None
    cluster_ips: list[str] = field(default_factory=list)
    ports: list[ServicePort] = field(default_factory=list)
    selector: dict[str, str] | None = None
    session_affinity: str = "None"
    session_affinity_timeout: int | None = None
    external_traffic_policy: str | None = None
    internal_traffic_policy: str | None = None
    health_check_node_port: int | None = None
    external_name: str | None = None
    external_ips: list[str] = field(default_factory=list)
    load_balancer_ip: str | None = None
    load_balancer_source_ranges: list[str] = field(default_factory=list)
    load_balancer_ingress: list[LoadBalancerIngress] = field(default_factory=list)
    allocate_load_balancer_node_ports: bool | None = None
    publish_not_ready_addresses: bool = False
    ip_families: list[str] = field(default_factory=list)
    ip_family_policy: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"

    @property
    def ip(self) -> IPv4Address | None:
        """The cluster IP as an address; ``None`` for headless and ExternalName services."""
        if not self.cluster_ip or self.cluster_ip == "None":
            return None
        return IPv4Address(self.cluster_ip)

    @property
    def externally_accessible(self) -> bool:
        """``apiservice.ExternallyAccessible``: NodePort, LoadBalancer, or ClusterIP with externalIPs."""
        return self.type in ("NodePort", "LoadBalancer") or (self.type == "ClusterIP" and bool(self.external_ips))

    @property
    def needs_health_check(self) -> bool:
        """A LoadBalancer with ``externalTrafficPolicy: Local``: nodes answer on ``healthCheckNodePort``."""
        return self.type == "LoadBalancer" and self.external_traffic_policy == "Local"

    @property
    def load_balancer_ips(self) -> list[str]:
        return [i.ip for i in self.load_balancer_ingress if i.ip]

    def port_named(self, name: str) -> ServicePort | None:
        return next((p for p in self.ports if p.name == name), None)


# --- the API server's validation messages ---------------------------------------------------------

_ONLY_LB = "may only be used when `type` is 'LoadBalancer'"
_DUAL_POLICY = "must be 'RequireDualStack' or 'PreferDualStack' "


def _label_errors(selector: dict[str, str], path: str) -> list[FieldError]:
    """``ValidateLabels`` for ``spec.selector`` (keys are qualified names, values label values)."""
    errs: list[FieldError] = []
    for key, value in selector.items():
        errs += [FieldError.invalid(path, key, m) for m in qualified_name_errors(key)]
        errs += [FieldError.invalid(path, value, m) for m in label_value_errors(value)]
    return errs


def _is_ip(value: str) -> bool:
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


def validate_service(svc: Service) -> list[FieldError]:
    """``ValidateService``: every field error, in the order the API server lists them."""
    errs: list[FieldError] = []
    if not svc.name:
        errs.append(FieldError.required("metadata.name", "name or generateName is required"))
    else:
        errs += [FieldError.invalid("metadata.name", svc.name, m) for m in dns1035_label_errors(svc.name)]
    headless = svc.cluster_ips[:1] == ["None"] and len(svc.cluster_ips) == 1
    if not svc.ports and not headless and svc.type != "ExternalName":
        errs.append(FieldError.required("spec.ports"))
    if svc.type in ("LoadBalancer", "NodePort") and headless:
        errs.append(FieldError.invalid("spec.clusterIPs[0]", "None",
                                       f"may not be set to 'None' for {svc.type} services"))
    elif svc.type == "ExternalName":
        if svc.cluster_ips:
            errs.append(FieldError.forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if svc.ip_families:
            errs.append(FieldError.forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if svc.ip_family_policy is not None:
            errs.append(FieldError.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        # A trailing dot marks the name fully qualified; it is not part of what is validated.
        cname = (svc.external_name or "").removesuffix(".")
        if cname:
            errs += [FieldError.invalid("spec.externalName", cname, m) for m in dns1123_subdomain_errors(cname)]
        else:
            errs.append(FieldError.required("spec.externalName"))
    names: set[str] = set()
    for i, p in enumerate(svc.ports):
        path = f"spec.ports[{i}]"
        if len(svc.ports) > 1 and not p.name:
            errs.append(FieldError.required(f"{path}.name"))
        elif p.name:
            errs += [FieldError.invalid(f"{path}.name", p.name, m) for m in dns1123_label_errors(p.name)]
            if p.name in names:
                errs.append(FieldError.duplicate(f"{path}.name", p.name))
            names.add(p.name)
        if not 1 <= p.port <= 65535:
            errs.append(FieldError.invalid(f"{path}.port", p.port, PORT_NUM_ERROR))
        if not p.protocol:
            errs.append(FieldError.required(f"{path}.protocol"))
        elif p.protocol not in PROTOCOLS:
            errs.append(FieldError.not_supported(f"{path}.protocol", p.protocol, PROTOCOLS))
        if isinstance(p.target_port, int):
            if not 1 <= p.target_port <= 65535:
                errs.append(FieldError.invalid(f"{path}.targetPort", p.target_port, PORT_NUM_ERROR))
        else:
            errs += [FieldError.invalid(f"{path}.targetPort", p.target_port, m)
                     for m in port_name_errors(p.target_port)]
    if svc.selector is not None:
        errs += _label_errors(svc.selector, "spec.selector")
    if svc.session_affinity not in AFFINITIES:
        errs.append(FieldError.not_supported("spec.sessionAffinity", svc.session_affinity, AFFINITIES))
    elif svc.session_affinity == "ClientIP":
        t = svc.session_affinity_timeout
        if t is None or not 0 < t <= MAX_AFFINITY_TIMEOUT:
            errs.append(FieldError.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", t,
                                           f"must be greater than 0 and less than {MAX_AFFINITY_TIMEOUT}"))
    for i, eip in enumerate(svc.external_ips):
        if not _is_ip(eip):
            errs.append(FieldError.invalid(f"spec.externalIPs[{i}]", eip, IP_ERROR))
    if svc.type not in TYPES:
        errs.append(FieldError.not_supported("spec.type", svc.type, TYPES))
    if svc.type == "ClusterIP":
        for i, p in enumerate(svc.ports):
            if p.node_port:
                errs.append(FieldError.forbidden(f"spec.ports[{i}].nodePort",
                                                 "may not be used when `type` is 'ClusterIP'"))
    # Within one Service a node port may repeat only for another protocol (53/UDP and 53/TCP).
    seen_np: set[tuple[str, int]] = set()
    seen_port: set[tuple[str, int]] = set()
    for i, p in enumerate(svc.ports):
        if p.node_port:
            if (p.protocol, p.node_port) in seen_np:
                errs.append(FieldError.duplicate(f"spec.ports[{i}].nodePort", p.node_port))
            seen_np.add((p.protocol, p.node_port))
    for i, p in enumerate(svc.ports):
        if (p.protocol, p.port) in seen_port:
            errs.append(FieldError.duplicate(f"spec.ports[{i}]", _go_service_port_key(p)))
        seen_port.add((p.protocol, p.port))
    if svc.load_balancer_source_ranges and svc.type != "LoadBalancer":
        errs.append(FieldError.forbidden("spec.LoadBalancerSourceRanges", _ONLY_LB))
    if svc.allocate_load_balancer_node_ports is not None and svc.type != "LoadBalancer":
        errs.append(FieldError.forbidden("spec.allocateLoadBalancerNodePorts", _ONLY_LB))
    etp = svc.external_traffic_policy
    if not svc.externally_accessible:
        if etp:
            errs.append(FieldError.invalid("spec.externalTrafficPolicy", etp,
                                           "may only be set for externally-accessible services"))
    elif not etp:
        errs.append(FieldError.required("spec.externalTrafficPolicy"))
    elif etp not in TRAFFIC_POLICIES:
        errs.append(FieldError.not_supported("spec.externalTrafficPolicy", etp, TRAFFIC_POLICIES))
    if not svc.needs_health_check:
        if svc.health_check_node_port:
            errs.append(FieldError.invalid("spec.healthCheckNodePort", svc.health_check_node_port,
                                           "may only be set when `type` is 'LoadBalancer' and "
                                           "`externalTrafficPolicy` is 'Local'"))
    elif svc.health_check_node_port and not 1 <= svc.health_check_node_port <= 65535:
        errs.append(FieldError.invalid("spec.healthCheckNodePort", svc.health_check_node_port, PORT_NUM_ERROR))
    itp = svc.internal_traffic_policy
    if itp is not None and itp not in TRAFFIC_POLICIES:
        errs.append(FieldError.not_supported("spec.internalTrafficPolicy", itp, TRAFFIC_POLICIES))
    return errs


def _go_service_port_key(p: ServicePort) -> GoLiteral:
    # validation reports a repeated (protocol, port) with the whole key struct, printed by %#v.
    return GoLiteral(
        f'core.ServicePort{{Name:"", Protocol:"{p.protocol}", AppProtocol:(*string)(nil), Port:{p.port}, '
        'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}')


def _cluster_ip_field_errors(svc: Service) -> list[FieldError]:
    """``ValidateServiceClusterIPsRelatedFields``, which the allocator runs before allocating."""
    if svc.type == "ExternalName":
        return []
    errs: list[FieldError] = []
    for i, fam in enumerate(svc.ip_families):
        if fam not in FAMILIES:
            errs.append(FieldError.not_supported(f"spec.ipFamilies[{i}]", fam, FAMILIES))
        elif fam in svc.ip_families[:i]:
            errs.append(FieldError.duplicate(f"spec.ipFamilies[{i}]", fam))
    if svc.ip_family_policy is not None and svc.ip_family_policy not in FAMILY_POLICIES:
        errs.append(FieldError.not_supported("spec.ipFamilyPolicy", svc.ip_family_policy, FAMILY_POLICIES))
    for i, cip in enumerate(svc.cluster_ips):
        if i == 0 and cip == "None":
            if len(svc.cluster_ips) > 1:
                errs.append(FieldError.invalid("spec.clusterIPs", GoLiteral.strings(svc.cluster_ips),
                                               "'None' must be the first and only value"))
            continue
        if not _is_ip(cip):
            errs.append(FieldError.invalid(f"spec.clusterIPs[{i}]", cip, IP_ERROR))
    return errs


# --- allocators ------------------------------------------------------------------------------------


def stable_hash(text: str) -> int:
    """A hash that does not change between runs (Python's ``hash`` of a str does)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class AllocationError(Exception):
    """What the allocator says; the caller wraps it in the field error the API server returns."""


def _probe(start_key: str, lo: int, hi: int) -> Iterator[int]:
    """Offsets lo..hi-1, starting at a stable point and wrapping, as the allocator walks its band."""
    size = hi - lo
    if size <= 0:
        return
    first = stable_hash(start_key) % size
    for k in range(size):
        yield lo + (first + k) % size


class ClusterIPAllocator:
    """The service CIDR's allocator: offsets count from the first usable address (network + 1).

    >>> a = ClusterIPAllocator("10.96.0.0/16")
    >>> str(a.static_band[0]), str(a.static_band[-1]), str(a.dynamic_band[0])
    ('10.96.0.1', '10.96.1.0', '10.96.1.1')
    """

    def __init__(self, cidr: str | IPv4Network = DEFAULT_SERVICE_CIDR) -> None:
        self.cidr = IPv4Network(str(cidr))
        self.base = int(self.cidr.network_address) + 1
        self.size = max(self.cidr.num_addresses - 2, 0)  # neither the network nor the broadcast address
        total = self.cidr.num_addresses
        # ipallocator calculateRangeOffset: min(max(16, cidrSize/16), 256), 0 for tiny ranges.
        self.offset = 0 if total <= 16 else min(max(16, total // 16), 256)
        self.used: dict[int, str] = {}

    @property
    def static_band(self) -> tuple[IPv4Address, IPv4Address]:
        return IPv4Address(self.base), IPv4Address(self.base + self.offset - 1)

    @property
    def dynamic_band(self) -> tuple[IPv4Address, IPv4Address]:
        return IPv4Address(self.base + self.offset), IPv4Address(self.base + self.size - 1)

    def allocate(self, ip: str, owner: str) -> None:
        """Reserve an address the manifest asks for."""
        addr = IPv4Address(ip)
        if addr not in self.cidr:
            # The ServiceCIDR meta-allocator (GA in 1.33) finds no range holding the address.
            raise AllocationError("the provided network does not match the current range")
        offset = int(addr) - self.base
        if not 0 <= offset < self.size:
            raise AllocationError(
                f"the provided IP ({addr}) is not in the valid range. The range of valid IPs is {self.cidr}")
        if offset in self.used:
            raise AllocationError("provided IP is already allocated")
        self.used[offset] = owner

    def allocate_next(self, owner: str) -> IPv4Address:
        """Pick a free address: the dynamic band first, then the static one."""
        for lo, hi in ((self.offset, self.size), (0, self.offset)):
            for off in _probe(owner, lo, hi):
                if off not in self.used:
                    self.used[off] = owner
                    return IPv4Address(self.base + off)
        raise AllocationError("range is full")


class NodePortAllocator:
    """The node-port range's allocator (``--service-node-port-range``, 30000-32767 by default).

    >>> NodePortAllocator().static_band
    (30000, 30085)
    """

    def __init__(self, port_range: str = DEFAULT_NODE_PORT_RANGE) -> None:
        lo, _, hi = str(port_range).partition("-")
        self.base = int(lo)
        self.size = int(hi or lo) - self.base + 1
        self.text = f"{self.base}-{self.base + self.size - 1}"
        # portallocator calculateRangeOffset: min(max(16, size/32), 128), 0 for tiny ranges.
        self.offset = 0 if self.size <= 16 else min(max(16, self.size // 32), 128)
        self.used: dict[int, str] = {}

    @property
    def static_band(self) -> tuple[int, int]:
        return self.base, self.base + self.offset - 1

    def allocate(self, port: int, owner: str) -> None:
        if not self.base <= port < self.base + self.size:
            raise AllocationError(
                f"provided port is not in the valid range. The range of valid ports is {self.text}")
        if port in self.used:
            raise AllocationError("provided port is already allocated")
        self.used[port] = owner

    def allocate_next(self, owner: str) -> int:
        for lo, hi in ((self.offset, self.size), (0, self.offset)):
            for off in _probe(owner, lo, hi):
                if self.base + off not in self.used:
                    self.used[self.base + off] = owner
                    return self.base + off
        raise AllocationError("range is full")


# --- decoding: what the API server's JSON decoder and defaulting do -------------------------------


def _decode_error(go_field: str, go_type: str, value: Any) -> K8sNetVizError:
    kind = {str: "string", bool: "bool", list: "array", dict: "object"}.get(type(value), "number")
    if kind == "number" and isinstance(value, float) and go_type.startswith("int"):
        kind = f"number {value:g}"
    return K8sNetVizError(f'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal '
                          f"{kind} into Go struct field {go_field} of type {go_type}")


def _int(value: Any, go_field: str, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _decode_error(go_field, "int32", value)
    return value


def _str(value: Any, go_field: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise _decode_error(go_field, "string", value)
    return value


def _bool(value: Any, go_field: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _decode_error(go_field, "bool", value)
    return value


def _str_map(value: Any, go_field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _decode_error(go_field, "map[string]string", value)
    return {str(k): _str(v, go_field) for k, v in value.items()}


def _str_list(value: Any, go_field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _decode_error(go_field, "[]string", value)
    return [_str(v, go_field) for v in value]


def _decode(manifest: dict[str, Any]) -> Service:
    md = manifest.get("metadata") or {}
    spec = manifest.get("spec") or {}
    status = manifest.get("status") or {}
    stype = _str(spec.get("type"), "ServiceSpec.spec.type") or "ClusterIP"
    ports = []
    for raw in spec.get("ports") or []:
        raw = raw or {}
        port = _int(raw.get("port"), "ServicePort.spec.ports.port")
        target: Any = raw.get("targetPort")
        if target is None or target == 0 or target == "":
            target = port  # SetDefaults_Service: targetPort defaults to port
        elif isinstance(target, bool) or not isinstance(target, int | str):
            raise _decode_error("ServicePort.spec.ports.targetPort", "intstr.IntOrString", target)
        ports.append(ServicePort(
            name=_str(raw.get("name"), "ServicePort.spec.ports.name"),
            protocol=_str(raw.get("protocol"), "ServicePort.spec.ports.protocol") or "TCP",
            port=port, target_port=target,
            node_port=_int(raw.get("nodePort"), "ServicePort.spec.ports.nodePort") or None,
            app_protocol=raw.get("appProtocol"),
        ))
    affinity = _str(spec.get("sessionAffinity"), "ServiceSpec.spec.sessionAffinity") or "None"
    timeout = None
    if affinity == "ClientIP":
        cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
        timeout = _int(cfg.get("timeoutSeconds"), "ClientIPConfig.spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                       DEFAULT_AFFINITY_TIMEOUT)
    cluster_ip = _str(spec.get("clusterIP"), "ServiceSpec.spec.clusterIP") or None
    cluster_ips = _str_list(spec.get("clusterIPs"), "ServiceSpec.spec.clusterIPs")
    if cluster_ip and not cluster_ips:
        cluster_ips = [cluster_ip]  # normalizeClusterIPs
    elif cluster_ips and not cluster_ip:
        cluster_ip = cluster_ips[0]
    ingress = []
    for ing in (status.get("loadBalancer") or {}).get("ingress") or []:
        ingress.append(LoadBalancerIngress(ing.get("ip"), ing.get("hostname"),
                                           ing.get("ipMode") or ("VIP" if ing.get("ip") else None)))
    svc = Service(
        namespace=_str(md.get("namespace"), "ObjectMeta.metadata.namespace") or "default",
        name=_str(md.get("name"), "ObjectMeta.metadata.name"),
        type=stype,
        cluster_ip=cluster_ip,
        cluster_ips=cluster_ips,
        ports=ports,
        selector=_str_map(spec.get("selector"), "ServiceSpec.spec.selector"),
        session_affinity=affinity,
        session_affinity_timeout=timeout,
        external_traffic_policy=_str(spec.get("externalTrafficPolicy"),
                                     "ServiceSpec.spec.externalTrafficPolicy") or None,
        internal_traffic_policy=_str(spec.get("internalTrafficPolicy"),
                                     "ServiceSpec.spec.internalTrafficPolicy") or None,
        health_check_node_port=_int(spec.get("healthCheckNodePort"), "ServiceSpec.spec.healthCheckNodePort") or None,
        external_name=_str(spec.get("externalName"), "ServiceSpec.spec.externalName") or None,
        external_ips=_str_list(spec.get("externalIPs"), "ServiceSpec.spec.externalIPs"),
        load_balancer_ip=_str(spec.get("loadBalancerIP"), "ServiceSpec.spec.loadBalancerIP") or None,
        load_balancer_source_ranges=_str_list(spec.get("loadBalancerSourceRanges"),
                                              "ServiceSpec.spec.loadBalancerSourceRanges"),
        load_balancer_ingress=ingress,
        allocate_load_balancer_node_ports=_bool(spec.get("allocateLoadBalancerNodePorts"),
                                                "ServiceSpec.spec.allocateLoadBalancerNodePorts"),
        publish_not_ready_addresses=bool(_bool(spec.get("publishNotReadyAddresses"),
                                               "ServiceSpec.spec.publishNotReadyAddresses")),
        ip_families=_str_list(spec.get("ipFamilies"), "ServiceSpec.spec.ipFamilies"),
        ip_family_policy=_str(spec.get("ipFamilyPolicy"), "ServiceSpec.spec.ipFamilyPolicy") or None,
        labels=dict(_str_map(md.get("labels"), "ObjectMeta.metadata.labels") or {}),
        annotations=dict(_str_map(md.get("annotations"), "ObjectMeta.metadata.annotations") or {}),
        raw=manifest,
    )
    # SetDefaults_Service
    if svc.externally_accessible and not svc.external_traffic_policy:
        svc.external_traffic_policy = "Cluster"
    if svc.internal_traffic_policy is None and svc.type in ("ClusterIP", "NodePort", "LoadBalancer"):
        svc.internal_traffic_policy = "Cluster"
    if svc.type == "LoadBalancer" and svc.allocate_load_balancer_node_ports is None:
        svc.allocate_load_balancer_node_ports = True
    return svc


def _init_ip_families(svc: Service) -> list[FieldError]:
    """The allocator's ``initIPFamilyFields`` on a single-stack IPv4 cluster."""
    if svc.type == "ExternalName":
        return []
    if svc.ip_family_policy is None:
        # Headless without a selector is the one case that defaults to dual-stack.
        svc.ip_family_policy = ("RequireDualStack" if svc.cluster_ip == "None" and not svc.selector
                                else "SingleStack")
    errs = _cluster_ip_field_errors(svc)
    if errs:
        return errs
    if svc.ip_family_policy == "SingleStack":
        if len(svc.cluster_ips) == 2:
            errs.append(FieldError.invalid("spec.ipFamilyPolicy", svc.ip_family_policy,
                                           _DUAL_POLICY + "when multiple cluster IPs are specified"))
        if len(svc.ip_families) == 2:
            errs.append(FieldError.invalid("spec.ipFamilyPolicy", svc.ip_family_policy,
                                           _DUAL_POLICY + "when multiple IP families are specified"))
    for i, cip in enumerate(svc.cluster_ips):
        if cip == "None":
            break
        fam = "IPv6" if ip_address(cip).version == 6 else "IPv4"
        if i >= len(svc.ip_families):
            if fam == "IPv6":
                errs.append(FieldError.invalid(f"spec.clusterIPs[{i}]", GoLiteral.strings(svc.cluster_ips),
                                               "IPv6 is not configured on this cluster"))
            else:
                svc.ip_families.append(fam)
    if errs:
        return errs
    if svc.cluster_ip == "None" and not svc.selector:
        if not svc.ip_families:
            svc.ip_families = ["IPv4"]
        if len(svc.ip_families) < 2 and svc.ip_family_policy != "SingleStack":
            svc.ip_families.append("IPv6" if svc.ip_families[0] == "IPv4" else "IPv4")
        return []
    if svc.ip_family_policy == "RequireDualStack":
        errs.append(FieldError.invalid("spec.ipFamilyPolicy", svc.ip_family_policy,
                                       "this cluster is not configured for dual-stack services"))
    for i, fam in enumerate(svc.ip_families):
        if fam != "IPv4":
            errs.append(FieldError.invalid(f"spec.ipFamilies[{i}]", fam, "not configured on this cluster"))
    if not errs and not svc.ip_families:
        svc.ip_families = ["IPv4"]
    return errs


def _service_warnings(svc: Service) -> list[str]:
    """``GetWarningsForService``: what kubectl prints as ``Warning: ...`` after applying."""
    out = []
    headless = svc.type == "ClusterIP" and svc.cluster_ip == "None"
    if headless:
        if svc.load_balancer_ip:
            out.append("spec.loadBalancerIP is ignored for headless services")
        if svc.external_ips:
            out.append("spec.externalIPs is ignored for headless services")
        if svc.session_affinity != "None":
            out.append("spec.SessionAffinity is ignored for headless services")
    if svc.external_ips and not headless and svc.type != "ExternalName":
        out.append("spec.externalIPs is deprecated and may no longer be implemented in some clusters")
    if svc.type == "ExternalName" and svc.external_ips:
        out.append('spec.externalIPs is ignored when spec.type is "ExternalName"')
    if svc.type != "ExternalName" and svc.external_name:
        out.append('spec.externalName is ignored when spec.type is not "ExternalName"')
    return out


# --- the whole sequence ------------------------------------------------------------------------------


def _should_allocate_node_ports(svc: Service) -> bool:
    return svc.type == "NodePort" or (svc.type == "LoadBalancer" and bool(svc.allocate_load_balancer_node_ports))


def _reserve_node_ports(svc: Service, ports: NodePortAllocator) -> None:
    """``initNodePorts`` for the ports the manifest names; equal port numbers share a node port."""
    by_port: dict[int, int] = {}
    for i, p in enumerate(svc.ports):
        if not p.node_port:
            continue
        if by_port.get(p.port) == p.node_port:
            continue  # 53/UDP and 53/TCP asking for the same node port share it
        try:
            ports.allocate(p.node_port, svc.key)
        except AllocationError as e:
            err = FieldError.invalid(f"spec.ports[{i}].nodePort", p.node_port, str(e))
            raise InvalidObject("Service", svc.name, [err]) from None
        by_port.setdefault(p.port, p.node_port)
    if svc.needs_health_check and svc.health_check_node_port:
        try:
            ports.allocate(svc.health_check_node_port, svc.key)
        except AllocationError as e:
            raise K8sNetVizError(f"Internal error occurred: failed to allocate requested HealthCheck NodePort "
                                 f"{svc.health_check_node_port}: {e}") from None


def _allocate_node_ports(svc: Service, ports: NodePortAllocator) -> None:
    by_port = {p.port: p.node_port for p in svc.ports if p.node_port}
    out = []
    for p in svc.ports:
        if not p.node_port and _should_allocate_node_ports(svc):
            np = by_port.get(p.port)
            if np is None:
                try:
                    np = ports.allocate_next(f"{svc.key}/{p.port}/{p.protocol}")
                except AllocationError as e:
                    raise K8sNetVizError(f"Internal error occurred: failed to allocate a nodePort: {e}") from None
                by_port[p.port] = np
            p = ServicePort(p.name, p.protocol, p.port, p.target_port, np, p.app_protocol)
        out.append(p)
    svc.ports = out
    if svc.needs_health_check and not svc.health_check_node_port:
        try:
            svc.health_check_node_port = ports.allocate_next(f"{svc.key}/healthCheckNodePort")
        except AllocationError as e:
            raise K8sNetVizError(f"Internal error occurred: failed to allocate a HealthCheck NodePort 0: {e}") from None


def build_services(
    manifests: Iterable[dict[str, Any]],
    *,
    service_cidr: str | IPv4Network = DEFAULT_SERVICE_CIDR,
    node_port_range: str = DEFAULT_NODE_PORT_RANGE,
    load_balancer_pool: Iterable[str] = (),
    warnings: list[str] | None = None,
) -> list[Service]:
    """Default, allocate, validate Service manifests, in order; raise the API server's error for the first bad one.

    ``load_balancer_pool`` is the addresses a load-balancer controller hands out, in order; a
    LoadBalancer Service whose manifest has no ``status.loadBalancer.ingress`` gets the next free one
    (``spec.loadBalancerIP`` asks for a particular one), or stays ``<pending>`` when none is left.
    """
    ips = ClusterIPAllocator(service_cidr)
    ports = NodePortAllocator(node_port_range)
    services: list[Service] = []
    seen: dict[str, Service] = {}
    for manifest in manifests:
        svc = _decode(manifest)
        if svc.key in seen and svc.name:
            raise K8sNetVizError(f'services "{svc.name}" already exists in namespace "{svc.namespace}"')
        errs = _init_ip_families(svc)
        if errs:
            raise InvalidObject("Service", svc.name, errs)
        if svc.type != "ExternalName" and svc.cluster_ip and svc.cluster_ip != "None":
            try:
                ips.allocate(svc.cluster_ip, svc.key)
            except AllocationError as e:
                if is_observed(manifest) and str(e) == "provided IP is already allocated" and warnings is not None:
                    # Read back from a cluster as it is (a dump edited by hand can hold this): kept, and said.
                    first = ips.used.get(int(IPv4Address(svc.cluster_ip)) - ips.base, "another Service")
                    warnings.append(f"Service {svc.key}: ClusterIP {svc.cluster_ip} is also Service {first}'s "
                                    "(an API server allocates each address once); kube-proxy's first rule wins")
                    errs = validate_service(svc)
                    if errs:
                        raise InvalidObject("Service", svc.name, errs) from None
                    services.append(svc)
                    seen[svc.key] = svc
                    continue
                raise InvalidObject("Service", svc.name, [FieldError.invalid(
                    "spec.clusterIPs", GoLiteral.strings(svc.cluster_ips),
                    f"failed to allocate IP {svc.cluster_ip}: {e}")]) from None
        if svc.type in ("NodePort", "LoadBalancer"):
            _reserve_node_ports(svc, ports)
        errs = validate_service(svc)
        if errs:
            raise InvalidObject("Service", svc.name, errs)
        if warnings is not None:
            warnings.extend(_service_warnings(svc))
        services.append(svc)
        seen[svc.key] = svc
    # Now the automatic choices, which can no longer take what a manifest asked for.
    taken = {i.ip for s in services for i in s.load_balancer_ingress if i.ip}
    pool = [str(a) for a in load_balancer_pool]
    for svc in services:
        if svc.type != "ExternalName" and not svc.cluster_ip:
            try:
                addr = str(ips.allocate_next(svc.key))
            except AllocationError as e:
                raise K8sNetVizError(f"Internal error occurred: failed to allocate a serviceIP: {e}") from None
            svc.cluster_ip, svc.cluster_ips = addr, [addr]
        if svc.type in ("NodePort", "LoadBalancer"):
            _allocate_node_ports(svc, ports)
        if svc.type == "LoadBalancer" and not svc.load_balancer_ingress:
            want = svc.load_balancer_ip
            if want and want in taken:
                if warnings is not None:
                    warnings.append(f"Service {svc.key}: spec.loadBalancerIP {want} is already in use; "
                                    "EXTERNAL-IP stays <pending>")
                continue
            free = want or next((a for a in pool if a not in taken), None)
            if free:
                taken.add(free)
                svc.load_balancer_ingress = [LoadBalancerIngress(ip=free, ip_mode="VIP")]
            elif warnings is not None:
                warnings.append(f"Service {svc.key}: no load-balancer address is left in the pool; "
                                "EXTERNAL-IP stays <pending>")
    return services
