"""Gateway API (``gateway.networking.k8s.io/v1``): which HTTPRoutes a Gateway accepts, where requests go.

Everything here reads plain manifests (``objects``: every document of a scenario) and follows the
Gateway API specification: route status conditions with the spec's reasons, hostname intersection
between listeners and routes, the HTTPRoute matching precedence, and weighted backendRefs.

>>> def svc(name):
...     return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
...             "spec": {"ports": [{"port": 80}]}}
>>> objs = [
...     {"kind": "Gateway", "metadata": {"name": "gw", "namespace": "default"},
...      "spec": {"gatewayClassName": "eg", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
...     {"kind": "HTTPRoute", "metadata": {"name": "shop", "namespace": "default"},
...      "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [
...          {"name": "v1", "port": 80, "weight": 90}, {"name": "v2", "port": 80, "weight": 10}]}]}},
...     svc("v1"), svc("v2")]
>>> [(c.backend["service"], c.probability) for c in route_http(objs, "shop.example", "/cart").candidates]
[('default/v1', 0.9), ('default/v2', 0.1)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from k8snetviz.agents.ingress_nginx import prefix_matches, split_host
from k8snetviz.errors import UsageError

__all__ = [
    "GATEWAY_GROUP",
    "Condition",
    "ParentStatus",
    "ListenerStatus",
    "listener_statuses",
    "reference_granted",
    "Attachment",
    "BackendCandidate",
    "MatchCheck",
    "GatewayRoute",
    "gateway_host_matches",
    "hostname_intersection",
    "route_status",
    "attachments",
    "route_http",
    "ingress_to_httproutes",
    "ingress_to_gateway_api",
]

GATEWAY_GROUP = "gateway.networking.k8s.io"
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_PATH_TYPES = ("Exact", "PathPrefix", "RegularExpression")
_VALUE_TYPES = ("Exact", "RegularExpression")


# --- small readers ------------------------------------------------------------------------------------


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _ns(obj: Mapping[str, Any]) -> str:
    return _meta(obj).get("namespace") or "default"


def _key(obj: Mapping[str, Any]) -> str:
    return f"{_ns(obj)}/{_meta(obj).get('name', '')}"


def _of_kind(objects: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def _created(obj: Mapping[str, Any]) -> str:
    # RFC 3339 timestamps in one format sort as text; a missing one counts as "the same instant".
    return str(_meta(obj).get("creationTimestamp") or "")


def _namespace_labels(objects: list[Mapping[str, Any]], name: str) -> dict[str, str]:
    labels = {"kubernetes.io/metadata.name": name}  # the API server sets this label on every namespace
    for ns in _of_kind(objects, "Namespace"):
        if _meta(ns).get("name") == name:
            labels.update(_meta(ns).get("labels") or {})
    return labels


def _selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """``metav1.LabelSelector`` semantics; an empty selector selects everything."""
    selector = selector or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


# --- hostnames ----------------------------------------------------------------------------------------


def gateway_host_matches(pattern: str | None, name: str) -> bool:
    """Gateway API hostname match: ``*.`` is a *suffix* match over any number of labels.

    Unlike an Ingress wildcard (exactly one label), ``*.example.com`` matches ``foo.test.example.com``.

    >>> [gateway_host_matches("*.example.com", h) for h in ("a.example.com", "a.b.example.com", "example.com")
    ... ]
    [True, True, False]
    """
    if not pattern or pattern == "*":
        return True
    pattern, name = pattern.lower(), name.lower()
    if pattern.startswith("*."):
        return name == pattern or name.endswith(pattern[1:])
    return name == pattern


def hostname_intersection(listener_host: str | None, route_hostnames: Iterable[str]) -> list[str]:
    """The hostnames a route serves on a listener: its own, narrowed to what the listener allows.

    >>> hostname_intersection("*.example.com", ["test.example.com", "test.example.net"])
    ['test.example.com']
    >>> hostname_intersection("foo.example.com", ["*.example.com"])
    ['foo.example.com']
    >>> hostname_intersection(None, [])
    ['*']
    """
    route_hostnames = [h.lower() for h in route_hostnames]
    if not route_hostnames:
        return [listener_host.lower() if listener_host else "*"]
    if not listener_host:
        return route_hostnames
    out = []
    for h in route_hostnames:
        if gateway_host_matches(listener_host, h):
            out.append(h)  # the route's hostname is the narrower one
        elif gateway_host_matches(h, listener_host):
            out.append(listener_host.lower())  # the listener's is narrower
    return list(dict.fromkeys(out))


def _host_rank(hostname: str) -> tuple[int, int]:
    """HTTPRoute hostname precedence: characters of a non-wildcard match, then characters of the match."""
    if hostname == "*":
        return (0, 0)
    return (0 if hostname.startswith("*") else len(hostname), len(hostname))


# --- status -------------------------------------------------------------------------------------------


@dataclass
class Condition:
    """A ``metav1.Condition`` as a Gateway controller writes it on the route's status."""

    type: str
    status: str  # "True" | "False"
    reason: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "status": self.status, "reason": self.reason, "message": self.message}


