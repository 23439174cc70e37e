"""Ingress and Gateway API as text: ``kubectl get``/``describe`` output, and routing answers in words.

The ``kubectl`` printers follow kubectl's own: ``get ingress`` prints NAME CLASS HOSTS ADDRESS PORTS
AGE (at most three hosts, then ``+ N more...``; PORTS ``80, 443`` with a TLS section); ``describe
ingress`` aligns with Go's tabwriter as kubectl does; ``get gateway``/``httproute``/``gatewayclass``
print the CRDs' additional printer columns. AGE is the fixed ``AGE`` of :mod:`k8snetviz.views.kubectl`.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any

import yaml

from k8snetviz.errors import NotFound
from k8snetviz.questions.display import rich_view, text_view
from k8snetviz.questions.gateway import GatewayAnswer
from k8snetviz.questions.ingress import IngressAnswer
from k8snetviz.views.resources import AGE, register
from k8snetviz.views.table import columns, no_resources_message, tabwrite
from k8snetviz.views.theme import themed

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = [
    "get_ingress",
    "describe_ingress",
    "get_ingressclass",
    "get_gatewayclass",
    "get_gateway",
    "get_httproute",
    "httproute_yaml",
    "ingress_row",
    "ingressclass_row",
    "gatewayclass_row",
    "gateway_row",
    "httproute_row",
    "httproute_status",
    "ingress_address",
    "admitted_class",
    "ingress_text",
    "ingress_html",
    "gateway_text",
    "gateway_html",
    "CHECK",
    "CROSS",
]

CHECK, CROSS = "✔", "✘"
# Colour-blind-safe pair (Okabe-Ito bluish green and vermillion), always with the mark beside it.


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _ns(obj: dict[str, Any]) -> str:
    return _meta(obj).get("namespace") or "default"


def _objects(cluster: Cluster, kind: str) -> list[dict[str, Any]]:
    return cluster.documents(kind)


def _pick(objs: list[dict[str, Any]], namespace: str | None, all_namespaces: bool) -> list[dict[str, Any]]:
    ns = namespace or "default"
    chosen = [o for o in objs if all_namespaces or _ns(o) == ns]
    return sorted(chosen, key=lambda o: (_ns(o), _meta(o).get("name", "")))


# --- kubectl get / describe ingress ---------------------------------------------------------------------


def ingress_address(cluster: Cluster, ing: dict[str, Any]) -> list[str]:
    """``status.loadBalancer.ingress`` of an Ingress: as written, else what the controller publishes.

    ingress-nginx copies the addresses of its ``--publish-service`` Service onto every Ingress of its
    class once it has synced them.
    """
    written = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if written:
        return [e.get("ip") or e.get("hostname") or "" for e in written]
    from k8snetviz.agents.ingress_nginx import ingress_class_of
    from k8snetviz.questions.ingress import find_controller

    classes = _objects(cluster, "IngressClass")
    cls = ingress_class_of(ing, classes)
    if cls is None and classes:
        return []
    found = find_controller(cluster, classes, cls)
    if found is None or found[1] is None:
        return []
    svc = found[1]
    # ingress-nginx's statusAddressFromService, by Service type.
    if svc.type == "ExternalName":
        return [svc.external_name or ""]
    if svc.type == "LoadBalancer":
        return [e.ip or e.hostname or "" for e in svc.load_balancer_ingress] + list(svc.external_ips)
    if svc.type == "NodePort" and svc.external_ips:
        return list(svc.external_ips)
    return [svc.cluster_ip] if svc.cluster_ip else []


def admitted_class(ing: dict[str, Any], classes: list[dict[str, Any]]) -> str | None:
    """``spec.ingressClassName`` as stored: as written, else what the DefaultIngressClass admission plugin
    set at creation (the default class), unless the deprecated class annotation was given instead."""
    from k8snetviz.agents.ingress_nginx import INGRESS_CLASS_ANNOTATION, default_ingress_class

    spec = ing.get("spec") or {}
    if spec.get("ingressClassName"):
        return spec["ingressClassName"]
    if INGRESS_CLASS_ANNOTATION in (_meta(ing).get("annotations") or {}):
        return None
    return default_ingress_class(classes)


def _format_hosts(rules: list[dict[str, Any]]) -> str:
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if more else text


def _address_column(addresses: list[str], wide: bool) -> str:
    text = ",".join(addresses)
    if not wide and len(text) > 16:
        return text[:13] + "..."
    return text


@register("ingresses", "ingress", "ing")
def get_ingress(cluster: Cluster, *, namespace: str | None = None, all_namespaces: bool = False,
                wide: bool = False) -> str:
    """``kubectl get ingress``: NAME CLASS HOSTS ADDRESS PORTS AGE."""
    items = _pick(_objects(cluster, "Ingress"), namespace, all_namespaces)
    if not items:
        return no_resources_message(namespace or "default", all_namespaces)
    header = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    rows = [([_ns(ing)] if all_namespaces else []) + ingress_row(cluster, ing, wide) for ing in items]
    return columns(header, rows)


def ingress_row(cluster: Cluster, ing: dict[str, Any], wide: bool = False) -> list[str]:
    """One row of ``kubectl get ingress``: NAME CLASS HOSTS ADDRESS PORTS AGE."""
    spec = ing.get("spec") or {}
    return [
        _meta(ing).get("name", ""),
        admitted_class(ing, _objects(cluster, "IngressClass")) or "<none>",
        _format_hosts(spec.get("rules") or []),
        _address_column(ingress_address(cluster, ing), wide),
        "80, 443" if spec.get("tls") else "80",
        AGE,
    ]


def _backend_string(svc_ref: dict[str, Any]) -> str:
    port = svc_ref.get("port") or {}
    shown = port.get("name") or str(port.get("number", ""))
    return f"{svc_ref.get('name', '')}:{shown}"


def _endpoints_string(cluster: Cluster, ns: str, svc_ref: dict[str, Any]) -> str | None:
    """kubectl's formatEndpointSlices for the backend's Service port; None when the Service is missing."""
    from k8snetviz.api.endpointslices import slices_for

    svc = next((s for s in cluster.services.values() if s.key == f"{ns}/{svc_ref.get('name')}"), None)
    if svc is None:
        return None
    port = svc_ref.get("port") or {}
    sp_name = ""
    for sp in svc.ports:
        if (port.get("number") and port["number"] == sp.port) or (port.get("name") and port["name"] == sp.name):
            sp_name = sp.name
    slices = slices_for(cluster.endpointslices, svc)
    if not slices:
        return "<none>"
    shown: list[str] = []
    count = 0
    for es in slices:
        for p in es.ports:
            if p.name != sp_name:
                continue
            for ep in es.endpoints:
                if ep.conditions.ready is False:
                    continue
                if len(shown) < 3:
                    shown.append(f"{ep.addresses[0]}:{p.port}")
                count += 1
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


def _describe_backend(cluster: Cluster, ns: str, backend: dict[str, Any]) -> str:
    if backend.get("service"):
        sb = _backend_string(backend["service"])
        eps = _endpoints_string(cluster, ns, backend["service"])
        if eps is None:
            return f'{sb} (<error: services "{backend["service"].get("name")}" not found>)'
        return f"{sb} ({eps})"
    res = backend.get("resource") or {}
    return f"APIGroup: {res.get('apiGroup') or '<none>'}, Kind: {res.get('kind')}, Name: {res.get('name')}"


def _multiline(label: str, values: dict[str, str]) -> list[str]:
    if not values:
        return [f"{label}:\t<none>"]
    items = sorted(values.items())
    lines = [f"{label}:\t{items[0][0]}={items[0][1]}"]
    lines += [f"\t{k}={v}" for k, v in items[1:]]
    return lines


def describe_ingress(cluster: Cluster, name: str, namespace: str = "default") -> str:
    """``kubectl describe ingress NAME -n NAMESPACE`` (without events)."""
    ing = next((o for o in _objects(cluster, "Ingress") if _meta(o).get("name") == name and _ns(o) == namespace),
               None)
    if ing is None:
        raise NotFound("ingresses.networking.k8s.io", name)
    spec = ing.get("spec") or {}
    meta = _meta(ing)
    lines = [f"Name:\t{name}", *_multiline("Labels", meta.get("labels") or {}), f"Namespace:\t{namespace}",
             f"Address:\t{','.join(ingress_address(cluster, ing))}",
             f"Ingress Class:\t{admitted_class(ing, _objects(cluster, 'IngressClass')) or '<none>'}"]
    default = "<default>"
    if spec.get("defaultBackend"):
        default = _describe_backend(cluster, namespace, spec["defaultBackend"])
    lines.append(f"Default backend:\t{default}")
    if spec.get("tls"):
        lines.append("TLS:")
        for t in spec["tls"]:
            hosts = ",".join(t.get("hosts") or [])
            lines.append(f"  {t['secretName']} terminates {hosts}" if t.get("secretName") else f"  SNI routes {hosts}")
    lines += ["Rules:", "  Host\tPath\tBackends", "  ----\t----\t--------"]
    count = 0
    for rule in spec.get("rules") or []:
        if rule.get("http") is None:
            continue
        count += 1
        lines.append(f"  {rule.get('host') or '*'}\t")
        for p in rule["http"].get("paths") or []:
            lines.append(f"    \t{p.get('path', '')} \t{_describe_backend(cluster, namespace, p.get('backend') or {})}")
    if count == 0:
        lines.append(f"  *\t*\t{default}")
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != "kubectl.kubernetes.io/last-applied-configuration"}
    lines += _multiline("Annotations", annotations)
    lines.append("Events:\t<none>")
    return tabwrite("\n".join(lines) + "\n", minwidth=0, padding=2).removesuffix("\n")


@register("ingressclasses", "ingressclass")
def get_ingressclass(cluster: Cluster, **_: object) -> str:
    """``kubectl get ingressclass``: NAME CONTROLLER PARAMETERS AGE (cluster-scoped)."""
    items = sorted(_objects(cluster, "IngressClass"), key=lambda o: _meta(o).get("name", ""))
    if not items:
        return "No resources found"
    return columns(["NAME", "CONTROLLER", "PARAMETERS", "AGE"], [ingressclass_row(c) for c in items])


def ingressclass_row(c: dict[str, Any]) -> list[str]:
    params = (c.get("spec") or {}).get("parameters")
    shown = "<none>"
    if params:
        group = params.get("apiGroup")
        shown = f"{params.get('kind')}.{group}/{params.get('name')}" if group else \
            f"{params.get('kind')}/{params.get('name')}"
    return [_meta(c).get("name", ""), (c.get("spec") or {}).get("controller", ""), shown, AGE]


# --- kubectl get gatewayclass / gateway / httproute -------------------------------------------------------


@register("gatewayclasses", "gatewayclass", "gc")
def get_gatewayclass(cluster: Cluster, **_: object) -> str:
    """``kubectl get gatewayclass``: NAME CONTROLLER ACCEPTED AGE (every class's controller is taken as running)."""
    items = sorted(_objects(cluster, "GatewayClass"), key=lambda o: _meta(o).get("name", ""))
    if not items:
        return "No resources found"
    return columns(["NAME", "CONTROLLER", "ACCEPTED", "AGE"], [gatewayclass_row(c) for c in items])


def gatewayclass_row(c: dict[str, Any]) -> list[str]:
    return [_meta(c).get("name", ""), (c.get("spec") or {}).get("controllerName", ""), "True", AGE]


def _gateway_address(cluster: Cluster, gw: dict[str, Any]) -> str:
    from k8snetviz.questions.gateway import OWNING_GATEWAY_NAME, OWNING_GATEWAY_NAMESPACE

    for s in cluster.services.values():
        if s.labels.get(OWNING_GATEWAY_NAME) == _meta(gw).get("name") and \
                s.labels.get(OWNING_GATEWAY_NAMESPACE) == _ns(gw):
            return ",".join(s.load_balancer_ips) or (s.cluster_ip or "")
    return ""


@register("gateways", "gateway", "gtw")
def get_gateway(cluster: Cluster, *, namespace: str | None = None, all_namespaces: bool = False,
                **_: object) -> str:
    """``kubectl get gateway``: NAME CLASS ADDRESS PROGRAMMED AGE.

    A Gateway whose class no controller serves keeps the API's default status: PROGRAMMED ``Unknown``.
    """
    items = _pick(_objects(cluster, "Gateway"), namespace, all_namespaces)
    if not items:
        return no_resources_message(namespace or "default", all_namespaces)
    rows = [([_ns(gw)] if all_namespaces else []) + gateway_row(cluster, gw) for gw in items]
    header = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"]
    return columns(header, rows)


def gateway_row(cluster: Cluster, gw: dict[str, Any]) -> list[str]:
    """One row of ``kubectl get gateway``: NAME CLASS ADDRESS PROGRAMMED AGE."""
    classes = {_meta(c).get("name") for c in _objects(cluster, "GatewayClass")}
    cls = (gw.get("spec") or {}).get("gatewayClassName", "")
    address = _gateway_address(cluster, gw) if cls in classes else ""
    programmed = ("True" if address else "False") if cls in classes else "Unknown"
    return [_meta(gw).get("name", ""), cls, address, programmed, AGE]


@register("httproutes", "httproute")
def get_httproute(cluster: Cluster, *, namespace: str | None = None, all_namespaces: bool = False,
                  **_: object) -> str:
    """``kubectl get httproute``: NAME HOSTNAMES AGE (HOSTNAMES is the JSON of ``spec.hostnames``)."""
    items = _pick(_objects(cluster, "HTTPRoute"), namespace, all_namespaces)
    if not items:
        return no_resources_message(namespace or "default", all_namespaces)
    rows = [([_ns(r)] if all_namespaces else []) + httproute_row(r) for r in items]
    header = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "HOSTNAMES", "AGE"]
    return columns(header, rows)


