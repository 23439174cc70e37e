"""The cluster zone: every record type CoreDNS's kubernetes plugin serves, and its negative answers.

Facts pinned here come from the Kubernetes DNS-Based Service Discovery spec and from CoreDNS's
plugin/kubernetes (parse.go, kubernetes.go, reverse.go) and plugin/backend_lookup.go.
"""

from __future__ import annotations

import pytest

from k8snetviz.agents.coredns.zone import (
    NOERROR,
    NXDOMAIN,
    SERVFAIL,
    DNSEndpoint,
    DNSEndpointPort,
    DNSEndpointSlice,
    DNSPod,
    DNSService,
    DNSServicePort,
    KubernetesOptions,
    Upstream,
    Zone,
    endpoint_hostname,
    ip_from_reverse,
    reverse_name,
    validate_external_name,
    validate_query_name,
)
from k8snetviz.errors import UsageError

WEB = DNSService(
    "default",
    "web",
    cluster_ips=("10.96.0.20",),
    ports=(DNSServicePort("http", 80), DNSServicePort("metrics", 9090)),
)
DUAL = DNSService("default", "dual", cluster_ips=("10.96.0.30", "fd00:10:96::30"), ports=(DNSServicePort("http", 80),))
DB = DNSService("data", "db", cluster_ips=None, ports=(DNSServicePort("pg", 5432),))
EMPTY = DNSService("data", "empty", cluster_ips=("None",), ports=(DNSServicePort("pg", 5432),))
EXT = DNSService("default", "ext", type="ExternalName", external_name="example.com")
DB_SLICE = DNSEndpointSlice(
    "data",
    "db",
    (
        DNSEndpoint("10.244.1.5", target_ref="db-0"),
        DNSEndpoint("10.244.2.6", hostname="db-1", target_ref="db-1"),
        DNSEndpoint("10.244.2.7", ready=False, target_ref="db-2"),
        DNSEndpoint("10.244.1.8", ready=None),
    ),
    (DNSEndpointPort("pg", 5432),),
)
EMPTY_SLICE = DNSEndpointSlice(
    "data", "empty", (DNSEndpoint("10.244.3.3", ready=False),), (DNSEndpointPort("pg", 5432),)
)
WEB_SLICE = DNSEndpointSlice(
    "default", "web", (DNSEndpoint("10.244.1.9", target_ref="web-x"),), (DNSEndpointPort("http", 8080),)
)
PODS = [DNSPod("data", "db-0", "10.244.1.5", hostname="db-0", subdomain="db")]
UP = Upstream({"example.com": [("A", "93.184.216.34")], "www.example.com": [("CNAME", "example.com")]})


@pytest.fixture
def zone() -> Zone:
    return Zone(
        [WEB, DUAL, DB, EMPTY, EXT],
        [DB_SLICE, EMPTY_SLICE, WEB_SLICE],
        PODS,
        upstream=UP.lookup,
        dns_service_ips=("10.96.0.10",),
    )


def data(answer):
    return [r.data for r in answer.records]


def test_clusterip_a_record_with_kubeadm_ttl(zone):
    ans = zone.lookup("web.default.svc.cluster.local", "A")
    assert ans.rcode == NOERROR and ans.authoritative
    # kubeadm's Corefile sets ttl 30 (the plugin's own default is 5).
    assert [str(r) for r in ans.records] == ["web.default.svc.cluster.local. 30 IN A 10.96.0.20"]


def test_names_are_case_insensitive(zone):
    assert data(zone.lookup("WEB.Default.SVC.cluster.local.", "a")) == ["10.96.0.20"]


def test_aaaa_on_ipv4_service_is_nodata_with_soa(zone):
    ans = zone.lookup("web.default.svc.cluster.local", "AAAA")
    assert ans.rcode == NOERROR and ans.records == () and ans.nodata
    # backend_lookup.go SOA(): ns.dns.<zone>, hostmaster.<zone>, refresh 7200 retry 1800 expire 86400, minttl = ttl.
    (soa,) = ans.authority
    assert str(soa) == (
        "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 30"
    )


