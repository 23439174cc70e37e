"""ingress-nginx's rewrite-target, use-regex, ssl-redirect and force-ssl-redirect annotations.

Each test cites the ingress-nginx document whose example it recreates (kubernetes/ingress-nginx,
``docs/``).
"""

from __future__ import annotations

from typing import Any

import k8snetviz
from k8snetviz.agents.ingress_nginx import (
    FORCE_SSL_REDIRECT_ANNOTATION,
    REWRITE_TARGET_ANNOTATION,
    SSL_REDIRECT_ANNOTATION,
    USE_REGEX_ANNOTATION,
    rewrite,
    route_ingress,
)


def ingress(name: str, host: str, paths: list[tuple[str, str, str]], annotations: dict[str, str] | None = None,
            tls: list[dict[str, Any]] | None = None, created: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "annotations": annotations or {}}
    if created:
        meta["creationTimestamp"] = created
    spec: dict[str, Any] = {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": s, "port": {"number": 80}}}}
        for p, t, s in paths]}}]}
    if tls:
        spec["tls"] = tls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


# docs/examples/rewrite/README.md, "Rewrite Target": path /something(/|$)(.*) with rewrite-target /$2.
REWRITE = ingress("rewrite", "rewrite.bar.com", [("/something(/|$)(.*)", "ImplementationSpecific", "http-svc")],
                  {USE_REGEX_ANNOTATION: "true", REWRITE_TARGET_ANNOTATION: "/$2"})


def test_rewrite_target_with_capture_groups_as_the_docs_example() -> None:
    # "rewrite.bar.com/something rewrites to rewrite.bar.com/", "/something/ to /", "/something/new to /new"
    for request, upstream in (("/something", "/"), ("/something/", "/"), ("/something/new", "/new")):
        got = route_ingress([REWRITE], "rewrite.bar.com", request)
        assert got.backend == {"service": "default/http-svc", "port": 80}
        assert (got.upstream_path, got.rewrite_target) == (upstream, "/$2")
    # nginx's rewrite keeps the query string (appended after the rewritten URI)
    assert route_ingress([REWRITE], "rewrite.bar.com", "/something/new?id=7").upstream_path == "/new?id=7"
    assert rewrite("/api(/|$)(.*)", "/v2/$2?debug=1", "/api/x?id=7") == "/v2/x?debug=1&id=7"
    assert rewrite("/api", "/$1?", "/api/x?id=7") == "/"  # a trailing ? drops the original arguments


def test_regex_paths_are_case_insensitive_and_without_a_rewrite_the_path_is_unchanged() -> None:
    # docs/user-guide/ingress-path-matching.md: regex paths become `location ~* "^PATH"` (case-insensitive).
    got = route_ingress([REWRITE], "rewrite.bar.com", "/SOMETHING/new")
    assert got.backend is not None and got.upstream_path == "/new" and got.regex
    plain = ingress("plain", "plain.bar.com", [("/foo", "Prefix", "web")])
    assert route_ingress([plain], "plain.bar.com", "/foo/x").upstream_path is None


def test_rewrite_target_on_one_ingress_makes_every_path_of_the_host_a_regex() -> None:
    # docs/user-guide/ingress-path-matching.md, "Warning": with /foo/bar/bar (Prefix, Ingress test-ingress-1)
    # and /foo/bar/[A-Z0-9]{3} (ImplementationSpecific, rewrite-target on test-ingress-2), the request
    # /foo/bar/bar matches the regex location, listed first because it is longer.
    first = ingress("test-ingress-1", "test.com", [("/foo/bar/bar", "Prefix", "service1")])
    second = ingress("test-ingress-2", "test.com", [("/foo/bar/[A-Z0-9]{3}", "ImplementationSpecific", "service2")],
                     {REWRITE_TARGET_ANNOTATION: "/new/backend"})
    got = route_ingress([first, second], "test.com", "/foo/bar/bar")
    assert got.backend == {"service": "default/service2", "port": 80} and got.upstream_path == "/new/backend"
    # Without the annotation the same two paths are plain prefix locations: the exact-length Prefix wins.
    second["metadata"]["annotations"] = {}
    assert route_ingress([first, second], "test.com", "/foo/bar/bar").backend == {
        "service": "default/service1", "port": 80}