def httproute_row(r: dict[str, Any]) -> list[str]:
    hostnames = (r.get("spec") or {}).get("hostnames")
    shown = json.dumps(hostnames, separators=(",", ":")) if hostnames else "<none>"
    return [_meta(r).get("name", ""), shown, AGE]


def httproute_yaml(cluster: Cluster, name: str, namespace: str = "default") -> str:
    """``kubectl get httproute NAME -o yaml``: the object with the ``status.parents`` its Gateway wrote."""
    route = next((o for o in _objects(cluster, "HTTPRoute") if _meta(o).get("name") == name and _ns(o) == namespace),
                 None)
    if route is None:
        raise NotFound("httproutes.gateway.networking.k8s.io", name)
    status = httproute_status(cluster, namespace, name)
    obj = {"apiVersion": route.get("apiVersion", "gateway.networking.k8s.io/v1"), "kind": "HTTPRoute",
           "metadata": {**_meta(route), "namespace": namespace}, "spec": route.get("spec") or {}, "status": status}
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def httproute_status(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    """``status.parents`` of an HTTPRoute: what each Gateway it attaches to wrote."""
    from k8snetviz.questions.gateway import route_statuses

    parents = route_statuses(cluster).get(f"{namespace}/{name}", [])
    return {"parents": [
        {"conditions": [{"lastTransitionTime": "2026-01-01T00:00:00Z", "message": c.message,
                         "observedGeneration": 1, "reason": c.reason, "status": c.status, "type": c.type}
                        for c in p.conditions],
         "controllerName": p.controller_name,
         "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", **p.parent_ref}}
        for p in parents]}


