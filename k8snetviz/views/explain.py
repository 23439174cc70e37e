"""``kubectl explain`` for the networking fields: Service, NetworkPolicy, Ingress, Pod networking, Deployment,
EndpointSlice, the Gateway API's Gateway and HTTPRoute.

The layout is kubectl's (v1.27+, OpenAPI v3): KIND, VERSION, FIELD, DESCRIPTION, FIELDS with their types.
Descriptions are the first sentences of the API's own field documentation (``k8s.io/api``).

>>> print(explain_text("svc.spec.type").splitlines()[3])
FIELD: type <string>
"""

from __future__ import annotations

from typing import Any

from k8snetviz.api.discovery import resource_type
from k8snetviz.errors import UsageError

__all__ = ["explain_text", "SCHEMA"]

# A field: (type, description, children). Children are fields of an object type.
F = tuple[str, str, dict[str, Any]]


def _f(type_: str, doc: str, **children: F) -> F:
    return (type_, doc, dict(children))


_LABEL_SELECTOR = _f("LabelSelector", "A label selector is a label query over a set of resources.",
                     matchExpressions=_f("[]LabelSelectorRequirement", "matchExpressions is a list of label selector "
                                         "requirements. The requirements are ANDed."),
                     matchLabels=_f("map[string]string", "matchLabels is a map of {key,value} pairs. A single "
                                    "{key,value} in the matchLabels map is equivalent to an element of "
                                    "matchExpressions, whose key field is \"key\", the operator is \"In\", and the "
                                    "values array contains only \"value\". The requirements are ANDed."))
_OBJECT_META = _f("ObjectMeta", "Standard object's metadata.",
                  name=_f("string", "Name must be unique within a namespace."),
                  namespace=_f("string", "Namespace defines the space within which each name must be unique."),
                  labels=_f("map[string]string", "Map of string keys and values that can be used to organize and "
                            "categorize (scope and select) objects. May match selectors of replication controllers "
                            "and services."),
                  annotations=_f("map[string]string", "Annotations is an unstructured key value map stored with a "
                                 "resource that may be set by external tools to store and retrieve arbitrary "
                                 "metadata."))

_SERVICE_PORT = _f("[]ServicePort", "The list of ports that are exposed by this service.",
                   appProtocol=_f("string", "The application protocol for this port."),
                   name=_f("string", "The name of this port within the service. This must be a DNS_LABEL. All ports "
                           "within a ServiceSpec must have unique names."),
                   nodePort=_f("integer", "The port on each node on which this service is exposed when type is "
                               "NodePort or LoadBalancer. Usually assigned by the system. If a value is specified, "
                               "in-range, and not in use it will be used, otherwise the operation will fail."),
                   port=_f("integer", "The port that will be exposed by this service. -required-"),
                   protocol=_f("string", "The IP protocol for this port. Supports \"TCP\", \"UDP\", and \"SCTP\". "
                               "Default is TCP."),
                   targetPort=_f("IntOrString", "Number or name of the port to access on the pods targeted by the "
                                 "service. Number must be in the range 1 to 65535. Name must be an IANA_SVC_NAME. If "
                                 "this is a string, it will be looked up as a named port in the target Pod's "
                                 "container ports. If this is not specified, the value of the 'port' field is used "
                                 "(an identity map)."))
