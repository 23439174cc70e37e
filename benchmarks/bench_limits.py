"""Benchmark: a cluster at Kubernetes' documented limits, generated on the fly (nothing committed).

5,000 nodes, 150,000 pods, 10,000 Services of 10 endpoints each, 500 NetworkPolicies, written as plain
manifests (``_limits.py``: Nodes with podCIDR and InternalIP, Pods with nodeName and podIP, Services
with clusterIP and selector) and loaded from YAML text as a learner's dump would be. Goals (issue 13):
load, YAML parse included, < 60 s; peak memory < 6 GB; the first trace < 1 s; later traces < 5 ms; a
trace's notebook display, diagram included, < 3 s.

    .venv/bin/python benchmarks/bench_limits.py [--scale 0.1] [--kube-proxy-mode nftables] [--profile]

It takes a few minutes and several GB: run one at a time. ``--profile`` prints cProfile's view of the
load and of the first trace. ``--kube-proxy-mode nftables`` runs kube-proxy's nftables mode, whose table
every node shares but for its own address (its count of distinct tables is printed).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _limits import LIMITS, NAMESPACES, limits_yaml, system_pods  # noqa: E402
from _stats import Table, sample  # noqa: E402

import k8snetviz  # noqa: E402
from k8snetviz.views.notebook import trace_bundle  # noqa: E402


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss is in KiB on Linux


def pairs(services: int, endpoints: int, pods: int, nodes: int, count: int) -> list[tuple[str, str]]:
    """Traces spread over the cluster: a pod to a Service (kube-proxy's DNAT), a pod to a pod on another node."""
    pods -= system_pods(nodes)
    out = []
    for i in range(count):
        src = (i * 7919) % pods
        s = (i * 104_729) % services
        out.append((f"team-{(src // endpoints) % NAMESPACES}/app-{src}", f"svc/team-{s % NAMESPACES}/s{s}:80"))
        dst = (src + 12_345) % pods
        out.append((f"team-{(src // endpoints) % NAMESPACES}/app-{src}",
                    f"team-{(dst // endpoints) % NAMESPACES}/app-{dst}:8080"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="a fraction of the limits (0.1: 500 nodes, ...)")
    ap.add_argument("--traces", type=int, default=100, help="later traces to time")
    ap.add_argument("--kube-proxy-mode", choices=("iptables", "nftables"), default="iptables")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    size = {k: max(1, int(v * args.scale)) if k != "endpoints" else v for k, v in LIMITS.items()}
    table = Table(f"Kubernetes' limits: {size['nodes']:,} nodes, {size['pods']:,} pods, {size['services']:,} "
                  f"Services × {size['endpoints']} endpoints, {size['policies']:,} NetworkPolicies, "
                  f"kube-proxy in {args.kube_proxy_mode} mode")

    text = limits_yaml(**size, kube_proxy_mode=args.kube_proxy_mode)
    table.note(f"YAML: {len(text) / 1e6:.0f} MB, generated in memory")
    profile = cProfile.Profile() if args.profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    cluster = k8snetviz.loads(text, "<limits>")
    if profile:
        profile.disable()
    load, load_cpu = time.perf_counter() - t0, time.process_time() - c0
    del text
    table.add("load: YAML parse + build", sample([load]), 60.0)
    table.note(f"  (CPU time {load_cpu:.1f} s; {len(cluster.netns):,} network namespaces)")
    nodes = [cluster.netns[f"node/{n}"] for n in cluster.nodes]
    if args.kube_proxy_mode == "nftables":
        tables = [ns.nftables.table("ip", "kube-proxy") for ns in nodes if ns.nftables is not None]
        table.note(f"  (kube-proxy's table on {len(tables):,} nodes: {len({id(t.chains['services']) for t in tables})} "
                   f"distinct services chain, {len({id(t.sets['service-ips']) for t in tables})} distinct "
                   f"service-ips map, {len({id(t.sets['nodeport-ips']) for t in tables}):,} nodeport-ips sets)")
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)

    todo = pairs(size["services"], size["endpoints"], size["pods"], size["nodes"], args.traces // 2 + 1)
    profile = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profile:
        profile.enable()
    first = cluster.trace(*todo[0])
    if profile:
        profile.disable()
    table.add("first trace (pod → Service)", sample([time.perf_counter() - t0]), 1.0)
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(20)
    assert first.hops, first.text()

    times, cpu = [], []
    for src, dst in todo[1:args.traces + 1]:
        t0, c0 = time.perf_counter(), time.process_time()
        result = cluster.trace(src, dst)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert result.hops, result.text()  # delivered, or dropped by a NetworkPolicy: an answer either way
    table.add(f"later traces ({len(times)} pairs: pod → Service, pod → pod)", sample(times), 5e-3)
    table.note(f"  (CPU time: median {sample(cpu).median * 1000:.2f} ms, p95 {sample(cpu).p95 * 1000:.2f} ms; "
               "wall time includes other programs' turns on the CPU)")

    displays = []
    for src, dst in todo[1:4]:
        result = cluster.trace(src, dst)
        t0 = time.perf_counter()
        bundle = trace_bundle(result)
        displays.append(time.perf_counter() - t0)
        assert "<svg" in bundle["text/html"] or "Install Graphviz" in bundle["text/html"]
    table.add("a trace's notebook display (first of 3)", sample(displays[:1]), 3.0)
    table.add("a trace's notebook display (all 3)", sample(displays), 3.0, on="p95")
    table.add("peak memory (resident)", sample([peak_gb()], "GB"), 6.0)
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
