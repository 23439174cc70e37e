"""Gateway API questions: where a request goes through the scenario's Gateways, and each route's status.

>>> import k8snetviz
>>> cluster = k8snetviz.load("gateway")
>>> answer = http_route(cluster, "shop.example.com", "/cart")
>>> [(c["service"], c["weight"]) for c in answer.to_dict()["candidates"]]
[('shop/web', 90), ('shop/web-canary', 10)]
>>> answer.statuses["dev/preview"][0].condition("Accepted").reason
'NotAllowedByListeners'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k8snetviz.agents.gateway import (
    GatewayRoute,
    ListenerStatus,
    ParentStatus,
    listener_statuses,
    route_http,
    route_status,
)
from k8snetviz.errors import UsageError
from k8snetviz.questions.ingress import (
    ProxyAnswer,
    ProxyWalk,
    _check_request,
    _selects,
    check_headers,
    check_method,
    proxy_walk,
)

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.api.services import Service
    from k8snetviz.cluster import Cluster

__all__ = ["GatewayAnswer", "http_route", "gateway_walk", "route_statuses", "gateway_listener_statuses",
           "gateway_objects", "OWNING_GATEWAY_NAME", "OWNING_GATEWAY_NAMESPACE"]

# Envoy Gateway labels the data-plane pods and Service it creates for a Gateway with these.
OWNING_GATEWAY_NAME = "gateway.envoyproxy.io/owning-gateway-name"
OWNING_GATEWAY_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"
_KINDS = ("GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant", "Service", "Namespace", "Secret")


def gateway_objects(cluster: Cluster) -> list[dict[str, Any]]:
    """The manifests the Gateway API model reads: classes, Gateways, routes, grants, Services, Namespaces."""
    return [b for kind in _KINDS for b in cluster.documents(kind)]


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def route_statuses(cluster: Cluster) -> dict[str, list[ParentStatus]]:
    """``status.parents`` of every HTTPRoute, keyed NS/NAME, as the Gateway controller writes them."""
    return _route_statuses(gateway_objects(cluster))


def _route_statuses(objects: list[dict[str, Any]]) -> dict[str, list[ParentStatus]]:
    return {_key(r): route_status(r, objects) for r in objects if r.get("kind") == "HTTPRoute"}


def gateway_listener_statuses(cluster: Cluster) -> dict[str, list[ListenerStatus]]:
    """``status.listeners`` of every Gateway, keyed NS/NAME."""
    return _listener_statuses(gateway_objects(cluster))


def _listener_statuses(objects: list[dict[str, Any]]) -> dict[str, list[ListenerStatus]]:
    return {_key(g): listener_statuses(g, objects) for g in objects if g.get("kind") == "Gateway"}


@dataclass
class GatewayAnswer(ProxyAnswer):
    """Where a Gateway sends one request, why, and the status of every HTTPRoute in the scenario."""

    route: GatewayRoute
    scheme: str = "http"
    port: int = 80
    method: str = "GET"
    statuses: dict[str, list[ParentStatus]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    listeners: dict[str, list[ListenerStatus]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = self.route.to_dict()
        d["method"] = self.method
        d["headers"] = dict(self.headers)
        d["routes"] = {
            key: [p.to_dict() for p in parents] for key, parents in self.statuses.items()
        }
        d["gateways"] = {key: [ls.to_dict() for ls in listeners] for key, listeners in self.listeners.items()}
        return d


def http_route(
    cluster: Cluster,
    host: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    scheme: str = "http",
    port: int | None = None,
    gateway: str | None = None,
) -> GatewayAnswer:
    """Where the scenario's Gateways send ``METHOD scheme://host[:port]/path`` with ``headers``."""
    if scheme not in ("http", "https"):
        raise UsageError(f'scheme "{scheme}": use http or https')
    _check_request(host, path)
    method = check_method(method)
    headers = check_headers(headers)
    objects = gateway_objects(cluster)
    if gateway is not None and not any(o.get("kind") == "Gateway" and _key(o) == gateway for o in objects):
        ns, _, name = gateway.rpartition("/")
        from k8snetviz.errors import NotFound

        raise NotFound("gateways.gateway.networking.k8s.io", name, ns or "default")
    result = route_http(objects, host, path, method=method, headers=headers, scheme=scheme, port=port,
                        gateway=gateway)
    return GatewayAnswer(result, scheme, port or (443 if scheme == "https" else 80), method,
                         _route_statuses(objects), dict(headers or {}), _listener_statuses(objects))


def _data_plane(cluster: Cluster, gateway: str) -> tuple[Pod, Service | None] | None:
    ns, _, name = gateway.partition("/")
    pods = [p for p in sorted(cluster.pods.values(), key=lambda p: p.key)
            if p.labels.get(OWNING_GATEWAY_NAME) == name and p.labels.get(OWNING_GATEWAY_NAMESPACE) == ns]
    if not pods:
        return None
    pod = next((p for p in pods if p.ready), pods[0])
    svc = next((s for s in cluster.services.values() if s.labels.get(OWNING_GATEWAY_NAME) == name
                and s.labels.get(OWNING_GATEWAY_NAMESPACE) == ns), None)
    if svc is None:
        svc = next((s for s in cluster.services.values() if _selects(s, pod)), None)
    return pod, svc


def gateway_walk(cluster: Cluster, answer: GatewayAnswer, *, client: str = "external") -> ProxyWalk:
    """The two connections behind ``answer``: ``client`` -> the Gateway's proxy, proxy pod -> backend pod.

    The Gateway's data plane is found by Envoy Gateway's labels (``gateway.envoyproxy.io/owning-
    gateway-name`` and ``-namespace``). Envoy sends to endpoint addresses it learns from the
    EndpointSlices; each weighted backendRef's share is split over that Service's ready endpoints.
    """
    if answer.route.gateway is None:
        # Nothing listens on that port and protocol: there is no proxy to connect to (bad input, not an answer).
        raise UsageError(f"no Gateway listens for {answer.url}: {answer.route.reason}")
    found = _data_plane(cluster, answer.route.gateway)
    if found is None:
        raise UsageError(f"no data-plane pod for Gateway {answer.route.gateway} in the scenario: label the proxy "
                         f"pods {OWNING_GATEWAY_NAME} and {OWNING_GATEWAY_NAMESPACE}")
    pod, svc = found
    backends = [(c.backend, c.probability) for c in answer.route.candidates if c.problem is None]
    return proxy_walk(cluster, proxy=f"Gateway {answer.route.gateway}", proxy_pod=pod, proxy_service=svc,
                      backends=backends, host=answer.route.request_host, scheme=answer.scheme, port=answer.port,
                      status=answer.route.status, client=client, failure=answer.route.tls_failure)
