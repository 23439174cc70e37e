"""``trace --to http://HOST/PATH``: two TCP connections joined by the proxy's routing decision."""

from __future__ import annotations

import pytest

import k8snetviz


def test_through_ingress_nginx_the_backend_sees_the_controller_pod() -> None:
    c = k8snetviz.load("ingress")
    t = c.trace("external", "http://shop.example.com/api/orders")
    assert t.delivered and t.final is not None and t.final["pod"].startswith("default/api-")
    proxy = next(h for h in t.hops if h.action == "proxy")
    controller = c.pod(proxy.at)
    # ingress-nginx connects to the endpoint itself (no Service IP): the backend's peer is the controller pod
    assert t.final["src"].split(":")[0] == str(controller.ip)
    # ...and the client's address travels only in X-Forwarded-For: the one the controller saw (masqueraded,
    # since the controller's LoadBalancer Service has externalTrafficPolicy: Cluster)
    assert proxy.rule.startswith("X-Forwarded-For: ") and "172.18.0.100" not in proxy.rule
    # the answer goes back to the client as the load balancer's address
    assert t.hops[-1].reply and t.hops[-1].at == "external/laptop" and t.hops[-1].src.startswith("172.18.255.")


def test_through_a_gateway_weights_become_candidates() -> None:
    t = k8snetviz.load("gateway").trace("external", "http://shop.example.com/")
    assert t.delivered
    shares = sorted(round(c["probability"], 2) for c in t.candidates)
    assert shares == [0.1, 0.45, 0.45]  # backendRefs weighted 90/10, the 90 split over two pods
    assert abs(sum(c["probability"] for c in t.candidates) - 1) < 1e-9


def test_a_url_is_checked() -> None:
    with pytest.raises(k8snetviz.UsageError):
        k8snetviz.load("ingress").trace("external", "http:/shop.example.com")
