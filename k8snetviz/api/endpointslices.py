"""EndpointSlices and Endpoints as the API server holds them: the objects, and hand-written ones decoded.

An EndpointSlice lists the backends of a Service (label ``kubernetes.io/service-name``): each
endpoint's addresses, conditions (ready, serving, terminating), node and hostname, and the ports. The
legacy ``Endpoints`` object (one per Service, ``subsets`` of ready and not-ready addresses) is kept for
``kubectl get endpoints``. The controllers that write them live in :mod:`k8snetviz.agents.endpointslice`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

from k8snetviz.api.services import PROTOCOLS, Service
from k8snetviz.api.validation import IP_ERROR, PORT_NUM_ERROR, dns1123_label_errors
from k8snetviz.errors import FieldError, InvalidObject

__all__ = [
    "LABEL_SERVICE_NAME",
    "LABEL_MANAGED_BY",
    "LABEL_HEADLESS",
    "LABEL_SKIP_MIRROR",
    "CONTROLLER_NAME",
    "MIRRORING_CONTROLLER_NAME",
    "MAX_ENDPOINTS_PER_SLICE",
    "EndpointPort",
    "EndpointConditions",
    "TargetRef",
    "Endpoint",
    "EndpointSlice",
    "EndpointAddress",
    "EndpointSubset",
    "Endpoints",
    "generated_name",
    "selects",
    "parse_endpoint_slice",
    "parse_endpoints",
    "slices_for",
]

LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
LABEL_HEADLESS = "service.kubernetes.io/headless"
LABEL_SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MIRRORING_CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100  # kube-controller-manager --max-endpoints-per-slice
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
# The API server's generateName suffix: five of these (no vowels, no look-alike characters).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# --- the objects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointPort:
    """``ports[]`` of a slice (or of an Endpoints subset). The controller always sets ``name``."""

    name: str | None
    port: int | None
    protocol: str = "TCP"
    app_protocol: str | None = None


@dataclass(frozen=True)
class EndpointConditions:
    """``None`` is "unknown", which consumers read as ready (and serving as equal to ready)."""

    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


@dataclass(frozen=True)
class TargetRef:
    kind: str
    name: str
    namespace: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass
class Endpoint:
    addresses: list[str]
    conditions: EndpointConditions = field(default_factory=EndpointConditions)
    hostname: str | None = None
    node_name: str | None = None
    zone: str | None = None
    target_ref: TargetRef | None = None

    @property
    def is_ready(self) -> bool:
        return self.conditions.ready is None or self.conditions.ready

    @property
    def is_serving(self) -> bool:
        # kube-proxy: an unset serving condition falls back to ready.
        return self.is_ready if self.conditions.serving is None else self.conditions.serving

    @property
    def is_terminating(self) -> bool:
        return bool(self.conditions.terminating)


@dataclass
class EndpointSlice:
    namespace: str
    name: str
    address_type: str = "IPv4"
    ports: list[EndpointPort] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def service_name(self) -> str | None:
        return self.labels.get(LABEL_SERVICE_NAME)

    @property
    def managed_by(self) -> str | None:
        return self.labels.get(LABEL_MANAGED_BY)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class EndpointAddress:
    ip: str
    hostname: str | None = None
    node_name: str | None = None
    target_ref: TargetRef | None = None


@dataclass
class EndpointSubset:
    addresses: list[EndpointAddress] = field(default_factory=list)
    not_ready_addresses: list[EndpointAddress] = field(default_factory=list)
    ports: list[EndpointPort] = field(default_factory=list)


@dataclass
class Endpoints:
    """The legacy ``v1 Endpoints`` object: one per Service, named like it."""

    namespace: str
    name: str
    subsets: list[EndpointSubset] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


# --- the controller ----------------------------------------------------------------------------------


def generated_name(prefix: str, seed: str) -> str:
    """``generateName`` completed as the API server does, with the random part derived from ``seed``.

    >>> generated_name("web-", "default/web/0")
    'web-ngmcc'
    """
    digest = hashlib.sha256(seed.encode()).digest()
    suffix = "".join(_NAME_ALPHABET[b % len(_NAME_ALPHABET)] for b in digest[:5])
    return prefix[:58] + suffix  # the prefix is cut so that the name fits in 63 characters


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A Service selector matches a pod when every key has the same value (``{}`` matches all)."""
    return all(labels.get(k) == v for k, v in selector.items())


# --- hand-written objects ----------------------------------------------------------------------------


def _target_ref(raw: Any) -> TargetRef | None:
    if not raw:
        return None
    return TargetRef(str(raw.get("kind", "")), str(raw.get("name", "")), raw.get("namespace"))


