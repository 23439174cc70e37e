"""``kubectl get`` as text, for the resources the model holds.

Fixed values stand where a live cluster would have changing ones (AGE, RESTARTS), so that
the output is reproducible; the columns and their order are kubectl's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k8snetviz.errors import UsageError
from k8snetviz.views import ingresstext  # noqa: F401  (it registers ingresses and the Gateway API's kinds)
from k8snetviz.views.resources import AGE, ALIASES, KERNEL, KUBERNETES_VERSION, OS_IMAGE, RESOURCES, RUNTIME, register
from k8snetviz.views.table import columns, no_resources_message

if TYPE_CHECKING:
    from k8snetviz.agents.networkpolicy import NetworkPolicy
    from k8snetviz.api.objects import Node, Pod
    from k8snetviz.cluster import Cluster

__all__ = ["get", "get_nodes", "get_pods", "RESOURCES", "register", "AGE", "KUBERNETES_VERSION", "pod_row", "node_row",
           "netpol_row"]

@register("nodes", "node", "no")
def get_nodes(cluster: Cluster, *, wide: bool = False, **_: object) -> str:
    header = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    if wide:
        header += ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    return columns(header, sorted(node_row(n, wide) for n in cluster.nodes.values()))


def node_row(n: Node, wide: bool = False) -> list[str]:
    """One row of ``kubectl get nodes``: NAME STATUS ROLES AGE VERSION (and the wide columns)."""
    roles = ",".join(sorted(k.split("/", 1)[1] for k in n.labels if k.startswith("node-role.kubernetes.io/")))
    status = "Ready,SchedulingDisabled" if (n.raw.get("spec") or {}).get("unschedulable") else "Ready"
    row = [n.name, status, roles or "<none>", AGE, KUBERNETES_VERSION]
    if wide:
        row += [str(n.internal_ip), "<none>", OS_IMAGE, KERNEL, RUNTIME]
    return row


@register("pods", "pod", "po")
def get_pods(cluster: Cluster, *, namespace: str | None = None, all_namespaces: bool = False,
             wide: bool = False) -> str:
    ns = namespace or "default"
    pods = [p for p in cluster.pods.values() if all_namespaces or p.namespace == ns]
    if not pods:
        return no_resources_message(ns, all_namespaces)
    header = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    if wide:
        header += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    rows = [([p.namespace] if all_namespaces else []) + pod_row(p, wide)
            for p in sorted(pods, key=lambda p: (p.namespace, p.name))]
    return columns(header, rows)


def pod_row(p: Pod, wide: bool = False) -> list[str]:
    """One row of ``kubectl get pods``: NAME READY STATUS RESTARTS AGE (and the wide columns)."""
    n = max(len(p.images), 1)
    status = "Terminating" if p.terminating else p.phase
    row = [p.name, f"{n if p.ready else 0}/{n}", status, "0", AGE]
    if wide:
        row += [str(p.ip) if p.ip else "<none>", p.node_name, "<none>", "<none>"]
    return row


@register("namespaces", "namespace", "ns")
def get_namespaces(cluster: Cluster, **_: object) -> str:
    return columns(["NAME", "STATUS", "AGE"], [[n, "Active", AGE] for n in cluster.namespaces])


@register("networkpolicies", "networkpolicy", "netpol")
def get_networkpolicies(cluster: Cluster, *, namespace: str | None = None, all_namespaces: bool = False,
                        **_: object) -> str:
    """NAME, POD-SELECTOR (the selector as a label query, ``<none>`` for all pods) and AGE."""
    from k8snetviz.questions.policy import engine

    ns = namespace or "default"
    pols = sorted((p for p in engine(cluster).policies if all_namespaces or p.namespace == ns),
                  key=lambda p: (p.namespace, p.name))
    if not pols:
        return no_resources_message(ns, all_namespaces)
    rows = [([p.namespace] if all_namespaces else []) + netpol_row(p) for p in pols]
    return columns((["NAMESPACE"] if all_namespaces else []) + ["NAME", "POD-SELECTOR", "AGE"], rows)


def netpol_row(p: NetworkPolicy) -> list[str]:
    """One row of ``kubectl get networkpolicy``: NAME POD-SELECTOR AGE."""
    return [p.name, str(p.pod_selector), AGE]


def get(cluster: Cluster, resource: str, *, namespace: str | None = None, all_namespaces: bool = False,
        wide: bool = False) -> str:
    """``kubectl get RESOURCE [-n NS | -A] [-o wide]``."""
    name = ALIASES.get(resource.lower())
    if name is None:
        raise UsageError(f'error: the server doesn\'t have a resource type "{resource}"')
    if namespace is not None and namespace not in cluster.namespaces and not all_namespaces:
        return no_resources_message(namespace)
    return RESOURCES[name](cluster, namespace=namespace, all_namespaces=all_namespaces, wide=wide)


@register("services", "service", "svc")
def _get_services(cluster: Cluster, *, namespace: str | None = None, all_namespaces: bool = False,
                  wide: bool = False) -> str:
    from k8snetviz.views.kubectl_services import get_services

    return get_services(cluster.services.values(), namespace=namespace or "default",
                        all_namespaces=all_namespaces, wide=wide, age=AGE)


@register("endpoints", "ep")
def _get_endpoints(cluster: Cluster, *, namespace: str | None = None, all_namespaces: bool = False,
                   **_: object) -> str:
    from k8snetviz.views.kubectl_services import get_endpoints

    return get_endpoints(cluster.endpoints, namespace=namespace or "default", all_namespaces=all_namespaces,
                         age=AGE)


@register("endpointslices", "endpointslice", "endpointslices.discovery.k8s.io")
def _get_endpointslices(cluster: Cluster, *, namespace: str | None = None, all_namespaces: bool = False,
                        **_: object) -> str:
    from k8snetviz.views.kubectl_services import get_endpointslices

    return get_endpointslices(cluster.endpointslices, namespace=namespace or "default",
                              all_namespaces=all_namespaces, age=AGE)
