"""``kubectl get svc|endpoints|endpointslices`` and ``kubectl describe svc``, printed as kubectl prints them.

Each function returns the text without its final newline (the caller prints it).
Columns are aligned the way kubectl's printers align them, with Go's ``text/tabwriter``: ``get`` pads
each column to its widest cell plus 3 spaces (and to at least 6), ``describe`` to the widest plus 2.
AGE is whatever the caller passes (``age="5m"`` by default), so the text is the same on every run.

>>> from k8snetviz.api.services import build_services
>>> svcs = build_services([{"metadata": {"name": "influxdb"}, "spec": {"type": "LoadBalancer",
...     "selector": {"run": "influxdb"}, "ports": [{"port": 8086, "nodePort": 31909}]}}],
...     load_balancer_pool=["172.18.255.200"])
>>> print(get_services(svcs))
NAME       TYPE           CLUSTER-IP     EXTERNAL-IP      PORT(S)          AGE
influxdb   LoadBalancer   10.96.220.33   172.18.255.200   8086:31909/TCP   5m
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from k8snetviz.api.endpointslices import EndpointPort, Endpoints, EndpointSlice, slices_for
from k8snetviz.api.services import Service
from k8snetviz.views.table import columns, no_resources_message, tabwrite

__all__ = [
    "get_services",
    "get_endpoints",
    "get_endpointslices",
    "service_header",
    "service_row",
    "endpoints_row",
    "endpointslice_row",
    "format_labels",
    "describe_service",
    "ENDPOINTS_DEPRECATION_WARNING",
]

# What the API server (1.33+) sends with every read of v1 Endpoints; kubectl prints it to stderr.
ENDPOINTS_DEPRECATION_WARNING = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
LOAD_BALANCER_WIDTH = 16  # the printer cuts EXTERNAL-IP to this many characters unless -o wide
MAX_ANNOTATION_LEN = 140


def _pick(items: Iterable, namespace: str | None, all_namespaces: bool) -> list:
    chosen = [i for i in items if all_namespaces or i.namespace == (namespace or "default")]
    return sorted(chosen, key=lambda i: (i.namespace, i.name))


def _age(obj, age: str, ages: Mapping[str, str] | None) -> str:
    return (ages or {}).get(f"{obj.namespace}/{obj.name}", age)


# --- get svc -------------------------------------------------------------------------------------


def format_labels(labels: Mapping[str, str] | None) -> str:
    """``labels.FormatLabels``: sorted ``k=v`` joined by commas, ``<none>`` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


_format_labels = format_labels


def _external_ip(svc: Service, wide: bool) -> str:
    if svc.type in ("ClusterIP", "NodePort"):
        return ",".join(svc.external_ips) or "<none>"
    if svc.type == "LoadBalancer":
        # The set of ingress IPs (or hostnames) is printed sorted, then cut unless -o wide.
        lb = ",".join(sorted({i.ip or i.hostname or "" for i in svc.load_balancer_ingress if i.ip or i.hostname}))
        if not wide and len(lb) > LOAD_BALANCER_WIDTH:
            lb = lb[:LOAD_BALANCER_WIDTH - 3] + "..."
        if svc.external_ips:
            return ",".join(([*lb.split(",")] if lb else []) + svc.external_ips)
        return lb or "<pending>"
    if svc.type == "ExternalName":
        return svc.external_name or ""
    return "<unknown>"


def _ports(svc: Service) -> str:
    out = []
    for p in svc.ports:
        np = f":{p.node_port}" if p.node_port else ""
        out.append(f"{p.port}{np}/{p.protocol}")
    return ",".join(out) or "<none>"


def get_services(
    services: Iterable[Service],
    *,
    namespace: str | None = "default",
    all_namespaces: bool = False,
    wide: bool = False,
    age: str = "5m",
    ages: Mapping[str, str] | None = None,
) -> str:
    """``kubectl get svc [-n NS | -A] [-o wide]``, or kubectl's "No resources found" line."""
    chosen = _pick(services, namespace, all_namespaces)
    if not chosen:
        return no_resources_message(namespace, all_namespaces)
    rows = [([s.namespace] if all_namespaces else []) + service_row(s, wide, _age(s, age, ages)) for s in chosen]
    return columns((["NAMESPACE"] if all_namespaces else []) + service_header(wide), rows)


def service_header(wide: bool = False) -> list[str]:
    return ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"] + (["SELECTOR"] if wide else [])