@dataclass
class ParentStatus:
    """One ``status.parents[]`` entry of a route: what a parentRef's Gateway decided, on which listeners."""

    parent_ref: dict[str, Any]
    gateway: str  # NS/NAME
    controller_name: str | None
    listeners: list[str]  # listeners that accepted the route
    hostnames: dict[str, list[str]]  # listener -> hostnames the route serves there
    conditions: list[Condition]

    @property
    def accepted(self) -> bool:
        return any(c.type == "Accepted" and c.status == "True" for c in self.conditions)

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "parentRef": self.parent_ref,
            "controllerName": self.controller_name,
            "conditions": [c.to_dict() for c in self.conditions],
        }


@dataclass
class Attachment:
    """An accepted route on one listener, with the hostnames it serves there."""

    gateway: str
    listener: str
    route: str
    hostnames: list[str]


def _parent_gateway(
    route: Mapping[str, Any], ref: Mapping[str, Any], objects: list
) -> Mapping[str, Any] | None:
    if (ref.get("group", GATEWAY_GROUP) or "") != GATEWAY_GROUP or ref.get("kind", "Gateway") != "Gateway":
        return None
    ns = ref.get("namespace") or _ns(route)
    return next((g for g in _of_kind(objects, "Gateway") if _key(g) == f"{ns}/{ref.get('name')}"), None)


def _listener_admits(
    listener: Mapping[str, Any], gateway: Mapping[str, Any], route: Mapping[str, Any], objects: list
) -> str | None:
    """Why a listener's allowedRoutes refuses the route; None when it admits it."""
    allowed = listener.get("allowedRoutes") or {}
    kinds = allowed.get("kinds")
    if kinds:
        if not any(
            k.get("kind") == "HTTPRoute" and k.get("group", GATEWAY_GROUP) == GATEWAY_GROUP for k in kinds
        ):
            return f'listener "{listener.get("name")}" allows only kinds {[k.get("kind") for k in kinds]}'
    elif listener.get("protocol") not in ("HTTP", "HTTPS"):
        return f'listener "{listener.get("name")}" speaks {listener.get("protocol")}, not HTTP'
    frm = (allowed.get("namespaces") or {}).get("from") or "Same"
    route_ns, gw_ns = _ns(route), _ns(gateway)
    if frm == "Same" and route_ns != gw_ns:
        return f'listener "{listener.get("name")}" allows routes from namespace "{gw_ns}" only (from: Same)'
    if frm == "None":
        return f'listener "{listener.get("name")}" allows no routes (from: None)'
    if frm == "Selector":
        selector = (allowed.get("namespaces") or {}).get("selector")
        if not _selector_matches(selector, _namespace_labels(objects, route_ns)):
            return f'namespace "{route_ns}" does not match the selector of listener "{listener.get("name")}"'
    return None


def _unsupported_values(route: Mapping[str, Any]) -> list[str]:
    problems = []
    for i, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        for j, m in enumerate(rule.get("matches") or []):
            where = f"spec.rules[{i}].matches[{j}]"
            ptype = (m.get("path") or {}).get("type", "PathPrefix")
            if ptype not in _PATH_TYPES:
                problems.append(f'{where}.path.type: unsupported value "{ptype}"')
            if m.get("method") is not None and m["method"] not in _HTTP_METHODS:
                problems.append(f'{where}.method: unsupported value "{m["method"]}"')
            for part in ("headers", "queryParams"):
                for k, h in enumerate(m.get(part) or []):
                    if h.get("type", "Exact") not in _VALUE_TYPES:
                        problems.append(f'{where}.{part}[{k}].type: unsupported value "{h.get("type")}"')
    return problems


def _backend_problem(
    route: Mapping[str, Any], ref: Mapping[str, Any], objects: list
) -> tuple[str, str] | None:
    """(reason, message) for a backendRef the controller cannot resolve; None when it resolves."""
    group, kind = ref.get("group", "") or "", ref.get("kind", "Service")
    name = ref.get("name", "")
    if group != "" or kind != "Service":
        return "InvalidKind", f'backendRef kind "{kind}" in group "{group}" is not supported'
    ns = ref.get("namespace") or _ns(route)
    if ns != _ns(route) and not _reference_granted(_ns(route), ns, name, objects):
        return "RefNotPermitted", (
            f'backendRef to Service "{ns}/{name}" crosses namespaces; no ReferenceGrant in "{ns}" allows it'
        )
    svc = next((s for s in _of_kind(objects, "Service") if _key(s) == f"{ns}/{name}"), None)
    if svc is None:
        return "BackendNotFound", f'Service "{ns}/{name}" not found'
    port = ref.get("port")
    if port is None:
        return "BackendNotFound", f'backendRef to Service "{ns}/{name}" needs a port'
    if not any(p.get("port") == port for p in (svc.get("spec") or {}).get("ports") or []):
        return "BackendNotFound", f'Service "{ns}/{name}" has no port {port}'
    return None


