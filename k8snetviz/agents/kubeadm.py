"""What ``kubeadm init`` creates that networking depends on: CoreDNS behind ``kube-system/kube-dns``, and
the ``default/kubernetes`` Service with its EndpointSlice (the API server on the control-plane node).
"""

from __future__ import annotations

from k8snetviz.api.config import ClusterConfig
from k8snetviz.api.objects import Node
from k8snetviz.scenario.loader import Manifest

__all__ = ["system_manifests"]


def system_manifests(cfg: ClusterConfig, nodes: dict[str, Node]) -> list[Manifest]:
    """What every kubeadm cluster has: CoreDNS behind kube-system/kube-dns, and default/kubernetes."""
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
