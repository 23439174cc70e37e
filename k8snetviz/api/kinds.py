"""Which kinds of object the model reads, and which it leaves out without a word."""

from __future__ import annotations

__all__ = ["WORKLOAD_KINDS", "KNOWN_KINDS", "QUIET_KINDS", "is_custom_resource"]

# Controllers whose pods the model creates when the scenario holds none of them.
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")

KNOWN_KINDS = frozenset({
    "Node", "Pod", "Namespace", "Service", "EndpointSlice", "Endpoints", "Ingress", "IngressClass",
    "NetworkPolicy", "GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant", "IPPool", "Cluster", "Scenario",
    *WORKLOAD_KINDS,
})

# Kinds that carry no networking facts: read without a word and left out.
QUIET_KINDS = frozenset({
    "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
    "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Job", "CronJob", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "CustomResourceDefinition", "Lease", "Event", "LimitRange", "ResourceQuota",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "PriorityClass",
    # Built-in kinds of `kubectl api-resources` with no networking facts, which dumps of a whole cluster carry.
    "ControllerRevision", "PodTemplate", "ComponentStatus", "CSIDriver", "CSINode", "CSIStorageCapacity",
    "VolumeAttachment", "APIService", "RuntimeClass", "FlowSchema", "PriorityLevelConfiguration",
    "CertificateSigningRequest", "ServiceCIDR", "IPAddress",
    # The API server's discovery documents (`kubectl get --raw /api`, a support bundle's resources.json).
    "APIResourceList", "APIGroupList", "APIVersions",
})


# API groups of Kubernetes itself: a kind in any other group (``k0s.k0sproject.io/v1beta1``, ``cilium.io/v2``) is a
# custom resource, which ``kubectl get all`` dumps carry and the model leaves out without a warning.
_BUILTIN_GROUPS = ("", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "discovery.k8s.io",
                   "rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io",
                   "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
                   "certificates.k8s.io", "node.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
                   "extensions", "authentication.k8s.io", "authorization.k8s.io", "resource.k8s.io",
                   "gateway.networking.k8s.io", "kind.x-k8s.io", "k8snetviz.dev", "metrics.k8s.io")


def is_custom_resource(api_version: str) -> bool:
    """Whether ``apiVersion`` names an API group outside Kubernetes' own (a CRD's group has a dot)."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return "." in group and group not in _BUILTIN_GROUPS
