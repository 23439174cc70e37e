"""Ingress: the Kubernetes docs' path-matching table, hosts, precedence, default backends, classes,
TLS and the API server's validation messages."""

from __future__ import annotations

from typing import Any

import pytest

from k8snetviz.agents.ingress_nginx import (
    backend_errors,
    check_ingress,
    default_ingress_class,
    host_matches,
    ingress_class_of,
    path_matches,
    route_ingress,
    validate_ingress,
    validate_ingress_class,
)
from k8snetviz.errors import InvalidObject


def backend(name: str, port: int | str = 80) -> dict[str, Any]:
    key = "number" if isinstance(port, int) else "name"
    return {"service": {"name": name, "port": {key: port}}}


def ingress(
    name: str = "web",
    paths: list[tuple[str, str, str]] = (),
    *,
    host: str | None = None,
    default: str | None = None,
    namespace: str = "default",
    created: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """An Ingress with one rule; ``paths`` are (path, pathType, service) triples."""
    rule: dict[str, Any] = {
        "http": {"paths": [{"path": p, "pathType": t, "backend": backend(s)} for p, t, s in paths]}
    }
    if host:
        rule["host"] = host
    body: dict[str, Any] = {"rules": [rule]} if paths else {}
    if default:
        body["defaultBackend"] = backend(default)
    body.update(spec)
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if created:
        meta["creationTimestamp"] = created
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": body}


# --- the path-matching examples table of the Kubernetes Ingress docs, one test per row ----------------
# (kubernetes.io/docs/concepts/services-networking/ingress/#examples): configured paths, request path,
# and the service that must answer; None means "no match, the default backend".
DOCS_TABLE = [
    ("prefix-root-all-paths", [("/", "Prefix")], ["/", "/foo", "/aaa/bbb/ccc"], 0),
    ("exact-same", [("/foo", "Exact")], ["/foo"], 0),
    ("exact-other", [("/foo", "Exact")], ["/bar"], None),
    ("exact-trailing-slash-in-request", [("/foo", "Exact")], ["/foo/"], None),
    ("exact-trailing-slash-in-path", [("/foo/", "Exact")], ["/foo"], None),
    ("prefix-foo", [("/foo", "Prefix")], ["/foo", "/foo/"], 0),
    ("prefix-foo-slash", [("/foo/", "Prefix")], ["/foo", "/foo/"], 0),
    ("prefix-not-element", [("/aaa/bb", "Prefix")], ["/aaa/bbb"], None),
    ("prefix-same", [("/aaa/bbb", "Prefix")], ["/aaa/bbb"], 0),
    ("prefix-ignores-trailing-slash", [("/aaa/bbb/", "Prefix")], ["/aaa/bbb"], 0),
    ("prefix-matches-trailing-slash", [("/aaa/bbb", "Prefix")], ["/aaa/bbb/"], 0),
    ("prefix-matches-subpath", [("/aaa/bbb", "Prefix")], ["/aaa/bbb/ccc"], 0),
    ("prefix-not-string-prefix", [("/aaa/bbb", "Prefix")], ["/aaa/bbbxyz"], None),
    ("prefix-longest-of-two", [("/", "Prefix"), ("/aaa", "Prefix")], ["/aaa/ccc"], 1),
    (
        "prefix-longest-of-three",
        [("/", "Prefix"), ("/aaa", "Prefix"), ("/aaa/bbb", "Prefix")],
        ["/aaa/bbb"],
        2,
    ),
    ("prefix-root-of-three", [("/", "Prefix"), ("/aaa", "Prefix"), ("/aaa/bbb", "Prefix")], ["/ccc"], 0),
    ("prefix-uses-default-backend", [("/aaa", "Prefix")], ["/ccc"], None),
    ("mixed-prefers-exact", [("/foo", "Prefix"), ("/foo", "Exact")], ["/foo"], 1),
]


@pytest.mark.parametrize(
    "configured,requests,winner", [r[1:] for r in DOCS_TABLE], ids=[r[0] for r in DOCS_TABLE]
)
def test_docs_path_matching_table(configured, requests, winner):
    ing = ingress(paths=[(p, t, f"svc{i}") for i, (p, t) in enumerate(configured)], default="fallback")
    for request in requests:
        got = route_ingress([ing], "example.com", request).to_dict()
        if winner is None:
            assert got["default_backend"] is True, request
            assert got["backend"] == {"service": "default/fallback", "port": 80}
        else:
            assert got["backend"] == {"service": f"default/svc{winner}", "port": 80}, request
            assert (got["path"], got["path_type"]) == configured[winner]
            assert got["default_backend"] is False


def test_path_matches_is_case_sensitive():
    # Ingress docs: Exact and Prefix matching are case sensitive.
    assert not path_matches("Exact", "/foo", "/FOO")
    assert not path_matches("Prefix", "/foo", "/Foo/bar")


def test_query_string_is_not_part_of_the_path():
    assert path_matches("Exact", "/search", "/search?q=1")


def test_implementation_specific_is_an_nginx_character_prefix():
    # ingress-nginx builds a plain `location /foo` for ImplementationSpecific (no "= " and no "/" split),
    # and nginx prefix locations compare characters: /foo matches /foobar, unlike Prefix.
    ing = ingress(paths=[("/foo", "ImplementationSpecific", "impl")])
    assert route_ingress([ing], "a.com", "/foobar").backend == {"service": "default/impl", "port": 80}
    assert path_matches("ImplementationSpecific", "", "/anything")  # empty path is "/" in ingress-nginx
    assert not path_matches("Prefix", "/foo", "/foobar")


def test_longest_path_wins_then_exact_beats_prefix():
    # Ingress docs: longest matching path first; on equal length Exact beats Prefix. A trailing "/"
    # on a Prefix path does not make it longer (it is ignored for matching).
    ing = ingress(paths=[("/a/b", "Prefix", "long"), ("/a", "Prefix", "short")])
    assert route_ingress([ing], "x.io", "/a/b/c").backend["service"] == "default/long"
    ing = ingress(paths=[("/a/b/", "Prefix", "prefix"), ("/a/b", "Exact", "exact")])
    assert route_ingress([ing], "x.io", "/a/b").backend["service"] == "default/exact"
    assert route_ingress([ing], "x.io", "/a/b/").backend["service"] == "default/prefix"


# --- hosts -------------------------------------------------------------------------------------------


def test_wildcard_host_covers_exactly_one_label():
    # Ingress docs, "Hostname wildcards": *.foo.com matches bar.foo.com, not baz.bar.foo.com nor foo.com.
    assert host_matches("*.foo.com", "bar.foo.com")
    assert not host_matches("*.foo.com", "baz.bar.foo.com")
    assert not host_matches("*.foo.com", "foo.com")
    ing = ingress(paths=[("/", "Prefix", "wild")], host="*.foo.com")
    assert route_ingress([ing], "bar.foo.com", "/").backend["service"] == "default/wild"
    deep = route_ingress([ing], "baz.bar.foo.com", "/")
    assert deep.backend is None and deep.status == 404
    assert "exactly one DNS label" in " ".join(deep.explain())


def test_host_header_port_and_case_are_ignored():
    ing = ingress(paths=[("/", "Prefix", "web")], host="foo.bar.com")
    assert route_ingress([ing], "Foo.Bar.COM:8080", "/").backend["service"] == "default/web"


def test_exact_host_rule_before_wildcard():
    wild = ingress("wild", [("/", "Prefix", "wild")], host="*.foo.com")
    exact = ingress("exact", [("/", "Prefix", "exact")], host="bar.foo.com")
    assert route_ingress([wild, exact], "bar.foo.com", "/").backend["service"] == "default/exact"
    assert route_ingress([wild, exact], "qux.foo.com", "/").backend["service"] == "default/wild"


def test_rules_without_host_do_not_rescue_a_host_that_has_its_own_server():
    # ingress-nginx: one nginx server per host; a request handled by foo.com's server never reaches the
    # catch-all server, where rules without a host live.
    ing = {
        "metadata": {"name": "mix", "namespace": "default"},
        "spec": {
            "rules": [
                {
                    "host": "foo.com",
                    "http": {"paths": [{"path": "/api", "pathType": "Prefix", "backend": backend("api")}]},
                },
                {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend("any")}]}},
            ]
        },
    }
    assert route_ingress([ing], "foo.com", "/other").status == 404
    other = route_ingress([ing], "other.com", "/other")
    assert other.backend["service"] == "default/any" and other.host == "*"


