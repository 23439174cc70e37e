"""Ingress and Gateway API questions on the shipped scenarios: answers, walks, kubectl views, tasks, widget."""

from __future__ import annotations

import json

import pytest

import k8snetviz
from k8snetviz.cli import main
from k8snetviz.course.ingress_tasks import (
    SPLIT_SOLUTION,
    api_split_task,
    migrate_task,
    migration_solution,
)
from k8snetviz.errors import InvalidObject, NotFound, UsageError
from k8snetviz.questions.gateway import gateway_walk, http_route
from k8snetviz.questions.ingress import ingress, ingress_walk, parse_url
from k8snetviz.views import ingresstext as views

BAD_INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: api
        pathType: Prefix
        backend: {service: {name: api, port: {number: 8080}}}
"""


@pytest.fixture(scope="module")
def ing() -> k8snetviz.Cluster:
    return k8snetviz.load("ingress")


@pytest.fixture(scope="module")
def gw() -> k8snetviz.Cluster:
    return k8snetviz.load("gateway")


# --- ingress() ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "path", "backend", "matched"), [
    ("shop.example.com", "/api/orders", {"service": "default/api", "port": 8080}, "/api"),
    ("shop.example.com", "/apix", {"service": "default/web", "port": 80}, "/"),  # Prefix is element-wise
    ("shop.example.com", "/healthz", {"service": "default/api", "port": 8080}, "/healthz"),  # Exact
    ("shop.example.com", "/healthz/", {"service": "default/web", "port": 80}, "/"),  # Exact: the slash counts
    ("Shop.Example.COM:80", "/", {"service": "default/web", "port": 80}, "/"),  # Host header: case, port
    ("blog.example.com", "/", {"service": "default/blog", "port": 80}, "/"),  # one-label wildcard
])
def test_ingress_backends(ing, host, path, backend, matched):
    d = ingress(ing, host, path).to_dict()
    assert d["backend"] == backend and d["path"] == matched and d["default_backend"] is False


def test_wildcard_covers_one_label_so_the_default_backend_takes_two(ing):
    # Kubernetes docs, Ingress "Hostname wildcards": *.foo.com matches bar.foo.com, not baz.bar.foo.com.
    d = ingress(ing, "a.b.example.com", "/").to_dict()
    assert d == {"backend": {"service": "default/web", "port": 80}, "ingress": "default/fallback",
                 "host": "*", "path": None, "path_type": None, "default_backend": True}


def test_tls_host_over_http_is_redirected_and_over_https_proxied(ing):
    plain = ingress(ing, "secure.example.com", "/")
    assert plain.status == 308 and "redirect" in plain.text()
    secure = ingress(ing, "secure.example.com", "/", scheme="https")
    assert secure.status is None and secure.route.tls.secret == "default/secure-tls"


def test_other_class_is_ignored_and_said_so(ing):
    # legacy (class traefik) defines shop.example.com/old; ingress-nginx does not serve it.
    answer = ingress(ing, "shop.example.com", "/old")
    assert answer.backend == {"service": "default/web", "port": 80}
    assert 'class "traefik"' in answer.route.skipped["default/legacy"]
    assert 'default/legacy: ignored: class "traefik"' in answer.text()


def test_text_names_the_match_and_why_others_did_not(ing):
    text = ingress(ing, "shop.example.com", "/apix").text()
    first, *rest = text.splitlines()
    assert first == ("http://shop.example.com/apix -> default/web:80 "
                     "(Ingress default/shop, host shop.example.com, path / Prefix)")
    assert "  ✘ default/shop shop.example.com /api (Prefix) -> default/api:8080: Prefix /api matches whole path " \
        "elements; /apix only shares characters" in rest


def test_html_has_a_table_with_marks(ing):
    html = ingress(ing, "shop.example.com", "/api")._repr_mimebundle_()["text/html"]
    assert "knv-backend" in html and "<table class='knv-rules'>" in html and "✔" in html and "✘" in html


def test_invalid_ingress_is_refused_with_the_api_servers_message():
    cluster = k8snetviz.load("ingress", BAD_INGRESS)
    with pytest.raises(InvalidObject) as e:
        ingress(cluster, "shop.example.com", "/")
    assert str(e.value) == ('The Ingress "broken" is invalid: spec.rules[0].http.paths[0].path: '
                            'Invalid value: "api": must be an absolute path')


def test_missing_backend_service_gives_503():
    extra = BAD_INGRESS.replace("path: api", "path: /x").replace("name: api,", "name: nope,")
    answer = ingress(k8snetviz.load("ingress", extra), "shop.example.com", "/x")
    assert answer.status == 503 and 'service "default/nope" does not exist' in answer.route.reason


@pytest.mark.parametrize(("host", "path", "message"), [
    ("", "/", "the request has no host"),
    ("shop.example.com", "api", 'path "api": a request path starts with "/"'),
])
def test_bad_requests(ing, host, path, message):
    with pytest.raises(UsageError, match=message):
        ingress(ing, host, path)


def test_parse_url():
    assert parse_url("https://shop.example.com:8443/a?b=1") == ("https", "shop.example.com", 8443, "/a?b=1")
    assert parse_url("http://shop.example.com") == ("http", "shop.example.com", 80, "/")
    with pytest.raises(UsageError, match="port"):
        parse_url("http://shop.example.com:99999/")


def test_cli_ingress_json_contract(capsys):
    assert main(["ingress", "ingress", "--host", "shop.example.com", "--path", "/api/v1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "backend": {"service": "default/api", "port": 8080}, "ingress": "default/shop",
        "host": "shop.example.com", "path": "/api", "path_type": "Prefix", "default_backend": False}


# --- the walk through the controller ------------------------------------------------------------------------


def test_ingress_walk_two_legs_straight_to_an_endpoint(ing):
    walk = ingress_walk(ing, ingress(ing, "shop.example.com", "/"))
    controller = next(p for p in ing.pods.values() if p.namespace == "ingress-nginx")
    assert walk.proxy_service == "ingress-nginx/ingress-nginx-controller"
    # ingress-nginx's --publish-service is a LoadBalancer: the client dials its external address.
    assert walk.entry.src == "external" and walk.entry.dst == "172.18.255.201:80"
    assert walk.upstream.src == f"pod/{controller.key}"
    # ingress-nginx balances over the EndpointSlices itself (no service-upstream annotation): pod addresses.
    web = sorted(p.key for p in ing.pods.values() if p.labels.get("app") == "web")
    assert sorted(c["pod"] for c in walk.candidates) == web
    assert [c["probability"] for c in walk.candidates] == [0.5, 0.5]
    assert walk.upstream.dst == walk.candidates[0]["dst"] and walk.upstream.dst.endswith(":80")
    assert not walk.via_service and not walk.client_ip_preserved
    assert any(str(controller.ip) in f and "as its client" in f for f in walk.facts)


def test_walk_choose_and_forwarded_headers(ing):
    walk = ingress_walk(ing, ingress(ing, "shop.example.com", "/api/x"))
    api = next(p for p in ing.pods.values() if p.labels.get("app") == "api")
    assert walk.choose(api.key).dst == f"pod/{api.key}:8080"
    with pytest.raises(UsageError, match="not an endpoint"):
        walk.choose("default/nope")
    assert walk.forwarded_headers("172.18.0.100:40000") == {
        "X-Forwarded-For": "172.18.0.100", "X-Real-IP": "172.18.0.100", "X-Forwarded-Host": "shop.example.com",
        "X-Forwarded-Port": "80", "X-Forwarded-Proto": "http"}


def test_service_upstream_annotation_sends_to_the_cluster_ip():
    extra = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  annotations: {nginx.ingress.kubernetes.io/service-upstream: "true"}
spec:
  ingressClassName: nginx
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
"""
    cluster = k8snetviz.load("ingress", extra)
    walk = ingress_walk(cluster, ingress(cluster, "shop.example.com", "/"))
    assert walk.via_service and walk.upstream.dst == "svc/default/web:80"


