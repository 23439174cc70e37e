"""The scheduler, made deterministic: where a pod without ``spec.nodeName`` runs.

Among the nodes that match the pod's ``nodeSelector`` and whose ``NoSchedule`` taints it tolerates,
the one with the fewest pods so far; ties go to the node listed first.
"""

from __future__ import annotations

import heapq
from typing import Any

from k8snetviz.api.objects import Node

__all__ = ["Placer", "tolerates"]


def tolerates(spec: dict[str, Any], node: Node) -> bool:
    tolerations = spec.get("tolerations") or []
    for t in node.taints:
        if t.get("effect") != "NoSchedule":
            continue
        if not any(tol.get("operator") == "Exists" and not tol.get("key")
                   or tol.get("key") == t.get("key") for tol in tolerations):
            return False
    return True


class Placer:
    """The deterministic scheduler: among the nodes a pod fits, the one with the fewest pods, ties to the
    node listed first. Pods with the same selector and tolerations share one heap of (load, order, node)."""

    def __init__(self, nodes: dict[str, Node]) -> None:
        self.nodes = nodes
        self.order = {n: i for i, n in enumerate(nodes)}
        self.load = dict.fromkeys(nodes, 0)
        self.heaps: dict[str, list[tuple[int, int, str]]] = {}

    def choose(self, spec: dict[str, Any]) -> str | None:
        selector = spec.get("nodeSelector") or {}
        key = repr((sorted(selector.items()), spec.get("tolerations")))
        heap = self.heaps.get(key)
        if heap is None:
            heap = [(self.load[n], self.order[n], n) for n, node in self.nodes.items()
                    if all(node.labels.get(k) == str(v) for k, v in selector.items()) and tolerates(spec, node)]
            heapq.heapify(heap)
            self.heaps[key] = heap
        while heap:
            load, order, n = heap[0]
            if load == self.load[n]:
                return n
            heapq.heapreplace(heap, (self.load[n], order, n))  # stale: the node got pods from another heap
        return None

    def count(self, node: str) -> None:
        self.load[node] += 1