# --- routing answers in words -------------------------------------------------------------------------


def _svc(backend: dict[str, Any] | None) -> str:
    if not backend:
        return "-"
    if "service" in backend:
        return f"{backend['service']}:{backend.get('port')}"
    return str(backend.get("resource", backend))


def _request_line(method: str, headers: dict[str, str]) -> str:
    """``Request: POST, X-Canary: always`` when the request is more than a plain GET ("" otherwise)."""
    if method == "GET" and not headers:
        return ""
    return "Request: " + ", ".join([method, *(f"{k}: {v}" for k, v in headers.items())])


def _ingress_headline(answer: IngressAnswer) -> str:
    r = answer.route
    if r.status == 308:
        return f"{answer.url} -> 308 redirect to https://{r.request_host}{r.request_path} (TLS at the controller)"
    if r.status is not None:
        return f"{answer.url} -> the controller answers {r.status}"
    if r.default_backend:
        return f"{answer.url} -> {_svc(r.backend)} (defaultBackend of Ingress {r.ingress})"
    return f"{answer.url} -> {_svc(r.backend)} (Ingress {r.ingress}, host {r.host}, path {r.path} {r.path_type})"


def ingress_rows(answer: IngressAnswer) -> list[dict[str, str]]:
    """One row per path weighed, chosen first: mark, Ingress, host, path, backend, reason."""
    rows = []
    for c in sorted(answer.route.considered, key=lambda c: not c.chosen):
        rows.append({
            "mark": CHECK if c.chosen else CROSS,
            "ingress": c.ingress,
            "host": c.host,
            "path": "(defaultBackend)" if c.path is None else f"{c.path} ({c.path_type})",
            "backend": _svc(c.backend),
            "reason": c.reason,
        })
    for ing, why in answer.route.skipped.items():
        rows.append({"mark": CROSS, "ingress": ing, "host": "", "path": "", "backend": "",
                     "reason": f"ignored: {why}"})
    return rows