def _endpoint_ip_errors(path: str, address: str, family: int) -> list[FieldError]:
    """What ``ValidateEndpointIP`` refuses besides malformed addresses."""
    try:
        addr = ip_address(address)
    except ValueError:
        addr = None
    if addr is None or addr.version != family:
        kind = "IPv4" if family == 4 else "IPv6"
        return [FieldError.invalid(path, address, f"must be a valid {kind} address")]
    if addr.is_unspecified:
        return [FieldError.invalid(path, address, f"may not be unspecified ({addr})")]
    if addr.is_loopback:
        return [FieldError.invalid(path, address, "may not be in the loopback range (127.0.0.0/8, ::1/128)")]
    if addr.is_link_local:
        return [FieldError.invalid(path, address, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")]
    return []


def _ports_errors(raw_ports: list[Any], path: str) -> tuple[list[EndpointPort], list[FieldError]]:
    ports, errs, names = [], [], set()
    for i, rp in enumerate(raw_ports):
        rp = rp or {}
        p = f"{path}[{i}]"
        name = rp.get("name")
        name = None if name is None else str(name)
        if name:
            errs += [FieldError.invalid(f"{p}.name", name, m) for m in dns1123_label_errors(name)]
        if name is not None and name in names:
            errs.append(FieldError.duplicate(f"{p}.name", name))
        names.add(name)
        proto = str(rp.get("protocol") or "TCP")
        if proto not in PROTOCOLS:
            errs.append(FieldError.not_supported(f"{p}.protocol", proto, PROTOCOLS))
        num = rp.get("port")
        if num is not None and not (isinstance(num, int) and 1 <= num <= 65535):
            errs.append(FieldError.invalid(f"{p}.port", num, PORT_NUM_ERROR))
        ports.append(EndpointPort(name, num, proto, rp.get("appProtocol")))
    return ports, errs


def parse_endpoint_slice(manifest: dict[str, Any]) -> EndpointSlice:
    """A hand-written EndpointSlice, checked as ``ValidateEndpointSlice`` checks it."""
    md = manifest.get("metadata") or {}
    name = str(md.get("name") or "")
    errs: list[FieldError] = []
    if not name:
        errs.append(FieldError.required("metadata.name", "name or generateName is required"))
    atype = manifest.get("addressType")
    if not atype:
        errs.append(FieldError.required("addressType"))
    elif atype not in ADDRESS_TYPES:
        errs.append(FieldError.not_supported("addressType", atype, ADDRESS_TYPES))
    endpoints = []
    for i, raw in enumerate(manifest.get("endpoints") or []):
        raw = raw or {}
        path = f"endpoints[{i}].addresses"
        addresses = [str(a) for a in raw.get("addresses") or []]
        if not addresses:
            errs.append(FieldError.required(path, "must contain at least 1 address"))
        for j, a in enumerate(addresses):
            if atype in ("IPv4", "IPv6"):
                errs += _endpoint_ip_errors(f"{path}[{j}]", a, 4 if atype == "IPv4" else 6)
        cond = raw.get("conditions") or {}
        endpoints.append(Endpoint(
            addresses=addresses,
            conditions=EndpointConditions(cond.get("ready"), cond.get("serving"), cond.get("terminating")),
            hostname=raw.get("hostname"), node_name=raw.get("nodeName"), zone=raw.get("zone"),
            target_ref=_target_ref(raw.get("targetRef")),
        ))
    ports, port_errs = _ports_errors(manifest.get("ports") or [], "ports")
    errs += port_errs
    if errs:
        raise InvalidObject("EndpointSlice", name, errs)
    return EndpointSlice(str(md.get("namespace") or "default"), name, str(atype), ports, endpoints,
                         {str(k): str(v) for k, v in (md.get("labels") or {}).items()})


def parse_endpoints(manifest: dict[str, Any]) -> Endpoints:
    """A hand-written Endpoints object (``subsets`` of ``addresses``, ``notReadyAddresses``, ``ports``)."""
    md = manifest.get("metadata") or {}
    name = str(md.get("name") or "")
    errs: list[FieldError] = []
    if not name:
        errs.append(FieldError.required("metadata.name", "name or generateName is required"))
    subsets = []
    for i, raw in enumerate(manifest.get("subsets") or []):
        raw = raw or {}
        lists: dict[str, list[EndpointAddress]] = {}
        for key in ("addresses", "notReadyAddresses"):
            lists[key] = []
            for j, ra in enumerate(raw.get(key) or []):
                ip = str((ra or {}).get("ip") or "")
                path = f"subsets[{i}].{key}[{j}].ip"
                try:
                    ip_address(ip)
                except ValueError:
                    errs.append(FieldError.invalid(path, ip, IP_ERROR))
                lists[key].append(EndpointAddress(ip, ra.get("hostname"), ra.get("nodeName"),
                                                  _target_ref(ra.get("targetRef"))))
        ports, port_errs = _ports_errors(raw.get("ports") or [], f"subsets[{i}].ports")
        errs += port_errs
        subsets.append(EndpointSubset(lists["addresses"], lists["notReadyAddresses"], ports))
    if errs:
        raise InvalidObject("Endpoints", name, errs)
    return Endpoints(str(md.get("namespace") or "default"), name, subsets,
                     {str(k): str(v) for k, v in (md.get("labels") or {}).items()})


def slices_for(slices: Iterable[EndpointSlice], svc: Service) -> list[EndpointSlice]:
    """The slices that belong to ``svc``: same namespace, label ``kubernetes.io/service-name``."""
    return [s for s in slices if s.namespace == svc.namespace and s.service_name == svc.name]
