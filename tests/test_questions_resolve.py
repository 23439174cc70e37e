"""Cluster.resolve: the pod's resolv.conf, the queries in glibc's order, and who answers them.

Facts pinned here: the kubelet writes ``search <ns>.svc.<domain> svc.<domain> <domain>`` and
``ndots:5`` for ClusterFirst, the node's file for Default and for ClusterFirst on the host network
(pkg/kubelet/network/dns); glibc's res_search tries the search list first when the name has fewer
dots than ndots, the name as is first otherwise, and only the name for a trailing dot; CoreDNS
forwards what the kubernetes plugin does not serve, and the most specific server block wins (a stub
domain); the kubelet's /etc/hosts names the pod itself (pkg/kubelet/kubelet_pods.go), so glibc
answers that name without a query (nsswitch ``hosts: files dns``).
"""

from __future__ import annotations

import json

import pytest

import k8snetviz
from k8snetviz.agents.coredns.corefile import CorefileError
from k8snetviz.cli import main
from k8snetviz.errors import InvalidObject, NotFound, UsageError
from k8snetviz.questions.resolve import (
    TIMEOUT,
    cluster_dns,
    dns_server_pods,
    query_plan,
    resolv_conf,
    resolve,
)
from k8snetviz.views.dnstext import dns_dig, dns_nslookup


@pytest.fixture(scope="module")
def cluster():
    return k8snetviz.load("dns")


def ip_of(cluster, key):
    return cluster.services[key].cluster_ip


def wire(result):
    return [(q.name, q.type, q.rcode) for q in result.queries]


def pod_yaml(name, spec_extra, namespace="app"):
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}}}
spec:
{spec_extra}
  containers: [{{name: c, image: busybox:1.36}}]
