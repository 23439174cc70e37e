"""kube-proxy in iptables mode, for one node: services and endpoints in, what it feeds ``iptables-restore`` out.

The chains, their names, the rule order and the comments are those current kube-proxy writes
(``pkg/proxy/iptables/proxier.go``): ``KUBE-SERVICES`` and ``KUBE-NODEPORTS`` dispatch to one
``KUBE-SVC-<hash>`` chain per service port (``KUBE-SVL-<hash>`` for the node-local endpoints of a
``Local`` traffic policy, ``KUBE-EXT-<hash>`` for external destinations, ``KUBE-FW-<hash>`` for
``loadBalancerSourceRanges``), which picks a ``KUBE-SEP-<hash>`` chain per endpoint with
``-m statistic --mode random --probability`` 1/n, 1/(n-1), ...; ``KUBE-MARK-MASQ`` marks packets
with 0x4000 and ``KUBE-POSTROUTING`` masquerades them. In the filter table a service without
endpoints is REJECTed, and a ``Local`` service on a node without local endpoints DROPs external
traffic.

>>> svc = ServicePort("default", "web", 80, "10.96.0.20", port_name="http")
>>> rules = Proxier("kind-worker", "172.18.0.3", "10.244.0.0/16").sync(
...     [(svc, [Endpoint("10.244.1.5", 8080, "kind-worker", slice="web-abcde")])])
>>> table, chain, args, owner = next(r for r in rules.rules if r[1] == "KUBE-SERVICES" and r[0] == "nat")
>>> " ".join(args)  # doctest: +NORMALIZE_WHITESPACE
'-m comment --comment default/web:http cluster IP -m tcp -p tcp -d 10.96.0.20 --dport 80
 -j KUBE-SVC-CDGGSHYLG3RE2FKL'
>>> owner.object
'Service default/web'

The kernel (:mod:`k8snetviz.kernel.netfilter`) turns this into what ``iptables-save`` prints, since
that is what a learner sees on a node; every rule keeps the object it was written for.

Modelled: kube-proxy v1.33 (kind v0.29's node image) as it runs on a kind node: IPv4, ``--cluster-cidr``
given (local traffic detected by ``-s <cluster CIDR>``), ``nodePortAddresses`` unset (NodePorts on every
local address), ``localhostNodePorts`` on (so ``net.ipv4.conf.all.route_localnet = 1`` and the
``-d 127.0.0.0/8`` KUBE-NODEPORTS rules), ``nf_conntrack_tcp_be_liberal`` off, no topology hints.
nfacct counters (``-m nfacct``) are written when the kernel has nfnetlink_acct (``nfacct=True``, as on
kind's usual Debian/Ubuntu hosts); :class:`Proxier`'s default is a kernel without it.
"""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from k8snetviz.agents.writes import IptablesRestore, NfacctAdd, Owner, Sysctl, Write

__all__ = [
    "LOCALHOST_NODEPORTS_COUNTER",
    "INVALID_DROPPED_COUNTER",
    "ServicePort",
    "Endpoint",
    "Proxier",
    "LARGE_CLUSTER_ENDPOINTS_THRESHOLD",
    "port_proto_hash",
    "service_port_chain",
    "service_local_chain",
    "service_external_chain",
    "service_firewall_chain",
    "endpoint_chain",
    "probability",
]

# kube-proxy's nfacct counters (pkg/proxy/metrics: LocalhostNodePortAcceptedNFAcctCounter,
# IPTablesCTStateInvalidDroppedNFAcctCounter).
LOCALHOST_NODEPORTS_COUNTER = "localhost_nps_accepted_pkts"
INVALID_DROPPED_COUNTER = "ct_state_invalid_dropped_pkts"

# kube-proxy drops the per-endpoint comments above this many endpoints ("large cluster mode").
LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000

KUBE_SERVICES = "KUBE-SERVICES"
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
KUBE_NODEPORTS = "KUBE-NODEPORTS"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBE_PROXY_CANARY = "KUBE-PROXY-CANARY"
KUBE_FIREWALL = "KUBE-FIREWALL"

