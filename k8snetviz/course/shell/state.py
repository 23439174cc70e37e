"""The cluster as a terminal session changes it, changed the way the cluster itself would change.

Two kinds of change, as on a real cluster:

- **API objects** (``kubectl create|apply|expose|patch|scale|label|delete``): the session keeps the
  documents the API server holds; a change edits them and the cluster is built again from the edited
  documents, so the controllers, kube-proxy, CoreDNS and the CNI see it as they would (a new Service gets
  its cluster IP, its EndpointSlice and kube-proxy's rules). An object the API server would refuse leaves
  everything as it was and gives the API server's message.
- **A node's kernel** (``ip route add``, ``sysctl -w``, ``iptables -A``): a write (``agents/writes.py``)
  owned by ``learner`` on that node, applied to the kernel at once and again after every rebuild, as a
  route added by hand survives a kube-proxy resync.

Objects the model creates itself (kubeadm's CoreDNS and kube-dns, the nodes, the namespaces) are copied
into the documents the first time a learner changes them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from k8snetviz.agents.writes import Owner, Write
from k8snetviz.api.defaults import API_VERSION
from k8snetviz.api.discovery import is_namespaced
from k8snetviz.cluster import Cluster
from k8snetviz.errors import K8sNetVizError
from k8snetviz.kernel.boot import Kernel
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["ClusterState", "ObjectKey", "key_of", "LEARNER"]

LEARNER = "learner"


@dataclass(frozen=True)
class ObjectKey:
    kind: str
    namespace: str  # "" for a cluster-scoped object
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


def key_of(body: dict[str, Any], default_namespace: str = "default") -> ObjectKey:
    kind = str(body.get("kind", ""))
    md = body.get("metadata") or {}
    ns = str(md.get("namespace") or default_namespace) if is_namespaced(kind) else ""
    return ObjectKey(kind, ns, str(md.get("name", "")))


class ClusterState:
    """The documents the API server holds, the learner's kernel writes, and the cluster built from both."""

    def __init__(self, base: Scenario | Cluster) -> None:
        if isinstance(base, Cluster):
            # Someone else's cluster: read it as it is, and make a private copy before the first change.
            self.cluster = base
            self._shared = True
            scenario = base.scenario
        else:
            scenario = base
            self.cluster = Cluster(scenario)
            self._shared = False
        self.source = scenario.source
        self.text = scenario.text
        self.manifests: list[Manifest] = list(scenario.manifests)
        self.writes: list[Write] = []
        self.generation = 0  # bumps on every change, so callers can tell a rebuild happened
        self._owned = False

    # --- reading ----------------------------------------------------------------------------------------
    def documents(self, kind: str | None = None) -> list[Manifest]:
        """The objects as stored: kubeadm's that the scenario does not replace, then the scenario's."""
        system = [m for m in self.cluster.system if kind is None or m.kind == kind]
        own = [m for m in self.manifests if kind is None or m.kind == kind]
        addons = [m for m in getattr(self.cluster, "addons", []) if kind is None or m.kind == kind]
        return system + own + addons

    def find(self, kind: str, namespace: str, name: str) -> Manifest | None:
        want = ObjectKey(kind, namespace if is_namespaced(kind) else "", name)
        for m in self.documents(kind):
            if key_of(m.body) == want:
                return m
        return None

    # --- changing API objects ------------------------------------------------------------------------------
    def materialize_all(self, bodies: Iterable[dict[str, Any]]) -> None:
        """Make derived objects that only make sense together (every node) stored documents, in order."""
        self._own_kubeadm_objects()
        have = {key_of(m.body) for m in self.manifests}
        for b in bodies:
            if key_of(b) not in have:
                self.manifests.append(Manifest(copy.deepcopy(b), "<cluster>", 0))

    def change(self, put: Iterable[dict[str, Any]] = (), delete: Iterable[ObjectKey] = ()) -> Cluster:
        """Store ``put`` (replacing objects of the same key) and remove ``delete``, then rebuild.

        Raises the API server's error (and keeps the old state) when the result is refused.
        """
        self._own_kubeadm_objects()
        gone = set(delete)
        new_bodies = {key_of(b): copy.deepcopy(b) for b in put}
        kept: list[Manifest] = []
        for m in self.manifests:
            k = key_of(m.body)
            if k in gone:
                continue
            body = new_bodies.pop(k, None)
            kept.append(m if body is None else Manifest(body, m.source, m.line))
        kept += [Manifest(b, "<kubectl>", 0) for b in new_bodies.values()]
        return self._rebuild(kept)

    def _own_kubeadm_objects(self) -> None:
        """kubeadm made CoreDNS, kube-dns and ``default/kubernetes`` once, when the cluster was created; from
        then on they are ordinary objects. The first change makes them documents (first, in the order the
        model builds them, so nothing moves) and tells the build not to add kubeadm's again."""
        if self._owned:
            return
        self._owned = True
        system = [Manifest(copy.deepcopy(m.body), m.source, m.line) for m in self.cluster.system]
        manifests: list[Manifest] = []
        found = False
        for m in self.manifests:
            if m.kind == "Scenario" and m.api_version == API_VERSION and not found:
                body = copy.deepcopy(m.body)
                if not isinstance(body.get("spec"), dict):
                    body["spec"] = {}
                body["spec"]["systemPods"] = False
                manifests.append(Manifest(body, m.source, m.line))
                found = True
            else:
                manifests.append(m)
        if not found:
            manifests.insert(0, Manifest({"apiVersion": API_VERSION, "kind": "Scenario",
                                          "metadata": {"name": "session"}, "spec": {"systemPods": False}},
                                         "<session>", 0))
        # kind's add-ons (the control plane's static pods, kube-proxy, the CNI, local-path-provisioner) go last,
        # where the model builds them
        addons = [Manifest(copy.deepcopy(m.body), m.source, m.line) for m in getattr(self.cluster, "addons", [])]
        self.manifests = system + manifests + addons

    def _rebuild(self, manifests: list[Manifest]) -> Cluster:
        cluster = Cluster(Scenario(self.source, manifests, self.text))
        self._reapply(cluster)
        self.manifests = manifests
        self.cluster = cluster
        self._shared = False
        self.generation += 1
        return cluster

    # --- changing a node's kernel ------------------------------------------------------------------------
    def write(self, w: Write) -> None:
        """Apply a learner's write to the kernel now, and after every rebuild."""
        if self._shared:
            self._rebuild(list(self.manifests))
        kernel = Kernel()
        kernel.netns.update(self.cluster.netns)
        kernel.apply([w])
        self.writes.append(w)
        self.generation += 1

    def _reapply(self, cluster: Cluster) -> None:
        kernel = Kernel()
        kernel.netns.update(cluster.netns)
        kept = []
        for w in self.writes:
            if w.netns not in cluster.netns:
                continue  # the pod it was typed in is gone
            try:
                kernel.apply([w])
            except (K8sNetVizError, KeyError, ValueError):
                continue  # it no longer applies (a route the rebuild did not make again)
            kept.append(w)
        self.writes = kept

    @staticmethod
    def owner(node: str, command: str) -> Owner:
        return Owner(LEARNER, node=node, why=f"typed on {node}: {command}")

