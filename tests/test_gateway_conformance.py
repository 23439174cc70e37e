"""The Gateway API conformance suite's expectations, recreated as scenarios for the model.

Each test names the conformance test it follows: the manifests of
``kubernetes-sigs/gateway-api`` ``conformance/tests/<name>.yaml`` (with the base manifests'
``same-namespace`` Gateway and ``infra-backend-v1..v3`` Services) and the requests and expected
responses of ``conformance/tests/<name>.go``. A ``Backend`` expectation is the Service the model
routes to; a ``StatusCode: 404`` is the Gateway answering 404 itself.
"""

from __future__ import annotations

from typing import Any

import pytest

import k8snetviz
from k8snetviz.agents.gateway import listener_statuses, route_http, route_status
from k8snetviz.cli import main

INFRA = "gateway-conformance-infra"
WEB = "gateway-conformance-web-backend"


def gateway(name: str, listeners: list[dict[str, Any]], ns: str = INFRA) -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"gatewayClassName": "gateway-conformance", "listeners": listeners}}


def http_listener(name: str = "http", hostname: str | None = None, frm: str = "Same") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": frm}}}
    if hostname:
        out["hostname"] = hostname
    return out


def route(name: str, rules: list[dict[str, Any]], *, parents: list[dict[str, Any]] | None = None,
          hostnames: list[str] | None = None, ns: str = INFRA) -> dict[str, Any]:
    spec: dict[str, Any] = {"parentRefs": parents or [{"name": "same-namespace"}], "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def backend(v: str, ns: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": f"infra-backend-{v}", "port": 8080}
    if ns:
        ref["namespace"] = ns
    return ref


def services(ns: str = INFRA) -> list[dict[str, Any]]:
    return [{"kind": "Service", "metadata": {"name": f"infra-backend-{v}", "namespace": ns},
             "spec": {"ports": [{"port": 8080}]}} for v in ("v1", "v2", "v3")]


# conformance/base/manifests.yaml: the shared Gateway in the infra namespace, routes from the same namespace.
BASE = [gateway("same-namespace", [http_listener()]), *services()]


def to(objs: list[dict[str, Any]], host: str, path: str, **kw: Any) -> str | int:
    """The Service name the request reaches, or the status the Gateway answers itself."""
    got = route_http(objs, host, path, **kw)
    if got.status is not None:
        return got.status
    assert got.backend is not None, got.reason
    return got.backend["service"].split("/")[1].removeprefix("infra-backend-")


# conformance/tests/httproute-hostname-intersection.{yaml,go}: HTTPRouteHostnameIntersection
def test_hostname_intersection_and_404_for_hosts_no_listener_accepts() -> None:
    gw = gateway("httproute-hostname-intersection", [
        http_listener("listener-1", "very.specific.com"), http_listener("listener-2", "*.wildcard.io"),
        http_listener("listener-3", "*.anotherwildcard.io")])
    parent = [{"name": "httproute-hostname-intersection"}]
    objs = [gw, *services(),
            route("specific-host-matches-listener-specific-host",
                  [{"matches": [{"path": {"type": "PathPrefix", "value": "/s1"}}], "backendRefs": [backend("v1")]}],
                  parents=parent, hostnames=["non.matching.com", "*.nonmatchingwildcard.io", "very.specific.com"]),
            route("specific-host-matches-listener-wildcard-host",
                  [{"matches": [{"path": {"type": "PathPrefix", "value": "/s2"}}], "backendRefs": [backend("v2")]}],
                  parents=parent, hostnames=["non.matching.com", "wildcard.io", "foo.wildcard.io", "bar.wildcard.io",
                                             "foo.bar.wildcard.io"]),
            route("wildcard-host-matches-listener-specific-host",
                  [{"matches": [{"path": {"type": "PathPrefix", "value": "/s3"}}], "backendRefs": [backend("v3")]}],
                  parents=parent, hostnames=["non.matching.com", "*.specific.com"]),
            route("wildcard-host-matches-listener-wildcard-host",
                  [{"matches": [{"path": {"type": "PathPrefix", "value": "/s4"}}], "backendRefs": [backend("v1")]}],
                  parents=parent, hostnames=["*.anotherwildcard.io"])]
    expected = [
        ("very.specific.com", "/s1", "v1"), ("very.specific.com:1234", "/s1", "v1"),  # the port is ignored
        ("non.matching.com", "/s1", 404), ("foo.nonmatchingwildcard.io", "/s1", 404),
        ("foo.wildcard.io", "/s1", 404), ("very.specific.com", "/non-matching-prefix", 404),
        ("foo.wildcard.io", "/s2", "v2"), ("bar.wildcard.io", "/s2", "v2"), ("foo.bar.wildcard.io", "/s2", "v2"),
        ("wildcard.io", "/s2", 404), ("very.specific.com", "/s2", 404),
        ("very.specific.com", "/s3", "v3"), ("foo.specific.com", "/s3", 404),
        ("foo.anotherwildcard.io", "/s4", "v1"), ("bar.anotherwildcard.io", "/s4", "v1"),
        ("foo.bar.anotherwildcard.io", "/s4", "v1"), ("anotherwildcard.io", "/s4", 404),
    ]
    assert [(h, p, to(objs, h, p)) for h, p, _ in expected] == expected
    # A host no listener accepts still reaches the Gateway listening on port 80, which answers 404 itself.
    got = route_http(objs, "foo.specific.com", "/s3")
    assert (got.gateway, got.listener, got.status) == (f"{INFRA}/httproute-hostname-intersection", None, 404)