# --- default backends ---------------------------------------------------------------------------------


def test_no_match_and_no_default_backend_is_404_with_null_backend():
    got = route_ingress([ingress(paths=[("/aaa", "Prefix", "a")])], "x.io", "/ccc")
    assert got.status == 404
    assert got.to_dict() == {
        "backend": None,
        "ingress": None,
        "host": "*",
        "path": None,
        "path_type": None,
        "default_backend": False,
    }


def test_default_backend_of_an_ingress_with_rules_covers_its_own_hosts_only():
    ing = ingress(paths=[("/api", "Prefix", "api")], host="foo.com", default="web")
    got = route_ingress([ing], "foo.com", "/index.html")
    assert got.to_dict() == {
        "backend": {"service": "default/web", "port": 80},
        "ingress": "default/web",
        "host": "foo.com",
        "path": None,
        "path_type": None,
        "default_backend": True,
    }
    # Another host falls to the catch-all server, whose fallback is the controller's 404.
    assert route_ingress([ing], "bar.com", "/").status == 404


def test_ingress_with_only_a_default_backend_catches_every_unknown_host():
    single = ingress("single", default="catch")
    got = route_ingress([single], "anything.example", "/x")
    assert got.backend == {"service": "default/catch", "port": 80} and got.default_backend


def test_port_name_is_reported_as_written():
    ing = ingress(paths=[], default=None)
    ing["spec"] = {
        "rules": [
            {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend("web", "http")}]}}
        ]
    }
    assert route_ingress([ing], "a", "/").to_dict()["backend"] == {"service": "default/web", "port": "http"}


