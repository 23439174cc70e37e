"""Kernel state that every node holds alike is held once: peer routes, kube-proxy's chains, policy bitsets.

A 5,000-node cluster would otherwise hold 25 million peer routes and 5,000 copies of kube-proxy's
110,000 chains. Sharing must not show: ``ip route`` and ``iptables-save`` print what an unshared
kernel would, and a change on one node stays on that node (copy-on-write).
"""

from __future__ import annotations

import random

import pytest

import k8snetviz
from k8snetviz.agents.kubeproxy import node_rules
from k8snetviz.agents.networkpolicy import _bits, _mask
from k8snetviz.kernel.netfilter import Ruleset, RulesetError
from k8snetviz.kernel.routing import Route, RouteLayer, RoutingTable

NODES = "\n---\n".join(
    f"apiVersion: v1\nkind: Node\nmetadata:\n  name: n{i}\nspec:\n  podCIDR: 10.244.{i}.0/24\n"
    f"status:\n  addresses: [{{type: InternalIP, address: 172.18.0.{i + 2}}}]" for i in range(12))
APP = """
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec: {nodeName: n1, containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


@pytest.fixture(scope="module")
def cluster() -> k8snetviz.Cluster:
    return k8snetviz.loads(NODES + APP)


def test_every_node_routes_to_every_other_podcidr_from_one_shared_layer(cluster) -> None:
    tables = [cluster.netns[f"node/{n}"].routes for n in cluster.nodes]
    assert len({id(t._base) for t in tables}) == 1 and tables[0]._base is not None
    for name, node in cluster.nodes.items():
        lines = str(cluster.netns[f"node/{name}"].routes).splitlines()
        peers = [line for line in lines if " via 172.18." in line and not line.startswith("default")]
        # kindnetd: a route to each other node's podCIDR via its node IP, none to the node's own
        assert peers == [f"{other.pod_cidr} via {other.internal_ip} dev eth0"
                         for other in sorted(cluster.nodes.values(), key=lambda n: int(n.pod_cidr.network_address))
                         if other is not node]
        # an address of the node's own podCIDR with no pod behind it: no peer route, only the default
        assert cluster.netns[f"node/{name}"].routes.lookup(str(node.pod_cidr.network_address + 200)).is_default


def test_a_shared_row_deleted_on_one_table_stays_on_the_others() -> None:
    layer = RouteLayer([Route.parse("10.244.1.0/24 via 172.18.0.3 dev eth0"),
                        Route.parse("10.244.2.0/24 via 172.18.0.4 dev eth0")])
    a, b = RoutingTable([Route.parse("default via 172.18.0.1 dev eth0")]), RoutingTable()
    a.share(layer)
    b.share(layer, hide=[layer.routes[1]])
    assert len(a) == 3 and len(b) == 1
    assert str(a.remove("10.244.1.0/24")) == "10.244.1.0/24 via 172.18.0.3 dev eth0"
    assert a.lookup("10.244.1.9").is_default
    assert str(b.lookup("10.244.1.9")) == "10.244.1.0/24 via 172.18.0.3 dev eth0"
    assert b.lookup("10.244.2.9") is None  # hidden in b from the start
    assert str(a).splitlines() == ["default via 172.18.0.1 dev eth0", "10.244.2.0/24 via 172.18.0.4 dev eth0"]


def test_the_broken_route_scenario_deletes_a_peer_route_on_one_node_only() -> None:
    c = k8snetviz.load("broken-route")
    assert "10.244.2.0/24" not in str(c.netns["node/node-a"].routes)
    assert c.trace("default/client", "default/web:80").verdict != "delivered"


def test_kube_proxy_chains_are_shared_and_iptables_save_is_unchanged(cluster) -> None:
    names = list(cluster.nodes)
    a, b = (cluster.netns[f"node/{n}"].ruleset for n in names[:2])
    # kube-proxy's chains are the same objects on both nodes; kindnetd's masquerade chain is each node's own
    assert a.chain("nat", "KUBE-SERVICES") is b.chain("nat", "KUBE-SERVICES")
    assert a.chain("nat", "KIND-MASQ-AGENT") is not b.chain("nat", "KIND-MASQ-AGENT")
    # and iptables-save prints what the same payloads restored into a ruleset of its own would
    payloads = node_rules(cluster.config, cluster.cni, list(cluster.nodes.values()), cluster.services.values(),
                          cluster.endpointslices, [])[names[0]]
    alone = Ruleset.restored(payloads[0])
    for payload in payloads[1:]:
        alone.restore(payload)
    assert a.save() == alone.save() == cluster.iptables(names[0])


def test_writing_to_a_shared_chain_copies_it_for_that_node_only(cluster) -> None:
    rs = k8snetviz.loads(NODES + APP).netns["node/n3"].ruleset
    other = cluster.netns["node/n4"].ruleset
    shared = rs.chain("nat", "KUBE-SERVICES")
    before = len(shared)
    rs.append("nat", "KUBE-SERVICES", "-d 10.96.99.99/32 -p tcp -m tcp --dport 81 -j KUBE-MARK-MASQ")
    assert len(rs.chain("nat", "KUBE-SERVICES")) == before + 1 and rs.chain("nat", "KUBE-SERVICES") is not shared
    assert len(other.chain("nat", "KUBE-SERVICES")) == before


def test_a_ruleset_others_layer_on_refuses_writes() -> None:
    base = Ruleset(["nat"])
    base.new_chain("nat", "KUBE-SVC-X")
    top = base.layered()
    top.append("nat", "KUBE-SVC-X", "-j RETURN")
    with pytest.raises(RulesetError, match="shared"):
        base.append("nat", "KUBE-SVC-X", "-j RETURN")
    assert len(base.chain("nat", "KUBE-SVC-X")) == 0 and len(top.chain("nat", "KUBE-SVC-X")) == 1


def test_per_service_chains_are_parsed_when_first_looked_at(cluster) -> None:
    rs = k8snetviz.loads(NODES + APP).netns["node/n2"].ruleset
    seps = [c for c in rs.chains("nat") if c.startswith("KUBE-SEP-")]
    assert seps and all(rs.chain("nat", c)._raw is not None for c in seps)
    assert rs.chain("nat", "KUBE-SERVICES")._raw is None  # every packet walks it: parsed and indexed at build
    total = len(rs)  # counting does not parse
    assert all(rs.chain("nat", c)._raw is not None for c in seps)
    assert "-j DNAT --to-destination" in rs.save() and len(rs) == total
    assert all(rs.chain("nat", c)._raw is None for c in seps)


def test_nodes_that_see_a_local_service_alike_share_one_payload() -> None:
    c = k8snetviz.load("netpol")
    rulesets = {n: c.netns[f"node/{n}"].ruleset for n in c.nodes}
    bases = {n: id(rs._tables["nat"].base) for n, rs in rulesets.items()}
    local = {p.node_name for p in c.pods.values() if p.key == "x/a"}
    # externalTrafficPolicy: Local makes the rules of the node with x/a differ from the others'
    for n in c.nodes:
        others = [m for m in c.nodes if m != n and (m in local) == (n in local)]
        assert all(bases[m] == bases[n] for m in others)
    assert len(set(bases.values())) == (2 if len(local) < len(c.nodes) else 1)


def test_bitsets_are_built_and_read_in_one_step() -> None:
    rng = random.Random(13)
    for n in (0, 1, 7, 8, 9, 1000):
        picked = sorted(rng.sample(range(n), k=min(n, rng.randint(0, 50)))) if n else []
        mask = _mask(picked, n)
        assert mask == sum(1 << i for i in picked)
        assert _bits(mask) == picked


def test_flannels_vtep_entries_are_kept_once_and_each_node_lacks_its_own() -> None:
    c = k8snetviz.load("flannel-vxlan")
    maps = {n: c.netns[f"node/{n}"].neighbours["flannel.1"] for n in c.nodes}
    assert len({id(m.base) for m in maps.values()}) == 1
    for name, node in c.nodes.items():
        vteps = set(maps[name])
        # flanneld: a neighbour entry for every other node's VTEP (its podCIDR's network address), not its own
        assert vteps == {other.pod_cidr.network_address for other in c.nodes.values() if other is not node}
        fdb = c.netns[f"node/{name}"].fdb["flannel.1"]
        assert {e.dst for e in fdb.values()} == {o.internal_ip for o in c.nodes.values() if o is not node}
    first, second = list(c.nodes)[:2]
    peer = next(iter(maps[first]))
    del maps[first][peer]
    assert peer not in maps[first] and (peer in maps[second] or c.nodes[second].pod_cidr.network_address == peer)


def test_a_learners_iptables_commands_change_their_node_only(cluster) -> None:
    from k8snetviz.agents.writes import IptablesEdit

    mine = k8snetviz.loads(NODES + APP)
    a, b = mine.netns["node/n5"].ruleset, mine.netns["node/n6"].ruleset
    sep = next(c for c in a.chains("nat") if c.startswith("KUBE-SEP-"))
    rules_b = len(b.chain("nat", "KUBE-SERVICES"))
    a.edit(IptablesEdit("node/n5", "nat", "-F", "KUBE-SERVICES"))
    a.edit(IptablesEdit("node/n5", "nat", "-D", "KUBE-POSTROUTING", position=1))
    svc_chains = [c for c in a.chains("nat") if c.startswith("KUBE-SVC-")]
    for chain in svc_chains:  # nothing jumps to them now; emptied, they can go
        a.edit(IptablesEdit("node/n5", "nat", "-F", chain))
        a.edit(IptablesEdit("node/n5", "nat", "-X", chain))
    assert len(a.chain("nat", "KUBE-SERVICES")) == 0 and not any(c.startswith("KUBE-SVC-") for c in a.chains("nat"))
    assert len(b.chain("nat", "KUBE-SERVICES")) == rules_b and all(b.has_chain("nat", c) for c in svc_chains)
    assert len(b.chain("nat", "KUBE-POSTROUTING")) == len(a.chain("nat", "KUBE-POSTROUTING")) + 1
    assert sep in a.chains("nat") and ":KUBE-SVC-" not in a.save() and ":KUBE-SVC-" in b.save()


NFT = "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnetworking:\n  kubeProxyMode: nftables\n---\n"


@pytest.fixture(scope="module")
def nft_cluster() -> k8snetviz.Cluster:
    return k8snetviz.loads(NFT + NODES + APP)


def test_kube_proxys_nftables_table_is_shared_and_nft_list_is_unchanged(nft_cluster) -> None:
    from k8snetviz.agents.kubeproxy import kubeproxy_inputs
    from k8snetviz.agents.kubeproxy.nftables import NFTablesProxier
    from k8snetviz.kernel.nftables import NftRuleset
    from k8snetviz.views.nft import nft_list_ruleset

    c = nft_cluster
    tables = {n: c.netns[f"node/{n}"].nftables.table("ip", "kube-proxy") for n in c.nodes}
    first = tables["n0"]
    for name, node in c.nodes.items():
        t = tables[name]
        # the Services' chains and maps are the very same objects on every node ...
        assert t.chains["services"] is first.chains["services"] and t.sets["service-ips"] is first.sets["service-ips"]
        # not even the dict of chain names is copied for the node's own address (110,000 chains at the limits)
        assert t.chains is first.chains
        # ... and nodeport-ips is each node's own: its primary address (nftables mode's default "primary")
        assert list(t.sets["nodeport-ips"].elements) == [(str(node.internal_ip),)]
        # nft list ruleset prints what kube-proxy's one transaction, loaded alone, would
        cfg = c.config
        alone = NftRuleset()
        alone.apply(NFTablesProxier(name, str(node.internal_ip), str(cfg.pod_subnet), (str(cfg.service_subnet),))
                    .sync(kubeproxy_inputs(c.services.values(), c.endpointslices)))
        assert c.nft(name) == nft_list_ruleset(alone)
        # what nft -f was fed: the same commands (the node's address loaded after the shared part)
        assert sorted(c.netns[f"node/{name}"].nftables.loaded) == sorted(alone.loaded)
    assert c.trace("default/client", "svc/default/web:80").verdict == "delivered"


def test_loading_into_a_shared_nft_table_copies_what_it_changes_for_that_node_only(nft_cluster) -> None:
    mine = k8snetviz.loads(NFT + NODES + APP)
    a, b = mine.netns["node/n5"].nftables, mine.netns["node/n6"].nftables
    ta, tb = a.table("ip", "kube-proxy"), b.table("ip", "kube-proxy")
    services, masq = ta.chains["services"], ta.chains["masquerading"]
    a.apply_line("add rule ip kube-proxy services ip daddr 10.96.99.99 drop")
    a.apply_line("add element ip kube-proxy cluster-ips { 10.96.99.99 }")
    ta = a.table("ip", "kube-proxy")
    assert [r.text for r in ta.chains["services"].rules][-1] == "ip daddr 10.96.99.99 drop"
    assert tb.chains["services"] is services and len(services.rules) == len(ta.chains["services"].rules) - 1
    assert ("10.96.99.99",) in ta.sets["cluster-ips"].elements and \
        ("10.96.99.99",) not in tb.sets["cluster-ips"].elements
    assert ta.chains["masquerading"] is masq  # what the node did not change stays shared
    assert a.loaded[-1] == "add element ip kube-proxy cluster-ips { 10.96.99.99 }" and \
        "10.96.99.99" not in " ".join(b.loaded)
    # a base chain the node copies is the one its walk goes through at that hook (its list of them is made anew)
    before = [c.name for _, c in a.base_chains("prerouting")]
    a.apply_line("add rule ip kube-proxy nat-prerouting ip daddr 10.96.99.98 drop")
    chains = dict((c.name, c) for _, c in a.base_chains("prerouting"))
    assert list(chains) == before and chains["nat-prerouting"].rules[-1].text == "ip daddr 10.96.99.98 drop"
    assert "10.96.99.98" not in " ".join(r.text for _, c in b.base_chains("prerouting") for r in c.rules)
    base = a._base
    assert base is not None
    with pytest.raises(RuntimeError, match="shared"):
        base.apply_line("add rule ip kube-proxy services drop")
