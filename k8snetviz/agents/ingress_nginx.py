"""Ingress (``networking.k8s.io/v1``) and IngressClass: validation, and which backend a URL reaches.

Validation follows the API server (``pkg/apis/networking/validation``) word for word, so a learner
sees the message ``kubectl apply`` would print:

>>> bad = {"kind": "Ingress", "metadata": {"name": "web"}, "spec": {"rules": [{"http": {"paths": [
...     {"path": "foo", "pathType": "Prefix",
...      "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
>>> print(validate_ingress(bad)[0])
spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path

Routing follows ingress-nginx, the controller the course runs (see :func:`route_ingress` for the
choices where the Ingress API leaves the behaviour to the controller):

>>> ing = {"kind": "Ingress", "metadata": {"name": "web", "namespace": "default"}, "spec": {"rules": [
...     {"host": "foo.bar.com", "http": {"paths": [
...         {"path": "/api", "pathType": "Prefix",
...          "backend": {"service": {"name": "api", "port": {"number": 8080}}}}]}}]}}
>>> route_ingress([ing], "foo.bar.com", "/api/v1").to_dict()["backend"]
{'service': 'default/api', 'port': 8080}
>>> route_ingress([ing], "foo.bar.com", "/apiv1").status
404
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from k8snetviz.api.validation import (
    PORT_NUM_ERROR,
    dns1035_label_errors,
    dns1123_subdomain_errors,
    port_name_errors,
    wildcard_dns1123_subdomain_errors,
)
from k8snetviz.errors import FieldError, GoLiteral, InvalidObject

__all__ = [
    "PATH_TYPES",
    "IS_DEFAULT_CLASS_ANNOTATION",
    "INGRESS_CLASS_ANNOTATION",
    "validate_ingress",
    "check_ingress",
    "validate_ingress_class",
    "check_ingress_class",
    "backend_errors",
    "default_ingress_class",
    "ingress_class_of",
    "host_matches",
    "path_matches",
    "prefix_matches",
    "split_host",
    "PathCheck",
    "TLSTermination",
    "IngressRoute",
    "route_ingress",
    "REWRITE_TARGET_ANNOTATION",
    "USE_REGEX_ANNOTATION",
    "SSL_REDIRECT_ANNOTATION",
    "FORCE_SSL_REDIRECT_ANNOTATION",
    "rewrite",
]

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")  # the API server lists them sorted
IS_DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"  # deprecated, still honoured
# ingress-nginx's annotations (docs/user-guide/nginx-configuration/annotations.md)
REWRITE_TARGET_ANNOTATION = "nginx.ingress.kubernetes.io/rewrite-target"
USE_REGEX_ANNOTATION = "nginx.ingress.kubernetes.io/use-regex"
SSL_REDIRECT_ANNOTATION = "nginx.ingress.kubernetes.io/ssl-redirect"
FORCE_SSL_REDIRECT_ANNOTATION = "nginx.ingress.kubernetes.io/force-ssl-redirect"

_INVALID_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_SUFFIXES = ("/..", "/.")


def _path_segment_name(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


def _is_ip(value: str) -> bool:
    """True for what Go's ParseIPSloppy accepts: IPv6, and IPv4 even with leading zeros (``010.1.1.1``)."""
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value):
        return all(int(part) <= 255 for part in value.split("."))
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _invalid(fld: str, value: Any, messages: list[str]) -> list[FieldError]:
    return [FieldError.invalid(fld, value, m) for m in messages]


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _key(obj: dict[str, Any]) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def _validate_name(obj: dict[str, Any]) -> list[FieldError]:
    meta = _meta(obj)
    name = meta.get("name") or ""
    if not name:
        if meta.get("generateName"):
            return []
        return [FieldError.required("metadata.name", "name or generateName is required")]
    return [FieldError.invalid("metadata.name", name, m) for m in dns1123_subdomain_errors(name)]


# --- validation -------------------------------------------------------------------------------------