def test_walk_stops_at_the_controller_when_it_answers(ing):
    walk = ingress_walk(ing, ingress(ing, "secure.example.com", "/"))
    assert walk.status == 308 and walk.upstream is None


def test_walk_https_uses_port_443(ing):
    walk = ingress_walk(ing, ingress(ing, "secure.example.com", "/", scheme="https"))
    assert walk.entry.dst == "172.18.255.201:443" and walk.upstream is not None


# --- Gateway API -------------------------------------------------------------------------------------------


def test_http_route_weights_and_status(gw):
    answer = http_route(gw, "shop.example.com", "/cart")
    d = answer.to_dict()
    assert [(c["service"], c["probability"]) for c in d["candidates"]] == [("shop/web", 0.9),
                                                                            ("shop/web-canary", 0.1)]
    assert d["routes"]["dev/preview"][0]["conditions"][0]["reason"] == "NotAllowedByListeners"
    assert d["routes"]["shop/partner"][0]["conditions"][0]["reason"] == "NoMatchingListenerHostname"
    assert "✘ dev/preview on infra/shared: Accepted=False (NotAllowedByListeners)" in answer.text()


def test_http_route_header_match_beats_plain_prefix(gw):
    # Gateway API HTTPRouteRule precedence: equal paths, then more header matches win.
    answer = http_route(gw, "shop.example.com", "/cart", headers={"X-Canary": "always"})
    assert answer.backend == {"service": "shop/web-canary", "port": 80} and answer.route.rule == 1


