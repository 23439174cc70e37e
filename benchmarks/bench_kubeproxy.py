"""kube-proxy at scale: 10,000 services of 5 endpoints each on one node.

Prints the time to generate the node's iptables rules, how many rules there are, and the time of
one walk of a packet to one service's cluster IP through nat PREROUTING (the goal is under 5 ms:
the walk must not scan the 10,000 rules of KUBE-SERVICES). Run: ``python benchmarks/bench_kubeproxy.py``.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Address

from k8snetviz.agents.kubeproxy.iptables import Endpoint, Proxier, ServicePort
from k8snetviz.kernel.netfilter import HookContext, Packet, Ruleset

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
    start = time.perf_counter()
    rules = Ruleset.restored(Proxier("kind-worker", "172.18.0.3", "10.244.0.0/16").sync(data))
    generation = time.perf_counter() - start
    print(f"services x endpoints: {SERVICES} x {ENDPOINTS}")
    print(f"rule generation: {generation:.2f} s")
    print(f"rules: {len(rules)} (nat KUBE-SERVICES: {len(rules.rules('nat', 'KUBE-SERVICES'))})")

    target, _ = data[SERVICES // 2]
    pkt = Packet("10.244.1.10", target.cluster_ip, "tcp", 40000, target.port)
    ctx = HookContext(in_iface="veth1234", local_addresses={"172.18.0.3", "10.244.1.1"})
    rules.traverse("nat", "PREROUTING", pkt, ctx)  # builds the chain indexes once
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        walk = rules.traverse("nat", "PREROUTING", pkt, ctx)
    per_walk = (time.perf_counter() - start) / runs
    print(f"one walk of nat PREROUTING to {pkt.dst}:{pkt.dport}: {per_walk * 1000:.3f} ms "
          f"({len(walk)} outcomes, probabilities sum to {walk.total_probability})")


if __name__ == "__main__":
    main()
