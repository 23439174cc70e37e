"""Resolve a name as a pod's resolver would: its resolv.conf, each query it sends, each answer.

The pod's side is the kubelet's ``/etc/resolv.conf`` for the pod's ``dnsPolicy`` and ``dnsConfig``
(:func:`k8snetviz.agents.kubelet.resolvconf.pod_resolv_conf`), the kubelet's ``/etc/hosts``, and glibc's
search-list expansion with ``ndots``. Which server answers depends on the nameserver in that file:

- the kube-dns ClusterIP (kube-proxy DNATs it to a CoreDNS pod) or a CoreDNS pod's own address:
  CoreDNS running the scenario's Corefile (the ``kube-system/coredns`` ConfigMap, else kubeadm's);
- a server named in the Scenario's ``spec.upstreamDNS`` (a key that is an address): that server,
  which knows only the names listed under it;
- any other address outside the cluster (the node's resolver 172.18.0.1, 8.8.8.8): the outside
  world, the names of ``spec.upstreamDNS``; cluster names are NXDOMAIN there;
- a pod, node or service address where no DNS server listens (or kube-dns without ready
  endpoints): no answer. glibc tries the next nameserver; when none answers the lookup fails
  with ``TRY_AGAIN`` after the first query, shown with the pseudo-rcode ``TIMEOUT``.

``qtype`` A and AAAA resolve as ``getaddrinfo`` does with ``AF_INET`` / ``AF_INET6`` (a numeric
address and ``/etc/hosts`` answer without a query); SRV, PTR, CNAME and the rest as ``res_search``
does. For PTR an address is turned into its reverse name first, as ``dig -x`` does.

>>> import k8snetviz
>>> cluster = k8snetviz.load("dns")
>>> r = resolve(cluster, "app/client", "db.data")
>>> [(q["name"], q["rcode"]) for q in r.to_dict()["queries"]]
[('db.data.app.svc.cluster.local.', 'NXDOMAIN'), ('db.data.svc.cluster.local.', 'NOERROR')]
>>> r.addresses
('10.96.92.137',)

:func:`query_plan` is the same lookup as the packets it sends, for the packet walk: the nameserver
the pod sends each query to (UDP 53), and every query in order with its rcode and addresses.

>>> plan = query_plan(cluster, "app/client", "db.data")
>>> plan.nameserver, plan.port, plan.protocol, [q.rcode for q in plan.queries]
('10.96.0.10', 53, 'UDP', ['NXDOMAIN', 'NOERROR'])
"""

from __future__ import annotations

import ipaddress
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k8snetviz.agents.coredns.corefile import KUBEADM_COREFILE, CoreDNS
from k8snetviz.agents.coredns.zone import (
    Answer,
    DNSEndpoint,
    DNSEndpointPort,
    DNSEndpointSlice,
    DNSPod,
    DNSService,
    DNSServicePort,
    Record,
    Upstream,
    reverse_name,
    validate_query_name,
)
from k8snetviz.agents.kubelet.resolvconf import (
    KIND_NODE_RESOLV_CONF,
    PodDNS,
    PodDNSConfig,
    Query,
    Resolution,
    pod_resolv_conf,
    search,
)
from k8snetviz.errors import FieldError, InvalidObject, UsageError
from k8snetviz.questions.display import Shown

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster

__all__ = [
    "QUERY_TYPES",
    "TIMEOUT",
    "DNSResult",
    "PlannedQuery",
    "QueryPlan",
    "NameServer",
    "ClusterDNS",
    "cluster_dns",
    "resolve",
    "query_plan",
    "resolv_conf",
    "pod_dns",
    "etc_hosts",
    "dns_server_pods",
    "upstream_tables",
    "coredns_corefile",
]

# The types `k8snetviz dns --type` takes; any type CoreDNS answers is accepted by resolve().
QUERY_TYPES = ("A", "AAAA", "SRV", "PTR", "CNAME", "TXT", "SOA", "NS", "MX")
# Not an rcode: no server answered (glibc's TRY_AGAIN after its timeouts, dig's "connection timed out").
TIMEOUT = "TIMEOUT"
DNS_PORT = 53
_RECORD_TYPES = ("A", "AAAA", "CNAME", "PTR", "SRV", "TXT", "MX", "NS")


