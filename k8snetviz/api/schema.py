"""The shapes the API server decodes objects into, for the fields the model reads: pydantic models named after
the Go structs of ``k8s.io/api`` (``PodSpec``, ``ContainerPort``, …), strict as Go's JSON decoder is (a string
is not a number, a number is not a string, an int32 holds at most 2³¹−1). Fields the model does not read are
left alone, as the API server keeps them.

A mismatch is reported in the API server's words, naming the Go struct field and the JSON path
(:func:`k8snetviz.api.decode.decode_error`):

>>> from k8snetviz.api.decode import check
>>> check({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"},
...        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": "abc"}]}]}})
'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field \
ContainerPort.spec.containers.ports.containerPort of type int32'
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GoType", "MODELS", "Model"]


class GoType:
    """The Go type of a field, for messages (``int32``, ``int64``)."""

    def __init__(self, name: str) -> None:
        self.name = name


I32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1), GoType("int32")]
I64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1), GoType("int64")]
IntOrString = Annotated[I32 | str, GoType("intstr.IntOrString")]
Str = str | None
StrMap = dict[str, str] | None
StrList = list[str] | None


class Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


# --- meta ----------------------------------------------------------------------------------------------------

class OwnerReference(Model):
    apiVersion: Str = None
    kind: Str = None
    name: Str = None
    uid: Str = None
    controller: bool | None = None


class ObjectMeta(Model):
    name: Str = None
    generateName: Str = None
    namespace: Str = None
    uid: Str = None
    labels: StrMap = None
    annotations: StrMap = None
    ownerReferences: list[OwnerReference] | None = None


class LabelSelectorRequirement(Model):
    key: Str = None
    operator: Str = None
    values: StrList = None


class LabelSelector(Model):
    matchLabels: StrMap = None
    matchExpressions: list[LabelSelectorRequirement] | None = None


class ObjectReference(Model):
    kind: Str = None
    name: Str = None
    namespace: Str = None


# --- pods ------------------------------------------------------------------------------------------------------

class ContainerPort(Model):
    name: Str = None
    containerPort: I32 | None = None
    hostPort: I32 | None = None
    hostIP: Str = None
    protocol: Str = None


class Container(Model):
    name: Str = None
    image: Str = None
    command: StrList = None
    args: StrList = None
    ports: list[ContainerPort] | None = None


class Toleration(Model):
    key: Str = None
    operator: Str = None
    value: Str = None
    effect: Str = None
    tolerationSeconds: I64 | None = None


class PodDNSConfigOption(Model):
    name: Str = None
    value: Str = None


class PodDNSConfig(Model):
    nameservers: StrList = None
    searches: StrList = None
    options: list[PodDNSConfigOption] | None = None


class PodSpec(Model):
    nodeName: Str = None
    nodeSelector: StrMap = None
    hostNetwork: bool | None = None
    hostname: Str = None
    subdomain: Str = None
    dnsPolicy: Str = None
    dnsConfig: PodDNSConfig | None = None
    tolerations: list[Toleration] | None = None
    containers: list[Container] | None = None
    initContainers: list[Container] | None = None


class PodIP(Model):
    ip: Str = None


class PodCondition(Model):
    type: Str = None
    status: Str = None


class PodStatus(Model):
    phase: Str = None
    podIP: Str = None
    podIPs: list[PodIP] | None = None
    hostIP: Str = None
    conditions: list[PodCondition] | None = None


class Pod(Model):
    metadata: ObjectMeta | None = None
    spec: PodSpec | None = None
    status: PodStatus | None = None


class PodTemplateSpec(Model):
    metadata: ObjectMeta | None = None
    spec: PodSpec | None = None


class WorkloadSpec(Model):
    replicas: I32 | None = None
    selector: LabelSelector | None = None
    serviceName: Str = None
    template: PodTemplateSpec | None = None


class Deployment(Model):
    metadata: ObjectMeta | None = None
    spec: WorkloadSpec | None = None


# --- nodes and namespaces ---------------------------------------------------------------------------------------

class Taint(Model):
    key: Str = None
    value: Str = None
    effect: Str = None


class NodeSpec(Model):
    podCIDR: Str = None
    podCIDRs: StrList = None
    taints: list[Taint] | None = None


class NodeAddress(Model):
    type: Str = None
    address: Str = None


class NodeStatus(Model):
    addresses: list[NodeAddress] | None = None


class Node(Model):
    metadata: ObjectMeta | None = None
    spec: NodeSpec | None = None
    status: NodeStatus | None = None


class Namespace(Model):
    metadata: ObjectMeta | None = None


# --- services and endpoints ---------------------------------------------------------------------------------------

class ServicePort(Model):
    name: Str = None
    protocol: Str = None
    appProtocol: Str = None
    port: I32 | None = None
    targetPort: IntOrString | None = None
    nodePort: I32 | None = None


class ClientIPConfig(Model):
    timeoutSeconds: I32 | None = None


class SessionAffinityConfig(Model):
    clientIP: ClientIPConfig | None = None


class ServiceSpec(Model):
    type: Str = None
    ports: list[ServicePort] | None = None
    selector: StrMap = None
    clusterIP: Str = None
    clusterIPs: StrList = None
    externalIPs: StrList = None
    sessionAffinity: Str = None
    sessionAffinityConfig: SessionAffinityConfig | None = None
    externalTrafficPolicy: Str = None
    internalTrafficPolicy: Str = None
    healthCheckNodePort: I32 | None = None
    externalName: Str = None
    loadBalancerIP: Str = None
    loadBalancerSourceRanges: StrList = None
    allocateLoadBalancerNodePorts: bool | None = None
    publishNotReadyAddresses: bool | None = None
    ipFamilies: StrList = None
    ipFamilyPolicy: Str = None


class LoadBalancerIngress(Model):
    ip: Str = None
    hostname: Str = None
    ipMode: Str = None


class LoadBalancerStatus(Model):
    ingress: list[LoadBalancerIngress] | None = None


class ServiceStatus(Model):
    loadBalancer: LoadBalancerStatus | None = None


class Service(Model):
    metadata: ObjectMeta | None = None
    spec: ServiceSpec | None = None
    status: ServiceStatus | None = None


class EndpointConditions(Model):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class Endpoint(Model):
    addresses: StrList = None
    conditions: EndpointConditions | None = None
    hostname: Str = None
    nodeName: Str = None
    zone: Str = None
    targetRef: ObjectReference | None = None


class EndpointPort(Model):
    name: Str = None
    port: I32 | None = None
    protocol: Str = None
    appProtocol: Str = None


class EndpointSlice(Model):
    metadata: ObjectMeta | None = None
    addressType: Str = None
    endpoints: list[Endpoint] | None = None
    ports: list[EndpointPort] | None = None


class EndpointAddress(Model):
    ip: Str = None
    hostname: Str = None
    nodeName: Str = None
    targetRef: ObjectReference | None = None


class EndpointSubset(Model):
    addresses: list[EndpointAddress] | None = None
    notReadyAddresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(Model):
    metadata: ObjectMeta | None = None
    subsets: list[EndpointSubset] | None = None


class Other(Model):
    """Any other kind: its metadata is decoded (names, labels), the rest is read by its own module."""

    metadata: ObjectMeta | None = None


# --- the project's own documents -----------------------------------------------------------------------------------

class KindNode(Model):
    role: Str = None


class KindNetworking(Model):
    podSubnet: Str = None
    serviceSubnet: Str = None
    kubeProxyMode: Str = None


class Cluster(Model):
    name: Str = None
    nodes: list[KindNode] | None = None
    networking: KindNetworking | None = None


class ExternalClient(Model):
    name: Str = None
    ip: Str = None


class Override(Model):
    target: Str = None
    ipForward: bool | None = None
    bridgeNfCallIptables: bool | None = None
    addRoutes: StrList = None
    deleteRoutes: StrList = None


class ScenarioSpec(Model):
    description: Str = None
    cni: Str = None
    externalClients: list[ExternalClient] | None = None
    loadBalancerPool: Str = None
    systemPods: bool | None = None
    overrides: list[Override] | None = None
    upstreamDNS: dict[str, Any] | None = None
    clusterDomain: Str = None
    nodeNetwork: Str = None


class Scenario(Model):
    metadata: ObjectMeta | None = None
    spec: ScenarioSpec | None = None


# Each kind's model, and the Go struct the API server decodes it into (for the message).
MODELS: dict[str, type[Model]] = {
    "Pod": Pod, "Node": Node, "Namespace": Namespace, "Service": Service, "EndpointSlice": EndpointSlice,
    "Endpoints": Endpoints, "Deployment": Deployment, "ReplicaSet": Deployment, "StatefulSet": Deployment,
    "DaemonSet": Deployment, "Cluster": Cluster, "Scenario": Scenario,
}
