"""Benchmark: the packet walk on the shipped scenarios, and building and tracing a 1,000-node, 30,000-pod cluster.

Prints numbers against the goals of issue 2 (a trace under 1 ms on a shipped scenario, the big model built
in under 10 s and traced across nodes in under 10 ms); it does not fail when a goal is missed.

    .venv/bin/python benchmarks/bench_trace.py [--nodes 1000] [--pods 30000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _generate import generate  # noqa: E402

import k8snetviz  # noqa: E402
from k8snetviz.cluster import Cluster  # noqa: E402

ROWS: list[tuple[str, str, str, str, str]] = []


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Mean, median and best wall time of ``fn`` in seconds, over ``repeat`` runs after one warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.fmean(times), statistics.median(times), min(times)


def record(what: str, times: tuple[float, float, float], goal: float) -> None:
    mean, median, best = times
    ok = "ok" if mean < goal else "MISSED"
    ROWS.append((what, *(f"{t * 1000:10.3f}" for t in (mean, median, best)), f"< {goal * 1000:g} ms  {ok}"))


def pairs(cluster: Cluster) -> list[tuple[str, str]]:
    """A pod-to-pod trace per shipped scenario: the first default pod to the last pod on another node."""
    pods = [p for p in cluster.pods.values() if not p.host_network]
    src = next((p for p in pods if p.namespace == "default"), pods[0])
    dst = next(p for p in reversed(pods) if p.node_name != src.node_name)
    return [(src.key, f"{dst.key}:80")]


def profile(fn: Callable[[], object], label: str, top: int = 15) -> None:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    print(f"\n--- profile: {label} ---\n{out.getvalue()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=200, help="repetitions of each small trace")
    ap.add_argument("--shapes", default="scheduled,workloads", help="which generated shapes (see _generate.py)")
    ap.add_argument("--profile", action="store_true", help="cProfile the big build and trace")
    args = ap.parse_args(argv)

    for name in k8snetviz.shipped_scenarios():
        cluster = k8snetviz.load(name)
        for src, dst in pairs(cluster):
            record(f"trace {name} ({cluster.config.cni}) pod→pod, other node",
                   timed(lambda c=cluster, s=src, d=dst: c.trace(s, d), args.repeat), 1e-3)

    for shape in args.shapes.split(","):
        scenario = generate(args.nodes, args.pods, shape=shape)
        holder: dict[str, Cluster] = {}

        def build(sc=scenario, h=holder) -> None:
            h["c"] = Cluster(sc)

        t0 = time.perf_counter()
        build()
        first = time.perf_counter() - t0
        big = holder["c"]
        record(f"build {len(big.nodes)} nodes / {len(big.pods)} pods ({shape})", (first, first, first), 10.0)
        pods = [p for p in big.pods.values() if p.namespace.startswith("team-")]
        src, dst = pods[0], next(p for p in reversed(pods) if p.node_name != pods[0].node_name)
        result = big.trace(src.key, f"{dst.key}:8080")
        assert result.delivered, result.text()
        record(f"trace on it, pod→pod across nodes ({shape})",
               timed(lambda c=big, s=src.key, d=f"{dst.key}:8080": c.trace(s, d), 20), 10e-3)
        if args.profile:
            profile(build, f"build ({shape})")
            profile(lambda c=big, s=src.key, d=f"{dst.key}:8080": c.trace(s, d), f"trace ({shape})")
        del big, holder

    width = max(len(r[0]) for r in ROWS)
    print(f"{'benchmark':<{width}}  {'mean ms':>10}  {'median ms':>10}  {'best ms':>10}  goal (on the mean)")
    for what, *cells, goal in ROWS:
        print(f"{what:<{width}}  {'  '.join(cells)}  {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
