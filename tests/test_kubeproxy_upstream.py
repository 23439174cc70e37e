# ruff: noqa: E501 (the expected iptables-restore text is upstream's, verbatim)
"""kube-proxy's iptables mode against kube-proxy's own expectations.

Each test recreates the inputs of a test in kubernetes/kubernetes ``pkg/proxy/iptables/proxier_test.go``
(the v1.33 line: nfacct counters, KUBE-PROXY-FIREWALL, no KUBE-MARK-DROP) and checks what that test
checks, with the upstream test named in the comment. The fixture is upstream's ``NewFakeProxier``:
node ``test-node`` at 192.168.0.2 (also holding 192.168.1.2 and 192.168.99.11), pod CIDR 10.0.0.0/8 for
local detection, mark "0x4000", localhost NodePorts on, both nfacct counters present, and a fake
iptables without ``--random-fully``.

Packet flows are walked with the kernel model (:mod:`k8snetviz.kernel.netfilter`) the way upstream's
``tracePacket`` walks its dump: nat PREROUTING, then the filter chains; the result is the endpoints
reached (every branch of the random choice), or the filter verdict, and whether the packet was marked
for masquerading.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from k8snetviz.agents.kubeproxy.iptables import Endpoint, IptablesRestore, Proxier, ServicePort, probability
from k8snetviz.kernel.netfilter import BUILTIN_CHAINS, HookContext, Packet, Ruleset, traverse_hook

NODE, NODE_IP = "test-node", "192.168.0.2"
NODE_IPS = {NODE_IP, "192.168.1.2", "192.168.99.11"}
POD = "10.0.0.2"  # a pod on this node
EXTERNAL, EXTERNAL_BLOCKED = "203.0.113.2", "203.0.113.130"


def fake_proxier(**options: object) -> Proxier:
    """proxier_test.go NewFakeProxier(ipt): the settings its tests run with."""
    opts: dict[str, object] = dict(cluster_cidr="10.0.0.0/8", mark="0x4000", nfacct=True, random_fully=False,
                                   canary=False)
    opts.update(options)
    return Proxier(NODE, NODE_IP, **opts)  # type: ignore[arg-type]


def _arg(a: str) -> str:
    return f'"{a}"' if " " in a else a


def restore_text(payload: IptablesRestore) -> str:
    """What kube-proxy hands iptables-restore, sorted as proxier_test.go's sortIPTablesRules sorts it.

    Only kube-proxy's own chains: the jumps from the built-in chains are ensured one by one
    (``EnsureRule``), not written in the payload. Tables by name; in each, KUBE-NODEPORTS, then
    KUBE-SERVICES, then the other KUBE-* chains by name; rules keep their order, except that those of
    KUBE-NODEPORTS and KUBE-SERVICES are stable-sorted by the service name in their comment (the
    "must be the last rule" rule stays last).
    """
    def chain_key(name: str) -> tuple[int, str]:
        order = {"KUBE-NODEPORTS": 0, "KUBE-SERVICES": 1}
        return (order.get(name, 2 if name.startswith("KUBE-") else 3), name)

    def service_name(args: tuple[str, ...]) -> str:
        comment = args[args.index("--comment") + 1] if "--comment" in args else ""
        for sep in (" ", ":"):
            comment = comment.split(sep)[0]
        return comment

    out: list[str] = []
    for table in sorted({t for t, _ in payload.chains}):
        chains = sorted((c for t, c in payload.chains if t == table), key=chain_key)
        out.append(f"*{table}")
        out += [f":{c} - [0:0]" for c in chains]
        for chain in chains:
            rules = [args for t, c, args, _ in payload.rules if t == table and c == chain]
            if chain in ("KUBE-NODEPORTS", "KUBE-SERVICES"):
                last = [r for r in rules if "this must be the last rule" in " ".join(r)]
                rules = sorted((r for r in rules if r not in last), key=service_name) + last
            out += [f"-A {chain} " + " ".join(_arg(a) for a in args) for args in rules]
        out.append("COMMIT")
    assert not any(c in BUILTIN_CHAINS[t] for t, c in payload.chains)
    return "\n".join(out) + "\n"


def svc(ns: str, name: str, ip: str, **kw: object) -> ServicePort:
    return ServicePort(ns, name, 80, ip, port_name="p80", **kw)  # type: ignore[arg-type]


def ep(ip: str, node: str | None = None, port: int = 80, **kw: object) -> Endpoint:
    return Endpoint(ip, port, node, **kw)  # type: ignore[arg-type]


# TestOverallIPTablesRules: the services and endpoints it creates.
OVERALL = [
    (svc("ns1", "svc1", "172.30.0.41"), [ep("10.180.0.1")]),
    (svc("ns2", "svc2", "172.30.0.42", type="LoadBalancer", node_port=3001, load_balancer_ips=("1.2.3.4",),
         external_ips=("192.168.99.22",), external_traffic_policy="Local", health_check_node_port=30000),
     [ep("10.180.0.2")]),  # no NodeName: not local
    (svc("ns3", "svc3", "172.30.0.43", type="NodePort", node_port=3003), [ep("10.180.0.3")]),
    (svc("ns4", "svc4", "172.30.0.44", type="NodePort", external_ips=("192.168.99.33",)),
     [ep("10.180.0.4"), ep("10.180.0.5", NODE)]),
    (svc("ns5", "svc5", "172.30.0.45", type="LoadBalancer", node_port=3002, load_balancer_ips=("5.6.7.8",),
         health_check_node_port=30000, load_balancer_source_ranges=(" 203.0.113.0/25",),
         session_affinity="ClientIP", session_affinity_timeout=10800),
     [ep("10.180.0.3")]),
    (svc("ns6", "svc6", "172.30.0.46"), []),
]

# TestOverallIPTablesRules: its expected iptables-restore input, verbatim.
OVERALL_EXPECTED = """\
*filter
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT
-A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP
COMMIT
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXT-4SW47YFZTEDKD3PK - [0:0]
:KUBE-EXT-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-EXT-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-EXT-X27LE4BHSL4DOUIK - [0:0]
:KUBE-FW-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-C6EBXVWJJZMIWKLZ - [0:0]
:KUBE-SEP-I77PXRDZVX7PMWMN - [0:0]
:KUBE-SEP-OYPFS5VJICHGATKP - [0:0]
:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
:KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
:KUBE-SEP-UKSFD7AGPMPPLUHC - [0:0]
:KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]
:KUBE-SVC-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-SVC-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3003 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-X27LE4BHSL4DOUIK
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j KUBE-EXT-X27LE4BHSL4DOUIK
-A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3002 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3002 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 external IP" -m tcp -p tcp -d 192.168.99.33 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "masquerade traffic for ns4/svc4:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-4SW47YFZTEDKD3PK -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-EXT-NUKIZ6OKUXPJNT4C -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-NUKIZ6OKUXPJNT4C -j KUBE-SVC-NUKIZ6OKUXPJNT4C
-A KUBE-EXT-X27LE4BHSL4DOUIK -m comment --comment "masquerade traffic for ns3/svc3:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-X27LE4BHSL4DOUIK -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -s 10.180.0.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.5:80
-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:80
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN
-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.180.0.3:80" -j KUBE-SEP-OYPFS5VJICHGATKP
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ
COMMIT
"""


def test_overall_iptables_rules_match_kube_proxy_line_for_line() -> None:
    # proxier_test.go TestOverallIPTablesRules: every chain, every rule, in kube-proxy's own argument order.
    got = restore_text(fake_proxier().sync(OVERALL))
    assert got.splitlines() == OVERALL_EXPECTED.splitlines()


TRACED_FILTER_CHAINS = ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL")


def flow(rules: Ruleset, src: str, dst: str, dport: int, proto: str = "tcp") -> tuple[str, bool]:
    """proxier_test.go's tracePacket, on the kernel model: ``(output, masq)``.

    nat PREROUTING first (every branch of the random choice: the endpoints reached, "IP:port" joined by
    ", "); then the filter table at INPUT (for a node address) or FORWARD, whose DROP, REJECT or
    ACCEPT rule in one of the chains tracePacket runs ("we just run the interesting tables manually"), if one
    decides, is the output instead. ``masq``: the packet carries KUBE-MARK-MASQ's mark.
    """
    ctx = HookContext(in_iface="eth0", local_addresses=frozenset(NODE_IPS))
    pkt = Packet(src, dst, proto, 40000, dport)
    nat = traverse_hook(rules, "PREROUTING", pkt, ctx)
    reached = sorted({f"{o.packet.dst}:{o.packet.dport}" for o in nat
                      if (o.packet.dst, o.packet.dport) != (pkt.dst, pkt.dport)})
    masq = any(o.packet.mark & 0x4000 for o in nat)
    after = nat.outcomes[0].packet
    hook = "INPUT" if ctx.is_local(after.dst) else "FORWARD"
    states = {"NEW", "DNAT"} if reached else {"NEW"}
    filt = rules.traverse("filter", hook, after, HookContext(in_iface="eth0", local_addresses=frozenset(NODE_IPS),
                                                             ctstate=frozenset(states)))
    decided = [o for o in filt if o.deciding_rule is not None and o.deciding_rule.chain in TRACED_FILTER_CHAINS]
    if decided:
        return decided[0].verdict, masq
    return ", ".join(reached), masq


def restored(services: list, **options: object) -> Ruleset:
    return Ruleset.restored(fake_proxier(**options).sync(services))


BOTH = "10.180.0.4:80, 10.180.0.5:80"


@pytest.mark.parametrize(("src", "dst", "port", "output", "masq"), [
    # proxier_test.go TestTracePacket (its static dump holds these services' rules)
    ("10.0.0.2", "10.0.0.3", 80, "", False),  # no match
    ("10.0.0.2", "172.30.0.41", 80, "10.180.0.1:80", False),  # single endpoint
    ("10.0.0.2", "172.30.0.44", 80, BOTH, False),  # multiple endpoints
    ("192.168.0.2", "192.168.99.22", 80, "10.180.0.2:80", True),  # LOCAL, KUBE-MARK-MASQ
    ("203.0.113.2", "192.168.99.22", 80, "DROP", False),  # DROP (eTP Local, no local endpoint)
    ("192.168.0.2", "192.168.0.2", 30000, "ACCEPT", False),  # ACCEPT (NodePortHealthCheck)
    ("10.0.0.2", "172.30.0.46", 80, "REJECT", False),  # REJECT (no endpoints)
])
def test_trace_packet(src: str, dst: str, port: int, output: str, masq: bool) -> None:
    assert flow(restored(OVERALL), src, dst, port) == (output, masq)


NO_ENDPOINTS = [(svc("ns1", "svc1", "172.30.0.41", type="LoadBalancer", node_port=3001,
                     external_ips=("192.168.99.11",), load_balancer_ips=("1.2.3.4",)), [])]


@pytest.mark.parametrize(("src", "dst", "port"), [
    (POD, "172.30.0.41", 80), (EXTERNAL, "192.168.99.11", 80), (POD, NODE_IP, 3001), (EXTERNAL, NODE_IP, 3001),
    (POD, "1.2.3.4", 80), (EXTERNAL, "1.2.3.4", 80),
])
def test_no_endpoints_reject(src: str, dst: str, port: int) -> None:
    # proxier_test.go TestNoEndpointsReject: a Service without endpoints REJECTs on every address it has.
    assert flow(restored(NO_ENDPOINTS), src, dst, port) == ("REJECT", False)


LB_SOURCE_RANGES = [(svc("ns1", "svc1", "172.30.0.41", type="LoadBalancer", node_port=3001,
                         load_balancer_ips=("1.2.3.4", "5.6.7.8"),
                         load_balancer_source_ranges=("192.168.0.0/24", " 203.0.113.0/25")), [ep("10.180.0.1")])]


@pytest.mark.parametrize(("src", "dst", "port", "output", "masq"), [
    # proxier_test.go TestLoadBalancer (loadBalancerSourceRanges)
    (POD, "172.30.0.41", 80, "10.180.0.1:80", False),  # pod to cluster IP
    (EXTERNAL, NODE_IP, 3001, "10.180.0.1:80", True),  # external to nodePort
    (EXTERNAL_BLOCKED, NODE_IP, 3001, "10.180.0.1:80", True),  # nodePort bypasses LoadBalancerSourceRanges
    (EXTERNAL, "1.2.3.4", 80, "10.180.0.1:80", True),  # accepted external to LB1
    (EXTERNAL, "5.6.7.8", 80, "10.180.0.1:80", True),  # accepted external to LB2
    (EXTERNAL_BLOCKED, "1.2.3.4", 80, "DROP", False),  # blocked external to LB1
    (EXTERNAL_BLOCKED, "5.6.7.8", 80, "DROP", False),  # blocked external to LB2
    (POD, "1.2.3.4", 80, "DROP", False),  # pod to LB1 (blocked by LoadBalancerSourceRanges)
    (POD, "5.6.7.8", 80, "DROP", False),  # pod to LB2 (blocked by LoadBalancerSourceRanges)
    (NODE_IP, "1.2.3.4", 80, "10.180.0.1:80", True),  # node to LB1 (allowed by LoadBalancerSourceRanges)
    (NODE_IP, "5.6.7.8", 80, "10.180.0.1:80", True),  # node to LB2 (allowed by LoadBalancerSourceRanges)
    ("1.2.3.4", "1.2.3.4", 80, "10.180.0.1:80", True),  # same node to LB1, SNATted to LB1 (implicitly allowed)
    ("5.6.7.8", "5.6.7.8", 80, "10.180.0.1:80", True),  # same node to LB2, SNATted to LB2 (implicitly allowed)
])
def test_load_balancer_source_ranges(src: str, dst: str, port: int, output: str, masq: bool) -> None:
    assert flow(restored(LB_SOURCE_RANGES), src, dst, port) == (output, masq)


def _etp(policy: str) -> list:
    return [(svc("ns1", "svc1", "172.30.0.41", type="LoadBalancer", node_port=3001, health_check_node_port=30000,
                 external_ips=("192.168.99.11",), load_balancer_ips=("1.2.3.4",), external_traffic_policy=policy),
             [ep("10.180.0.1", "host1"), ep("10.180.2.1", NODE)])]


ETP_BOTH, ETP_LOCAL = "10.180.0.1:80, 10.180.2.1:80", "10.180.2.1:80"


@pytest.mark.parametrize(("src", "dst", "port", "local", "cluster"), [
    # proxier_test.go TestExternalTrafficPolicyLocal and TestExternalTrafficPolicyCluster: (output, masq) each
    (POD, "172.30.0.41", 80, (ETP_BOTH, False), (ETP_BOTH, False)),  # pod to cluster IP
    (POD, "192.168.99.11", 80, (ETP_BOTH, False), (ETP_BOTH, True)),  # pod to external IP
    (EXTERNAL, "192.168.99.11", 80, (ETP_LOCAL, False), (ETP_BOTH, True)),  # external to external IP
    (POD, "1.2.3.4", 80, (ETP_BOTH, False), (ETP_BOTH, True)),  # pod to LB IP
    (EXTERNAL, "1.2.3.4", 80, (ETP_LOCAL, False), (ETP_BOTH, True)),  # external to LB IP
    (POD, NODE_IP, 3001, (ETP_BOTH, False), (ETP_BOTH, True)),  # pod to NodePort
    (EXTERNAL, NODE_IP, 3001, (ETP_LOCAL, False), (ETP_BOTH, True)),  # external to NodePort
])
def test_external_traffic_policy(src: str, dst: str, port: int, local: tuple, cluster: tuple) -> None:
    assert flow(restored(_etp("Local")), src, dst, port) == local
    assert flow(restored(_etp("Cluster")), src, dst, port) == cluster


def _itp(policy: str, eps: list[Endpoint]) -> list:
    return [(ServicePort("ns1", "svc1", 80, "172.30.1.1", internal_traffic_policy=policy), eps)]


@pytest.mark.parametrize(("policy", "nodes", "output"), [
    # proxier_test.go TestInternalTrafficPolicy (an unnamed port: the comments say "ns1/svc1")
    ("Cluster", (NODE, "node1", "node2"), "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80"),  # internalTrafficPolicy is cluster
    ("Local", (NODE, "node1", "node2"), "10.0.1.1:80"),  # one local endpoint
    ("Local", (NODE, NODE, "node2"), "10.0.1.1:80, 10.0.1.2:80"),  # multiple local endpoints
    ("Local", ("node0", "node1", "node2"), "DROP"),  # no local endpoints
])
def test_internal_traffic_policy(policy: str, nodes: tuple[str, ...], output: str) -> None:
    eps = [ep(f"10.0.1.{i + 1}", node) for i, node in enumerate(nodes)]
    assert flow(restored(_itp(policy, eps)), POD, "172.30.1.1", 80) == (output, False)
    # after the EndpointSlice is deleted: REJECT in every case
    assert flow(restored(_itp(policy, [])), POD, "172.30.1.1", 80) == ("REJECT", False)
    if output == "DROP":
        rules = fake_proxier().sync(_itp(policy, eps)).rules
        assert ("filter", "KUBE-SERVICES", ("-m", "comment", "--comment", "ns1/svc1 has no local endpoints", "-m",
                "tcp", "-p", "tcp", "-d", "172.30.1.1", "--dport", "80", "-j", "DROP")) in [r[:3] for r in rules]


NODEPORT = [(ServicePort("ns1", "svc1", 80, "172.30.0.41", type="NodePort", node_port=3001),
             [ep("10.180.0.1"), ep("10.180.2.1", NODE)])]
KUBE_FIREWALL = ('-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 '
                 '! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP')


@pytest.mark.parametrize("localhost", [True, False])
def test_node_ports_and_localhost(localhost: bool) -> None:
    # proxier_test.go TestNodePorts, "ipv4, localhost-nodeports enabled" / "... disabled" (nodePortAddresses nil)
    rules = restored(NODEPORT, localhost_nodeports=localhost)
    both = "10.180.0.1:80, 10.180.2.1:80"
    assert flow(rules, POD, "172.30.0.41", 80) == (both, False)  # pod to cluster IP
    assert flow(rules, EXTERNAL, NODE_IP, 3001) == (both, True)  # external to nodePort
    assert flow(rules, NODE_IP, NODE_IP, 3001) == (both, True)  # node to nodePort
    assert flow(rules, "192.168.1.2", "192.168.1.2", 3001) == (both, True)  # the alternate node IP too
    # "localhost to nodePort is only allowed in IPv4, and only if not disabled"; it gets masqueraded
    assert flow(rules, "127.0.0.1", "127.0.0.1", 3001) == ((both, True) if localhost else ("", False))
    text = restore_text(fake_proxier(localhost_nodeports=localhost).sync(NODEPORT))
    assert (KUBE_FIREWALL in text.splitlines()) is localhost


def test_localhost_nodeports_set_route_localnet_and_create_the_counters() -> None:
    # proxier.go NewProxier: "Setting route_localnet=1 to allow node-ports on localhost"; the nfacct runner
    # ensures both counters (pkg/proxy/metrics).
    writes = fake_proxier().setup("node/test-node")
    sysctls = {(w.name, w.value) for w in writes if hasattr(w, "value")}
    assert sysctls == {("net.ipv4.conf.all.route_localnet", "1")}
    assert {w.name for w in writes if not hasattr(w, "value")} == {"localhost_nps_accepted_pkts",
                                                                    "ct_state_invalid_dropped_pkts"}
    assert all(w.owner.component == "kube-proxy" for w in writes)
    assert fake_proxier(localhost_nodeports=False, nfacct=False).setup() == []


def test_drop_invalid_rule() -> None:
    # proxier_test.go TestDropInvalidRule: with and without nfacct, and none with conntrack's tcp_be_liberal.
    def forward(**options: object) -> list[str]:
        return [line for line in restore_text(fake_proxier(**options).sync([])).splitlines()
                if line.startswith("-A KUBE-FORWARD")]
    tail = ['-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
            '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate '
            'RELATED,ESTABLISHED -j ACCEPT']
    assert forward(nfacct=False) == ["-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP", *tail]
    assert forward() == ["-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name "
                         "ct_state_invalid_dropped_pkts -j DROP", *tail]
    assert forward(conntrack_tcp_be_liberal=True) == tail


@pytest.mark.parametrize("random_fully", [False, True])
def test_masquerade_rule(random_fully: bool) -> None:
    # proxier_test.go TestMasqueradeRule
    text = restore_text(fake_proxier(random_fully=random_fully).sync([])).splitlines()
    assert [line for line in text if line.startswith("-A KUBE-POSTROUTING")] == [
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE'
        + (" --random-fully" if random_fully else ""),
    ]
    assert "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000" in text


def test_masquerade_mark_is_formatted_as_go_formats_it() -> None:
    # proxier.go: masqueradeMark := fmt.Sprintf("%#08x", 1<<masqueradeBit); a real v1.30 log prints
    # mark="0x00004000" for the default bit 14.
    assert Proxier(NODE).masquerade_mark == "0x00004000"
    assert Proxier(NODE, masquerade_bit=5).masquerade_mark == "0x00000020"


@pytest.mark.parametrize(("n", "text"), [(1, "1.0000000000"), (2, "0.5000000000"), (10, "0.1000000000"),
                                         (100, "0.0100000000"), (1000, "0.0010000000"), (100001, "0.0000099999")])
def test_compute_probability(n: int, text: str) -> None:
    # proxier_test.go TestComputeProbability
    assert probability(n) == text


def _terminating(policy: str, eps: list[Endpoint]) -> list:
    return [(ServicePort("ns1", "svc1", 80, "172.30.1.1", type="LoadBalancer", node_port=0,
                         load_balancer_ips=("1.2.3.4",), health_check_node_port=30000,
                         external_traffic_policy=policy), eps)]


READY = dict(ready=True, serving=True, terminating=False)
SERVING_TERMINATING = dict(ready=False, serving=True, terminating=True)
TERMINATING = dict(ready=False, serving=False, terminating=True)
# The EndpointSlices of TestTerminatingEndpointsTrafficPolicyLocal ...
LOCAL_CASES = {
    "ready endpoints exist": [ep("10.0.1.1", NODE, **READY), ep("10.0.1.2", NODE, **READY),
                              ep("10.0.1.3", NODE, **SERVING_TERMINATING), ep("10.0.1.4", NODE, **TERMINATING),
                              ep("10.0.1.5", "host-1", **READY)],
    "only terminating endpoints exist": [ep("10.0.1.2", NODE, **SERVING_TERMINATING),
                                         ep("10.0.1.3", NODE, **SERVING_TERMINATING),
                                         ep("10.0.1.4", NODE, **TERMINATING), ep("10.0.1.5", "host-1", **READY)],
    "terminating endpoints on remote node": [ep("10.0.1.5", "host-1", **SERVING_TERMINATING)],
    "no usable endpoints on any node": [ep("10.0.1.1", NODE, **TERMINATING), ep("10.0.1.5", "host-1", **TERMINATING)],
}
# ... and of TestTerminatingEndpointsTrafficPolicyCluster.
CLUSTER_CASES = {
    "ready endpoints exist": [ep("10.0.1.1", NODE, **READY), ep("10.0.1.2", NODE, **READY),
                              ep("10.0.1.3", "another-node", **SERVING_TERMINATING),
                              ep("10.0.1.4", "another-node", **TERMINATING), ep("10.0.1.5", "another-node", **READY)],
    "only terminating endpoints exist": [ep("10.0.1.2", NODE, **SERVING_TERMINATING),
                                         ep("10.0.1.3", NODE, **SERVING_TERMINATING),
                                         ep("10.0.1.4", "another-node", **TERMINATING),
                                         ep("10.0.1.5", "another-node", **SERVING_TERMINATING)],
    "terminating endpoints on remote node": [ep("10.0.1.5", "node-1", **SERVING_TERMINATING)],
    "no usable endpoints on any node": [ep("10.0.1.5", NODE, **TERMINATING), ep("10.0.1.5", "node-1", **TERMINATING)],
}


@pytest.mark.parametrize(("case", "policy", "to_cluster_ip", "to_lb"), [
    # proxier_test.go TestTerminatingEndpointsTrafficPolicyLocal: (pod -> cluster IP, external -> LB IP)
    ("ready endpoints exist", "Local", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", ("10.0.1.1:80, 10.0.1.2:80", False)),
    ("only terminating endpoints exist", "Local", "10.0.1.5:80", ("10.0.1.2:80, 10.0.1.3:80", False)),
    ("terminating endpoints on remote node", "Local", "10.0.1.5:80", ("DROP", False)),
    ("no usable endpoints on any node", "Local", "REJECT", ("REJECT", False)),
    # proxier_test.go TestTerminatingEndpointsTrafficPolicyCluster
    ("ready endpoints exist", "Cluster", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
     ("10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", True)),
    ("only terminating endpoints exist", "Cluster", "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80",
     ("10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80", True)),
    ("terminating endpoints on remote node", "Cluster", "10.0.1.5:80", ("10.0.1.5:80", True)),
    ("no usable endpoints on any node", "Cluster", "REJECT", ("REJECT", False)),
])
def test_terminating_endpoints(case: str, policy: str, to_cluster_ip: str, to_lb: tuple) -> None:
    eps = (LOCAL_CASES if policy == "Local" else CLUSTER_CASES)[case]
    rules = restored(_terminating(policy, eps))
    assert flow(rules, POD, "172.30.1.1", 80) == (to_cluster_ip, False)
    assert flow(rules, EXTERNAL, "1.2.3.4", 80) == to_lb
    # after the EndpointSlice is deleted: REJECT
    assert flow(restored(_terminating(policy, [])), EXTERNAL, "1.2.3.4", 80) == ("REJECT", False)


# proxier_test.go TestInternalExternalMasquerade: svc1 (eTP Cluster), svc2 (eTP Local), svc3 (iTP Local), each
# with a local endpoint 10.180.0.N and a remote one 10.180.1.N.
MASQUERADE_SERVICES = [
    (svc("ns1", "svc1", "172.30.0.41", type="LoadBalancer", node_port=3001, load_balancer_ips=("1.2.3.4",)),
     [ep("10.180.0.1", NODE), ep("10.180.1.1", "remote")]),
    (svc("ns2", "svc2", "172.30.0.42", type="LoadBalancer", node_port=3002, load_balancer_ips=("5.6.7.8",),
         external_traffic_policy="Local", health_check_node_port=30002),
     [ep("10.180.0.2", NODE), ep("10.180.1.2", "remote")]),
    (svc("ns3", "svc3", "172.30.0.43", type="LoadBalancer", node_port=3003, load_balancer_ips=("9.10.11.12",),
         internal_traffic_policy="Local"),
     [ep("10.180.0.3", NODE), ep("10.180.1.3", "remote")]),
]


def _both(n: int) -> str:
    return f"10.180.0.{n}:80, 10.180.1.{n}:80"


@pytest.mark.parametrize(("name", "src", "dst", "port", "output", "masq"), [
    # proxier_test.go TestInternalExternalMasquerade, "working LocalTrafficDetector, no masqueradeAll"
    ("pod to ClusterIP", POD, "172.30.0.41", 80, _both(1), False),
    ("pod to NodePort", POD, NODE_IP, 3001, _both(1), True),
    ("pod to LB", POD, "1.2.3.4", 80, _both(1), True),
    ("node to ClusterIP", NODE_IP, "172.30.0.41", 80, _both(1), True),
    ("node to NodePort", NODE_IP, NODE_IP, 3001, _both(1), True),
    ("localhost to NodePort", "127.0.0.1", "127.0.0.1", 3001, _both(1), True),
    ("node to LB", NODE_IP, "1.2.3.4", 80, _both(1), True),
    ("external to ClusterIP", EXTERNAL, "172.30.0.41", 80, _both(1), True),
    ("external to NodePort", EXTERNAL, NODE_IP, 3001, _both(1), True),
    ("external to LB", EXTERNAL, "1.2.3.4", 80, _both(1), True),
    ("pod to ClusterIP with eTP:Local", POD, "172.30.0.42", 80, _both(2), False),
    ("pod to NodePort with eTP:Local", POD, NODE_IP, 3002, _both(2), False),
    ("pod to LB with eTP:Local", POD, "5.6.7.8", 80, _both(2), False),
    ("node to ClusterIP with eTP:Local", NODE_IP, "172.30.0.42", 80, _both(2), True),
    ("node to NodePort with eTP:Local", NODE_IP, NODE_IP, 3002, _both(2), True),
    ("localhost to NodePort with eTP:Local", "127.0.0.1", "127.0.0.1", 3002, _both(2), True),
    ("node to LB with eTP:Local", NODE_IP, "5.6.7.8", 80, _both(2), True),
    ("external to ClusterIP with eTP:Local", EXTERNAL, "172.30.0.42", 80, _both(2), True),
    ("external to NodePort with eTP:Local", EXTERNAL, NODE_IP, 3002, "10.180.0.2:80", False),
    ("external to LB with eTP:Local", EXTERNAL, "5.6.7.8", 80, "10.180.0.2:80", False),
    ("pod to ClusterIP with iTP:Local", POD, "172.30.0.43", 80, "10.180.0.3:80", False),
    ("pod to NodePort with iTP:Local", POD, NODE_IP, 3003, _both(3), True),
    ("pod to LB with iTP:Local", POD, "9.10.11.12", 80, _both(3), True),
    ("node to ClusterIP with iTP:Local", NODE_IP, "172.30.0.43", 80, "10.180.0.3:80", True),
    ("node to NodePort with iTP:Local", NODE_IP, NODE_IP, 3003, _both(3), True),
    ("localhost to NodePort with iTP:Local", "127.0.0.1", "127.0.0.1", 3003, _both(3), True),
    ("node to LB with iTP:Local", NODE_IP, "9.10.11.12", 80, _both(3), True),
    ("external to ClusterIP with iTP:Local", EXTERNAL, "172.30.0.43", 80, "10.180.0.3:80", True),
    ("external to NodePort with iTP:Local", EXTERNAL, NODE_IP, 3003, _both(3), True),
    ("external to LB with iTP:Local", EXTERNAL, "9.10.11.12", 80, _both(3), True),
])
def test_internal_external_masquerade(name: str, src: str, dst: str, port: int, output: str, masq: bool) -> None:
    assert flow(restored(MASQUERADE_SERVICES), src, dst, port) == (output, masq), name


@pytest.mark.parametrize(("name", "src", "dst", "port", "masq"), [
    # the same test, "masqueradeAll": pod -> ClusterIP is masqueraded too
    ("pod to ClusterIP", POD, "172.30.0.41", 80, True),
    ("pod to ClusterIP with eTP:Local", POD, "172.30.0.42", 80, True),
])
def test_internal_external_masquerade_all(name: str, src: str, dst: str, port: int, masq: bool) -> None:
    assert flow(restored(MASQUERADE_SERVICES, masquerade_all=True), src, dst, port)[1] is masq, name


def test_session_affinity_rules() -> None:
    # proxier_test.go TestOverallIPTablesRules, svc5 (ClientIP, 10800 s): the SVC chain checks every endpoint's
    # recent list first; the SEP chain sets it. iptables-save shows the module's defaults (mask, rsource).
    rules = restored(OVERALL)
    svc_chain, sep = "KUBE-SVC-NUKIZ6OKUXPJNT4C", "KUBE-SEP-I77PXRDZVX7PMWMN"
    assert [r.line for r in rules.rules("nat", svc_chain)][1] == (
        f'-A {svc_chain} -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --rcheck --seconds 10800 '
        f"--reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}")
    assert [r.line for r in rules.rules("nat", sep)][1] == (
        f'-A {sep} -p tcp -m comment --comment "ns5/svc5:p80" -m recent --set --name {sep} --mask 255.255.255.255 '
        "--rsource -m tcp -j DNAT --to-destination 10.180.0.3:80")


def test_endpoints_are_ordered_as_kube_proxys_endpointslice_cache_orders_them() -> None:
    # pkg/proxy/endpointslicecache.go byEndpoint: Less compares e.String() ("IP:port") as text.
    eps = [ep("10.0.0.2"), ep("10.0.0.10"), ep("10.0.0.1", port=8080)]
    payload = fake_proxier().sync([(ServicePort("ns", "s", 80, "172.30.0.9"), eps)])
    order = [args[args.index("--comment") + 1].split(" -> ")[1] for t, c, args, _ in payload.rules
             if c.startswith("KUBE-SVC-") and " -> " in " ".join(args)]
    assert order == ["10.0.0.10:80", "10.0.0.1:8080", "10.0.0.2:80"]
    assert IPv4Address("10.0.0.10") > IPv4Address("10.0.0.2")  # not numeric order
