"""The Corefile: CoreDNS's parser and its errors, zone selection, stub domains, hosts, rewrite.

Facts from coredns/caddy caddyfile (lexer.go, parse.go, dispenser.go), coredns core/dnsserver
(server.go zone matching, register.go duplicate zones) and the plugins' setup.go files.
"""

from __future__ import annotations

import pytest

from k8snetviz.agents.coredns.corefile import (
    KUBEADM_COREFILE,
    CoreDNS,
    CorefileError,
    parse_corefile,
    server_zones,
)
from k8snetviz.agents.coredns.zone import NOERROR, NXDOMAIN, REFUSED, SERVFAIL, DNSService, DNSServicePort, Upstream

WEB = DNSService("default", "web", cluster_ips=("10.96.0.20",), ports=(DNSServicePort("http", 80),))
INTERNET = Upstream({"example.com": [("A", "93.184.216.34")]}, name="internet")
CORP = Upstream({"git.corp.example": [("A", "10.0.5.5")]}, name="corp-dns")

STUB = (
    KUBEADM_COREFILE
    + """corp.example:53 {
    errors
    cache 30
    forward . 10.0.0.10
}
"""
)


def test_kubeadm_corefile_parses_into_its_plugins():
    cf = parse_corefile(KUBEADM_COREFILE)
    (block,) = cf.blocks
    assert block.keys == (".:53",)
    names = [d.name for d in block.directives]
    assert names == [
        "errors", "health", "ready", "kubernetes", "prometheus", "forward", "cache", "loop", "reload", "loadbalance"
    ]  # fmt: skip
    kube = block.directive("kubernetes")
    assert kube.args == ("cluster.local", "in-addr.arpa", "ip6.arpa") and kube.line == 7
    assert [(o.name, o.args) for o in kube.block] == [
        ("pods", ("insecure",)),
        ("fallthrough", ("in-addr.arpa", "ip6.arpa")),
        ("ttl", ("30",)),
    ]
    assert block.directive("health").option("lameduck").args == ("5s",)
    assert block.directive("forward").args == (".", "/etc/resolv.conf")


def test_kubeadm_options_are_interpreted():
    core = CoreDNS(KUBEADM_COREFILE)
    (cfg,) = core.configs
    assert cfg.zones == (".",) and cfg.port == 53
    assert cfg.kubernetes.zones == ("cluster.local.", "in-addr.arpa.", "ip6.arpa.")
    assert (cfg.kubernetes.pods, cfg.kubernetes.ttl) == ("insecure", 30)
    assert cfg.kubernetes.fallthrough == ("in-addr.arpa.", "ip6.arpa.")
    assert [str(f) for f in cfg.forwards] == ["forward . /etc/resolv.conf"]


def test_kubernetes_plugin_defaults_when_options_are_absent():
    # plugin/kubernetes: pods disabled, TTL 5 seconds, no fallthrough, zones from the server block.
    core = CoreDNS("cluster.local:53 {\n  kubernetes\n}\n", services=[WEB])
    opts = core.configs[0].kubernetes
    assert (opts.zones, opts.pods, opts.ttl, opts.fallthrough) == (("cluster.local.",), "disabled", 5, None)
    assert core.query("web.default.svc.cluster.local").records[0].ttl == 5


def test_comments_quotes_and_single_block_without_braces():
    cf = parse_corefile('# a comment\n.:53\nerrors # trailing\nhosts {\n  192.0.2.1 "my.host"\n}\n')
    (block,) = cf.blocks
    assert [d.name for d in block.directives] == ["errors", "hosts"]
    assert block.directive("hosts").block[0].args == ("my.host",)


def test_several_keys_and_comma_separated_keys():
    cf = parse_corefile("a.example:53, b.example:53 c.example {\n  errors\n}\n")
    assert cf.blocks[0].keys == ("a.example:53", "b.example:53", "c.example")


def test_one_line_sub_block():
    cf = parse_corefile(".:53 {\n  health { lameduck 5s }\n  ready\n}\n")
    health = cf.blocks[0].directive("health")
    assert health.option("lameduck").args == ("5s",)
    assert [d.name for d in cf.blocks[0].directives] == ["health", "ready"]


