"""Questions about Services that the walk asks: which nodes a load balancer may send to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from k8snetviz.api.services import Service
    from k8snetviz.cluster import Cluster

__all__ = ["load_balancer_targets", "local_endpoint_nodes", "EXCLUDE_FROM_LB"]

# kubeadm labels control-plane nodes so that cloud load balancers leave them out.
EXCLUDE_FROM_LB = "node.kubernetes.io/exclude-from-external-load-balancers"


def local_endpoint_nodes(cluster: Cluster, svc: Service) -> set[str]:
    """Nodes that hold a ready endpoint of ``svc``: where kube-proxy's health check answers 200."""
    out = set()
    for es in cluster.endpointslices:
        if es.namespace == svc.namespace and es.service_name == svc.name:
            out |= {ep.node_name for ep in es.endpoints if ep.is_ready and ep.node_name}
    return out


def load_balancer_targets(cluster: Cluster, svc: Service,
                          endpoint: str | None = None) -> tuple[list[tuple[str, bool, str]], str | None]:
    """Each node with whether the load balancer's health check passes and why; and the node it sends to.

    With ``externalTrafficPolicy: Local`` the load balancer probes ``healthCheckNodePort``, which
    kube-proxy answers with 200 only on nodes that have a local endpoint; with ``Cluster`` every node
    that runs kube-proxy is healthy. The first healthy node in node order is chosen, or the node of
    the ``endpoint`` pod when it is healthy (as if the load balancer had picked that node).
    """
    local = local_endpoint_nodes(cluster, svc)
    policy = svc.external_traffic_policy or "Cluster"
    checks = []
    for node in cluster.nodes.values():
        if EXCLUDE_FROM_LB in node.labels:
            checks.append((node.name, False, f"left out ({EXCLUDE_FROM_LB})"))
        elif policy == "Local":
            ok = node.name in local
            checks.append((node.name, ok, f"healthCheckNodePort {svc.health_check_node_port} answers "
                           + ("200 (a local endpoint)" if ok else "503 (no local endpoint)")))
        else:
            checks.append((node.name, True, "kube-proxy healthz answers 200"))
    healthy = [n for n, ok, _ in checks if ok]
    chosen = healthy[0] if healthy else None
    if endpoint is not None and healthy:
        pod_node = cluster.pod(endpoint).node_name
        if pod_node in healthy and policy == "Local":
            chosen = pod_node
    return checks, chosen