_SERVICE_SPEC = _f(
    "ServiceSpec", "Spec defines the behavior of a service.",
    allocateLoadBalancerNodePorts=_f("boolean", "allocateLoadBalancerNodePorts defines if NodePorts will be "
                                     "automatically allocated for services with type LoadBalancer. Default is "
                                     "\"true\"."),
    clusterIP=_f("string", "clusterIP is the IP address of the service and is usually assigned randomly. If an "
                 "address is specified manually, is in-range (as per system configuration), and is not in use, it "
                 "will be allocated to the service; otherwise creation of the service will fail. \"None\" makes a "
                 "headless service."),
    clusterIPs=_f("[]string", "ClusterIPs is a list of IP addresses assigned to this service, and are usually "
                  "assigned randomly."),
    externalIPs=_f("[]string", "externalIPs is a list of IP addresses for which nodes in the cluster will also "
                   "accept traffic for this service. These IPs are not managed by Kubernetes."),
    externalName=_f("string", "externalName is the external reference that discovery mechanisms will return as an "
                    "alias for this service (e.g. a DNS CNAME record). No proxying will be involved. Requires `type` "
                    "to be \"ExternalName\"."),
    externalTrafficPolicy=_f("string", "externalTrafficPolicy describes how nodes distribute service traffic they "
                             "receive on one of the Service's \"externally-facing\" addresses (NodePorts, "
                             "ExternalIPs, and LoadBalancer IPs). If set to \"Local\", the proxy will configure the "
                             "service in a way that assumes that external load balancers will take care of balancing "
                             "the service traffic between nodes, and so each node will deliver traffic only to the "
                             "node-local endpoints of the service, without masquerading the client source IP. The "
                             "default value, \"Cluster\", uses the standard behavior of routing to all endpoints "
                             "evenly (possibly modified by topology and other features)."),
    healthCheckNodePort=_f("integer", "healthCheckNodePort specifies the healthcheck nodePort for the service. This "
                           "only applies when type is set to LoadBalancer and externalTrafficPolicy is set to "
                           "Local."),
    internalTrafficPolicy=_f("string", "InternalTrafficPolicy describes how nodes distribute service traffic they "
                             "receive on the ClusterIP. If set to \"Local\", the proxy will assume that pods only "
                             "want to talk to endpoints of the service on the same node as the pod, dropping the "
                             "traffic if there are no local endpoints."),
    ipFamilies=_f("[]string", "IPFamilies is a list of IP families (e.g. IPv4, IPv6) assigned to this service."),
    ipFamilyPolicy=_f("string", "IPFamilyPolicy represents the dual-stack-ness requested or required by this "
                      "Service."),
    loadBalancerClass=_f("string", "loadBalancerClass is the class of the load balancer implementation this "
                         "Service belongs to."),
    loadBalancerSourceRanges=_f("[]string", "If specified and supported by the platform, this will restrict "
                                "traffic through the cloud-provider load-balancer will be restricted to the "
                                "specified client IPs."),
    ports=_SERVICE_PORT,
    publishNotReadyAddresses=_f("boolean", "publishNotReadyAddresses indicates that any agent which deals with "
                                "endpoints for this Service should disregard any indications of ready/not-ready."),
    selector=_f("map[string]string", "Route service traffic to pods with label keys and values matching this "
                "selector. If empty or not present, the service is assumed to have an external process managing its "
                "endpoints, which Kubernetes will not modify."),
    sessionAffinity=_f("string", "Supports \"ClientIP\" and \"None\". Used to maintain session affinity. Enable "
                       "client IP based session affinity. Must be ClientIP or None. Defaults to None."),
    type=_f("string", "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are "
            "ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP "
            "address for load-balancing to endpoints. \"NodePort\" builds on ClusterIP and allocates a port on every "
            "node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and "
            "creates an external load-balancer (if supported in the current cloud) which routes to the same "
            "endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName."),
)

_NP_PORT = _f("[]NetworkPolicyPort", "ports is a list of ports which should be made accessible on the pods selected "
              "for this policy. Each item in this list is combined using a logical OR. If this field is empty or "
              "missing, this rule matches all ports (traffic not restricted by port).",
              endPort=_f("integer", "endPort indicates that the range of ports from port to endPort if set, "
                         "inclusive, should be allowed by the policy. This field cannot be defined if the port field "
                         "is not defined or if the port field is defined as a named (string) port."),
              port=_f("IntOrString", "port represents the port on the given protocol. This can either be a numerical "
                      "or named port on a pod. If this field is not provided, this matches all port names and "
                      "numbers."),
              protocol=_f("string", "protocol represents the protocol (TCP, UDP, or SCTP) which traffic must match. "
                          "If not specified, this field defaults to TCP."))
