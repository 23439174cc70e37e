"""Gateway API: route status reasons, hostname intersection, HTTPRoute precedence, weights, and the
migration from Ingress (both must route the same URLs the same way)."""

from __future__ import annotations

from typing import Any

import pytest

from k8snetviz.agents.gateway import (
    attachments,
    gateway_host_matches,
    hostname_intersection,
    ingress_to_gateway_api,
    ingress_to_httproutes,
    route_http,
    route_status,
)
from k8snetviz.agents.ingress_nginx import route_ingress
from k8snetviz.errors import UsageError


def gateway(listeners: list[dict[str, Any]], name: str = "gw", namespace: str = "infra") -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayClassName": "eg", "listeners": listeners},
    }


def listener(name: str = "http", port: int = 80, protocol: str = "HTTP", hostname: str | None = None, **allowed):
    ls: dict[str, Any] = {"name": name, "port": port, "protocol": protocol}
    if hostname:
        ls["hostname"] = hostname
    if allowed:
        ls["allowedRoutes"] = allowed
    return ls


ALL = {"namespaces": {"from": "All"}}


def httproute(
    name: str,
    rules: list[dict[str, Any]],
    *,
    namespace: str = "app",
    hostnames: list[str] | None = None,
    parent: dict[str, Any] | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if created:
        meta["creationTimestamp"] = created
    spec: dict[str, Any] = {"parentRefs": [parent or {"name": "gw", "namespace": "infra"}], "rules": rules}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta, "spec": spec}


def rule(service: str, path: str | None = None, path_type: str = "PathPrefix", port: int = 80, **match) -> dict:
    m: dict[str, Any] = dict(match)
    if path is not None:
        m["path"] = {"type": path_type, "value": path}
    r: dict[str, Any] = {"backendRefs": [{"name": service, "port": port}]}
    if m:
        r["matches"] = [m]
    return r


def service(name: str, namespace: str = "app", ports: tuple[int, ...] = (80,), names: tuple[str, ...] = ()):
    spec_ports = [
        {"port": p, **({"name": n} if n else {})} for p, n in zip(ports, names or ("",) * len(ports), strict=True)
    ]
    return {"kind": "Service", "metadata": {"name": name, "namespace": namespace}, "spec": {"ports": spec_ports}}


def services(*names: str, namespace: str = "app") -> list[dict[str, Any]]:
    return [service(n, namespace) for n in names]


def conditions(route, objects) -> dict[str, tuple[str, str]]:
    (parent,) = route_status(route, objects)
    return {c.type: (c.status, c.reason) for c in parent.conditions}


# --- attachment and status ----------------------------------------------------------------------------


def test_route_accepted_when_the_listener_allows_its_namespace():
    route = httproute("web", [rule("web")])
    objs = [gateway([listener(**ALL)]), route, *services("web")]
    assert conditions(route, objs) == {"Accepted": ("True", "Accepted"), "ResolvedRefs": ("True", "ResolvedRefs")}
    assert [(a.gateway, a.listener, a.route, a.hostnames) for a in attachments(objs)] == [
        ("infra/gw", "http", "app/web", ["*"])
    ]


def test_allowed_routes_default_is_same_namespace():
    # Gateway API: allowedRoutes defaults to namespaces.from=Same.
    route = httproute("web", [rule("web")])
    objs = [gateway([listener()]), route, *services("web")]
    status, reason = conditions(route, objs)["Accepted"]
    assert (status, reason) == ("False", "NotAllowedByListeners")
    assert route_http(objs, "a.example", "/").status == 404