def service_row(s: Service, wide: bool = False, age: str = "5m") -> list[str]:
    """One row of ``kubectl get svc`` (without NAMESPACE)."""
    row = [s.name, s.type, s.cluster_ips[0] if s.cluster_ips else "<none>", _external_ip(s, wide), _ports(s), age]
    if wide:
        row.append(_format_labels(s.selector))
    return row


# --- get endpoints / endpointslices -------------------------------------------------------------


def _more(items: list[str], more: bool, count: int, limit: int = 3) -> str:
    text = ",".join(items)
    return f"{text} + {count - limit} more..." if more else text


def _format_endpoints(ep: Endpoints) -> str:
    """The ENDPOINTS column: ``ip:port`` for every port and address, the first three, then ``+ N more...``."""
    if not ep.subsets:
        return "<none>"
    items: list[str] = []
    more, count = False, 0
    for ss in ep.subsets:
        ports: list[EndpointPort | None] = list(ss.ports) or [None]
        for port in ports:
            count += len(ss.addresses)
            for a in ss.addresses:
                if len(items) == 3:
                    more = True
                    break
                items.append(a.ip if port is None else f"{a.ip}:{port.port}")
    return _more(items, more, count)


def get_endpoints(
    endpoints: Iterable[Endpoints],
    *,
    namespace: str | None = "default",
    all_namespaces: bool = False,
    age: str = "5m",
    ages: Mapping[str, str] | None = None,
    warnings: list[str] | None = None,
) -> str:
    """``kubectl get endpoints``; appends the API server's deprecation warning to ``warnings``."""
    if warnings is not None:
        warnings.append(ENDPOINTS_DEPRECATION_WARNING)
    chosen = _pick(endpoints, namespace, all_namespaces)
    if not chosen:
        return no_resources_message(namespace, all_namespaces)
    rows = [([e.namespace] if all_namespaces else []) + endpoints_row(e, _age(e, age, ages)) for e in chosen]
    return columns((["NAMESPACE"] if all_namespaces else []) + ["NAME", "ENDPOINTS", "AGE"], rows)


def endpoints_row(e: Endpoints, age: str = "5m") -> list[str]:
    """One row of ``kubectl get endpoints``: NAME ENDPOINTS AGE."""
    return [e.name, _format_endpoints(e), age]


def _list_with_more(values: Iterable[str]) -> str:
    """An EndpointSlice column: the first three values, then ``+ N more...``; ``<unset>`` when empty."""
    items = list(values)
    if len(items) > 3:
        return _more(items[:3], True, len(items))
    return ",".join(items) or "<unset>"


def _slice_ports(es: EndpointSlice) -> str:
    return _list_with_more(str(p.port) if p.port is not None else (p.name if p.name is not None else "*")
                           for p in es.ports)


def _slice_endpoints(es: EndpointSlice) -> str:
    return _list_with_more(a for ep in es.endpoints for a in ep.addresses)


def get_endpointslices(
    slices: Iterable[EndpointSlice],
    *,
    namespace: str | None = "default",
    all_namespaces: bool = False,
    age: str = "5m",
    ages: Mapping[str, str] | None = None,
) -> str:
    """``kubectl get endpointslices``: every address, ready or not (the conditions are not shown)."""
    chosen = _pick(slices, namespace, all_namespaces)
    if not chosen:
        return no_resources_message(namespace, all_namespaces)
    rows = [([s.namespace] if all_namespaces else []) + endpointslice_row(s, _age(s, age, ages)) for s in chosen]
    header = ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    return columns((["NAMESPACE"] if all_namespaces else []) + header, rows)


def endpointslice_row(s: EndpointSlice, age: str = "5m") -> list[str]:
    """One row of ``kubectl get endpointslices``: NAME ADDRESSTYPE PORTS ENDPOINTS AGE."""
    return [s.name, s.address_type, _slice_ports(s), _slice_endpoints(s), age]


# --- describe svc --------------------------------------------------------------------------------