def reference_granted(
    from_kind: str, from_ns: str, to_kind: str, to_ns: str, name: str, objects: Iterable[Mapping[str, Any]]
) -> bool:
    """Does a ReferenceGrant in ``to_ns`` let a ``from_kind`` (HTTPRoute, Gateway) in ``from_ns`` refer to
    the ``to_kind`` (Service, Secret) called ``name``?

    ReferenceGrant (gateway.networking.k8s.io) lives in the target's namespace; ``from`` entries are
    {group, kind, namespace}, ``to`` entries {group, kind, name?} (no name: every object of that kind).
    A reference within one namespace needs no grant.
    """
    if from_ns == to_ns:
        return True
    for grant in _of_kind(list(objects), "ReferenceGrant"):
        if _ns(grant) != to_ns:
            continue
        spec = grant.get("spec") or {}
        froms = any(
            f.get("group") == GATEWAY_GROUP and f.get("kind") == from_kind and f.get("namespace") == from_ns
            for f in spec.get("from") or []
        )
        tos = any(
            (t.get("group") or "") == "" and t.get("kind") == to_kind and t.get("name") in (None, "", name)
            for t in spec.get("to") or []
        )
        if froms and tos:
            return True
    return False


def _reference_granted(from_ns: str, to_ns: str, name: str, objects: list) -> bool:
    return reference_granted("HTTPRoute", from_ns, "Service", to_ns, name, objects)


def _controller_for(gateway: Mapping[str, Any], objects: list) -> tuple[bool, str | None]:
    """(is this Gateway served, by which controllerName). Without any GatewayClass in the scenario,
    one implied controller serves every Gateway."""
    classes = _of_kind(objects, "GatewayClass")
    wanted = (gateway.get("spec") or {}).get("gatewayClassName")
    if not classes:
        return True, None
    for c in classes:
        if _meta(c).get("name") == wanted:
            return True, (c.get("spec") or {}).get("controllerName")
    return False, None


def route_status(route: Mapping[str, Any], objects: Iterable[Mapping[str, Any]]) -> list[ParentStatus]:
    """The ``status.parents`` a Gateway controller writes on an HTTPRoute, one entry per parentRef.

    ``Accepted`` is False with the spec's reasons: ``NoMatchingParent`` (no listener has the
    parentRef's sectionName/port), ``NotAllowedByListeners`` (no such listener's allowedRoutes admits
    the route's kind or namespace), ``NoMatchingListenerHostname`` (no hostname in common) or
    ``UnsupportedValue``. ``ResolvedRefs`` is False with ``BackendNotFound``, ``RefNotPermitted`` or
    ``InvalidKind`` for the first backendRef that does not resolve. A parentRef to a Gateway that does
    not exist (or whose GatewayClass has no controller) gets no entry: no controller writes one.
    """
    objects = list(objects)
    out = []
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        gw = _parent_gateway(route, ref, objects)
        if gw is None:
            continue
        served, controller = _controller_for(gw, objects)
        if not served:
            continue
        listeners = (gw.get("spec") or {}).get("listeners") or []
        selected = [
            ls
            for ls in listeners
            if ref.get("sectionName") in (None, ls.get("name")) and ref.get("port") in (None, ls.get("port"))
        ]
        admitted = [ls for ls in selected if _listener_admits(ls, gw, route, objects) is None]
        hostnames = {
            ls.get("name"): hostname_intersection(
                ls.get("hostname"), (route.get("spec") or {}).get("hostnames") or []
            )
            for ls in admitted
        }
        accepting = [name for name, hosts in hostnames.items() if hosts]
        unsupported = _unsupported_values(route)
        if not selected:
            what = " and ".join(f"{k} {ref[k]!r}" for k in ("sectionName", "port") if ref.get(k) is not None)
            accepted = Condition(
                "Accepted", "False", "NoMatchingParent", f"no listener of {_key(gw)} has {what}"
            )
        elif not admitted:
            why = "; ".join(str(_listener_admits(ls, gw, route, objects)) for ls in selected)
            accepted = Condition("Accepted", "False", "NotAllowedByListeners", why)
        elif not accepting:
            accepted = Condition(
                "Accepted",
                "False",
                "NoMatchingListenerHostname",
                "no hostname of the route intersects "
                + ", ".join(
                    f'listener "{ls.get("name")}" ({ls.get("hostname") or "any host"})' for ls in admitted
                ),
            )
        elif unsupported:
            accepted = Condition("Accepted", "False", "UnsupportedValue", "; ".join(unsupported))
        else:
            accepted = Condition(
                "Accepted", "True", "Accepted", "accepted by listeners " + ", ".join(accepting)
            )
        resolved = Condition("ResolvedRefs", "True", "ResolvedRefs", "all backendRefs resolved")
        for rule in (route.get("spec") or {}).get("rules") or []:
            for b in rule.get("backendRefs") or []:
                problem = _backend_problem(route, b, objects)
                if problem and resolved.status == "True":
                    resolved = Condition("ResolvedRefs", "False", problem[0], problem[1])
        ok = accepted.status == "True"
        out.append(
            ParentStatus(
                dict(ref),
                _key(gw),
                controller,
                accepting if ok else [],
                {k: v for k, v in hostnames.items() if v} if ok else {},
                [accepted, resolved],
            )
        )
    return out


