"""Services at kube-proxy's scale, through the whole package: 10,000 Services of 5 endpoints each.

The scenario is YAML, as a learner or instructor would write it, read with ``k8snetviz.loads``:
10 Deployments of 5 replicas and 10,000 ClusterIP Services (one namespace, as selectors select within
it), Service i selecting Deployment i % 10, so
every Service has 5 ready endpoints and the EndpointSlice controller, the API server's allocation and
validation, and kube-proxy's rule generation all run at full size. Printed: parse and build times,
rule generation time and rule count per node, and the time of one ``cluster.trace(pod, svc:port)``
(goal: under 5 ms; the walk must not scan KUBE-SERVICES' 10,000 rules).

Run: ``python benchmarks/bench_services.py [SERVICES] [--profile]``; ``--profile`` prints where the
build's time goes (cProfile, top functions by cumulative time).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

import k8snetviz
from k8snetviz.agents.kubeproxy import kubeproxy_inputs
from k8snetviz.agents.kubeproxy.iptables import Proxier
from k8snetviz.scenario.loader import parse_text

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


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main(argv: list[str]) -> None:
    services = next((int(a) for a in argv if a.isdigit()), SERVICES)
    text = scenario_yaml(services)
    print(f"services x endpoints: {services} x {ENDPOINTS} ({len(text) / 1e6:.1f} MB of YAML)")

    scenario, parse_s = timed(parse_text, text, "<bench>")
    print(f"YAML parse: {parse_s:.2f} s ({len(scenario.manifests)} documents)")
    if "--profile" in argv:
        profile = cProfile.Profile()
        profile.enable()
    cluster, build_s = timed(k8snetviz.Cluster, scenario)
    if "--profile" in argv:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    print(f"Cluster build (services, EndpointSlices, every node's rules): {build_s:.2f} s")
    print(f"  services: {len(cluster.services)}, EndpointSlices: {len(cluster.endpointslices)}, "
          f"pods: {len(cluster.pods)}")

    inputs, inputs_s = timed(kubeproxy_inputs, cluster.services.values(), cluster.endpointslices)
    print(f"kube-proxy inputs from Services + EndpointSlices: {inputs_s:.2f} s")
    cfg = cluster.config
    for node in cluster.nodes.values():
        rules, gen_s = timed(Proxier(node.name, str(node.internal_ip), str(cfg.pod_subnet)).sync, inputs)
        ruleset = cluster.netns[f"node/{node.name}"].ruleset
        print(f"  {node.name}: rule generation {gen_s:.2f} s, kube-proxy rules {len(rules)}, "
              f"node total {len(ruleset)} (nat KUBE-SERVICES: {len(ruleset.rules('nat', 'KUBE-SERVICES'))})")

    target = f"svc/default/svc{services // 2}:80"
    first, first_s = timed(cluster.trace, "default/client", target)
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        result = cluster.trace("default/client", target)
    per = (time.perf_counter() - start) / runs
    print(f"trace default/client → {target}: first {first_s * 1000:.1f} ms, then {per * 1000:.2f} ms per trace "
          f"({result.verdict}, {len(result.hops)} hops, {len(result.candidates)} candidates; goal < 5 ms)")


if __name__ == "__main__":
    main(sys.argv[1:])