_CT_NEW = ("-m", "conntrack", "--ctstate", "NEW")
# (table, chain kube-proxy owns, built-in chain that jumps to it, comment, extra match) in the order
# kube-proxy ensures them; each is *prepended*, so a built-in chain ends up holding them reversed.
_JUMPS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("filter", KUBE_EXTERNAL_SERVICES, "INPUT", "kubernetes externally-visible service portals", _CT_NEW),
    ("filter", KUBE_EXTERNAL_SERVICES, "FORWARD", "kubernetes externally-visible service portals", _CT_NEW),
    ("filter", KUBE_NODEPORTS, "INPUT", "kubernetes health check service ports", ()),
    ("filter", KUBE_SERVICES, "FORWARD", "kubernetes service portals", _CT_NEW),
    ("filter", KUBE_SERVICES, "OUTPUT", "kubernetes service portals", _CT_NEW),
    ("filter", KUBE_FORWARD, "FORWARD", "kubernetes forwarding rules", ()),
    ("filter", KUBE_PROXY_FIREWALL, "INPUT", "kubernetes load balancer firewall", _CT_NEW),
    ("filter", KUBE_PROXY_FIREWALL, "OUTPUT", "kubernetes load balancer firewall", _CT_NEW),
    ("filter", KUBE_PROXY_FIREWALL, "FORWARD", "kubernetes load balancer firewall", _CT_NEW),
    ("nat", KUBE_SERVICES, "OUTPUT", "kubernetes service portals", ()),
    ("nat", KUBE_SERVICES, "PREROUTING", "kubernetes service portals", ()),
    ("nat", KUBE_POSTROUTING, "POSTROUTING", "kubernetes postrouting rules", ()),
)


# ---------------------------------------------------------------------------------------------
# Chain names


def port_proto_hash(service_port_name: str, protocol: str) -> str:
    """The 16 characters kube-proxy puts in a service chain's name: base32(sha256(name + proto)).

    >>> port_proto_hash("ns1/svc1:p80", "tcp")
    'XPGD46QRK7WJZT7O'
    """
    return _hash16(service_port_name + protocol)


def _hash16(text: str) -> str:
    # Go's base32 of the SHA-256 digest, first 16 characters: those encode the digest's first 10 bytes
    # (5 bits a character), so only those are encoded (a sync at kube-proxy's scale makes 110,000 names).
    return base64.b32encode(hashlib.sha256(text.encode()).digest()[:10]).decode()


def service_port_chain(service_port_name: str, protocol: str) -> str:
    """``KUBE-SVC-<hash>``: the endpoints used with the ``Cluster`` traffic policy."""
    return "KUBE-SVC-" + port_proto_hash(service_port_name, protocol)


def service_local_chain(service_port_name: str, protocol: str) -> str:
    """``KUBE-SVL-<hash>``: this node's endpoints, for a ``Local`` traffic policy."""
    return "KUBE-SVL-" + port_proto_hash(service_port_name, protocol)


def service_external_chain(service_port_name: str, protocol: str) -> str:
    """``KUBE-EXT-<hash>``: traffic to NodePorts, external IPs and load-balancer IPs."""
    return "KUBE-EXT-" + port_proto_hash(service_port_name, protocol)


def service_firewall_chain(service_port_name: str, protocol: str) -> str:
    """``KUBE-FW-<hash>``: the ``loadBalancerSourceRanges`` filter."""
    return "KUBE-FW-" + port_proto_hash(service_port_name, protocol)


def endpoint_chain(service_port_name: str, protocol: str, endpoint: str) -> str:
    """``KUBE-SEP-<hash>`` for one endpoint (``IP:PORT``) of a service port.

    >>> endpoint_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80")
    'KUBE-SEP-SXIVWICOYRO3J4NJ'
    """
    return "KUBE-SEP-" + _hash16(service_port_name + protocol + endpoint)


def probability(n: int) -> str:
    """The probability kube-proxy writes for the first of ``n`` remaining endpoints (``%0.10f``).

    >>> probability(3)
    '0.3333333333'
    """
    return f"{1.0 / n:0.10f}"


# ---------------------------------------------------------------------------------------------
# Input