# --- the scenario's DNS, built once per cluster --------------------------------------------------------


@dataclass(frozen=True)
class NameServer:
    """What answers at an address a resolv.conf names; ``lookup`` is None when nothing does."""

    address: str
    kind: str  # coredns | upstream | none
    description: str
    lookup: Callable[[str, str], Answer] | None = field(default=None, compare=False, repr=False)


class ClusterDNS:
    """The DNS side of a cluster: the CoreDNS server, the outside world, and who listens where."""

    def __init__(self, cluster: Cluster) -> None:
        cfg = cluster.config
        self.domain = cfg.cluster_domain.rstrip(".")
        self.public, self.servers = upstream_tables(cluster)
        self.corefile = coredns_corefile(cluster)
        kube_dns = cluster.services.get(cluster.config.dns_service)
        self.dns_service = cluster.config.dns_service
        self.dns_service_ips: tuple[str, ...] = tuple(
            ip for ip in (kube_dns.cluster_ips if kube_dns else [str(cfg.dns_service_ip)]) if ip and ip != "None")
        self.coredns = CoreDNS(
            self.corefile,
            services=[_dns_service(s) for s in cluster.services.values()],
            endpoint_slices=[e for e in (_dns_slice(s) for s in cluster.endpointslices) if e is not None],
            pods=[DNSPod(p.namespace, p.name, str(p.ip) if p.ip else None, p.hostname, p.subdomain)
                  for p in cluster.pods.values() if not p.host_network],
            namespaces=list(cluster.namespaces),
            upstreams={},
            dns_service_ips=self.dns_service_ips,
        )
        self.coredns.upstreams = self._forward_targets()
        self.server_pods = dns_server_pods(cluster)
        self._kube_dns_ready = bool(self.server_pods)
        self._pod_ips = {str(p.ip) for p in self.server_pods if p.ip is not None}
        self._silent = [cfg.pod_subnet, cfg.service_subnet]
        self._node_ips = {str(n.internal_ip) for n in cluster.nodes.values()}
        self._paths: dict[tuple[str, str], str | None] = {}

    def _forward_targets(self) -> dict[str, Upstream]:
        # Every `forward` target: a server of spec.upstreamDNS, else the outside world (the CoreDNS
        # pods use dnsPolicy Default, so /etc/resolv.conf is the node's, whose resolver is outside).
        targets: dict[str, Upstream] = {}
        for config in self.coredns.configs:
            for rule in config.forwards:
                for to in rule.to:
                    host = to.split("://")[-1]
                    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host.strip("[]")
                    targets[to] = self.servers.get(host, self.public)
        return targets

    def unreachable(self, cluster: Cluster, pod: str, address: str) -> str | None:
        """Why a query from ``pod`` to ``address`` port 53 or its answer is lost on the way, or None.

        A server that would answer is no use if the network drops the query (a NetworkPolicy, a
        missing route) or the reply: glibc then waits, retries, and gives up with TRY_AGAIN.
        """
        key = (pod, address)
        if key not in self._paths:
            walk = cluster.trace(pod, f"{address}:53", protocol="UDP")
            self._paths[key] = None if walk.delivered else f"the query is {walk.verdict}: {walk.reason}"
        return self._paths[key]

    def nameserver(self, address: str) -> NameServer:
        """What answers queries sent to ``address`` from a pod."""
        if address in self.dns_service_ips:
            if not self._kube_dns_ready:
                return NameServer(address, "none", f"{address} is kube-dns, which has no ready endpoints: "
                                  "kube-proxy rejects the query")
            return NameServer(address, "coredns", f"{self.dns_service}, DNATed by kube-proxy to a CoreDNS pod",
                              self.coredns.query)
        if address in self._pod_ips:
            return NameServer(address, "coredns", "a CoreDNS pod", self.coredns.query)
        if address in self.servers:
            return NameServer(address, "upstream", "a DNS server outside the cluster that knows only its own names",
                              self.servers[address].lookup)
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return NameServer(address, "none", f"{address} is not an address")
        if ip.is_loopback or address in self._node_ips or any(ip in n for n in self._silent):
            return NameServer(address, "none", f"no DNS server listens at {address}")
        return NameServer(address, "upstream", "a resolver outside the cluster: the internet's names, no cluster names",
                          self.public.lookup)


