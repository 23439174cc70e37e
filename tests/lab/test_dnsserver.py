"""The lab's DNS server against the real glibc resolver: the queries it sends, in order, are the model's.

Two throwaway namespaces: a client pod with the resolv.conf the kubelet would write for ``app/client``,
and a CoreDNS pod at its scenario address serving the simulated zone. An iptables DNAT in the client
stands in for kube-proxy (10.96.0.10:53 -> the CoreDNS pod), conntrack un-NATs the replies, so glibc
sees answers from the nameserver it asked. Facts: glibc's getaddrinfo (AF_UNSPEC, no AI_ADDRCONFIG)
sends an A and an AAAA query per candidate and walks the search list as ndots says.
"""

from __future__ import annotations

import pytest

import k8snetviz
from k8snetviz.agents.kubelet.resolvconf import search
from k8snetviz.lab.dnsserver import glibc_queries, prepare_resolver, read_log, start
from k8snetviz.lab.netns import Lab
from k8snetviz.questions.resolve import cluster_dns, dns_server_pods, pod_dns, query_plan

pytestmark = pytest.mark.lab

SCENARIO = "dns"
CLIENT = "app/client"


def _nat_rules(dns_ip: str, pod_ip: str) -> str:
    rules = [f"-A OUTPUT -d {dns_ip}/32 -p {p} --dport 53 -j DNAT --to-destination {pod_ip}:53" for p in ("udp", "tcp")]
    return "*nat\n" + "\n".join(rules) + "\nCOMMIT\n"


@pytest.fixture(scope="module")
def cluster():
    return k8snetviz.load(SCENARIO)


def test_glibc_sends_what_the_model_plans(lab_id, cluster):
    client = cluster.pod(CLIENT)
    coredns = dns_server_pods(cluster)[0]
    config = pod_dns(cluster, client)
    dns_ip = config.resolv_conf.nameservers[0]
    with Lab(lab_id, keep=False) as lab:
        c = lab.add_netns("client")
        s = lab.add_netns("coredns")
        lab.run_in(c, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", s])
        for ns, ip in ((c, client.ip), (s, coredns.ip)):
            lab.run_in(ns, ["ip", "addr", "add", f"{ip}/16", "dev", "eth0"])
            lab.run_in(ns, ["ip", "link", "set", "eth0", "up"])
        lab.run_in(c, ["ip", "route", "add", "10.96.0.0/16", "dev", "eth0", "src", str(client.ip)])
        lab.run_in(c, ["iptables-restore"], input=_nat_rules(dns_ip, str(coredns.ip)))
        prepare_resolver(lab, c, config.resolv_conf.render())
        assert lab.run_in(c, ["cat", "/etc/resolv.conf"]).stdout == config.resolv_conf.render()
        server = start(lab, s, SCENARIO)
        core = cluster_dns(cluster).coredns

        for name in ("web", "db", "db.data", "example.com", "example.com.", "payments", "db-headless.data",
                     "a.b.c.d.e.example.com", "intranet.corp.example"):
            real = glibc_queries(lab, c, name, server)
            model = search(name, config.resolv_conf, core.query, family="UNSPEC")
            assert real.wire() == [(q.name, q.type) for q in model.queries], name
            assert sorted(real.addresses) == sorted(model.addresses), name
            assert (real.error is None) == model.ok, name

        # IPv4 only: the plan the packet walk follows, query by query.
        real = glibc_queries(lab, c, "db.data", server, family="INET")
        plan = query_plan(cluster, CLIENT, "db.data")
        assert real.wire() == [(q.name, q.type) for q in plan.queries]
        assert real.addresses == plan.addresses
        assert {q.proto for q in read_log(server.log)} == {"udp"}