def test_regex_locations_are_tried_longest_first() -> None:
    # docs/user-guide/ingress-path-matching.md, "Regular Expression Support": /foo/bar, /foo/bar/ and
    # /foo/bar/(.+) give ~* ^/foo/bar/.+ first, then ~* "^/foo/bar/", then ~* "^/foo/bar".
    ing = ingress("test-ingress-3", "test.com", [("/foo/bar", "ImplementationSpecific", "service1"),
                                                 ("/foo/bar/", "ImplementationSpecific", "service2"),
                                                 ("/foo/bar/(.+)", "ImplementationSpecific", "service3")],
                  {USE_REGEX_ANNOTATION: "true"})
    assert [route_ingress([ing], "test.com", p).backend["service"] for p in ("/foo/bar/x", "/foo/bar/", "/foo/bar")] \
        == ["default/service3", "default/service2", "default/service1"]


TLS = [{"hosts": ["secure.bar.com"], "secretName": "secure-tls"}]


def test_ssl_redirect_defaults_to_true_with_tls_and_the_annotation_turns_it_off() -> None:
    # docs/user-guide/nginx-configuration/annotations.md, "Server-side HTTPS enforcement through redirect":
    # "By default the controller redirects (308) to HTTPS if TLS is enabled for that ingress ... use the
    # nginx.ingress.kubernetes.io/ssl-redirect: "false" annotation in the particular resource."
    on = ingress("secure", "secure.bar.com", [("/", "Prefix", "web")], tls=TLS)
    assert route_ingress([on], "secure.bar.com", "/", scheme="http").status == 308
    off = ingress("secure", "secure.bar.com", [("/", "Prefix", "web")], {SSL_REDIRECT_ANNOTATION: "false"}, tls=TLS)
    got = route_ingress([off], "secure.bar.com", "/", scheme="http")
    assert got.status is None and got.backend == {"service": "default/web", "port": 80} and "ssl-redirect" in got.reason
    assert route_ingress([off], "secure.bar.com", "/", scheme="https").tls.secret == "default/secure-tls"


def test_force_ssl_redirect_redirects_without_tls() -> None:
    # annotations.md: "force-ssl-redirect: "true" ... enforce a redirect to HTTPS even when there is no TLS
    # certificate available" (SSL offloaded outside the cluster).
    forced = ingress("offload", "shop.bar.com", [("/", "Prefix", "web")], {FORCE_SSL_REDIRECT_ANNOTATION: "true"})
    assert route_ingress([forced], "shop.bar.com", "/cart", scheme="http").status == 308
    assert route_ingress([forced], "shop.bar.com", "/cart", scheme="https").status is None


def test_the_walk_carries_the_rewritten_path_to_the_backend() -> None:
    extra = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewrite
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  ingressClassName: nginx
  rules:
  - host: rewrite.example.com
    http:
      paths:
      - path: /something(/|$)(.*)
        pathType: ImplementationSpecific
        backend: {service: {name: web, port: {number: 80}}}
"""
    c = k8snetviz.load("ingress", extra)
    answer = c.ingress("rewrite.example.com", "/something/new", method="POST", headers={"X-Debug": "1"})
    text = answer.text()
    assert "Rewrite: rewrite-target /$2: the backend receives /new" in text
    assert "Request: POST, X-Debug: 1" in text
    t = c.trace("external", "http://rewrite.example.com/something/new")
    assert t.delivered
    proxy = next(h for h in t.hops if h.action == "proxy")
    assert "rewritten path /new" in proxy.detail