def test_allowed_routes_selector_uses_namespace_labels():
    sel = {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"shared-gateway": "true"}}}}
    route = httproute("web", [rule("web")])
    ns = {"kind": "Namespace", "metadata": {"name": "app", "labels": {"shared-gateway": "true"}}}
    assert conditions(route, [gateway([listener(**sel)]), route, ns, *services("web")])["Accepted"][0] == "True"
    assert conditions(route, [gateway([listener(**sel)]), route, *services("web")])["Accepted"][1] == (
        "NotAllowedByListeners"
    )
    # The API server labels every namespace with kubernetes.io/metadata.name.
    by_name = {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": "app"}}}}
    assert conditions(route, [gateway([listener(**by_name)]), route, *services("web")])["Accepted"][0] == "True"


def test_allowed_kinds_and_protocol_filter_httproutes():
    route = httproute("web", [rule("web")])
    only_grpc = {"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}
    objs = [gateway([listener(**only_grpc), listener("tcp", 9000, "TCP", **ALL)]), route, *services("web")]
    assert conditions(route, objs)["Accepted"] == ("False", "NotAllowedByListeners")


def test_parent_ref_section_name_or_port_without_listener_is_no_matching_parent():
    route = httproute("web", [rule("web")], parent={"name": "gw", "namespace": "infra", "sectionName": "https"})
    objs = [gateway([listener(**ALL)]), route, *services("web")]
    (parent,) = route_status(route, objs)
    assert parent.condition("Accepted").reason == "NoMatchingParent"
    assert "sectionName 'https'" in parent.condition("Accepted").message
    by_port = httproute("web", [rule("web")], parent={"name": "gw", "namespace": "infra", "port": 8080})
    assert conditions(by_port, [gateway([listener(**ALL)]), by_port])["Accepted"][1] == "NoMatchingParent"


def test_no_hostname_in_common_is_no_matching_listener_hostname():
    route = httproute("web", [rule("web")], hostnames=["bar.example.net"])
    objs = [gateway([listener(hostname="foo.example.com", **ALL)]), route, *services("web")]
    assert conditions(route, objs)["Accepted"] == ("False", "NoMatchingListenerHostname")


def test_missing_gateway_gets_no_status_entry():
    # Gateway API RouteParentStatus: a parentRef to a nonexistent parent may have no condition at all.
    route = httproute("web", [rule("web")], parent={"name": "nope"})
    assert route_status(route, [route]) == []


def test_missing_backend_is_backend_not_found_and_a_500():
    route = httproute("web", [rule("api")])
    objs = [gateway([listener(**ALL)]), route]
    (parent,) = route_status(route, objs)
    assert parent.accepted  # accepted, yet a reference does not resolve
    assert (parent.condition("ResolvedRefs").status, parent.condition("ResolvedRefs").reason) == (
        "False",
        "BackendNotFound",
    )
    assert parent.condition("ResolvedRefs").message == 'Service "app/api" not found'
    assert route_http(objs, "x", "/").status == 500


def test_cross_namespace_backend_needs_a_reference_grant():
    r = {"backendRefs": [{"name": "db-api", "namespace": "data", "port": 80}]}
    route = httproute("web", [r])
    objs = [gateway([listener(**ALL)]), route, service("db-api", "data")]
    assert conditions(route, objs)["ResolvedRefs"] == ("False", "RefNotPermitted")
    grant = {
        "kind": "ReferenceGrant",
        "metadata": {"name": "allow-app", "namespace": "data"},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "app"}],
            "to": [{"group": "", "kind": "Service"}],
        },
    }
    assert conditions(route, [*objs, grant])["ResolvedRefs"] == ("True", "ResolvedRefs")
    assert route_http([*objs, grant], "x", "/").backend == {"service": "data/db-api", "port": 80}


def test_unknown_backend_kind_is_invalid_kind():
    r = {"backendRefs": [{"group": "example.com", "kind": "Bucket", "name": "b"}]}
    route = httproute("web", [r])
    assert conditions(route, [gateway([listener(**ALL)]), route])["ResolvedRefs"] == ("False", "InvalidKind")


def test_unknown_method_is_unsupported_value():
    route = httproute("web", [rule("web", "/", method="FETCH")])
    objs = [gateway([listener(**ALL)]), route, *services("web")]
    assert conditions(route, objs)["Accepted"] == ("False", "UnsupportedValue")


def test_status_to_dict_is_route_parent_status_shape():
    route = httproute("web", [rule("web")])
    gw_class = {"kind": "GatewayClass", "metadata": {"name": "eg"}, "spec": {"controllerName": "example.net/gw"}}
    (parent,) = route_status(route, [gateway([listener(**ALL)]), route, gw_class, *services("web")])
    d = parent.to_dict()
    assert d["parentRef"] == {"name": "gw", "namespace": "infra"}
    assert d["controllerName"] == "example.net/gw"
    assert [c["type"] for c in d["conditions"]] == ["Accepted", "ResolvedRefs"]


def test_gateway_of_an_unknown_class_is_not_served():
    route = httproute("web", [rule("web")])
    other = {"kind": "GatewayClass", "metadata": {"name": "other"}, "spec": {"controllerName": "x.io/y"}}
    assert route_status(route, [gateway([listener(**ALL)]), route, other]) == []


# --- hostnames ----------------------------------------------------------------------------------------