def test_dual_stack_service_has_a_and_aaaa(zone):
    assert data(zone.lookup("dual.default.svc.cluster.local", "A")) == ["10.96.0.30"]
    assert data(zone.lookup("dual.default.svc.cluster.local", "AAAA")) == ["fd00:10:96::30"]


def test_unknown_service_and_namespace_are_nxdomain(zone):
    assert zone.lookup("nosuch.default.svc.cluster.local", "A").rcode == NXDOMAIN
    assert zone.lookup("web.nosuchns.svc.cluster.local", "A").rcode == NXDOMAIN
    # Not "svc" or "pod" in the type position: an invalid request, NXDOMAIN.
    assert zone.lookup("web.default.cluster.local", "A").rcode == NXDOMAIN


def test_existing_namespace_and_zone_apex_are_nodata(zone):
    # parse.go: "ns.svc.zone" with an exposed namespace, and the apex, return NODATA.
    for name in ("default.svc.cluster.local", "svc.cluster.local", "cluster.local"):
        ans = zone.lookup(name, "A")
        assert (ans.rcode, ans.records) == (NOERROR, ()), name


def test_headless_one_a_per_ready_endpoint(zone):
    ans = zone.lookup("db.data.svc.cluster.local", "A")
    # The not-ready endpoint is left out; ready=None counts as ready (EndpointSlice API).
    assert data(ans) == ["10.244.1.5", "10.244.2.6", "10.244.1.8"]


def test_headless_without_ready_endpoints_is_nxdomain(zone):
    # findServices: a headless Service's name exists only through its endpoints.
    ans = zone.lookup("empty.data.svc.cluster.local", "A")
    assert ans.rcode == NXDOMAIN
    assert ans.authority[0].type == "SOA"


def test_headless_with_no_slice_at_all_is_nxdomain():
    z = Zone([DB], [])
    assert z.lookup("db.data.svc.cluster.local", "A").rcode == NXDOMAIN


def test_endpoint_names_hostname_or_dashed_ip(zone):
    # db-0's hostname comes from the pod (hostname db-0, subdomain db), as the EndpointSlice controller sets it.
    assert data(zone.lookup("db-0.db.data.svc.cluster.local", "A")) == ["10.244.1.5"]
    assert data(zone.lookup("db-1.db.data.svc.cluster.local", "A")) == ["10.244.2.6"]
    assert data(zone.lookup("10-244-1-8.db.data.svc.cluster.local", "A")) == ["10.244.1.8"]
    # A not-ready endpoint has no name.
    assert zone.lookup("10-244-2-7.db.data.svc.cluster.local", "A").rcode == NXDOMAIN


def test_subdomain_must_match_the_service_for_a_hostname():
    pods = [DNSPod("data", "db-0", "10.244.1.5", hostname="db-0", subdomain="other")]
    z = Zone([DB], [DB_SLICE], pods)
    assert z.lookup("db-0.db.data.svc.cluster.local", "A").rcode == NXDOMAIN
    assert data(z.lookup("10-244-1-5.db.data.svc.cluster.local", "A")) == ["10.244.1.5"]


def test_endpoint_names_also_exist_for_clusterip_services(zone):
    # An endpoint query on a ClusterIP Service answers with the endpoint's IP, not the ClusterIP.
    assert data(zone.lookup("10-244-1-9.web.default.svc.cluster.local", "A")) == ["10.244.1.9"]


def test_endpoint_pod_names_option():
    z = Zone([DB], [DB_SLICE], options=KubernetesOptions(endpoint_pod_names=True))
    assert data(z.lookup("db-2.db.data.svc.cluster.local", "A")) == []  # not ready
    assert z.lookup("db-2.db.data.svc.cluster.local", "A").rcode == NXDOMAIN
    assert data(z.lookup("db-0.db.data.svc.cluster.local", "A")) == ["10.244.1.5"]


def test_ipv6_endpoint_dashed_name():
    assert endpoint_hostname(DNSEndpoint("fd00::")) == "fd00--0"
    assert endpoint_hostname(DNSEndpoint("fd00::1")) == "fd00--1"


def test_srv_clusterip_targets_the_service_name(zone):
    ans = zone.lookup("_http._tcp.web.default.svc.cluster.local", "SRV")
    assert data(ans) == ["0 100 80 web.default.svc.cluster.local."]
    assert [str(r) for r in ans.additional] == ["web.default.svc.cluster.local. 30 IN A 10.96.0.20"]


