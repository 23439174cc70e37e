"""kube-proxy: what it reads from the API (Services and their EndpointSlices) and the rules it writes.

:mod:`k8snetviz.agents.kubeproxy.iptables` is its iptables mode, :mod:`k8snetviz.agents.kubeproxy.nftables`
its nftables mode (``networking.kubeProxyMode: nftables`` in the kind config).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network

from k8snetviz.agents.cni import CNIPlugin
from k8snetviz.agents.kubeproxy import iptables as kubeproxy
from k8snetviz.agents.kubeproxy.nftables import NFTablesProxier
from k8snetviz.agents.writes import Write
from k8snetviz.api.config import ClusterConfig
from k8snetviz.api.endpointslices import EndpointSlice
from k8snetviz.api.objects import Node
from k8snetviz.api.services import DEFAULT_AFFINITY_TIMEOUT, Service

__all__ = ["kubeproxy_inputs", "node_setup", "node_rules"]


def kubeproxy_inputs(
    services: Iterable[Service], slices: Iterable[EndpointSlice]
) -> list[tuple[kubeproxy.ServicePort, list[kubeproxy.Endpoint]]]:
    """Each proxied service port with its endpoints, as kube-proxy's service and EndpointSlice caches
    hold them; the input of :meth:`kubeproxy.Proxier.sync` (the same for every node).

    Headless and ExternalName Services are skipped (kube-proxy's ``ShouldSkipService``). A port's
    endpoints come from the IPv4 slices labelled with the Service's name whose port has the same
    name and protocol; an endpoint contributes its first address, ``ready`` unset counts as ready,
    ``serving`` unset as equal to ready. Load-balancer IPs with ``ipMode: Proxy`` are left out: the
    load balancer, not kube-proxy, delivers that traffic.
    """
    by_service: dict[tuple[str, str], list[EndpointSlice]] = {}
    for es in slices:
        if es.service_name and es.address_type == "IPv4":
            by_service.setdefault((es.namespace, es.service_name), []).append(es)
    out = []
    for svc in services:
        if svc.type == "ExternalName" or not svc.cluster_ip or svc.cluster_ip == "None":
            continue
        own = by_service.get((svc.namespace, svc.name), [])
        for sp in svc.ports:
            port = kubeproxy.ServicePort(
                namespace=svc.namespace, name=svc.name, port=sp.port, cluster_ip=svc.cluster_ip,
                port_name=sp.name, protocol=sp.protocol, type=svc.type, node_port=sp.node_port or 0,
                load_balancer_ips=tuple(i.ip for i in svc.load_balancer_ingress if i.ip and i.ip_mode != "Proxy"),
                load_balancer_source_ranges=tuple(svc.load_balancer_source_ranges),
                external_ips=tuple(svc.external_ips),
                external_traffic_policy=svc.external_traffic_policy or "Cluster",
                internal_traffic_policy=svc.internal_traffic_policy or "Cluster",
                session_affinity=svc.session_affinity,
                session_affinity_timeout=svc.session_affinity_timeout or DEFAULT_AFFINITY_TIMEOUT,
                health_check_node_port=svc.health_check_node_port or 0,
            )
            endpoints = []
            for es in own:
                for ep_port in es.ports:
                    if (ep_port.name or "") != sp.name or ep_port.protocol != sp.protocol or ep_port.port is None:
                        continue
                    for ep in es.endpoints:
                        if ep.addresses:
                            endpoints.append(kubeproxy.Endpoint(
                                ep.addresses[0], ep_port.port, ep.node_name,
                                ready=ep.is_ready, serving=ep.is_serving, terminating=ep.is_terminating,
                                slice=es.name))
            out.append((port, endpoints))
    return out


def node_setup(cfg: ClusterConfig, nodes: list[Node], proxied: set[str] | None = None) -> dict[str, list[Write]]:
    """What kube-proxy does to each node before its first sync (iptables mode): ``route_localnet`` for localhost
    NodePorts and its nfacct counters. The same requests serve every node (netns "": the node they are applied to).
    """
    if cfg.kube_proxy_mode != "iptables":
        return {}
    setup = kubeproxy.Proxier("", nfacct=True).setup()
    return {n.name: setup for n in nodes if proxied is None or n.name in proxied}


def node_rules(cfg: ClusterConfig, cni: CNIPlugin, nodes: list[Node], services: Iterable[Service],
               slices: Iterable[EndpointSlice], warnings: list[str], proxied: set[str] | None = None
               ) -> dict[str, list[Write]]:
    """Each node's netfilter payloads in the order they are loaded: kube-proxy's (an iptables-restore payload, or
    its nftables transaction), then the CNI add-on's iptables payload. ``kubeProxyMode: none`` runs no kube-proxy.

    ``proxied`` names the nodes where a kube-proxy pod runs (None: every node, as when the scenario does not
    say); a node without one has no Service rules at all.

    kube-proxy writes the same rules on every node unless a Service depends on the node: a ``Local``
    traffic policy uses the endpoints on the node, ``loadBalancerSourceRanges`` may include the node's
    IP. Nodes on which those come out alike get the very same payload, so the kernel holds its rules
    once for all of them: in a cluster without such Services, one payload serves every node.
    """
    inputs = kubeproxy_inputs(services, slices)
    # What of a node its rules depend on: its endpoints of each Local service, the source ranges holding its IP.
    local_on: dict[str | None, dict[int, list[str]]] = {}
    for k, (sp, eps) in enumerate(inputs):
        if sp.uses_local_endpoints:
            for ep in eps:
                local_on.setdefault(ep.node_name, {}).setdefault(k, []).append(str(ep))
    ranges = [IPv4Network(c.strip(), strict=False) for sp, _ in inputs for c in sp.load_balancer_source_ranges]
    payloads_by_view: dict[tuple[object, ...], Write] = {}
    out: dict[str, list[Write]] = {}
    for node in nodes:
        payloads: list[Write] = []
        if cfg.kube_proxy_mode in ("iptables", "nftables") and (proxied is None or node.name in proxied):
            view = (tuple((k, tuple(sorted(eps))) for k, eps in sorted(local_on.get(node.name, {}).items())),
                    tuple(node.internal_ip in r for r in ranges))
            rules = payloads_by_view.get(view)
            if cfg.kube_proxy_mode == "iptables":
                if rules is None:
                    rules = payloads_by_view[view] = kubeproxy.Proxier(
                        node.name, str(node.internal_ip), str(cfg.pod_subnet), nfacct=True).sync(inputs)
                payloads.append(rules)
            else:
                proxier = NFTablesProxier(node.name, str(node.internal_ip), str(cfg.pod_subnet),
                                          (str(cfg.service_subnet),))
                if rules is None:
                    rules = payloads_by_view[view] = proxier.shared_sync(inputs)
                # the table as one sync writes it, loaded in two: what nodes alike share, then the node's
                # own primary address in nodeport-ips
                payloads += [rules, proxier.node_addresses()]
        payloads.insert(0, cni.netfilter(node)) if cni.netfilter_first else payloads.append(cni.netfilter(node))
        out[node.name] = payloads
    return out
