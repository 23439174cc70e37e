"""The packet walk: one packet from a source to a destination, hop by hop, with the reason for each hop.

The walk follows the kernel's path through each network namespace: a locally sent packet is
routed (OUTPUT), a received one goes through PREROUTING, then either INPUT (it is for this host)
or, with ``net.ipv4.ip_forward = 1``, a route lookup and FORWARD; POSTROUTING last, then the device:
a veth hands the packet to its peer, a bridge forwards the frame to the port behind the next hop's
MAC address, a VXLAN device wraps it in UDP to the peer node, and ``eth0`` puts it on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from k8snetviz.errors import UsageError
from k8snetviz.kernel import netfilter as nf
from k8snetviz.kernel.addressing import NetNS, Route
from k8snetviz.agents.cni.base import FLANNEL_PORT
from k8snetviz.kernel.packet import Packet
from k8snetviz.api.defaults import EPHEMERAL_PORT

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["Hop", "TraceResult", "Walker", "trace", "VERDICTS", "ACTIONS"]

VERDICTS = ("delivered", "dropped", "rejected", "no-route", "unresolved")
ACTIONS = ("route", "veth", "bridge", "forward", "dnat", "snat", "un-nat", "encap", "decap", "policy", "dns",
           "proxy", "deliver", "drop", "reject")
MAX_HOPS = 128


@dataclass
class Hop:
    """One step of the walk: where, on which device, what happened and what decided it."""

    step: int
    at: str
    device: str
    action: str
    detail: str
    src: str
    dst: str
    rule: str = ""  # the routing-table row or iptables-save line that decided this hop
    rules: list[str] = field(default_factory=list)  # every iptables rule that matched, in order
    table: str = ""  # "route" or a netfilter table/chain, e.g. "nat/KUBE-SERVICES"
    outer: str = ""  # the outer header, while the packet is encapsulated
    changed: tuple[str, ...] = ()  # header fields this hop changed: src, dst, outer
    reply: bool = False
    peer: str = ""  # for a veth or wire hop: the namespace#device the packet moves to

    def to_dict(self) -> dict[str, Any]:
        d = {"step": self.step, "at": self.at, "device": self.device, "action": self.action,
             "detail": self.detail, "src": self.src, "dst": self.dst}
        if self.rule:
            d["rule"] = self.rule
        if self.rules:
            d["rules"] = self.rules
        if self.outer:
            d["outer"] = self.outer
        if self.reply:
            d["reply"] = True
        return d


@dataclass
class TraceResult:
    """The answer to "what happens to this packet?"."""

    source: str
    destination: str
    verdict: str
    reason: str
    hops: list[Hop] = field(default_factory=list)
    final: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    protocol: str = "TCP"
    cluster: Cluster | None = field(default=None, repr=False, compare=False)

    @property
    def delivered(self) -> bool:
        return self.verdict == "delivered"

    @property
    def request_hops(self) -> list[Hop]:
        """The hops of the request, up to where it was delivered or stopped."""
        return [h for h in self.hops if not h.reply]

    @property
    def reply_hops(self) -> list[Hop]:
        """The hops of the answer on its way back (conntrack undoing each NAT)."""
        return [h for h in self.hops if h.reply]

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "verdict": self.verdict,
            "reason": self.reason,
            "hops": [h.to_dict() for h in self.hops],
            "final": self.final,
            "candidates": self.candidates,
        }

    def text(self) -> str:
        from k8snetviz.views.walktext import trace_text

        return trace_text(self)

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from k8snetviz.views.notebook import trace_bundle

        return trace_bundle(self)


class _Stop(Exception):
    def __init__(self, verdict: str, reason: str) -> None:
        super().__init__(reason)
        self.verdict = verdict
        self.reason = reason


class Walker:
    """Moves one packet through the model, recording hops. Extensions hook into ``netfilter``."""

    def __init__(self, cluster: Cluster, endpoint: str | None = None) -> None:
        self.cluster = cluster
        self.endpoint = endpoint
        self.hops: list[Hop] = []
        self.final: dict[str, Any] | None = None
        self.candidates: list[dict[str, Any]] = []
        self.outer: Packet | None = None
        self.egress_checked = False
        self.replying = False  # walking the reply back: conntrack un-NATs, no rules are evaluated
        self.nat: list[tuple[str, str, str, Packet, Packet]] = []  # where NAT rewrote the packet: the conntrack entries

    # --- recording --------------------------------------------------------------------------
    def hop(self, at: str, device: str, action: str, detail: str, pkt: Packet, *, rule: str = "",
            table: str = "", changed: tuple[str, ...] = (), reply: bool = False, peer: str = "",
            rules: list[str] | None = None) -> Hop:
        h = Hop(len(self.hops) + 1, at, device, action, detail, pkt.source, pkt.destination, rule=rule,
                table=table, outer=str(self.outer) if self.outer else "", changed=changed,
                reply=reply or self.replying,
                peer=peer, rules=list(rules or []))
        self.hops.append(h)
        if len(self.hops) > MAX_HOPS:
            raise _Stop("dropped", f"the packet looped: more than {MAX_HOPS} hops (a routing loop; the TTL would "
                        "expire)")
        return h

    # --- hooks extensions override --------------------------------------------------------------
    def netfilter(self, ns: NetNS, hook: str, pkt: Packet, in_dev: str | None, out_dev: str | None) -> Packet:
        """Run the namespace's iptables rules at one hook; record what rewrote or stopped the packet."""
        if self.replying:
            return self.conntrack(ns, hook, pkt, in_dev, out_dev)
        ruleset = ns.ruleset
        if ruleset is None or self.outer is not None:
            return pkt
        out_addr = None
        if out_dev is not None and out_dev in ns.interfaces:
            out_addr = ns.interfaces[out_dev].primary
        ctx = nf.HookContext(in_iface=in_dev, out_iface=out_dev, local_addresses=frozenset(ns.local_addresses()),
                             out_address=out_addr)
        traversal = nf.traverse_hook(ruleset, hook, _to_nf(pkt), ctx)  # type: ignore[arg-type]
        outcome = self.choose(ns, traversal)
        after = _from_nf(outcome.packet, pkt)
        lines = [str(r) for r in outcome.matched]
        device = (out_dev if hook == "POSTROUTING" else in_dev or out_dev) or "-"
        if outcome.verdict in ("DROP", "REJECT"):
            rule = outcome.deciding_rule
            action = outcome.verdict.lower()
            how = "answers with " + (outcome.reject_with or "icmp-port-unreachable") if action == "reject" else \
                "drops it silently"
            self.hop(ns.name, device, action, f"{hook}: {rule or outcome.policy_chain + ' policy'} {how}", pkt,
                     rule=str(rule or ""), table=f"{hook}", rules=lines)
            raise _Stop("rejected" if action == "reject" else "dropped",
                        f"iptables on {ns.name} {'rejected' if action == 'reject' else 'dropped'} the packet "
                        f"at {hook}: {rule}")
        if after.dst != pkt.dst or after.dport != pkt.dport:
            rule = outcome.nat_rules[-1] if outcome.nat_rules else None
            self.nat.append((ns.name, device, "dnat", pkt, after))
            self.hop(ns.name, device, "dnat", f"{hook}: DNAT {pkt.destination} → {after.destination} "
                     f"({' → '.join(_chains(outcome.matched))})", after, rule=str(rule or ""), table=hook,
                     changed=("dst",), rules=lines)
        if after.src != pkt.src or after.sport != pkt.sport:
            rule = outcome.nat_rules[-1] if outcome.nat_rules else None
            self.nat.append((ns.name, device, "snat", pkt, after))
            self.hop(ns.name, device, "snat", f"{hook}: {rule.target_name if rule else 'SNAT'} {pkt.source} → "
                     f"{after.source} ({' → '.join(_chains(outcome.matched))})", after, rule=str(rule or ""),
                     table=hook, changed=("src",), rules=lines)
        return after

    def conntrack(self, ns: NetNS, hook: str, pkt: Packet, in_dev: str | None, out_dev: str | None) -> Packet:
        """A reply of a tracked connection: no rules run; the NAT done here is undone (the SNAT's on the way in,
        the DNAT's on the way out)."""
        undo = ("snat",) if hook in ("PREROUTING", "OUTPUT") else ("dnat",) if hook in ("POSTROUTING", "INPUT") else ()
        for at, _dev, kind, before, after in reversed(self.nat):
            if at != ns.name or kind not in undo:
                continue
            if kind == "snat" and (pkt.dst, pkt.dport) == (after.src, after.sport):
                back = pkt.with_dst(before.src, before.sport)
            elif kind == "dnat" and (pkt.src, pkt.sport) == (after.dst, after.dport):
                back = pkt.with_src(before.dst, before.dport)
            else:
                continue
            what = "destination" if kind == "snat" else "source"
            self.hop(ns.name, (in_dev if hook == "PREROUTING" else out_dev) or "-", "un-nat",
                     f"{hook}: conntrack knows this connection and undoes the {kind.upper()} on the reply's {what}: "
                     f"{pkt.source} → {pkt.destination} becomes {back.source} → {back.destination}", back,
                     changed=("dst",) if kind == "snat" else ("src",))
            pkt = back
        return pkt

    def choose(self, ns: NetNS, traversal: nf.Traversal) -> nf.Outcome:
        """Pick the outcome kube-proxy's random choice would give: the ``--endpoint`` pod's if asked, else the
        first in rule order. Records the candidates when there is a choice."""
        outcomes = list(traversal)
        if len(outcomes) == 1:
            return outcomes[0]
        self.candidates = []
        for o in outcomes:
            owner = self.cluster.owner_of(o.packet.dst)
            name = owner[4:] if owner and owner.startswith("pod/") else (owner or str(o.packet.dst))
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

    def destination_address(self, source: Any, dest: Any, proto: str) -> IPv4Address:
        """The address the client sends to; a service without a virtual IP ends the walk here."""
        if dest.addr is not None:
            return dest.addr
        if dest.kind == "svc":
            svc = self.cluster.service(dest.name)
            if svc.type == "ExternalName":
                raise _Stop("unresolved", f"svc/{svc.key} is an ExternalName service: it has no cluster IP and "
                            f"kube-proxy installs nothing for it; cluster DNS answers its name with a CNAME to "
                            f"{svc.external_name}")
            if svc.headless:
                raise _Stop("unresolved", f"svc/{svc.key} is headless (clusterIP: None): there is no virtual IP "
                            "to send to; cluster DNS answers its name with the ready pods' own addresses")
            if proto != "ICMP" and not any(p.port == dest.port and p.protocol == proto for p in svc.ports):
                ports = ", ".join(f"{p.port}/{p.protocol}" for p in svc.ports)
                raise UsageError(f"destination {dest.text}: svc/{svc.key} has no port {dest.port}/{proto} "
                                 f"(its ports: {ports})")
            return IPv4Address(svc.cluster_ip)
        raise UsageError(f'destination "{dest.text}": {dest.kind} destinations are not modelled yet')

    # --- the walk -----------------------------------------------------------------------------
    def route(self, ns: NetNS, pkt: Packet, device_hint: str = "") -> Route:
        r = ns.routes.lookup(pkt.dst)
        if r is None:
            self.hop(ns.name, device_hint or "-", "drop", f"no route to {pkt.dst} in the routing table "
                     "(and no default route)", pkt, table="route")
            raise _Stop("no-route", f"{ns.name} has no route to {pkt.dst}")
        longest = "longest prefix match" if not r.is_default else "no more specific row: the default route"
        self.hop(ns.name, r.dev, "route", f"{longest}: {r}" + (f" ({r.why})" if r.why else ""), pkt,
                 rule=str(r), table="route")
        return r

    def originate(self, ns: NetNS, pkt: Packet) -> None:
        r = self.route(ns, pkt)
        if pkt.src == IPv4Address("0.0.0.0"):
            src = ns.source_address(r)
            assert src is not None
            pkt = pkt.with_src(src)
            self.hops[-1].src = pkt.source
        after = self.netfilter(ns, "OUTPUT", pkt, None, r.dev)
        if after.dst != pkt.dst:
            r = self.route(ns, after)  # the kernel routes again after OUTPUT DNAT changed the destination
        pkt = after
        if pkt.dst in ns.local_addresses():
            self.deliver(ns, "lo", pkt)
            return
        pkt = self.netfilter(ns, "POSTROUTING", pkt, None, r.dev)
        self.transmit(ns, r, pkt)

    def receive(self, ns: NetNS, dev: str, pkt: Packet) -> None:
        if ns.kind == "loadbalancer":
            self.load_balance(ns, pkt)
            return
        if ns.kind == "pod":
            self.policy_ingress(ns, dev, pkt)
        pkt = self.netfilter(ns, "PREROUTING", pkt, dev, None)
        if ns.kind == "node" and not self.egress_checked:
            self.policy_egress(ns, dev, pkt)
        if pkt.dst in ns.local_addresses():
            if self.outer is None and pkt.proto == "UDP" and pkt.dport == FLANNEL_PORT and "flannel.1" in ns.interfaces:
                raise _Stop("dropped", "a VXLAN packet without an inner packet")
            pkt = self.netfilter(ns, "INPUT", pkt, dev, None)
            self.deliver(ns, dev, pkt)
            return
        if not ns.ip_forward:
            self.hop(ns.name, dev, "drop", f"{pkt.dst} is not an address of this host and "
                     "net.ipv4.ip_forward = 0: the kernel does not forward", pkt)
            raise _Stop("dropped", f"{ns.name} does not forward packets (net.ipv4.ip_forward = 0)")
        r = self.route(ns, pkt, dev)
        pkt = self.netfilter(ns, "FORWARD", pkt, dev, r.dev)
        pkt = self.netfilter(ns, "POSTROUTING", pkt, dev, r.dev)
        self.transmit(ns, r, pkt)

    def transmit(self, ns: NetNS, r: Route, pkt: Packet) -> None:
        dev = ns.interfaces.get(r.dev)
        if dev is None:
            self.hop(ns.name, r.dev, "drop", f"the route names device {r.dev}, which does not exist", pkt)
            raise _Stop("no-route", f"{ns.name}: device {r.dev} does not exist")
        nexthop = r.via or pkt.dst
        if dev.kind == "veth":
            assert dev.peer is not None
            peer_ns = self.cluster.netns[dev.peer[0]]
            self.hop(ns.name, dev.name, "veth", f"out of {dev.name}, into its veth peer {dev.peer[1]} in "
                     f"{peer_ns.name}", pkt, peer=f"{peer_ns.name}#{dev.peer[1]}")
            self.arrive(peer_ns, dev.peer[1], pkt, nexthop)
        elif dev.kind == "bridge":
            self.bridge_forward(ns, dev.name, pkt, nexthop)
        elif dev.kind == "vxlan":
            self.encapsulate(ns, dev.name, pkt, nexthop)
        elif dev.kind == "ether":
            self.wire(ns, dev.name, pkt, nexthop)
        else:
            self.deliver(ns, dev.name, pkt)

    def arrive(self, ns: NetNS, dev_name: str, pkt: Packet, nexthop: IPv4Address) -> None:
        dev = ns.interfaces[dev_name]
        if dev.master:
            bridge = ns.interfaces[dev.master]
            if bridge.owns(nexthop):
                self.hop(ns.name, bridge.name, "bridge", f"the frame enters {bridge.name} on port {dev.name}; "
                         f"it is addressed to {bridge.name}'s own MAC (the gateway {nexthop}), so it goes up to "
                         "the node's IP stack", pkt, peer=f"{ns.name}#{dev.name}")
                self.receive(ns, bridge.name, pkt)
            else:
                self.hop(ns.name, bridge.name, "bridge", f"the frame enters {bridge.name} on port {dev.name}",
                         pkt, peer=f"{ns.name}#{dev.name}")
                self.bridge_forward(ns, bridge.name, pkt, nexthop)
            return
        self.receive(ns, dev_name, pkt)

    def bridge_forward(self, ns: NetNS, bridge: str, pkt: Packet, nexthop: IPv4Address) -> None:
        for port in ns.interfaces.values():
            if port.master != bridge or port.peer is None:
                continue
            peer_ns = self.cluster.netns[port.peer[0]]
            if peer_ns.interfaces[port.peer[1]].owns(nexthop):
                self.hop(ns.name, bridge, "bridge", f"{bridge} forwards the frame: {nexthop} answers ARP from "
                         f"behind port {port.name} (its MAC is in the bridge's forwarding table)", pkt,
                         peer=f"{ns.name}#{port.name}")
                self.hop(ns.name, port.name, "veth", f"out of {port.name}, into its veth peer {port.peer[1]} in "
                         f"{peer_ns.name}", pkt, peer=f"{peer_ns.name}#{port.peer[1]}")
                self.receive(peer_ns, port.peer[1], pkt)
                return
        self.hop(ns.name, bridge, "drop", f"no port of {bridge} answers ARP for {nexthop}", pkt)
        raise _Stop("no-route", f"{nexthop} is not reachable on {bridge} in {ns.name}")

    def encapsulate(self, ns: NetNS, dev_name: str, pkt: Packet, nexthop: IPv4Address) -> None:
        dev = ns.interfaces[dev_name]
        vx = dev.vxlan or {}
        mac = ns.neighbours.get(dev_name, {}).get(nexthop)
        remote = ns.fdb.get(dev_name, {}).get(mac or "")
        if mac is None or remote is None:
            self.hop(ns.name, dev_name, "drop", f"{dev_name} has no neighbour/FDB entry for {nexthop}", pkt)
            raise _Stop("no-route", f"{dev_name} on {ns.name} does not know which node holds {nexthop}")
        outer = Packet(vx["local"], remote, "UDP", _vxlan_sport(pkt), int(vx["dstport"]), inner=pkt)
        self.outer = outer
        self.hop(ns.name, dev_name, "encap", f"VXLAN VNI {vx['id']}: the neighbour entry gives {nexthop} MAC {mac}, "
                 f"the FDB maps that MAC to node {remote}; the frame is wrapped in UDP to {remote}:{vx['dstport']}",
                 pkt, changed=("outer",))
        r = ns.routes.lookup(remote)
        if r is None:
            raise _Stop("no-route", f"{ns.name} has no route to the VXLAN peer {remote}")
        self.hop(ns.name, r.dev, "route", f"the outer packet: {r}", pkt, rule=str(r), table="route")
        self.wire(ns, r.dev, pkt, r.via or remote)

    def wire(self, ns: NetNS, dev_name: str, pkt: Packet, nexthop: IPv4Address) -> None:
        target = self.cluster.lan_host(nexthop)
        carried = self.outer or pkt
        if target is None:
            if nexthop == self.cluster.config.gateway:
                outside = self.cluster.beyond_gateway(carried.dst)
                if outside is not None:
                    self.hop("gateway", "-", "forward", f"the gateway {nexthop} routes {carried.dst} to {outside}",
                             pkt, peer=f"{outside}#eth0")
                    self.receive(self.cluster.netns[outside], "eth0", pkt)
                    return
                inside = self.cluster.lan_host(carried.dst)
                if inside is not None and ns.kind == "external":
                    self.hop("gateway", "-", "forward", f"the gateway {nexthop} routes {carried.dst} into the node "
                             f"network, to {inside}", pkt, peer=f"{inside}#eth0")
                    self.receive(self.cluster.netns[inside], "eth0", pkt)
                    return
                self.leave(ns, dev_name, pkt)
                return
            self.hop(ns.name, dev_name, "drop", f"no host on the node network answers ARP for {nexthop}", pkt)
            raise _Stop("no-route", f"{nexthop} is not on the node network")
        peer_ns = self.cluster.netns[target]
        self.hop(ns.name, dev_name, "forward", f"onto the wire: {ns.name} → {peer_ns.name} "
                 f"({carried.src} → {carried.dst}, next hop {nexthop})", pkt, peer=f"{peer_ns.name}#eth0")
        if self.outer is not None:
            if self.outer.dst in peer_ns.local_addresses() and "flannel.1" in peer_ns.interfaces:
                self.outer = None
                self.hop(peer_ns.name, "flannel.1", "decap", f"UDP {FLANNEL_PORT} reaches the VXLAN device "
                         "flannel.1 (VNI 1), which strips the outer headers", pkt, changed=("outer",))
                self.receive(peer_ns, "flannel.1", pkt)
                return
            raise _Stop("dropped", f"the VXLAN packet reached {peer_ns.name}, which has no VXLAN device")
        self.receive(peer_ns, "eth0", pkt)

    def load_balance(self, ns: NetNS, pkt: Packet) -> None:
        """A network load balancer outside the cluster: it picks a healthy node and passes the packet on unchanged."""
        from k8snetviz.questions.services import load_balancer_targets

        svc = self.cluster.load_balancers[pkt.dst]
        listener = next((p for p in svc.ports if p.port == pkt.dport and p.protocol == pkt.proto), None)
        if listener is None:
            self.hop(ns.name, "eth0", "drop", f"the load balancer of svc/{svc.key} has no listener on "
                     f"{pkt.proto} {pkt.dport}", pkt)
            raise _Stop("dropped", f"the load balancer {pkt.dst} does not listen on {pkt.proto} {pkt.dport}")
        checks, chosen = load_balancer_targets(self.cluster, svc, self.endpoint)
        summary = "; ".join(f"{n}: {why}" for n, _, why in checks)
        if chosen is None:
            self.hop(ns.name, "eth0", "drop", f"no node passes the health check ({summary})", pkt)
            raise _Stop("dropped", f"the load balancer of svc/{svc.key} has no healthy node")
        node = self.cluster.nodes[chosen]
        self.hop(ns.name, "eth0", "forward", f"the load balancer of svc/{svc.key} (EXTERNAL-IP {pkt.dst}) checks the "
                 f"nodes ({summary}) and sends the packet, unchanged, to node {node.name} ({node.internal_ip})",
                 pkt, peer=f"node/{node.name}#eth0")
        self.receive(self.cluster.netns[f"node/{node.name}"], "eth0", pkt)

    def leave(self, ns: NetNS, dev_name: str, pkt: Packet) -> None:
        cfg = self.cluster.config
        if self.outer is None and pkt.dst in cfg.service_subnet:
            owner = self.cluster.owner_of(pkt.dst)
            what = f"{pkt.dst} is the cluster IP of {owner}" if owner else f"{pkt.dst} is in the service range"
            ports = ""
            if owner and owner.startswith("svc/"):
                svc = self.cluster.services[owner[4:]]
                ports = " (" + ", ".join(f"{p.protocol} {p.port}" for p in svc.ports) + ")"
            self.hop("gateway", "-", "drop", f"{what}, but no interface anywhere owns it: kube-proxy only rewrites "
                     f"the service's own protocol and ports{ports}. This {pkt.proto} packet matched no rule, so it "
                     f"followed the default route out of the node, and the gateway {cfg.gateway} has no route for it",
                     pkt)
            raise _Stop("no-route", f"nothing answers {pkt.proto} to {pkt.destination}: a cluster IP is virtual and "
                        f"only means something with the service's protocol and port{ports}")
        if self.outer is None and pkt.dst in cfg.pod_subnet:
            self.hop("gateway", "-", "drop", f"the node network's gateway {cfg.gateway} has no route to {pkt.dst}: "
                     "pod addresses mean nothing outside the cluster", pkt)
            raise _Stop("no-route", f"{pkt.dst} is not routable outside the cluster")
        if self.replying:
            self.hop(ns.name, dev_name, "drop", f"the reply to {pkt.dst} follows the default route to the gateway "
                     f"{cfg.gateway}, not back the way the request came", pkt)
            raise _Stop("no-route", f"{ns.name} sends the reply for {pkt.dst} to the gateway {cfg.gateway}, which "
                        "has no route back into the cluster for it")
        self.hop(ns.name, dev_name, "forward", f"to the gateway {cfg.gateway}, out of the cluster's network", pkt)
        self.hop("internet", "-", "deliver", f"the packet leaves the cluster; {pkt.dst} sees the source {pkt.source}",
                 pkt)
        self.final = {"src": pkt.source, "dst": pkt.destination, "pod": None}
        self.walk_reply(self.from_internet, pkt,
                        f"left the cluster through the gateway {cfg.gateway} with source {pkt.source}")

    def from_internet(self, reply: Packet) -> None:
        """An answer from outside arrives at the gateway, which sends it to the node network host it is for."""
        cfg = self.cluster.config
        inside = self.cluster.lan_host(reply.dst)
        if inside is None:
            self.hop("gateway", "-", "drop", f"the answer is addressed to {reply.dst}, which the gateway {cfg.gateway} "
                     "cannot reach: without masquerading, outside hosts cannot answer a pod address", reply)
            raise _Stop("no-route", f"the gateway has no route back to {reply.dst}")
        self.hop("gateway", "-", "forward", f"the answer comes back to the gateway {cfg.gateway}, which sends it to "
                 f"{inside}", reply, peer=f"{inside}#eth0")
        self.receive(self.cluster.netns[inside], "eth0", reply)

    def walk_reply(self, start: Any, pkt: Packet, forward_reason: str) -> None:
        """Walk the answer back to the client; a connection needs its replies to find their way too."""
        self.replying = True
        self.egress_checked = True
        try:
            start(pkt.reply())
        except _Stop as stop:
            if stop.verdict == "delivered":
                raise _Stop("delivered", forward_reason) from None
            raise _Stop(stop.verdict, f"{forward_reason}, but the reply cannot get back: {stop.reason}") from None
        raise _Stop("dropped", f"{forward_reason}, but the reply went nowhere")

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
        pod = self.cluster.pods.get(ns.name[4:])
        if pod is None or not self._policy_applies(pkt):
            return
        from k8snetviz.questions.policy import ingress_verdict

        v = ingress_verdict(self.cluster, pkt.src, pod.key, pkt.dport or 0, pkt.proto)
        self._policy_hop(ns, dev, pkt, v)

    def _policy_hop(self, ns: NetNS, dev: str, pkt: Packet, v: Any) -> None:
        rule = v.allowed_by.path if v.allowed_by is not None else ""
        if v.allowed_by is not None:
            rule = f"NetworkPolicy {v.allowed_by.policy}: {rule}"
        self.hop(ns.name, dev, "policy" if v.allowed else "drop", f"NetworkPolicy {v.direction.lower()}: {v.reason}",
                 pkt, rule=rule, table="networkpolicy")
        if not v.allowed:
            raise _Stop("dropped", v.reason)

    def deliver(self, ns: NetNS, dev: str, pkt: Packet) -> None:
        who = self.cluster.describe_netns(ns.name)
        pod = self.cluster.pod_in(ns.name, pkt.dst)
        note = ""
        if pod is not None and pkt.dport is not None and pod.ports and not any(
                p.container_port == pkt.dport and p.protocol == pkt.proto for p in pod.ports):
            note = (f" (no containerPort declares {pkt.dport}/{pkt.proto}; containerPort is informational, "
                    "so it depends on what the process listens on)")
        if self.replying:
            self.hop(ns.name, dev, "deliver", f"the reply reaches {who} from {pkt.source}, the address it sent to: "
                     "the connection is answered", pkt)
            raise _Stop("delivered", "the reply came back")
        self.hop(ns.name, dev, "deliver", f"{pkt.dst} is an address of {who}: the packet is delivered to the "
                 f"socket on port {pkt.dport}; the receiver sees the client {pkt.source}{note}", pkt)
        self.final = {"src": pkt.source, "dst": pkt.destination, "pod": pod.key if pod else None}
        self.walk_reply(lambda reply: self.originate(ns, reply), pkt,
                        f"delivered to {who} at {pkt.destination}, from {pkt.source}")