def attachments(objects: Iterable[Mapping[str, Any]]) -> list[Attachment]:
    """Every (listener, route) pair a Gateway accepted, with the hostnames the route serves there."""
    objects = list(objects)
    out = []
    for route in _of_kind(objects, "HTTPRoute"):
        for parent in route_status(route, objects):
            for listener in parent.listeners:
                out.append(Attachment(parent.gateway, listener, _key(route), parent.hostnames[listener]))
    return out


@dataclass
class ListenerStatus:
    """One ``status.listeners[]`` entry of a Gateway, as its controller writes it."""

    gateway: str  # NS/NAME
    name: str
    protocol: str
    port: int | None
    hostname: str | None
    attached_routes: int
    supported_kinds: list[dict[str, str]]
    conditions: list[Condition]
    certificate: str | None = None  # NS/NAME of the Secret that terminates TLS (HTTPS listeners)

    @property
    def programmed(self) -> bool:
        return any(c.type == "Programmed" and c.status == "True" for c in self.conditions)

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "attachedRoutes": self.attached_routes,
            "supportedKinds": self.supported_kinds,
            "conditions": [c.to_dict() for c in self.conditions],
        }


_TLS_SECRET_TYPE = "kubernetes.io/tls"


def _certificate_problem(
    gateway: Mapping[str, Any], listener: Mapping[str, Any], objects: list
) -> tuple[str | None, tuple[str, str] | None]:
    """(the Secret NS/NAME, (reason, message) when the listener's certificateRefs do not resolve).

    Gateway API (Listener.tls.certificateRefs): core support is one Secret of type
    ``kubernetes.io/tls``; a reference to another namespace needs a ReferenceGrant there for kind
    Gateway, else ``RefNotPermitted``; a missing, unsupported or malformed one is
    ``InvalidCertificateRef`` (used only when the reference is allowed). ``Passthrough`` ignores them.
    """
    tls = listener.get("tls") or {}
    if listener.get("protocol") != "HTTPS" or tls.get("mode", "Terminate") == "Passthrough":
        return None, None
    refs = tls.get("certificateRefs") or []
    if not refs:
        return None, ("InvalidCertificateRef", "tls.certificateRefs needs at least one element in mode Terminate")
    secret_key = None
    for ref in refs:
        group, kind, name = ref.get("group", "") or "", ref.get("kind", "Secret") or "Secret", ref.get("name", "")
        ns = ref.get("namespace") or _ns(gateway)
        where = f'certificateRef to {kind} "{ns}/{name}"'
        if ns != _ns(gateway) and not reference_granted("Gateway", _ns(gateway), kind, ns, name, objects):
            return None, ("RefNotPermitted", f'{where} crosses namespaces; no ReferenceGrant in "{ns}" allows it')
        if group != "" or kind != "Secret":
            return None, ("InvalidCertificateRef", f'{where}: group "{group}" kind "{kind}" is not supported '
                          "(core support: a Secret)")
        secret = next((o for o in _of_kind(objects, "Secret") if _key(o) == f"{ns}/{name}"), None)
        if secret is None:
            return None, ("InvalidCertificateRef", f'{where}: Secret "{ns}/{name}" not found')
        data = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
        if secret.get("type", "Opaque") != _TLS_SECRET_TYPE or \
                (("data" in secret or "stringData" in secret) and not (data.get("tls.crt") and data.get("tls.key"))):
            return None, ("InvalidCertificateRef", f'{where}: Secret "{ns}/{name}" is not a well-formed '
                          f"{_TLS_SECRET_TYPE} Secret (tls.crt and tls.key)")
        secret_key = secret_key or f"{ns}/{name}"
    return secret_key, None


def _supported_kinds(listener: Mapping[str, Any]) -> tuple[list[dict[str, str]], list[str]]:
    kinds = (listener.get("allowedRoutes") or {}).get("kinds")
    if not kinds:
        if listener.get("protocol") in ("HTTP", "HTTPS"):
            return [{"group": GATEWAY_GROUP, "kind": "HTTPRoute"}], []
        return [], []
    ok, bad = [], []
    for k in kinds:
        group = k.get("group", GATEWAY_GROUP)
        if k.get("kind") == "HTTPRoute" and group == GATEWAY_GROUP and listener.get("protocol") in ("HTTP", "HTTPS"):
            ok.append({"group": group, "kind": "HTTPRoute"})
        else:
            bad.append(str(k.get("kind")))
    return ok, bad


