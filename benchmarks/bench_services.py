"""Services at kube-proxy's scale, through the whole package: 10,000 Services of 5 endpoints each.

The scenario is YAML, as a learner or instructor would write it, read with ``k8snetviz.loads``:
10 Deployments of 5 replicas and 10,000 ClusterIP Services (one namespace, as selectors select within
it), Service i selecting Deployment i % 10, so
every Service has 5 ready endpoints and the EndpointSlice controller, the API server's allocation and
validation, and kube-proxy's rule generation all run at full size. Printed: parse and build times,
rule generation time and rule count per node, and the time of one ``cluster.trace(pod, svc:port)``
(goal: under 5 ms; the walk must not scan KUBE-SERVICES' 10,000 rules).

Run: ``python benchmarks/bench_services.py [SERVICES] [--profile]``; ``--profile`` prints where the
build's time goes (cProfile, top functions by cumulative time). Medians and p95 after a warm-up.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stats import Table, measure  # noqa: E402

import k8snetviz  # noqa: E402
from k8snetviz.agents.kubeproxy import kubeproxy_inputs  # noqa: E402
from k8snetviz.agents.kubeproxy.iptables import Proxier  # noqa: E402
from k8snetviz.scenario.loader import parse_text  # noqa: E402

SERVICES = 10_000
ENDPOINTS = 5
APPS = 10


def scenario_yaml(services: int = SERVICES) -> str:
    docs = ["apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: bench\nspec:\n"
            "  externalClients: [{name: laptop, ip: 172.18.0.100}]\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: client\nspec:\n  nodeName: kind-worker\n"
            "  containers: [{name: c, image: busybox}]\n"]
    for a in range(APPS):
        docs.append(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{a}\nspec:\n"
                    f"  replicas: {ENDPOINTS}\n  selector: {{matchLabels: {{app: app{a}}}}}\n  template:\n"
                    f"    metadata: {{labels: {{app: app{a}}}}}\n"
                    "    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}\n")
    for i in range(services):
        docs.append(f"apiVersion: v1\nkind: Service\nmetadata:\n  name: svc{i}\n"
                    f"spec:\n  selector: {{app: app{i % APPS}}}\n"
                    "  ports: [{name: http, port: 80, targetPort: 8080}]\n")
    return "---\n".join(docs)


def main(argv: list[str]) -> None:
    services = next((int(a) for a in argv if a.isdigit()), SERVICES)
    text = scenario_yaml(services)
    table = Table(f"Services: {services:,} × {ENDPOINTS} endpoints through the whole package "
                  f"({len(text) / 1e6:.1f} MB of YAML)")
    table.add("YAML parse", measure(lambda: parse_text(text, "<bench>"), 2))
    scenario = parse_text(text, "<bench>")
    if "--profile" in argv:
        profile = cProfile.Profile()
        profile.enable()
        k8snetviz.Cluster(scenario)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    table.add("build (Services, EndpointSlices, every node's rules)", measure(lambda: k8snetviz.Cluster(scenario), 2))
    cluster = k8snetviz.Cluster(scenario)
    table.note(f"  services: {len(cluster.services):,}, EndpointSlices: {len(cluster.endpointslices):,}, "
               f"pods: {len(cluster.pods):,}")
    table.add("kube-proxy inputs from Services + EndpointSlices",
              measure(lambda: kubeproxy_inputs(cluster.services.values(), cluster.endpointslices), 2))
    inputs = kubeproxy_inputs(cluster.services.values(), cluster.endpointslices)
    node = next(iter(cluster.nodes.values()))
    proxier = Proxier(node.name, str(node.internal_ip), str(cluster.config.pod_subnet))
    table.add(f"rule generation for one node ({node.name})", measure(lambda: proxier.sync(inputs), 2))
    ruleset = cluster.netns[f"node/{node.name}"].ruleset
    table.note(f"  rules per node: {len(ruleset):,} (nat KUBE-SERVICES: "
               f"{len(ruleset.rules('nat', 'KUBE-SERVICES')):,}), shared by the {len(cluster.nodes)} nodes")
    target = f"svc/default/svc{services // 2}:80"
    first = measure(lambda: cluster.trace("default/client", target), 1, warmup=0)
    table.add(f"first trace default/client → {target}", first, 1.0)
    table.add(f"trace default/client → {target}", measure(lambda: cluster.trace("default/client", target), 50), 5e-3)
    table.print()


if __name__ == "__main__":
    main(sys.argv[1:])