@dataclass(frozen=True)
class ServicePort:
    """One port of a Service, with what kube-proxy reads from the Service for it.

    ``cluster_ip`` None (or ``"None"``: headless) means kube-proxy has nothing to do for it.
    ``load_balancer_ips`` are ``status.loadBalancer.ingress[].ip``.
    """

    namespace: str
    name: str
    port: int
    cluster_ip: str | None
    port_name: str = ""
    protocol: str = "TCP"
    type: str = "ClusterIP"
    node_port: int = 0
    load_balancer_ips: tuple[str, ...] = ()
    load_balancer_source_ranges: tuple[str, ...] = ()
    external_ips: tuple[str, ...] = ()
    external_traffic_policy: str = "Cluster"
    internal_traffic_policy: str = "Cluster"
    session_affinity: str = "None"
    session_affinity_timeout: int = 10800
    health_check_node_port: int = 0

    @property
    def service_port_name(self) -> str:
        """``namespace/name:portname`` (``namespace/name`` for an unnamed port), as kube-proxy
        prints it in comments and hashes it into chain names."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def proto(self) -> str:
        return self.protocol.lower()

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port or self.load_balancer_ips or self.external_ips)

    @property
    def external_policy_local(self) -> bool:
        return self.externally_accessible and self.external_traffic_policy == "Local"

    @property
    def internal_policy_local(self) -> bool:
        return self.internal_traffic_policy == "Local"

    @property
    def uses_cluster_endpoints(self) -> bool:
        # pkg/proxy/serviceport.go UsesClusterEndpoints: "if the internal traffic policy is Cluster, or if it accepts
        # external traffic at all. (Even if the external traffic policy is Local, we need Cluster endpoints to
        # implement short circuiting.)"
        return not self.internal_policy_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_policy_local or self.external_policy_local

    @property
    def proxied(self) -> bool:
        return self.cluster_ip not in (None, "", "None")


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a service port, from its EndpointSlice: address, port, node, conditions."""

    ip: str
    port: int
    node_name: str | None = None
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    slice: str = ""  # the EndpointSlice that lists it (for provenance)

    @functools.cached_property
    def text(self) -> str:
        """``IP:PORT``, as kube-proxy names the endpoint (made once: a sync names each endpoint often)."""
        return f"{self.ip}:{self.port}"

    def __str__(self) -> str:
        return self.text


def _categorize(
    endpoints: Sequence[Endpoint], svc: ServicePort, node: str
) -> tuple[list[Endpoint], list[Endpoint], list[Endpoint], bool]:
    """kube-proxy's CategorizeEndpoints (without topology hints): the endpoints for the Cluster
    policy, for the Local policy, all that this node may reach, and whether any endpoint is
    usable anywhere. Ready endpoints are used; serving-terminating ones only when no ready one
    is left (separately for Cluster and Local)."""
    cluster: list[Endpoint] = []
    local: list[Endpoint] = []
    has_any = False
    if svc.uses_cluster_endpoints:
        cluster = [ep for ep in endpoints if ep.ready]
        if not cluster:
            cluster = [ep for ep in endpoints if ep.serving and ep.terminating]
        has_any = bool(cluster)
    if not svc.uses_local_endpoints:
        return cluster, local, cluster, has_any
    local_ready = local_terminating = False
    for ep in endpoints:
        if ep.ready:
            has_any = True
            local_ready = local_ready or ep.node_name == node
        elif ep.serving and ep.terminating:
            has_any = True
            local_terminating = local_terminating or ep.node_name == node
    if local_ready:
        local = [ep for ep in endpoints if ep.node_name == node and ep.ready]
    elif local_terminating:
        local = [ep for ep in endpoints if ep.node_name == node and ep.serving and ep.terminating]
    if not svc.uses_cluster_endpoints:
        return cluster, local, local, has_any
    if not local_terminating or local_ready:
        # local holds only ready endpoints, all of them in cluster already.
        return cluster, local, cluster, has_any
    seen = {str(ep) for ep in cluster}
    return cluster, local, cluster + [ep for ep in local if str(ep) not in seen], has_any


# ---------------------------------------------------------------------------------------------
# The proxier


