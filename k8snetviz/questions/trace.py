"""``trace``: one packet from a source to a destination, hop by hop, through the cluster.

The kernel's walk (:mod:`k8snetviz.kernel.walk`) moves the packet through each namespace; this
module adds what lies around the kernel: which endpoint kube-proxy's random choice picks (the
``candidates``, and ``--endpoint``), the NetworkPolicy enforcer's verdicts where the packet leaves and
enters a pod, a cloud load balancer in front of a node, and the gateway to the outside world.
A name (``web:80``) is looked up first, as packets (:mod:`k8snetviz.questions.dnswalk`); a URL goes
through the Ingress controller or the Gateway's proxy (:mod:`k8snetviz.questions.http`).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from k8snetviz.agents.writes import Owner
from k8snetviz.api.defaults import EPHEMERAL_PORT
from k8snetviz.api.refs import Ref
from k8snetviz.errors import K8sNetVizError, UsageError
from k8snetviz.kernel import netfilter as nf
from k8snetviz.kernel.netns import NetNS
from k8snetviz.kernel.packet import PROTOCOLS, Packet
from k8snetviz.kernel.walk import ACTIONS, VERDICTS, DecidedBy, Hop, Stop, Walker, element_id
from k8snetviz.questions import dnswalk, http
from k8snetviz.questions.results import TraceResult
from k8snetviz.questions.targets import Destination, Source, parse_destination, parse_source

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster

__all__ = ["Hop", "TraceResult", "TraceWalker", "trace", "VERDICTS", "ACTIONS"]


class TraceWalker(Walker):
    """The kernel's walk in a cluster: kube-proxy's choice, NetworkPolicy, load balancers, the gateway."""

    def __init__(self, cluster: Cluster, endpoint: str | None = None) -> None:
        super().__init__(cluster)
        self.cluster = cluster
        self.endpoint = endpoint
        self.candidates: list[dict[str, Any]] = []

    # --- kube-proxy's random choice -------------------------------------------------------------
    def choose(self, ns: NetNS, traversal: nf.Traversal) -> nf.Outcome:
        """Pick the outcome kube-proxy's random choice would give: the ``--endpoint`` pod's if asked, else the
        first in rule order. Records the candidates when there is a choice."""
        outcomes = list(traversal)
        if len(outcomes) == 1 and not any(r.target_name == "DNAT" and r.chain.startswith("KUBE-SEP-")
                                          for r in outcomes[0].nat_rules):
            return outcomes[0]
        # kube-proxy's choice of endpoint: every outcome is a candidate, even when there is only one.
        self.candidates = []
        for o in outcomes:
            owner = self.cluster.owner_of(o.packet.dst)
            ref = Ref.parse(owner) if owner else None
            name = ref.key if ref is not None and ref.kind == "pod" else (owner or str(o.packet.dst))
            if owner is not None and owner.startswith("node/") and owner in self.cluster.netns:
                # a hostNetwork endpoint: the pod of that node that listens on the port, as delivery names it
                listener = self.host_network_pod(self.cluster.netns[owner], o.packet)
                name = listener.key if listener is not None else name
            self.candidates.append({"pod": name, "probability": float(o.probability),
                                    "endpoint": f"{o.packet.dst}:{o.packet.dport}" if o.packet.dport else
                                    str(o.packet.dst)})
        if self.endpoint is None:
            return outcomes[0]
        pod = self.cluster.pod(self.endpoint)
        for o in outcomes:
            if o.packet.dst == pod.ip:
                return o
        names = ", ".join(c["pod"] for c in self.candidates)
        raise UsageError(f"--endpoint {self.endpoint}: pod {pod.key} is not one of the endpoints kube-proxy "
                         f"can pick here ({names})")

    # --- who is where -----------------------------------------------------------------------------
    def describe(self, ns: NetNS) -> str:
        return ns.name

    def host_network_pod(self, ns: NetNS, pkt: Packet) -> Any:
        """The hostNetwork pod of this node that declares the packet's port: it listens on the node's addresses."""
        if ns.kind != "node" or pkt.dport is None:
            return None
        node = ns.name.removeprefix("node/")
        for p in self.cluster.pods.values():
            if p.host_network and p.node_name == node and any(
                    cp.container_port == pkt.dport and cp.protocol == pkt.proto for cp in p.ports):
                return p
        return None

    def no_listener(self, ns: NetNS, pkt: Packet) -> str | None:
        """A NodePort that reached a node's socket unrewritten: kube-proxy never listens on NodePorts, it only
        NATs them (and nftables mode only on the addresses of its nodeport-ips set, never on 127.0.0.1)."""
        if ns.kind != "node" or pkt.dport is None or self.host_network_pod(ns, pkt) is not None:
            return None
        for svc in self.cluster.services.values():
            for sp in svc.ports:
                if sp.node_port == pkt.dport and sp.protocol == pkt.proto:
                    why = f"{pkt.dport} is the NodePort of svc/{svc.key} and no kube-proxy rule rewrote this packet"
                    if self.cluster.config.kube_proxy_mode == "nftables":
                        why += (" (nftables mode accepts NodePorts only on the addresses of its nodeport-ips set, "
                                "the node's primary address; localhost NodePorts are an iptables-mode feature)")
                    return why + "; no process listens on that port"
        return None

    def receiver_note(self, ns: NetNS, pkt: Packet) -> str:
        host_pod = self.host_network_pod(ns, pkt)
        if host_pod is not None:
            return (f" (pod {host_pod.key} uses hostNetwork: it shares {ns.name}'s network namespace and "
                    f"listens on its addresses, port {pkt.dport})")
        pod = self.cluster.pod_in(ns.name, pkt.dst)
        if pod is not None and pkt.dport is not None and pod.ports and not any(
                p.container_port == pkt.dport and p.protocol == pkt.proto for p in pod.ports):
            return (f" (no containerPort declares {pkt.dport}/{pkt.proto}; containerPort is informational, "
                    "so it depends on what the process listens on)")
        return ""

    def delivered(self, ns: NetNS, pkt: Packet) -> None:
        pod = self.cluster.pod_in(ns.name, pkt.dst) or self.host_network_pod(ns, pkt)
        self.final = {"src": pkt.source, "dst": pkt.destination, "pod": pod.key if pod else None}

    # --- beyond the node network ---------------------------------------------------------------------
    def beyond(self, ns: NetNS, dev_name: str, pkt: Packet, nexthop: IPv4Address) -> None:
        cfg = self.cluster.config
        carried = self.outer or pkt
        if nexthop != cfg.gateway:
            super().beyond(ns, dev_name, pkt, nexthop)
            return
        outside = self.cluster.beyond_gateway(carried.dst)
        if outside is not None:
            self.hop("gateway", "-", "forward", f"the gateway {nexthop} routes {carried.dst} to {outside}",
                     pkt, self.gateway_ref(), peer=f"{outside}#eth0")
            self.receive(self.cluster.netns[outside], "eth0", pkt)
            return
        inside = self.cluster.lan_host(carried.dst)
        if inside is not None and ns.kind == "external":
            self.hop("gateway", "-", "forward", f"the gateway {nexthop} routes {carried.dst} into the node "
                     f"network, to {inside}", pkt, self.gateway_ref(), peer=f"{inside}#eth0")
            self.receive(self.cluster.netns[inside], "eth0", pkt)
            return
        self.leave(ns, dev_name, pkt)

    def leave(self, ns: NetNS, dev_name: str, pkt: Packet) -> None:
        cfg = self.cluster.config
        gw = self.gateway_ref()
        if self.outer is None and pkt.dst in cfg.service_subnet:
            owner = self.cluster.owner_of(pkt.dst)
            what = f"{pkt.dst} is the cluster IP of {owner}" if owner else f"{pkt.dst} is in the service range"
            ports = ""
            ref = Ref.parse(owner) if owner else None
            if ref is not None and ref.kind == "svc":
                svc = self.cluster.services[ref.key]
                ports = " (" + ", ".join(f"{p.protocol} {p.port}" for p in svc.ports) + ")"
            running = getattr(self.cluster, "kube_proxy_nodes", None)
            node = ns.name[5:] if ns.kind == "node" else None
            if running is not None and node is not None and node not in running and ref is not None \
                    and ref.kind == "svc":
                why = self.cluster.kube_proxy_absence()
                self.hop("gateway", "-", "drop", f"{what}, but kube-proxy does not run on {node} ({why}): no rule "
                         f"rewrites the cluster IP, so the packet followed the default route out of the node, and the "
                         f"gateway {cfg.gateway} has no route for it", pkt, gw)
                raise Stop("no-route", f"kube-proxy is not running on {node} ({why}): nothing rewrites the cluster IP "
                           f"{pkt.dst} of {owner}, which no interface owns")
            if cfg.kube_proxy_mode == "none":
                self.hop("gateway", "-", "drop", f"{what}, but no interface anywhere owns it and no kube-proxy runs "
                         "(networking.kubeProxyMode: none): nothing rewrites the cluster IP, so the packet followed "
                         f"the default route out of the node, and the gateway {cfg.gateway} has no route for it",
                         pkt, gw)
                raise Stop("no-route", f"nothing answers {pkt.destination}: without kube-proxy (or a CNI that replaces "
                           "it) a cluster IP leads nowhere")
            self.hop("gateway", "-", "drop", f"{what}, but no interface anywhere owns it: kube-proxy only rewrites "
                     f"the service's own protocol and ports{ports}. This {pkt.proto} packet matched no rule, so it "
                     f"followed the default route out of the node, and the gateway {cfg.gateway} has no route for it",
                     pkt, gw)
            raise Stop("no-route", f"nothing answers {pkt.proto} to {pkt.destination}: a cluster IP is virtual and "
                       f"only means something with the service's protocol and port{ports}")
        if self.outer is None and pkt.dst in cfg.pod_subnet:
            self.hop("gateway", "-", "drop", f"the node network's gateway {cfg.gateway} has no route to {pkt.dst}: "
                     "pod addresses mean nothing outside the cluster", pkt, gw)
            raise Stop("no-route", f"{pkt.dst} is not routable outside the cluster")
        if self.replying:
            self.hop(ns.name, dev_name, "drop", f"the reply to {pkt.dst} follows the default route to the gateway "
                     f"{cfg.gateway}, not back the way the request came", pkt, gw)
            raise Stop("no-route", f"{ns.name} sends the reply for {pkt.dst} to the gateway {cfg.gateway}, which "
                       "has no route back into the cluster for it")
        self.hop(ns.name, dev_name, "forward", f"to the gateway {cfg.gateway}, out of the cluster's network", pkt, gw)
        self.hop("internet", "-", "deliver", f"the packet leaves the cluster; {pkt.dst} sees the source {pkt.source}",
                 pkt, gw)
        self.final = {"src": pkt.source, "dst": pkt.destination, "pod": None}
        self.walk_reply(self.from_internet, pkt,
                        f"left the cluster through the gateway {cfg.gateway} with source {pkt.source}")

    def from_internet(self, reply: Packet) -> None:
        """An answer from outside arrives at the gateway, which sends it to the node network host it is for."""
        cfg = self.cluster.config
        inside = self.cluster.lan_host(reply.dst)
        if inside is None:
            self.hop("gateway", "-", "drop", f"the answer is addressed to {reply.dst}, which the gateway {cfg.gateway} "
                     "cannot reach: without masquerading, outside hosts cannot answer a pod address", reply,
                     self.gateway_ref())
            raise Stop("no-route", f"the gateway has no route back to {reply.dst}")
        self.hop("gateway", "-", "forward", f"the answer comes back to the gateway {cfg.gateway}, which sends it to "
                 f"{inside}", reply, self.gateway_ref(), peer=f"{inside}#eth0")
        self.receive(self.cluster.netns[inside], "eth0", reply)

    def load_balance(self, ns: NetNS, pkt: Packet) -> None:
        """A network load balancer outside the cluster: it picks a healthy node and passes the packet on unchanged."""
        from k8snetviz.questions.services import load_balancer_targets

        svc = self.cluster.load_balancers[pkt.dst]
        ref = DecidedBy("load-balancer", element_id("lb", svc.key, str(pkt.dst)),
                        f"{pkt.dst}: " + ", ".join(f"{p.protocol} {p.port}" for p in svc.ports),
                        Owner("cloud-controller", None, f"Service {svc.key}", (),
                              "the load balancer for the Service's EXTERNAL-IP"))
        listener = next((p for p in svc.ports if p.port == pkt.dport and p.protocol == pkt.proto), None)
        if listener is None:
            self.hop(ns.name, "eth0", "drop", f"the load balancer of svc/{svc.key} has no listener on "
                     f"{pkt.proto} {pkt.dport}", pkt, ref)
            raise Stop("dropped", f"the load balancer {pkt.dst} does not listen on {pkt.proto} {pkt.dport}")
        checks, chosen = load_balancer_targets(self.cluster, svc, self.endpoint)
        summary = "; ".join(f"{n}: {why}" for n, _, why in checks)
        if chosen is None:
            self.hop(ns.name, "eth0", "drop", f"no node passes the health check ({summary})", pkt, ref)
            raise Stop("dropped", f"the load balancer of svc/{svc.key} has no healthy node")
        node = self.cluster.nodes[chosen]
        self.hop(ns.name, "eth0", "forward", f"the load balancer of svc/{svc.key} (EXTERNAL-IP {pkt.dst}) checks the "
                 f"nodes ({summary}) and sends the packet, unchanged, to node {node.name} ({node.internal_ip})",
                 pkt, ref, peer=f"node/{node.name}#eth0")
        self.receive(self.cluster.netns[f"node/{node.name}"], "eth0", pkt)

    # --- NetworkPolicy, enforced where the packet leaves and enters a pod ----------------------------
    def _policy_applies(self, pkt: Packet) -> bool:
        from k8snetviz.questions.policy import has_policies

        return (not self.replying and pkt.proto in ("TCP", "UDP", "SCTP") and pkt.dport is not None
                and has_policies(self.cluster))

    def policy_egress(self, ns: NetNS, dev: str, pkt: Packet) -> None:
        """The source pod's egress, judged on its node after kube-proxy's DNAT chose the destination."""
        self.egress_checked = True
        src = self.cluster.pod_at(pkt.src)
        if src is None or not self._policy_applies(pkt):
            return
        from k8snetviz.questions.policy import egress_verdict

        v = egress_verdict(self.cluster, src.key, pkt.dst, pkt.dport or 0, pkt.proto)
        self._policy_hop(ns, dev, pkt, v)

    def policy_ingress(self, ns: NetNS, dev: str, pkt: Packet) -> None:
        """The destination pod's ingress, judged as the packet enters it (the source as it arrives, after SNAT)."""
        pod = self.cluster.pod_in(ns.name, pkt.dst)
        if pod is None or not self._policy_applies(pkt):
            return
        from k8snetviz.questions.policy import ingress_verdict

        v = ingress_verdict(self.cluster, pkt.src, pod.key, pkt.dport or 0, pkt.proto)
        self._policy_hop(ns, dev, pkt, v)

    def _policy_hop(self, ns: NetNS, dev: str, pkt: Packet, v: Any) -> None:
        if not self.cluster.policy_enforced:
            self._unenforced_hop(ns, dev, pkt, v)
            return
        if v.allowed_by is not None:
            text = f"NetworkPolicy {v.allowed_by.policy}: {v.allowed_by.path}"
            ident = element_id("policy", v.allowed_by.policy, v.allowed_by.path)
            obj = f"NetworkPolicy {v.allowed_by.policy}"
        else:
            text = v.reason
            ident = element_id("policy", ns.name, v.direction.lower())
            obj = None
        owner = Owner(self.cluster.policy_enforcer, None, obj, (), f"NetworkPolicy {v.direction.lower()}")
        self.hop(ns.name, dev, "policy" if v.allowed else "drop", f"NetworkPolicy {v.direction.lower()}: {v.reason}",
                 pkt, DecidedBy("policy", ident, text, owner), table="networkpolicy")
        if not v.allowed:
            raise Stop("dropped", v.reason)

    def _unenforced_hop(self, ns: NetNS, dev: str, pkt: Packet, v: Any) -> None:
        """A policy selects the pod, but the CNI implements none: the API server stores it, nothing acts on it."""
        if not v.isolated:
            return
        cni = self.cluster.cni
        policies = ", ".join(v.selected_by)
        would = "allow" if v.allowed else "drop"
        detail = (f"NetworkPolicy {v.direction.lower()}: {policies} select{'s' if len(v.selected_by) == 1 else ''} "
                  f"the pod and would {would} this connection ({v.reason}), but the CNI ({cni.name}) does not "
                  f"enforce NetworkPolicy: {cni.policy_source}. The packet passes")
        owner = Owner("kube-apiserver", None, f"NetworkPolicy {v.selected_by[0]}" if v.selected_by else None, (),
                      f"stored, not enforced: no agent of the {cni.name} CNI reads NetworkPolicy")
        self.hop(ns.name, dev, "policy", detail, pkt,
                 DecidedBy("policy", element_id("policy", ns.name, v.direction.lower(), "not-enforced"),
                           f"{policies}: not enforced by {cni.name}", owner), table="networkpolicy")

    # --- where the client sends to --------------------------------------------------------------------
    def destination_address(self, dest: Destination, proto: str) -> IPv4Address:
        """The address the client sends to; a service without a virtual IP ends the walk here."""
        if dest.addr is not None:
            return dest.addr
        if dest.kind == "svc":
            svc = self.cluster.service(dest.name)
            if svc.type == "ExternalName":
                raise Stop("unresolved", f"svc/{svc.key} is an ExternalName service: it has no cluster IP and "
                           f"kube-proxy installs nothing for it; cluster DNS answers its name with a CNAME to "
                           f"{svc.external_name}")
            if svc.headless:
                raise Stop("unresolved", f"svc/{svc.key} is headless (clusterIP: None): there is no virtual IP "
                           "to send to; cluster DNS answers its name with the ready pods' own addresses")
            if proto != "ICMP" and not any(p.port == dest.port and p.protocol == proto for p in svc.ports):
                ports = ", ".join(f"{p.port}/{p.protocol}" for p in svc.ports)
                raise UsageError(f"destination {dest.text}: svc/{svc.key} has no port {dest.port}/{proto} "
                                 f"(its ports: {ports})")
            return IPv4Address(svc.cluster_ip)
        raise UsageError(f'destination "{dest.text}": {dest.kind} destinations are not modelled yet')