# conformance/tests/httproute-listener-hostname-matching.{yaml,go}: HTTPRouteListenerHostnameMatching
def test_listener_hostname_matching() -> None:
    gw = gateway("httproute-listener-hostname-matching", [
        http_listener("listener-1", "bar.com"), http_listener("listener-2", "foo.bar.com"),
        http_listener("listener-3", "*.bar.com"), http_listener("listener-4", "*.foo.com")])
    ref = {"name": "httproute-listener-hostname-matching", "namespace": INFRA}
    objs = [gw, *services(),
            route("backend-v1", [{"backendRefs": [backend("v1")]}], parents=[{**ref, "sectionName": "listener-1"}]),
            route("backend-v2", [{"backendRefs": [backend("v2")]}], parents=[{**ref, "sectionName": "listener-2"}]),
            route("backend-v3", [{"backendRefs": [backend("v3")]}],
                  parents=[{**ref, "sectionName": "listener-3"}, {**ref, "sectionName": "listener-4"}])]
    expected = [("bar.com", "v1"), ("foo.bar.com", "v2"), ("baz.bar.com", "v3"), ("boo.bar.com", "v3"),
                ("multiple.prefixes.bar.com", "v3"), ("multiple.prefixes.foo.com", "v3"),
                ("foo.com", 404), ("no.matching.host", 404)]
    assert [(h, to(objs, h, "/")) for h, _ in expected] == expected


# conformance/tests/httproute-matching-across-routes.{yaml,go}: HTTPRouteMatchingAcrossRoutes
def test_matching_across_routes() -> None:
    objs = [*BASE,
            route("matching-part1", [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}},
                                                  {"headers": [{"name": "version", "value": "one"}]}],
                                      "backendRefs": [backend("v1")]}], hostnames=["example.com", "example.net"]),
            route("matching-part2", [{"matches": [{"path": {"type": "PathPrefix", "value": "/v2"}},
                                                  {"headers": [{"name": "version", "value": "two"}]}],
                                      "backendRefs": [backend("v2")]}], hostnames=["*.com"])]
    cases = [("example.com", "/", {}, "v1"), ("example.com", "/example", {}, "v1"),
             ("example.net", "/example", {}, "v1"), ("example.com", "/example", {"Version": "one"}, "v1"),
             ("example.com", "/v2", {}, "v2"), ("example.net", "/v2", {}, "v1"),  # v2 matches are example.com's
             ("example.com", "/v2/example", {}, "v2"), ("example.com", "/", {"Version": "two"}, "v2")]
    assert [(h, p, hd, to(objs, h, p, headers=hd)) for h, p, hd, _ in cases] == cases


# conformance/tests/httproute-method-matching.{yaml,go}: HTTPRouteMethodMatching (the cases of its first part)
def test_method_matching() -> None:
    objs = [*BASE, route("method-matching", [{"matches": [{"method": "POST"}], "backendRefs": [backend("v1")]},
                                             {"matches": [{"method": "GET"}], "backendRefs": [backend("v2")]}])]
    assert [to(objs, "example.com", "/", method=m) for m in ("POST", "GET", "HEAD")] == ["v1", "v2", 404]


