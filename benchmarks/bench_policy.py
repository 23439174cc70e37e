"""Benchmark: the NetworkPolicy reachability matrix for 1,000 pods and 200 policies (goal: < 0.5 s, issue 13).

Run: ``python benchmarks/bench_policy.py [PODS] [POLICIES]``. Prints medians and p95; not a timed test.
The cluster is generated from a fixed seed: 20 namespaces, pods labelled app/tier with named
ports, and a mix of the policy shapes the course teaches (default deny, pod and namespace
selectors ANDed and ORed, matchExpressions, ipBlock with except, named ports, endPort, egress).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stats import Table, measure  # noqa: E402

from k8snetviz.agents.networkpolicy import PodPort, PolicyEngine, PolicyNamespace, PolicyPod  # noqa: E402

TIERS = ("web", "api", "db", "cache")


def generate(n_pods: int = 1000, n_policies: int = 200, seed: int = 8) -> tuple[list, list, list]:
    rng = random.Random(seed)
    namespaces = [
        PolicyNamespace(f"team-{i:02d}", {"team": f"t{i % 7}", "env": rng.choice(["prod", "dev"])})
        for i in range(20)
    ]
    pods = []
    for i in range(n_pods):
        ns = namespaces[i % len(namespaces)].name
        tier = TIERS[i % len(TIERS)]
        ports = (
            PodPort(8080, "http"),
            PodPort(9090, "metrics"),
            PodPort(5432 if tier == "db" else 6379, tier),
        )
        pods.append(
            PolicyPod(
                ns,
                f"{tier}-{i:04d}",
                {"app": f"app-{i % 25}", "tier": tier},
                f"10.244.{i // 250}.{i % 250 + 2}",
                ports,
                node_ip=f"172.18.0.{i % 3 + 2}",
            )
        )
    policies: list[dict[str, Any]] = []
    for k in range(n_policies):
        ns = namespaces[k % len(namespaces)].name
        shape = k % 8
        spec: dict[str, Any]
        if shape == 0:
            spec = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        elif shape == 1:
            spec = {
                "podSelector": {"matchLabels": {"tier": "db"}},
                "ingress": [
                    {"from": [{"podSelector": {"matchLabels": {"tier": "api"}}}], "ports": [{"port": "db"}]}
                ],
            }
        elif shape == 2:
            spec = {
                "podSelector": {"matchLabels": {"tier": "api"}},
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {"matchLabels": {"team": f"t{k % 7}"}},
                                "podSelector": {"matchLabels": {"tier": "web"}},
                            }
                        ],
                        "ports": [{"port": 8080}],
                    }
                ],
            }
        elif shape == 3:
            spec = {
                "podSelector": {
                    "matchExpressions": [
                        {"key": "app", "operator": "In", "values": [f"app-{k % 25}", f"app-{(k + 1) % 25}"]}
                    ]
                },
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"env": "prod"}}},
                            {"podSelector": {"matchLabels": {"app": f"app-{k % 25}"}}},
                        ]
                    }
                ],
            }
        elif shape == 4:
            spec = {
                "podSelector": {"matchLabels": {"tier": "web"}},
                "ingress": [
                    {
                        "from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": [f"10.244.{k % 4}.0/24"]}}],
                        "ports": [{"port": 8000, "endPort": 8999}],
                    }
                ],
            }
        elif shape == 5:
            spec = {
                "podSelector": {"matchLabels": {"app": f"app-{k % 25}"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                    },
                    {
                        "to": [
                            {
                                "podSelector": {
                                    "matchExpressions": [
                                        {"key": "tier", "operator": "NotIn", "values": ["db"]}
                                    ]
                                }
                            }
                        ],
                        "ports": [{"port": "http"}],
                    },
                ],
            }
        elif shape == 6:
            spec = {
                "podSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
                "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": "metrics"}]}],
            }
        else:
            spec = {"podSelector": {"matchLabels": {"tier": "cache"}}, "ingress": [{}]}
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"policy-{k:03d}", "namespace": ns},
                "spec": spec,
            }
        )
    return pods, namespaces, policies


def main(argv: list[str]) -> None:
    n_pods = int(argv[1]) if len(argv) > 1 else 1000
    n_policies = int(argv[2]) if len(argv) > 2 else 200
    pods, namespaces, policies = generate(n_pods, n_policies)
    engine = PolicyEngine(pods, namespaces, policies)
    matrix = engine.reachability(8080, "TCP")
    allowed = sum(v for row in matrix.allowed.values() for v in row.values())
    table = Table(f"NetworkPolicy: {n_pods:,} pods × {n_policies:,} policies, {n_pods * n_pods:,} pairs "
                  f"({allowed:,} allowed on TCP/8080)")
    table.add("parse + index the policies", measure(lambda: PolicyEngine(pods, namespaces, policies), 10))
    table.add("one matrix, TCP/8080 (parse, index, evaluate)",
              measure(lambda: PolicyEngine(pods, namespaces, policies).reachability(8080, "TCP"), 10), 0.5)
    table.add("another port on the same engine, TCP/5432", measure(lambda: engine.reachability(5432, "TCP"), 10))
    table.print()


if __name__ == "__main__":
    main(sys.argv)