def _to_nf(pkt: Packet) -> nf.Packet:
    return nf.Packet(pkt.src, pkt.dst, pkt.proto.lower(), pkt.sport, pkt.dport, pkt.mark)


def _from_nf(p: nf.Packet, like: Packet) -> Packet:
    return Packet(p.src, p.dst, like.proto, p.sport, p.dport, p.mark, like.inner)


def _chains(rules: tuple[nf.Rule, ...]) -> list[str]:
    seen: list[str] = []
    for r in rules:
        if r.chain not in seen:
            seen.append(r.chain)
    return seen


def _vxlan_sport(pkt: Packet) -> int:
    # The kernel picks the outer source port from a hash of the inner flow, in the ephemeral range.
    h = (int(pkt.src) * 31 + int(pkt.dst) * 17 + (pkt.sport or 0) * 7 + (pkt.dport or 0)) % (61000 - 32768)
    return 32768 + h


def trace(cluster: Cluster, src: str, dst: str, *, endpoint: str | None = None, protocol: str = "TCP") -> TraceResult:
    """Walk a packet from ``src`` to ``dst`` (see :mod:`k8snetviz.questions.targets` for the forms)."""
    from k8snetviz.questions.targets import parse_destination, parse_source

    source = parse_source(cluster, src)
    dest = parse_destination(cluster, dst)
    if dest.kind == "http":
        from k8snetviz.questions.http import trace_http

        return trace_http(cluster, source.label, dest.text, endpoint)
    if dest.kind == "dns":
        from k8snetviz.questions.dnswalk import trace_name

        return trace_name(cluster, source.label, dest.name, dest.port or 0, protocol.upper(), endpoint)
    proto = protocol.upper()
    if proto not in ("TCP", "UDP", "SCTP", "ICMP"):
        raise UsageError(f'protocol "{protocol}": must be TCP, UDP, SCTP or ICMP')
    walker = cluster.walker(endpoint)
    ns = cluster.netns[source.netns]
    try:
        addr = walker.destination_address(source, dest, proto)
        pkt = Packet(source.addr or IPv4Address("0.0.0.0"), addr, proto,
                     None if proto == "ICMP" else EPHEMERAL_PORT, None if proto == "ICMP" else dest.port)
        walker.originate(ns, pkt)
        verdict, reason = "dropped", "the walk ended without a verdict"
    except _Stop as stop:
        verdict, reason = stop.verdict, stop.reason
    return TraceResult(source.label, dest.text, verdict, reason, walker.hops, walker.final, walker.candidates,
                       proto, cluster)


