"""kube-proxy in nftables mode, for one node: services and endpoints in, what it feeds ``nft -f`` out.

kube-proxy keeps everything in one table, ``ip kube-proxy`` (``pkg/proxy/nftables/proxier.go``, the layout of
v1.33, when the mode went GA): base chains at the hooks (``filter-prerouting-pre-dnat`` at priority -110 for
``loadBalancerSourceRanges``, ``nat-prerouting``/``nat-output`` at -100 jumping to ``services``,
``nat-postrouting`` at 100 to ``masquerading``, filter chains at 0 that drop or reject what has no
endpoints); verdict maps keyed by ``ip daddr . meta l4proto . th dport`` (``service-ips``,
``no-endpoint-services``, ``firewall-ips``) and by ``meta l4proto . th dport`` (``service-nodeports``,
``no-endpoint-nodeports``, for the addresses in ``nodeport-ips``); per service port the chains
``service-<hash>-NS/NAME/PROTO/PORT`` (``local-`` for a Local traffic policy, ``external-``, ``firewall-``)
and one ``endpoint-<hash>-...__IP/PORT`` chain per endpoint, chosen by ``numgen random mod N vmap``.

>>> svc = ServicePort("default", "web", 80, "10.96.0.20", port_name="http")
>>> tx = NFTablesProxier("kind-worker", "172.18.0.3", "10.244.0.0/16", ("10.96.0.0/16",)).sync(
...     [(svc, [Endpoint("10.244.1.5", 8080, "kind-worker", slice="web-abcde")])])
>>> [c for c, _ in tx.commands if "service-ips {" in c and "add element" in c]
['add element ip kube-proxy service-ips { 10.96.0.20 . tcp . 80 : goto service-SUSTUHLJ-default/web/tcp/http }']

Modelled as kube-proxy v1.33 runs on a kind node: IPv4, ``--cluster-cidr`` given (local traffic detected by
``ip saddr <cluster CIDR>``), ``nodePortAddresses`` unset (nftables mode's default ``primary``: NodePorts on
the node's primary address only, never on 127.0.0.1), the ServiceCIDR known (unallocated cluster IPs are
dropped), no masquerade-all.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from k8snetviz.agents.kubeproxy.iptables import Endpoint, ServicePort, _categorize
from k8snetviz.agents.writes import NftablesTransaction, Owner

__all__ = ["TABLE", "NFTablesProxier", "hash_and_truncate", "service_chain_base", "endpoint_chain_base"]

TABLE = "kube-proxy"
_P = f"ip {TABLE}"
_TABLE_OWNER = Owner("kube-proxy", why="kube-proxy's own table, the same for every Service")


def hash_and_truncate(name: str) -> str:
    """kube-proxy's ``hashAndTruncate``: 8 characters of base32(sha256(name)), a dash, the name.

    >>> hash_and_truncate("ns1/svc1/tcp/p80")
    'ULMVA6XW-ns1/svc1/tcp/p80'
    """
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()[:8]
    out = f"{digest}-{name}"
    return out if len(out) <= 240 else out[:237] + "..."


def service_chain_base(svc: ServicePort) -> str:
    """``HASH-NS/NAME/PROTO/PORTNAME``: what follows ``service-``, ``local-``, ``external-``, ``firewall-``."""
    return hash_and_truncate(f"{svc.namespace}/{svc.name}/{svc.proto}/{svc.port_name}")


def endpoint_chain_base(svc: ServicePort, ep: Endpoint) -> str:
    """``HASH-NS/NAME/PROTO/PORTNAME__IP/PORT``: what follows ``endpoint-`` and ``affinity-``."""
    return hash_and_truncate(f"{svc.namespace}/{svc.name}/{svc.proto}/{svc.port_name}__{ep.ip}/{ep.port}")


@dataclass(frozen=True)
class NFTablesProxier:
    """kube-proxy (nftables mode) on one node.

    ``cluster_cidr``: the pod subnet, for ``ip saddr != CIDR`` masquerading; ``service_cidrs``: the
    ServiceCIDRs, whose unallocated addresses are dropped; ``nodeport_ips``: the addresses NodePorts answer
    on (None: the node's primary address, ``node_ip``). ``mark`` as kube-proxy formats it (Go's ``%#08x``).
    """

    node_name: str
    node_ip: str | None = None
    cluster_cidr: str | None = "10.244.0.0/16"
    service_cidrs: tuple[str, ...] = ()
    nodeport_ips: tuple[str, ...] | None = None
    masquerade_all: bool = False
    mark: str = "0x00004000"

    def sync(self, services: Iterable[tuple[ServicePort, Sequence[Endpoint]]]) -> NftablesTransaction:
        """The table for ``services`` (each with its endpoints), as one full sync writes it."""
        return self._sync(services, own_addresses=True)

    def shared_sync(self, services: Iterable[tuple[ServicePort, Sequence[Endpoint]]]) -> NftablesTransaction:
        """:meth:`sync` without the node's own addresses in ``nodeport-ips`` (:meth:`node_addresses` adds
        them): what every node whose Services look alike loads, so that the kernel can hold it once."""
        return self._sync(services, own_addresses=False)

    def node_addresses(self) -> NftablesTransaction:
        """The rest of :meth:`sync` after :meth:`shared_sync`: the node's addresses in ``nodeport-ips``."""
        tx = NftablesTransaction(owner=_TABLE_OWNER)
        self._nodeport_ips(tx)
        return tx

    def _sync(self, services: Iterable[tuple[ServicePort, Sequence[Endpoint]]],
              own_addresses: bool) -> NftablesTransaction:
        tx = NftablesTransaction(owner=_TABLE_OWNER)
        self._base(tx)
        if own_addresses:
            self._nodeport_ips(tx)
        for svc, eps in services:
            if svc.proxied:
                unique = {str(ep): ep for ep in eps}
                self._service(tx, svc, sorted(unique.values(), key=str))
        return tx

    def _nodeport_ips(self, tx: NftablesTransaction) -> None:
        nodeport_ips = self.nodeport_ips if self.nodeport_ips is not None else \
            ((self.node_ip,) if self.node_ip else ())
        for ip in nodeport_ips:
            if not IPv4Address(ip).is_loopback:  # "localhost NodePorts are not supported"
                tx.add(f"add element {_P} nodeport-ips {{ {ip} }}")

    def _base(self, tx: NftablesTransaction) -> None:
        add = tx.add
        add(f'add table {_P} {{ comment "rules for kube-proxy" ; }}')
        add(f'add set {_P} cluster-ips {{ type ipv4_addr ; comment "Active ClusterIPs" ; }}')
        add(f'add set {_P} nodeport-ips {{ type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }}')
        for name, key, comment in (
                ("firewall-ips", "ipv4_addr . inet_proto . inet_service",
                 "destinations that are subject to LoadBalancerSourceRanges"),
                ("no-endpoint-nodeports", "inet_proto . inet_service",
                 "vmap to drop or reject packets to service nodeports with no endpoints"),
                ("no-endpoint-services", "ipv4_addr . inet_proto . inet_service",
                 "vmap to drop or reject packets to services with no endpoints"),
                ("service-ips", "ipv4_addr . inet_proto . inet_service",
                 "ClusterIP, ExternalIP and LoadBalancer IP traffic"),
                ("service-nodeports", "inet_proto . inet_service", "NodePort traffic")):
            add(f'add map {_P} {name} {{ type {key} : verdict ; comment "{comment}" ; }}')
        for chain in ("cluster-ips-check", "firewall-check", "mark-for-masquerade", "masquerading",
                      "nodeport-endpoints-check", "services", "service-endpoints-check"):
            add(f"add chain {_P} {chain}")
        add(f'add chain {_P} reject-chain {{ comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }}')
        for chain, kind, hook, prio in (
                ("filter-prerouting-pre-dnat", "filter", "prerouting", -110),
                ("filter-output-pre-dnat", "filter", "output", -110),
                ("filter-forward", "filter", "forward", 0),
                ("filter-input", "filter", "input", 0),
                ("filter-output", "filter", "output", 0),
                ("nat-prerouting", "nat", "prerouting", -100),
                ("nat-output", "nat", "output", -100),
                ("nat-postrouting", "nat", "postrouting", 100)):
            add(f"add chain {_P} {chain} {{ type {kind} hook {hook} priority {prio} ; }}")
        rule = self._rule
        rule(tx, "filter-prerouting-pre-dnat", "ct state new jump firewall-check")
        rule(tx, "filter-output-pre-dnat", "ct state new jump firewall-check")
        rule(tx, "filter-forward", "ct state new jump service-endpoints-check")
        rule(tx, "filter-forward", "ct state new jump cluster-ips-check")
        rule(tx, "filter-input", "ct state new jump nodeport-endpoints-check")
        rule(tx, "filter-input", "ct state new jump service-endpoints-check")
        rule(tx, "filter-output", "ct state new jump service-endpoints-check")
        rule(tx, "filter-output", "ct state new jump cluster-ips-check")
        rule(tx, "nat-prerouting", "jump services")
        rule(tx, "nat-output", "jump services")
        rule(tx, "nat-postrouting", "jump masquerading")
        rule(tx, "cluster-ips-check",
             'ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"')
        if self.service_cidrs:
            rule(tx, "cluster-ips-check", f"ip daddr {{ {', '.join(self.service_cidrs)} }} drop "
                                          'comment "Drop traffic to unallocated ClusterIPs"')
        rule(tx, "firewall-check", "ip daddr . meta l4proto . th dport vmap @firewall-ips")
        rule(tx, "mark-for-masquerade", f"mark set mark or {self.mark}")
        rule(tx, "masquerading", f"mark and {self.mark} == 0 return")
        rule(tx, "masquerading", f"mark set mark xor {self.mark}")
        rule(tx, "masquerading", "masquerade fully-random")
        rule(tx, "nodeport-endpoints-check",
             "ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports")
        rule(tx, "reject-chain", "reject")
        rule(tx, "services", "ip daddr . meta l4proto . th dport vmap @service-ips")
        rule(tx, "services", "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports")
        rule(tx, "service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services")

    @staticmethod
    def _rule(tx: NftablesTransaction, chain: str, text: str, owner: Owner | None = None) -> None:
        tx.add(f"add rule {_P} {chain} {text}", owner)

    def _service(self, tx: NftablesTransaction, svc: ServicePort, eps: list[Endpoint]) -> None:
        name = svc.service_port_name
        proto, port = svc.proto, str(svc.port)
        owner = Owner("kube-proxy", None, f"Service {svc.namespace}/{svc.name}", (),
                      f"the service port {name} ({svc.protocol} {svc.port})")
        cluster_eps, local_eps, reachable, has_endpoints = _categorize(eps, svc, self.node_name)
        base = service_chain_base(svc)
        cluster_chain, local_chain = f"service-{base}", f"local-{base}"
        external_chain, firewall_chain = f"external-{base}", f"firewall-{base}"
        uses_cluster_chain = bool(cluster_eps) and svc.uses_cluster_endpoints
        uses_local_chain = bool(local_eps) and svc.uses_local_endpoints

        internal_chain, has_internal = cluster_chain, has_endpoints
        if svc.internal_policy_local:
            internal_chain = local_chain
            has_internal = has_internal and bool(local_eps)
        external_policy_chain, has_external = cluster_chain, has_endpoints
        if svc.external_policy_local:
            external_policy_chain = local_chain
            has_external = has_external and bool(local_eps)
        uses_external_chain = has_endpoints and svc.externally_accessible
        uses_firewall_chain = bool(svc.load_balancer_source_ranges and svc.load_balancer_ips)
        if not has_endpoints:
            internal_verdict = external_verdict = "goto reject-chain"
        else:
            internal_verdict = "" if has_internal else "drop"
            external_verdict = "" if has_external else "drop"

        # Chains first (an element or rule may only name a chain that exists).
        affinity = svc.session_affinity == "ClientIP"
        for used, chain in ((uses_external_chain, external_chain), (uses_firewall_chain, firewall_chain),
                            (uses_cluster_chain, cluster_chain), (uses_local_chain, local_chain)):
            if used:
                tx.add(f"add chain {_P} {chain}", owner)
        ep_base = {str(ep): endpoint_chain_base(svc, ep) for ep in reachable}
        for ep in reachable:
            if affinity:
                tx.add(f"add set {_P} affinity-{ep_base[str(ep)]} {{ type ipv4_addr ; flags dynamic,timeout ; "
                       f"timeout {svc.session_affinity_timeout}s ; }}", self.endpoint_owner(svc, ep))
            tx.add(f"add chain {_P} endpoint-{ep_base[str(ep)]}", self.endpoint_owner(svc, ep))

        def element(table_set: str, key: str, value: str, comment: bool = False) -> None:
            note = f' comment "{name}"' if comment else ""
            tx.add(f"add element {_P} {table_set} {{ {key}{note} : {value} }}", owner)

        tx.add(f"add element {_P} cluster-ips {{ {svc.cluster_ip} }}", owner)
        key = f"{svc.cluster_ip} . {proto} . {port}"
        if has_internal:
            element("service-ips", key, f"goto {internal_chain}")
        else:
            element("no-endpoint-services", key, internal_verdict, comment=True)
        for ip in svc.external_ips:
            if has_endpoints:
                element("service-ips", f"{ip} . {proto} . {port}", f"goto {external_chain}")
            if not has_external:
                element("no-endpoint-services", f"{ip} . {proto} . {port}", external_verdict, comment=True)
        for ip in svc.load_balancer_ips:
            if has_endpoints:
                element("service-ips", f"{ip} . {proto} . {port}", f"goto {external_chain}")
            if uses_firewall_chain:
                element("firewall-ips", f"{ip} . {proto} . {port}", f"goto {firewall_chain}")
        if not has_external:
            for ip in svc.load_balancer_ips:
                element("no-endpoint-services", f"{ip} . {proto} . {port}", external_verdict, comment=True)
        if svc.node_port:
            if has_endpoints:
                element("service-nodeports", f"{proto} . {svc.node_port}", f"goto {external_chain}")
            if not has_external:
                element("no-endpoint-nodeports", f"{proto} . {svc.node_port}", external_verdict, comment=True)

        rule = self._rule
        if has_internal:
            if self.masquerade_all:
                rule(tx, internal_chain, f"ip daddr {svc.cluster_ip} jump mark-for-masquerade", owner)
            elif self.cluster_cidr:
                rule(tx, internal_chain, f"ip daddr {svc.cluster_ip} ip saddr != {self.cluster_cidr} "
                                         "jump mark-for-masquerade", owner)
        if uses_external_chain:
            if not svc.external_policy_local:
                rule(tx, external_chain, "jump mark-for-masquerade", owner)
            else:
                if self.cluster_cidr:
                    rule(tx, external_chain, f'ip saddr {self.cluster_cidr} goto {cluster_chain} '
                                             'comment "short-circuit pod traffic"', owner)
                rule(tx, external_chain, 'fib saddr type local jump mark-for-masquerade '
                                         'comment "masquerade local traffic"', owner)
                rule(tx, external_chain, f'fib saddr type local goto {cluster_chain} '
                                         'comment "short-circuit local traffic"', owner)
            if has_external:
                rule(tx, external_chain, f"goto {external_policy_chain}", owner)
        if uses_firewall_chain:
            ranges = []
            allow_from_node = False
            node_ip = IPv4Address(self.node_ip) if self.node_ip else None
            for cidr in svc.load_balancer_source_ranges:
                net = IPv4Network(cidr.strip(), strict=False)
                ranges.append(str(net))
                allow_from_node = allow_from_node or (node_ip is not None and node_ip in net)
            if allow_from_node:
                ranges += list(svc.load_balancer_ips)
            rule(tx, firewall_chain, f"ip saddr != {{ {', '.join(ranges)} }} drop", owner)
        if uses_cluster_chain:
            self._to_endpoints(tx, svc, cluster_chain, cluster_eps, ep_base)
        if uses_local_chain:
            self._to_endpoints(tx, svc, local_chain, local_eps, ep_base)
        for ep in reachable:
            chain = f"endpoint-{ep_base[str(ep)]}"
            who = self.endpoint_owner(svc, ep)
            # Hairpin: an endpoint reaching itself through the service is masqueraded.
            rule(tx, chain, f"ip saddr {ep.ip} jump mark-for-masquerade", who)
            if affinity:
                rule(tx, chain, f"update @affinity-{ep_base[str(ep)]} {{ ip saddr }}", who)
            rule(tx, chain, f"meta l4proto {proto} dnat to {ep.ip}:{ep.port}", who)

    def _to_endpoints(self, tx: NftablesTransaction, svc: ServicePort, chain: str, eps: list[Endpoint],
                      ep_base: dict[str, str]) -> None:
        if svc.session_affinity == "ClientIP":
            for ep in eps:
                b = ep_base[str(ep)]
                self._rule(tx, chain, f"ip saddr @affinity-{b} goto endpoint-{b}", self.endpoint_owner(svc, ep))
        choices = " , ".join(f"{i} : goto endpoint-{ep_base[str(ep)]}" for i, ep in enumerate(eps))
        self._rule(tx, chain, f"numgen random mod {len(eps)} vmap {{ {choices} }}",
                   Owner("kube-proxy", None, f"Service {svc.namespace}/{svc.name}", (),
                         f"pick one of {len(eps)} endpoints of {svc.service_port_name} at random"))

    @staticmethod
    def endpoint_owner(svc: ServicePort, ep: Endpoint) -> Owner:
        """A row for one endpoint: written for the EndpointSlice that lists it, because of the Service."""
        service = f"Service {svc.namespace}/{svc.name}"
        if ep.slice:
            return Owner("kube-proxy", None, f"EndpointSlice {svc.namespace}/{ep.slice}", (service,),
                         f"endpoint {ep} of {svc.service_port_name}")
        return Owner("kube-proxy", None, service, (), f"endpoint {ep} of {svc.service_port_name}")