_NP_PEER_FIELDS = dict(
    ipBlock=_f("IPBlock", "ipBlock defines policy on a particular IPBlock. If this field is set then neither of the "
               "other fields can be.",
               cidr=_f("string", "cidr is a string representing the IPBlock Valid examples are \"192.168.1.0/24\" or "
                       "\"2001:db8::/64\""),
               **{"except": _f("[]string", "except is a slice of CIDRs that should not be included within an "
                               "IPBlock. Except values will be rejected if they are outside the cidr range")}),
    namespaceSelector=_f("LabelSelector", "namespaceSelector selects namespaces using cluster-scoped labels. This "
                         "field follows standard label selector semantics; if present but empty, it selects all "
                         "namespaces. If podSelector is also set, then the NetworkPolicyPeer as a whole selects the "
                         "pods matching podSelector in the namespaces selected by namespaceSelector."),
    podSelector=_f("LabelSelector", "podSelector is a label selector which selects pods. This field follows standard "
                   "label selector semantics; if present but empty, it selects all pods. If namespaceSelector is "
                   "also set, then the NetworkPolicyPeer as a whole selects the pods matching podSelector in the "
                   "Namespaces selected by NamespaceSelector. Otherwise it selects the pods matching podSelector in "
                   "the policy's own namespace."),
)
_NP_SPEC = _f(
    "NetworkPolicySpec", "spec represents the specification of the desired behavior for this NetworkPolicy.",
    egress=_f("[]NetworkPolicyEgressRule", "egress is a list of egress rules to be applied to the selected pods. "
              "Outgoing traffic is allowed if there are no NetworkPolicies selecting the pod (and cluster policy "
              "otherwise allows the traffic), OR if the traffic matches at least one egress rule across all of the "
              "NetworkPolicy objects whose podSelector matches the pod.",
              ports=_NP_PORT,
              to=_f("[]NetworkPolicyPeer", "to is a list of destinations for outgoing traffic of pods selected for "
                    "this rule. Items in this list are combined using a logical OR operation. If this field is empty "
                    "or missing, this rule matches all destinations (traffic not restricted by destination).",
                    **_NP_PEER_FIELDS)),
    ingress=_f("[]NetworkPolicyIngressRule", "ingress is a list of ingress rules to be applied to the selected pods. "
               "Traffic is allowed to a pod if there are no NetworkPolicies selecting the pod (and cluster policy "
               "otherwise allows the traffic), OR if the traffic source is the pod's local node, OR if the traffic "
               "matches at least one ingress rule across all of the NetworkPolicy objects whose podSelector matches "
               "the pod.",
               **{"from": _f("[]NetworkPolicyPeer", "from is a list of sources which should be able to access the "
                             "pods selected for this rule. Items in this list are combined using a logical OR "
                             "operation. If this field is empty or missing, this rule matches all sources (traffic "
                             "not restricted by source).", **_NP_PEER_FIELDS)},
               ports=_NP_PORT),
    podSelector=_f("LabelSelector", "podSelector selects the pods to which this NetworkPolicy object applies. The "
                   "array of ingress rules is applied to any pods selected by this field. An empty podSelector "
                   "matches all pods in this namespace."),
    policyTypes=_f("[]string", "policyTypes is a list of rule types that the NetworkPolicy relates to. Valid options "
                   "are [\"Ingress\"], [\"Egress\"], or [\"Ingress\", \"Egress\"]. If this field is not specified, it "
                   "will default based on the existence of ingress or egress rules."),
)

_BACKEND = _f("IngressBackend", "backend defines the referenced service endpoint to which the traffic will be "
              "forwarded to.",
              resource=_f("TypedLocalObjectReference", "resource is an ObjectRef to another Kubernetes resource in "
                          "the namespace of the Ingress object."),
              service=_f("IngressServiceBackend", "service references a service as a backend.",
                         name=_f("string", "name is the referenced service. The service must exist in the same "
                                 "namespace as the Ingress object."),
                         port=_f("ServiceBackendPort", "port of the referenced service. A port name or port number "
                                 "is required for a IngressServiceBackend.",
                                 name=_f("string", "name is the name of the port on the Service."),
                                 number=_f("integer", "number is the numerical port number (e.g. 80) on the "
                                           "Service."))))
_INGRESS_SPEC = _f(
    "IngressSpec", "spec is the desired state of the Ingress.",
    defaultBackend=_BACKEND,
    ingressClassName=_f("string", "ingressClassName is the name of an IngressClass cluster resource. Ingress "
                        "controller implementations use this field to know whether they should be serving this "
                        "Ingress resource."),
    rules=_f("[]IngressRule", "rules is a list of host rules used to configure the Ingress. If unspecified, or no "
             "rule matches, all traffic is sent to the default backend.",
             host=_f("string", "host is the fully qualified domain name of a network host, as defined by RFC 3986. "
                     "host can be \"precise\" which is a domain name without the terminating dot of a network host "
                     "(e.g. \"foo.bar.com\") or \"wildcard\", which is a domain name prefixed with a single wildcard "
                     "label (e.g. \"*.foo.com\")."),
             http=_f("HTTPIngressRuleValue", "",
                     paths=_f("[]HTTPIngressPath", "paths is a collection of paths that map requests to backends.",
                              backend=_BACKEND,
                              path=_f("string", "path is matched against the path of an incoming request."),
                              pathType=_f("string", "pathType determines the interpretation of the path matching. "
                                          "PathType can be one of the following values: * Exact: Matches the URL "
                                          "path exactly. * Prefix: Matches based on a URL path prefix split by "
                                          "'/'. * ImplementationSpecific: Interpretation of the Path matching is up "
                                          "to the IngressClass.")))),
    tls=_f("[]IngressTLS", "tls represents the TLS configuration.",
           hosts=_f("[]string", "hosts is a list of hosts included in the TLS certificate."),
           secretName=_f("string", "secretName is the name of the secret used to terminate TLS traffic on port "
                         "443.")),
)