# conformance/tests/httproute-header-matching.{yaml,go}: HTTPRouteHeaderMatching
def test_header_matching_and_the_most_headers_win() -> None:
    def hdr(*pairs: tuple[str, str]) -> dict[str, Any]:
        return {"headers": [{"name": n, "value": v} for n, v in pairs]}

    objs = [*BASE, route("matching", [
        {"matches": [hdr(("version", "one"))], "backendRefs": [backend("v1")]},
        {"matches": [hdr(("version", "two"))], "backendRefs": [backend("v2")]},
        {"matches": [hdr(("version", "two"), ("color", "orange"))], "backendRefs": [backend("v1")]},
        {"matches": [hdr(("color", "blue")), hdr(("color", "green"))], "backendRefs": [backend("v1")]},
        {"matches": [hdr(("color", "red")), hdr(("color", "yellow"))], "backendRefs": [backend("v2")]}])]
    cases = [({"Version": "one"}, "v1"), ({"Version": "two"}, "v2"), ({"Version": "two", "Color": "orange"}, "v1"),
             ({"Version": "two", "Color": "blue"}, "v2"), ({"Color": "orange"}, 404),
             ({"Some-Other-Header": "one"}, 404),
             ({"Color": "blue"}, "v1"), ({"Color": "green"}, "v1"), ({"Color": "red"}, "v2"),
             ({"Color": "yellow"}, "v2"), ({"Color": "purple"}, 404)]
    assert [(h, to(objs, "example.com", "/", headers=h)) for h, _ in cases] == cases


# conformance/tests/httproute-query-param-matching.go: HTTPRouteQueryParamMatching (the route its first
# cases need: animal=whale -> v1, animal=dolphin -> v2, dolphin AND color=blue, or ANIMAL=Whale -> v3)
def test_query_param_matching_is_exact_case_sensitive_and_the_most_params_win() -> None:
    def q(*pairs: tuple[str, str]) -> dict[str, Any]:
        return {"queryParams": [{"name": n, "value": v} for n, v in pairs]}

    objs = [*BASE, route("query-param-matching", [
        {"matches": [q(("animal", "whale"))], "backendRefs": [backend("v1")]},
        {"matches": [q(("animal", "dolphin"))], "backendRefs": [backend("v2")]},
        {"matches": [q(("animal", "dolphin"), ("color", "blue")), q(("ANIMAL", "Whale"))],
         "backendRefs": [backend("v3")]}])]
    cases = [("/?animal=whale", "v1"), ("/?animal=dolphin", "v2"), ("/?animal=dolphin&color=blue", "v3"),
             ("/?ANIMAL=Whale", "v3"), ("/?animal=whale&otherparam=irrelevant", "v1"),
             ("/?animal=dolphin&color=yellow", "v2"), ("/?color=blue", 404), ("/?animal=dog", 404),
             ("/?animal=whaledolphin", 404), ("/", 404)]
    assert [(p, to(objs, "example.com", p)) for p, _ in cases] == cases


# conformance/tests/httproute-invalid-reference-grant.go (HTTPRouteInvalidReferenceGrant) and
# httproute-invalid-cross-namespace-backend-ref.go (HTTPRouteInvalidCrossNamespaceBackendRef):
# ResolvedRefs=False with reason RefNotPermitted, and requests get 500.
def test_a_backend_no_reference_grant_permits_is_ref_not_permitted_and_500() -> None:
    grant_elsewhere = {"kind": "ReferenceGrant", "metadata": {"name": "reference-grant", "namespace": WEB},
                       "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                          "namespace": INFRA}],
                                "to": [{"group": "", "kind": "Service", "name": "not-web-backend"}]}}
    r = route("reference-grant", [{"backendRefs": [{"name": "web-backend", "namespace": WEB, "port": 8080}]}])
    objs = [*BASE, r, grant_elsewhere, {"kind": "Service", "metadata": {"name": "web-backend", "namespace": WEB},
                                        "spec": {"ports": [{"port": 8080}]}}]
    resolved = route_status(r, objs)[0].condition("ResolvedRefs")
    assert resolved is not None and (resolved.status, resolved.reason) == ("False", "RefNotPermitted")
    assert to(objs, "example.com", "/") == 500
    # conformance/tests/httproute-reference-grant.go (HTTPRouteReferenceGrant): a grant for that Service permits it.
    grant_elsewhere["spec"]["to"][0]["name"] = "web-backend"
    assert route_status(r, objs)[0].condition("ResolvedRefs").status == "True"  # type: ignore[union-attr]
    assert route_http(objs, "example.com", "/").backend == {"service": f"{WEB}/web-backend", "port": 8080}


