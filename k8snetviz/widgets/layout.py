"""One Graphviz layout per cluster, shared by every widget that draws it."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from k8snetviz.views.dot import cluster_dot, describe
from k8snetviz.views.notebook import svg_or_note

if TYPE_CHECKING:
    from k8snetviz.model.cluster import Cluster

__all__ = ["cluster_svg", "layout_count"]

_cache: weakref.WeakKeyDictionary[Cluster, tuple[str, str]] = weakref.WeakKeyDictionary()
_layouts = 0


def cluster_svg(cluster: Cluster) -> tuple[str, str]:
    """The cluster's SVG (laid out once, then cached) and its text description."""
    global _layouts
    if cluster not in _cache:
        _layouts += 1
        _cache[cluster] = (svg_or_note(cluster_dot(cluster)), describe(cluster))
    return _cache[cluster]


def layout_count() -> int:
    """How many layouts have run in this process (tests use it to prove a step change runs none)."""
    return _layouts