def test_hostname_intersection_examples_from_the_spec():
    # HTTPRoute spec.hostnames: listener test.example.com accepts routes with no hostnames,
    # test.example.com or *.example.com.
    assert hostname_intersection("test.example.com", []) == ["test.example.com"]
    assert hostname_intersection("test.example.com", ["test.example.com"]) == ["test.example.com"]
    assert hostname_intersection("test.example.com", ["*.example.com"]) == ["test.example.com"]
    # Listener *.example.com: *.example.com, test.example.com and foo.test.example.com match;
    # example.com and test.example.net do not (and are ignored).
    assert hostname_intersection("*.example.com", ["*.example.com", "test.example.com", "foo.test.example.com"]) == [
        "*.example.com",
        "test.example.com",
        "foo.test.example.com",
    ]
    assert hostname_intersection("*.example.com", ["example.com", "test.example.net"]) == []


def test_gateway_wildcards_are_suffix_matches_unlike_ingress():
    assert gateway_host_matches("*.example.com", "foo.test.example.com")
    assert not gateway_host_matches("*.example.com", "example.com")


def test_most_specific_listener_hostname_takes_the_request():
    gw = gateway(
        [
            listener("any", **ALL),
            listener("wild", hostname="*.example.com", **ALL),
            listener("exact", hostname="shop.example.com", **ALL),
        ]
    )
    on_exact = httproute("a", [rule("a")], parent={"name": "gw", "namespace": "infra", "sectionName": "exact"})
    on_wild = httproute("b", [rule("b")], parent={"name": "gw", "namespace": "infra", "sectionName": "wild"})
    objs = [gw, on_exact, on_wild, *services("a", "b")]
    got = route_http(objs, "shop.example.com", "/")
    assert (got.listener, got.backend["service"]) == ("exact", "app/a")
    assert route_http(objs, "blog.example.com", "/").backend["service"] == "app/b"
    assert route_http(objs, "other.org", "/").status == 404  # listener "any" has no routes


# --- matching precedence ------------------------------------------------------------------------------


def objs_with(*routes: dict[str, Any]) -> list[dict[str, Any]]:
    names = {b["name"] for r in routes for ru in r["spec"]["rules"] for b in ru.get("backendRefs", [])}
    return [gateway([listener(**ALL)]), *routes, *services(*names)]


def test_exact_hostname_route_wins_over_wildcard_on_an_equal_match_not_a_shorter_path():
    # issue 14 asks for the spec's match order (exact path, longest prefix, method, headers, query, then
    # age and name); the conformance suite's HTTPRouteMatchingAcrossRoutes (conformance/tests/
    # httproute-matching-across-routes.go) sends example.com/v2 to a "*.com" route's /v2 rather than to an
    # "example.com" route's /. So the longer wildcard-route path wins; the hostname breaks ties.
    exact = httproute("exact", [rule("exact", "/")], hostnames=["shop.example.com"])
    wild = httproute("wild", [rule("wild", "/cart/items")], hostnames=["*.example.com"])
    got = route_http(objs_with(exact, wild), "shop.example.com", "/cart/items")
    assert got.route == "app/wild" and got.hostname == "*.example.com"
    wild_root = httproute("wild", [rule("wild", "/")], hostnames=["*.example.com"])
    got = route_http(objs_with(exact, wild_root), "shop.example.com", "/cart/items")
    assert got.route == "app/exact" and got.hostname == "shop.example.com"
    # Precedence, not exclusion: a path only the wildcard route has still reaches it.
    exact_only_api = httproute("exact", [rule("exact", "/api")], hostnames=["shop.example.com"])
    assert route_http(objs_with(exact_only_api, wild), "shop.example.com", "/cart/items").route == "app/wild"


def test_exact_path_beats_a_longer_prefix_and_longest_prefix_wins():
    r = httproute(
        "r",
        [
            rule("prefix-long", "/api/v1/users/"),
            rule("exact", "/api/v1/users", "Exact"),
            rule("prefix", "/api"),
        ],
    )
    objs = objs_with(r)
    assert route_http(objs, "h", "/api/v1/users").backend["service"] == "app/exact"
    assert route_http(objs, "h", "/api/v1/users/7").backend["service"] == "app/prefix-long"
    assert route_http(objs, "h", "/api/v2").backend["service"] == "app/prefix"
    assert route_http(objs, "h", "/apis").status == 404


