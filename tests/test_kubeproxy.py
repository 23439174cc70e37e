"""kube-proxy's iptables rules for one node: names, structure, probabilities and the NAT walk.

Expected lines are printed as iptables-save shows them on a node (kube-proxy's argument order
canonicalized by iptables); their content follows kube-proxy's proxier.go and the expectations in
its proxier_test.go.
"""

from __future__ import annotations

from fractions import Fraction
from ipaddress import IPv4Address

import pytest

from k8snetviz.agents.kubeproxy.iptables import (
    Endpoint,
    Proxier,
    ServicePort,
    endpoint_chain,
    probability,
    service_external_chain,
    service_firewall_chain,
    service_local_chain,
    service_port_chain,
)
from k8snetviz.kernel.netfilter import HookContext, Packet, Ruleset, traverse_hook

NODE = "kind-worker"
NODE_IP = "172.18.0.3"
OTHER = "kind-worker2"
CIDR = "10.244.0.0/16"
NODE_CTX = {"local_addresses": {NODE_IP, "10.244.1.1"}}


def sync(*services: tuple[ServicePort, list[Endpoint]], **options) -> Ruleset:
    """The node's rules as the kernel holds them after kube-proxy's iptables-restore."""
    return Ruleset.restored(Proxier(NODE, NODE_IP, CIDR, **options).sync(services))


def lines(rs: Ruleset, table: str, chain: str) -> list[str]:
    return [r.line for r in rs.rules(table, chain)]


def test_chain_names_are_hashed_as_kube_proxy_hashes_them() -> None:
    # Values from kube-proxy's proxier_test.go: sha256 of "ns/name:port" + protocol (+ endpoint),
    # base32, first 16 characters.
    assert service_port_chain("ns1/svc1:p80", "tcp") == "KUBE-SVC-XPGD46QRK7WJZT7O"
    assert service_external_chain("ns2/svc2:p80", "tcp") == "KUBE-EXT-GNZBNJ2PO5MGZ6GT"
    assert service_firewall_chain("ns5/svc5:p80", "tcp") == "KUBE-FW-NUKIZ6OKUXPJNT4C"
    assert service_local_chain("ns1/svc1:p80", "tcp") == "KUBE-SVL-XPGD46QRK7WJZT7O"
    assert endpoint_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80") == "KUBE-SEP-SXIVWICOYRO3J4NJ"
    # An unnamed port has no ":port" part, and the protocol changes the hash.
    assert ServicePort("default", "web", 80, "10.96.0.20").service_port_name == "default/web"
    assert service_port_chain("ns1/svc1:p80", "udp") != service_port_chain("ns1/svc1:p80", "tcp")


def test_probabilities_are_formatted_as_kube_proxy_writes_them() -> None:
    assert [probability(n) for n in (5, 4, 3, 2)] == ["0.2000000000", "0.2500000000", "0.3333333333", "0.5000000000"]


WEB = ServicePort("default", "web", 80, "10.96.0.20", port_name="http")
WEB_EPS = [Endpoint("10.244.2.5", 8080, OTHER), Endpoint("10.244.1.5", 8080, NODE), Endpoint("10.244.1.6", 8080, NODE)]
WEB_SVC = service_port_chain("default/web:http", "tcp")
SEP = {ep.ip: endpoint_chain("default/web:http", "tcp", str(ep)) for ep in WEB_EPS}


