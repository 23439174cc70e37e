"""What every benchmark prints: medians and 95th percentiles after a warm-up, each goal beside its number.

A goal names the statistic it is judged on (``median`` or ``p95``); a single measurement (a build of
a 5,000-node cluster) is its own median and p95. Machine noise inflates a mean, so none is judged.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Sample", "Table", "measure", "sample"]


@dataclass
class Sample:
    """Times in seconds (or any values in ``unit``)."""

    values: list[float] = field(default_factory=list)
    unit: str = "s"

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def p95(self) -> float:
        """The 95th percentile, nearest rank (the largest value for fewer than 20)."""
        ordered = sorted(self.values)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def sample(values: list[float], unit: str = "s") -> Sample:
    return Sample(list(values), unit)


def measure(fn: Callable[[], object], repeat: int, warmup: int = 1) -> Sample:
    """Wall time of ``fn`` over ``repeat`` runs, after ``warmup`` runs that are not counted."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return Sample(times)


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.3f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "GB":
        return f"{value:.2f} GB"
    return f"{value:.2f} {unit}"


@dataclass
class Table:
    """Rows of one benchmark script: what, median, p95, runs, goal and whether it holds."""

    title: str
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    missed: int = 0

    def add(self, what: str, s: Sample, goal: float | None = None, on: str = "median") -> None:
        """Add a row; ``goal`` (in ``s.unit``) is judged on ``on`` (``median`` or ``p95``)."""
        verdict = ""
        if goal is not None:
            got = s.p95 if on == "p95" else s.median
            ok = got < goal
            self.missed += not ok
            verdict = f"{on} < {_fmt(goal, s.unit)}  {'ok' if ok else 'MISSED'}"
        self.rows.append((what, _fmt(s.median, s.unit), _fmt(s.p95, s.unit), str(len(s.values)), verdict))

    def note(self, what: str) -> None:
        self.rows.append((what, "", "", "", ""))

    def print(self) -> None:
        head = ("benchmark", "median", "p95", "runs", "goal")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(5)]
        print(f"\n{self.title}")
        for r in [head, *self.rows]:
            print(f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}")
        if self.missed:
            print(f"  {self.missed} goal(s) missed")
