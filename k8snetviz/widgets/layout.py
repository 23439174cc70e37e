"""One drawing of a cluster (its DOT and text description), made once and shared by every widget that draws it.

A drawing (:class:`k8snetviz.views.dot.Drawing`) is what the diagram shows: which nodes, pods and
routing rows; two walks that show the same get the same DOT, from the cache. The browser lays the DOT
out (:mod:`k8snetviz.widgets.diagram`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from k8snetviz.views.dot import Drawing, cluster_dot, describe, drawing

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = ["Layout", "cluster_drawing", "layout", "shown_pods", "layout_count", "SYSTEM_NAMESPACES"]

SYSTEM_NAMESPACES = ("kube-system",)


class Layout(NamedTuple):
    """A drawing made: its DOT (laid out in the browser), its text description, and what it shows."""

    dot: str
    description: str
    drawing: Drawing


_cache: weakref.WeakKeyDictionary[Cluster, dict[Drawing, Layout]] = weakref.WeakKeyDictionary()
_layouts = 0


def shown_pods(cluster: Cluster, involved: set[str] | frozenset[str] = frozenset()) -> frozenset[str] | None:
    """The pods a diagram draws: the application's, plus system pods a trace goes through (None: all)."""
    system = {p.key for p in cluster.pods.values() if p.namespace in SYSTEM_NAMESPACES}
    if not system - set(involved):
        return None
    return frozenset(p.key for p in cluster.pods.values() if p.key not in system or p.key in involved)


def layout(cluster: Cluster, pods: Iterable[str] | None = None, result: TraceResult | None = None,
           unfold: Iterable[str] = ()) -> Layout:
    """What a diagram shows of ``cluster`` for ``result`` (its DOT made once per drawing, then cached)."""
    global _layouts
    shown = drawing(cluster, result, pods, unfold)
    per_cluster = _cache.setdefault(cluster, {})
    if shown not in per_cluster:
        _layouts += 1
        per_cluster[shown] = Layout(cluster_dot(cluster, shown=shown), describe(cluster, shown=shown), shown)
    return per_cluster[shown]


def cluster_drawing(cluster: Cluster, pods: frozenset[str] | None = None) -> tuple[str, str]:
    """The cluster's DOT for a set of pods and its text description (see :func:`layout`)."""
    got = layout(cluster, pods)
    return got.dot, got.description


def layout_count() -> int:
    """How many drawings were made in this process (tests use it to prove a step change makes none)."""
    return _layouts
