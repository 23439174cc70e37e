"""EndpointSlices and Endpoints: the list of backends that sits between a Service and its pods.

For a Service with a selector, ``controller_slices`` does what kube-controller-manager's EndpointSlice
controller does:

- it takes the pods in the Service's namespace whose labels match the selector (``selector: {}``
  matches every pod there), leaving out pods without an IP and pods that have finished
  (Succeeded/Failed). Terminating pods stay in, marked ``terminating``;
- for each pod it resolves every Service port: a numeric ``targetPort`` as is, a named one against
  the pod's container ports of the same protocol. A pod that lacks the name simply has fewer ports,
  and pods are grouped into slices by the ports they resolved to, so pods that resolve a name to
  different numbers, or not at all, land in different slices;
- each endpoint carries ``serving`` (the pod is Ready), ``terminating`` (it is being deleted) and
  ``ready`` (serving and not terminating; always true with ``publishNotReadyAddresses``), the pod's
  node, and its hostname when the pod's ``hostname`` and ``subdomain`` name this Service;
- a slice holds at most 100 endpoints; a Service without any gets one empty placeholder slice.

Slices are named as the API server names objects created with ``generateName: <service>-``: five
characters appended, here derived from the name instead of drawn at random. Endpoints keep the
order in which the pods were given.

A Service without a selector gets no slices from the controller; EndpointSlices written by hand (with
the label ``kubernetes.io/service-name``) are used as they are, and a hand-written Endpoints object
is mirrored into a slice as the EndpointSlice mirroring controller does. ExternalName Services have
no endpoints at all. The legacy ``Endpoints`` object (one per Service, ``subsets`` of ready and
not-ready addresses) is derived too, for ``kubectl get endpoints``.

>>> from ipaddress import IPv4Address
>>> from k8snetviz.api.objects import ContainerPort, Pod
>>> from k8snetviz.api.services import build_services
>>> svc, = build_services([{"metadata": {"name": "web"},
...     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}])
>>> pods = [Pod("default", "web-1", "kind-worker", IPv4Address("10.244.1.2"), {"app": "web"},
...             [ContainerPort(8080, name="http")])]
>>> s, = controller_slices(svc, pods)
>>> s.name, [(p.port, p.protocol) for p in s.ports], s.endpoints[0].addresses
('web-ngmcc', [(8080, 'TCP')], ['10.244.1.2'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from k8snetviz.api.endpointslices import (
    CONTROLLER_NAME,
    LABEL_HEADLESS,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    LABEL_SKIP_MIRROR,
    MAX_ENDPOINTS_PER_SLICE,
    MIRRORING_CONTROLLER_NAME,
    Endpoint,
    EndpointAddress,
    EndpointConditions,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    TargetRef,
    generated_name,
    parse_endpoint_slice,
    parse_endpoints,
    selects,
)
from k8snetviz.api.objects import Pod
from k8snetviz.api.services import Service
from k8snetviz.errors import FieldError, InvalidObject

__all__ = [
    "controller_slices",
    "controller_endpoints",
    "mirror_endpoints",
    "build_endpoint_slices",
    "build_endpoints",
]


def _should_be_in_endpoints(pod: Pod, include_terminating: bool) -> bool:
    # endpointslice util ShouldPodBeInEndpoints
    if pod.phase in ("Succeeded", "Failed"):
        return False
    if pod.ip is None:
        return False
    return include_terminating or not pod.terminating


def _sets_hostname(pod: Pod, svc: Service) -> bool:
    return bool(pod.hostname) and pod.subdomain == svc.name and pod.namespace == svc.namespace


def _find_port(pod: Pod, sp: Any) -> int | None:
    """podutil.FindPort: a number as is; a name against container ports of the same protocol."""
    if isinstance(sp.target_port, int):
        return sp.target_port
    cp = pod.port_named(sp.target_port, sp.protocol)
    return cp.container_port if cp else None


def _pod_ports(svc: Service, pod: Pod) -> tuple[EndpointPort, ...]:
    out = []
    for sp in svc.ports:
        num = _find_port(pod, sp)
        if num is not None:
            out.append(EndpointPort(sp.name, num, sp.protocol, sp.app_protocol))
    return tuple(out)


def _slice_labels(svc: Service, controller: str) -> dict[str, str]:
    labels = {k: v for k, v in svc.labels.items() if k not in (LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS)}
    if not svc.cluster_ip or svc.cluster_ip == "None":
        labels[LABEL_HEADLESS] = ""
    labels[LABEL_SERVICE_NAME] = svc.name
    labels[LABEL_MANAGED_BY] = controller
    return labels


def _format_selector(selector: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"


def _warn_unresolved(svc: Service, chosen: list[Pod], warnings: list[str]) -> None:
    for sp in svc.ports:
        if not isinstance(sp.target_port, str):
            continue
        missing = [p.key for p in chosen if _find_port(p, sp) is None]
        if not missing:
            continue
        label = f'port "{sp.name}"' if sp.name else f"port {sp.port}/{sp.protocol}"
        what = f'{sp.protocol} container port named "{sp.target_port}"'
        if len(missing) == len(chosen):
            warnings.append(f"Service {svc.key}: no selected pod declares a {what}; {label} has no endpoints")
        else:
            warnings.append(f"Service {svc.key}: pod {', '.join(missing)} declares no {what}; "
                            f"it is left out of {label}")


def controller_slices(
    svc: Service,
    pods: Iterable[Pod],
    *,
    node_names: Iterable[str] | None = None,
    node_zones: Mapping[str, str] | None = None,
    warnings: list[str] | None = None,
) -> list[EndpointSlice]:
    """The slices the EndpointSlice controller keeps for ``svc`` (none for ExternalName or no selector)."""
    if svc.type == "ExternalName" or svc.selector is None:
        return []
    # a set given is used as it is: build_endpoint_slices hands every Service the same set of 5,000 names
    nodes = node_names if isinstance(node_names, set | frozenset) or node_names is None else set(node_names)
    zones = node_zones or {}
    chosen = [p for p in pods if p.namespace == svc.namespace and selects(svc.selector, p.labels)]
    included = [p for p in chosen if _should_be_in_endpoints(p, include_terminating=True)]
    if warnings is not None:
        if not chosen:
            warnings.append(f"Service {svc.key}: selector {_format_selector(svc.selector)} matches no pods; "
                            "the Service has no endpoints")
        _warn_unresolved(svc, included, warnings)
    groups: dict[tuple[EndpointPort, ...], list[Endpoint]] = {}
    for pod in included:
        if nodes is not None and pod.node_name not in nodes and not svc.publish_not_ready_addresses:
            continue  # the controller skips a pod whose Node does not exist (and requeues)
        serving = pod.ready
        ready = svc.publish_not_ready_addresses or (serving and not pod.terminating)
        groups.setdefault(_pod_ports(svc, pod), []).append(Endpoint(
            addresses=[str(pod.ip)],
            conditions=EndpointConditions(ready=ready, serving=serving, terminating=pod.terminating),
            hostname=pod.hostname if _sets_hostname(pod, svc) else None,
            node_name=pod.node_name or None,
            zone=zones.get(pod.node_name),
            target_ref=TargetRef("Pod", pod.name, pod.namespace),
        ))
    if not groups:
        groups[()] = []  # the placeholder slice: no ports, no endpoints
    labels = _slice_labels(svc, CONTROLLER_NAME)
    slices: list[EndpointSlice] = []
    for ports, endpoints in groups.items():
        chunks = [endpoints[i:i + MAX_ENDPOINTS_PER_SLICE]
                  for i in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE)] or [[]]
        for chunk in chunks:
            name = generated_name(f"{svc.name}-", f"{svc.key}/{len(slices)}")
            slices.append(EndpointSlice(svc.namespace, name, "IPv4", list(ports), chunk, dict(labels)))
    return slices


def _repack(entries: list[tuple[EndpointAddress, bool, EndpointPort | None]]) -> list[EndpointSubset]:
    """endpoints.RepackSubsets: one subset per set of addresses that offer the same ports.

    The API server orders ports and subsets by a hash; here ports keep the Service's order and
    subsets are ordered by their first address. Addresses are sorted by IP as text, as Go sorts them.
    """
    by_port: dict[EndpointPort | None, dict[str, tuple[EndpointAddress, bool]]] = {}
    for addr, ready, port in entries:
        by_port.setdefault(port, {})[addr.ip] = (addr, ready)
    groups: dict[frozenset[tuple[str, bool]], tuple[dict[str, tuple[EndpointAddress, bool]], list[EndpointPort]]] = {}
    for port, addrs in by_port.items():
        key = frozenset((ip, ready) for ip, (_, ready) in addrs.items())
        _, ports = groups.setdefault(key, (addrs, []))
        if port is not None:
            ports.append(port)
    subsets = []
    for addrs, ports in groups.values():
        ready_addrs = sorted((a for a, r in addrs.values() if r), key=lambda a: a.ip)
        not_ready = sorted((a for a, r in addrs.values() if not r), key=lambda a: a.ip)
        subsets.append(EndpointSubset(ready_addrs, not_ready, ports))
    return sorted(subsets, key=lambda s: (s.addresses or s.not_ready_addresses)[0].ip)


def controller_endpoints(svc: Service, pods: Iterable[Pod]) -> Endpoints | None:
    """The Endpoints object the (legacy) Endpoints controller writes; ``None`` where it writes none.

    Unlike slices, a terminating pod is left out unless ``publishNotReadyAddresses`` is set.
    """
    if svc.type == "ExternalName" or svc.selector is None:
        return None
    entries: list[tuple[EndpointAddress, bool, EndpointPort | None]] = []
    for pod in pods:
        if pod.namespace != svc.namespace or not selects(svc.selector, pod.labels):
            continue
        if not _should_be_in_endpoints(pod, include_terminating=svc.publish_not_ready_addresses):
            continue
        addr = EndpointAddress(str(pod.ip), pod.hostname if _sets_hostname(pod, svc) else None,
                               pod.node_name or None, TargetRef("Pod", pod.name, pod.namespace))
        ready = svc.publish_not_ready_addresses or pod.ready
        if not svc.ports:
            if svc.headless:
                entries.append((addr, ready, None))
            continue
        for sp in svc.ports:
            num = _find_port(pod, sp)
            if num is not None:
                entries.append((addr, ready, EndpointPort(sp.name, num, sp.protocol, sp.app_protocol)))
    labels = {k: v for k, v in svc.labels.items() if k != LABEL_HEADLESS}
    if not svc.cluster_ip or svc.cluster_ip == "None":
        labels[LABEL_HEADLESS] = ""
    return Endpoints(svc.namespace, svc.name, _repack(entries), labels)


def mirror_endpoints(ep: Endpoints, svc: Service) -> list[EndpointSlice]:
    """The EndpointSlice mirroring controller: a selector-less Service's Endpoints copied into slices.

    Subsets with the same ports share a slice; ``notReadyAddresses`` become endpoints with
    ``ready: false``.
    """
    if svc.selector is not None or ep.labels.get(LABEL_SKIP_MIRROR) == "true":
        return []
    groups: dict[tuple[EndpointPort, ...], list[Endpoint]] = {}
    for ss in ep.subsets:
        eps = groups.setdefault(tuple(ss.ports), [])
        for addrs, ready in ((ss.addresses, True), (ss.not_ready_addresses, False)):
            for a in addrs:
                eps.append(Endpoint([a.ip], EndpointConditions(ready=ready), a.hostname, a.node_name, None,
                                    a.target_ref))
    labels = {k: v for k, v in ep.labels.items() if k not in (LABEL_SERVICE_NAME, LABEL_MANAGED_BY)}
    labels[LABEL_SERVICE_NAME] = svc.name
    labels[LABEL_MANAGED_BY] = MIRRORING_CONTROLLER_NAME
    out: list[EndpointSlice] = []
    for ports, eps in groups.items():
        name = generated_name(f"{ep.name}-", f"{svc.key}/mirror/{len(out)}")
        out.append(EndpointSlice(ep.namespace, name, "IPv4", list(ports), eps, dict(labels)))
    return out


# --- everything at once ------------------------------------------------------------------------------


class _PodIndex:
    """Pods by namespace and label, so that 10,000 selectors do not each scan every pod."""

    def __init__(self, pods: Iterable[Pod]) -> None:
        self.pods = list(pods)
        self.by_ns: dict[str, list[int]] = {}
        self.by_label: dict[tuple[str, str, str], list[int]] = {}
        for i, p in enumerate(self.pods):
            self.by_ns.setdefault(p.namespace, []).append(i)
            for k, v in p.labels.items():
                self.by_label.setdefault((p.namespace, k, v), []).append(i)

    def candidates(self, svc: Service) -> list[Pod]:
        """Pods of the Service's namespace carrying its selector's labels, in the order given."""
        if not svc.selector:
            return [self.pods[i] for i in self.by_ns.get(svc.namespace, [])]
        lists = [self.by_label.get((svc.namespace, k, v), []) for k, v in svc.selector.items()]
        shortest = min(lists, key=len)
        return [self.pods[i] for i in shortest if selects(svc.selector, self.pods[i].labels)]


def build_endpoint_slices(
    services: Iterable[Service],
    pods: Iterable[Pod],
    slice_manifests: Iterable[dict[str, Any]] = (),
    endpoints_manifests: Iterable[dict[str, Any]] = (),
    *,
    node_names: Iterable[str] | None = None,
    node_zones: Mapping[str, str] | None = None,
    warnings: list[str] | None = None,
) -> list[EndpointSlice]:
    """Every EndpointSlice in the cluster: the controller's, the hand-written ones, the mirrored ones.

    The result is ordered by namespace and name, as ``kubectl get endpointslices`` lists them.
    """
    services = list(services)
    index = _PodIndex(pods)
    nodes = None if node_names is None else set(node_names)
    by_key = {s.key: s for s in services}
    out: list[EndpointSlice] = []
    given = [parse_endpoint_slice(m) for m in slice_manifests]
    # A dump holds the controller's own slices (managed-by the EndpointSlice controller): they are honoured as
    # they are, and the controller derives nothing more for their Service.
    kept = {(es.namespace, es.service_name) for es in given if es.managed_by == CONTROLLER_NAME}
    for svc in services:
        if (svc.namespace, svc.name) in kept:
            continue
        out += controller_slices(svc, index.candidates(svc), node_names=nodes, node_zones=node_zones,
                                 warnings=warnings)
    for es in given:
        if warnings is not None and not es.service_name:
            warnings.append(f"EndpointSlice {es.key} has no label {LABEL_SERVICE_NAME}; no Service uses it")
        out.append(es)
    for m in endpoints_manifests:
        ep = parse_endpoints(m)
        owner = by_key.get(f"{ep.namespace}/{ep.name}")
        if owner is not None and owner.type != "ExternalName":
            out += mirror_endpoints(ep, owner)
    seen: set[str] = set()
    for es in out:
        if es.key in seen:
            raise InvalidObject("EndpointSlice", es.name, [FieldError.duplicate("metadata.name", es.name)])
        seen.add(es.key)
    return sorted(out, key=lambda s: (s.namespace, s.name))


def build_endpoints(
    services: Iterable[Service],
    pods: Iterable[Pod],
    endpoints_manifests: Iterable[dict[str, Any]] = (),
) -> list[Endpoints]:
    """Every Endpoints object: the controller's for selector Services, hand-written ones for the rest.

    The controller overwrites a hand-written Endpoints of a Service that has a selector.
    """
    index = _PodIndex(pods)
    out: dict[str, Endpoints] = {}
    for m in endpoints_manifests:
        ep = parse_endpoints(m)
        out[f"{ep.namespace}/{ep.name}"] = ep
    for svc in services:
        derived = controller_endpoints(svc, index.candidates(svc))
        if derived is not None:
            out[svc.key] = derived
    return [out[k] for k in sorted(out, key=lambda k: tuple(k.split("/", 1)))]