def _validate_backend(backend: dict[str, Any] | None, fld: str) -> list[FieldError]:
    backend = backend or {}
    resource, service = backend.get("resource"), backend.get("service")
    if resource is not None and service is not None:
        return [FieldError.invalid(fld, "", "cannot set both resource and service backends")]
    errs: list[FieldError] = []
    if resource is not None:
        if resource.get("apiGroup") is not None:
            errs += [
                FieldError.invalid(f"{fld}.resource.apiGroup", resource["apiGroup"], m)
                for m in dns1123_subdomain_errors(resource["apiGroup"])
            ]
        for part in ("kind", "name"):
            value = resource.get(part) or ""
            if not value:
                errs.append(FieldError.required(f"{fld}.resource.{part}"))
            errs += _invalid(f"{fld}.resource.{part}", value, _path_segment_name(value))
        return errs
    if service is None:
        return [FieldError.invalid(fld, "", "resource or service backend is required")]
    name = service.get("name") or ""
    if not name:
        errs.append(FieldError.required(f"{fld}.service.name"))
    else:
        # Service names are DNS-1035 labels (no leading digit) unless the
        # RelaxedServiceNameValidation feature gate is on; it is off by default.
        errs += [FieldError.invalid(f"{fld}.service.name", name, m) for m in dns1035_label_errors(name)]
    port = service.get("port") or {}
    port_name, port_number = port.get("name") or "", port.get("number") or 0
    if port_name and port_number:
        errs.append(FieldError.invalid(fld, "", "cannot set both port name & port number"))
    elif port_name:
        errs += [FieldError.invalid(f"{fld}.service.port.name", port_name, m) for m in port_name_errors(port_name)]
    elif port_number:
        if not isinstance(port_number, int) or not 1 <= port_number <= 65535:
            errs.append(FieldError.invalid(f"{fld}.service.port.number", port_number, PORT_NUM_ERROR))
    else:
        errs.append(FieldError.required(fld, "port name or number is required"))
    return errs


def _validate_path(p: dict[str, Any], fld: str) -> list[FieldError]:
    path_type = p.get("pathType")
    if path_type is None:
        # The API server stops at a missing pathType: nothing else about this path is checked.
        return [FieldError.required(f"{fld}.pathType", "pathType must be specified")]
    path = p.get("path") or ""
    errs: list[FieldError] = []
    if path_type in ("Exact", "Prefix"):
        if not path.startswith("/"):
            errs.append(FieldError.invalid(f"{fld}.path", path, "must be an absolute path"))
        for seq in _INVALID_SEQUENCES if path else ():
            if seq in path:
                errs.append(FieldError.invalid(f"{fld}.path", path, f"must not contain '{seq}'"))
        for suffix in _INVALID_SUFFIXES if path else ():
            if path.endswith(suffix):
                errs.append(FieldError.invalid(f"{fld}.path", path, f"cannot end with '{suffix}'"))
    elif path_type == "ImplementationSpecific":
        if path and not path.startswith("/"):
            errs.append(FieldError.invalid(f"{fld}.path", path, "must be an absolute path"))
    else:
        errs.append(FieldError.not_supported(f"{fld}.pathType", path_type, PATH_TYPES))
    return errs + _validate_backend(p.get("backend"), f"{fld}.backend")


