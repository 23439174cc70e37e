"""A large scenario built in memory: ``nodes`` kind nodes and ``pods`` pods, for the benchmarks.

Two shapes of the same cluster:

- ``"scheduled"``: pods as ``kubectl get pods -A -o yaml`` dumps them, each with ``spec.nodeName``
  (IPAM still hands out the addresses);
- ``"workloads"``: what ``kubectl apply`` takes: one DaemonSet tolerating every node plus Deployments
  for the rest, unscheduled, so the loader expands and places them.

The pod subnet is widened to a /14 (1,024 node /24s) since kind's /16 has room for 256 nodes only.
"""

from __future__ import annotations

from typing import Any

from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["generate", "node_names", "POD_SUBNET"]

POD_SUBNET = "10.64.0.0/14"


def node_names(nodes: int) -> list[str]:
    """kind's names for one control plane and ``nodes - 1`` workers."""
    return ["kind-control-plane"] + [f"kind-worker{'' if i == 1 else i}" for i in range(1, nodes)]


def _doc(body: dict[str, Any], line: int) -> Manifest:
    return Manifest(body, "<generated>", line)


def _container(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "image": "registry.example/app:1", "ports": [{"containerPort": 8080}]}]


def generate(nodes: int = 1000, pods: int = 30_000, cni: str = "kindnet", shape: str = "scheduled") -> Scenario:
    """The scenario, as manifests (no YAML text: the benchmark times the model, not the parser)."""
    if shape not in ("scheduled", "workloads"):
        raise ValueError(shape)
    docs: list[dict[str, Any]] = [
        {"apiVersion": "k8snetviz.dev/v1alpha1", "kind": "Scenario", "metadata": {"name": "generated"},
         "spec": {"cni": cni, "description": f"{nodes} nodes, {pods} pods"}},
        {"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster",
         "nodes": [{"role": "control-plane"}] + [{"role": "worker"}] * (nodes - 1),
         "networking": {"podSubnet": POD_SUBNET, "serviceSubnet": "10.96.0.0/16"}},
    ]
    names = node_names(nodes)
    workers = names[1:] or names
    if shape == "scheduled":
        for i in range(pods):
            md = {"name": f"app-{i}", "namespace": f"team-{i % 50}", "labels": {"app": f"a{i % 100}"}}
            docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": md,
                         "spec": {"nodeName": workers[i % len(workers)], "containers": _container("app")}})
    else:
        docs.append({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "ops"},
                     "spec": {"selector": {"matchLabels": {"app": "agent"}},
                              "template": {"metadata": {"labels": {"app": "agent"}},
                                           "spec": {"tolerations": [{"operator": "Exists"}],
                                                    "containers": _container("agent")}}}})
        rest, deployments = pods - nodes, 100
        for d in range(deployments):
            replicas = rest // deployments + (1 if d < rest % deployments else 0)
            docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": f"app-{d}", "namespace": f"team-{d % 50}"},
                         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": f"app-{d}"}},
                                  "template": {"metadata": {"labels": {"app": f"app-{d}"}},
                                               "spec": {"containers": _container("app")}}}})
    return Scenario("<generated>", [_doc(b, i + 1) for i, b in enumerate(docs)])