def test_snippets_are_imported():
    cf = parse_corefile("(common) {\n  errors\n  cache 30\n}\n.:53 {\n  import common\n  forward . 8.8.8.8\n}\n")
    assert [d.name for d in cf.blocks[0].directives] == ["errors", "cache", "forward"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (".:53 {\n    errors\n    foo bar\n}\n", "Corefile:3 - Error during parsing: Unknown directive 'foo'"),
        (
            ".:53 {\n    errors\n    health {\n        lameduck 5s\n",
            "Corefile:4 - Error during parsing: Unexpected EOF",
        ),
        (
            ".:53 {\n    errors\n    loop\n",
            "Corefile:3 - Syntax error: Unexpected token 'loop', expecting '}'",
        ),
        (
            ".:53 {\n    errors\n    forward . 8.8.8.8 }\n}\n",
            "Corefile:3 - Error during parsing: Unexpected '}' because no matching opening brace",
        ),
        (
            ".:53, {\n  errors\n}\n",
            "Corefile:1 - Error during parsing: Expected another address but had '{' - check for extra comma",
        ),
        (".:53 {\n  import nothing\n}\n", "Corefile:2 - Error during parsing: File to import not found: nothing"),
    ],
)
def test_parse_errors_name_the_line(text, message):
    with pytest.raises(CorefileError) as err:
        parse_corefile(text)
    assert str(err.value) == message


def test_parse_error_uses_the_given_file_name():
    with pytest.raises(CorefileError, match=r"^/etc/coredns/Corefile:2 - Error during parsing"):
        parse_corefile(".:53 {\n  nope\n}\n", filename="/etc/coredns/Corefile")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "kubernetes cluster.local {\n    pods everything\n  }",
            "plugin/kubernetes: wrong value for pods: everything,  must be one of: disabled, verified, insecure",
        ),
        (
            "kubernetes cluster.local {\n    ttl 4000\n  }",
            "plugin/kubernetes: Corefile:3 - Error during parsing: ttl must be in range [0, 3600]: 4000",
        ),
        (
            "kubernetes cluster.local {\n    ttl soon\n  }",
            'plugin/kubernetes: strconv.Atoi: parsing "soon": invalid syntax',
        ),
        (
            "kubernetes cluster.local {\n    podz insecure\n  }",
            "plugin/kubernetes: Corefile:3 - Error during parsing: unknown property 'podz'",
        ),
        ("kubernetes in-addr.arpa", "plugin/kubernetes: non-reverse zone name must be used"),
        (
            "forward .",
            "plugin/forward: Corefile:2 - Error during parsing: "
            "Wrong argument count or unexpected line ending after '.'",
        ),
        (
            "forward . dns.example",
            'plugin/forward: not an IP address or file "dns.example": open dns.example: no such file or directory',
        ),
        (
            "kubernetes cluster.local\n  kubernetes cluster.local",
            "plugin/kubernetes: this plugin can only be used once per Server Block",
        ),
    ],
)
def test_plugin_setup_errors(block, message):
    with pytest.raises(CorefileError) as err:
        CoreDNS(f".:53 {{\n  {block}\n}}\n")
    assert str(err.value) == message


def test_same_zone_twice_is_refused():
    with pytest.raises(CorefileError, match=r"^cannot serve dns://corp\.example\.:53 - it is already defined$"):
        CoreDNS("corp.example {\n  errors\n}\ncorp.example:53 {\n  errors\n}\n")


def test_server_keys_normalize_to_zones():
    assert server_zones("dns://.:53") == [(".", 53)]
    assert server_zones("Corp.Example:1053") == [("corp.example.", 1053)]
    assert server_zones("10.0.0.0/8") == [("10.in-addr.arpa.", 53)]
    # Not on an octet boundary: one reverse zone per /24 it covers.
    assert len(server_zones("10.0.0.0/23")) == 2
    assert server_zones("10.0.0.0/23")[1] == ("1.0.10.in-addr.arpa.", 53)


def test_most_specific_server_block_wins():
    core = CoreDNS(STUB, services=[WEB], upstreams={"/etc/resolv.conf": INTERNET, "10.0.0.10": CORP})
    cfg, zone = core.server_block_for("git.corp.example")
    assert zone == "corp.example." and cfg.block.keys == ("corp.example:53",)
    assert core.server_block_for("example.com")[1] == "."