# --- several Ingresses of one class --------------------------------------------------------------------


def test_ingresses_of_one_class_merge_and_longest_path_wins_across_them():
    api = ingress("api", [("/api", "Prefix", "api")], host="shop.io")
    v2 = ingress("v2", [("/api/v2", "Prefix", "v2")], host="shop.io")
    assert route_ingress([api, v2], "shop.io", "/api/v2/items").ingress == "default/v2"
    assert route_ingress([api, v2], "shop.io", "/api/v1").ingress == "default/api"


def test_oldest_ingress_keeps_a_duplicate_path():
    # ingress-nginx sorts Ingresses by creationTimestamp; the first to define host+path+pathType keeps it.
    old = ingress("zz-old", [("/", "Prefix", "old")], host="a.io", created="2024-01-01T00:00:00Z")
    new = ingress("aa-new", [("/", "Prefix", "new")], host="a.io", created="2024-06-01T00:00:00Z")
    got = route_ingress([new, old], "a.io", "/")
    assert got.backend["service"] == "default/old"
    shadowed = [c for c in got.considered if c.ingress == "default/aa-new"]
    assert "shadowed" in shadowed[0].reason


def test_equal_timestamps_order_by_name_descending():
    # ingress-nginx store.go sortIngressSlice: on equal timestamps "namespace/name" sorts descending.
    a = ingress("a", [("/", "Prefix", "from-a")], host="a.io")
    b = ingress("b", [("/", "Prefix", "from-b")], host="a.io")
    assert route_ingress([a, b], "a.io", "/").backend["service"] == "default/from-b"


def test_provenance_says_why_the_others_did_not_match():
    ing = ingress(paths=[("/aaa/bb", "Prefix", "bb"), ("/aaa/bbb", "Exact", "ex"), ("/", "Prefix", "root")])
    got = route_ingress([ing], "h", "/aaa/bbb/")
    reasons = {c.path: c.reason for c in got.considered}
    assert got.backend["service"] == "default/root"
    assert "whole path elements" in reasons["/aaa/bb"]
    assert "trailing slash" in reasons["/aaa/bbb"]
    assert [c.chosen for c in got.considered] == [False, False, True]
    assert got.considered[2].to_dict()["matched"] is True


# --- IngressClass --------------------------------------------------------------------------------------