_cache: weakref.WeakKeyDictionary[Any, ClusterDNS] = weakref.WeakKeyDictionary()


def cluster_dns(cluster: Cluster) -> ClusterDNS:
    """The cluster's :class:`ClusterDNS`, built on first use and kept for the cluster's lifetime."""
    dns = _cache.get(cluster)
    if dns is None:
        dns = _cache[cluster] = ClusterDNS(cluster)
    return dns


def _dns_service(svc: Any) -> DNSService:
    ports = tuple(DNSServicePort(p.name or None, p.port, p.protocol) for p in svc.ports)
    if svc.type == "ExternalName":
        return DNSService(svc.namespace, svc.name, "ExternalName", None, ports, svc.external_name)
    ips = None if svc.headless else tuple(ip for ip in svc.cluster_ips if ip)
    return DNSService(svc.namespace, svc.name, svc.type, ips, ports)


def _dns_slice(eps: Any) -> DNSEndpointSlice | None:
    service = eps.service_name
    if not service:
        return None
    endpoints = tuple(
        DNSEndpoint(addr, e.conditions.ready, e.hostname, e.node_name,
                    e.target_ref.name if e.target_ref is not None and e.target_ref.kind == "Pod" else None)
        for e in eps.endpoints for addr in e.addresses)
    ports = tuple(DNSEndpointPort(p.name, p.port, p.protocol) for p in eps.ports if p.port is not None)
    return DNSEndpointSlice(eps.namespace, service, endpoints, ports)


def coredns_corefile(cluster: Cluster) -> str:
    """The Corefile: the ``Corefile`` key of ConfigMap ``kube-system/coredns``, else kubeadm's default."""
    for m in cluster.scenario.of_kind("ConfigMap"):
        if m.name == "coredns" and (m.namespace or "default") == "kube-system":
            text = (m.body.get("data") or {}).get("Corefile")
            if isinstance(text, str) and text.strip():
                return text
    domain = cluster.config.cluster_domain.rstrip(".")
    return KUBEADM_COREFILE.replace("cluster.local", domain)


def _scenario_name(cluster: Cluster) -> str:
    for m in cluster.scenario.of_kind("Scenario"):
        return m.name or "scenario"
    return "scenario"


def upstream_tables(cluster: Cluster) -> tuple[Upstream, dict[str, Upstream]]:
    """The outside world and the named DNS servers of ``spec.upstreamDNS``.

    A key that is a name gives its records (``example.com: {A: [93.184.216.34]}``, ``www: {CNAME: x}``);
    a key that is an address is a DNS server of its own, mapping names to records the same way.
    """
    table = cluster.config.upstream_dns or {}
    scenario = _scenario_name(cluster)
    public: dict[str, list[tuple[str, str]]] = {}
    servers: dict[str, Upstream] = {}
    for key, value in table.items():
        path = f"spec.upstreamDNS[{key}]"
        try:
            ipaddress.ip_address(str(key))
        except ValueError:
            public[str(key)] = _records(scenario, path, str(key), value)
            continue
        if not isinstance(value, Mapping):
            raise InvalidObject("Scenario", scenario, [FieldError.invalid(
                path, str(value), "a DNS server's entry maps names to records, e.g. {intranet.corp.example: "
                "{A: [10.150.0.20]}}")])
        own = {str(n): _records(scenario, f"{path}[{n}]", str(n), v) for n, v in value.items()}
        servers[str(key)] = Upstream(own, name=f"DNS server {key}")
    return Upstream(public, name="the outside world (spec.upstreamDNS)"), servers