def ingress_text(answer: IngressAnswer) -> str:
    """The answer in words: the decision, then every rule and path weighed and why."""
    r = answer.route
    lines = [_ingress_headline(answer), f"Why: {r.reason}"]
    request = _request_line(answer.method, answer.headers)
    if request:
        lines.append(f"{request} (ingress-nginx routes Ingress rules by host and path only)")
    if r.tls is not None:
        where = f"with Secret {r.tls.secret}" if r.tls.secret else "with the controller's default certificate"
        lines.append(f"TLS: terminates at the controller {where}")
    if r.upstream_path is not None:
        lines.append(f"Rewrite: rewrite-target {r.rewrite_target}: the backend receives {r.upstream_path}")
    if r.regex:
        lines.append(f'Paths of {r.host if r.host != "*" else "the catch-all server"} are regular expressions '
                     '(location ~* "^PATH", longest path tried first)')
    cls = f" (IngressClass {r.ingress_class})" if r.ingress_class else ""
    lines.append(f"Rules weighed{cls}:")
    for row in ingress_rows(answer):
        where = f" {row['host']} {row['path']} -> {row['backend']}" if row["host"] else ""
        lines.append(f"  {row['mark']} {row['ingress']}{where}: {row['reason']}")
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[str]], chosen: list[bool]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = ""
    for row, ok in zip(rows, chosen, strict=True):
        mark = " class='knv-ok'" if ok else ""
        cells = "".join(f"<td{mark if i == 0 else ''}>{escape(c)}</td>" for i, c in enumerate(row))
        body += f"<tr class='{'knv-chosen' if ok else 'knv-not-chosen'}'>{cells}</tr>"
    return f"<table class='knv-rules'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def ingress_html(answer: IngressAnswer) -> str:
    """The headline, the reason and a ✔/✘ table of every rule and path weighed."""
    rows = ingress_rows(answer)
    table = _html_table(["", "Ingress", "host", "path", "backend", "why"],
                        [[r["mark"], r["ingress"], r["host"], r["path"], r["backend"], r["reason"]] for r in rows],
                        [r["mark"] == CHECK for r in rows])
    verdict = "knv-ok" if answer.route.status is None else "knv-bad"
    extra = "".join(f"<p>{escape(line)}</p>" for line in ingress_text(answer).splitlines()[2:]
                    if line.startswith(("Request:", "TLS:", "Rewrite:")))
    return themed(f"<div class='knv-ingress-answer'><p class='knv-backend knv-verdict {verdict}'>"
                  f"<b>{escape(_ingress_headline(answer))}</b></p><p>{escape(answer.route.reason)}</p>{extra}"
                  f"{table}</div>")


