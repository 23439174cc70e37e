"""The pod's resolv.conf per dnsPolicy and dnsConfig, and the resolver's search-list expansion.

Facts: kubelet pkg/kubelet/network/dns/dns.go (policies, merge, limits, events), the API server's
validatePodDNSConfig (messages), glibc resolv/res_query.c __res_context_search and
__res_context_query (order, NODATA handling, A+AAAA pairs), BIND dighost.c (nslookup's search).
"""

from __future__ import annotations

import pytest

from k8snetviz.agents.coredns.corefile import CoreDNS
from k8snetviz.agents.coredns.zone import NOERROR, NXDOMAIN, SERVFAIL, Answer, DNSService, DNSServicePort, Upstream
from k8snetviz.agents.kubelet.resolvconf import (
    DNSConfigOption,
    PodDNSConfig,
    ResolvConf,
    nslookup_lookups,
    parse_resolv_conf,
    pod_resolv_conf,
    search,
    validate_pod_dns,
)
from k8snetviz.errors import InvalidObject

NODE = "search corp.example\nnameserver 172.18.0.1\noptions ndots:0 edns0\n"
WEB = DNSService("default", "web", cluster_ips=("10.96.0.20",), ports=(DNSServicePort("http", 80),))
DB = DNSService("data", "db", cluster_ips=("10.96.0.40",), ports=(DNSServicePort("pg", 5432),))
CORE = CoreDNS(
    services=[WEB, DB],
    upstreams=Upstream({"example.com": [("A", "93.184.216.34")], "a.b.c.d.e.f": [("A", "192.0.2.6")]}),
)


def resolv(namespace="default", **kw):
    return pod_resolv_conf(namespace, node_resolv_conf=NODE, **kw)


def wire(res):
    return [(q.name, q.type, q.rcode) for q in res.queries]


# ------------------------------------------------------------------------------- resolv.conf


def test_cluster_first_default():
    pod = resolv("app")
    assert pod.mode == "cluster" and pod.events == ()
    # The node's search domains follow the cluster ones; its options do not carry over.
    assert pod.resolv_conf.render() == (
        "search app.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
        "nameserver 10.96.0.10\n"
        "options ndots:5\n"
    )


def test_cluster_first_on_host_network_falls_back_to_default():
    pod = resolv(host_network=True)
    assert pod.mode == "host"
    assert pod.resolv_conf == ResolvConf(("172.18.0.1",), ("corp.example",), ("ndots:0", "edns0"))


def test_cluster_first_with_host_net_keeps_cluster_dns():
    pod = resolv(dns_policy="ClusterFirstWithHostNet", host_network=True)
    assert pod.mode == "cluster" and pod.resolv_conf.nameservers == ("10.96.0.10",)


def test_default_is_the_node_file():
    assert resolv(dns_policy="Default").resolv_conf.render() == NODE


def test_none_uses_only_dns_config():
    cfg = PodDNSConfig(("1.1.1.1",), ("corp.example",), (DNSConfigOption("ndots", "2"),))
    pod = resolv(dns_policy="None", dns_config=cfg)
    assert pod.resolv_conf.render() == "search corp.example\nnameserver 1.1.1.1\noptions ndots:2\n"


def test_dns_config_merges_into_cluster_first():
    cfg = PodDNSConfig(
        ("10.96.0.10", "1.1.1.1"),
        ("svc.cluster.local", "extra.example"),
        (DNSConfigOption("ndots", "2"), DNSConfigOption("single-request")),
    )
    rc = resolv(dns_config=cfg).resolv_conf
    assert rc.nameservers == ("10.96.0.10", "1.1.1.1")  # duplicates dropped
    assert rc.searches[-1] == "extra.example" and rc.searches.count("svc.cluster.local") == 1
    assert rc.options == ("ndots:2", "single-request")  # dnsConfig wins by name
    assert rc.ndots == 2


def test_kubelet_cuts_to_three_nameservers_with_an_event():
    cfg = PodDNSConfig(("1.1.1.1", "8.8.8.8", "9.9.9.9"))
    pod = resolv(dns_config=cfg)
    assert pod.resolv_conf.nameservers == ("10.96.0.10", "1.1.1.1", "8.8.8.8")
    assert pod.events == (
        "Nameserver limits were exceeded, some nameservers have been omitted, "
        "the applied nameserver line is: 10.96.0.10 1.1.1.1 8.8.8.8",
    )


def test_kubelet_cuts_search_list_to_32_domains():
    cfg = PodDNSConfig(searches=tuple(f"d{i}.example" for i in range(30)))
    pod = resolv(dns_config=cfg)
    assert len(pod.resolv_conf.searches) == 32
    assert pod.events[0].startswith("Search Line limits were exceeded")


def test_missing_cluster_dns_falls_back_to_default():
    pod = pod_resolv_conf("default", cluster_dns=(), node_resolv_conf=NODE)
    assert pod.mode == "host" and "Falling back to" in pod.events[0]