def test_method_then_header_count_then_query_count():
    r = httproute(
        "r",
        [
            rule("plain", "/x"),
            rule("query", "/x", queryParams=[{"name": "v", "value": "2"}]),
            rule("headers", "/x", headers=[{"name": "X-Env", "value": "canary"}]),
            rule("method", "/x", method="POST"),
        ],
    )
    objs = objs_with(r)
    assert route_http(objs, "h", "/x?v=2", method="POST", headers={"x-env": "canary"}).backend["service"] == (
        "app/method"
    )
    assert route_http(objs, "h", "/x?v=2", headers={"X-ENV": "canary"}).backend["service"] == "app/headers"
    assert route_http(objs, "h", "/x?v=2&v=3").backend["service"] == "app/query"
    assert route_http(objs, "h", "/x?v=3&v=2").backend["service"] == "app/plain"  # first value counts


def test_ties_go_to_the_oldest_route_then_alphabetical_then_first_rule():
    old = httproute("zeta", [rule("old", "/")], created="2024-01-01T00:00:00Z")
    new = httproute("alpha", [rule("new", "/")], created="2024-02-01T00:00:00Z")
    assert route_http(objs_with(new, old), "h", "/").route == "app/zeta"
    b = httproute("b", [rule("from-b", "/")])
    a = httproute("a", [rule("from-a", "/"), rule("from-a-second", "/")])
    got = route_http(objs_with(b, a), "h", "/")
    assert (got.route, got.rule, got.backend["service"]) == ("app/a", 0, "app/from-a")
    assert any("takes precedence" in c.reason for c in got.considered if not c.chosen)


def test_regular_expression_path_match():
    r = httproute("r", [rule("re", r"/items/[0-9]+", "RegularExpression"), rule("root", "/")])
    objs = objs_with(r)
    assert route_http(objs, "h", "/items/42").backend["service"] == "app/re"
    assert route_http(objs, "h", "/items/abc").backend["service"] == "app/root"


def test_provenance_names_why_a_prefix_did_not_match():
    r = httproute("r", [rule("bb", "/aaa/bb"), rule("root", "/")])
    got = route_http(objs_with(r), "h", "/aaa/bbb")
    assert got.backend["service"] == "app/root"
    assert "whole path elements" in got.considered[0].reason