def _gateway_headline(answer: GatewayAnswer) -> str:
    r = answer.route
    what = f"{answer.method} {answer.url}"
    if r.tls_failure is not None:
        return f"{what} -> the TLS handshake fails (listener {r.listener} is not programmed)"
    if r.status is not None:
        return f"{what} -> the Gateway answers {r.status}"
    if len(r.candidates) == 1:
        return f"{what} -> {_svc(r.candidates[0].backend)} (HTTPRoute {r.route} rule {r.rule})"
    split = ", ".join(f"{_svc(c.backend)} {c.probability:.0%}" for c in r.candidates)
    return f"{what} -> {split} (HTTPRoute {r.route} rule {r.rule}, weighted)"


def gateway_rows(answer: GatewayAnswer) -> list[dict[str, str]]:
    rows = []
    for c in sorted(answer.route.considered, key=lambda c: not c.chosen):
        rows.append({"mark": CHECK if c.chosen else CROSS, "route": c.route, "rule": f"{c.rule}.{c.match}",
                     "hostname": c.hostname or "", "path": f"{c.path} ({c.path_type})", "reason": c.reason})
    return rows


def _status_lines(answer: GatewayAnswer) -> list[str]:
    lines = []
    for route, parents in answer.statuses.items():
        if not parents:
            lines.append(f"  {route}: no status: no Gateway controller serves any of its parentRefs")
        for p in parents:
            acc = p.condition("Accepted")
            res = p.condition("ResolvedRefs")
            mark = CHECK if p.accepted else CROSS
            text = f"  {mark} {route} on {p.gateway}: Accepted={acc.status} ({acc.reason})" if acc else ""
            if acc and acc.status != "True":
                text += f": {acc.message}"
            if res and res.status != "True":
                text += f"; ResolvedRefs=False ({res.reason}): {res.message}"
            lines.append(text)
    return lines


