"""``kubectl logs``: what the cluster's programs print when they start, and CoreDNS's query log.

CoreDNS prints its server blocks and version (and, with the ``log`` plugin in its Corefile, one line per
query it answered); kube-proxy prints the mode it runs in; kindnetd the nodes it routes to; nginx its
entrypoint's lines. Other containers print nothing the model knows of.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster

__all__ = ["pod_logs", "LoggedQuery"]


@dataclass(frozen=True)
class LoggedQuery:
    """A query CoreDNS answered during a session: what its ``log`` plugin writes a line for."""

    client: str  # IP:PORT
    qid: int
    qtype: str
    name: str
    rcode: str
    size: int = 106


def _coredns(cluster: Cluster, queries: Sequence[LoggedQuery]) -> str:
    from k8snetviz.questions.resolve import coredns_corefile

    corefile = coredns_corefile(cluster)
    blocks, depth = [], 0
    for line in corefile.splitlines():
        text = line.split("#", 1)[0].strip()
        if depth == 0 and text.endswith("{"):
            blocks.append(text[:-1].strip())
        depth += text.count("{") - text.count("}")
    sha = hashlib.sha512(corefile.encode()).hexdigest()
    lines = [b if ":" in b else f"{b}:53" for b in blocks]
    lines += [f"[INFO] plugin/reload: Running configuration SHA512 = {sha}", "CoreDNS-1.11.3",
              "linux/amd64, go1.21.11, a6338e9"]
    if re.search(r"^\s*log\s*$", corefile, flags=re.M):
        for q in queries:
            lines.append(f'[INFO] {q.client} - {q.qid} "{q.qtype} IN {q.name} udp {len(q.name) + 17} false 512" '
                         f"{q.rcode} qr,aa,rd {q.size} 0.000{100 + q.qid % 800:03d}s")
    return "\n".join(lines)


def _kube_proxy(cluster: Cluster, pod: Pod) -> str:
    node = cluster.nodes[pod.node_name]
    mode = cluster.config.kube_proxy_mode
    proxier = {"iptables": "iptables", "nftables": "nftables", "ipvs": "ipvs"}.get(mode, mode)
    return "\n".join([
        f'I0101 11:55:01.000000       1 server_linux.go:66] "Using {proxier} proxy"',
        f'I0101 11:55:01.010000       1 server.go:698] "Successfully retrieved node IP(s)" IPs=["{node.internal_ip}"]',
        'I0101 11:55:01.010000       1 conntrack.go:60] "Setting nf_conntrack_max" nfConntrackMax=262144',
        'I0101 11:55:01.020000       1 server.go:245] "kube-proxy running in single-stack mode" ipFamily="IPv4"',
        f'I0101 11:55:01.030000       1 server_linux.go:170] "Using {proxier} Proxier"',
        'I0101 11:55:01.040000       1 server.go:483] "Version info" version="v1.33.1"',
        'I0101 11:55:01.050000       1 config.go:199] "Starting service config controller"',
        'I0101 11:55:01.050000       1 config.go:105] "Starting endpoint slice config controller"',
        'I0101 11:55:01.050000       1 config.go:329] "Starting node config controller"',
        'I0101 11:55:01.150000       1 shared_informer.go:320] Caches are synced for service config',
        'I0101 11:55:01.150000       1 shared_informer.go:320] Caches are synced for endpoint slice config',
        'I0101 11:55:01.150000       1 shared_informer.go:320] Caches are synced for node config',
    ])


def _kindnet(cluster: Cluster, pod: Pod) -> str:
    lines = ["I0101 11:55:02.000000       1 main.go:109] connected to apiserver: https://10.96.0.1:443",
             f"I0101 11:55:02.000000       1 main.go:139] hostIP = {cluster.nodes[pod.node_name].internal_ip}",
             f"podIP = {cluster.nodes[pod.node_name].internal_ip}"]
    for n in cluster.nodes.values():
        lines.append(f"I0101 11:55:02.100000       1 main.go:297] Handling node with IPs: map[{n.internal_ip}:{{}}]")
        if n.name == pod.node_name:
            lines.append("I0101 11:55:02.100000       1 main.go:301] handling current node")
        else:
            lines.append(f"I0101 11:55:02.100000       1 main.go:324] Node {n.name} has CIDR [{n.pod_cidr}]")
    return "\n".join(lines)


def _nginx() -> str:
    return "\n".join([
        "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
        "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
        "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
        "10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf",
        "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
        "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
        "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
        "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
        "/docker-entrypoint.sh: Configuration complete; ready for start up",
        "2025/01/01 11:55:01 [notice] 1#1: using the \"epoll\" event method",
        "2025/01/01 11:55:01 [notice] 1#1: nginx/1.27.3",
        "2025/01/01 11:55:01 [notice] 1#1: start worker processes",
    ])


def pod_logs(cluster: Cluster, pod: Pod, container: str | None = None,
             queries: Sequence[LoggedQuery] = ()) -> str:
    """What ``kubectl logs POD`` prints."""
    from k8snetviz.errors import UsageError

    containers = [c for c in (pod.raw.get("spec") or {}).get("containers") or []]
    names = [str(c.get("name", "")) for c in containers]
    if container is not None and container not in names:
        raise UsageError(f"error: container {container} is not valid for pod {pod.name}")
    if container is None and len(names) > 1:
        # kubectl picks the default container and says so.
        container = names[0]
    image = next((str(c.get("image", "")) for c in containers if container is None or c.get("name") == container), "")
    if pod.labels.get("k8s-app") == "kube-dns" or "coredns" in image:
        return _coredns(cluster, queries)
    if pod.labels.get("k8s-app") == "kube-proxy" or "kube-proxy" in image:
        return _kube_proxy(cluster, pod)
    if "kindnet" in image:
        return _kindnet(cluster, pod)
    if "nginx" in image and "ingress" not in image:
        return _nginx()
    return ""