def listener_statuses(gateway: Mapping[str, Any], objects: Iterable[Mapping[str, Any]]) -> list[ListenerStatus]:
    """``status.listeners`` of a Gateway: ResolvedRefs, Accepted and Programmed, attached routes.

    ``ResolvedRefs`` is False with ``InvalidCertificateRef`` or ``RefNotPermitted`` for an HTTPS
    listener's certificateRefs (the conformance suite's GatewayInvalidTLSConfiguration and
    GatewaySecretMissingReferenceGrant), or ``InvalidRouteKinds``; such a listener is not
    programmed and has no attached routes.
    """
    objects = list(objects)
    served, _ = _controller_for(gateway, objects)
    routes = _of_kind(objects, "HTTPRoute")
    out = []
    for ls in (gateway.get("spec") or {}).get("listeners") or []:
        name = ls.get("name", "")
        secret, problem = _certificate_problem(gateway, ls, objects)
        kinds, bad = _supported_kinds(ls)
        if problem is None and bad:
            problem = ("InvalidRouteKinds", f"route kinds {bad} are not supported on a {ls.get('protocol')} listener")
        resolved = Condition("ResolvedRefs", "False", *problem) if problem else \
            Condition("ResolvedRefs", "True", "ResolvedRefs", "all references resolved")
        conditions = [Condition("Accepted", "True", "Accepted", "listener accepted"), resolved,
                      Condition("Programmed", "False", "Invalid", f"ResolvedRefs is False: {problem[1]}")
                      if problem else Condition("Programmed", "True", "Programmed", "listener programmed")]
        attached = 0
        if problem is None and served:
            attached = sum(1 for r in routes for p in route_status(r, objects)
                           if p.gateway == _key(gateway) and name in p.listeners)
        out.append(ListenerStatus(_key(gateway), name, str(ls.get("protocol", "")), ls.get("port"), ls.get("hostname"),
                                  attached, kinds, conditions, secret))
    return out


# --- request matching ---------------------------------------------------------------------------------


@dataclass
class BackendCandidate:
    """One backendRef a matched rule may send the request to, with its share of the traffic."""

    backend: dict[str, Any]  # {"service": "NS/NAME", "port": 80}
    weight: int
    probability: float
    problem: str | None = None  # why it cannot be reached: that share of requests gets a 500

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.backend,
            "weight": self.weight,
            "probability": self.probability,
            "valid": self.problem is None,
            "problem": self.problem,
        }


@dataclass
class MatchCheck:
    """One ``rules[].matches[]`` entry considered for a request: matched or not, and why."""

    route: str
    rule: int
    match: int
    hostname: str | None
    path: str
    path_type: str
    matched: bool
    chosen: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "rule": self.rule,
            "match": self.match,
            "hostname": self.hostname,
            "path": self.path,
            "path_type": self.path_type,
            "matched": self.matched,
            "chosen": self.chosen,
            "reason": self.reason,
        }


@dataclass
class GatewayRoute:
    """Where a Gateway sends a request, the candidates with their probabilities, and why.

    ``to_dict()``: ``{"backend", "candidates", "gateway", "listener", "route", "rule", "hostname",
    "path", "path_type", "status", "certificate", "tls_failure"}``. ``backend`` is the one backend
    when the rule has exactly one candidate, else null (``candidates`` carries the split); ``status``
    is null when the request is proxied, else what the Gateway answers itself (404 nothing matched,
    500 no valid backend, or a RequestRedirect code). ``certificate`` is the Secret an HTTPS listener
    terminates TLS with; ``tls_failure`` says why the handshake fails (no HTTP answer at all).
    """

    request_host: str
    request_path: str
    gateway: str | None = None
    listener: str | None = None
    route: str | None = None
    rule: int | None = None
    hostname: str | None = None
    path: str | None = None
    path_type: str | None = None
    candidates: list[BackendCandidate] = field(default_factory=list)
    status: int | None = 404
    reason: str = ""
    considered: list[MatchCheck] = field(default_factory=list)
    certificate: str | None = None  # NS/NAME of the Secret whose certificate the HTTPS listener presents
    tls_failure: str | None = None  # why the TLS handshake fails (an unprogrammed HTTPS listener)

    @property
    def backend(self) -> dict[str, Any] | None:
        return self.candidates[0].backend if len(self.candidates) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "candidates": [c.to_dict() for c in self.candidates],
            "gateway": self.gateway,
            "listener": self.listener,
            "route": self.route,
            "rule": self.rule,
            "hostname": self.hostname,
            "path": self.path,
            "path_type": self.path_type,
            "status": self.status,
            "certificate": self.certificate,
            "tls_failure": self.tls_failure,
        }

    def explain(self) -> list[str]:
        lines = [self.reason]
        for c in sorted(self.considered, key=lambda c: not c.chosen):
            mark = "->" if c.chosen else "  "
            lines.append(
                f"{mark} {c.route} rule {c.rule} match {c.match}: {c.path_type} {c.path}: {c.reason}"
            )
        return lines


def _path_ok(ptype: str, value: str, path: str) -> bool:
    if ptype == "Exact":
        return path == value
    if ptype == "PathPrefix":
        return prefix_matches(value, path)
    if ptype == "RegularExpression":
        # Implementation-specific dialect; Envoy-based gateways use RE2 and match the whole path.
        try:
            return re.fullmatch(value, path) is not None
        except re.error:
            return False
    return False


def _value_ok(match: Mapping[str, Any], actual: str | None) -> bool:
    if actual is None:
        return False
    if match.get("type", "Exact") == "RegularExpression":
        try:
            return re.fullmatch(match.get("value", ""), actual) is not None
        except re.error:
            return False
    return actual == match.get("value")


