"""Controllers into pods: what the Deployment, ReplicaSet, StatefulSet and DaemonSet controllers create.

Names follow the controllers' patterns, made deterministic: a Deployment ``web`` owns the
ReplicaSet ``web-<pod-template-hash>``, whose pods are ``web-<hash>-<5 chars>``; a StatefulSet's
pods are ``db-0``, ``db-1``; a DaemonSet's are ``agent-<5 chars>``, one per node it tolerates.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from k8snetviz.api.kinds import WORKLOAD_KINDS
from k8snetviz.api.notes import is_observed
from k8snetviz.errors import FieldError, InvalidObject
from k8snetviz.scenario.loader import Manifest

__all__ = ["expand_workload", "WORKLOAD_KINDS", "name_suffix", "PresentPods", "controller_pods", "replica_set_name"]

# The alphabet of Kubernetes' random name suffixes (no vowels, no confusable characters).
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def name_suffix(seed: str, length: int = 5) -> str:
    """A stable stand-in for the random suffix the API server's generateName adds."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:length])


def _template_hash(template: dict[str, Any]) -> str:
    # The real pod-template-hash is a hash of the template, rendered in the same alphabet.
    return name_suffix(repr(sorted(_flatten(template))), 10)


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(obj, dict):
        out: list[tuple[str, str]] = []
        for k, v in obj.items():
            out += _flatten(v, f"{prefix}.{k}")
        return out
    if isinstance(obj, list):
        out = []
        for i, v in enumerate(obj):
            out += _flatten(v, f"{prefix}[{i}]")
        return out
    return [(prefix, str(obj))]


def _template(m: Manifest) -> dict[str, Any]:
    spec = m.body.get("spec") or {}
    template = spec.get("template")
    if not isinstance(template, dict):
        raise InvalidObject(m.kind, m.name, [FieldError.required("spec.template")])
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    for k, v in selector.items():
        if labels.get(k) != v:
            raise InvalidObject(m.kind, m.name, [FieldError.invalid(
                "spec.template.metadata.labels", labels, "`selector` does not match template `labels`")])
    return template


def _pod(m: Manifest, template: dict[str, Any], name: str, owner_kind: str, owner_name: str,
         extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    md = copy.deepcopy(template.get("metadata") or {})
    md["name"] = name
    md["namespace"] = m.namespace or "default"
    md["labels"] = {**(md.get("labels") or {}), **(extra_labels or {})}
    md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner_kind, "name": owner_name,
                              "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": copy.deepcopy(template.get("spec") or {})}


def _replicas(m: Manifest) -> int:
    r = (m.body.get("spec") or {}).get("replicas", 1)
    if not isinstance(r, int) or isinstance(r, bool) or r < 0:
        raise InvalidObject(m.kind, m.name, [FieldError.invalid(
            "spec.replicas", r, "must be greater than or equal to 0")])
    return r


def expand_workload(m: Manifest, node_names: list[str], tolerated: dict[str, bool]) -> list[dict[str, Any]]:
    """The pod manifests a controller creates. ``tolerated[node]`` says whether a DaemonSet pod may run there."""
    template = _template(m)
    ns = m.namespace or "default"
    if m.kind == "Deployment":
        rs = f"{m.name}-{_template_hash(template)}"
        h = rs.rsplit("-", 1)[1]
        return [_pod(m, template, f"{rs}-{name_suffix(f'{ns}/{rs}/{i}')}", "ReplicaSet", rs,
                     {"pod-template-hash": h}) for i in range(_replicas(m))]
    if m.kind == "ReplicaSet":
        return [_pod(m, template, f"{m.name}-{name_suffix(f'{ns}/{m.name}/{i}')}", "ReplicaSet", m.name)
                for i in range(_replicas(m))]
    if m.kind == "StatefulSet":
        service = (m.body.get("spec") or {}).get("serviceName")
        pods = []
        for i in range(_replicas(m)):
            name = f"{m.name}-{i}"
            p = _pod(m, template, name, "StatefulSet", m.name,
                     {"statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": str(i)})
            # The StatefulSet controller sets hostname and subdomain, giving each pod a stable DNS name.
            p["spec"]["hostname"] = name
            if service:
                p["spec"]["subdomain"] = service
            pods.append(p)
        return pods
    if m.kind == "DaemonSet":
        pods = []
        for node in node_names:
            if not tolerated.get(node, False):
                continue
            p = _pod(m, template, f"{m.name}-{name_suffix(f'{ns}/{m.name}/{node}')}", "DaemonSet", m.name)
            p["spec"]["nodeName"] = node
            pods.append(p)
        return pods
    raise ValueError(m.kind)


def controller_pods(m: Manifest, nodes: int) -> int:
    """How many pods a controller creates (a DaemonSet: at most one per node), before they are made."""
    return nodes if m.kind == "DaemonSet" else _replicas(m)


def _match_labels(m: Manifest) -> dict[str, Any] | None:
    selector = (m.body.get("spec") or {}).get("selector")
    labels = selector.get("matchLabels") if isinstance(selector, dict) else None
    return labels if isinstance(labels, dict) and labels else None


class PresentPods:
    """Which controllers already have pods in the scenario, as in a ``kubectl get all`` dump: such a controller
    creates none (only one with none of its pods present is expanded).

    A pod is a controller's when its ``ownerReferences`` name it (a Deployment's through its ReplicaSet, whose
    name is the Deployment's and a hash), or, in a dump whose owner references were stripped, when the pod was
    read back from a cluster and carries the controller's ``matchLabels`` in its namespace. A Deployment whose
    ReplicaSet is in the scenario leaves the pods to that ReplicaSet.
    """

    def __init__(self, pods: list[Manifest], workloads: list[Manifest]) -> None:
        self.owned: set[tuple[str, str, str]] = set()
        self.by_label: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for p in pods:
            ns = p.namespace or "default"
            for ref in p.metadata.get("ownerReferences") or []:
                if isinstance(ref, dict):
                    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
                    self.owned.add((ns, kind, name))
                    if kind == "ReplicaSet" and "-" in name:
                        self.owned.add((ns, "Deployment", name.rsplit("-", 1)[0]))
            if is_observed(p.body):
                labels = p.metadata.get("labels")
                if isinstance(labels, dict):
                    for k, v in labels.items():
                        self.by_label.setdefault((ns, str(k), str(v)), []).append(labels)
        for w in workloads:
            if w.kind != "ReplicaSet":
                continue
            for ref in w.metadata.get("ownerReferences") or []:
                if isinstance(ref, dict) and ref.get("kind") == "Deployment":
                    self.owned.add((w.namespace or "default", "Deployment", str(ref.get("name", ""))))

    def covers(self, m: Manifest) -> bool:
        ns = m.namespace or "default"
        if (ns, m.kind, m.name) in self.owned:
            return True
        selector = _match_labels(m)
        if selector is None:
            return False
        k, v = next(iter(selector.items()))
        return any(all(labels.get(sk) == sv for sk, sv in selector.items())
                   for labels in self.by_label.get((ns, str(k), str(v)), []))


def replica_set_name(m: Manifest) -> str:
    """The ReplicaSet a Deployment's controller makes for its current template (``web-<pod-template-hash>``)."""
    return f"{m.name}-{_template_hash(_template(m))}"