def https_gateway(name: str, ref: dict[str, Any], ns: str = INFRA) -> dict[str, Any]:
    return gateway(name, [{"name": "https", "port": 443, "protocol": "HTTPS",
                           "allowedRoutes": {"namespaces": {"from": "All"}},
                           "tls": {"certificateRefs": [ref]}}], ns)


def tls_secret(name: str, ns: str = INFRA, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "kubernetes.io/tls",
            "data": data if data is not None else {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}}


def resolved_refs(gw: dict[str, Any], objs: list[dict[str, Any]]) -> tuple[str, str, int, bool]:
    (ls,) = listener_statuses(gw, objs)
    cond = ls.condition("ResolvedRefs")
    assert cond is not None
    return cond.status, cond.reason, ls.attached_routes, ls.programmed


# conformance/tests/gateway-invalid-tls-configuration.{yaml,go}: GatewayInvalidTLSConfiguration
@pytest.mark.parametrize("name,ref", [
    ("gateway-certificate-nonexistent-secret", {"group": "", "kind": "Secret", "name": "nonexistent-certificate"}),
    ("gateway-certificate-unsupported-group", {"group": "wrong.group.company.io", "kind": "Secret",
                                               "name": "tls-validity-checks-certificate"}),
    ("gateway-certificate-unsupported-kind", {"group": "", "kind": "WrongKind",
                                              "name": "tls-validity-checks-certificate"}),
    ("gateway-certificate-malformed-secret", {"group": "", "kind": "Secret", "name": "malformed-certificate"}),
])
def test_invalid_certificate_refs_leave_the_listener_unprogrammed(name: str, ref: dict[str, Any]) -> None:
    gw = https_gateway(name, ref)
    objs = [gw, tls_secret("tls-validity-checks-certificate"),
            tls_secret("malformed-certificate", data={"tls.crt": "", "tls.key": ""}),
            route("r", [{"backendRefs": [backend("v1")]}], parents=[{"name": name}]), *services()]
    assert resolved_refs(gw, objs) == ("False", "InvalidCertificateRef", 0, False)
    # No certificate, no handshake: the request never becomes HTTP.
    got = route_http(objs, "example.com", "/", scheme="https")
    assert got.tls_failure is not None and got.status is None and "InvalidCertificateRef" in got.tls_failure


# conformance/tests/gateway-secret-missing-reference-grant.yaml (GatewaySecretMissingReferenceGrant) and
# gateway-secret-invalid-reference-grant.yaml (GatewaySecretInvalidReferenceGrant): every grant there is
# wrong in one field, so the cross-namespace certificate is RefNotPermitted.
def test_a_certificate_in_another_namespace_needs_a_matching_reference_grant() -> None:
    name = "gateway-secret-invalid-reference-grant"
    gw = https_gateway(name, {"group": "", "kind": "Secret", "name": "certificate", "namespace": WEB})

    def grant(gname: str, ns: str = WEB, fgroup: str = "gateway.networking.k8s.io", fkind: str = "Gateway",
              fns: str = INFRA, tgroup: str = "", tkind: str = "Secret", tname: str = "certificate") -> dict[str, Any]:
        return {"kind": "ReferenceGrant", "metadata": {"name": gname, "namespace": ns},
                "spec": {"from": [{"group": fgroup, "kind": fkind, "namespace": fns}],
                         "to": [{"group": tgroup, "kind": tkind, "name": tname}]}}

    wrong = [grant("reference-grant-wrong-namespace", ns="gateway-conformance-app-backend"),
             grant("reference-grant-wrong-from-group", fgroup="not-the-group-youre-looking-for"),
             grant("reference-grant-wrong-from-kind", fkind="HTTPRoute"),
             grant("reference-grant-wrong-from-namespace", fns="not-the-namespace-youre-looking-for"),
             grant("reference-grant-wrong-to-group", tgroup="not-the-group-youre-looking-for",
                   tname="not-the-certificate-youre-looking-for"),
             grant("reference-grant-wrong-to-kind", tkind="Service"),
             grant("reference-grant-wrong-to-name", tname="not-the-certificate-youre-looking-for")]
    objs = [gw, tls_secret("certificate", WEB)]
    assert resolved_refs(gw, objs)[:2] == ("False", "RefNotPermitted")  # missing grant
    assert resolved_refs(gw, objs + wrong)[:2] == ("False", "RefNotPermitted")  # invalid grants
    # gateway-secret-reference-grant-specific.yaml / -all-in-namespace.yaml: a right grant, with or without a name.
    assert resolved_refs(gw, objs + [grant("specific")]) == ("True", "ResolvedRefs", 0, True)
    assert resolved_refs(gw, objs + [grant("all", tname="")])[:2] == ("True", "ResolvedRefs")