def test_cluster_ip_service_structure() -> None:
    rs = sync((WEB, WEB_EPS))
    assert lines(rs, "nat", "KUBE-SERVICES") == [
        f'-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment "default/web:http cluster IP" '
        f"-m tcp --dport 80 -j {WEB_SVC}",
        '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last '
        'rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ]
    # Endpoints sorted by address; 1/3 then 1/2 then the rest (iptables-save shows the kernel's
    # fixed-point value of kube-proxy's "%0.10f").
    assert lines(rs, "nat", WEB_SVC) == [
        f'-A {WEB_SVC} ! -s 10.244.0.0/16 -d 10.96.0.20/32 -p tcp -m comment --comment "default/web:http '
        'cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
        f'-A {WEB_SVC} -m comment --comment "default/web:http -> 10.244.1.5:8080" -m statistic --mode random '
        f"--probability 0.33333333349 -j {SEP['10.244.1.5']}",
        f'-A {WEB_SVC} -m comment --comment "default/web:http -> 10.244.1.6:8080" -m statistic --mode random '
        f"--probability 0.50000000000 -j {SEP['10.244.1.6']}",
        f'-A {WEB_SVC} -m comment --comment "default/web:http -> 10.244.2.5:8080" -j {SEP["10.244.2.5"]}',
    ]
    sep = SEP["10.244.2.5"]
    assert lines(rs, "nat", sep) == [
        f'-A {sep} -s 10.244.2.5/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ',
        f'-A {sep} -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 10.244.2.5:8080',
    ]
    assert lines(rs, "nat", "KUBE-MARK-MASQ") == ["-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"]
    assert lines(rs, "nat", "KUBE-POSTROUTING") == [
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
    ]
    assert lines(rs, "nat", "PREROUTING") == [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES']
    assert lines(rs, "nat", "POSTROUTING") == [
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING']
    assert lines(rs, "filter", "KUBE-FORWARD") == [
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack '
        "--ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    # The jumps kube-proxy prepends into the built-in chains (last ensured comes first).
    assert lines(rs, "filter", "FORWARD") == [
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" '
        "-j KUBE-PROXY-FIREWALL",
        '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service '
        'portals" -j KUBE-EXTERNAL-SERVICES',
    ]
    assert rs.has_chain("mangle", "KUBE-PROXY-CANARY")


def test_cluster_ip_walk_offers_every_endpoint_with_its_probability() -> None:
    rs = sync((WEB, WEB_EPS))
    pkt = Packet("10.244.1.9", "10.96.0.20", "tcp", 40000, 80)
    walk = rs.traverse("nat", "PREROUTING", pkt, HookContext(in_iface="veth1", **NODE_CTX))
    assert [(str(o.packet.dst), o.packet.dport, o.probability) for o in walk] == [
        ("10.244.1.5", 8080, Fraction(1, 3)), ("10.244.1.6", 8080, Fraction(1, 3)),
        ("10.244.2.5", 8080, Fraction(1, 3))]
    chosen = walk.to("10.244.2.5")
    assert [r.chain for r in chosen.matched] == ["PREROUTING", "KUBE-SERVICES", WEB_SVC, SEP["10.244.2.5"]]
    assert chosen.packet.mark == 0  # a pod source is not masqueraded
    # Only the service's protocol and port are rewritten: ping or another port finds no rule.
    icmp = rs.traverse("nat", "PREROUTING", Packet("10.244.1.9", "10.96.0.20", "icmp"), HookContext(**NODE_CTX))
    assert icmp.only().nat_rules == () and icmp.only().packet.dst == IPv4Address("10.96.0.20")
    other = rs.traverse("nat", "PREROUTING", Packet("10.244.1.9", "10.96.0.20", "tcp", 1, 81), HookContext(**NODE_CTX))
    assert other.only().nat_rules == ()


def test_off_cluster_source_to_cluster_ip_is_marked_for_masquerade() -> None:
    rs = sync((WEB, WEB_EPS))
    walk = rs.traverse("nat", "PREROUTING", Packet("172.18.0.9", "10.96.0.20", "tcp", 1, 80), HookContext(**NODE_CTX))
    assert all(o.packet.mark == 0x4000 for o in walk)
    assert walk.outcomes[0].matched[2].target_name == "KUBE-MARK-MASQ"


def test_hairpin_marks_a_pod_that_reaches_itself() -> None:
    rs = sync((WEB, WEB_EPS))
    walk = rs.traverse("nat", "OUTPUT", Packet("10.244.1.5", "10.96.0.20", "tcp", 1, 80), HookContext(**NODE_CTX))
    assert walk.to("10.244.1.5").packet.mark == 0x4000
    assert walk.to("10.244.2.5").packet.mark == 0
    post = rs.traverse("nat", "POSTROUTING", walk.to("10.244.1.5").packet,
                       HookContext(out_iface="veth1", out_address="10.244.1.1")).only()
    assert post.packet.src == IPv4Address("10.244.1.1")  # the reply comes back through the node


def test_service_without_endpoints_is_rejected_in_filter() -> None:
    svc = ServicePort("default", "empty", 80, "10.96.0.33", type="NodePort", node_port=30081)
    rs = sync((svc, []))
    assert lines(rs, "filter", "KUBE-SERVICES") == [
        '-A KUBE-SERVICES -d 10.96.0.33/32 -p tcp -m comment --comment "default/empty has no endpoints" '
        "-m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable"]
    assert lines(rs, "filter", "KUBE-EXTERNAL-SERVICES") == [
        '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/empty has no endpoints" '
        "-m addrtype --dst-type LOCAL -m tcp --dport 30081 -j REJECT --reject-with icmp-port-unreachable"]
    assert [c for c in rs.chains("nat") if c.startswith(("KUBE-SVC", "KUBE-EXT", "KUBE-SEP"))] == []
    out = traverse_hook(rs, "OUTPUT", Packet("10.244.1.9", "10.96.0.33", "tcp", 1, 80), HookContext(**NODE_CTX))
    assert (out.only().verdict, out.only().reject_with) == ("REJECT", "icmp-port-unreachable")


NP = ServicePort("default", "web", 80, "10.96.0.40", type="NodePort", node_port=30080)


def test_nodeport_cluster_policy_masquerades_to_the_node_address() -> None:
    ext = service_external_chain("default/web", "tcp")
    rs = sync((NP, [Endpoint("10.244.2.5", 8080, OTHER)]))
    assert lines(rs, "nat", "KUBE-NODEPORTS") == [
        f'-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web" -m tcp --dport 30080 -j {ext}']
    assert lines(rs, "nat", ext) == [
        f'-A {ext} -m comment --comment "masquerade traffic for default/web external destinations" '
        "-j KUBE-MARK-MASQ",
        f"-A {ext} -j {service_port_chain('default/web', 'tcp')}",
    ]
    pre = rs.traverse("nat", "PREROUTING", Packet("172.18.0.1", NODE_IP, "tcp", 5555, 30080),
                      HookContext(in_iface="eth0", **NODE_CTX)).only()
    assert (str(pre.packet.dst), pre.packet.dport, pre.packet.mark) == ("10.244.2.5", 8080, 0x4000)
    assert [r.chain for r in pre.matched[:4]] == ["PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS", ext]
    post = rs.traverse("nat", "POSTROUTING", pre.packet, HookContext(out_iface="eth0", out_address=NODE_IP)).only()
    assert post.packet.src == IPv4Address(NODE_IP)  # the pod sees the node as its client


LB = ServicePort("default", "influxdb", 8086, "10.96.0.30", type="LoadBalancer", node_port=31909,
                 load_balancer_ips=("172.18.255.200",), external_traffic_policy="Local", health_check_node_port=32000)


def test_local_policy_with_a_local_endpoint_keeps_the_client_address() -> None:
    ext = service_external_chain("default/influxdb", "tcp")
    svl = service_local_chain("default/influxdb", "tcp")
    svc = service_port_chain("default/influxdb", "tcp")
    rs = sync((LB, [Endpoint("10.244.1.7", 8086, NODE), Endpoint("10.244.2.7", 8086, OTHER)]))
    assert lines(rs, "nat", ext) == [
        f'-A {ext} -s 10.244.0.0/16 -m comment --comment "pod traffic for default/influxdb external destinations" '
        f"-j {svc}",
        f'-A {ext} -m comment --comment "masquerade LOCAL traffic for default/influxdb external destinations" '
        "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
        f'-A {ext} -m comment --comment "route LOCAL traffic for default/influxdb external destinations" '
        f"-m addrtype --src-type LOCAL -j {svc}",
        f"-A {ext} -j {svl}",
    ]
    assert lines(rs, "nat", svl) == [
        f'-A {svl} -m comment --comment "default/influxdb -> 10.244.1.7:8086" '
        f"-j {endpoint_chain('default/influxdb', 'tcp', '10.244.1.7:8086')}"]
    assert lines(rs, "filter", "KUBE-NODEPORTS") == [
        '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/influxdb health check node port" '
        "-m tcp --dport 32000 -j ACCEPT"]
    client = Packet("203.0.113.9", "172.18.255.200", "tcp", 5555, 8086)
    pre = rs.traverse("nat", "PREROUTING", client, HookContext(in_iface="eth0", **NODE_CTX)).only()
    assert (str(pre.packet.dst), pre.packet.mark) == ("10.244.1.7", 0)
    post = rs.traverse("nat", "POSTROUTING", pre.packet, HookContext(out_iface="veth7", out_address="10.244.1.1"))
    assert post.only().packet.src == IPv4Address("203.0.113.9")


def test_local_policy_on_a_node_without_local_endpoints_drops_external_traffic() -> None:
    rs = sync((LB, [Endpoint("10.244.2.7", 8086, OTHER)]))
    comment = '-m comment --comment "default/influxdb has no local endpoints"'
    assert lines(rs, "filter", "KUBE-EXTERNAL-SERVICES") == [
        f"-A KUBE-EXTERNAL-SERVICES -d 172.18.255.200/32 -p tcp {comment} -m tcp --dport 8086 -j DROP",
        f"-A KUBE-EXTERNAL-SERVICES -p tcp {comment} -m addrtype --dst-type LOCAL -m tcp --dport 31909 -j DROP",
    ]
    assert not rs.has_chain("nat", service_local_chain("default/influxdb", "tcp"))
    # The health check port is open either way: the load balancer learns this node has no endpoint.
    assert len(rs.rules("filter", "KUBE-NODEPORTS")) == 1
    client = Packet("203.0.113.9", NODE_IP, "tcp", 5555, 31909)
    ctx = HookContext(in_iface="eth0", **NODE_CTX)
    assert rs.traverse("nat", "PREROUTING", client, ctx).only().nat_rules == ()
    filt = rs.traverse("filter", "INPUT", client, ctx).only()
    assert filt.verdict == "DROP" and "has no local endpoints" in filt.deciding_rule.line
    # A pod on this node still reaches the service through the cluster chain (short-circuit).
    pod = Packet("10.244.1.9", "172.18.255.200", "tcp", 1, 8086)
    assert str(rs.traverse("nat", "PREROUTING", pod, ctx).only().packet.dst) == "10.244.2.7"


def test_internal_traffic_policy_local() -> None:
    svc = ServicePort("default", "node-local", 53, "10.96.0.50", protocol="UDP", internal_traffic_policy="Local")
    svl = service_local_chain("default/node-local", "udp")
    rs = sync((svc, [Endpoint("10.244.1.3", 53, NODE), Endpoint("10.244.2.3", 53, OTHER)]))
    assert lines(rs, "nat", "KUBE-SERVICES")[0].endswith(f"-m udp --dport 53 -j {svl}")
    assert lines(rs, "nat", svl)[1:] == [
        f'-A {svl} -m comment --comment "default/node-local -> 10.244.1.3:53" '
        f"-j {endpoint_chain('default/node-local', 'udp', '10.244.1.3:53')}"]
    away = sync((svc, [Endpoint("10.244.2.3", 53, OTHER)]))
    assert lines(away, "filter", "KUBE-SERVICES") == [
        '-A KUBE-SERVICES -d 10.96.0.50/32 -p udp -m comment --comment "default/node-local has no local '
        'endpoints" -m udp --dport 53 -j DROP']


def test_session_affinity_sticks_to_the_remembered_endpoint() -> None:
    sticky = ServicePort("default", "web", 80, "10.96.0.20", port_name="http", session_affinity="ClientIP")
    rs = sync((sticky, WEB_EPS))
    sep = SEP["10.244.2.5"]
    assert lines(rs, "nat", WEB_SVC)[3] == (
        f'-A {WEB_SVC} -m comment --comment "default/web:http -> 10.244.2.5:8080" -m recent --rcheck '
        f"--seconds 10800 --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}")
    assert lines(rs, "nat", sep)[1] == (
        f'-A {sep} -p tcp -m comment --comment "default/web:http" -m recent --set --name {sep} '
        "--mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.2.5:8080")
    pkt = Packet("10.244.1.9", "10.96.0.20", "tcp", 1, 80)
    first = rs.traverse("nat", "PREROUTING", pkt, HookContext(**NODE_CTX))
    assert len(first) == 3 and first.to("10.244.2.5").recent[0].name == sep
    again = rs.traverse("nat", "PREROUTING", pkt, HookContext(recent={sep: {"10.244.1.9"}}, **NODE_CTX))
    assert str(again.only().packet.dst) == "10.244.2.5"


def test_terminating_endpoints_are_used_only_when_none_is_ready() -> None:
    svc = ServicePort("default", "web", 80, "10.96.0.20")
    ready = Endpoint("10.244.1.5", 8080, NODE)
    leaving = Endpoint("10.244.1.6", 8080, NODE, ready=False, serving=True, terminating=True)
    both = sync((svc, [ready, leaving]))
    assert [r.line.rsplit("--to-destination ", 1)[-1] for r in both.rules("nat") if r.target_name == "DNAT"] == [
        "10.244.1.5:8080"]
    only_leaving = sync((svc, [leaving]))
    assert [r.line.rsplit(" ", 1)[-1] for r in only_leaving.rules("nat") if r.target_name == "DNAT"] == [
        "10.244.1.6:8080"]
    gone = sync((svc, [Endpoint("10.244.1.6", 8080, NODE, ready=False, serving=False, terminating=True)]))
    assert "has no endpoints" in lines(gone, "filter", "KUBE-SERVICES")[0]


def test_load_balancer_source_ranges_use_a_firewall_chain() -> None:
    svc = ServicePort("ns5", "svc5", 80, "172.30.0.45", port_name="p80", type="LoadBalancer", node_port=3002,
                      load_balancer_ips=("5.6.7.8",), load_balancer_source_ranges=(" 203.0.113.0/25",))
    rs = Ruleset.restored(Proxier("test-hostname", "192.168.0.2", "10.0.0.0/8", random_fully=False).sync(
        [(svc, [Endpoint("10.180.0.3", 80)])]))
    fw = "KUBE-FW-NUKIZ6OKUXPJNT4C"
    assert lines(rs, "nat", fw) == [
        f'-A {fw} -s 203.0.113.0/25 -m comment --comment "ns5/svc5:p80 loadbalancer IP" -j KUBE-EXT-NUKIZ6OKUXPJNT4C',
        f'-A {fw} -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"',
    ]
    assert lines(rs, "filter", "KUBE-PROXY-FIREWALL") == [
        f'-A KUBE-PROXY-FIREWALL -d 5.6.7.8/32 -p tcp -m comment --comment "ns5/svc5:p80 traffic not accepted by '
        f'{fw}" -m tcp --dport 80 -j DROP']
    assert lines(rs, "nat", "KUBE-POSTROUTING")[-1].endswith("-j MASQUERADE")  # no --random-fully asked for


def test_large_clusters_drop_the_per_endpoint_comments() -> None:
    # Over 1000 endpoints kube-proxy leaves out the comments in KUBE-SVC -> KUBE-SEP and KUBE-SEP rules.
    many = [
        (ServicePort("ns", f"s{i}", 80, f"10.96.{i // 200}.{i % 200 + 1}"),
         [Endpoint(f"10.244.{i // 200}.{i % 200 + 2}", 80)])
        for i in range(1001)
    ]
    rs = Ruleset.restored(Proxier(NODE).sync(many))
    svc = service_port_chain("ns/s0", "tcp")
    sep = endpoint_chain("ns/s0", "tcp", "10.244.0.2:80")
    assert lines(rs, "nat", svc)[1] == f"-A {svc} -j {sep}"
    assert lines(rs, "nat", sep) == [
        f"-A {sep} -s 10.244.0.2/32 -j KUBE-MARK-MASQ",
        f"-A {sep} -p tcp -m tcp -j DNAT --to-destination 10.244.0.2:80"]
    assert "cluster IP" in lines(rs, "nat", "KUBE-SERVICES")[0]


def test_headless_services_get_no_rules() -> None:
    rs = sync((ServicePort("default", "db", 5432, "None"), [Endpoint("10.244.1.5", 5432, NODE)]))
    assert len(rs.rules("nat", "KUBE-SERVICES")) == 1  # only the tail call to KUBE-NODEPORTS


def test_the_saved_rules_parse_back_identically() -> None:
    rs = sync((WEB, WEB_EPS), (LB, [Endpoint("10.244.2.7", 8086, OTHER)]), (NP, []))
    text = rs.save()
    assert Ruleset.parse(text).save() == text


@pytest.mark.parametrize("n", [1, 2, 5])
def test_probabilities_sum_to_one_for_any_endpoint_count(n: int) -> None:
    eps = [Endpoint(f"10.244.1.{i + 2}", 80, NODE) for i in range(n)]
    rs = sync((ServicePort("default", "web", 80, "10.96.0.20"), eps))
    walk = rs.traverse("nat", "OUTPUT", Packet("10.244.1.100", "10.96.0.20", "tcp", 1, 80), HookContext(**NODE_CTX))
    assert [o.probability for o in walk] == [Fraction(1, n)] * n
    assert sorted(str(o.packet.dst) for o in walk) == sorted(ep.ip for ep in eps)