def _first_by_name(entries: list[Mapping[str, Any]], fold: bool) -> list[Mapping[str, Any]]:
    # The spec: of entries with equivalent names only the first counts (header names fold case).
    seen, out = set(), []
    for e in entries:
        n = (e.get("name") or "").lower() if fold else e.get("name")
        if n not in seen:
            seen.add(n)
            out.append(e)
    return out


def _check_match(
    m: Mapping[str, Any], path: str, method: str, headers: dict[str, str], query: dict[str, str]
) -> tuple[bool, str]:
    p = m.get("path") or {}
    ptype, value = p.get("type", "PathPrefix"), p.get("value", "/")
    if not _path_ok(ptype, value, path):
        if ptype == "PathPrefix" and path.startswith(value.rstrip("/")):
            return False, f"PathPrefix {value} matches whole path elements; {path} only shares characters"
        return False, f"{ptype} {value} does not match {path}"
    if m.get("method") and m["method"] != method:
        return False, f"method {m['method']} is not {method}"
    for h in _first_by_name(m.get("headers") or [], fold=True):
        if not _value_ok(h, headers.get((h.get("name") or "").lower())):
            return False, f"header {h.get('name')}: {h.get('value')} not present"
    for q in _first_by_name(m.get("queryParams") or [], fold=False):
        if not _value_ok(q, query.get(q.get("name") or "")):
            return False, f"query parameter {q.get('name')}={q.get('value')} not present"
    return True, f"{ptype} {value} matches {path}"