def test_request_redirect_filter_answers_itself():
    r = httproute(
        "r",
        [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
    )
    got = route_http(objs_with(r), "h", "/")
    assert got.status == 301 and got.candidates == []


# --- weights ------------------------------------------------------------------------------------------


def test_weights_become_probabilities_and_zero_weight_is_excluded():
    r = httproute(
        "canary",
        [
            {
                "backendRefs": [
                    {"name": "stable", "port": 80, "weight": 3},
                    {"name": "canary", "port": 80, "weight": 1},
                    {"name": "dark", "port": 80, "weight": 0},
                ]
            }
        ],
    )
    got = route_http(objs_with(r), "h", "/")
    assert [(c["service"], c["probability"]) for c in got.to_dict()["candidates"]] == [
        ("app/stable", 0.75),
        ("app/canary", 0.25),
    ]
    assert got.backend is None and got.status is None


def test_weight_defaults_to_one_and_a_single_backend_is_the_backend():
    r = httproute("r", [{"backendRefs": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}])
    assert [c.probability for c in route_http(objs_with(r), "h", "/").candidates] == [0.5, 0.5]
    single = httproute("s", [rule("only")])
    assert route_http(objs_with(single), "h", "/").to_dict()["backend"] == {"service": "app/only", "port": 80}


def test_invalid_backends_keep_their_share_as_500s():
    # HTTPRoute spec: requests that would go to an invalid backendRef get a 500, in proportion.
    r = httproute("r", [{"backendRefs": [{"name": "ok", "port": 80}, {"name": "missing", "port": 80}]}])
    objs = [gateway([listener(**ALL)]), r, *services("ok")]
    got = route_http(objs, "h", "/")
    assert got.status is None and "50% of requests get 500" in got.reason
    assert [c["valid"] for c in got.to_dict()["candidates"]] == [True, False]


# --- Ingress to HTTPRoute -------------------------------------------------------------------------------


def shop_ingress(paths: list[tuple[str, str, str]], default: str | None = None, host="shop.example.com"):
    def back(name):
        return {"service": {"name": name, "port": {"number": 80}}}

    spec: dict[str, Any] = {
        "rules": [
            {"host": host, "http": {"paths": [{"path": p, "pathType": t, "backend": back(s)} for p, t, s in paths]}}
        ]
    }
    if default:
        spec["defaultBackend"] = back(default)
    return {"kind": "Ingress", "metadata": {"name": "shop", "namespace": "app"}, "spec": spec}


URLS = [
    ("shop.example.com", "/"),
    ("shop.example.com", "/api"),
    ("shop.example.com", "/api/"),
    ("shop.example.com", "/api/v1/users"),
    ("shop.example.com", "/apis"),
    ("shop.example.com", "/login"),
    ("shop.example.com", "/login/"),
    ("shop.example.com", "/static/app.js"),
    ("other.example.com", "/api"),
]


@pytest.mark.parametrize("default", [None, "web"])
def test_an_ingress_and_its_httproute_route_the_same_urls_the_same_way(default):
    ing = shop_ingress(
        [
            ("/api", "Prefix", "api"),
            ("/api/v1", "Prefix", "api-v1"),
            ("/login", "Exact", "auth"),
            ("/static/", "Prefix", "cdn"),
        ],
        default,
    )
    svcs = services("api", "api-v1", "auth", "cdn", "web")
    converted = ingress_to_gateway_api([ing], gateway="infra/nginx", services=svcs)
    gw_objs = [*converted, *svcs]
    for host, path in URLS:
        via_ingress = route_ingress([ing], host, path).backend
        via_gateway = route_http(gw_objs, host, path)
        assert via_gateway.backend == via_ingress, (host, path)
        assert (via_gateway.status == 404) == (via_ingress is None), (host, path)


def test_converted_route_shape():
    ing = shop_ingress([("/api", "Prefix", "api"), ("/login", "Exact", "auth")], default="web")
    (route,) = ingress_to_httproutes(ing, gateway="infra/nginx")
    assert route["metadata"] == {"name": "shop-shop-example-com", "namespace": "app"}
    assert route["spec"]["hostnames"] == ["shop.example.com"]
    assert route["spec"]["parentRefs"] == [{"name": "nginx", "namespace": "infra"}]
    assert [r["matches"][0]["path"] for r in route["spec"]["rules"]] == [
        {"type": "PathPrefix", "value": "/api"},
        {"type": "Exact", "value": "/login"},
        {"type": "PathPrefix", "value": "/"},
    ]
    assert route["spec"]["rules"][-1]["backendRefs"] == [{"name": "web", "port": 80}]


def test_named_ports_are_resolved_through_the_service():
    ing = shop_ingress([("/", "Prefix", "web")])
    ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] = {"name": "http"}
    with pytest.raises(UsageError, match='port "http" is a name'):
        ingress_to_httproutes(ing)
    (route,) = ingress_to_httproutes(ing, services=[service("web", ports=(8080,), names=("http",))])
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "web", "port": 8080}]


def test_tls_hosts_become_https_listeners():
    ing = shop_ingress([("/", "Prefix", "web")])
    ing["spec"]["tls"] = [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    gw, route = ingress_to_gateway_api([ing], gateway="infra/nginx")
    https = gw["spec"]["listeners"][1]
    assert (https["protocol"], https["port"], https["hostname"]) == ("HTTPS", 443, "shop.example.com")
    assert https["tls"]["certificateRefs"] == [{"name": "shop-tls", "namespace": "app"}]
    got = route_http([gw, route, *services("web")], "shop.example.com", "/", scheme="https")
    assert (got.listener, got.backend["service"]) == ("https-shop-example-com", "app/web")


def test_where_the_two_apis_differ_host_rules_and_catch_all():
    # ingress-nginx: a host with its own server never falls back to rules without a host (404);
    # HTTPRoute hostname precedence is only precedence, so the hostname-less route still matches.
    def back(name):
        return {"service": {"name": name, "port": {"number": 80}}}

    ing = {
        "kind": "Ingress",
        "metadata": {"name": "mix", "namespace": "app"},
        "spec": {
            "rules": [
                {
                    "host": "shop.example.com",
                    "http": {"paths": [{"path": "/api", "pathType": "Prefix", "backend": back("api")}]},
                },
                {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": back("web")}]}},
            ]
        },
    }
    gw_objs = [*ingress_to_gateway_api([ing], gateway="infra/nginx"), *services("api", "web")]
    assert route_ingress([ing], "shop.example.com", "/home").status == 404
    assert route_http(gw_objs, "shop.example.com", "/home").backend == {"service": "app/web", "port": 80}