_CONTAINER_PORT = _f("[]ContainerPort", "List of ports to expose from the container. Not specifying a port here DOES "
                     "NOT prevent that port from being exposed. Any port which is listening on the default "
                     "\"0.0.0.0\" address inside a container will be accessible from the network.",
                     containerPort=_f("integer", "Number of port to expose on the pod's IP address. This must be a "
                                      "valid port number, 0 < x < 65536."),
                     hostIP=_f("string", "What host IP to bind the external port to."),
                     hostPort=_f("integer", "Number of port to expose on the host."),
                     name=_f("string", "If specified, this must be an IANA_SVC_NAME and unique within the pod. Each "
                             "named port in a pod must have a unique name. Name for the port that can be referred to "
                             "by services."),
                     protocol=_f("string", "Protocol for port. Must be UDP, TCP, or SCTP. Defaults to \"TCP\"."))
_PROBE = _f("Probe", "Periodic probe of container service readiness. Container will be removed from service "
            "endpoints if the probe fails.",
            httpGet=_f("HTTPGetAction", "HTTPGet specifies an HTTP GET request to perform."),
            tcpSocket=_f("TCPSocketAction", "TCPSocket specifies a connection to a TCP port."),
            periodSeconds=_f("integer", "How often (in seconds) to perform the probe. Default to 10 seconds."))
_POD_SPEC = _f(
    "PodSpec", "Specification of the desired behavior of the pod.",
    containers=_f("[]Container", "List of containers belonging to the pod.",
                  image=_f("string", "Container image name."),
                  name=_f("string", "Name of the container specified as a DNS_LABEL."),
                  ports=_CONTAINER_PORT, readinessProbe=_PROBE,
                  command=_f("[]string", "Entrypoint array. Not executed within a shell.")),
    dnsConfig=_f("PodDNSConfig", "Specifies the DNS parameters of a pod. Parameters specified here will be merged to "
                 "the generated DNS configuration based on DNSPolicy.",
                 nameservers=_f("[]string", "A list of DNS name server IP addresses."),
                 options=_f("[]PodDNSConfigOption", "A list of DNS resolver options."),
                 searches=_f("[]string", "A list of DNS search domains for host-name lookup.")),
    dnsPolicy=_f("string", "Set DNS policy for the pod. Defaults to \"ClusterFirst\". Valid values are "
                 "'ClusterFirstWithHostNet', 'ClusterFirst', 'Default' or 'None'. DNS parameters given in DNSConfig "
                 "will be merged with the policy selected with DNSPolicy."),
    hostAliases=_f("[]HostAlias", "HostAliases is an optional list of hosts and IPs that will be injected into the "
                   "pod's hosts file if specified."),
    hostNetwork=_f("boolean", "Host networking requested for this pod. Use the host's network namespace. Default to "
                   "false."),
    hostname=_f("string", "Specifies the hostname of the Pod If not specified, the pod's hostname will be set to a "
                "system-defined value."),
    nodeName=_f("string", "NodeName indicates in which node this pod is scheduled."),
    nodeSelector=_f("map[string]string", "NodeSelector is a selector which must be true for the pod to fit on a "
                    "node."),
    subdomain=_f("string", "If specified, the fully qualified Pod hostname will be "
                 "\"<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>\"."),
)