@pytest.mark.parametrize(
    ("policy", "cfg", "message"),
    [
        ("None", None, "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"),
        (
            "None",
            PodDNSConfig(searches=("a.example",)),
            "spec.dnsConfig.nameservers: Required value: "
            "must provide at least one DNS nameserver when `dnsPolicy` is None",
        ),
        (
            "ClusterFirst",
            PodDNSConfig(("1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4")),
            'spec.dnsConfig.nameservers: Invalid value: []string{"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"}: '
            "must not have more than 3 nameservers",
        ),
        (
            "ClusterFirst",
            PodDNSConfig(("dns.example",)),
            'spec.dnsConfig.nameservers[0]: Invalid value: "dns.example": must be a valid IP address, '
            "(e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
        (
            "Cluster",
            None,
            'spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", '
            '"ClusterFirst", "Default", "None"',
        ),
        (
            "ClusterFirst",
            PodDNSConfig(options=(DNSConfigOption(""),)),
            "spec.dnsConfig.options[0]: Required value: must not be empty",
        ),
    ],
)
def test_api_server_validation_messages(policy, cfg, message):
    assert [str(e) for e in validate_pod_dns(policy, cfg)] == [message]


def test_invalid_pod_dns_raises_invalid_object():
    with pytest.raises(InvalidObject, match=r'^The Pod "client" is invalid: spec.dnsConfig: Required value'):
        pod_resolv_conf("default", "None", pod_name="client")


def test_search_domain_with_trailing_dot_is_valid_but_bad_domain_is_not():
    assert validate_pod_dns("ClusterFirst", PodDNSConfig(searches=("corp.example.",))) == []
    (err,) = validate_pod_dns("ClusterFirst", PodDNSConfig(searches=("Corp_Example",)))
    assert str(err).startswith('spec.dnsConfig.searches[0]: Invalid value: "Corp_Example": a lowercase RFC 1123')


def test_parse_resolv_conf_last_search_wins_nameservers_add_up():
    rc = parse_resolv_conf("# c\nsearch a.example.\nnameserver 1.1.1.1\nsearch b.example\nnameserver 8.8.8.8\n")
    assert rc == ResolvConf(("1.1.1.1", "8.8.8.8"), ("b.example",), ())
    assert rc.ndots == 1  # glibc's default
    assert ResolvConf(options=("ndots:20",)).ndots == 15  # capped


# ------------------------------------------------------------------------------------ search


RC = pod_resolv_conf("default").resolv_conf  # ndots:5, search default.svc.cluster.local svc.cluster.local cluster.local


def test_zero_dots_search_list_first_stops_at_first_answer():
    res = search("web", RC, CORE.query)
    # getaddrinfo(AF_UNSPEC): A and AAAA for each candidate; the pair succeeds when either has records.
    assert wire(res) == [
        ("web.default.svc.cluster.local.", "A", NOERROR),
        ("web.default.svc.cluster.local.", "AAAA", NOERROR),
    ]
    assert res.ok and res.addresses == ("10.96.0.20",) and res.final_name == "web.default.svc.cluster.local."


def test_one_dot_other_namespace():
    res = search("db.data", RC, CORE.query, family="INET")
    assert wire(res) == [
        ("db.data.default.svc.cluster.local.", "A", NXDOMAIN),
        ("db.data.svc.cluster.local.", "A", NOERROR),
    ]
    assert res.addresses == ("10.96.0.40",)


def test_short_name_from_another_namespace_fails():
    res = search("db", RC, CORE.query, family="INET")
    assert [q.name for q in res.queries] == [
        "db.default.svc.cluster.local.",
        "db.svc.cluster.local.",
        "db.cluster.local.",
        "db.",
    ]
    assert res.error == "HOST_NOT_FOUND" and res.message == "Name or service not known"


def test_the_own_namespace_decides():
    rc = pod_resolv_conf("data").resolv_conf
    assert search("db", rc, CORE.query, family="INET").addresses == ("10.96.0.40",)


def test_two_and_three_dots_still_search_first():
    res = search("web.default.svc", RC, CORE.query, family="INET")
    assert [q.name for q in res.queries] == [
        "web.default.svc.default.svc.cluster.local.",
        "web.default.svc.svc.cluster.local.",
        "web.default.svc.cluster.local.",
    ]
    four = search("web.default.svc.cluster", RC, CORE.query, family="INET")
    assert len(four.queries) == 4 and four.error == "HOST_NOT_FOUND"


def test_four_dots_outside_name_costs_the_whole_search_list():
    res = search("www.corp.ex.am.ple", RC, CORE.query)  # 4 dots < ndots 5
    assert len(res.queries) == 8 and res.queries[-1].name == "www.corp.ex.am.ple."


def test_five_dots_reach_ndots_and_go_as_is_first():
    res = search("a.b.c.d.e.f", RC, CORE.query, family="INET")
    assert wire(res) == [("a.b.c.d.e.f.", "A", NOERROR)]


def test_five_dots_as_is_failure_then_searches_and_keeps_first_error():
    res = search("x.b.c.d.e.f", RC, CORE.query, family="INET")
    assert [q.name for q in res.queries] == [
        "x.b.c.d.e.f.",
        "x.b.c.d.e.f.default.svc.cluster.local.",
        "x.b.c.d.e.f.svc.cluster.local.",
        "x.b.c.d.e.f.cluster.local.",
    ]
    assert res.error == "HOST_NOT_FOUND"


def test_fqdn_with_trailing_dot_is_asked_once():
    res = search("web.default.svc.cluster.local.", RC, CORE.query)
    assert [q.name for q in res.queries] == ["web.default.svc.cluster.local."] * 2
    bad = search("example.org.", RC, CORE.query)
    assert len(bad.queries) == 2 and bad.error == "HOST_NOT_FOUND"


def test_outside_name_with_ndots_5_costs_six_extra_queries():
    res = search("example.com", RC, CORE.query)
    assert len(res.queries) == 8 and res.queries[-2:][0].name == "example.com."
    assert res.addresses == ("93.184.216.34",)
    lean = search("example.com", ResolvConf(RC.nameservers, RC.searches, ("ndots:1",)), CORE.query)
    assert len(lean.queries) == 2


def test_nodata_keeps_searching_and_is_the_reported_error():
    # "default.svc.cluster.local" exists (a namespace) with no records: glibc moves on, and reports NO_DATA.
    res = search("default", RC, CORE.query, family="INET")
    assert wire(res) == [
        ("default.default.svc.cluster.local.", "A", NXDOMAIN),
        ("default.svc.cluster.local.", "A", NOERROR),
        ("default.cluster.local.", "A", NXDOMAIN),
        ("default.", "A", NXDOMAIN),
    ]
    assert res.error == "NO_DATA"


def test_servfail_moves_on_refused_stops_the_search_list():
    def lookup(rcode):
        def answer(name, qtype):
            if name.startswith("x.default."):
                return Answer(name, qtype, rcode)
            return Answer(name, qtype, NXDOMAIN)

        return answer

    servfail = search("x", RC, lookup(SERVFAIL), family="INET")
    assert len(servfail.queries) == 4
    refused = search("x", RC, lookup("REFUSED"), family="INET")
    # The search list stops, the name is still tried as is.
    assert [q.name for q in refused.queries] == ["x.default.svc.cluster.local.", "x."]


def test_no_tld_query_skips_the_bare_single_label():
    rc = ResolvConf(RC.nameservers, RC.searches, ("ndots:5", "no-tld-query"))
    assert [q.name for q in search("nosuch", rc, CORE.query, family="INET").queries][-1] == "nosuch.cluster.local."


def test_numeric_address_and_etc_hosts_need_no_query():
    assert search("10.96.0.20", RC, CORE.query).queries == ()
    res = search("my-host", RC, CORE.query, etc_hosts={"my-host": ["10.244.1.5"]})
    assert res.queries == () and res.addresses == ("10.244.1.5",) and res.source == "/etc/hosts"


def test_srv_query_type_searches_too():
    res = search("_http._tcp.web", RC, CORE.query, qtype="SRV")
    assert wire(res)[-1] == ("_http._tcp.web.default.svc.cluster.local.", "SRV", NOERROR)


def test_to_dict_matches_the_cli_contract():
    d = search("web", RC, CORE.query, family="INET").to_dict()
    assert d == {
        "queries": [{"name": "web.default.svc.cluster.local.", "type": "A", "rcode": "NOERROR"}],
        "answers": [{"name": "web.default.svc.cluster.local.", "type": "A", "data": "10.96.0.20"}],
    }


# ---------------------------------------------------------------------------------- nslookup


def test_nslookup_stops_at_nodata_unlike_glibc():
    a, aaaa = nslookup_lookups("default", RC, CORE.query)
    assert wire(a) == [
        ("default.default.svc.cluster.local.", "A", NXDOMAIN),
        ("default.svc.cluster.local.", "A", NOERROR),
    ]
    assert wire(aaaa) == [("default.svc.cluster.local.", "AAAA", NOERROR)]


def test_nslookup_asks_aaaa_only_for_the_name_found():
    a, aaaa = nslookup_lookups("web", RC, CORE.query)
    assert [q.name for q in aaaa.queries] == ["web.default.svc.cluster.local."]


def test_nslookup_of_an_address_is_a_ptr_query():
    (ptr,) = nslookup_lookups("10.96.0.20", RC, CORE.query)
    assert wire(ptr) == [("20.0.96.10.in-addr.arpa.", "PTR", NOERROR)]


def test_nslookup_nxdomain_makes_no_aaaa_lookup():
    (a,) = nslookup_lookups("nosuch", RC, CORE.query)
    assert a.error == NXDOMAIN and a.queries[-1].name == "nosuch."
