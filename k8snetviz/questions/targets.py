"""Reading the source and destination of a trace, as the CLI and the Python API take them.

SRC: ``pod/NS/NAME`` or ``NS/NAME``, ``node/NAME``, ``external`` (the scenario's first outside client),
``external/NAME`` or ``external/IP``. DST: ``pod/NS/NAME:PORT``, ``svc/NS/NAME:PORT``, ``IP:PORT``,
``node/NAME:PORT``, ``NAME:PORT`` (a DNS name) or ``http://HOST[:PORT]/PATH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from k8snetviz.api.refs import Ref
from k8snetviz.errors import UsageError

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["Source", "Destination", "parse_source", "parse_destination", "split_port"]


@dataclass(frozen=True)
class Source:
    netns: str  # the namespace the packet starts in
    addr: IPv4Address | None  # None: chosen by source address selection
    label: str  # how the walk names it: pod/default/client, node/kind-worker, external/client


@dataclass(frozen=True)
class Destination:
    kind: str  # ip | pod | node | svc | dns | http
    text: str
    port: int | None
    name: str = ""  # pod or service key, node name, DNS name or URL
    addr: IPv4Address | None = None


def _ipv4(text: str) -> IPv4Address | None:
    try:
        return IPv4Address(text)
    except ValueError:
        return None


def split_port(text: str, what: str = "destination") -> tuple[str, int | None]:
    """``web:80`` -> (``web``, 80); a port must be 1-65535."""
    if ":" not in text:
        return text, None
    head, _, port = text.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f'{what} "{text}": port must be a number from 1 to 65535, not "{port}"')
    return head, int(port)


def parse_source(cluster: Cluster, text: str) -> Source:
    t = text.strip()
    if t == "external" or t.startswith("external/"):
        rest = t.partition("/")[2]
        if not rest:
            if not cluster.externals:
                raise UsageError("source external: the scenario has no external client (spec.externalClients)")
            ext = next(iter(cluster.externals.values()))
            return Source(f"external/{ext.name}", ext.ip, f"external/{ext.name}")
        if rest in cluster.externals:
            ext = cluster.externals[rest]
            return Source(f"external/{ext.name}", ext.ip, f"external/{ext.name}")
        addr = _ipv4(rest)
        if addr is None:
            raise UsageError(f'source "{text}": not an external client of the scenario '
                             f"({', '.join(cluster.externals) or 'none'}) nor an IPv4 address")
        ext = cluster.external_at(addr)
        return Source(f"external/{ext.name}", addr, f"external/{addr}")
    if t.startswith("node/"):
        node = cluster.node(t)
        return Source(f"node/{node.name}", None, f"node/{node.name}")
    pod = cluster.pod(t)
    if pod.host_network:
        # A hostNetwork pod's processes use the node's addresses. A dump may report a podIP its node no longer
        # holds (the pod listed before the node got a new address): the kernel then picks the source, as for
        # the node's own connections.
        held = pod.ip is not None and cluster.lan_host(pod.ip) == f"node/{pod.node_name}"
        return Source(f"node/{pod.node_name}", pod.ip if held else None, f"pod/{pod.key}")
    return Source(f"pod/{pod.key}", pod.ip, f"pod/{pod.key}")


_URL = re.compile(r"^(https?)://([^/:]+)(?::(\d+))?(/.*)?$")


def parse_destination(cluster: Cluster, text: str) -> Destination:
    t = text.strip()
    m = _URL.match(t)
    if m:
        scheme, host, port, path = m.groups()
        default = 443 if scheme == "https" else 80
        return Destination("http", t, int(port) if port else default, f"{host}{path or '/'}")
    if t.startswith(("http:", "https:")):
        raise UsageError(f'destination "{text}": a URL must look like http://HOST[:PORT]/PATH')
    head, port = split_port(t)
    if port is None:
        raise UsageError(f'destination "{text}": needs a port, e.g. {t}:80')
    if "/" in head:
        ref = Ref.parse(head)
        if ref.kind == "pod":
            pod = cluster.pod(head)
            return Destination("pod", t, port, pod.key, pod.ip)
        if ref.kind == "svc":
            return Destination("svc", t, port, ref.key)
        if ref.kind == "node":
            node = cluster.node(ref.name)
            return Destination("node", t, port, node.name, node.internal_ip)
    addr = _ipv4(head)
    if addr is not None:
        return Destination("ip", t, port, str(addr), addr)
    if re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?", head):
        return Destination("dns", t, port, head)
    raise UsageError(f'destination "{text}": not pod/NS/NAME:PORT, svc/NS/NAME:PORT, node/NAME:PORT, '
                     "IP:PORT, NAME:PORT or http://HOST/PATH")