def _describe_endpoints(slices: list[EndpointSlice], port_name: str) -> str:
    """describe's Endpoints line for one port: ready endpoints only, ``<none>`` when there is no slice."""
    if not slices:
        return "<none>"
    items: list[str] = []
    more, count = False, 0
    for es in slices:
        if not es.ports:  # a headless Service may have no ports: addresses alone
            candidates: list[tuple[Any, int | None]] = [(ep, None) for ep in es.endpoints]
        else:
            candidates = [(ep, p.port) for p in es.ports if (p.name or "") == port_name for ep in es.endpoints]
        for ep, port in candidates:
            if len(items) == 3:
                more = True  # set even when this endpoint turns out not to be ready, as kubectl does
            if not ep.is_ready:
                continue
            if not more:
                items.append(ep.addresses[0] if port is None else f"{ep.addresses[0]}:{port}")
            count += 1
    return _more(items, more, count)


def _multiline(title: str, pairs: list[str]) -> list[str]:
    if not pairs:
        return [f"{title}:\t<none>"]
    return [f"{title}:\t{pairs[0]}"] + [f"\t{p}" for p in pairs[1:]]


def _annotation_lines(annotations: Mapping[str, str]) -> list[str]:
    keys = sorted(k for k in annotations if k != "kubectl.kubernetes.io/last-applied-configuration")
    if not keys:
        return ["Annotations:\t<none>"]
    out = []
    for i, k in enumerate(keys):
        lead = "Annotations:\t" if i == 0 else "\t"
        value = annotations[k].removesuffix("\n")
        if len(value) + len(k) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            out.append(f"{lead}{k}:")
            for part in value.split("\n"):
                cut = MAX_ANNOTATION_LEN - 2
                out.append(f"\t  {part[:cut] + '...' if len(part) > cut else part}")
        else:
            out.append(f"{lead}{k}: {value}")
    return out


def describe_service(svc: Service, slices: Iterable[EndpointSlice] = ()) -> str:
    """``kubectl describe svc NAME``; ``slices`` may hold every slice, those of ``svc`` are used."""
    own = sorted(slices_for(slices, svc), key=lambda s: s.name)
    lines = [f"Name:\t{svc.name}", f"Namespace:\t{svc.namespace}"]
    lines += _multiline("Labels", [f"{k}={v}" for k, v in sorted(svc.labels.items())])
    lines += _annotation_lines(svc.annotations)
    lines += [f"Selector:\t{_format_labels(svc.selector)}", f"Type:\t{svc.type}"]
    if svc.ip_family_policy is not None:
        lines.append(f"IP Family Policy:\t{svc.ip_family_policy}")
    lines.append(f"IP Families:\t{','.join(svc.ip_families) or '<none>'}")
    lines.append(f"IP:\t{svc.cluster_ip or ''}")
    lines.append(f"IPs:\t{','.join(svc.cluster_ips) or '<none>'}")
    if svc.external_ips:
        lines.append(f"External IPs:\t{','.join(svc.external_ips)}")
    if svc.load_balancer_ip:
        lines.append(f"Desired LoadBalancer IP:\t{svc.load_balancer_ip}")
    if svc.external_name:
        lines.append(f"External Name:\t{svc.external_name}")
    if svc.load_balancer_ingress:
        shown = [f"{i.ip} ({i.ip_mode})" if i.ip and i.ip_mode else (i.ip or i.hostname or "")
                 for i in svc.load_balancer_ingress]
        lines.append(f"LoadBalancer Ingress:\t{', '.join(shown)}")
    for p in svc.ports:
        name = p.name or "<unset>"
        lines.append(f"Port:\t{name}\t{p.port}/{p.protocol}")
        lines.append(f"TargetPort:\t{p.target_port}/{p.protocol}")
        if p.app_protocol:
            lines.append(f"AppProtocol:\t{p.app_protocol}")
        if p.node_port:
            lines.append(f"NodePort:\t{name}\t{p.node_port}/{p.protocol}")
        lines.append(f"Endpoints:\t{_describe_endpoints(own, p.name)}")
    lines.append(f"Session Affinity:\t{svc.session_affinity}")
    if svc.external_traffic_policy:
        lines.append(f"External Traffic Policy:\t{svc.external_traffic_policy}")
    if svc.internal_traffic_policy:
        lines.append(f"Internal Traffic Policy:\t{svc.internal_traffic_policy}")
    if svc.health_check_node_port:
        lines.append(f"HealthCheck NodePort:\t{svc.health_check_node_port}")
    if svc.load_balancer_source_ranges:
        lines.append(f"LoadBalancer Source Ranges:\t{','.join(svc.load_balancer_source_ranges)}")
    lines.append("Events:\t<none>")
    return tabwrite("\n".join(lines) + "\n", minwidth=0, padding=2).removesuffix("\n")