@dataclass(frozen=True)
class Proxier:
    """kube-proxy (iptables mode) on one node.

    ``cluster_cidr`` is the pod subnet (``--cluster-cidr``): packets from outside it to a cluster
    IP are masqueraded. ``node_ip`` matters for ``loadBalancerSourceRanges`` that include the node.
    ``nfacct``: the kernel has nfnetlink_acct, so kube-proxy's two counters exist and its rules count
    into them (the INVALID drop, and a ``-d 127.0.0.0/8`` KUBE-NODEPORTS rule per NodePort before
    the general one). ``mark`` overrides the mark's text (proxier_test.go's fake proxier uses "0x4000").
    """

    node_name: str
    node_ip: str | None = None
    cluster_cidr: str | None = "10.244.0.0/16"
    masquerade_all: bool = False
    masquerade_bit: int = 14
    random_fully: bool = True
    localhost_nodeports: bool = True
    conntrack_tcp_be_liberal: bool = False
    canary: bool = True
    nfacct: bool = False
    mark: str | None = None

    @property
    def masquerade_mark(self) -> str:
        """The mark as kube-proxy formats it (Go's ``%#08x``: eight digits after ``0x``)."""
        return self.mark or f"0x{1 << self.masquerade_bit:08x}"

    def setup(self, netns: str = "") -> list[Write]:
        """What kube-proxy does to the node before its first sync, besides its rules: the nfacct
        counters it ensures, and ``route_localnet`` for localhost NodePorts (proxier.go's NewProxier:
        "Setting route_localnet=1 to allow node-ports on localhost")."""
        out: list[Write] = []
        if self.localhost_nodeports:
            out.append(Sysctl(netns, "net.ipv4.conf.all.route_localnet", "1", Owner(
                "kube-proxy", None, None, (), "localhost NodePorts (--iptables-localhost-nodeports, on by default): "
                "a packet from 127.0.0.1 may be routed out of lo once DNAT sends it to a pod")))
        if self.nfacct:
            for name in (INVALID_DROPPED_COUNTER, LOCALHOST_NODEPORTS_COUNTER):
                out.append(NfacctAdd(netns, name, Owner("kube-proxy", why=f"the nfacct counter {name}, read for "
                                                        "kube-proxy's metrics")))
        return out

    def sync(self, services: Iterable[tuple[ServicePort, Sequence[Endpoint]]]) -> IptablesRestore:
        """The node's iptables rules for ``services`` (each with its endpoints), as one sync writes
        them, plus the jumps from the built-in chains kube-proxy ensures.

        Services are written in the order given; endpoints of a service port are sorted as
        kube-proxy's EndpointSlice cache sorts them (``byEndpoint``: ``"IP:port"`` compared as text, so
        10.244.1.10:80 comes before 10.244.1.2:80).
        """
        # A sync creates a few hundred thousand long-lived objects at scale; the cyclic collector
        # would re-scan them over and over while they are being made.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._sync(services)
        finally:
            if collecting:
                gc.enable()

    def _sync(self, services: Iterable[tuple[ServicePort, Sequence[Endpoint]]]) -> IptablesRestore:
        prepared = []
        total_endpoints = 0
        for svc, eps in services:
            if not svc.proxied:
                continue
            unique = {str(ep): ep for ep in eps}
            ordered = sorted(unique.values(), key=str)  # byEndpoint: "IP:port" as text
            total_endpoints += len(ordered)
            prepared.append((svc, ordered))
        large = total_endpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD

        # What one sync feeds iptables-restore; kube-proxy's own chains are owned by kube-proxy itself.
        rs = IptablesRestore(tables=("mangle", "filter", "nat") if self.canary else ("filter", "nat"),
                             owner=Owner("kube-proxy", why="kube-proxy's own chains, the same for every Service"))
        mark = self.masquerade_mark
        for chain in (KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS,
                      KUBE_PROXY_FIREWALL):
            rs.new_chain("filter", chain)
        for chain in (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ):
            rs.new_chain("nat", chain)
        if self.canary:
            for table in ("mangle", "nat", "filter"):
                rs.new_chain(table, KUBE_PROXY_CANARY)
        if self.localhost_nodeports:
            rs.new_chain("filter", KUBE_FIREWALL)
        self._jumps(rs)

        nat, flt = "nat", "filter"
        rs.append(nat, KUBE_POSTROUTING, ["-m", "mark", "!", "--mark", f"{mark}/{mark}", "-j", "RETURN"])
        rs.append(nat, KUBE_POSTROUTING, ["-j", "MARK", "--xor-mark", mark])
        masq = ["-m", "comment", "--comment", "kubernetes service traffic requiring SNAT", "-j", "MASQUERADE"]
        rs.append(nat, KUBE_POSTROUTING, masq + (["--random-fully"] if self.random_fully else []))
        rs.append(nat, KUBE_MARK_MASQ, ["-j", "MARK", "--or-mark", mark])
        if self.localhost_nodeports:
            # kube-proxy's copy of kubelet's anti-martian rule (route_localnet is on for localhost NodePorts).
            rs.append(flt, KUBE_FIREWALL, [
                "-m", "comment", "--comment", "block incoming localnet connections",
                "-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8",
                "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP",
            ])

        for svc, eps in prepared:
            self._service(rs, svc, eps, large)

        # The tail call to KUBE-NODEPORTS must come after every service rule.
        nodeports = ["-m", "comment", "--comment",
                     "kubernetes service nodeports; NOTE: this must be the last rule in this chain",
                     "-m", "addrtype", "--dst-type", "LOCAL"]
        if not self.localhost_nodeports:
            nodeports += ["!", "-d", "127.0.0.0/8"]
        rs.append(nat, KUBE_SERVICES, nodeports + ["-j", KUBE_NODEPORTS])

        if not self.conntrack_tcp_be_liberal:
            count = ["-m", "nfacct", "--nfacct-name", INVALID_DROPPED_COUNTER] if self.nfacct else []
            rs.append(flt, KUBE_FORWARD, ["-m", "conntrack", "--ctstate", "INVALID", *count, "-j", "DROP"])
        rs.append(flt, KUBE_FORWARD, [
            "-m", "comment", "--comment", "kubernetes forwarding rules",
            "-m", "mark", "--mark", f"{mark}/{mark}", "-j", "ACCEPT",
        ])
        rs.append(flt, KUBE_FORWARD, [
            "-m", "comment", "--comment", "kubernetes forwarding conntrack rule",
            "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT",
        ])
        return rs

    def _jumps(self, rs: IptablesRestore) -> None:
        # EnsureRule(Prepend) in list order: the last one ensured ends up first.
        for table, target, builtin, comment, extra in reversed(_JUMPS):
            rs.append(table, builtin, [*extra, "-m", "comment", "--comment", comment, "-j", target])
        if self.localhost_nodeports:
            # kubelet put these jumps in place before kube-proxy started, so they stay last.
            for builtin in ("INPUT", "OUTPUT"):
                rs.append("filter", builtin, ["-j", KUBE_FIREWALL])

    def _service(self, rs: IptablesRestore, svc: ServicePort, eps: list[Endpoint], large: bool) -> None:
        nat, flt = "nat", "filter"
        proto = svc.proto
        name = svc.service_port_name
        add = rs.writer(Owner("kube-proxy", None, f"Service {svc.namespace}/{svc.name}", (),
                              f"the service port {name} ({svc.protocol} {svc.port})"))
        cluster_eps, local_eps, reachable, has_endpoints = _categorize(eps, svc, self.node_name)
        svc_chain = service_port_chain(name, proto)
        svl_chain = service_local_chain(name, proto)
        ext_chain = service_external_chain(name, proto)
        fw_chain = service_firewall_chain(name, proto)
        uses_cluster_chain = bool(cluster_eps) and svc.uses_cluster_endpoints
        uses_local_chain = bool(local_eps) and svc.uses_local_endpoints

        internal_chain = svc_chain
        has_internal = has_endpoints
        if svc.internal_policy_local:
            internal_chain = svl_chain
            has_internal = has_internal and bool(local_eps)
        external_policy_chain = svc_chain
        has_external = has_endpoints
        if svc.external_policy_local:
            external_policy_chain = svl_chain
            has_external = has_external and bool(local_eps)
        uses_ext_chain = has_endpoints and svc.externally_accessible
        uses_fw_chain = has_endpoints and bool(svc.load_balancer_ips and svc.load_balancer_source_ranges)
        lb_chain = fw_chain if uses_fw_chain else ext_chain

        internal_filter = external_filter = ""
        if not has_endpoints:
            internal_filter = external_filter = "REJECT"
            internal_comment = external_comment = f"{name} has no endpoints"
        else:
            internal_comment = external_comment = f"{name} has no local endpoints"
            if not has_internal:
                internal_filter = "DROP"
            if not has_external:
                external_filter = "DROP"

        # Chains first: iptables-restore needs a chain to exist before a rule jumps to it.
        sep_chain = {str(ep): endpoint_chain(name, proto, str(ep)) for ep in reachable}
        for used, chain in ((uses_ext_chain, ext_chain), (uses_fw_chain, fw_chain),
                            (uses_cluster_chain, svc_chain), (uses_local_chain, svl_chain)):
            if used:
                rs.new_chain(nat, chain)
        for chain in sep_chain.values():
            rs.new_chain(nat, chain)

        pm = ["-m", proto, "-p", proto]
        port = str(svc.port)
        cluster_ip_match = ["-m", "comment", "--comment", f"{name} cluster IP", *pm,
                            "-d", str(svc.cluster_ip), "--dport", port]
        if has_internal:
            add(nat, KUBE_SERVICES, [*cluster_ip_match, "-j", internal_chain])
        else:
            add(flt, KUBE_SERVICES, ["-m", "comment", "--comment", internal_comment, *pm,
                                           "-d", str(svc.cluster_ip), "--dport", port, "-j", internal_filter])

        for ip in svc.external_ips:
            if has_endpoints:
                add(nat, KUBE_SERVICES, ["-m", "comment", "--comment", f"{name} external IP", *pm,
                                               "-d", ip, "--dport", port, "-j", ext_chain])
            if not has_external:
                add(flt, KUBE_EXTERNAL_SERVICES, ["-m", "comment", "--comment", external_comment, *pm,
                                                        "-d", ip, "--dport", port, "-j", external_filter])

        for ip in svc.load_balancer_ips:
            if has_endpoints:
                add(nat, KUBE_SERVICES, ["-m", "comment", "--comment", f"{name} loadbalancer IP", *pm,
                                               "-d", ip, "--dport", port, "-j", lb_chain])
            if uses_fw_chain:
                add(flt, KUBE_PROXY_FIREWALL, [
                    "-m", "comment", "--comment", f"{name} traffic not accepted by {fw_chain}", *pm,
                    "-d", ip, "--dport", port, "-j", "DROP"])
        if not has_external:
            for ip in svc.load_balancer_ips:
                add(flt, KUBE_EXTERNAL_SERVICES, ["-m", "comment", "--comment", external_comment, *pm,
                                                        "-d", ip, "--dport", port, "-j", external_filter])

        if svc.node_port:
            node_port = str(svc.node_port)
            if has_endpoints:
                if self.localhost_nodeports and self.nfacct:
                    # Only there to count localhost NodePort packets: 127.0.0.1 is --dst-type LOCAL too,
                    # so the general rule below would take them anyway.
                    add(nat, KUBE_NODEPORTS, ["-m", "comment", "--comment", name, *pm, "-d", "127.0.0.0/8",
                                              "--dport", node_port, "-m", "nfacct", "--nfacct-name",
                                              LOCALHOST_NODEPORTS_COUNTER, "-j", ext_chain])
                add(nat, KUBE_NODEPORTS, ["-m", "comment", "--comment", name, *pm,
                                                "--dport", node_port, "-j", ext_chain])
            if not has_external:
                add(flt, KUBE_EXTERNAL_SERVICES, [
                    "-m", "comment", "--comment", external_comment, "-m", "addrtype", "--dst-type", "LOCAL",
                    *pm, "--dport", node_port, "-j", external_filter])

        if svc.health_check_node_port and svc.type == "LoadBalancer" and svc.external_policy_local:
            # Only a Local LoadBalancer service has a health check port (NeedsHealthCheck).
            add(flt, KUBE_NODEPORTS, [
                "-m", "comment", "--comment", f"{name} health check node port", "-m", "tcp", "-p", "tcp",
                "--dport", str(svc.health_check_node_port), "-j", "ACCEPT"])

        if has_internal:
            if self.masquerade_all:
                add(nat, internal_chain, [*cluster_ip_match, "-j", KUBE_MARK_MASQ])
            elif self.cluster_cidr:
                # Off-cluster traffic to a cluster IP may have been routed here from elsewhere and
                # may leave for another node: masquerade it so the reply comes back through us.
                add(nat, internal_chain, [*cluster_ip_match, "!", "-s", self.cluster_cidr,
                                                "-j", KUBE_MARK_MASQ])

        if uses_ext_chain:
            if not svc.external_policy_local:
                add(nat, ext_chain, ["-m", "comment", "--comment",
                                           f"masquerade traffic for {name} external destinations",
                                           "-j", KUBE_MARK_MASQ])
            else:
                if self.cluster_cidr:
                    # Pods reaching an external address are treated as if they went out and back in.
                    add(nat, ext_chain, ["-m", "comment", "--comment",
                                               f"pod traffic for {name} external destinations",
                                               "-s", self.cluster_cidr, "-j", svc_chain])
                add(nat, ext_chain, ["-m", "comment", "--comment",
                                           f"masquerade LOCAL traffic for {name} external destinations",
                                           "-m", "addrtype", "--src-type", "LOCAL", "-j", KUBE_MARK_MASQ])
                add(nat, ext_chain, ["-m", "comment", "--comment",
                                           f"route LOCAL traffic for {name} external destinations",
                                           "-m", "addrtype", "--src-type", "LOCAL", "-j", svc_chain])
            if has_external:
                add(nat, ext_chain, ["-j", external_policy_chain])

        if uses_fw_chain:
            fw_comment = ["-m", "comment", "--comment", f"{name} loadbalancer IP"]
            allow_from_node = False
            node_ip = IPv4Address(self.node_ip) if self.node_ip else None
            for cidr in svc.load_balancer_source_ranges:
                cidr = cidr.strip()
                add(nat, fw_chain, [*fw_comment, "-s", cidr, "-j", ext_chain])
                if node_ip is not None and node_ip in IPv4Network(cidr, strict=False):
                    allow_from_node = True
            if allow_from_node:
                # A VIP-style LB address is local here: a request from the node loops back with
                # the VIP as its source.
                for ip in svc.load_balancer_ips:
                    add(nat, fw_chain, [*fw_comment, "-s", ip, "-j", ext_chain])
            add(nat, fw_chain, ["-m", "comment", "--comment",
                                      f"other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL"])

        endpoint_owners: dict[str, Owner] = {}

        def owners(ep: Endpoint) -> Owner:
            got = endpoint_owners.get(ep.text)
            if got is None:
                got = endpoint_owners[ep.text] = self.endpoint_owner(svc, ep)
            return got

        if uses_cluster_chain:
            self._to_endpoints(rs, svc, svc_chain, cluster_eps, sep_chain, large, owners)
        if uses_local_chain:
            self._to_endpoints(rs, svc, svl_chain, local_eps, sep_chain, large, owners)

        for ep in reachable:
            chain = sep_chain[str(ep)]
            add = rs.writer(owners(ep))
            head = ["-m", "comment", "--comment", name] if not large else []
            # Hairpin: an endpoint reaching itself through the service is masqueraded, or it
            # would answer itself directly and the client would drop the reply.
            add(nat, chain, [*head, "-s", ep.ip, "-j", KUBE_MARK_MASQ])
            affinity = (
                ["-m", "recent", "--name", chain, "--set"] if svc.session_affinity == "ClientIP" else []
            )
            add(nat, chain, [*head, *affinity, *pm, "-j", "DNAT", "--to-destination", str(ep)])

    def _to_endpoints(
        self, rs: IptablesRestore, svc: ServicePort, chain: str, eps: list[Endpoint], sep_chain: dict[str, str],
        large: bool, owners: Callable[[Endpoint], Owner],
    ) -> None:
        name = svc.service_port_name

        def head(ep: Endpoint) -> list[str]:
            return [] if large else ["-m", "comment", "--comment", f"{name} -> {ep}"]

        if svc.session_affinity == "ClientIP":
            for ep in eps:
                sep = sep_chain[str(ep)]
                rs.append("nat", chain, [*head(ep), "-m", "recent", "--name", sep, "--rcheck",
                                         "--seconds", str(svc.session_affinity_timeout), "--reap", "-j", sep],
                          owners(ep))
        n = len(eps)
        for i, ep in enumerate(eps):
            stat = []
            if i < n - 1:  # the last endpoint takes whatever is left
                stat = ["-m", "statistic", "--mode", "random", "--probability", probability(n - i)]
            rs.append("nat", chain, [*head(ep), *stat, "-j", sep_chain[str(ep)]], owners(ep))

    @staticmethod
    def endpoint_owner(svc: ServicePort, ep: Endpoint) -> Owner:
        """A rule for one endpoint: written for the EndpointSlice that lists it, because of the Service."""
        service = f"Service {svc.namespace}/{svc.name}"
        if ep.slice:
            return Owner("kube-proxy", None, f"EndpointSlice {svc.namespace}/{ep.slice}", (service,),
                         f"endpoint {ep} of {svc.service_port_name}")
        return Owner("kube-proxy", None, service, (), f"endpoint {ep} of {svc.service_port_name}")