def test_srv_without_port_labels_lists_every_port_weight_split(zone):
    # backend_lookup.go SRV(): each item weighs 100 at priority 0 -> floor(100/n) each.
    ans = zone.lookup("web.default.svc.cluster.local", "SRV")
    assert data(ans) == ["0 50 80 web.default.svc.cluster.local.", "0 50 9090 web.default.svc.cluster.local."]


def test_srv_headless_one_per_endpoint_with_its_own_target(zone):
    ans = zone.lookup("_pg._tcp.db.data.svc.cluster.local", "SRV")
    assert data(ans) == [
        "0 33 5432 db-0.db.data.svc.cluster.local.",
        "0 33 5432 db-1.db.data.svc.cluster.local.",
        "0 33 5432 10-244-1-8.db.data.svc.cluster.local.",
    ]
    assert [r.name for r in ans.additional] == [
        "db-0.db.data.svc.cluster.local.",
        "db-1.db.data.svc.cluster.local.",
        "10-244-1-8.db.data.svc.cluster.local.",
    ]


def test_srv_wrong_port_or_protocol_is_nxdomain(zone):
    assert zone.lookup("_nope._tcp.web.default.svc.cluster.local", "SRV").rcode == NXDOMAIN
    assert zone.lookup("_http._udp.web.default.svc.cluster.local", "SRV").rcode == NXDOMAIN


def test_srv_dual_stack_deduplicates_targets_and_splits_weight(zone):
    # Two IPs -> two items per port -> weight 50, then one SRV per (target, port).
    ans = zone.lookup("_http._tcp.dual.default.svc.cluster.local", "SRV")
    assert data(ans) == ["0 50 80 dual.default.svc.cluster.local."]
    assert [r.type for r in ans.additional] == ["A", "AAAA"]


def test_ptr_for_cluster_ip_and_endpoint_ip(zone):
    assert data(zone.lookup("20.0.96.10.in-addr.arpa", "PTR")) == ["web.default.svc.cluster.local."]
    assert data(zone.lookup(reverse_name("10.244.2.6"), "PTR")) == ["db-1.db.data.svc.cluster.local."]
    assert data(zone.lookup(reverse_name("fd00:10:96::30"), "PTR")) == ["dual.default.svc.cluster.local."]


def test_ptr_unknown_ip_falls_through_to_upstream(zone):
    # kubeadm: "fallthrough in-addr.arpa ip6.arpa" hands the NXDOMAIN to forward.
    ans = zone.lookup(reverse_name("10.244.9.9"), "PTR")
    assert ans.rcode == NXDOMAIN and ans.source == "upstream" and not ans.authoritative


def test_ptr_without_fallthrough_is_authoritative_nxdomain():
    z = Zone([WEB], options=KubernetesOptions(fallthrough=None))
    ans = z.lookup(reverse_name("10.244.9.9"), "PTR")
    assert ans.rcode == NXDOMAIN and ans.authority[0].name == "in-addr.arpa."


def test_externalname_is_a_cname_chased_upstream(zone):
    ans = zone.lookup("ext.default.svc.cluster.local", "A")
    assert [str(r) for r in ans.records] == [
        "ext.default.svc.cluster.local. 30 IN CNAME example.com.",
        "example.com. 300 IN A 93.184.216.34",
    ]
    assert data(zone.lookup("ext.default.svc.cluster.local", "CNAME")) == ["example.com."]


def test_externalname_has_no_srv(zone):
    ans = zone.lookup("ext.default.svc.cluster.local", "SRV")
    assert (ans.rcode, ans.records) == (NOERROR, ())


def test_externalname_to_in_cluster_name_is_resolved_inside():
    alias = DNSService("default", "alias", type="ExternalName", external_name="web.default.svc.cluster.local")
    z = Zone([WEB, alias])
    assert data(z.lookup("alias.default.svc.cluster.local", "A")) == ["web.default.svc.cluster.local.", "10.96.0.20"]


def test_cname_query_on_clusterip_is_nodata(zone):
    assert zone.lookup("web.default.svc.cluster.local", "CNAME").nodata


