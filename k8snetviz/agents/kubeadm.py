"""What ``kubeadm init`` creates that networking depends on: CoreDNS behind ``kube-system/kube-dns``, and
the ``default/kubernetes`` Service with its EndpointSlice (the API server on the control-plane node); and
the rest of a kind cluster's system pods (:func:`kind_manifests`): the control plane's static pods, the
kube-proxy DaemonSet, the CNI's DaemonSet and local-path-provisioner.
"""

from __future__ import annotations

import copy
from ipaddress import IPv4Address
from typing import Any

from k8snetviz.agents.kubeadm_files import IMAGES, KUBERNETES_VERSION, static_pod_manifests
from k8snetviz.api.config import ClusterConfig
from k8snetviz.api.notes import Notes, is_observed
from k8snetviz.api.objects import Node, Pod
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["system_manifests", "kind_manifests", "DNS_LABEL", "KUBERNETES_VERSION", "KUBE_PROXY_LABEL",
           "kube_proxy_nodes"]

DNS_LABEL = ("k8s-app", "kube-dns")  # CoreDNS's pods and Deployment, and the kube-dns Service's selector


def _has(scenario: Scenario, kind: str, namespace: str, name: str) -> Manifest | None:
    return next((m for m in scenario.of_kind(kind) if (m.namespace or "default") == namespace and m.name == name),
                None)


def _dns_service(scenario: Scenario) -> Manifest | None:
    """The cluster DNS Service of a dump: kube-system/kube-dns, else the Service that selects CoreDNS's pods under
    another name (RKE2's chart names it rke2-coredns-rke2-coredns, selector k8s-app: kube-dns), else OpenShift's
    openshift-dns/dns-default (the DNS operator's Service at the tenth address of the service network)."""
    found = _has(scenario, "Service", "kube-system", "kube-dns")
    if found is not None:
        return found
    for m in scenario.of_kind("Service"):
        spec = m.body.get("spec")
        selector = spec.get("selector") if isinstance(spec, dict) else None
        if m.namespace == "kube-system" and isinstance(selector, dict) and \
                selector.get(DNS_LABEL[0]) == DNS_LABEL[1]:
            return m
    return _has(scenario, "Service", "openshift-dns", "dns-default")


