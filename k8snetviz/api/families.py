"""A dual-stack cluster's dump, seen through its IPv4 family (the family the model simulates).

In a dual-stack cluster every object carries both families side by side (kubernetes.io "IPv4/IPv6 dual-stack"):
a Pod's ``status.podIPs`` (``podIP`` is the first of them, the primary family), a Node's ``spec.podCIDRs``
(``podCIDR`` is the first) and one ``InternalIP`` per family in ``status.addresses``, a Service's
``spec.clusterIPs`` in the order of ``spec.ipFamilies`` (``clusterIP`` is the first), one EndpointSlice per family
(``addressType: IPv4`` or ``IPv6``), an Endpoints object of the Service's primary family only.

The model simulates IPv4. An object read back from a cluster (``kubectl get``: it has a ``uid``, …) that holds
IPv6 beside IPv4 is reduced to its IPv4 half, as the IPv4 single-stack cluster it contains would hold it; what is
left out is counted in one note. An IPv6-only object has no IPv4 half: an IPv6-only Service or EndpointSlice is
left out (and listed), and a dump that holds IPv6 addresses but no IPv4 one at all (an IPv6 single-stack cluster)
is refused in one line. Hand-written objects are left as written: the API server of the model's single-stack
cluster refuses ``ipFamilies: [IPv4, IPv6]`` in its own words.

>>> from k8snetviz.api.families import ipv4_half
>>> pod = {"kind": "Pod", "metadata": {"uid": "u"}, "status": {"podIP": "fd00:10:244:1::5",
...        "podIPs": [{"ip": "fd00:10:244:1::5"}, {"ip": "10.244.1.5"}]}}
>>> ipv4_half(pod)[0]["status"]
{'podIP': '10.244.1.5', 'podIPs': [{'ip': '10.244.1.5'}]}
"""

from __future__ import annotations

import copy
from ipaddress import ip_address, ip_network
from typing import Any

from k8snetviz.api.notes import Notes, is_observed
from k8snetviz.errors import ScenarioError
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["ipv4_half", "ipv4_view", "family", "first_ipv4"]