def _records(scenario: str, path: str, name: str, value: Any) -> list[tuple[str, str]]:
    errs = [FieldError.invalid(path, name, "must be a valid DNS name")] if _bad_name(name) else []
    if not isinstance(value, Mapping):
        errs.append(FieldError.invalid(path, str(value), "must map record types to values, e.g. {A: [192.0.2.1]}"))
        raise InvalidObject("Scenario", scenario, errs)
    out: list[tuple[str, str]] = []
    for rtype, data in value.items():
        rtype_u = str(rtype).upper()
        if rtype_u not in _RECORD_TYPES:
            errs.append(FieldError.not_supported(f"{path}.{rtype}", str(rtype), _RECORD_TYPES))
            continue
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            text = str(item)
            if rtype_u in ("A", "AAAA"):
                try:
                    ip = ipaddress.ip_address(text)
                except ValueError:
                    ip = None
                if ip is None or ip.version != (4 if rtype_u == "A" else 6):
                    errs.append(FieldError.invalid(f"{path}.{rtype}[{i}]", text,
                                                   f"must be a valid IPv{4 if rtype_u == 'A' else 6} address"))
                    continue
            out.append((rtype_u, text))
    if errs:
        raise InvalidObject("Scenario", scenario, errs)
    return out


def _bad_name(name: str) -> bool:
    try:
        validate_query_name(name)
    except UsageError:
        return True
    return False


def dns_server_pods(cluster: Cluster) -> list[Pod]:
    """The pods that answer for kube-dns: its ready endpoints (the CoreDNS pods), in slice order."""
    pods: list[Pod] = []
    for eps in cluster.endpointslices:
        if f"{eps.namespace}/{eps.service_name}" != cluster.config.dns_service:
            continue
        for e in eps.endpoints:
            ready = e.conditions.ready is None or e.conditions.ready
            if not ready or e.target_ref is None or e.target_ref.kind != "Pod":
                continue
            pod = cluster.pods.get(f"{e.target_ref.namespace or eps.namespace}/{e.target_ref.name}")
            if pod is not None and pod not in pods:
                pods.append(pod)
    return pods


# --- the pod's side ------------------------------------------------------------------------------------


def pod_dns(cluster: Cluster, pod: Pod) -> PodDNS:
    """The pod's resolver configuration as the kubelet writes it (InvalidObject for a bad dnsConfig)."""
    cfg = cluster.config
    dns_config = pod.dns_config
    if dns_config is not None and not isinstance(dns_config, Mapping):
        raise InvalidObject("Pod", pod.name, [FieldError.invalid("spec.dnsConfig", str(dns_config),
                                                                 "must be an object")])
    kube_dns = cluster.services.get(cluster.config.dns_service)
    cluster_dns_ips = [ip for ip in (kube_dns.cluster_ips if kube_dns else []) if ip and ip != "None"]
    return pod_resolv_conf(
        pod.namespace,
        pod.dns_policy,
        host_network=pod.host_network and not pod.own_node,
        dns_config=PodDNSConfig.from_dict(dns_config),
        cluster_domain=cfg.cluster_domain,
        cluster_dns=cluster_dns_ips or [str(cfg.dns_service_ip)],
        node_resolv_conf=KIND_NODE_RESOLV_CONF,
        pod_name=pod.name,
    )


def resolv_conf(cluster: Cluster, pod: str) -> str:
    """``cat /etc/resolv.conf`` in ``pod`` (``NS/NAME`` or ``pod/NS/NAME``).

    >>> import k8snetviz
    >>> print(resolv_conf(k8snetviz.load("dns"), "app/legacy"), end="")
    nameserver 172.18.0.1
    options ndots:0
    """
    return pod_dns(cluster, cluster.pod(pod)).resolv_conf.render()


def etc_hosts(cluster: Cluster, pod: Pod) -> dict[str, list[str]]:
    """The names the kubelet's ``/etc/hosts`` gives a pod: localhost, its own name, ``hostAliases``."""
    hosts: dict[str, list[str]] = {"localhost": ["127.0.0.1", "::1"]}
    if pod.host_network and not pod.own_node:
        return hosts  # the node's own /etc/hosts: nothing about the pod
    spec = pod.raw.get("spec") or {}
    if pod.ip is not None:
        hostname = (pod.hostname or pod.name)[:63]
        names = [hostname]
        if pod.subdomain:
            names.insert(0, f"{hostname}.{pod.subdomain}.{pod.namespace}.svc.{cluster.config.cluster_domain}")
        for n in names:
            hosts.setdefault(n.lower(), []).append(str(pod.ip))
    for alias in spec.get("hostAliases") or []:
        for n in alias.get("hostnames") or []:
            hosts.setdefault(str(n).lower(), []).append(str(alias.get("ip")))
    return hosts


