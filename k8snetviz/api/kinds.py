"""Which kinds of object the model reads, and which it leaves out without a word."""

from __future__ import annotations

__all__ = ["WORKLOAD_KINDS", "KNOWN_KINDS", "QUIET_KINDS"]

# Controllers whose pods the model creates when the scenario holds none of them.
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")

KNOWN_KINDS = frozenset({
    "Node", "Pod", "Namespace", "Service", "EndpointSlice", "Endpoints", "Ingress", "IngressClass",
    "NetworkPolicy", "GatewayClass", "Gateway", "HTTPRoute", "Cluster", "Scenario", *WORKLOAD_KINDS,
})

# Kinds that carry no networking facts: read without a word and left out.
QUIET_KINDS = frozenset({
    "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
    "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Job", "CronJob", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "CustomResourceDefinition", "Lease", "Event", "LimitRange", "ResourceQuota",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "PriorityClass",
})