def test_stub_domain_forwards_to_its_own_server():
    core = CoreDNS(STUB, services=[WEB], upstreams={"/etc/resolv.conf": INTERNET, "10.0.0.10": CORP})
    ans = core.query("git.corp.example", "A")
    assert [r.data for r in ans.records] == ["10.0.5.5"]
    assert "forward . 10.0.0.10 (Corefile:27) -> corp-dns" in ans.source
    assert core.query("example.com", "A").records[0].data == "93.184.216.34"
    # corp.example names never reach the default upstream.
    assert core.query("www.corp.example", "A").rcode == NXDOMAIN
    assert "corp-dns" in core.query("www.corp.example", "A").source


def test_cluster_names_answered_by_kubernetes_plugin_with_provenance():
    core = CoreDNS(services=[WEB], upstreams=INTERNET)
    ans = core.query("web.default.svc.cluster.local", "A")
    assert ans.rcode == NOERROR and ans.authoritative
    assert ans.source == "server block .:53 (Corefile:1): kubernetes plugin, zone cluster.local. (Corefile:7)"


def test_forward_to_an_unknown_upstream_is_servfail():
    core = CoreDNS(STUB, upstreams={"/etc/resolv.conf": INTERNET})
    assert core.query("git.corp.example", "A").rcode == SERVFAIL


def test_no_matching_block_is_refused():
    core = CoreDNS("corp.example {\n  forward . 10.0.0.10\n}\n", upstreams=CORP)
    assert core.query("example.com", "A").rcode == REFUSED


def test_forward_except_passes_on_and_fails():
    core = CoreDNS(".:53 {\n  forward . 8.8.8.8 {\n    except example.com\n  }\n}\n", upstreams=INTERNET)
    assert core.query("example.com", "A").rcode == SERVFAIL  # no next plugin
    assert core.query("example.org", "A").rcode == NXDOMAIN


def test_hosts_plugin_inline_entries_and_fallthrough():
    text = ".:53 {\n  hosts {\n    192.0.2.10 registry.local\n    fallthrough\n  }\n  forward . 8.8.8.8\n}\n"
    core = CoreDNS(text, upstreams=INTERNET)
    ans = core.query("registry.local", "A")
    assert [str(r) for r in ans.records] == ["registry.local. 3600 IN A 192.0.2.10"]
    assert core.query("registry.local", "AAAA").nodata
    assert core.query("10.2.0.192.in-addr.arpa", "PTR").records[0].data == "registry.local."
    assert core.query("example.com", "A").records[0].data == "93.184.216.34"


def test_hosts_without_fallthrough_answers_servfail_for_unknown_names():
    core = CoreDNS(".:53 {\n  hosts {\n    192.0.2.10 registry.local\n  }\n}\n")
    assert core.query("example.com", "A").rcode == SERVFAIL


def test_rewrite_exact_reverts_answer_names():
    text = KUBEADM_COREFILE.replace(
        "    errors\n", "    errors\n    rewrite name db.corp.example web.default.svc.cluster.local\n"
    )
    core = CoreDNS(text, services=[WEB], upstreams=INTERNET)
    ans = core.query("db.corp.example", "A")
    assert [str(r) for r in ans.records] == ["db.corp.example. 30 IN A 10.96.0.20"]
    assert ans.source.startswith("rewrite name exact db.corp.example. web.default.svc.cluster.local.")


def test_rewrite_suffix_needs_answer_auto_to_revert():
    base = KUBEADM_COREFILE.replace(
        "    errors\n", "    errors\n    rewrite name suffix .svc.corp. .svc.cluster.local.OPTS\n"
    )
    plain = CoreDNS(base.replace("OPTS", ""), services=[WEB])
    assert plain.query("web.default.svc.corp", "A").records[0].name == "web.default.svc.cluster.local."
    auto = CoreDNS(base.replace("OPTS", " answer auto"), services=[WEB])
    assert auto.query("web.default.svc.corp", "A").records[0].name == "web.default.svc.corp."


def test_externalname_chased_through_the_whole_server():
    ext = DNSService("default", "ext", type="ExternalName", external_name="git.corp.example")
    core = CoreDNS(STUB, services=[ext], upstreams={"/etc/resolv.conf": INTERNET, "10.0.0.10": CORP})
    ans = core.query("ext.default.svc.cluster.local", "A")
    assert [r.data for r in ans.records] == ["git.corp.example.", "10.0.5.5"]
