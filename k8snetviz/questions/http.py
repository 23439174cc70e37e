"""``trace --to http://HOST/PATH``: the request through the Ingress controller or the Gateway's proxy.

Two TCP connections, traced one after the other: the client to the proxy (through its Service,
so kube-proxy's NAT applies), then, after the proxy matched host and path, a new connection from
the proxy pod to the backend. The backend's peer is the proxy pod; the client's address travels
only in the ``X-Forwarded-For`` header, and is the one the proxy saw on the first connection.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from k8snetviz.agents.writes import Owner
from k8snetviz.errors import UsageError
from k8snetviz.kernel.walk import DecidedBy, Hop, element_id
from k8snetviz.questions.results import TraceResult

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.ingress import ProxyWalk

__all__ = ["trace_http"]


def _walk(cluster: Cluster, source: str, url: str, method: str,
          headers: dict[str, str] | None) -> tuple[ProxyWalk, str, str]:
    """The proxy's walk, its decision (the answer's headline) and why."""
    from k8snetviz.questions.ingress import ingress, ingress_walk, parse_url

    scheme, host, port, path = parse_url(url)
    routes = bool(cluster.scenario.of_kind("HTTPRoute"))
    if cluster.scenario.of_kind("Ingress") or not routes:
        answer = ingress(cluster, host, path, scheme=scheme, port=port, method=method, headers=headers)
        try:
            return ingress_walk(cluster, answer, client=source), answer.text().splitlines()[0], answer.route.reason
        except UsageError:
            if not routes:
                raise  # no ingress controller and no Gateway: say so
            # An Ingress no controller serves (say, one kept for a migration): the Gateway serves the request.
    from k8snetviz.questions.gateway import gateway_walk, http_route

    ganswer = http_route(cluster, host, path, scheme=scheme, port=port, method=method, headers=headers)
    return gateway_walk(cluster, ganswer, client=source), ganswer.text().splitlines()[0], ganswer.route.reason


def trace_http(cluster: Cluster, source: str, url: str, endpoint: str | None = None, *, method: str = "GET",
               headers: dict[str, str] | None = None) -> TraceResult:
    """Trace an HTTP request (``METHOD url`` with ``headers``): both connections, joined by the proxy's
    routing decision. A proxy that answers itself (404: no listener or rule takes the request; 308;
    503) or a TLS handshake that fails ends the walk at the proxy with verdict ``rejected``."""
    headers_in = headers
    walk, decision, why = _walk(cluster, source, url, method, headers)
    first = cluster.trace(source, walk.entry.dst)
    hops = list(first.request_hops)
    if not first.delivered:
        return replace(first, destination=url, hops=list(first.hops))
    seen = first.final["src"] if first.final else ""
    at_proxy = (seen, first.final["dst"] if first.final else "")
    headers = walk.forwarded_headers(seen)
    proxy_at = f"pod/{walk.proxy_pod.removeprefix('pod/')}"
    step = len(hops) + 1
    sent = ", ".join(f"{k}: {v}" for k, v in (headers_in or {}).items())
    detail = (f"{walk.proxy} ends the client's connection (it saw the peer {seen}) and reads the request "
              f"{method.upper()} {url}{f' ({sent})' if sent else ''}: {why}")
    gateway = walk.proxy.startswith("Gateway ")
    rule = DecidedBy("http-route" if gateway else "ingress-rule", element_id("proxy", walk.proxy, url), decision,
                     Owner("gateway-controller" if gateway else "ingress-nginx", None,
                           walk.proxy if gateway else None, (), "the proxy's routing decision for the request"))
    if walk.failure is not None:
        hops.append(Hop(step, proxy_at, "eth0", "reject", f"{walk.proxy} accepts the TCP connection (the client "
                        f"came from {seen}), but {walk.failure}", *at_proxy, rule=decision, decided_by=rule))
        return TraceResult(first.source, url, "rejected", f"{walk.proxy}: {walk.failure}", hops, first.final, [],
                           "TCP", cluster)
    if walk.upstream is None:
        hops.append(Hop(step, proxy_at, "eth0", "reject", f"{detail}; it answers HTTP {walk.status} itself",
                        *at_proxy, rule=decision, decided_by=rule))
        return TraceResult(first.source, url, "rejected", f"{walk.proxy} answered HTTP {walk.status}: "
                           + "; ".join(walk.facts[-1:]), hops, first.final, [], "TCP", cluster)
    leg = walk.choose(endpoint) if endpoint else walk.upstream
    hops.append(Hop(step, proxy_at, "eth0", "proxy",
                    f"{detail}; {leg.note}; it adds X-Forwarded-For: {headers['X-Forwarded-For']}",
                    *at_proxy,
                    rule=f"X-Forwarded-For: {headers['X-Forwarded-For']}", decided_by=rule))
    second = cluster.trace(leg.src, leg.dst)
    # The backend answers the proxy, then the proxy answers the client: the first leg's reply comes last.
    for h in [*second.hops, *(first.reply_hops if second.delivered else [])]:
        hops.append(replace(h, step=len(hops) + 1))
    candidates = [{"pod": c["pod"], "probability": c["probability"]} for c in walk.candidates if c.get("pod")]
    reason = second.reason
    if second.delivered:
        reason += ("; the backend sees the proxy pod as its client, X-Forwarded-For carries "
                   f"{headers['X-Forwarded-For']}")
    return TraceResult(first.source, url, second.verdict, reason, hops, second.final,
                       candidates or second.candidates, "TCP", cluster)