def family(value: Any) -> int | None:
    """4 or 6 for an address or CIDR written as text, None for anything else (``None``, ``"None"``, junk)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return (ip_network(value, strict=False) if "/" in value else ip_address(value)).version
    except ValueError:
        return None


def first_ipv4(values: Any) -> str | None:
    """The first IPv4 address or CIDR of a list (or of a comma-separated flag value)."""
    items = values.split(",") if isinstance(values, str) else values if isinstance(values, list) else []
    return next((v.strip() for v in items if isinstance(v, str) and family(v.strip()) == 4), None)


def _ips(items: Any, key: str | None = None) -> list[str]:
    out = []
    for i in items if isinstance(items, list) else []:
        v = i.get(key) if key and isinstance(i, dict) else i
        if isinstance(v, str):
            out.append(v)
    return out


def ipv4_half(body: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
    """The object as an IPv4 single-stack cluster would hold it, and how many IPv6 values were left out.

    None for an object without an IPv4 half (an IPv6 Service or EndpointSlice); the body itself when it holds no
    IPv6 (nothing is copied then)."""
    kind = body.get("kind")
    reduce = {"Pod": _pod, "Node": _node, "Service": _service, "EndpointSlice": _slice, "Endpoints": _endpoints}
    fn = reduce.get(kind) if isinstance(kind, str) else None
    if fn is None:
        return body, 0
    out = copy.deepcopy(body)
    dropped = fn(out)
    if dropped is None:
        return None, 1
    return (out, dropped) if dropped else (body, 0)


def _pod(body: dict[str, Any]) -> int:
    status = body.get("status")
    if not isinstance(status, dict):
        return 0
    dropped = 0
    for single, plural in (("podIP", "podIPs"), ("hostIP", "hostIPs")):
        listed = _ips(status.get(plural), "ip")
        six = [a for a in listed if family(a) == 6] or ([status[single]] if family(status.get(single)) == 6 else [])
        if not six:
            continue
        dropped += len(six)
        four = first_ipv4(listed) or (status.get(single) if family(status.get(single)) == 4 else None)
        if four is None:
            status.pop(single, None)
            status.pop(plural, None)
        else:
            status[single] = four
            status[plural] = [{"ip": a} for a in listed if family(a) == 4] or [{"ip": four}]
    return dropped


def _node(body: dict[str, Any]) -> int:
    dropped = 0
    spec = body.get("spec")
    if isinstance(spec, dict):
        cidrs = _ips(spec.get("podCIDRs"))
        six = [c for c in cidrs if family(c) == 6] or ([spec["podCIDR"]] if family(spec.get("podCIDR")) == 6 else [])
        if six:
            dropped += len(six)
            four = first_ipv4(cidrs) or (spec.get("podCIDR") if family(spec.get("podCIDR")) == 4 else None)
            if four is None:
                spec.pop("podCIDR", None)
                spec.pop("podCIDRs", None)
            else:
                spec["podCIDR"] = four
                spec["podCIDRs"] = [c for c in cidrs if family(c) == 4] or [four]
    status = body.get("status")
    addresses = status.get("addresses") if isinstance(status, dict) else None
    if isinstance(addresses, list):
        keep = [a for a in addresses if not (isinstance(a, dict) and a.get("type") in ("InternalIP", "ExternalIP")
                                             and family(a.get("address")) == 6)]
        dropped += len(addresses) - len(keep)
        status["addresses"] = keep  # type: ignore[index]
    return dropped


def _service(body: dict[str, Any]) -> int | None:
    spec = body.get("spec")
    if not isinstance(spec, dict) or spec.get("type") == "ExternalName":
        return 0
    listed = _ips(spec.get("clusterIPs")) or _ips([spec.get("clusterIP")])
    families = _ips(spec.get("ipFamilies"))
    six = [a for a in listed if family(a) == 6]
    dropped = len(six) + sum(1 for f in families if f == "IPv6")
    headless = spec.get("clusterIP") == "None"
    for key in ("externalIPs",):
        ips = _ips(spec.get(key))
        if any(family(a) == 6 for a in ips):
            dropped += sum(1 for a in ips if family(a) == 6)
            spec[key] = [a for a in ips if family(a) != 6]
    if family(spec.get("loadBalancerIP")) == 6:
        dropped += 1
        spec.pop("loadBalancerIP")
    status = body.get("status")
    lb = status.get("loadBalancer") if isinstance(status, dict) else None
    ingress = lb.get("ingress") if isinstance(lb, dict) else None
    if isinstance(ingress, list) and any(isinstance(i, dict) and family(i.get("ip")) == 6 for i in ingress):
        keep = [i for i in ingress if not (isinstance(i, dict) and family(i.get("ip")) == 6)]
        dropped += len(ingress) - len(keep)
        lb["ingress"] = keep  # type: ignore[index]
    if not six and "IPv6" not in families:
        return dropped
    four = first_ipv4(listed)
    if four is None and not headless:
        return None  # an IPv6 single-stack Service: nothing of it is IPv4
    if headless:
        spec["clusterIPs"] = ["None"]
    else:
        spec["clusterIP"] = four
        spec["clusterIPs"] = [four]
    if "IPv4" not in families and headless and families:
        return None  # a headless Service of the IPv6 family only
    spec["ipFamilies"] = ["IPv4"]
    spec["ipFamilyPolicy"] = "SingleStack"
    return dropped


def _slice(body: dict[str, Any]) -> int | None:
    return None if body.get("addressType") == "IPv6" else 0


def _endpoints(body: dict[str, Any]) -> int:
    dropped = 0
    for subset in body.get("subsets") or []:
        if not isinstance(subset, dict):
            continue
        for key in ("addresses", "notReadyAddresses"):
            addrs = subset.get(key)
            if isinstance(addrs, list):
                keep = [a for a in addrs if not (isinstance(a, dict) and family(a.get("ip")) == 6)]
                dropped += len(addrs) - len(keep)
                subset[key] = keep
    return dropped


def _has_ipv4(body: dict[str, Any]) -> bool:
    kind = body.get("kind")
    spec, status = body.get("spec"), body.get("status")
    spec = spec if isinstance(spec, dict) else {}
    status = status if isinstance(status, dict) else {}
    if kind == "Pod":
        return family(status.get("podIP")) == 4 or family(status.get("hostIP")) == 4
    if kind == "Node":
        return any(isinstance(a, dict) and family(a.get("address")) == 4 for a in status.get("addresses") or [])
    if kind == "Service":
        return family(spec.get("clusterIP")) == 4
    return False


def ipv4_view(scenario: Scenario, notes: Notes) -> Scenario:
    """The scenario with each observed dual-stack object reduced to its IPv4 half (noted); an IPv6 single-stack
    dump refused in one line, naming an object and field."""
    out: list[Manifest] = []
    dropped = 0
    left_out: list[str] = []
    six_only: Manifest | None = None
    any_v4 = False
    for m in scenario.manifests:
        if m.kind not in ("Pod", "Node", "Service", "EndpointSlice", "Endpoints") or not is_observed(m.body):
            out.append(m)
            continue
        body, n = ipv4_half(m.body)
        if body is None:
            left_out.append(f"{m.kind} {m.namespace or 'default'}/{m.name}")
            dropped += n
            continue
        if n:
            dropped += n
            if six_only is None and not _has_ipv4(body) and m.kind in ("Pod", "Node", "Service"):
                six_only = m
            m = Manifest(body, m.source, m.line)
        any_v4 = any_v4 or _has_ipv4(body)
        out.append(m)
    if not dropped:
        return scenario
    if not any_v4:
        m = six_only or next(x for x in scenario.manifests if x.kind in ("Pod", "Node", "Service"))
        field = {"Pod": "status.podIP", "Node": "status.addresses", "Service": "spec.clusterIP"}.get(m.kind, "")
        raise ScenarioError(f'{m.kind} "{m.name}": {field}: Unsupported value: an IPv6 single-stack cluster: the '
                            "model simulates IPv4 (and the IPv4 family of a dual-stack cluster)",
                            source=m.source, line=m.line)
    notes.approximate(f"the cluster is dual-stack (IPv4 and IPv6): the model simulates its IPv4 family; {dropped} "
                      "IPv6 addresses, CIDRs and families are left out of pods, nodes, Services and endpoints")
    notes.ignore("IPv6-only objects", left_out, "of the IPv6 family only (an IPv6 Service, an IPv6 EndpointSlice): "
                 "the model simulates IPv4")
    return Scenario(scenario.source, out, scenario.text)