def _dns_pods_present(scenario: Scenario) -> bool:
    """CoreDNS (or kube-dns) is in the scenario: a pod or a workload in kube-system with ``k8s-app: kube-dns``."""
    for m in scenario.of_kind("Pod", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"):
        labels = m.metadata.get("labels")
        if m.namespace == "kube-system" and isinstance(labels, dict) and labels.get(DNS_LABEL[0]) == DNS_LABEL[1]:
            return True
        if m.namespace == "kube-system" and m.kind == "Deployment" and m.name in ("coredns", "kube-dns"):
            return True
        if m.namespace == "openshift-dns" and isinstance(labels, dict) and \
                "dns.operator.openshift.io/daemonset-dns" in labels:
            return True  # OpenShift's DNS operator runs CoreDNS as the dns-default DaemonSet
    return False


def system_manifests(cfg: ClusterConfig, nodes: dict[str, Node], scenario: Scenario | None = None,
                     notes: Notes | None = None) -> list[Manifest]:
    """What every kubeadm cluster has, where the scenario has none of it: CoreDNS behind kube-system/kube-dns, and
    default/kubernetes with its EndpointSlice. What the scenario holds is honoured (a dump of a real cluster has
    them all); the kube-dns Service's address then sets the cluster's DNS address."""
    out = _defaults(cfg, nodes)
    if scenario is None:
        return out
    notes = notes if notes is not None else Notes()
    kube_dns = _dns_service(scenario)
    if kube_dns is not None:
        cfg.dns_service = f"{kube_dns.namespace or 'default'}/{kube_dns.name}"
        if cfg.dns_service != "kube-system/kube-dns":
            notes.infer("cluster DNS Service", cfg.dns_service, "the dump has no kube-system/kube-dns; this Service "
                        "selects the cluster's CoreDNS pods")
        spec = kube_dns.body.get("spec")
        ip = spec.get("clusterIP") if isinstance(spec, dict) else None
        try:
            cfg.dns_service_ip = IPv4Address(str(ip))
        except ValueError:
            pass  # headless or missing: the Service's own validation speaks for it
    keep = []
    for m in out:
        ns, name = m.namespace or "default", m.name
        if m.kind == "Deployment":
            present = _dns_pods_present(scenario)
        elif m.kind == "Service":
            present = _has(scenario, "Service", ns, name) is not None or (
                (ns, name) == ("kube-system", "kube-dns") and kube_dns is not None)
        else:  # default/kubernetes' EndpointSlice: the dump's slice, or its Endpoints (mirrored)
            present = _has(scenario, "Endpoints", ns, name) is not None or any(
                (e.namespace or "default") == ns and (e.metadata.get("labels") or {}).get(
                    "kubernetes.io/service-name") == name for e in scenario.of_kind("EndpointSlice"))
        if not present:
            keep.append(m)
    if _has(scenario, "Service", "default", "kubernetes") is not None and \
            not any(n.role == "control-plane" for n in nodes.values()):
        # A managed cluster's API server runs outside the nodes of the dump: its address is not known.
        keep = [m for m in keep if m.kind != "EndpointSlice"]
        notes.ignore("EndpointSlices", ["default/kubernetes"], "the API server runs on none of the dump's nodes: "
                     "its address is unknown, so default/kubernetes has no endpoint in the model")
    notes.added.extend(f"{m.kind} {m.namespace or 'default'}/{m.name}" for m in keep)
    return keep


def _defaults(cfg: ClusterConfig, nodes: dict[str, Node]) -> list[Manifest]:
    cp = next((n for n in nodes.values() if n.role == "control-plane"), next(iter(nodes.values())))
    coredns = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                 "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
                              "spec": {"nodeName": cp.name, "dnsPolicy": "Default", "containers": [{
                                  "name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                                  "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                            {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]}]}}},
    }
    kube_dns = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
        "spec": {"clusterIP": str(cfg.dns_service_ip), "selector": {"k8s-app": "kube-dns"},
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                           {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
    }
    kubernetes = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": str(cfg.service_subnet.network_address + 1),
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
    }
    kubernetes_slice = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [str(cp.internal_ip)], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
    }
    return [Manifest(b, "<kubeadm>", 0) for b in (coredns, kube_dns, kubernetes, kubernetes_slice)]


# --- the rest of a kind cluster: control plane, kube-proxy, the CNI, local-path-provisioner -------------

KUBE_PROXY_LABEL = ("k8s-app", "kube-proxy")
_CP_TAINTS = [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]


def _control_plane(cfg: ClusterConfig, cp: Node) -> list[dict[str, Any]]:
    """kubeadm's four static pods (/etc/kubernetes/manifests, :func:`kubeadm_files.static_pod_manifests`: the same
    flags the node's files hold) as the kubelet mirrors them: ``<component>-<node>``, on the host network, owned
    by the Node, annotated with the file they come from."""
    out = []
    for comp, body in static_pod_manifests(cfg, cp.name, str(cp.internal_ip)).items():
        pod = copy.deepcopy(body)
        md = pod["metadata"]
        md["name"] = f"{comp}-{cp.name}"
        md["annotations"] = {**(md.get("annotations") or {}), "kubernetes.io/config.source": "file"}
        md["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": cp.name, "controller": True}]
        pod["spec"]["nodeName"] = cp.name
        pod.pop("status", None)
        out.append(pod)
    return out


def _kube_proxy() -> dict[str, Any]:
    """kubeadm's kube-proxy DaemonSet: one host-network pod on every Linux node, whatever its taints."""
    labels = {KUBE_PROXY_LABEL[0]: KUBE_PROXY_LABEL[1]}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": labels},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"hostNetwork": True, "priorityClassName": "system-node-critical",
                     "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [{"operator": "Exists"}],
                     "containers": [{
                         "name": "kube-proxy", "image": IMAGES["kube-proxy"],
                         "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                                     "--hostname-override=$(NODE_NAME)"]}]}}},
    }


def _local_path_provisioner(cp: Node) -> dict[str, Any]:
    """kind's default StorageClass provisioner, in local-path-storage; it starts before the workers join, on the
    control plane (whose taint it tolerates)."""
    labels = {"app": "local-path-provisioner"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "local-path-provisioner", "namespace": "local-path-storage"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"nodeName": cp.name, "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": _CP_TAINTS,
                     "containers": [{"name": "local-path-provisioner",
                                     "image": "docker.io/kindest/local-path-provisioner:v20240813-c6f155d6"}]}}},
    }


