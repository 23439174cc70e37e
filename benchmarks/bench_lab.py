"""Benchmark: ``lab up``, ``verify`` and ``down`` for every shipped scenario (needs root).

    sudo .venv/bin/python benchmarks/bench_lab.py [SCENARIO ...]

Prints one row per scenario: seconds for each phase, the namespaces built, verify's total, and of
it the DNS rows (the real glibc resolver's queries and answers against the simulator's plan).
Not a timed test: it prints numbers.
"""

from __future__ import annotations

import sys
import time

import k8snetviz
from k8snetviz.lab.build import up
from k8snetviz.lab.demo import lab_unavailable
from k8snetviz.lab.netns import down
from k8snetviz.lab.verify import verify
from k8snetviz.views.labreport import report_total


def bench(scenario: str, lab_id: str) -> tuple[float, float, float, int, str]:
    cluster = k8snetviz.load(scenario)
    t0 = time.perf_counter()
    layout = up(scenario, lab_id=lab_id)
    t1 = time.perf_counter()
    try:
        report = verify(cluster, lab_id)
    finally:
        t2 = time.perf_counter()
        down(lab_id)
        t3 = time.perf_counter()
    dns = [c for c in report.checks if c.what.startswith("DNS ")]
    total = f"{report_total(report)} (DNS: {sum(c.agree for c in dns)} of {len(dns)} agree)"
    return t1 - t0, t2 - t1, t3 - t2, len(layout.netns), total


def main(argv: list[str]) -> int:
    why = lab_unavailable()
    if why:
        print(f"bench_lab: skipped: {why}")
        return 0
    names = argv or k8snetviz.shipped_scenarios()
    print(f"{'scenario':<18} {'up s':>6} {'verify s':>9} {'down s':>7} {'netns':>6}  verify total")
    sums = [0.0, 0.0, 0.0]
    for name in names:
        u, v, d, n, total = bench(name, f"bench-{name}"[:20].rstrip("-"))
        sums = [sums[0] + u, sums[1] + v, sums[2] + d]
        print(f"{name:<18} {u:>6.1f} {v:>9.1f} {d:>7.1f} {n:>6}  {total}", flush=True)
    print(f"{'all':<18} {sums[0]:>6.1f} {sums[1]:>9.1f} {sums[2]:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
