"""What a client program sees: ``curl``, ``wget``, ``nc -z``, ``ping`` from a pod, a node or outside.

A connection is the name lookup the source's resolver makes, the packet's walk (:mod:`.trace`), and
whether something listens where it arrives. The outcome is what the socket reports: ``open`` (the
handshake completed), ``refused`` (a RST, or kube-proxy's REJECT for a Service without endpoints),
``timeout`` (dropped on the way: a NetworkPolicy, a missing route, forwarding off), ``unresolved``
(the name does not resolve).

What listens: a container listens on the ports its containers declare; a container that declares none
listens where its image does (nginx on 80, CoreDNS on 53); a node runs sshd, the kubelet, kube-proxy's
health check and, on the control plane, the API server and etcd. A container with neither is taken to
listen on the port asked.

An HTTP request (:func:`request`) through an Ingress controller or a Gateway's proxy goes on as the proxy
routes it (:mod:`.ingress`, :mod:`.gateway`): a second connection to the backend, or the proxy's own answer
(404, 503, the 308 to https).

>>> import k8snetviz
>>> c = k8snetviz.load("services")
>>> connect(c, "pod/default/client", "web", 80).outcome
'open'
>>> connect(c, "pod/default/client", "api", 80).outcome
'refused'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from typing import TYPE_CHECKING, Any

from k8snetviz.api.refs import Ref
from k8snetviz.errors import K8sNetVizError
from k8snetviz.questions.display import Shown

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = ["Connection", "HTTPResponse", "connect", "request", "listens", "lookup", "IMAGE_PORTS", "NODE_PORTS"]

# Where common images listen when their containers declare no ports.
IMAGE_PORTS: dict[str, tuple[tuple[int, str], ...]] = {
    "nginx": ((80, "TCP"),), "httpd": ((80, "TCP"),), "apache": ((80, "TCP"),), "caddy": ((80, "TCP"), (443, "TCP")),
    "traefik/whoami": ((80, "TCP"),), "whoami": ((80, "TCP"),), "http-echo": ((5678, "TCP"),),
    "coredns": ((53, "UDP"), (53, "TCP"), (9153, "TCP"), (8080, "TCP"), (8181, "TCP")),
    "redis": ((6379, "TCP"),), "postgres": ((5432, "TCP"),), "mysql": ((3306, "TCP"),), "influxdb": ((8086, "TCP"),),
    "ingress-nginx/controller": ((80, "TCP"), (443, "TCP"), (10254, "TCP")),
    "kube-proxy": ((10249, "TCP"), (10256, "TCP")), "kindnetd": (), "flannel": (),
}
# Clients and shells: nothing listens.
_SILENT_IMAGES = ("busybox", "alpine", "curl", "netshoot", "dnsutils", "ubuntu", "debian", "jessie-dnsutils")
NODE_PORTS = ((22, "TCP"), (10250, "TCP"), (10256, "TCP"), (10249, "TCP"))
KUBE_PROXY_PORTS = ((10249, "TCP"), (10256, "TCP"))  # --metrics-bind-address, --healthz-bind-address
CONTROL_PLANE_PORTS = ((6443, "TCP"), (2379, "TCP"), (2380, "TCP"), (10257, "TCP"), (10259, "TCP"))


@dataclass(eq=False)
class Connection(Shown):
    """One attempt to open a connection (or send a datagram, or a ping)."""

    source: str
    host: str
    port: int | None
    protocol: str
    address: str | None
    outcome: str  # open | refused | timeout | unresolved | unreachable
    reason: str
    dns: Any = None
    trace: TraceResult | None = None
    receiver: str | None = None  # the namespace the packet reached: pod/NS/NAME, node/NAME, internet
    peer: str | None = None  # the source address the receiver saw (IP:PORT)

    @property
    def ok(self) -> bool:
        return self.outcome == "open"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "host": self.host, "port": self.port, "protocol": self.protocol,
                "address": self.address, "outcome": self.outcome, "reason": self.reason, "receiver": self.receiver,
                "peer": self.peer}

    def text(self) -> str:
        where = f"{self.host}:{self.port}" if self.port else self.host
        return f"{self.source} → {where}: {self.outcome} ({self.reason})"


@dataclass(eq=False)
class HTTPResponse(Shown):
    """An HTTP exchange: the connection, then who answered what."""

    connection: Connection
    status: int | None = None
    reason: str = ""
    server: str | None = None  # the pod that produced the answer
    proxy: str | None = None  # an Ingress controller or Gateway on the way ("Ingress default/shop")
    location: str | None = None
    backend_connection: Connection | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"connection": self.connection.to_dict(), "status": self.status, "reason": self.reason,
                "server": self.server, "proxy": self.proxy}

    def text(self) -> str:
        if self.status is None:
            return self.connection.text()
        return f"HTTP {self.status} from {self.server or self.proxy}: {self.reason}"


def _image_ports(image: str) -> tuple[tuple[int, str], ...] | None:
    name = image.split("@")[0].rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image.split("@")[0]
    for key, ports in IMAGE_PORTS.items():
        if name.endswith(key) or f"/{key}" in name or name == key:
            return ports
    if any(s in name for s in _SILENT_IMAGES):
        return ()
    return None


def pod_listens(pod: Pod, port: int, protocol: str) -> bool:
    """Whether a process in ``pod`` listens on ``port``/``protocol`` (see the module's rule)."""
    if pod.ports:
        return any(p.container_port == port and p.protocol == protocol for p in pod.ports)
    known = [_image_ports(i) for i in pod.images]
    if all(k is None for k in known):
        return True
    return any(k is not None and (port, protocol) in k for k in known)


def listens(cluster: Cluster, netns: str, port: int, protocol: str) -> bool:
    """Whether something listens on ``port`` in the namespace ``netns`` (``pod/NS/NAME``, ``node/NAME``)."""
    if netns.startswith("pod/"):
        pod = cluster.pods.get(netns[4:])
        return pod is None or pod_listens(pod, port, protocol)
    if netns.startswith("node/"):
        name = netns[5:]
        node = cluster.nodes.get(name)
        fixed = NODE_PORTS + (CONTROL_PLANE_PORTS if node is not None and node.role == "control-plane" else ())
        if (port, protocol) in KUBE_PROXY_PORTS:
            # kube-proxy's metrics (/proxyMode) and healthz servers: only where a kube-proxy pod runs
            running = getattr(cluster, "kube_proxy_nodes", None)
            return running is None or name in running
        if (port, protocol) in fixed:
            return True
        # A host-network pod listens on the node's addresses, on the ports it declares or its image's.
        return any(p.host_network and p.node_name == name and (p.ports or any(_image_ports(i) for i in p.images))
                   and pod_listens(p, port, protocol) for p in cluster.pods.values())
    return True  # the internet, a load balancer, an outside host: something answers


def lookup(cluster: Cluster, source: str, name: str) -> tuple[list[str], Any, str | None]:
    """The addresses ``name`` has for ``source``: (addresses, the pod's DNS result or None, why not)."""
    try:
        ip_address(name)
        return [name], None, None
    except ValueError:
        pass
    if name in ("localhost", "localhost.localdomain"):
        return ["127.0.0.1"], None, None  # /etc/hosts, on every host and in every pod
    ref = Ref.parse(source, "pod") if source.startswith("pod/") else None
    if ref is not None and ref.kind == "pod":
        from k8snetviz.questions.resolve import resolve

        try:
            r = resolve(cluster, ref.key, name)
        except K8sNetVizError as e:
            return [], None, str(e)
        return list(r.addresses), r, None if r.ok else (r.error or "NXDOMAIN")
    # A node, or outside: the node network's resolver, which knows the outside world's names only.
    from k8snetviz.agents.coredns.zone import fqdn
    from k8snetviz.questions.resolve import cluster_dns

    if source.startswith("node/") and name.split(".")[0] in cluster.nodes:
        return [str(cluster.nodes[name.split(".")[0]].internal_ip)], None, None
    answer = cluster_dns(cluster).public.lookup(fqdn(name), "A")
    addrs = [r.data for r in answer.records if r.type == "A"]
    return addrs, None, None if addrs else "NXDOMAIN"


def _receiver(t: TraceResult) -> str | None:
    hops = [h for h in t.request_hops if h.action == "deliver"]
    return hops[-1].at if hops else None


def connect(cluster: Cluster, source: str, host: str, port: int | None, protocol: str = "TCP") -> Connection:
    """Open a connection from ``source`` (``pod/NS/NAME``, ``node/NAME``, ``external``) to ``host:port``.

    ``protocol`` ICMP (``port`` None) is a ping: an echo answered by whoever holds the address.
    """
    addrs, dns, why = lookup(cluster, source, host)
    if not addrs:
        return Connection(source, host, port, protocol, None, "unresolved", f"{host} does not resolve ({why})",
                          dns=dns)
    addr = addrs[0]
    try:
        ip = IPv4Address(addr)
    except ValueError:
        return Connection(source, host, port, protocol, addr, "unreachable", f"{addr} is not an IPv4 address",
                          dns=dns)
    own = cluster.netns.get(source)
    if ip.is_loopback or (own is not None and ip in own.local_addresses()):
        # The source's own address (lo, or an address on one of its devices): nothing leaves the namespace.
        if protocol == "ICMP" or listens(cluster, source, port or 0, protocol):
            return Connection(source, host, port, protocol, addr, "open", f"{addr} is local to {source}", dns,
                              None, source, f"{addr}:40000")
        return Connection(source, host, port, protocol, addr, "refused", f"nothing listens on {source} on "
                          f"{protocol} {port}", dns, None, source)
    # An echo request has no port; the walk takes one and leaves it out of the packet.
    dst = f"{addr}:{port or 1}"
    t = cluster.trace(source, dst, protocol=protocol)
    receiver = _receiver(t)
    peer = t.final.get("src") if t.final else None
    if t.verdict == "rejected":
        return Connection(source, host, port, protocol, addr, "refused", t.reason, dns, t, receiver, peer)
    if not t.delivered:
        return Connection(source, host, port, protocol, addr, "timeout", t.reason, dns, t, receiver, peer)
    arrived = int(str(t.final["dst"]).rsplit(":", 1)[1]) if t.final and ":" in str(t.final["dst"]) else port or 0
    if protocol == "ICMP" or receiver is None or listens(cluster, receiver, arrived, protocol):
        return Connection(source, host, port, protocol, addr, "open", t.reason, dns, t, receiver, peer)
    return Connection(source, host, port, protocol, addr, "refused",
                      f"the packet reaches {receiver}, but nothing listens there on {protocol} {arrived}", dns, t,
                      receiver, peer)


def _proxy_of(cluster: Cluster, netns: str) -> str | None:
    """``ingress`` or ``gateway`` when ``netns`` is an Ingress controller's or a Gateway proxy's pod."""
    pod = cluster.pods.get(netns[4:]) if netns.startswith("pod/") else None
    if pod is None:
        return None
    if any("ingress-nginx" in i or "ingress-controller" in i for i in pod.images):
        return "ingress"
    if pod.labels.get("gateway.networking.k8s.io/gateway-name") or any("envoy" in i for i in pod.images):
        return "gateway"
    return None


def request(cluster: Cluster, source: str, url: str, headers: dict[str, str] | None = None) -> HTTPResponse:
    """An HTTP GET from ``source``: connect, then follow what the proxy (if any) does with the request."""
    from k8snetviz.questions.ingress import parse_url

    scheme, host, port, path = parse_url(url)
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    vhost = hdrs.get("host", host).split(":")[0]
    conn = connect(cluster, source, host, port)
    resp = HTTPResponse(conn)
    if not conn.ok:
        return resp
    proxy = _proxy_of(cluster, conn.receiver or "")
    if proxy is None:
        resp.status, resp.reason, resp.server = 200, "OK", conn.receiver
        return resp
    if proxy == "ingress":
        from k8snetviz.questions.ingress import ingress

        answer: Any = ingress(cluster, vhost, path, scheme=scheme, port=port)
        resp.proxy = "ingress-nginx"
    else:
        from k8snetviz.questions.gateway import http_route

        answer = http_route(cluster, vhost, path, scheme=scheme, port=port, headers=headers)
        resp.proxy = "gateway"
    if answer.status is not None:
        resp.status = answer.status
        resp.reason = {301: "Moved Permanently", 308: "Permanent Redirect", 404: "Not Found",
                       503: "Service Temporarily Unavailable", 500: "Internal Server Error"}.get(answer.status, "")
        resp.server = conn.receiver
        if answer.status in (301, 308):
            resp.location = f"https://{vhost}{path}"
        return resp
    backend = answer.backend or {}
    svc, bport = backend.get("service"), backend.get("port")
    if not svc:
        resp.status, resp.reason, resp.server = 404, "Not Found", conn.receiver
        return resp
    svc_obj = cluster.services.get(svc)
    if svc_obj is None:
        resp.status, resp.reason, resp.server = 503, "Service Temporarily Unavailable", conn.receiver
        return resp
    number = bport if isinstance(bport, int) else next((p.port for p in svc_obj.ports if p.name == bport), 80)
    second = connect(cluster, conn.receiver or source, svc_obj.cluster_ip or svc_obj.name, number)
    resp.backend_connection = second
    if not second.ok:
        resp.status = 503 if second.outcome == "refused" else 504
        resp.reason = "Service Temporarily Unavailable" if resp.status == 503 else "Gateway Time-out"
        resp.server = conn.receiver
        return resp
    resp.status, resp.reason, resp.server = 200, "OK", second.receiver
    return resp
