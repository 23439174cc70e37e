"""Files as ``cat`` prints them: the kubelet-managed ``/etc/hosts`` of a pod, a kind node's resolv.conf.

>>> hosts = {"localhost": ["127.0.0.1", "::1"], "web-0": ["10.244.1.5"]}
>>> print(etc_hosts_text(hosts), end="")  # doctest: +NORMALIZE_WHITESPACE
# Kubernetes-managed hosts file.
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
fe00::0	ip6-mcastprefix
fe00::1	ip6-allnodes
fe00::2	ip6-allrouters
10.244.1.5	web-0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["etc_hosts_text", "node_resolv_conf"]

# The kubelet's header and its fixed IPv6 lines (pkg/kubelet/kubelet_pods.go, managedHostsHeader).
_HEADER = "# Kubernetes-managed hosts file.\n"
_FIXED = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
          "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")


def etc_hosts_text(hosts: Mapping[str, Sequence[str]], *, managed: bool = True) -> str:
    """The hosts file for ``hosts`` (name → addresses): the kubelet's fixed lines, then one line per address
    with its names (a pod's FQDN before its hostname, as the kubelet writes them)."""
    by_ip: dict[str, list[str]] = {}
    for name, addrs in hosts.items():
        if name == "localhost":
            continue
        for a in addrs:
            by_ip.setdefault(a, []).append(name)
    lines = "".join(f"{ip}\t{' '.join(names)}\n" for ip, names in by_ip.items())
    return (_HEADER if managed else "") + _FIXED + lines


def node_resolv_conf(cluster: Cluster) -> str:
    """A kind node's ``/etc/resolv.conf``: kind's entrypoint points it at the docker network's gateway."""
    from k8snetviz.agents.kubelet.resolvconf import KIND_NODE_RESOLV_CONF

    return KIND_NODE_RESOLV_CONF.replace("172.18.0.1", str(cluster.config.gateway))
