"""kube-proxy at scale: 10,000 services of 5 endpoints each on one node.

Prints the time to generate the node's iptables rules and to restore them, how many rules there are,
and the time of one walk of a packet to one service's cluster IP through nat PREROUTING (the goal is
under 5 ms: the walk must not scan the 10,000 rules of KUBE-SERVICES). Medians and p95 after a
warm-up. Run: ``python benchmarks/bench_kubeproxy.py``.
"""

from __future__ import annotations

import sys
from ipaddress import IPv4Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stats import Table, measure  # noqa: E402

from k8snetviz.agents.kubeproxy.iptables import Endpoint, Proxier, ServicePort  # noqa: E402
from k8snetviz.kernel.netfilter import HookContext, Packet, Ruleset  # noqa: E402

SERVICES = 10_000
ENDPOINTS = 5
NODES = ("kind-control-plane", "kind-worker", "kind-worker2")


def services() -> list[tuple[ServicePort, list[Endpoint]]]:
    """Services in 10.96.0.0/16 with pods spread over three nodes' /24s of 10.244.0.0/16."""
    out = []
    pod = int(IPv4Address("10.244.0.2"))
    for i in range(SERVICES):
        svc = ServicePort(f"ns{i % 50}", f"svc{i}", 80, str(IPv4Address("10.96.1.0") + i), port_name="http",
                          type="NodePort", node_port=30000 + i % 2768)
        eps = []
        for j in range(ENDPOINTS):
            eps.append(Endpoint(str(IPv4Address(pod)), 8080, NODES[(i + j) % len(NODES)]))
            pod += 1
        out.append((svc, eps))
    return out


def main() -> None:
    data = services()
    proxier = Proxier("kind-worker", "172.18.0.3", "10.244.0.0/16")
    table = Table(f"kube-proxy, one node: {SERVICES:,} Services × {ENDPOINTS} endpoints")
    table.add("rule generation (Proxier.sync)", measure(lambda: proxier.sync(data), 3))
    payload = proxier.sync(data)
    table.add("iptables-restore of it (Ruleset.restored)", measure(lambda: Ruleset.restored(payload), 3))
    rules = Ruleset.restored(payload)
    table.note(f"  rules: {len(rules):,} (nat KUBE-SERVICES: {len(rules.rules('nat', 'KUBE-SERVICES')):,})")
    target, _ = data[SERVICES // 2]
    pkt = Packet(IPv4Address("10.244.1.10"), IPv4Address(target.cluster_ip), "tcp", 40000, target.port)
    ctx = HookContext(in_iface="veth1234", local_addresses=frozenset({IPv4Address("172.18.0.3"),
                                                                      IPv4Address("10.244.1.1")}))
    table.add(f"one walk of nat PREROUTING to {pkt.dst}:{pkt.dport} (indexed: no scan of KUBE-SERVICES)",
              measure(lambda: rules.traverse("nat", "PREROUTING", pkt, ctx), 200, warmup=2), 5e-3)
    table.print()


if __name__ == "__main__":
    main()
