"""Namespaces: the four every cluster has, those the scenario creates, and those its objects name.

Every namespace carries the label ``kubernetes.io/metadata.name`` with its own name (the API server
sets it; NetworkPolicy namespace selectors rely on it).
"""

from __future__ import annotations

from k8snetviz.api.objects import Namespace, Pod
from k8snetviz.scenario.loader import Scenario

__all__ = ["build_namespaces", "DEFAULT_NAMESPACES"]

DEFAULT_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def build_namespaces(scenario: Scenario, pods: dict[str, Pod]) -> dict[str, Namespace]:
    out = {n: Namespace(n, {"kubernetes.io/metadata.name": n}) for n in DEFAULT_NAMESPACES}
    for m in scenario.of_kind("Namespace"):
        labels = {**(m.metadata.get("labels") or {}), "kubernetes.io/metadata.name": m.name}
        out[m.name] = Namespace(m.name, labels)
    # A namespace that objects refer to but no manifest creates is created, as if applied first.
    for m in scenario.manifests:
        ns = m.namespace
        if ns and ns not in out:
            out[ns] = Namespace(ns, {"kubernetes.io/metadata.name": ns})
    for p in pods.values():
        out.setdefault(p.namespace, Namespace(p.namespace, {"kubernetes.io/metadata.name": p.namespace}))
    return dict(sorted(out.items()))