def trace(cluster: Cluster, src: str, dst: str, *, endpoint: str | None = None, protocol: str = "TCP",
          method: str | None = None, headers: dict[str, str] | None = None) -> TraceResult:
    """Walk a packet from ``src`` to ``dst`` (see :mod:`k8snetviz.questions.targets` for the forms).

    ``method`` and ``headers`` make the request an HTTP one: they need an ``http(s)://`` destination.
    """
    source: Source = parse_source(cluster, src)
    dest = parse_destination(cluster, dst)
    chosen = _endpoint_pod(cluster, endpoint)
    if dest.kind == "http":
        return http.trace_http(cluster, source.label, dest.text, endpoint, method=method or "GET", headers=headers)
    if method is not None or headers:
        what = "--method" if method is not None else "--header"
        raise UsageError(f'{what}: destination "{dst}" is not a URL; a method and headers go with '
                         "http://HOST[:PORT]/PATH")
    if dest.kind == "dns":
        return dnswalk.trace_name(cluster, source.label, dest.name, dest.port or 0, protocol.upper(), endpoint)
    proto = protocol.upper()
    if proto not in PROTOCOLS:
        raise UsageError(f'protocol "{protocol}": must be TCP, UDP, SCTP or ICMP')
    walker = TraceWalker(cluster, endpoint)
    ns = cluster.netns[source.netns]
    try:
        addr = walker.destination_address(dest, proto)
        pkt = Packet(source.addr or IPv4Address("0.0.0.0"), addr, proto,
                     None if proto == "ICMP" else EPHEMERAL_PORT, None if proto == "ICMP" else dest.port)
        walker.originate(ns, pkt)
        verdict, reason = "dropped", "the walk ended without a verdict"
    except Stop as stop:
        verdict, reason = stop.verdict, stop.reason
    result = TraceResult(source.label, dest.text, verdict, reason, walker.hops, walker.final, walker.candidates,
                         proto, cluster)
    if chosen is not None and not walker.candidates and result.final and result.final.get("pod") != chosen.key:
        # No choice was made on the way (no Service, or one endpoint): the endpoint asked for was not used.
        raise UsageError(f"--endpoint {endpoint}: kube-proxy has no endpoint to pick on this path; the packet "
                         f"goes to {result.final.get('pod') or result.final.get('dst')}")
    return result


def _endpoint_pod(cluster: Cluster, endpoint: str | None) -> Pod | None:
    """The pod ``--endpoint`` names (None when not given); one that does not exist is refused up front."""
    if endpoint is None:
        return None
    try:
        return cluster.pod(endpoint)
    except K8sNetVizError as e:
        raise UsageError(f"--endpoint {endpoint}: {e}") from None