def test_pod_records_insecure_any_namespace_that_exists(zone):
    assert data(zone.lookup("10-244-9-9.default.pod.cluster.local", "A")) == ["10.244.9.9"]
    assert zone.lookup("10-244-9-9.nosuchns.pod.cluster.local", "A").rcode == NXDOMAIN
    assert zone.lookup("not-an-ip.default.pod.cluster.local", "A").rcode == NXDOMAIN
    assert zone.lookup("10-244-9-9.default.pod.cluster.local", "AAAA").nodata


def test_pod_records_verified_and_disabled():
    verified = Zone([], [], PODS, options=KubernetesOptions(pods="verified"))
    assert data(verified.lookup("10-244-1-5.data.pod.cluster.local", "A")) == ["10.244.1.5"]
    assert verified.lookup("10-244-9-9.data.pod.cluster.local", "A").rcode == NXDOMAIN
    disabled = Zone([], [], PODS, options=KubernetesOptions(pods="disabled"))
    assert disabled.lookup("10-244-1-5.data.pod.cluster.local", "A").rcode == NXDOMAIN


def test_soa_txt_ns_at_the_apex(zone):
    assert zone.lookup("cluster.local", "SOA").records[0].type == "SOA"
    assert data(zone.lookup("dns-version.cluster.local", "TXT")) == ['"1.1.0"']
    ns = zone.lookup("cluster.local", "NS")
    assert data(ns) == ["ns.dns.cluster.local."] and data(zone.lookup("ns.dns.cluster.local", "A")) == ["10.96.0.10"]


def test_other_types_use_a_fake_a_lookup(zone):
    assert zone.lookup("web.default.svc.cluster.local", "MX").nodata
    assert zone.lookup("nosuch.default.svc.cluster.local", "MX").rcode == NXDOMAIN


def test_too_many_labels_is_nxdomain(zone):
    assert zone.lookup("a.b.c.web.default.svc.cluster.local", "A").rcode == NXDOMAIN


def test_outside_names_are_forwarded(zone):
    assert data(zone.lookup("www.example.com", "A")) == ["example.com.", "93.184.216.34"]
    assert zone.lookup("nosuch.example", "A").rcode == NXDOMAIN
    assert Zone([WEB]).lookup("example.com", "A").rcode == SERVFAIL  # no upstream to forward to


def test_upstream_nodata_for_empty_non_terminal():
    up = Upstream({"a.b.example": [("A", "192.0.2.1")]})
    assert up.lookup("b.example", "A").nodata and up.lookup("c.example", "A").rcode == NXDOMAIN


def test_ignore_empty_service():
    z = Zone([WEB], [], options=KubernetesOptions(ignore_empty_service=True))
    assert z.lookup("web.default.svc.cluster.local", "A").rcode == NXDOMAIN
    assert Zone([WEB], []).lookup("web.default.svc.cluster.local", "A").rcode == NOERROR


def test_reverse_helpers():
    assert reverse_name("10.96.0.20") == "20.0.96.10.in-addr.arpa."
    assert ip_from_reverse("20.0.96.10.in-addr.arpa.") == "10.96.0.20"
    assert ip_from_reverse(reverse_name("fd00::1")) == "fd00::1"
    assert ip_from_reverse("96.10.in-addr.arpa.") is None


def test_external_name_validation_in_api_server_words():
    (err,) = validate_external_name("Bad_Name.example.com.")
    assert str(err).startswith(
        'spec.externalName: Invalid value: "Bad_Name.example.com": a lowercase RFC 1123 subdomain must consist of'
    )
    assert "regex used for validation is" in str(err)
    assert validate_external_name("example.com.") == []
    assert str(validate_external_name("")[0]) == "spec.externalName: Required value"


def test_query_name_validation():
    assert (
        validate_query_name("_http._tcp.Web.default.svc.cluster.local.") == "_http._tcp.web.default.svc.cluster.local."
    )
    with pytest.raises(UsageError, match='invalid DNS name "web..default"'):
        validate_query_name("web..default")
    with pytest.raises(UsageError, match="no more than 63"):
        validate_query_name("a" * 64 + ".example")
