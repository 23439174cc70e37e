"""Benchmark: the packet walk on the shipped scenarios, the package's start-up, and a 1,000-node cluster.

Goals: ``import k8snetviz`` < 150 ms and a CLI trace < 400 ms wall (issue 13); a trace on a shipped
scenario < 1 ms (issues 2 and 13); a 1,000-node, 30,000-pod cluster built in < 10 s and traced across
nodes in < 10 ms (issue 2). Medians and p95 after a warm-up; it does not fail when a goal is missed.

    .venv/bin/python benchmarks/bench_trace.py [--nodes 1000] [--pods 30000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _generate import generate  # noqa: E402
from _stats import Table, measure, sample  # noqa: E402

import k8snetviz  # noqa: E402
from k8snetviz.cluster import Cluster  # noqa: E402

PYTHON = sys.executable


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


# A new interpreter reads the package's compiled bytecode, as an installed package has it (pip compiles it at
# install); with PYTHONDONTWRITEBYTECODE set (some shells and CI set it) every run would compile the whole
# package again (~200 ms of the CLI's time): the warm-up runs write it.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(*command: str) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=_ENV)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=200, help="repetitions of each small trace")
    ap.add_argument("--shapes", default="scheduled,workloads", help="which generated shapes (see _generate.py)")
    ap.add_argument("--profile", action="store_true", help="cProfile the big build and trace")
    args = ap.parse_args(argv)

    table = Table("The packet walk and the package's start-up")
    table.add("import k8snetviz (a new interpreter, wall)",
              measure(lambda: run(PYTHON, "-c", "import k8snetviz"), 10, warmup=2), 0.150)
    cli = [PYTHON, "-m", "k8snetviz", "trace", "kind-default", "--from", "default/client", "--to",
           "svc/default/web:80"]
    table.add("k8snetviz trace kind-default (the CLI, wall)", measure(lambda: run(*cli), 10, warmup=2), 0.400)
    for name in k8snetviz.shipped_scenarios():
        cluster = k8snetviz.load(name)
        for source, destination in pairs(cluster):
            table.add(f"trace {name} ({cluster.config.cni}) pod→pod, other node",
                      measure(partial(cluster.trace, source, destination), args.repeat, warmup=5), 1e-3)

    for shape in args.shapes.split(","):
        scenario = generate(args.nodes, args.pods, shape=shape)
        builds = []
        for _ in range(2):
            build = measure(partial(Cluster, scenario), 1, warmup=0)
            builds += build.values
        big = Cluster(scenario)
        table.add(f"build {len(big.nodes)} nodes / {len(big.pods)} pods ({shape})", sample(builds), 10.0)
        pods = [p for p in big.pods.values() if p.namespace.startswith("team-")]
        src, dst = pods[0], next(p for p in reversed(pods) if p.node_name != pods[0].node_name)
        result = big.trace(src.key, f"{dst.key}:8080")
        assert result.delivered, result.text()
        table.add(f"trace on it, pod→pod across nodes ({shape})",
                  measure(partial(big.trace, src.key, f"{dst.key}:8080"), 50, warmup=2), 10e-3)
        if args.profile:
            profile(partial(Cluster, scenario), f"build ({shape})")
            profile(partial(big.trace, src.key, f"{dst.key}:8080"), f"trace ({shape})")
        del big
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
