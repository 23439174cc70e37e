"""What a pod's events say: what the scheduler and the kubelet recorded for a five-minute-old pod (scheduled,
pulled, created, started) and ``Unhealthy`` while its readiness probe fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from k8snetviz.views.resources import AGE

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster

__all__ = ["pod_events", "probe_failure"]


def probe_failure(cluster: Cluster, pod: Pod) -> str | None:
    """Why the kubelet's readiness probe fails for ``pod`` (a probe on a port no container listens on)."""
    if pod.ready or pod.ip is None:
        return None
    for c in (pod.raw.get("spec") or {}).get("containers") or []:
        probe = c.get("readinessProbe") or {}
        http = probe.get("httpGet")
        tcp = probe.get("tcpSocket")
        if http:
            port = http.get("port")
            return (f'Readiness probe failed: Get "http://{pod.ip}:{_probe_port(c, port)}{http.get("path", "/")}": '
                    f"dial tcp {pod.ip}:{_probe_port(c, port)}: connect: connection refused")
        if tcp:
            port = tcp.get("port")
            return f"Readiness probe failed: dial tcp {pod.ip}:{_probe_port(c, port)}: connect: connection refused"
    return None


def _probe_port(container: dict[str, Any], port: Any) -> Any:
    if isinstance(port, str):
        for p in container.get("ports") or []:
            if p.get("name") == port:
                return p.get("containerPort")
    return port


def pod_events(cluster: Cluster, pod: Pod) -> list[tuple[str, str, str, str, str]]:
    """(type, reason, age, from, message) for a pod, oldest first."""
    out = [("Normal", "Scheduled", AGE, "default-scheduler",
            f"Successfully assigned {pod.namespace}/{pod.name} to {pod.node_name}")]
    for c in (pod.raw.get("spec") or {}).get("containers") or []:
        name, image = c.get("name", ""), c.get("image", "")
        out += [("Normal", "Pulled", AGE, "kubelet", f'Container image "{image}" already present on machine'),
                ("Normal", "Created", AGE, "kubelet", f"Created container: {name}"),
                ("Normal", "Started", AGE, "kubelet", f"Started container {name}")]
    failure = probe_failure(cluster, pod)
    if failure:
        out.append(("Warning", "Unhealthy", f"2s (x31 over {AGE})", "kubelet", failure))
    return out
