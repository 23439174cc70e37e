"""What ``kubeadm init`` creates that networking depends on: CoreDNS behind ``kube-system/kube-dns``, and
the ``default/kubernetes`` Service with its EndpointSlice (the API server on the control-plane node).
"""

from __future__ import annotations

from ipaddress import IPv4Address

from k8snetviz.api.config import ClusterConfig
from k8snetviz.api.notes import Notes
from k8snetviz.api.objects import Node
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["system_manifests", "DNS_LABEL"]

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