# --- the question --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DNSResult(Shown):
    """A name resolved from a pod: the resolv.conf used, every query in order, the final answer.

    ``nameserver`` is the server the queries went to (None when none answered, or when /etc/hosts or
    a numeric address answered without a query); ``skipped`` says which nameservers did not answer.
    """

    pod: str
    name: str
    type: str
    pod_dns: PodDNS
    resolution: Resolution
    nameserver: str | None
    server: str
    skipped: tuple[str, ...] = ()
    lookup: Callable[[str, str], Answer] | None = field(default=None, compare=False, repr=False)

    # --- what the contract names -------------------------------------------------------------------
    @property
    def resolv_conf(self) -> str:
        """The pod's /etc/resolv.conf, as the file reads."""
        return self.pod_dns.resolv_conf.render()

    @property
    def queries(self) -> tuple[Query, ...]:
        return self.resolution.queries

    @property
    def answers(self) -> tuple[Record, ...]:
        """The records of the answer used (a CNAME chain, then the addresses)."""
        return self.resolution.records

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.resolution.addresses

    @property
    def ok(self) -> bool:
        return self.resolution.ok

    @property
    def error(self) -> str | None:
        """glibc's h_errno when the name did not resolve (HOST_NOT_FOUND, NO_DATA, TRY_AGAIN...)."""
        return self.resolution.error

    @property
    def final_name(self) -> str | None:
        """The name that answered: the search candidate, or the name itself."""
        return self.resolution.final_name

    @property
    def wasted_queries(self) -> int:
        """Queries sent before the one that answered (all of them when nothing answered)."""
        n = len(self.queries)
        return n - 1 if self.ok and n else n

    def to_dict(self) -> dict[str, Any]:
        d = self.resolution.to_dict()
        return {"resolv_conf": self.resolv_conf, "queries": d["queries"], "answers": d["answers"]}

    def last_answer(self) -> Answer | None:
        """The answer that was used, or the last one received."""
        if self.resolution.accepted:
            return self.resolution.accepted[-1]
        return self.queries[-1].answer if self.queries else None