def test_not_admitted_route_is_never_installed(gw):
    assert http_route(gw, "preview.example.com", "/").status == 404


def test_unknown_gateway_is_not_found(gw):
    with pytest.raises(NotFound, match='gateways.gateway.networking.k8s.io "nope" not found'):
        http_route(gw, "shop.example.com", "/", gateway="infra/nope")


def test_gateway_walk_splits_weights_over_endpoints(gw):
    walk = gateway_walk(gw, http_route(gw, "shop.example.com", "/cart"))
    assert walk.proxy_service == "envoy-gateway-system/envoy-infra-shared"
    shares = {c["pod"].split("/")[1].rsplit("-", 2)[0]: 0.0 for c in walk.candidates}
    for c in walk.candidates:
        shares[c["pod"].split("/")[1].rsplit("-", 2)[0]] += c["probability"]
    assert shares == pytest.approx({"web": 0.9, "web-canary": 0.1})
    assert sum(c["pod"].startswith("shop/web-") and "canary" not in c["pod"] for c in walk.candidates) == 2


# --- kubectl views --------------------------------------------------------------------------------------------


def test_get_ingress_columns(ing):
    lines = views.get_ingress(ing).splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    # blog has no class in its manifest: DefaultIngressClass admission set it to the default class.
    assert rows["blog"].split()[1] == "nginx"
    assert rows["secure"].split()[4:6] == ["80,", "443"]  # PORTS "80, 443" with a TLS section
    assert rows["legacy"].split()[3] == "80"  # no controller of class traefik: no ADDRESS
    assert rows["fallback"].split()[2] == "*"


def test_hosts_column_stops_at_three():
    rules = [{"host": f"h{i}.example.com"} for i in range(5)]
    assert views._format_hosts(rules) == "h0.example.com,h1.example.com,h2.example.com + 2 more..."
    assert views._format_hosts([{}]) == "*"


def test_describe_ingress_is_aligned_like_kubectl(ing):
    text = views.describe_ingress(ing, "shop")
    web = sorted(str(p.ip) for p in ing.pods.values() if p.labels.get("app") == "web")
    assert "Ingress Class:    nginx" in text and "Default backend:  <default>" in text
    assert "  Host              Path  Backends" in text
    assert any(line.strip().startswith("/ ") and "web:80 (" in line and all(ip in line for ip in web)
               for line in text.splitlines())
    assert "Annotations:        <none>" in text
    with pytest.raises(NotFound):
        views.describe_ingress(ing, "nope")


def test_get_gateway_and_httproute(gw):
    assert views.get_gateway(gw, namespace="infra").splitlines()[1].split() == \
        ["shared", "eg", "172.18.255.201", "True", "5m"]
    assert '["shop.example.com"]' in views.get_httproute(gw, namespace="shop")
    assert "reason: NotAllowedByListeners" in views.httproute_yaml(gw, "preview", "dev")


# --- tasks and widget -----------------------------------------------------------------------------------------


def test_split_task_accepts_the_solution_and_catches_the_traps():
    task = api_split_task()
    assert task.check(SPLIT_SOLUTION).passed
    wrong_host = task.check(SPLIT_SOLUTION.replace("app.example.com", "ap.example.com"))
    assert not wrong_host.passed and "wildcard took it" in wrong_host.messages[0]
    assert "must be an absolute path" in task.check(SPLIT_SOLUTION.replace("path: /api", "path: api")).messages[0]
    assert not task.check("kind: Service\nmetadata: {name: x}\n").passed


def test_migrate_task_solution_and_a_detached_route():
    task = migrate_task()
    assert task.check(migration_solution()).passed
    detached = task.check(migration_solution().replace("namespace: infra", "namespace: nowhere"))
    assert not detached.passed and "no status" in detached.messages[0]


def test_url_tester_routes_and_keeps_bad_text(ing, gw):
    from k8snetviz.widgets import URLTester

    t = URLTester(ing, url="http://shop.example.com/api")
    assert "default/api:8080" in t.result.value and "knv-walk" in t.walk_view.value
    t.url.value = "shop.example.com/api"  # not a URL: shown in place, text kept, last answer kept
    assert "not a URL" in t.error.value and t.url.value == "shop.example.com/api"
    assert "default/api:8080" in t.result.value
    g = URLTester(gw, url="http://shop.example.com/cart", mode="HTTPRoute")
    assert "90%" in g.result.value
    g.header.value = "x-canary: always"
    g.test()
    assert "shop/web-canary:80 (HTTPRoute shop/shop rule 1)" in g.result.value
