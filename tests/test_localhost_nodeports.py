"""``curl localhost:NODEPORT`` on a node, walked through the kernel model.

Sources: kube-proxy's pkg/proxy/iptables/proxier.go (NewProxier sets net.ipv4.conf.all.route_localnet=1
for localhost NodePorts; syncProxyRules writes the ``-d 127.0.0.0/8`` KUBE-NODEPORTS rule when its
nfacct counter exists) and Linux's net/ipv4/route.c (``__mkroute_output``: a loopback source may not
leave on a non-loopback device unless route_localnet; ``ip_route_input_slow``: a loopback destination
arriving on one is martian unless route_localnet).
"""

from __future__ import annotations

import pytest

import k8snetviz


@pytest.fixture()
def services() -> k8snetviz.Cluster:
    return k8snetviz.load("services")


def test_localhost_nodeport_is_delivered_and_masqueraded(services: k8snetviz.Cluster) -> None:
    t = services.trace("node/kind-worker", "127.0.0.1:30100")
    assert t.verdict == "delivered"
    first = t.hops[0]
    assert first.decided_by.text == "local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1"
    dnat = next(h for h in t.hops if h.action == "dnat")
    # the counting rule comes first and is the one that matches 127.0.0.1
    nodeports = [r for r in dnat.rules if r.startswith("-A KUBE-NODEPORTS")]
    assert nodeports == [next(line for line in services.iptables("kind-worker").splitlines()
                              if line.startswith("-A KUBE-NODEPORTS -d 127.0.0.0/8"))]
    assert "-m nfacct --nfacct-name  localhost_nps_accepted_pkts" in nodeports[0]
    # the kernel lets 127.0.0.1 leave lo because kube-proxy turned route_localnet on
    allowed = [h for h in t.hops if h.decided_by.kind == "sysctl"]
    assert allowed and allowed[0].decided_by.text == "net.ipv4.conf.all.route_localnet = 1"
    assert allowed[0].decided_by.owner.component == "kube-proxy"
    # MASQUERADE gives it an address the pod can answer
    assert not t.final["src"].startswith("127.")


def test_without_route_localnet_the_kernel_drops_the_localhost_nodeport(services: k8snetviz.Cluster) -> None:
    services.netns["node/kind-worker"].set_sysctl("net.ipv4.conf.all.route_localnet", "0")
    t = services.trace("node/kind-worker", "127.0.0.1:30100")
    assert t.verdict == "dropped"
    assert t.hops[-1].decided_by.text == "net.ipv4.conf.all.route_localnet = 0"
    assert "martian" in t.hops[-1].detail


def test_kube_proxy_writes_route_localnet_and_its_counters_on_every_node(services: k8snetviz.Cluster) -> None:
    for name in services.nodes:
        ns = services.netns[f"node/{name}"]
        assert ns.sysctl("net.ipv4.conf.all.route_localnet") == "1"
        assert ns.sysctl_owners["net.ipv4.conf.all.route_localnet"].component == "kube-proxy"
        assert set(ns.nfacct) == {"localhost_nps_accepted_pkts", "ct_state_invalid_dropped_pkts"}


def test_loopback_without_a_nodeport_stays_on_lo(services: k8snetviz.Cluster) -> None:
    t = services.trace("node/kind-worker", "127.0.0.1:10250")
    assert t.verdict == "delivered"
    assert [h.action for h in t.hops][:2] == ["route", "deliver"]
    assert t.hops[1].device == "lo"