def _match_rank(m: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """Bigger is more specific: Exact, then RegularExpression (Envoy Gateway's choice; the spec leaves
    it open), then PathPrefix by characters; then method, header count, query parameter count."""
    p = m.get("path") or {}
    ptype, value = p.get("type", "PathPrefix"), p.get("value", "/")
    kind = {"Exact": 2, "RegularExpression": 1}.get(ptype, 0)
    length = len(value.rstrip("/")) if ptype == "PathPrefix" else len(value)
    headers = len(_first_by_name(m.get("headers") or [], fold=True))
    params = len(_first_by_name(m.get("queryParams") or [], fold=False))
    return kind, length, 1 if m.get("method") else 0, headers, params


def _select_listener(
    objects: list, gateway: str | None, host: str, protocol: str, port: int
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None, str]:
    """The listener a request lands on: right port and protocol, the most specific hostname.

    When no listener's hostname accepts the host, the Gateway that listens on that port still
    receives the connection (its proxy answers 404): returned with listener None. No Gateway on
    that port and protocol at all: (None, None, why).
    """
    best: tuple[tuple[int, int], Mapping[str, Any], Mapping[str, Any]] | None = None
    on_port: Mapping[str, Any] | None = None
    for gw in _of_kind(objects, "Gateway"):
        if gateway is not None and _key(gw) != gateway:
            continue
        if not _controller_for(gw, objects)[0]:
            continue
        for ls in (gw.get("spec") or {}).get("listeners") or []:
            if ls.get("protocol") != protocol or ls.get("port") != port:
                continue
            on_port = on_port or gw
            lh = ls.get("hostname")
            if not gateway_host_matches(lh, host):
                continue
            rank = _host_rank(lh.lower()) if lh else (-1, -1)
            if best is None or rank > best[0]:
                best = (rank, gw, ls)
    if best is None:
        why = f"no {protocol} listener on port {port} accepts host {host}"
        return on_port, None, why
    return best[1], best[2], ""


def route_http(
    objects: Iterable[Mapping[str, Any]],
    host: str,
    path: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    scheme: str = "http",
    port: int | None = None,
    gateway: str | None = None,
) -> GatewayRoute:
    """Where ``scheme://host:port/path`` goes through the Gateway(s), with every match weighed.

    The listener is the one on the request's port and protocol whose hostname matches most
    specifically (``gateway``, NS/NAME, restricts the search to one Gateway). Among the routes that
    listener accepted, precedence follows the HTTPRoute spec's match order: Exact path,
    RegularExpression (implementation-specific: Envoy Gateway's place), the longest PathPrefix;
    method; most headers; most query parameters. Ties then go to the route hostname with most
    characters of a matching non-wildcard hostname, then of a matching hostname (the spec lists this
    first, but its conformance suite, HTTPRouteMatchingAcrossRoutes, ranks the match above it); then
    the oldest route, then ``namespace/name`` alphabetically; then the first rule and match in list
    order. A request whose exact-hostname route has no matching path falls to a wildcard or
    hostname-less route that matches. Nothing matches, or no listener accepts the host: 404 from
    the Gateway listening on that port. An HTTPS listener whose certificateRefs do not resolve is
    not programmed: the TLS handshake fails (``tls_failure``).
    """
    objects = list(objects)
    req_host = split_host(host)
    query_string = path.partition("?")[2]
    query: dict[str, str] = {}
    for k, v in parse_qsl(query_string, keep_blank_values=True):
        query.setdefault(k, v)  # the spec recommends the first value of a repeated parameter
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    hdrs.setdefault("host", req_host)
    protocol = "HTTPS" if scheme == "https" else "HTTP"
    port = port or (443 if scheme == "https" else 80)

    result = GatewayRoute(req_host, path)
    gw, listener, why = _select_listener(objects, gateway, req_host, protocol, port)
    if gw is None:
        result.reason = why + ": 404"
        return result
    result.gateway = _key(gw)
    if listener is None:
        # HTTPRouteHostnameIntersection / HTTPRouteListenerHostnameMatching: the proxy listens on the
        # port, matches no listener hostname, and answers 404.
        result.reason = f"{why}: the proxy of Gateway {result.gateway} answers 404"
        return result
    result.listener = listener.get("name")
    failure = None
    if protocol == "HTTPS":
        status = next(ls for ls in listener_statuses(gw, objects) if ls.name == listener.get("name"))
        if status.programmed:
            result.certificate = status.certificate
        else:
            resolved = status.condition("ResolvedRefs")
            failure = (
                f"listener {result.listener} is not programmed (ResolvedRefs=False, "
                f"{resolved.reason if resolved else 'Invalid'}: {resolved.message if resolved else ''}): the "
                f"proxy has no certificate for {req_host}, so the TLS handshake fails before any HTTP request is sent"
            )
    _match(result, objects, gw, listener, req_host, path, method, hdrs, query)
    if failure is not None:
        # The routing below is what the configuration says; no request gets that far.
        result.tls_failure, result.status = failure, None
        result.reason = f"{failure} (had it been programmed: {result.reason})"
    return result


def _match(
    result: GatewayRoute,
    objects: list,
    gw: Mapping[str, Any],
    listener: Mapping[str, Any],
    req_host: str,
    path: str,
    method: str,
    hdrs: dict[str, str],
    query: dict[str, str],
) -> GatewayRoute:
    """The matching of :func:`route_http` once the listener is known."""
    path_only = path.partition("?")[0] or "/"

    ranked = []
    for route in _of_kind(objects, "HTTPRoute"):
        parents = [p for p in route_status(route, objects) if p.gateway == _key(gw)]
        served_on = [p.hostnames[listener["name"]] for p in parents if listener.get("name") in p.listeners]
        if not served_on:
            continue
        route_hosts = [h for hosts in served_on for h in hosts]
        matching_hosts = [h for h in route_hosts if gateway_host_matches(h, req_host)]
        rules = (route.get("spec") or {}).get("rules") or []
        for i, rule in enumerate(rules):
            for j, m in enumerate(rule.get("matches") or [{}]):
                p = m.get("path") or {}
                check = MatchCheck(
                    _key(route),
                    i,
                    j,
                    None,
                    p.get("value", "/"),
                    p.get("type", "PathPrefix"),
                    False,
                    False,
                    "",
                )
                result.considered.append(check)
                if not matching_hosts:
                    check.reason = f"route hostnames {route_hosts} do not match {req_host}"
                    continue
                best_host = max(matching_hosts, key=_host_rank)
                check.hostname = best_host
                check.matched, check.reason = _check_match(m, path_only, method, hdrs, query)
                if check.matched:
                    # The match's own precedence first, then the route hostname's: the conformance suite
                    # (HTTPRouteMatchingAcrossRoutes) sends example.com/v2 to a "*.com" route's PathPrefix /v2
                    # rather than to an "example.com" route's PathPrefix /.
                    negated = tuple(-x for x in _match_rank(m) + _host_rank(best_host))
                    ranked.append((negated + (_created(route), _key(route), i, j), check, route, rule))
    if not ranked:
        result.reason = f"no rule of a route attached to listener {listener.get('name')} matches: 404"
        return result
    ranked.sort(key=lambda r: r[0])
    _, check, route, rule = ranked[0]
    check.chosen = True
    for _, other, _, _ in ranked[1:]:
        other.reason += f"; but {check.route} rule {check.rule} takes precedence"
    result.route, result.rule, result.hostname = check.route, check.rule, check.hostname
    result.path, result.path_type = check.path, check.path_type
    result.reason = f"{check.route} rule {check.rule}: {check.reason}"
    redirect = next((f for f in rule.get("filters") or [] if f.get("type") == "RequestRedirect"), None)
    if redirect is not None:
        result.status = (redirect.get("requestRedirect") or {}).get("statusCode", 302)
        result.reason += f"; RequestRedirect filter answers {result.status}"
        return result
    refs = [b for b in rule.get("backendRefs") or [] if b.get("weight", 1) > 0]
    total = sum(b.get("weight", 1) for b in refs)
    for b in refs:
        ns = b.get("namespace") or _ns(route)
        problem = _backend_problem(route, b, objects)
        result.candidates.append(
            BackendCandidate(
                {"service": f"{ns}/{b.get('name', '')}", "port": b.get("port")},
                b.get("weight", 1),
                b.get("weight", 1) / total,
                problem[1] if problem else None,
            )
        )
    valid = [c for c in result.candidates if c.problem is None]
    if not valid:
        result.status = 500
        result.reason += "; no valid backendRef: the Gateway answers 500"
    else:
        result.status = None
        if len(valid) < len(result.candidates):
            share = sum(c.probability for c in result.candidates if c.problem)
            result.reason += f"; {share:.0%} of requests get 500 (invalid backendRefs)"
    return result


# --- migration from Ingress ---------------------------------------------------------------------------


def _resolve_port(ingress: Mapping[str, Any], svc_ref: Mapping[str, Any], services: list) -> int:
    port = svc_ref.get("port") or {}
    if port.get("number"):
        return int(port["number"])
    name = port.get("name")
    key = f"{_ns(ingress)}/{svc_ref.get('name')}"
    for svc in services:
        if _key(svc) == key:
            for p in (svc.get("spec") or {}).get("ports") or []:
                if p.get("name") == name:
                    return int(p["port"])
    raise UsageError(
        f'cannot convert Ingress "{_key(ingress)}": backend Service "{key}" port "{name}" is a name, and an '
        "HTTPRoute backendRef needs the port number: pass the Service that defines it"
    )


def ingress_to_httproutes(
    ingress: Mapping[str, Any],
    *,
    gateway: str = "default/nginx",
    services: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """HTTPRoutes that route an Ingress's URLs as the Ingress does (in the spirit of ingress2gateway).

    One HTTPRoute per host (an HTTPRoute's hostnames apply to all its rules), attached to ``gateway``
    (NS/NAME). Prefix becomes PathPrefix and Exact stays Exact; ImplementationSpecific becomes
    PathPrefix, which matches whole path elements where ingress-nginx matched characters. The
    ``defaultBackend`` becomes a last, match-everything rule on each host, and a hostname-less route
    when the Ingress has no rules or a rule without host. Named Service ports are resolved through
    ``services``. One difference remains by design of the two APIs: for a host with its own rules,
    ingress-nginx never falls back to rules without a host, while HTTPRoute precedence does.
    """
    services = list(services)
    gw_ns, _, gw_name = gateway.rpartition("/")
    ns, name = _ns(ingress), _meta(ingress).get("name", "")
    spec = ingress.get("spec") or {}
    default = (spec.get("defaultBackend") or {}).get("service")

    def ref(svc: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": svc.get("name"), "port": _resolve_port(ingress, svc, services)}

    by_host: dict[str, list[dict[str, Any]]] = {}
    for rule in spec.get("rules") or []:
        host = rule.get("host") or ""
        rules = by_host.setdefault(host, [])
        for p in (rule.get("http") or {}).get("paths") or []:
            svc = (p.get("backend") or {}).get("service")
            if not svc:
                continue  # resource backends have no HTTPRoute equivalent here
            ptype = "Exact" if p.get("pathType") == "Exact" else "PathPrefix"
            rules.append(
                {
                    "matches": [{"path": {"type": ptype, "value": p.get("path") or "/"}}],
                    "backendRefs": [ref(svc)],
                }
            )
    if default and not by_host:
        by_host[""] = []  # an Ingress with only a defaultBackend takes every host
    routes = []
    for host, rules in by_host.items():
        if default:
            rules = rules + [
                {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [ref(default)]}
            ]
        suffix = host.replace("*", "wildcard").replace(".", "-") if host else "all-hosts"
        route: dict[str, Any] = {
            "apiVersion": f"{GATEWAY_GROUP}/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": f"{name}-{suffix}", "namespace": ns},
            "spec": {"parentRefs": [{"name": gw_name, "namespace": gw_ns or "default"}], "rules": rules},
        }
        if host:
            route["spec"]["hostnames"] = [host]
        routes.append(route)
    return routes


def ingress_to_gateway_api(
    ingresses: Iterable[Mapping[str, Any]],
    *,
    gateway: str = "default/nginx",
    gateway_class: str = "nginx",
    services: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """A Gateway that stands in for the ingress controller, plus the HTTPRoutes of every Ingress.

    The Gateway has an HTTP listener on 80 admitting routes from all namespaces (an ingress
    controller serves every namespace) and, per TLS host, an HTTPS listener on 443 terminating with
    that Secret (a Secret in another namespace than the Gateway needs a ReferenceGrant).
    """
    ingresses, services = list(ingresses), list(services)
    gw_ns, _, gw_name = gateway.rpartition("/")
    gw_ns = gw_ns or "default"
    listeners: list[dict[str, Any]] = [
        {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}
    ]
    for ing in ingresses:
        for tls in (ing.get("spec") or {}).get("tls") or []:
            for host in tls.get("hosts") or []:
                listeners.append(
                    {
                        "name": "https-" + host.replace("*", "wildcard").replace(".", "-"),
                        "hostname": host,
                        "port": 443,
                        "protocol": "HTTPS",
                        "tls": {"certificateRefs": [{"name": tls.get("secretName"), "namespace": _ns(ing)}]},
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    }
                )
    gw = {
        "apiVersion": f"{GATEWAY_GROUP}/v1",
        "kind": "Gateway",
        "metadata": {"name": gw_name, "namespace": gw_ns},
        "spec": {"gatewayClassName": gateway_class, "listeners": listeners},
    }
    routes = [
        r
        for ing in ingresses
        for r in ingress_to_httproutes(ing, gateway=f"{gw_ns}/{gw_name}", services=services)
    ]
    return [gw, *routes]