# conformance/tests/httproute-https-listener.{yaml,go}: HTTPRouteHTTPSListener (the base manifests' Gateway
# same-namespace-with-https-listener: listener https, and https-with-hostname for second-example.org)
def test_https_listener_terminates_with_its_certificate_and_404s_unknown_hosts() -> None:
    cert = {"group": "", "kind": "Secret", "name": "tls-validity-checks-certificate"}
    gw = gateway("same-namespace-with-https-listener", [
        {"name": "https", "port": 443, "protocol": "HTTPS", "tls": {"certificateRefs": [cert]}},
        {"name": "https-with-hostname", "port": 443, "protocol": "HTTPS", "hostname": "second-example.org",
         "tls": {"certificateRefs": [cert]}}])
    objs = [gw, tls_secret("tls-validity-checks-certificate"), *services(),
            route("httproute-https-test", [{"backendRefs": [backend("v1")]}], hostnames=["example.org"],
                  parents=[{"name": "same-namespace-with-https-listener"}]),
            route("httproute-https-test-no-hostname", [{"backendRefs": [backend("v1")]}],
                  parents=[{"name": "same-namespace-with-https-listener", "sectionName": "https-with-hostname"}])]
    assert [to(objs, h, "/", scheme="https") for h in ("example.org", "unknown-example.org", "second-example.org")] \
        == ["v1", 404, "v1"]
    got = route_http(objs, "example.org", "/", scheme="https")
    assert got.certificate == f"{INFRA}/tls-validity-checks-certificate" and got.listener == "https"
    # httproute-https-test's example.org does not intersect second-example.org: one route on each listener.
    assert {ls.name: ls.attached_routes for ls in listener_statuses(gw, objs)} == {"https": 1,
                                                                                  "https-with-hostname": 1}


# The contract: a 404 is an answer. trace to a host no listener accepts: verdict rejected, exit 0.
def test_trace_to_a_host_no_listener_accepts_is_a_404_answer(capsys: pytest.CaptureFixture[str]) -> None:
    t = k8snetviz.load("gateway").trace("external", "http://foo.com/")
    assert t.verdict == "rejected" and "404" in t.reason
    last = t.hops[-1]
    assert last.action == "reject" and last.decided_by is not None and last.decided_by.kind == "http-route"
    assert main(["trace", "gateway", "--from", "external", "--to", "http://foo.com/", "--json"]) == 0
    assert '"verdict": "rejected"' in capsys.readouterr().out


def test_trace_sends_the_method_and_headers_the_routes_match_on() -> None:
    # The shipped gateway scenario: x-canary: always goes to web-canary only.
    c = k8snetviz.load("gateway")
    plain = c.trace("external", "http://shop.example.com/cart")
    canary = c.trace("external", "http://shop.example.com/cart", headers={"X-Canary": "always"})
    assert {x["pod"].split("/")[1].rsplit("-", 2)[0] for x in plain.candidates} == {"web", "web-canary"}
    assert [x["pod"].split("/")[1].rsplit("-", 2)[0] for x in canary.candidates] == ["web-canary"]
    proxy = next(h for h in canary.hops if h.action == "proxy")
    assert "GET http://shop.example.com/cart (X-Canary: always)" in proxy.detail


def test_cli_method_and_header_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "gateway", "--from", "external", "--to", "http://shop.example.com/cart",
                 "--method", "POST", "--header", "x-canary: always"]) == 0
    assert "POST http://shop.example.com/cart (x-canary: always)" in capsys.readouterr().out
    assert main(["trace", "gateway", "--from", "external", "--to", "http://a.example.com/",
                 "--header", "no colon"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no colon" in err and "Name: value" in err
    assert main(["trace", "gateway", "--from", "external", "--to", "svc/shop/web:80", "--method", "POST"]) == 2
    assert "--method" in capsys.readouterr().err
