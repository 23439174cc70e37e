"""Ingress questions: which backend a URL reaches through the scenario's ingress controller, and the walk.

:func:`ingress` validates every Ingress and IngressClass as the API server would (an invalid one
raises :class:`~k8snetviz.errors.InvalidObject` naming it), then routes the request as ingress-nginx
does (:func:`k8snetviz.agents.ingress_nginx.route_ingress`):

>>> import k8snetviz
>>> cluster = k8snetviz.load("ingress")
>>> answer = ingress(cluster, "shop.example.com", "/api/orders")
>>> answer.to_dict()["backend"], answer.to_dict()["path"]
({'service': 'default/api', 'port': 8080}, '/api')

:func:`ingress_walk` turns an answer into the two TCP connections a request really makes: the
client's to the controller (through its LoadBalancer or NodePort Service), and the controller pod's
own, new connection to a backend pod. ingress-nginx balances over the Service's endpoints itself, so
that second connection goes straight to a pod address; kube-proxy is not involved unless the Ingress
asks for ``nginx.ingress.kubernetes.io/service-upstream: "true"``.

>>> walk = ingress_walk(cluster, answer)
>>> walk.entry.src, walk.entry.dst
('external', '172.18.255.201:80')
>>> walk.upstream.src, walk.upstream.dst
('pod/ingress-nginx/ingress-nginx-controller-qq6pbdmwvt-4s642', 'pod/default/api-n89kftc7q6-8pj8h:8080')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k8snetviz.agents.ingress_nginx import (
    IngressRoute,
    check_ingress,
    check_ingress_class,
    route_ingress,
)
from k8snetviz.api.refs import Ref
from k8snetviz.errors import UsageError
from k8snetviz.questions.display import Shown

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.api.services import Service
    from k8snetviz.cluster import Cluster

__all__ = [
    "ProxyAnswer",
    "IngressAnswer",
    "ingress",
    "parse_url",
    "ProxyLeg",
    "ProxyWalk",
    "ingress_walk",
    "proxy_walk",
    "find_controller",
    "check_method",
    "check_headers",
    "parse_header",
    "SERVICE_UPSTREAM_ANNOTATION",
]

SERVICE_UPSTREAM_ANNOTATION = "nginx.ingress.kubernetes.io/service-upstream"
_INGRESS_NGINX = "k8s.io/ingress-nginx"  # ingress-nginx's default --controller-class
_URL = re.compile(r"^(https?)://([^/?#]+)([^#]*)$")


# --- the scenario's objects ---------------------------------------------------------------------------


# --- the question -------------------------------------------------------------------------------------


def parse_url(url: str) -> tuple[str, str, int, str]:
    """``http://HOST[:PORT]/PATH`` -> (scheme, host, port, path); the port defaults by scheme.

    >>> parse_url("http://shop.example.com/api?x=1")
    ('http', 'shop.example.com', 80, '/api?x=1')
    >>> parse_url("shop.example.com/api")
    Traceback (most recent call last):
    ...
    k8snetviz.errors.UsageError: "shop.example.com/api" is not a URL: write http://HOST[:PORT]/PATH
    """
    m = _URL.match(url.strip())
    if not m:
        raise UsageError(f'"{url}" is not a URL: write http://HOST[:PORT]/PATH')
    scheme, authority, rest = m.groups()
    if "@" in authority:
        raise UsageError(f'"{url}": user information in a URL is not sent in the Host header; leave it out')
    host, port_text = authority, ""
    if authority.startswith("["):
        end = authority.find("]")
        host, port_text = authority[: end + 1], authority[end + 2 :] if end >= 0 else ""
    elif ":" in authority:
        host, port_text = authority.split(":", 1)
    port = 443 if scheme == "https" else 80
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise UsageError(f'"{url}": the port "{port_text}" is not a number between 1 and 65535')
        port = int(port_text)
    if not host:
        raise UsageError(f'"{url}": the URL has no host')
    return scheme, host.lower(), port, rest or "/"


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token: a method, a field name


def check_method(method: str) -> str:
    """An HTTP method as the client sends it (upper-cased, as curl's users mean it).

    >>> check_method("post")
    'POST'
    """
    if not isinstance(method, str) or not _TOKEN.match(method):
        raise UsageError(f'--method "{method}": an HTTP method is a token such as GET, POST or DELETE')
    return method.upper()


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` (as curl's ``-H`` takes it) -> (name, value).

    >>> parse_header("X-Canary:  always ")
    ('X-Canary', 'always')
    """
    name, sep, value = text.partition(":")
    if not sep or not _TOKEN.match(name):
        raise UsageError(f"--header \"{text}\": write it as 'Name: value' (the name is a token, no spaces)")
    return name, value.strip()


def check_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """Request headers by name; a name that is not an HTTP token is bad input."""
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise UsageError(f"header name {name!r}: a header name is a token (letters, digits, - and the like)")
        out[name] = str(value)
    return out


def _check_request(host: str, path: str) -> None:
    if not host or not host.strip():
        raise UsageError("the request has no host: give the name the client puts in the Host header")
    if not path.startswith("/"):
        raise UsageError(f'path "{path}": a request path starts with "/"')


class ProxyAnswer(Shown):
    """What an Ingress answer and a Gateway answer share: the URL asked for and the decision.

    A subclass is a dataclass with ``route`` (the model's routing decision), ``port`` and ``scheme``;
    :mod:`k8snetviz.views.ingresstext` shows it.
    """

    route: Any
    port: int

    @property
    def scheme(self) -> str:
        return str(self.route.scheme)

    @property
    def url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{self.route.request_host}{port}{self.route.request_path}"

    @property
    def backend(self) -> dict[str, Any] | None:
        return self.route.backend

    @property
    def status(self) -> int | None:
        """None when the request is proxied to the backend; else the proxy's own answer."""
        return self.route.status

    def explain(self) -> list[str]:
        return self.route.explain()


@dataclass
class IngressAnswer(ProxyAnswer):
    """The routing decision for one request, with the reasoning, as a result the views can show.

    ``to_dict()`` is the ``ingress --json`` contract; ``route`` keeps every path weighed
    (``route.considered``) and the Ingresses the controller ignored (``route.skipped``).
    """

    route: IngressRoute
    port: int = 80
    controller_service: str | None = None  # NS/NAME of the Service in front of the controller
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)  # ingress-nginx routes by host and path alone

    @property
    def scheme(self) -> str:
        return self.route.scheme

    def to_dict(self) -> dict[str, Any]:
        return self.route.to_dict()


