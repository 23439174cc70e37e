"""The API server's discovery: every resource type a kind cluster serves, with its names, group and scope.

``kubectl api-resources`` prints this table, and kubectl resolves what a learner types (``po``, ``svc``,
``deploy``, ``deployments.apps``, ``netpol``) against it. The rows are those of a kind cluster running
Kubernetes v1.33 with the Gateway API CRDs installed (``kubectl api-resources`` on such a cluster).

>>> resource_type("deploy").kind, resource_type("deployments.apps").plural
('Deployment', 'deployments')
>>> resource_type("nope") is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ResourceType", "RESOURCE_TYPES", "resource_type", "type_of_kind", "is_namespaced"]


@dataclass(frozen=True)
class ResourceType:
    plural: str
    short: tuple[str, ...]
    group: str  # "" for the core group
    version: str
    namespaced: bool
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """What ``kubectl get -o name`` prints before the slash: ``pod``, ``deployment.apps``."""
        return f"{self.singular}.{self.group}" if self.group else self.singular


def _t(plural: str, short: str, group: str, version: str, namespaced: bool, kind: str) -> ResourceType:
    return ResourceType(plural, tuple(s for s in short.split(",") if s), group, version, namespaced, kind)


# kubectl api-resources, in its order (core group first, then groups by name).
RESOURCE_TYPES: tuple[ResourceType, ...] = (
    _t("bindings", "", "", "v1", True, "Binding"),
    _t("componentstatuses", "cs", "", "v1", False, "ComponentStatus"),
    _t("configmaps", "cm", "", "v1", True, "ConfigMap"),
    _t("endpoints", "ep", "", "v1", True, "Endpoints"),
    _t("events", "ev", "", "v1", True, "Event"),
    _t("limitranges", "limits", "", "v1", True, "LimitRange"),
    _t("namespaces", "ns", "", "v1", False, "Namespace"),
    _t("nodes", "no", "", "v1", False, "Node"),
    _t("persistentvolumeclaims", "pvc", "", "v1", True, "PersistentVolumeClaim"),
    _t("persistentvolumes", "pv", "", "v1", False, "PersistentVolume"),
    _t("pods", "po", "", "v1", True, "Pod"),
    _t("podtemplates", "", "", "v1", True, "PodTemplate"),
    _t("replicationcontrollers", "rc", "", "v1", True, "ReplicationController"),
    _t("resourcequotas", "quota", "", "v1", True, "ResourceQuota"),
    _t("secrets", "", "", "v1", True, "Secret"),
    _t("serviceaccounts", "sa", "", "v1", True, "ServiceAccount"),
    _t("services", "svc", "", "v1", True, "Service"),
    _t("mutatingwebhookconfigurations", "", "admissionregistration.k8s.io", "v1", False,
       "MutatingWebhookConfiguration"),
    _t("validatingwebhookconfigurations", "", "admissionregistration.k8s.io", "v1", False,
       "ValidatingWebhookConfiguration"),
    _t("customresourcedefinitions", "crd,crds", "apiextensions.k8s.io", "v1", False, "CustomResourceDefinition"),
    _t("apiservices", "", "apiregistration.k8s.io", "v1", False, "APIService"),
    _t("controllerrevisions", "", "apps", "v1", True, "ControllerRevision"),
    _t("daemonsets", "ds", "apps", "v1", True, "DaemonSet"),
    _t("deployments", "deploy", "apps", "v1", True, "Deployment"),
    _t("replicasets", "rs", "apps", "v1", True, "ReplicaSet"),
    _t("statefulsets", "sts", "apps", "v1", True, "StatefulSet"),
    _t("selfsubjectreviews", "", "authentication.k8s.io", "v1", False, "SelfSubjectReview"),
    _t("tokenreviews", "", "authentication.k8s.io", "v1", False, "TokenReview"),
    _t("localsubjectaccessreviews", "", "authorization.k8s.io", "v1", True, "LocalSubjectAccessReview"),
    _t("selfsubjectaccessreviews", "", "authorization.k8s.io", "v1", False, "SelfSubjectAccessReview"),
    _t("selfsubjectrulesreviews", "", "authorization.k8s.io", "v1", False, "SelfSubjectRulesReview"),
    _t("subjectaccessreviews", "", "authorization.k8s.io", "v1", False, "SubjectAccessReview"),
    _t("horizontalpodautoscalers", "hpa", "autoscaling", "v2", True, "HorizontalPodAutoscaler"),
    _t("cronjobs", "cj", "batch", "v1", True, "CronJob"),
    _t("jobs", "", "batch", "v1", True, "Job"),
    _t("certificatesigningrequests", "csr", "certificates.k8s.io", "v1", False, "CertificateSigningRequest"),
    _t("leases", "", "coordination.k8s.io", "v1", True, "Lease"),
    _t("endpointslices", "", "discovery.k8s.io", "v1", True, "EndpointSlice"),
    _t("events", "ev", "events.k8s.io", "v1", True, "Event"),
    _t("flowschemas", "", "flowcontrol.apiserver.k8s.io", "v1", False, "FlowSchema"),
    _t("prioritylevelconfigurations", "", "flowcontrol.apiserver.k8s.io", "v1", False,
       "PriorityLevelConfiguration"),
    _t("gatewayclasses", "gc", "gateway.networking.k8s.io", "v1", False, "GatewayClass"),
    _t("gateways", "gtw", "gateway.networking.k8s.io", "v1", True, "Gateway"),
    _t("grpcroutes", "", "gateway.networking.k8s.io", "v1", True, "GRPCRoute"),
    _t("httproutes", "", "gateway.networking.k8s.io", "v1", True, "HTTPRoute"),
    _t("referencegrants", "refgrant", "gateway.networking.k8s.io", "v1beta1", True, "ReferenceGrant"),
    _t("ingressclasses", "", "networking.k8s.io", "v1", False, "IngressClass"),
    _t("ingresses", "ing", "networking.k8s.io", "v1", True, "Ingress"),
    _t("ipaddresses", "ip", "networking.k8s.io", "v1", False, "IPAddress"),
    _t("networkpolicies", "netpol", "networking.k8s.io", "v1", True, "NetworkPolicy"),
    _t("servicecidrs", "", "networking.k8s.io", "v1", False, "ServiceCIDR"),
    _t("runtimeclasses", "", "node.k8s.io", "v1", False, "RuntimeClass"),
    _t("poddisruptionbudgets", "pdb", "policy", "v1", True, "PodDisruptionBudget"),
    _t("clusterrolebindings", "", "rbac.authorization.k8s.io", "v1", False, "ClusterRoleBinding"),
    _t("clusterroles", "", "rbac.authorization.k8s.io", "v1", False, "ClusterRole"),
    _t("rolebindings", "", "rbac.authorization.k8s.io", "v1", True, "RoleBinding"),
    _t("roles", "", "rbac.authorization.k8s.io", "v1", True, "Role"),
    _t("priorityclasses", "pc", "scheduling.k8s.io", "v1", False, "PriorityClass"),
    _t("csidrivers", "", "storage.k8s.io", "v1", False, "CSIDriver"),
    _t("csinodes", "", "storage.k8s.io", "v1", False, "CSINode"),
    _t("csistoragecapacities", "", "storage.k8s.io", "v1", True, "CSIStorageCapacity"),
    _t("storageclasses", "sc", "storage.k8s.io", "v1", False, "StorageClass"),
    _t("volumeattachments", "", "storage.k8s.io", "v1", False, "VolumeAttachment"),
)

_BY_NAME: dict[str, ResourceType] = {}
for _r in reversed(RESOURCE_TYPES):  # the first row wins (core events over events.k8s.io)
    for _n in (_r.plural, _r.singular, *_r.short, f"{_r.plural}.{_r.group}" if _r.group else _r.plural,
               f"{_r.singular}.{_r.group}" if _r.group else _r.singular,
               f"{_r.plural}.{_r.version}.{_r.group}" if _r.group else _r.plural):
        _BY_NAME[_n.lower()] = _r
_BY_KIND: dict[str, ResourceType] = {}
for _r in reversed(RESOURCE_TYPES):
    _BY_KIND[_r.kind] = _r


def resource_type(name: str) -> ResourceType | None:
    """The resource type a learner means by ``name`` (plural, singular, short name, ``plural.group``)."""
    return _BY_NAME.get(name.lower())


def type_of_kind(kind: str) -> ResourceType | None:
    """The resource type of a kind (``Deployment`` → deployments.apps)."""
    return _BY_KIND.get(kind)


def is_namespaced(kind: str) -> bool:
    t = _BY_KIND.get(kind)
    return t.namespaced if t is not None else True