"""


# --- the contract ----------------------------------------------------------------------------------


def test_to_dict_is_the_cli_contract(cluster):
    d = resolve(cluster, "app/client", "web").to_dict()
    assert list(d) == ["resolv_conf", "queries", "answers"]
    assert d["resolv_conf"] == (
        "search app.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
    assert d["queries"] == [{"name": "web.app.svc.cluster.local.", "type": "A", "rcode": "NOERROR"}]
    assert d["answers"] == [{"name": "web.app.svc.cluster.local.", "type": "A", "data": ip_of(cluster, "app/web")}]


def test_cli_dns_json_and_text(capsys):
    assert main(["dns", "dns", "--from", "app/client", "db.data", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [q["rcode"] for q in d["queries"]] == ["NXDOMAIN", "NOERROR"]
    # A name that does not resolve is an answer: exit status 0, the queries and their rcodes printed.
    assert main(["dns", "dns", "--from", "app/client", "db"]) == 0
    out = capsys.readouterr().out
    assert "db.app.svc.cluster.local.  A     NXDOMAIN" in out and "Name or service not known" in out


def test_cluster_method_delegates(cluster):
    assert cluster.resolve("pod/app/client", "web").addresses == (ip_of(cluster, "app/web"),)


# --- the search list -------------------------------------------------------------------------------


def test_own_namespace_short_name_is_the_first_query(cluster):
    assert wire(resolve(cluster, "app/client", "web")) == [("web.app.svc.cluster.local.", "A", "NOERROR")]


def test_other_namespace_short_name_fails_through_every_candidate(cluster):
    r = resolve(cluster, "app/client", "db")
    # 0 dots < ndots:5: the three search domains, then the name as is; all NXDOMAIN.
    assert wire(r) == [
        ("db.app.svc.cluster.local.", "A", "NXDOMAIN"),
        ("db.svc.cluster.local.", "A", "NXDOMAIN"),
        ("db.cluster.local.", "A", "NXDOMAIN"),
        ("db.", "A", "NXDOMAIN"),
    ]
    assert not r.ok and r.error == "HOST_NOT_FOUND" and r.answers == () and r.wasted_queries == 4


def test_service_dot_namespace_resolves_on_the_second_candidate(cluster):
    r = resolve(cluster, "app/client", "db.data")
    assert wire(r) == [("db.data.app.svc.cluster.local.", "A", "NXDOMAIN"),
                       ("db.data.svc.cluster.local.", "A", "NOERROR")]
    assert r.addresses == (ip_of(cluster, "data/db"),) and r.final_name == "db.data.svc.cluster.local."


def test_outside_name_pays_for_ndots_5_and_a_trailing_dot_does_not(cluster):
    r = resolve(cluster, "app/client", "example.com")
    assert [q.rcode for q in r.queries] == ["NXDOMAIN"] * 3 + ["NOERROR"]
    assert r.queries[-1].name == "example.com." and r.addresses == ("93.184.216.34",)
    assert r.wasted_queries == 3
    dotted = resolve(cluster, "app/client", "example.com.")
    assert wire(dotted) == [("example.com.", "A", "NOERROR")] and dotted.wasted_queries == 0


def test_five_dots_are_asked_as_is_first(cluster):
    r = resolve(cluster, "app/client", "a.b.c.d.e.example.com")
    assert r.queries[0].name == "a.b.c.d.e.example.com."
    assert [q.name for q in r.queries[1:]] == [
        "a.b.c.d.e.example.com.app.svc.cluster.local.",
        "a.b.c.d.e.example.com.svc.cluster.local.",
        "a.b.c.d.e.example.com.cluster.local.",
    ]


def test_fully_qualified_cluster_name_from_another_namespace(cluster):
    # 4 dots < 5: the search list comes first even for a complete cluster name.
    r = resolve(cluster, "app/client", "db.data.svc.cluster.local")
    assert [q.rcode for q in r.queries] == ["NXDOMAIN", "NXDOMAIN", "NXDOMAIN", "NOERROR"]
    assert r.queries[-1].name == "db.data.svc.cluster.local."


# --- each dnsPolicy --------------------------------------------------------------------------------


def test_default_policy_uses_the_node_resolver_which_knows_no_cluster_names(cluster):
    assert resolv_conf(cluster, "app/legacy") == "nameserver 172.18.0.1\noptions ndots:0\n"
    r = resolve(cluster, "app/legacy", "web.app.svc.cluster.local")
    assert wire(r) == [("web.app.svc.cluster.local.", "A", "NXDOMAIN")]
    assert r.nameserver == "172.18.0.1"
    outside = resolve(cluster, "app/legacy", "example.com")
    assert wire(outside) == [("example.com.", "A", "NOERROR")]


def test_none_policy_takes_everything_from_dns_config(cluster):
    assert resolv_conf(cluster, "app/custom") == (
        "search app.svc.cluster.local data.svc.cluster.local svc.cluster.local\n"
        "nameserver 10.96.0.10\noptions ndots:2\n")
    r = resolve(cluster, "app/custom", "db")
    assert wire(r)[-1] == ("db.data.svc.cluster.local.", "A", "NOERROR")
    # ndots:2: one dot is still fewer, so the search list comes first.
    assert resolve(cluster, "app/custom", "example.com").queries[0].name == "example.com.app.svc.cluster.local."
    assert resolve(cluster, "app/custom", "www.example.com").queries[0].name == "www.example.com."


def test_host_network_cluster_first_falls_back_and_with_host_net_does_not(cluster):
    assert resolv_conf(cluster, "data/node-agent") == "nameserver 172.18.0.1\noptions ndots:0\n"
    fixed = k8snetviz.load("dns", pod_yaml("node-agent", "  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet",
                                           namespace="data"))
    assert resolv_conf(fixed, "data/node-agent").startswith("search data.svc.cluster.local ")
    assert resolve(fixed, "data/node-agent", "db").addresses == (ip_of(fixed, "data/db"),)


def test_dns_config_search_makes_a_short_name_reach_another_namespace():
    c = k8snetviz.load("dns", pod_yaml("client", "  dnsConfig:\n    searches: [data.svc.cluster.local]"))
    assert resolv_conf(c, "app/client").splitlines()[0] == (
        "search app.svc.cluster.local svc.cluster.local cluster.local data.svc.cluster.local")
    r = resolve(c, "app/client", "db")
    assert [q.name for q in r.queries] == ["db.app.svc.cluster.local.", "db.svc.cluster.local.",
                                           "db.cluster.local.", "db.data.svc.cluster.local."]
    assert r.addresses == (ip_of(c, "data/db"),)


# --- records the cluster serves --------------------------------------------------------------------


def test_headless_service_answers_every_ready_pod(cluster):
    r = resolve(cluster, "app/client", "db-headless.data")
    ips = sorted(str(cluster.pod(f"data/db-{i}").ip) for i in range(2))
    assert sorted(r.addresses) == ips
    one = resolve(cluster, "app/client", "db-0.db-headless.data")
    assert one.addresses == (str(cluster.pod("data/db-0").ip),)


def test_pod_hostname_and_subdomain(cluster):
    r = resolve(cluster, "app/client", "worker-1.jobs")
    assert r.addresses == (str(cluster.pod("app/worker").ip),)
    assert r.final_name == "worker-1.jobs.app.svc.cluster.local."


def test_own_hostname_comes_from_etc_hosts_without_a_query(cluster):
    r = resolve(cluster, "app/worker", "worker-1")
    assert r.queries == () and r.addresses == (str(cluster.pod("app/worker").ip),)
    assert r.to_dict()["queries"] == [] and r.nameserver is None
    aliased = k8snetviz.load("dns", pod_yaml("client", "  hostAliases:\n  - ip: 10.1.2.3\n    hostnames: [legacy-db]"))
    assert resolve(aliased, "app/client", "legacy-db").addresses == ("10.1.2.3",)


def test_external_name_is_a_cname_followed_outside(cluster):
    r = resolve(cluster, "app/client", "payments")
    assert [(a.type, a.data) for a in r.answers] == [("CNAME", "api.example.com."), ("A", "203.0.113.10")]


def test_srv_and_ptr(cluster):
    srv = resolve(cluster, "app/client", "_postgres._tcp.db.data.svc.cluster.local", "SRV")
    assert [a.data for a in srv.answers] == ["0 100 5432 db.data.svc.cluster.local."]
    ptr = resolve(cluster, "app/client", ip_of(cluster, "data/db"), "PTR")
    assert ptr.queries[0].name.endswith(".in-addr.arpa.") and len(ptr.queries) == 1
    assert [a.data for a in ptr.answers] == ["db.data.svc.cluster.local."]
    assert "PTR\tdb.data.svc.cluster.local." in ptr.text()


def test_numeric_address_needs_no_query(cluster):
    r = resolve(cluster, "app/client", "10.96.0.10")
    assert r.queries == () and r.addresses == ("10.96.0.10",)


# --- the Corefile ----------------------------------------------------------------------------------


def test_stub_domain_reaches_the_company_server_and_only_through_corednss_block(cluster):
    r = resolve(cluster, "app/client", "intranet.corp.example.")
    assert r.addresses == ("10.150.0.20",)
    # The node's resolver (the internet) does not know the company's names.
    assert resolve(cluster, "app/legacy", "intranet.corp.example").error == "HOST_NOT_FOUND"
    plain = k8snetviz.load("dns", """
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        kubernetes cluster.local in-addr.arpa ip6.arpa
        forward . /etc/resolv.conf
    }