SCHEMA: dict[str, tuple[str, str, dict[str, Any]]] = {
    "Service": ("v1", "Service is a named abstraction of software service (for example, mysql) consisting of local "
                "port (for example 3306) that the proxy listens on, and the selector that determines which pods will "
                "answer requests sent through the proxy.",
                {"apiVersion": _f("string", "APIVersion defines the versioned schema of this representation of an "
                                  "object."),
                 "kind": _f("string", "Kind is a string value representing the REST resource this object "
                            "represents."),
                 "metadata": _OBJECT_META, "spec": _SERVICE_SPEC,
                 "status": _f("ServiceStatus", "Most recently observed status of the service.")}),
    "NetworkPolicy": ("networking.k8s.io/v1", "NetworkPolicy describes what network traffic is allowed for a set "
                      "of Pods",
                      {"apiVersion": _f("string", "APIVersion defines the versioned schema of this representation "
                                        "of an object."),
                       "kind": _f("string", "Kind is a string value representing the REST resource this object "
                                  "represents."),
                       "metadata": _OBJECT_META, "spec": _NP_SPEC}),
    "Ingress": ("networking.k8s.io/v1", "Ingress is a collection of rules that allow inbound connections to reach "
                "the endpoints defined by a backend. An Ingress can be configured to give services externally-"
                "reachable urls, load balance traffic, terminate SSL, offer name based virtual hosting etc.",
                {"apiVersion": _f("string", "APIVersion defines the versioned schema of this representation of an "
                                  "object."),
                 "kind": _f("string", "Kind is a string value representing the REST resource this object "
                            "represents."),
                 "metadata": _OBJECT_META, "spec": _INGRESS_SPEC,
                 "status": _f("IngressStatus", "status is the current state of the Ingress.")}),
    "Pod": ("v1", "Pod is a collection of containers that can run on a host. This resource is created by clients "
            "and scheduled onto hosts.",
            {"apiVersion": _f("string", "APIVersion defines the versioned schema of this representation of an "
                              "object."),
             "kind": _f("string", "Kind is a string value representing the REST resource this object represents."),
             "metadata": _OBJECT_META, "spec": _POD_SPEC,
             "status": _f("PodStatus", "Most recently observed status of the pod.",
                          podIP=_f("string", "podIP address allocated to the pod. Routable at least within the "
                                   "cluster."),
                          hostIP=_f("string", "hostIP holds the IP address of the host to which the pod is "
                                    "assigned."))}),
    "Deployment": ("apps/v1", "Deployment enables declarative updates for Pods and ReplicaSets.",
                   {"apiVersion": _f("string", "APIVersion defines the versioned schema of this representation of "
                                     "an object."),
                    "kind": _f("string", "Kind is a string value representing the REST resource this object "
                               "represents."),
                    "metadata": _OBJECT_META,
                    "spec": _f("DeploymentSpec", "Specification of the desired behavior of the Deployment.",
                               replicas=_f("integer", "Number of desired pods. Defaults to 1."),
                               selector=_LABEL_SELECTOR,
                               template=_f("PodTemplateSpec", "Template describes the pods that will be created.",
                                           metadata=_OBJECT_META, spec=_POD_SPEC))}),
    "EndpointSlice": ("discovery.k8s.io/v1", "EndpointSlice represents a set of service endpoints. Most "
                      "EndpointSlices are created by the EndpointSlice controller to represent the Pods selected by "
                      "Service objects.",
                      {"addressType": _f("string", "addressType specifies the type of address carried by this "
                                         "EndpointSlice."),
                       "endpoints": _f("[]Endpoint", "endpoints is a list of unique endpoints in this slice."),
                       "metadata": _OBJECT_META,
                       "ports": _f("[]EndpointPort", "ports specifies the list of network ports exposed by each "
                                   "endpoint in this slice.")}),
}


def _render(kind: str, version: str, path: list[str], field: F | None, fields: dict[str, Any],
            recursive: bool) -> str:
    lines = [f"GROUP:      {version.split('/')[0]}" if "/" in version else "", f"KIND:       {kind}",
             f"VERSION:    {version.split('/')[-1]}", ""]
    lines = [ln for ln in lines[:3] if ln] + [""]
    if field is not None:
        lines += [f"FIELD: {path[-1]} <{field[0]}>", "", "DESCRIPTION:"]
        lines += ["    " + field[1], "    "]
    else:
        lines += ["DESCRIPTION:", "    " + SCHEMA[kind][1], "    "]
    if fields:
        lines.append("FIELDS:")
        for name, (typ, doc, children) in sorted(fields.items()):
            lines.append(f"  {name}\t<{typ}>")
            if not recursive:
                lines.append(f"    {doc}" if doc else "")
                lines.append("")
            elif children:
                lines += [f"    {c}\t<{t[0]}>" for c, t in sorted(children.items())]
    return "\n".join(lines).rstrip("\n")


def explain_text(spec: str, *, recursive: bool = False) -> str:
    """``kubectl explain RESOURCE[.FIELD...]``."""
    head, *path = spec.split(".")
    t = resource_type(head)
    if t is None:
        raise UsageError(f'error: the server doesn\'t have a resource type "{head}"')
    if t.kind not in SCHEMA:
        raise UsageError(f"error: the simulator explains Service, NetworkPolicy, Ingress, Pod, Deployment and "
                         f"EndpointSlice, not {t.kind}")
    version, _, fields = SCHEMA[t.kind]
    field: F | None = None
    walked: list[str] = []
    for name in path:
        if name not in fields:
            raise UsageError(f'error: field "{name}" does not exist')
        field = fields[name]
        walked.append(name)
        fields = field[2]
    return _render(t.kind, version, walked, field, fields, recursive)