def is_numeric(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _check_type(qtype: str) -> str:
    t = (qtype or "").strip().upper()
    if t not in QUERY_TYPES:
        raise UsageError(f'invalid query type "{qtype}": use one of {", ".join(QUERY_TYPES)}')
    return t


class _First(Exception):
    def __init__(self, name: str, qtype: str) -> None:
        super().__init__(name)
        self.name, self.qtype = name, qtype


def _run(text: str, pod_dns_: PodDNS, lookup: Callable[[str, str], Answer], qtype: str,
         hosts: Mapping[str, Sequence[str]]) -> Resolution:
    rc = pod_dns_.resolv_conf
    if qtype == "A":
        return search(text, rc, lookup, family="INET", etc_hosts=hosts)
    if qtype == "AAAA":
        return search(text, rc, lookup, family="INET6", etc_hosts=hosts)
    return search(text, rc, lookup, qtype=qtype)


def resolve(cluster: Cluster, pod: str, name: str, qtype: str = "A") -> DNSResult:
    """Resolve ``name`` from ``pod`` (``NS/NAME`` or ``pod/NS/NAME``) as its resolver would.

    Bad input raises: an unknown pod (NotFound), a malformed name or type (UsageError), a pod whose
    ``dnsPolicy``/``dnsConfig`` the API server would refuse (InvalidObject naming the pod).
    """
    the_pod = cluster.pod(pod)
    qtype = _check_type(qtype)
    text = validate_query_name(name)
    config = pod_dns(cluster, the_pod)
    if qtype == "PTR" and is_numeric(text):
        text = reverse_name(text)
    dns = cluster_dns(cluster)
    hosts = etc_hosts(cluster, the_pod)
    skipped: list[str] = []
    chosen: NameServer | None = None
    servers = config.resolv_conf.nameservers or ("127.0.0.1",)  # glibc's default with none listed
    for address in servers:
        ns = dns.nameserver(address)
        if ns.lookup is not None:
            lost = dns.unreachable(cluster, the_pod.key, address)
            if lost is None:
                chosen = ns
                break
            skipped.append(f"nameserver {address}: {ns.description}, but {lost}")
            continue
        skipped.append(f"nameserver {address}: {ns.description}")
    if chosen is None or chosen.lookup is None:
        resolution = _unanswered(text, config, qtype, hosts)
        return DNSResult(the_pod.key, name.strip(), qtype, config, resolution, None, "no server answered",
                         tuple(skipped))
    resolution = _run(text, config, chosen.lookup, qtype, hosts)
    used = chosen.address if resolution.queries else None
    return DNSResult(the_pod.key, name.strip(), qtype, config, resolution, used, chosen.description,
                     tuple(skipped), chosen.lookup)


def _unanswered(text: str, config: PodDNS, qtype: str, hosts: Mapping[str, Sequence[str]]) -> Resolution:
    # glibc gives up after the first candidate: a timeout is TRY_AGAIN without a SERVFAIL rcode.
    def first(n: str, t: str) -> Answer:
        raise _First(n, t)

    try:
        return _run(text, config, first, qtype, hosts)
    except _First as f:
        silent = Answer(f.name, f.qtype, TIMEOUT, source="no server answered")
        return Resolution(text, (Query(f.name, f.qtype, silent),), (), "TRY_AGAIN")


# --- the plan the packet walk follows ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedQuery:
    """One query on the wire: the name, type, the rcode it got and the addresses in the answer."""

    name: str
    type: str
    rcode: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueryPlan:
    """The DNS packets a lookup sends: each query goes from the pod to ``nameserver:port/protocol``.

    ``nameserver`` is the address in the pod's resolv.conf (the kube-dns ClusterIP for ClusterFirst
    pods, which kube-proxy DNATs to a CoreDNS pod; the reply is un-NATed by conntrack). It is None
    when no query is sent (``/etc/hosts`` or a numeric address answered) or no server answers.
    ``addresses`` is what the lookup finally returns; empty when the name did not resolve.
    """

    pod: str
    name: str
    nameserver: str | None
    port: int
    protocol: str
    server: str
    queries: tuple[PlannedQuery, ...]
    addresses: tuple[str, ...]
    source: str = "dns"
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"pod": self.pod, "name": self.name, "nameserver": self.nameserver, "port": self.port,
                "protocol": self.protocol, "server": self.server, "source": self.source, "error": self.error,
                "queries": [{"name": q.name, "type": q.type, "rcode": q.rcode, "addresses": list(q.addresses)}
                            for q in self.queries],
                "addresses": list(self.addresses)}


def query_plan(cluster: Cluster, pod: str, name: str, qtype: str = "A") -> QueryPlan:
    """The lookup of ``name`` from ``pod`` as packets: nameserver, UDP 53, each query in order.

    >>> import k8snetviz
    >>> plan = query_plan(k8snetviz.load("dns"), "app/legacy", "web.app.svc.cluster.local")
    >>> plan.nameserver, [(q.name, q.rcode) for q in plan.queries], plan.addresses
    ('172.18.0.1', [('web.app.svc.cluster.local.', 'NXDOMAIN')], ())
    """
    r = resolve(cluster, pod, name, qtype)
    queries = tuple(PlannedQuery(q.name, q.type, q.rcode,
                                 tuple(x.data for x in q.answer.records if x.type in ("A", "AAAA")))
                    for q in r.queries)
    target = r.nameserver
    if target is None and r.queries:  # nothing answered: the packets still go to the first nameserver
        target = (r.pod_dns.resolv_conf.nameservers or ("127.0.0.1",))[0]
    return QueryPlan(r.pod, r.name, target, DNS_PORT, "UDP", r.server, queries, r.addresses,
                     r.resolution.source, r.error)