def gateway_text(answer: GatewayAnswer) -> str:
    r = answer.route
    lines = [_gateway_headline(answer), f"Why: {r.reason}"]
    if answer.headers:
        lines.append("Headers: " + ", ".join(f"{k}: {v}" for k, v in answer.headers.items()))
    if r.gateway:
        lines.append(f"Listener: {r.gateway} {r.listener or '(none accepts the host)'}")
    if r.certificate:
        lines.append(f"TLS: terminates at the Gateway's proxy with Secret {r.certificate}")
    for c in r.candidates:
        if c.problem:
            lines.append(f"  backendRef {_svc(c.backend)} cannot be used: {c.problem}")
    lines.append("Matches weighed:")
    lines += [f"  {x['mark']} {x['route']} rule {x['rule']} {x['path']}: {x['reason']}" for x in gateway_rows(answer)]
    lines.append("Route status:")
    lines += _status_lines(answer)
    problems = _listener_lines(answer)
    if problems:
        lines.append("Listener status:")
        lines += problems
    return "\n".join(lines)


def _listener_lines(answer: GatewayAnswer) -> list[str]:
    """The listeners whose references do not resolve (not programmed), as their status says."""
    lines = []
    for gw, listeners in answer.listeners.items():
        for ls in listeners:
            res = ls.condition("ResolvedRefs")
            if res is not None and res.status != "True":
                lines.append(f"  {CROSS} {gw} listener {ls.name}: ResolvedRefs=False ({res.reason}): {res.message}; "
                             f"Programmed=False, attachedRoutes {ls.attached_routes}")
    return lines


def gateway_html(answer: GatewayAnswer) -> str:
    rows = gateway_rows(answer)
    table = _html_table(["", "HTTPRoute", "rule.match", "hostname", "path", "why"],
                        [[x["mark"], x["route"], x["rule"], x["hostname"], x["path"], x["reason"]] for x in rows],
                        [x["mark"] == CHECK for x in rows])
    cands = ""
    if answer.route.candidates:
        items = "".join(f"<li>{escape(_svc(c.backend))}: weight {c.weight}, {c.probability:.0%}"
                        f"{escape(' — ' + c.problem) if c.problem else ''}</li>" for c in answer.route.candidates)
        cands = f"<p>Backends:</p><ul class='knv-candidates'>{items}</ul>"
    status = "".join(f"<li>{escape(line.strip())}</li>" for line in _status_lines(answer) + _listener_lines(answer))
    verdict = "knv-ok" if answer.route.status is None and answer.route.tls_failure is None else "knv-bad"
    return themed(f"<div class='knv-gateway-answer'><p class='knv-backend knv-verdict {verdict}'>"
                  f"<b>{escape(_gateway_headline(answer))}</b></p><p>{escape(answer.route.reason)}</p>{cands}"
                  f"{table}<p>Route status:</p><ul>{status}</ul></div>")


@text_view.register
def _(answer: IngressAnswer) -> str:
    return ingress_text(answer)


@rich_view.register
def _(answer: IngressAnswer) -> dict[str, str]:
    return {"text/plain": ingress_text(answer), "text/html": ingress_html(answer)}


@text_view.register
def _(answer: GatewayAnswer) -> str:
    return gateway_text(answer)


@rich_view.register
def _(answer: GatewayAnswer) -> dict[str, str]:
    return {"text/plain": gateway_text(answer), "text/html": gateway_html(answer)}