""")
    assert resolve(plain, "app/client", "intranet.corp.example.").queries[0].rcode == "NXDOMAIN"
    assert resolve(plain, "app/client", "example.com.").addresses == ("93.184.216.34",)


def test_kubeadm_corefile_when_the_scenario_has_none():
    c = k8snetviz.load("kind-default")
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in cluster_dns(c).corefile
    assert resolve(c, "default/client", "kubernetes.default").addresses == ("10.96.0.1",)
    # No spec.upstreamDNS: the outside world knows nothing.
    assert resolve(c, "default/client", "example.com.").error == "HOST_NOT_FOUND"


def test_broken_corefile_is_coredns_error_with_its_line():
    c = k8snetviz.load("dns", """
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        kubernets cluster.local
    }
""")
    with pytest.raises(CorefileError, match=r"^Corefile:3 - Error during parsing: Unknown directive 'kubernets'$"):
        resolve(c, "app/client", "web")


def test_coredns_is_built_once_per_cluster(cluster):
    first = cluster_dns(cluster)
    resolve(cluster, "app/client", "web")
    resolve(cluster, "app/legacy", "example.com")
    assert cluster_dns(cluster) is first and cluster_dns(k8snetviz.load("dns")) is not first


def test_dns_server_pods_are_the_ready_coredns_endpoints(cluster):
    assert sorted(p.name for p in dns_server_pods(cluster)) == sorted(
        p.name for p in cluster.pods.values() if p.labels.get("k8s-app") == "kube-dns")
    assert len(dns_server_pods(cluster)) == 2


# --- nameservers that do not answer ----------------------------------------------------------------


def test_no_dns_server_at_the_nameserver_is_a_timeout():
    c = k8snetviz.load("dns", pod_yaml("client", "  dnsPolicy: None\n  dnsConfig:\n    nameservers: [10.244.0.99]"))
    r = resolve(c, "app/client", "web.app.svc.cluster.local")
    # glibc stops after the first candidate when no server answers (TRY_AGAIN without SERVFAIL).
    assert wire(r) == [("web.app.svc.cluster.local.", "A", TIMEOUT)] and r.error == "TRY_AGAIN"
    assert "no DNS server listens at 10.244.0.99" in r.text()
    assert query_plan(c, "app/client", "web.app.svc.cluster.local").nameserver == "10.244.0.99"


def test_next_nameserver_answers_when_the_first_does_not():
    c = k8snetviz.load("dns", pod_yaml(
        "client", "  dnsPolicy: None\n  dnsConfig:\n    nameservers: [172.18.0.3, 10.96.0.10]\n"
        "    searches: [app.svc.cluster.local]"))
    r = resolve(c, "app/client", "web")
    assert r.ok and r.nameserver == "10.96.0.10" and r.skipped == ("nameserver 172.18.0.3: no DNS server listens at "
                                                                   "172.18.0.3",)


# --- bad input -------------------------------------------------------------------------------------


def test_unknown_pod_bad_name_bad_type(cluster):
    with pytest.raises(NotFound, match='^pods "nope" not found in namespace "app"$'):
        resolve(cluster, "app/nope", "web")
    with pytest.raises(UsageError, match='^invalid DNS name "we b"'):
        resolve(cluster, "app/client", "we b")
    with pytest.raises(UsageError, match='^invalid query type "FOO"'):
        resolve(cluster, "app/client", "web", "FOO")


def test_none_policy_without_nameservers_is_the_api_servers_message():
    c = k8snetviz.load("dns", pod_yaml("broken", "  dnsPolicy: None\n  dnsConfig:\n    searches: [a.example]"))
    with pytest.raises(InvalidObject) as err:
        resolve(c, "app/broken", "web")
    assert str(err.value) == ('The Pod "broken" is invalid: spec.dnsConfig.nameservers: Required value: must provide '
                              "at least one DNS nameserver when `dnsPolicy` is None")


def test_more_than_three_nameservers_is_refused():
    c = k8snetviz.load("dns", pod_yaml(
        "many", "  dnsConfig:\n    nameservers: [1.1.1.1, 8.8.8.8, 9.9.9.9, 8.8.4.4]"))
    with pytest.raises(InvalidObject, match=r'^The Pod "many" is invalid: spec.dnsConfig.nameservers: Invalid value: '
                                            r'\[\]string\{"1.1.1.1", .*\}: must not have more than 3 nameservers$'):
        resolve(c, "app/many", "web")


def test_bad_upstream_dns_entry_names_the_field():
    c = k8snetviz.load("dns", """