def klass(name: str, default: bool = False, created: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    if created:
        meta["creationTimestamp"] = created
    return {"kind": "IngressClass", "metadata": meta, "spec": {"controller": "k8s.io/ingress-nginx"}}


def test_class_from_field_annotation_or_default():
    classes = [klass("nginx", default=True), klass("traefik")]
    named = ingress(ingressClassName="traefik", paths=[("/", "Prefix", "a")])
    legacy = ingress(paths=[("/", "Prefix", "a")])
    legacy["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "traefik"}
    plain = ingress(paths=[("/", "Prefix", "a")])
    assert ingress_class_of(named, classes) == "traefik"
    assert ingress_class_of(legacy, classes) == "traefik"
    assert ingress_class_of(plain, classes) == "nginx"
    assert ingress_class_of(plain, [klass("nginx")]) is None


def test_newest_default_class_wins():
    # DefaultIngressClass admission plugin (Kubernetes >= 1.28): newest marked class, ties by name.
    classes = [klass("old", True, "2024-01-01T00:00:00Z"), klass("new", True, "2024-05-01T00:00:00Z")]
    assert default_ingress_class(classes) == "new"
    assert default_ingress_class([klass("b", True), klass("a", True)]) == "a"


def test_controller_ignores_ingresses_of_another_class():
    classes = [klass("nginx", default=True), klass("traefik")]
    mine = ingress("mine", [("/", "Prefix", "nginx-svc")], host="a.io")
    theirs = ingress("theirs", [("/app", "Prefix", "traefik-svc")], host="a.io", ingressClassName="traefik")
    got = route_ingress([mine, theirs], "a.io", "/app", classes=classes)
    assert got.backend["service"] == "default/nginx-svc"
    assert got.ingress_class == "nginx"
    assert "traefik" in got.skipped["default/theirs"]
    assert route_ingress(
        [mine, theirs], "a.io", "/app", classes=classes, ingress_class="traefik"
    ).ingress == ("default/theirs")


def test_ingress_without_any_class_is_ignored_when_classes_exist_but_none_is_default():
    got = route_ingress([ingress(paths=[("/", "Prefix", "a")])], "a", "/", classes=[klass("nginx")])
    assert got.status == 404
    assert "--watch-ingress-without-class" in got.skipped["default/web"]


# --- TLS -----------------------------------------------------------------------------------------------


def tls_ingress() -> dict[str, Any]:
    return ingress(
        paths=[("/", "Prefix", "web")],
        host="secure.foo.com",
        tls=[{"hosts": ["secure.foo.com"], "secretName": "foo-tls"}],
    )


def test_tls_terminates_at_the_controller_with_the_named_secret():
    got = route_ingress([tls_ingress()], "secure.foo.com", "/", scheme="https")
    assert got.tls.to_dict() == {
        "host": "secure.foo.com",
        "secret": "default/foo-tls",
        "ingress": "default/web",
    }
    assert got.status is None


def test_plain_http_to_a_tls_host_is_redirected():
    # ingress-nginx ssl-redirect (default true): 308 to https when the server has TLS.
    got = route_ingress([tls_ingress()], "secure.foo.com", "/", scheme="http")
    assert got.status == 308
    assert got.backend["service"] == "default/web"  # where the https request then goes


def test_https_to_a_host_without_tls_uses_the_default_certificate():
    ing = ingress(paths=[("/", "Prefix", "web")], host="plain.io")
    got = route_ingress([ing], "plain.io", "/", scheme="https")
    assert got.tls.secret is None and got.status is None
    assert route_ingress([ing], "plain.io", "/").status is None  # no redirect without TLS


# --- Services behind the backends ----------------------------------------------------------------------


def service(name: str, port: int = 80, port_name: str | None = "http") -> dict[str, Any]:
    p: dict[str, Any] = {"port": port}
    if port_name:
        p["name"] = port_name
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": {"ports": [p]}}


def test_missing_service_or_port_gives_503_and_field_errors():
    ing = ingress(paths=[("/a", "Prefix", "api"), ("/b", "Prefix", "web")])
    ing["spec"]["rules"][0]["http"]["paths"][1]["backend"] = backend("web", "grpc")
    services = [service("web")]
    assert route_ingress([ing], "h", "/a", services=services).status == 503
    assert "does not exist" in route_ingress([ing], "h", "/a", services=services).reason
    assert route_ingress([ing], "h", "/b", services=services).status == 503
    assert [str(e) for e in backend_errors(ing, services)] == [
        'spec.rules[0].http.paths[0].backend.service.name: Not found: "api"',
        'spec.rules[0].http.paths[1].backend.service.port.name: Not found: "grpc"',
    ]
    assert route_ingress([ing], "h", "/a", services=[service("api")]).status is None


# --- validation: the API server's messages ----------------------------------------------------------------


def one_path(path: Any = "/", path_type: Any = "Prefix", back: Any = None, host: str | None = None) -> dict:
    p: dict[str, Any] = {"backend": back if back is not None else backend("web")}
    if path is not None:
        p["path"] = path
    if path_type is not None:
        p["pathType"] = path_type
    rule: dict[str, Any] = {"http": {"paths": [p]}}
    if host is not None:
        rule["host"] = host
    return {"kind": "Ingress", "metadata": {"name": "web"}, "spec": {"rules": [rule]}}


P = "spec.rules[0].http.paths[0]"


@pytest.mark.parametrize(
    "obj,message",
    [
        (one_path("foo"), f'{P}.path: Invalid value: "foo": must be an absolute path'),
        (one_path("/foo", None), f"{P}.pathType: Required value: pathType must be specified"),
        (
            one_path("/foo", "Regex"),
            f'{P}.pathType: Unsupported value: "Regex": supported values: '
            '"Exact", "ImplementationSpecific", "Prefix"',
        ),
        (one_path("/a//b"), f"{P}.path: Invalid value: \"/a//b\": must not contain '//'"),
        (one_path("/a/../b", "Exact"), f"{P}.path: Invalid value: \"/a/../b\": must not contain '/../'"),
        (one_path("/a%2Fb"), f"{P}.path: Invalid value: \"/a%2Fb\": must not contain '%2F'"),
        (one_path("/a/.."), f"{P}.path: Invalid value: \"/a/..\": cannot end with '/..'"),
        (
            one_path("foo", "ImplementationSpecific"),
            f'{P}.path: Invalid value: "foo": must be an absolute path',
        ),
        (
            one_path(host="1.2.3.4"),
            'spec.rules[0].host: Invalid value: "1.2.3.4": must be a DNS name, not an IP address',
        ),
        (one_path(back={}), f'{P}.backend: Invalid value: "": resource or service backend is required'),
        (
            one_path(back={"service": {"name": "web", "port": {"name": "http", "number": 80}}}),
            f'{P}.backend: Invalid value: "": cannot set both port name & port number',
        ),
        (
            one_path(back={"service": {"name": "web"}}),
            f"{P}.backend: Required value: port name or number is required",
        ),
        (
            one_path(back=backend("web", 70000)),
            f"{P}.backend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            one_path(
                back={
                    "service": {"name": "web", "port": {"number": 80}},
                    "resource": {"kind": "B", "name": "b"},
                }
            ),
            f'{P}.backend: Invalid value: "": cannot set both resource and service backends',
        ),
    ],
)
def test_validation_messages(obj, message):
    assert message in [str(e) for e in validate_ingress(obj)]


def test_invalid_object_message_names_the_ingress():
    with pytest.raises(InvalidObject) as err:
        check_ingress(one_path("foo"))
    assert str(err.value) == (
        'The Ingress "web" is invalid: '
        'spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path'
    )


def test_path_with_double_slash_and_not_absolute_lists_both():
    errs = [str(e) for e in validate_ingress(one_path("a//b"))]
    assert errs == [
        f'{P}.path: Invalid value: "a//b": must be an absolute path',
        f"{P}.path: Invalid value: \"a//b\": must not contain '//'",
    ]


def test_ip_hosts_include_ipv6_and_sloppy_ipv4():
    for host in ("::1", "010.001.002.003"):
        assert any(
            "must be a DNS name, not an IP address" in str(e) for e in validate_ingress(one_path(host=host))
        )


def test_wildcard_host_validation():
    assert validate_ingress(one_path(host="*.foo.com")) == []
    errs = [str(e) for e in validate_ingress(one_path(host="*.*.foo.com"))]
    assert errs == [
        'spec.rules[0].host: Invalid value: "*.*.foo.com": a wildcard DNS-1123 subdomain must start with '
        "'*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, "
        "'-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation "
        "is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ]
    assert validate_ingress(one_path(host="foo.*.com"))  # the * must be the whole first label


def test_service_name_must_be_a_dns1035_label():
    errs = [str(e) for e in validate_ingress(one_path(back=backend("1web")))]
    assert errs[0].startswith(
        f'{P}.backend.service.name: Invalid value: "1web": a DNS-1035 label must consist'
    )


def test_ingress_needs_rules_or_a_default_backend():
    obj = {"kind": "Ingress", "metadata": {"name": "empty"}, "spec": {}}
    # The API server prints the Go value of the missing list (seen in many bug reports).
    assert [str(e) for e in validate_ingress(obj)] == [
        "spec: Invalid value: []networking.IngressRule(nil): "
        "either `defaultBackend` or `rules` must be specified"
    ]
    assert validate_ingress(ingress("single", default="web")) == []


def test_class_annotation_must_agree_with_the_field():
    obj = ingress(paths=[("/", "Prefix", "web")], ingressClassName="nginx")
    obj["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "traefik"}
    assert [str(e) for e in validate_ingress(obj)] == [
        'annotations.kubernetes.io/ingress.class: Invalid value: "traefik": '
        "must match `ingressClassName` when both are specified"
    ]


def test_tls_hosts_are_validated():
    obj = ingress(paths=[("/", "Prefix", "web")], tls=[{"hosts": ["Bad_Host"], "secretName": "s"}])
    assert str(validate_ingress(obj)[0]).startswith(
        'spec.tls[0].hosts[0]: Invalid value: "Bad_Host": a lowercase'
    )


def test_valid_examples_have_no_errors():
    assert validate_ingress(tls_ingress()) == []
    assert validate_ingress(one_path("", "ImplementationSpecific")) == []
    assert validate_ingress_class(klass("nginx")) == []
    assert (
        str(validate_ingress_class({"metadata": {"name": "x"}, "spec": {}})[0])
        == "spec.controller: Required value"
    )