def ingress(
    cluster: Cluster,
    host: str,
    path: str,
    *,
    scheme: str = "http",
    port: int | None = None,
    ingress_class: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> IngressAnswer:
    """Where the scenario's ingress controller sends ``METHOD scheme://host/path``, and why.

    Every IngressClass and Ingress is validated first, with the API server's messages; the backend
    Services are checked (a missing Service or port makes the controller answer 503). The method and
    headers are carried with the answer: ingress-nginx's Ingress rules route by host and path alone.
    """
    if scheme not in ("http", "https"):
        raise UsageError(f'scheme "{scheme}": use http or https')
    _check_request(host, path)
    method = check_method(method)
    headers = check_headers(headers)
    classes = cluster.documents("IngressClass")
    for c in classes:
        check_ingress_class(c)
    ingresses = cluster.documents("Ingress")
    for ing in ingresses:
        check_ingress(ing)
    route = route_ingress(
        ingresses,
        host,
        path,
        scheme=scheme,
        classes=classes,
        ingress_class=ingress_class,
        services=cluster.documents("Service"),
    )
    answer = IngressAnswer(route, port or (443 if scheme == "https" else 80), method=method, headers=headers)
    controller = find_controller(cluster, classes, route.ingress_class)
    if controller is not None:
        answer.controller_service = controller[1].key if controller[1] is not None else None
    return answer


# --- the walk through the controller -------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyLeg:
    """One TCP connection of the request: ``src`` and ``dst`` in the forms ``Cluster.trace`` takes."""

    src: str
    dst: str
    note: str

    def to_dict(self) -> dict[str, str]:
        return {"src": self.src, "dst": self.dst, "note": self.note}


@dataclass
class ProxyWalk:
    """The request as the network carries it: client -> proxy, then proxy pod -> backend pod.

    Trace ``entry`` and ``upstream`` separately: the proxy ends the client's TCP connection and
    opens a new one, so the backend sees the proxy pod's address as its peer. ``upstream`` is None
    when the proxy answers itself (404, 308, 503). ``candidates`` are the upstream connections the
    proxy may open, with their shares; ``upstream`` is the first (pick another with ``choose``).
    """

    proxy: str  # what proxies: "ingress-nginx" or "Gateway NS/NAME"
    proxy_pod: str  # pod/NS/NAME
    proxy_service: str | None  # NS/NAME
    entry: ProxyLeg
    upstream: ProxyLeg | None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    via_service: bool = False
    client_ip_preserved: bool = False
    host: str = ""
    scheme: str = "http"
    port: int = 80
    status: int | None = None
    facts: list[str] = field(default_factory=list)
    failure: str | None = None  # the connection ends without an HTTP answer (a TLS handshake that fails)
    upstream_path: str | None = None  # the path the backend receives, when the proxy rewrites it

    def choose(self, pod: str) -> ProxyLeg:
        """The upstream leg to ``pod`` (``pod/NS/NAME`` or ``NS/NAME``), one of the candidates."""
        key = Ref.parse(pod).key
        for c in self.candidates:
            if c.get("pod") == key:
                return ProxyLeg(self.proxy_pod, c["dst"], self.upstream.note if self.upstream else "")
        raise UsageError(f'pod "{pod}" is not an endpoint the proxy can pick: ' +
                         ", ".join(c["pod"] for c in self.candidates if c.get("pod")))

    def forwarded_headers(self, seen_src: str) -> dict[str, str]:
        """The headers the backend receives, given the peer address the proxy saw on ``entry``.

        ``seen_src`` is ``final.src`` of the entry leg's trace (``IP:PORT``): the client's address, or a
        node's when kube-proxy masqueraded it (``externalTrafficPolicy: Cluster`` across nodes).
        """
        ip = seen_src.rsplit(":", 1)[0] if seen_src.count(":") == 1 else seen_src
        return {
            "X-Forwarded-For": ip,
            "X-Real-IP": ip,
            "X-Forwarded-Host": self.host,
            "X-Forwarded-Port": str(self.port),
            "X-Forwarded-Proto": self.scheme,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "proxy": self.proxy,
            "proxy_pod": self.proxy_pod,
            "proxy_service": self.proxy_service,
            "entry": self.entry.to_dict(),
            "upstream": self.upstream.to_dict() if self.upstream else None,
            "candidates": self.candidates,
            "via_service": self.via_service,
            "client_ip_preserved": self.client_ip_preserved,
            "status": self.status,
            "facts": self.facts,
            "failure": self.failure,
            "upstream_path": self.upstream_path,
        }


def _arg(pod: Pod, flag: str) -> str | None:
    for c in (pod.raw.get("spec") or {}).get("containers") or []:
        for a in list(c.get("args") or []) + list(c.get("command") or []):
            if isinstance(a, str) and a.startswith(flag + "="):
                return a.split("=", 1)[1]
    return None


def _images(pod: Pod) -> list[str]:
    return [str(c.get("image", "")) for c in (pod.raw.get("spec") or {}).get("containers") or []]


def _selects(svc: Service, pod: Pod) -> bool:
    return (
        bool(svc.selector)
        and svc.namespace == pod.namespace
        and all(pod.labels.get(k) == v for k, v in (svc.selector or {}).items())
    )


def find_controller(
    cluster: Cluster, classes: list[dict[str, Any]], class_name: str | None
) -> tuple[Pod, Service | None] | None:
    """The controller pod serving the class, and the Service it publishes (``--publish-service``)."""
    wanted = _INGRESS_NGINX
    named = [c for c in classes if (c.get("metadata") or {}).get("name") == class_name]
    if classes and not named:
        return None  # a class nobody defined: no controller claims it
    for c in named:
        wanted = (c.get("spec") or {}).get("controller") or wanted
    pods = []
    for pod in sorted(cluster.pods.values(), key=lambda p: p.key):
        declared = _arg(pod, "--controller-class")
        nginx = any("ingress-nginx/controller" in i for i in _images(pod))
        if declared == wanted or (declared is None and nginx and wanted == _INGRESS_NGINX):
            pods.append(pod)
    if not pods:
        return None
    pod = next((p for p in pods if p.ready), pods[0])
    services = cluster.services.values()
    published = _arg(pod, "--publish-service")
    svc = next((s for s in services if s.key == published), None)
    if svc is None:
        svc = next((s for s in services if _selects(s, pod)), None)
    return pod, svc


def _entry_leg(cluster: Cluster, svc: Service | None, pod: Pod, port: int, client: str, what: str) -> ProxyLeg:
    """How the client reaches the proxy: the LoadBalancer address, else a NodePort, else the pod."""
    sp = next((p for p in svc.ports if p.port == port), None) if svc is not None else None
    if svc is not None and sp is not None:
        if svc.load_balancer_ips:
            return ProxyLeg(client, f"{svc.load_balancer_ips[0]}:{port}",
                            f"the client connects to the load-balancer address of Service {svc.key}")
        if sp.node_port:
            node = next(iter(cluster.nodes.values()))
            return ProxyLeg(client, f"{node.internal_ip}:{sp.node_port}",
                            f"the client connects to NodePort {sp.node_port} of Service {svc.key} on {node.name}")
        return ProxyLeg(client, f"svc/{svc.key}:{port}",
                        f"Service {svc.key} has no external address: only clients inside the cluster reach it")
    return ProxyLeg(client, f"pod/{pod.key}:{port}",
                    f"no Service in front of the {what} pod on port {port}: the client connects to it directly")


def _endpoints(cluster: Cluster, svc: Service, port: int | str) -> list[tuple[str, int]]:
    """Ready endpoints of ``svc``'s port as (pod NS/NAME, target port), as the proxy's upstream list."""
    from k8snetviz.api.endpointslices import slices_for

    sp = next((p for p in svc.ports if (p.name == port if isinstance(port, str) else p.port == port)), None)
    if sp is None:
        return []
    out = []
    for es in slices_for(cluster.endpointslices, svc):
        ep_port = next((p for p in es.ports if p.name == sp.name and p.protocol == sp.protocol), None)
        if ep_port is None or ep_port.port is None:
            continue
        for ep in es.endpoints:
            if ep.conditions.ready is False:
                continue
            ref = ep.target_ref
            pod = f"{ref.namespace}/{ref.name}" if ref and ref.kind == "Pod" else None
            out.append((pod or ep.addresses[0], ep_port.port))
    return out


def proxy_walk(
    cluster: Cluster,
    *,
    proxy: str,
    proxy_pod: Pod,
    proxy_service: Service | None,
    backends: Iterable[tuple[dict[str, Any], float]],
    host: str,
    scheme: str,
    port: int,
    status: int | None,
    via_service: bool = False,
    client: str = "external",
    failure: str | None = None,
    upstream_path: str | None = None,
) -> ProxyWalk:
    """The two legs of a request through an L7 proxy pod (shared by Ingress and Gateway walks).

    ``backends`` are ``({"service": "NS/NAME", "port": N}, share)`` pairs; each Service's ready
    endpoints split its share equally. ``failure`` says why the proxy ends the connection without an
    HTTP answer (a TLS handshake that fails); ``upstream_path`` is the rewritten request path.
    """
    entry = _entry_leg(cluster, proxy_service, proxy_pod, port, client, proxy)
    etp = proxy_service.external_traffic_policy if proxy_service is not None else None
    walk = ProxyWalk(proxy, f"pod/{proxy_pod.key}", proxy_service.key if proxy_service else None, entry, None,
                     client_ip_preserved=etp == "Local", host=host, scheme=scheme, port=port, status=status,
                     via_service=via_service, failure=failure, upstream_path=upstream_path)
    if failure is not None:
        walk.facts.append(f"{proxy} accepts the TCP connection in pod {proxy_pod.key}, but {failure}.")
        return walk
    walk.facts.append(f"{proxy} ends the client's TCP connection in pod {proxy_pod.key} "
                      f"({'and terminates TLS there' if scheme == 'https' else 'and reads the HTTP request'}).")
    if etp == "Local":
        walk.facts.append(f"Service {walk.proxy_service} has externalTrafficPolicy: Local: nodes send outside "
                          "traffic only to local proxy pods and do not masquerade, so the proxy sees the client.")
    elif proxy_service is not None and proxy_service.type in ("LoadBalancer", "NodePort"):
        # kube-proxy (iptables): KUBE-EXT-* marks every external packet of a Cluster-policy Service for
        # masquerade, whether the chosen endpoint is local or not.
        walk.facts.append(f"Service {walk.proxy_service} has externalTrafficPolicy: Cluster: kube-proxy masquerades "
                          "traffic from outside to it, so the proxy sees a node's address instead of the client's.")
    if status is not None:
        walk.facts.append(f"{proxy} answers {status} itself: no second connection is opened.")
        return walk
    services = {s.key: s for s in cluster.services.values()}
    for backend, share in backends:
        svc = services.get(backend.get("service", ""))
        if svc is None:
            continue
        if via_service:
            walk.candidates.append({"dst": f"svc/{svc.key}:{_service_port_number(svc, backend.get('port'))}",
                                    "pod": None, "probability": share})
            continue
        eps = _endpoints(cluster, svc, backend.get("port") or 0)
        for pod_key, target in eps:
            walk.candidates.append({"dst": f"pod/{pod_key}:{target}" if "/" in pod_key else f"{pod_key}:{target}",
                                    "pod": pod_key if "/" in pod_key else None,
                                    "probability": share / len(eps)})
    if not walk.candidates:
        walk.status = 503
        walk.facts.append(f"{proxy} has no ready endpoint for the backend: it answers 503 itself.")
        return walk
    first = walk.candidates[0]
    if via_service:
        note = (f"{proxy} opens a new connection to the Service's cluster IP (service-upstream): kube-proxy on "
                f"{proxy_pod.node_name} picks the endpoint")
    else:
        note = (f"{proxy} opens a new connection straight to an endpoint it chose from the EndpointSlices: "
                "no Service IP, no kube-proxy DNAT")
    if upstream_path is not None:
        note += f"; the request line carries the rewritten path {upstream_path}"
    walk.upstream = ProxyLeg(walk.proxy_pod, first["dst"], note)
    walk.facts.append(f"The backend sees the proxy pod {proxy_pod.key} ({proxy_pod.ip}) as its client.")
    walk.facts.append("The client's address travels only in the X-Forwarded-For and X-Real-IP headers the proxy "
                      "adds: the address the proxy saw on the first connection.")
    return walk


def _service_port_number(svc: Service, port: Any) -> Any:
    if isinstance(port, str):
        sp = svc.port_named(port)
        return sp.port if sp else port
    return port


def ingress_walk(cluster: Cluster, answer: IngressAnswer, *, client: str = "external") -> ProxyWalk:
    """The two connections behind ``answer``: ``client`` -> controller Service, controller pod -> backend.

    ``client`` is a trace source (``external``, ``external/IP``, ``pod/NS/NAME``). Raises UsageError
    when the scenario runs no controller for the answer's IngressClass.
    """
    classes = cluster.documents("IngressClass")
    class_name = answer.route.ingress_class
    if class_name is None and classes:
        # Nothing matched: the request still reaches a controller, the default class's, which answers 404.
        from k8snetviz.agents.ingress_nginx import default_ingress_class

        class_name = default_ingress_class(classes)
    found = find_controller(cluster, classes, class_name)
    if found is None:
        cls = answer.route.ingress_class
        raise UsageError(f'no ingress controller pod in the scenario serves IngressClass "{cls}": '
                         "add the controller's Deployment (ingress-nginx runs with --controller-class=...)")
    pod, svc = found
    upstream_annotation = False
    if answer.route.ingress:
        for ing in cluster.documents("Ingress"):
            meta = ing.get("metadata") or {}
            if f"{meta.get('namespace') or 'default'}/{meta.get('name')}" == answer.route.ingress:
                upstream_annotation = (meta.get("annotations") or {}).get(SERVICE_UPSTREAM_ANNOTATION) == "true"
    backends = [(answer.route.backend, 1.0)] if answer.route.backend and "service" in answer.route.backend else []
    return proxy_walk(cluster, proxy="ingress-nginx", proxy_pod=pod, proxy_service=svc, backends=backends,
                      host=answer.route.request_host, scheme=answer.route.scheme, port=answer.port,
                      status=answer.route.status, via_service=upstream_annotation, client=client,
                      upstream_path=answer.route.upstream_path)