def _present(scenario: Scenario, kind: str, namespace: str, name: str,
             pods: dict[str, list[str]] | None = None) -> bool:
    """Whether the scenario holds the object, or the pods of the workload of that name; ``pods``: the names of
    the scenario's pods by namespace (made once for many questions: a dump may hold 150,000 pods)."""
    if pods is None:
        pods = _pods_by_namespace(scenario)
    if kind == "Pod":
        return name in pods.get(namespace, ())
    if _has(scenario, kind, namespace, name) is not None:
        return True
    # a workload's pods are in the scenario (a DaemonSet's name-xxxxx, a Deployment's name-hash-xxxxx)
    return any(p.startswith(name + "-") for p in pods.get(namespace, ()))


def _pods_by_namespace(scenario: Scenario) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in scenario.of_kind("Pod"):
        out.setdefault(m.namespace or "default", []).append(m.name)
    return out


def kind_manifests(cfg: ClusterConfig, nodes: dict[str, Node], scenario: Scenario,
                   cni_objects: list[dict[str, Any]], notes: Notes | None = None) -> list[Manifest]:
    """The rest of ``kubectl get pods -A`` on a fresh kind cluster, where the scenario has none of it.

    The static pods ``etcd-``, ``kube-apiserver-``, ``kube-controller-manager-``, ``kube-scheduler-<node>`` on the
    control plane (host network, owned by the Node, labels ``component`` and ``tier: control-plane``); the
    ``kube-proxy`` DaemonSet (not with ``kubeProxyMode: none``: kind then installs none); the CNI's DaemonSet
    (``cni_objects``, the model's); local-path-provisioner in ``local-path-storage``. A dump (objects read back
    from a cluster) gets none of them: what it does not hold, its cluster may not run (k3s embeds kube-proxy,
    a managed control plane runs outside the nodes).
    """
    if any(is_observed(m.body) for m in scenario.manifests):
        return []
    cp = next((n for n in nodes.values() if n.role == "control-plane"), None)
    wanted: list[dict[str, Any]] = []
    if cp is not None:
        wanted += _control_plane(cfg, cp)
    if cfg.kube_proxy_mode != "none":
        wanted.append(_kube_proxy())
    wanted += cni_objects
    if cp is not None:
        wanted.append(_local_path_provisioner(cp))
    out = []
    pods = _pods_by_namespace(scenario)
    for body in wanted:
        md = body["metadata"]
        if not _present(scenario, body["kind"], md.get("namespace") or "default", md["name"], pods):
            out.append(Manifest(body, "<kind>", 0))
    if notes is not None:
        notes.added.extend(f"{m.kind} {m.namespace or 'default'}/{m.name}" for m in out)
    return out


def kube_proxy_nodes(cfg: ClusterConfig, pods: dict[str, Pod], scenario: Scenario,
                     system: list[Manifest]) -> set[str] | None:
    """The nodes where kube-proxy runs: those with a kube-proxy pod. None means every node (nothing in the
    scenario says: no kube-proxy DaemonSet nor pod, as in a dump of k3s, which embeds kube-proxy, or a
    scenario without system pods); an empty set, nowhere (``kubeProxyMode: none``, or a DaemonSet that
    schedules no pod, for instance with a nodeSelector that matches no node)."""
    if cfg.kube_proxy_mode == "none":
        return set()
    declared = any(m.kind in ("DaemonSet", "Pod") and (m.namespace or "default") == "kube-system" and (
        m.name == "kube-proxy" or (m.metadata.get("labels") or {}).get(KUBE_PROXY_LABEL[0]) == KUBE_PROXY_LABEL[1])
        for m in [*system, *scenario.manifests])
    if not declared:
        return None
    # a kube-proxy pod that is not ready (its container not started, crash-looping) syncs no rules
    return {p.node_name for p in pods.values() if p.namespace == "kube-system" and p.ready and (
        p.labels.get(KUBE_PROXY_LABEL[0]) == KUBE_PROXY_LABEL[1]
        or (p.owner is not None and p.owner.kind == "DaemonSet" and p.owner.name == "kube-proxy"))}
