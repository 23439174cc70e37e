"""One Graphviz layout per cluster, shared by every widget that draws it."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from k8snetviz.views.dot import cluster_dot, describe
from k8snetviz.views.notebook import svg_or_note

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["cluster_svg", "shown_pods", "layout_count", "SYSTEM_NAMESPACES"]

_cache: weakref.WeakKeyDictionary[Cluster, dict[frozenset[str] | None, tuple[str, str]]] = \
    weakref.WeakKeyDictionary()
_layouts = 0
SYSTEM_NAMESPACES = ("kube-system",)


def shown_pods(cluster: Cluster, involved: set[str] | frozenset[str] = frozenset()) -> frozenset[str] | None:
    """The pods a diagram draws: the application's, plus system pods a trace goes through (None: all)."""
    system = {p.key for p in cluster.pods.values() if p.namespace in SYSTEM_NAMESPACES}
    if not system - set(involved):
        return None
    return frozenset(p.key for p in cluster.pods.values() if p.key not in system or p.key in involved)


def cluster_svg(cluster: Cluster, pods: frozenset[str] | None = None) -> tuple[str, str]:
    """The cluster's SVG for a set of pods (laid out once per set, then cached) and its text description."""
    global _layouts
    per_cluster = _cache.setdefault(cluster, {})
    if pods not in per_cluster:
        _layouts += 1
        chosen = sorted(pods) if pods is not None else None
        per_cluster[pods] = (svg_or_note(cluster_dot(cluster, pods=chosen)), describe(cluster, pods=chosen))
    return per_cluster[pods]


def layout_count() -> int:
    """How many layouts have run in this process (tests use it to prove a step change runs none)."""
    return _layouts