def validate_ingress(obj: dict[str, Any]) -> list[FieldError]:
    """The field errors the API server reports when this Ingress is created (empty when valid)."""
    errs = _validate_name(obj)
    spec = obj.get("spec") or {}
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        # The API server prints the Go value of the empty list here, not JSON.
        shown = GoLiteral(
            "[]networking.IngressRule(nil)" if spec.get("rules") is None else "[]networking.IngressRule{}"
        )
        errs.append(FieldError.invalid("spec", shown, "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        errs += _validate_backend(spec["defaultBackend"], "spec.defaultBackend")
    for i, rule in enumerate(rules):
        fld = f"spec.rules[{i}]"
        host = rule.get("host") or ""
        if host:
            if _is_ip(host):
                errs.append(FieldError.invalid(f"{fld}.host", host, "must be a DNS name, not an IP address"))
            check = wildcard_dns1123_subdomain_errors if "*" in host else dns1123_subdomain_errors
            errs += [FieldError.invalid(f"{fld}.host", host, m) for m in check(host)]
        http = rule.get("http")
        if http is not None:
            paths = http.get("paths") or []
            if not paths:
                errs.append(FieldError.required(f"{fld}.http.paths"))
            for j, p in enumerate(paths):
                errs += _validate_path(p, f"{fld}.http.paths[{j}]")
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate(tls.get("hosts") or []):
            check = wildcard_dns1123_subdomain_errors if "*" in host else dns1123_subdomain_errors
            errs += [FieldError.invalid(f"spec.tls[{i}].hosts[{j}]", host, m) for m in check(host)]
        secret = tls.get("secretName") or ""
        if secret:
            errs += _invalid(f"spec.tls[{i}].secretName", secret, dns1123_subdomain_errors(secret))
    class_name = spec.get("ingressClassName")
    if class_name is not None:
        errs += _invalid("spec.ingressClassName", class_name, dns1123_subdomain_errors(class_name))
    annotation = (_meta(obj).get("annotations") or {}).get(INGRESS_CLASS_ANNOTATION)
    if annotation is not None and class_name is not None and annotation != class_name:
        errs.append(
            FieldError.invalid(
                f"annotations.{INGRESS_CLASS_ANNOTATION}",
                annotation,
                "must match `ingressClassName` when both are specified",
            )
        )
    return errs


def check_ingress(obj: dict[str, Any]) -> None:
    """Raise :class:`InvalidObject` (``The Ingress "web" is invalid: ...``) if the API server refuses it."""
    errs = validate_ingress(obj)
    if errs:
        raise InvalidObject("Ingress", _meta(obj).get("name", ""), errs)


def validate_ingress_class(obj: dict[str, Any]) -> list[FieldError]:
    """The field errors for an IngressClass: a name, and ``spec.controller`` as a domain-prefixed path."""
    errs = _validate_name(obj)
    controller = (obj.get("spec") or {}).get("controller") or ""
    fld = "spec.controller"
    if not controller:
        errs.append(FieldError.required(fld))
    elif len(controller) > 250:
        errs.append(FieldError(fld, "Too long", None, "may not be more than 250 bytes", show_value=False))
    else:
        domain, _, rest = controller.partition("/")
        if not domain or not rest:
            msg = 'must be a domain-prefixed path (such as "acme.io/foo")'
            errs.append(FieldError.invalid(fld, controller, msg))
        else:
            errs += [FieldError.invalid(fld, domain, m) for m in dns1123_subdomain_errors(domain)]
    return errs


def check_ingress_class(obj: dict[str, Any]) -> None:
    """Raise :class:`InvalidObject` if the API server would refuse this IngressClass."""
    errs = validate_ingress_class(obj)
    if errs:
        raise InvalidObject("IngressClass", _meta(obj).get("name", ""), errs)


def _service_port(service: dict[str, Any], port: int | str) -> dict[str, Any] | None:
    for p in (service.get("spec") or {}).get("ports") or []:
        if p.get("name" if isinstance(port, str) else "port") == port:
            return p
    return None


def _services_by_key(services: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {_key(s): s for s in services}


def _backend_problem(ns: str, backend: dict[str, Any], services: dict[str, dict[str, Any]]) -> str | None:
    """Why ingress-nginx cannot reach a service backend, worded as its log says it; None when it can."""
    svc_ref = backend.get("service") or {}
    key = f"{ns}/{svc_ref.get('name', '')}"
    port = _backend_port(svc_ref)
    svc = services.get(key)
    if svc is None:
        return f'service "{key}" does not exist'
    if port is not None and _service_port(svc, port) is None:
        if isinstance(port, str):
            return f'service "{svc_ref.get("name")}" does not have a port named "{port}"'
        return f'service "{key}" does not have a port {port}'
    return None


def backend_errors(obj: dict[str, Any], services: Iterable[dict[str, Any]]) -> list[FieldError]:
    """Service backends that name a Service or port that does not exist.

    The API server accepts such an Ingress (it does not look at Services); the controller then has
    no endpoints for that backend and ingress-nginx answers 503. These errors name the field so a
    checker can say where the mistake is.
    """
    ns = _meta(obj).get("namespace") or "default"
    by_key = _services_by_key(services)
    spec = obj.get("spec") or {}
    backends: list[tuple[str, dict[str, Any]]] = []
    if spec.get("defaultBackend"):
        backends.append(("spec.defaultBackend", spec["defaultBackend"]))
    for i, rule in enumerate(spec.get("rules") or []):
        for j, p in enumerate((rule.get("http") or {}).get("paths") or []):
            backends.append((f"spec.rules[{i}].http.paths[{j}].backend", p.get("backend") or {}))
    errs = []
    for fld, backend in backends:
        svc_ref = backend.get("service")
        if not svc_ref:
            continue
        key = f"{ns}/{svc_ref.get('name', '')}"
        if key not in by_key:
            errs.append(FieldError.not_found(f"{fld}.service.name", svc_ref.get("name", "")))
            continue
        port = _backend_port(svc_ref)
        if port is not None and _service_port(by_key[key], port) is None:
            sub = "name" if isinstance(port, str) else "number"
            errs.append(FieldError.not_found(f"{fld}.service.port.{sub}", port))
    return errs


# --- IngressClass -----------------------------------------------------------------------------------


def _created(obj: dict[str, Any]) -> str:
    # RFC 3339 timestamps in one format sort as text; a missing one counts as "the same instant".
    return str(_meta(obj).get("creationTimestamp") or "")


def default_ingress_class(classes: Iterable[dict[str, Any]]) -> str | None:
    """The IngressClass the DefaultIngressClass admission plugin gives an Ingress created without one.

    Classes annotated ``ingressclass.kubernetes.io/is-default-class: "true"`` are candidates. Since
    Kubernetes 1.28 the plugin picks the newest when several are marked (ties: the name first in
    alphabetical order) instead of refusing the Ingress as older releases did.
    """
    marked = [
        c for c in classes if (_meta(c).get("annotations") or {}).get(IS_DEFAULT_CLASS_ANNOTATION) == "true"
    ]
    if not marked:
        return None
    marked.sort(key=lambda c: _meta(c).get("name", ""))
    marked.sort(key=_created, reverse=True)  # stable: newest first, then alphabetical
    return _meta(marked[0]).get("name")


def ingress_class_of(obj: dict[str, Any], classes: Iterable[dict[str, Any]] = ()) -> str | None:
    """The class an Ingress belongs to: ``spec.ingressClassName``, else the deprecated
    ``kubernetes.io/ingress.class`` annotation, else the default class (admission fills it in at
    creation), else None.
    """
    spec = obj.get("spec") or {}
    if spec.get("ingressClassName"):
        return spec["ingressClassName"]
    annotation = (_meta(obj).get("annotations") or {}).get(INGRESS_CLASS_ANNOTATION)
    if annotation:
        return annotation
    return default_ingress_class(classes)


# --- matching ---------------------------------------------------------------------------------------


def split_host(host: str) -> str:
    """The host part of a Host header, lower-cased, without a port (``Foo.COM:8080`` -> ``foo.com``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.index("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def host_matches(rule_host: str | None, host: str) -> bool:
    """Ingress host matching: exact, or a ``*.`` wildcard that covers exactly one DNS label.

    >>> [host_matches("*.foo.com", h) for h in ("bar.foo.com", "baz.bar.foo.com", "foo.com")]
    [True, False, False]
    >>> host_matches(None, "anything.example")
    True
    """
    if not rule_host:
        return True
    host = split_host(host)
    rule_host = rule_host.lower()
    if rule_host.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first) and bool(dot) and rest == rule_host[2:]
    return host == rule_host


def prefix_matches(prefix: str, request_path: str) -> bool:
    """Element-wise prefix match on ``/`` (Ingress ``Prefix``, Gateway API ``PathPrefix``).

    A trailing ``/`` in the prefix is ignored; the last element must match whole.

    >>> [prefix_matches("/aaa/bbb", p) for p in ("/aaa/bbb", "/aaa/bbb/", "/aaa/bbb/ccc", "/aaa/bbbxyz")]
    [True, True, True, False]
    """
    prefix = prefix.rstrip("/")
    if not prefix:
        return True
    return request_path == prefix or request_path.startswith(prefix + "/")


def path_matches(path_type: str, path: str | None, request_path: str) -> bool:
    """Does ``request_path`` match an Ingress path of this type?

    ``ImplementationSpecific`` follows ingress-nginx: the path becomes a plain nginx ``location``,
    which matches by *characters* (``/foo`` matches ``/foobar``), and an empty path means ``/``.

    >>> path_matches("Exact", "/foo", "/foo/"), path_matches("ImplementationSpecific", "/foo", "/foobar")
    (False, True)
    """
    request_path = request_path.split("?", 1)[0] or "/"
    if path_type == "Exact":
        return request_path == path
    if path_type == "Prefix":
        return prefix_matches(path or "", request_path)
    if path_type == "ImplementationSpecific":
        return request_path.startswith(path or "/")
    return False


# --- the result -------------------------------------------------------------------------------------


@dataclass
class PathCheck:
    """One Ingress path (or default backend) the controller looked at, and what it decided about it."""

    ingress: str
    rule: int | None
    host: str  # the rule's host as written; "*" for a rule without one
    path: str | None
    path_type: str | None
    backend: dict[str, Any] | None
    host_matched: bool
    matched: bool
    chosen: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "ingress": self.ingress,
            "rule": self.rule,
            "host": self.host,
            "path": self.path,
            "path_type": self.path_type,
            "backend": self.backend,
            "host_matched": self.host_matched,
            "matched": self.matched,
            "chosen": self.chosen,
            "reason": self.reason,
        }


@dataclass
class TLSTermination:
    """Where TLS for a host ends: the controller pod, with this Secret's certificate."""

    host: str
    secret: str | None  # NS/NAME; None means the controller's default (self-signed "fake") certificate
    ingress: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "secret": self.secret, "ingress": self.ingress}


@dataclass
class IngressRoute:
    """Which backend a request reaches through the Ingress controller, and why.

    ``to_dict()`` is the public ``ingress --json`` shape; ``considered`` is the provenance: every
    rule and path looked at, matched or not and why, in the order the controller weighs them.
    """

    request_host: str
    request_path: str
    scheme: str
    backend: dict[str, Any] | None
    ingress: str | None
    host: str | None
    path: str | None
    path_type: str | None
    default_backend: bool
    status: int | None  # None: proxied to the backend, which answers; else the controller's own answer
    reason: str
    ingress_class: str | None = None
    tls: TLSTermination | None = None
    considered: list[PathCheck] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # Ingress -> why this controller ignores it
    regex: bool = False  # the host's paths are case-insensitive regular expressions (use-regex, rewrite-target)
    rewrite_target: str | None = None  # the chosen location's rewrite-target annotation
    upstream_path: str | None = None  # the request line's path (and query) the backend receives

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "ingress": self.ingress,
            "host": self.host,
            "path": self.path,
            "path_type": self.path_type,
            "default_backend": self.default_backend,
        }

    def explain(self) -> list[str]:
        """One line per path considered (chosen first), then the Ingresses this controller ignores."""
        lines = []
        for c in sorted(self.considered, key=lambda c: not c.chosen):
            mark = "->" if c.chosen else "  "
            what = f"{c.host} {c.path} ({c.path_type})" if c.path is not None else f"{c.host} default backend"
            lines.append(f"{mark} {c.ingress}: {what}: {c.reason}")
        lines += [f"   {ing}: ignored: {why}" for ing, why in self.skipped.items()]
        return lines


# --- routing ----------------------------------------------------------------------------------------

_TYPE_RANK = {"Exact": 2, "Prefix": 1, "ImplementationSpecific": 0}
_CATCH_ALL = "*"


def _backend_port(service_ref: dict[str, Any]) -> int | str | None:
    port = service_ref.get("port") or {}
    return port.get("number") or port.get("name") or None


def _backend_dict(ns: str, backend: dict[str, Any]) -> dict[str, Any]:
    if backend.get("service"):
        svc = backend["service"]
        return {"service": f"{ns}/{svc.get('name', '')}", "port": _backend_port(svc)}
    res = backend.get("resource") or {}
    return {"resource": f"{res.get('kind', '')}/{res.get('name', '')}"}


@dataclass
class _Location:
    ingress: dict[str, Any]
    rule: int
    host: str
    path: str
    path_type: str
    backend: dict[str, Any]


def _served(
    ingresses: Sequence[dict[str, Any]], classes: Sequence[dict[str, Any]], ingress_class: str | None
) -> tuple[str | None, list[dict[str, Any]], dict[str, str]]:
    """The Ingresses one controller serves, oldest first as ingress-nginx sorts them."""
    skipped: dict[str, str] = {}
    if ingress_class is None and classes:
        ingress_class = default_ingress_class(classes)
        if ingress_class is None and len(classes) == 1:
            ingress_class = _meta(classes[0]).get("name")
    served = []
    for ing in ingresses:
        cls = ingress_class_of(ing, classes)
        if ingress_class is None and not classes:
            served.append(ing)  # a scenario without IngressClasses: one controller takes every Ingress
        elif cls == ingress_class:
            served.append(ing)
        elif cls is None:
            skipped[_key(ing)] = (
                "no ingressClassName, no kubernetes.io/ingress.class annotation and no default IngressClass "
                "(ingress-nginx ignores such Ingresses unless started with --watch-ingress-without-class)"
            )
        else:
            skipped[_key(ing)] = f'class "{cls}" is not this controller\'s class "{ingress_class}"'
    # ingress-nginx: oldest first; equal timestamps order by namespace/name, the later name first.
    served.sort(key=_key, reverse=True)
    served.sort(key=_created)
    return ingress_class, served, skipped


def _servers(served: list[dict[str, Any]]) -> tuple[dict[str, list[_Location]], dict[str, dict[str, Any]]]:
    """Merge all served Ingresses into nginx server blocks, one per host (``*`` is the catch-all).

    The first (oldest) Ingress to define a host, path and pathType keeps it; a later duplicate is
    shadowed. A host's fallback is the ``defaultBackend`` of the Ingress that created its server; the
    catch-all's is that of the oldest Ingress with a defaultBackend and no rules or a rule without host.
    """
    locations: dict[str, list[_Location]] = {_CATCH_ALL: []}
    fallback: dict[str, dict[str, Any]] = {}
    for ing in served:
        spec = ing.get("spec") or {}
        # Only a Service defaultBackend is used; a resource one is ignored.
        has_default = bool((spec.get("defaultBackend") or {}).get("service"))
        rules = spec.get("rules") or []
        if (
            has_default
            and _CATCH_ALL not in fallback
            and (not rules or any(not r.get("host") for r in rules))
        ):
            fallback[_CATCH_ALL] = ing
        for i, rule in enumerate(spec.get("rules") or []):
            host = (rule.get("host") or "").lower() or _CATCH_ALL
            if host not in locations:
                locations[host] = []
                if has_default:
                    fallback[host] = ing
            for p in (rule.get("http") or {}).get("paths") or []:
                # ingress-nginx treats an empty path as "/".
                loc = _Location(
                    ing, i, host, p.get("path") or "/", p.get("pathType") or "", p.get("backend") or {}
                )
                locations[host].append(loc)
    return locations, fallback


def _server_for(host: str, servers: dict[str, list[_Location]]) -> str:
    """nginx server selection: the exact name, else the one-label wildcard, else the catch-all."""
    if host in servers:
        return host
    for name in servers:
        if name.startswith("*.") and host_matches(name, host):
            return name
    return _CATCH_ALL


def _tls_for(host: str, server: str, served: list[dict[str, Any]]) -> TLSTermination | None:
    """The certificate ingress-nginx puts on a server: from the oldest Ingress with a rule for that host
    whose ``tls`` section names it (or, for a wildcard TLS host, would verify it)."""
    for ing in served:
        spec = ing.get("spec") or {}
        hosts = {(r.get("host") or "").lower() or _CATCH_ALL for r in spec.get("rules") or []}
        if server not in hosts:
            continue
        for tls in spec.get("tls") or []:
            tls_hosts = [h.lower() for h in tls.get("hosts") or []]
            if server in tls_hosts or any(h.startswith("*.") and host_matches(h, host) for h in tls_hosts):
                secret = tls.get("secretName")
                ns = _meta(ing).get("namespace") or "default"
                return TLSTermination(host, f"{ns}/{secret}" if secret else None, _key(ing))
    return None


def _annotations(ing: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (_meta(ing).get("annotations") or {}).items()}


def _regex_location(path: str) -> re.Pattern[str] | None:
    """nginx's ``location ~* "^PATH"``: a case-insensitive regular expression anchored at the start."""
    try:
        return re.compile("^" + path, re.IGNORECASE)
    except re.error:
        return None


def rewrite(path: str, target: str, request: str) -> str:
    """The URI nginx sends upstream: ``rewrite "(?i)PATH" TARGET break;`` as ingress-nginx writes it.

    The location's path is searched in the request's URI (without the query); on a match the whole
    URI becomes ``target`` with ``$1``..``$9`` replaced by the capture groups (an unmatched group
    is empty), and the original query string is appended (after ``&`` when the target has its own).
    The examples are ingress-nginx's docs/examples/rewrite/README.md:

    >>> [rewrite("/something(/|$)(.*)", "/$2", p) for p in ("/something", "/something/", "/something/new")]
    ['/', '/', '/new']
    >>> rewrite("/api", "/", "/api/users?id=1")
    '/?id=1'
    """
    uri, q, args = request.partition("?")
    try:
        m = re.search(path, uri, re.IGNORECASE)
    except re.error:
        m = None
    if m is None:
        return request
    groups = m.groups()
    out = re.sub(r"\$(\d)", lambda g: (groups[int(g.group(1)) - 1] or "") if 0 < int(g.group(1)) <= len(groups)
                 else "", target)
    if out.endswith("?"):
        return out[:-1]  # a trailing "?" drops the original arguments
    if q and args:
        return f"{out}&{args}" if "?" in out else f"{out}?{args}"
    return out


def route_ingress(
    ingresses: Iterable[dict[str, Any]],
    host: str,
    path: str,
    *,
    scheme: str = "http",
    classes: Iterable[dict[str, Any]] = (),
    ingress_class: str | None = None,
    services: Iterable[dict[str, Any]] | None = None,
) -> IngressRoute:
    """Where ingress-nginx sends ``scheme://host/path``, with the reasoning for every path it weighed.

    The Ingress API leaves some behaviour to the controller; this follows ingress-nginx:

    - **Class**: the controller serves one IngressClass (``ingress_class``, else the default class,
      else the only class). Without any IngressClass in the scenario it serves every Ingress.
    - **Merging**: all Ingresses of the class merge into one nginx ``server`` per host. For the same
      host, path and pathType the oldest Ingress wins (ties: namespace/name, later name first).
    - **Host**: the exact host's server, else the ``*.`` wildcard covering exactly one label, else the
      catch-all server holding the rules without a host. Once a server is chosen, the others (and
      their rules) are not consulted, even when no path in it matches.
    - **Path**: the longest matching path wins; on equal length Exact beats Prefix beats
      ImplementationSpecific. Prefix matches element-wise on ``/``; ImplementationSpecific is a
      plain nginx prefix location, matching by characters (``/foo`` matches ``/foobar``).
    - **Nothing matched**: the server's fallback is the ``spec.defaultBackend`` of the Ingress that
      created it; for the catch-all, of the oldest Ingress with a defaultBackend and either no rules or
      a rule without a host. Without one, the controller's own default backend answers 404. (The API
      says a defaultBackend takes "requests that don't match any rule"; ingress-nginx releases differ
      on the catch-all case, see ingress-nginx issue 9030, so this follows the API's wording.)
    - **Regular expressions**: when any Ingress of the host has ``use-regex: "true"`` or a
      ``rewrite-target``, every path of that host becomes ``location ~* "^PATH"`` (case-insensitive,
      whatever its pathType); ingress-nginx orders the paths by descending length and nginx takes
      the first regular expression that matches (docs/user-guide/ingress-path-matching.md).
    - **rewrite-target**: the backend receives the URI rewritten as nginx's ``rewrite`` does
      (:func:`rewrite`, capture groups ``$1``..``$n``); ``upstream_path`` holds it.
    - **TLS**: terminates at the controller with the certificate from the ``tls`` section naming the
      host; a plain ``http`` request gets a 308 redirect to https when the server has TLS and the
      matched location's Ingress does not say ``ssl-redirect: "false"``, or when it says
      ``force-ssl-redirect: "true"`` (annotations.md, "Server-side HTTPS enforcement through redirect").
    - **Missing Service or port** (when ``services`` is given): no endpoints, 503.
    """
    classes = list(classes)
    cls, served, skipped = _served(list(ingresses), classes, ingress_class)
    req_host = split_host(host)
    req_path = path.split("?", 1)[0] or "/"
    servers, fallback = _servers(served)
    server = _server_for(req_host, servers)
    # use-regex or rewrite-target on any Ingress of the host makes all its paths regular expressions.
    regex = any(
        _annotations(loc.ingress).get(USE_REGEX_ANNOTATION) == "true"
        or REWRITE_TARGET_ANNOTATION in _annotations(loc.ingress)
        for loc in servers.get(server, [])
    )

    considered: list[PathCheck] = []
    candidates: list[tuple[tuple[int, int], int, _Location]] = []
    seen: dict[tuple[str, str, str], str] = {}
    for name, locs in servers.items():
        for loc in locs:
            ing_key = _key(loc.ingress)
            ns = _meta(loc.ingress).get("namespace") or "default"
            host_ok = name == server
            if regex and host_ok:
                pattern = _regex_location(loc.path)
                matched = pattern is not None and pattern.match(req_path) is not None
            else:
                matched = host_ok and path_matches(loc.path_type, loc.path, req_path)
            if name != server:
                why = _why_other_server(name, server, req_host)
            elif regex:
                verb = "matches" if matched else "does not match"
                why = (f'location ~* "^{loc.path}" {verb} {req_path} (use-regex or rewrite-target on this host '
                       "makes every path a case-insensitive regular expression)")
            elif not matched:
                why = _why_not(loc.path_type, loc.path, req_path)
            else:
                why = f"{loc.path_type} {loc.path} matches {req_path}"
            dup = (name, loc.path, loc.path_type)
            if not loc.backend.get("service"):
                matched, why = False, "ingress-nginx makes no location for a non-Service (resource) backend"
            elif dup in seen:
                matched, why = False, f"shadowed: {seen[dup]} defined {loc.path} ({loc.path_type}) first"
            else:
                seen[dup] = ing_key
            check = PathCheck(
                ing_key,
                loc.rule,
                loc.host,
                loc.path,
                loc.path_type,
                _backend_dict(ns, loc.backend),
                host_ok,
                matched,
                False,
                why,
            )
            if matched:
                if regex:
                    # ingress-nginx sorts a server's locations by descending path length (stable); nginx
                    # then takes the first regular expression that matches.
                    rank = (len(loc.path), 0)
                else:
                    length = len(loc.path.rstrip("/") if loc.path_type == "Prefix" else loc.path)
                    rank = (length, _TYPE_RANK.get(loc.path_type, -1))
                candidates.append((rank, len(considered), loc))
            considered.append(check)

    services_by_key = _services_by_key(services) if services is not None else None
    tls = _tls_for(req_host, server, served)
    if scheme == "https" and tls is None:
        tls = TLSTermination(req_host, None, None)
    route = IngressRoute(
        req_host, path, scheme, None, None, server, None, None, False, 404, "", cls, tls, considered, skipped,
        regex=regex,
    )

    chosen_ingress: dict[str, Any] | None = None
    if candidates:
        # max() keeps the first of equals: the order locations were merged in (oldest Ingress first).
        _, index, loc = max(candidates, key=lambda c: (c[0], -c[1]))
        considered[index].chosen = True
        others = [c for c in candidates if c[1] != index]
        for _rank, i, _loc in others:
            considered[i].reason += (f'; but location ~* "^{loc.path}" is longer, so nginx tries it first' if regex
                                     else f"; but {loc.path} ({loc.path_type}) is longer or more exact")
        ns = _meta(loc.ingress).get("namespace") or "default"
        route.backend = _backend_dict(ns, loc.backend)
        route.ingress, route.path, route.path_type = _key(loc.ingress), loc.path, loc.path_type
        route.status, route.reason = None, considered[index].reason
        backend = loc.backend
        chosen_ingress = loc.ingress
        target = _annotations(loc.ingress).get(REWRITE_TARGET_ANNOTATION)
        if target is not None:
            route.rewrite_target = target
            route.upstream_path = rewrite(loc.path, target, path)
            route.reason += f"; rewrite-target {target}: the backend receives {route.upstream_path}"
    elif server in fallback:
        ing = fallback[server]
        ns = _meta(ing).get("namespace") or "default"
        backend = (ing.get("spec") or {})["defaultBackend"]
        route.backend, route.ingress, route.default_backend = _backend_dict(ns, backend), _key(ing), True
        route.status = None
        route.reason = f"no path matched {req_path}; the defaultBackend of {_key(ing)} takes it"
        considered.append(
            PathCheck(_key(ing), None, server, None, None, route.backend, True, True, True, route.reason)
        )
        chosen_ingress = ing
    else:
        route.reason = (
            f"no rule matched {req_host}{req_path} and no defaultBackend applies: "
            "the controller's default backend answers 404"
        )
        return _redirect(route, scheme, None)

    if services_by_key is not None:
        problem = _backend_problem(ns, backend, services_by_key)
        if problem:
            route.status, route.reason = 503, f"{route.reason}; but {problem}: no endpoints, 503"
    return _redirect(route, scheme, chosen_ingress)


def _why_other_server(name: str, server: str, req_host: str) -> str:
    served_by = "the catch-all server" if server == _CATCH_ALL else f'the server for "{server}"'
    if name == _CATCH_ALL:
        return f"rules without a host are the catch-all; {req_host} is handled by {served_by}"
    if name.startswith("*.") and req_host.endswith(name[1:]):
        return f'"{name}" covers exactly one DNS label; "{req_host}" has more'
    return f'host "{name}" does not match "{req_host}"'


def _redirect(route: IngressRoute, scheme: str, ingress: dict[str, Any] | None) -> IngressRoute:
    """ingress-nginx's redirect to https: ``force-ssl-redirect``, or TLS on the server and ``ssl-redirect``
    (default true) on the matched location's Ingress."""
    if scheme != "http":
        return route
    notes = _annotations(ingress) if ingress is not None else {}
    has_tls = route.tls is not None and route.tls.ingress is not None
    if notes.get(FORCE_SSL_REDIRECT_ANNOTATION) == "true":
        why = f"force-ssl-redirect on Ingress {_key(ingress or {})}"
    elif has_tls and notes.get(SSL_REDIRECT_ANNOTATION) != "false":
        assert route.tls is not None
        why = f"{route.request_host} has TLS ({route.tls.secret}); ssl-redirect defaults to true"
    else:
        if has_tls:
            route.reason += f"; ssl-redirect: \"false\" on Ingress {_key(ingress or {})}: plain http is served"
        return route
    route.status = 308
    route.upstream_path = None
    route.reason = f"{why}: ingress-nginx redirects http to https with 308; over https: {route.reason}"
    return route


def _why_not(path_type: str, path: str, req_path: str) -> str:
    if path_type == "Exact":
        if req_path.rstrip("/") == path.rstrip("/"):
            return f"Exact {path} is not {req_path}: a trailing slash counts"
        return f"Exact {path} is not {req_path}"
    if path_type == "Prefix":
        stem = path.rstrip("/")
        if req_path.startswith(stem):
            return f"Prefix {path} matches whole path elements; {req_path} only shares characters"
        return f"Prefix {path} is not a prefix of {req_path}"
    if path_type == "ImplementationSpecific":
        return f"{req_path} does not start with {path} (ImplementationSpecific: nginx prefix location)"
    return f"pathType {path_type!r} is not supported"