apiVersion: k8snetviz.dev/v1alpha1
kind: Scenario
metadata: {name: dns}
spec:
  upstreamDNS:
    example.com: {A: [not-an-ip]}
""")
    with pytest.raises(InvalidObject, match=r'^The Scenario "dns" is invalid: spec.upstreamDNS\[example.com\].A\[0\]: '
                                            r'Invalid value: "not-an-ip": must be a valid IPv4 address$'):
        resolve(c, "app/client", "web")


# --- views and the plan ----------------------------------------------------------------------------


def test_text_nslookup_dig_and_html(cluster):
    r = resolve(cluster, "app/client", "db.data")
    text = r.text()
    assert text.startswith("# pod app/client (dnsPolicy ClusterFirst): /etc/resolv.conf\nsearch app.svc")
    assert " 1  db.data.app.svc.cluster.local.  A     NXDOMAIN" in text
    assert f"Name:\tdb.data.svc.cluster.local\nAddress: {ip_of(cluster, 'data/db')}" in text
    ns = dns_nslookup(r)
    assert ns.startswith("Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n")
    assert f"Address: {ip_of(cluster, 'data/db')}" in ns
    dig = dns_dig(r)
    assert "status: NOERROR" in dig and ";db.data.svc.cluster.local.\tIN\tA" in dig
    html = r._repr_mimebundle_()["text/html"]
    assert html.count("<tr class=") == 2 and "knv-dns-miss" in html and "knv-dns-ok" in html


def test_query_plan_for_the_walk(cluster):
    plan = query_plan(cluster, "app/client", "example.com")
    assert (plan.nameserver, plan.port, plan.protocol) == ("10.96.0.10", 53, "UDP")
    assert [q.rcode for q in plan.queries] == ["NXDOMAIN"] * 3 + ["NOERROR"]
    assert plan.queries[-1].addresses == ("93.184.216.34",) and plan.addresses == ("93.184.216.34",)
    hosts = query_plan(cluster, "app/worker", "worker-1")
    assert hosts.queries == () and hosts.nameserver is None and hosts.source == "/etc/hosts"


# --- the resolver widget -----------------------------------------------------------------------------


def test_resolver_widget_counts_ndots_and_keeps_text_on_error(cluster):
    from k8snetviz.widgets import Resolver

    r = Resolver(cluster, pod="app/client", name="example.com", compare_with="app/legacy")
    assert "4 queries sent; 3 before the answer" in r.cost.value and "example.com. needs 1" in r.cost.value
    assert r.queries.value.count("NXDOMAIN") == 3 and r.other_result.queries[0].name == "example.com."
    r.name.value = "we b"
    assert "invalid DNS name" in r.error.value and r.name.value == "we b"
    assert r.result.name == "example.com"  # the last good answer stays on screen
    r.name.value = "db.data"
    assert r.error.value == "" and r.result.addresses == (ip_of(cluster, "data/db"),)


# --- notebook 08's predictions and tasks ---------------------------------------------------------------


def test_predictions_match_the_model(cluster):
    from k8snetviz.course import dns_tasks as d

    assert d.predict_short_name().is_correct("** server can't find db: NXDOMAIN")
    assert "** server can't find db: NXDOMAIN" in str(d.nslookup(cluster, "app/client", "db"))
    assert d.predict_ndots().answer == "4"
    assert d.predict_default_policy().is_correct(1)
    assert not resolve(cluster, "app/legacy", "web.app.svc.cluster.local").ok
    assert len(resolve(cluster, "app/client", "db-headless.data").addresses) == 2
    ext = str(d.nslookup(cluster, "app/client", "payments"))
    assert "canonical name = api.example.com." in ext and "Address: 203.0.113.10" in ext
    source = resolve(cluster, "app/client", "intranet.corp.example.").queries[0].answer.source
    assert source.startswith("server block corp.example:53") and "DNS server 10.150.0.10" in source
    assert len(d.dns_predictions()) == 6


def test_debug_pod_nslookup(cluster):
    from k8snetviz.course import dns_tasks as d

    out = str(d.debug_nslookup(cluster))
    assert "nslookup kubernetes.default\nServer:\t\t10.96.0.10" in out
    assert "Name:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1" in out
    assert out.endswith('pod "dnsutils" deleted')


def test_short_name_task():
    from k8snetviz.course import dns_tasks as d

    t = d.task_short_name()
    assert t.check("db.data").passed and t.check(d.SHORT_NAME_SOLUTION).passed
    assert not t.check("db.data.svc.cluster.local").passed  # it works, but it is not short
    assert "every answer is NXDOMAIN" in str(t.check("db"))
    none_policy = d.SHORT_NAME_SOLUTION.replace("  dnsConfig:", "  dnsPolicy: None\n  dnsConfig:\n"
                                                "    nameservers: [10.96.0.10]")
    assert "web (in client's own namespace) no longer resolves" in str(t.check(none_policy))
    other_pod = d.SHORT_NAME_SOLUTION.replace("name: client", "name: other")
    assert "change the pod client in namespace app" in str(t.check(other_pod))


def test_stub_domain_task():
    from k8snetviz.course import dns_tasks as d

    t = d.task_stub_domain()
    assert t.check(d.STUB_DOMAIN_SOLUTION).passed
    everything = d.STUB_DOMAIN_SOLUTION.replace("forward . /etc/resolv.conf", "forward . 10.160.0.10")
    assert "example.com. gives NXDOMAIN" in str(t.check(everything))
    assert "partner.example" in str(t.check(d.STUB_DOMAIN_SOLUTION.split("    partner.example")[0]))
    broken = d.STUB_DOMAIN_SOLUTION.replace("errors\n        cache 30\n        forward . 10.160.0.10",
                                            "errors\n        forwrd . 10.160.0.10")
    assert "Unknown directive 'forwrd'" in str(t.check(broken))


def test_pod_name_task(cluster):
    from k8snetviz.course import dns_tasks as d

    t = d.task_pod_name()
    assert t.check(t.solution().answer).passed
    assert t.check("db-0.db-headless.data.svc.cluster.local.").passed
    assert "nothing else" in str(t.check("db-headless.data"))
    assert not t.check("db-0.db.data").passed  # the subdomain is the headless Service, not db


def test_a_nameserver_the_network_cannot_reach_gives_try_again() -> None:
    # lab (broken-route): node-a has no route back to node-b's pods, so the answer of the CoreDNS pod on
    # node-a never returns; glibc retries and fails with "Temporary failure in name resolution".
    c = k8snetviz.load("broken-route")
    r = c.resolve("default/web", "kubernetes")
    assert r.error == "TRY_AGAIN" and not r.answers
    assert [q["rcode"] for q in r.to_dict()["queries"]] == ["TIMEOUT"]
    assert "the reply cannot get back" in r.text()
    # from node-a's own pods the same server answers
    assert c.resolve("default/client", "kubernetes").to_dict()["answers"][0]["data"] == "10.96.0.1"


def test_default_deny_egress_breaks_name_resolution() -> None:
    deny = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app}\n"
            "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n")
    r = k8snetviz.load("dns", deny).resolve("app/client", "db.data")
    assert r.error == "TRY_AGAIN" and "isolated for egress" in r.text()
