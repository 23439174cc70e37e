"""A packet's path through the kernel, hop by hop, with the row or rule that decided each hop.

The walk follows the kernel's path through each network namespace: a locally sent packet is
routed (OUTPUT), a received one goes through PREROUTING, then either INPUT (it is for this host)
or, with ``net.ipv4.ip_forward = 1``, a route lookup and FORWARD; POSTROUTING last, then the device:
a veth hands the packet to its peer, a bridge forwards the frame to the port behind the next hop's
MAC address, a VXLAN device wraps it in UDP to the peer node, and ``eth0`` puts it on the wire.
An ``ipip`` device (``tunl0``) wraps the packet in an outer IP header (protocol 4) to the route's
next hop, and the receiving host's ``ipip`` device unwraps it. A veth's far end answers ARP for the
next hop when it holds that address, or by proxy ARP (``net.ipv4.conf.DEV.proxy_arp = 1``).
A reply walks back the same way, with conntrack undoing each NAT where it was done.

Every hop carries :class:`DecidedBy`: the kind of row (route, rule, fdb, neighbour, address, link,
sysctl, conntrack, ...), a stable id (the diagram's element id for it), the row as the real tool
prints it, and its owner (the program that wrote it and the object it was written for).

The walker knows only Linux. What lies beyond a node (the gateway, a cloud load balancer) and what
an agent enforces inside the kernel (NetworkPolicy) reach it through the hooks a subclass overrides.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, Protocol

from k8snetviz.agents.writes import KERNEL, Owner, fast_init
from k8snetviz.kernel import netfilter as nf
from k8snetviz.kernel import nftables as nft
from k8snetviz.kernel.netns import Interface, NetNS
from k8snetviz.kernel.packet import Packet
from k8snetviz.kernel.routing import Route

__all__ = ["DecidedBy", "Hop", "Stop", "Walker", "Network", "VERDICTS", "ACTIONS", "MAX_HOPS", "element_id",
           "route_id", "rule_id", "address_id", "link_id"]

VERDICTS = ("delivered", "dropped", "rejected", "no-route", "unresolved")
ACTIONS = ("route", "veth", "bridge", "forward", "dnat", "snat", "un-nat", "encap", "decap", "policy", "dns",
           "proxy", "deliver", "drop", "reject")
MAX_HOPS = 128
GATEWAY_OWNER = Owner("host-network", why="the node network's gateway to the outside world")
LOOPBACK_NET = IPv4Network("127.0.0.0/8")
LOOPBACK_ADDRESS = IPv4Address("127.0.0.1")
_ANY = IPv4Address("0.0.0.0")
LOOPBACK_ROUTE_OWNER = Owner("kernel", why="the kernel adds it for 127.0.0.1/8 on lo")


_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


@functools.lru_cache(maxsize=65536)
def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part)


def element_id(*parts: str) -> str:
    """A stable id usable in DOT and SVG (letters, digits, ``-``, ``_``, ``.``, ``:``)."""
    return "--".join(map(_safe, parts))


def route_id(ns: str, route: Route) -> str:
    return f"route--{_safe(ns)}--{route.key_id}"


def rule_id(ns: str, rule: nf.Rule, position: int) -> str:
    return _rule_id(ns, rule.table, rule.chain, position)


@functools.lru_cache(maxsize=65536)  # a walk names the same rows at every trace
def _rule_id(ns: str, table: str, chain: str, position: int) -> str:
    return element_id("rule", ns, table, chain, str(position))


@functools.lru_cache(maxsize=65536)  # a walk names the same rows at every trace
def address_id(ns: str, dev: str, addr: Any) -> str:
    return element_id("addr", ns, dev, str(addr))


@functools.lru_cache(maxsize=65536)  # a walk names the same rows at every trace
def link_id(ns: str, dev: str) -> str:
    return element_id("dev", ns, dev)


def _with_prefixlen(a: IPv4Interface) -> str:
    return _address_text(int(a), a.network.prefixlen)


@functools.lru_cache(maxsize=65536)
def _address_text(number: int, prefixlen: int) -> str:
    # ipaddress formats in Python; a walk shows the same addresses at every trace
    return f"{IPv4Address(number)}/{prefixlen}"


@fast_init  # a walk makes one per hop and per matched rule
@dataclass(frozen=True)
class DecidedBy:
    """What decided a hop: a reference to one row or rule, never its text searched again."""

    kind: str  # route | rule | policy | fdb | neighbour | address | link | sysctl | conntrack | record | ...
    id: str
    text: str
    owner: Owner = KERNEL

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "text": self.text, "owner": self.owner.to_dict()}


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
    rule: str = ""  # the decisive row or rule, as the real tool prints it (decided_by.text)
    rules: list[str] = field(default_factory=list)  # every iptables rule that matched, in order
    table: str = ""  # "route" or a netfilter hook
    outer: str = ""  # the outer header, while the packet is encapsulated
    changed: tuple[str, ...] = ()  # header fields this hop changed: src, dst, outer
    reply: bool = False
    peer: str = ""  # for a veth or wire hop: the namespace#device the packet moves to
    decided_by: DecidedBy | None = None
    matched: list[DecidedBy] = field(default_factory=list)  # every rule that matched, as references

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"step": self.step, "at": self.at, "device": self.device, "action": self.action,
                             "detail": self.detail, "src": self.src, "dst": self.dst}
        if self.rule:
            d["rule"] = self.rule
        if self.rules:
            d["rules"] = self.rules
        if self.outer:
            d["outer"] = self.outer
        if self.reply:
            d["reply"] = True
        if self.decided_by is not None:
            d["decided_by"] = self.decided_by.to_dict()
        return d


class Stop(Exception):
    """The walk is over: with a verdict and the reason in words."""

    def __init__(self, verdict: str, reason: str) -> None:
        super().__init__(reason)
        self.verdict = verdict
        self.reason = reason


class Network(Protocol):
    """What the walker needs to know of the world: the namespaces, and who is where on the node network."""

    netns: dict[str, NetNS]

    def lan_host(self, addr: IPv4Address) -> str | None: ...


class Walker:
    """Moves one packet through the namespaces of ``network``, recording hops."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.hops: list[Hop] = []
        self.final: dict[str, Any] | None = None
        self.outer: Packet | None = None
        self.replying = False  # walking the reply back: conntrack un-NATs, no rules are evaluated
        self.egress_checked = False
        # where NAT rewrote the packet: the conntrack entries (namespace, device, kind, before, after, rule)
        self.nat: list[tuple[str, str, str, Packet, Packet, DecidedBy | None]] = []
        self.sent_to = ""  # the destination the client's socket connected to: a reply must come from it

    # --- recording ----------------------------------------------------------------------------
    def hop(self, at: str, device: str, action: str, detail: str, pkt: Packet, decided_by: DecidedBy, *,
            table: str = "", changed: tuple[str, ...] = (), peer: str = "", rules: list[str] | None = None,
            matched: list[DecidedBy] | None = None) -> Hop:
        owner = decided_by.owner
        node = at[5:] if at.startswith("node/") else None
        if owner.node is None and node is not None and owner.component != "kernel":
            decided_by = DecidedBy(decided_by.kind, decided_by.id, decided_by.text, owner.on(node))
        if not self.hops:
            self.sent_to = pkt.destination
        h = Hop(len(self.hops) + 1, at, device, action, detail, pkt.source, pkt.destination, rule=decided_by.text,
                table=table, outer=str(self.outer) if self.outer else "", changed=changed, reply=self.replying,
                peer=peer, rules=list(rules or []), decided_by=decided_by, matched=list(matched or []))
        self.hops.append(h)
        if len(self.hops) > MAX_HOPS:
            raise Stop("dropped", f"the packet looped: more than {MAX_HOPS} hops (a routing loop; the TTL would "
                       "expire)")
        return h

    # --- references to rows --------------------------------------------------------------------
    @staticmethod
    def route_ref(ns: NetNS, r: Route) -> DecidedBy:
        return DecidedBy("route", route_id(ns.name, r), r.line, r.owner)

    @staticmethod
    def rule_ref(ns: NetNS, rule: Any) -> DecidedBy:
        if isinstance(rule, nft.NftElement):
            return DecidedBy("element", element_id("nft", ns.name, rule.ref_id), rule.line, rule.owner or KERNEL)
        if isinstance(rule, nft.NftRule):
            return DecidedBy("rule", element_id("nft", ns.name, rule.ref_id), rule.line, rule.owner or KERNEL)
        pos = 0
        if ns.ruleset is not None and ns.ruleset.has_chain(rule.table, rule.chain):
            pos = ns.ruleset.chain(rule.table, rule.chain).position(rule)
        return DecidedBy("rule", rule_id(ns.name, rule, pos), rule.line, rule.owner or KERNEL)

    @staticmethod
    def address_ref(ns: NetNS, dev: Interface, addr: IPv4Address) -> DecidedBy:
        for a in dev.addrs:
            if a.ip == addr:
                scope = "host" if dev.kind == "loopback" else "global"
                text = _with_prefixlen(a)
                return DecidedBy("address", address_id(ns.name, dev.name, text),
                                 f"inet {text} scope {scope} {dev.name}", dev.address_owner(a))
        return DecidedBy("link", link_id(ns.name, dev.name), dev.name, dev.owner)

    @staticmethod
    def link_ref(ns: NetNS, dev: Interface) -> DecidedBy:
        peer = f"@{dev.peer[1]}" if dev.peer else ""
        return DecidedBy("link", link_id(ns.name, dev.name), f"{dev.ifindex}: {dev.name}{peer}: mtu {dev.mtu}",
                         dev.owner)

    @staticmethod
    def sysctl_ref(ns: NetNS, name: str) -> DecidedBy:
        return DecidedBy("sysctl", element_id("sysctl", ns.name, name), f"{name} = {ns.sysctl(name)}",
                         ns.sysctl_owners.get(name, KERNEL))

    @staticmethod
    def table_ref(ns: NetNS, addr: IPv4Address) -> DecidedBy:
        return DecidedBy("route", element_id("routes", ns.name), f"no route matches {addr}",
                         Owner("kernel", why="the routing table has no row for the address"))

    def local_ref(self, ns: NetNS, addr: IPv4Address) -> DecidedBy:
        dev = ns.owner_of(addr)
        if dev is None:
            return DecidedBy("address", element_id("addr", ns.name, str(addr)), str(addr), KERNEL)
        return self.address_ref(ns, dev, addr)

    def gateway_ref(self) -> DecidedBy:
        return DecidedBy("gateway", "gateway", "the node network's gateway", GATEWAY_OWNER)

    # --- hooks a subclass overrides ------------------------------------------------------------
    def choose(self, ns: NetNS, traversal: nf.Traversal) -> nf.Outcome:
        """Which outcome of a random choice (``-m statistic``) the walk follows: the first."""
        return next(iter(traversal))

    def policy_ingress(self, ns: NetNS, dev: str, pkt: Packet) -> None:
        """A policy enforced as the packet enters a pod (nothing here: Linux alone enforces none)."""

    def policy_egress(self, ns: NetNS, dev: str, pkt: Packet) -> None:
        """A policy enforced on the source's node, after the destination was chosen."""

    def load_balance(self, ns: NetNS, pkt: Packet) -> None:
        raise Stop("dropped", f"{ns.name} is not a host the walk knows how to enter")

    def beyond(self, ns: NetNS, dev_name: str, pkt: Packet, nexthop: IPv4Address) -> None:
        """The next hop is on no host of the node network: the gateway's business, or nobody's."""
        self.hop(ns.name, dev_name, "drop", f"no host on the node network answers ARP for {nexthop}", pkt,
                 DecidedBy("neighbour", element_id("neigh", ns.name, dev_name, str(nexthop)),
                           f"{nexthop} dev {dev_name} FAILED", KERNEL))
        raise Stop("no-route", f"{nexthop} is not on the node network")

    def describe(self, ns: NetNS) -> str:
        return ns.name

    def receiver_note(self, ns: NetNS, pkt: Packet) -> str:
        return ""

    def no_listener(self, ns: NetNS, pkt: Packet) -> str | None:
        """Why no socket listens where the packet arrived, when the walk knows it (None: something listens)."""
        return None

    def delivered(self, ns: NetNS, pkt: Packet) -> None:
        """The request reached its socket: record what the receiver sees."""
        self.final = {"src": pkt.source, "dst": pkt.destination, "pod": None}

    # --- netfilter ----------------------------------------------------------------------------
    def netfilter(self, ns: NetNS, hook: str, pkt: Packet, in_dev: str | None, out_dev: str | None) -> Packet:
        """Run the namespace's iptables rules at one hook; record what rewrote or stopped the packet."""
        if self.replying:
            return self.conntrack(ns, hook, pkt, in_dev, out_dev)
        ruleset = ns.ruleset
        if (ruleset is None and ns.nftables is None) or self.outer is not None:
            return pkt
        out_addr = None
        if out_dev is not None and out_dev in ns.interfaces:
            out_addr = ns.interfaces[out_dev].primary
            if out_addr is None:
                # inet_select_addr(): a device without an address lends one of the namespace's other devices,
                # the first global (not loopback) one in device order (a Calico veth has none of its own)
                out_addr = next((d.primary for d in sorted(ns.interfaces.values(), key=lambda d: d.ifindex)
                                 if d.kind != "loopback" and d.primary is not None), None)
        ctx = nf.HookContext.at_hook(in_dev, out_dev, ns.local_addresses(), out_addr,
                                     {n: s.members for n, s in ns.ipsets.items()} if ns.ipsets else {})
        traversal = nft.traverse_hook(ruleset, ns.nftables, hook, pkt, ctx)
        outcome = self.choose(ns, traversal)
        after = outcome.packet
        if after.proto != pkt.proto or after.inner is not pkt.inner:
            after = Packet(after.src, after.dst, pkt.proto, after.sport, after.dport, after.mark, pkt.inner)
        lines = [r.line for r in outcome.matched]
        refs = [self.rule_ref(ns, r) for r in outcome.matched]
        device = (out_dev if hook == "POSTROUTING" else in_dev or out_dev) or "-"
        if outcome.verdict in ("DROP", "REJECT"):
            rule = outcome.deciding_rule
            action = outcome.verdict.lower()
            how = "answers with " + (outcome.reject_with or "icmp-port-unreachable") if action == "reject" else \
                "drops it silently"
            ref = self.rule_ref(ns, rule) if rule is not None else DecidedBy(
                "rule", element_id("policy", ns.name, hook, outcome.policy_chain or ""),
                f":{outcome.policy_chain} {outcome.verdict}", KERNEL)
            self.hop(ns.name, device, action, f"{hook}: {rule or f'{outcome.policy_chain} policy'} {how}", pkt, ref,
                     table=hook, rules=lines, matched=refs)
            tool = "nftables" if isinstance(rule, (nft.NftRule, nft.NftElement)) else "iptables"
            raise Stop("rejected" if action == "reject" else "dropped",
                       f"{tool} on {ns.name} {'rejected' if action == 'reject' else 'dropped'} the packet "
                       f"at {hook}: {rule}")
        nat_rule = outcome.nat_rules[-1] if outcome.nat_rules else None
        nat_ref = self.rule_ref(ns, nat_rule) if nat_rule is not None else None
        if after.dst != pkt.dst or after.dport != pkt.dport:
            self.nat.append((ns.name, device, "dnat", pkt, after, nat_ref))
            self.hop(ns.name, device, "dnat", f"{hook}: DNAT {pkt.destination} → {after.destination} "
                     f"({' → '.join(_chains(outcome.matched))})", after, nat_ref or refs[-1], table=hook,
                     changed=("dst",), rules=lines, matched=refs)
        if after.src != pkt.src or after.sport != pkt.sport:
            self.nat.append((ns.name, device, "snat", pkt, after, nat_ref))
            self.hop(ns.name, device, "snat", f"{hook}: {nat_rule.target_name if nat_rule else 'SNAT'} "
                     f"{pkt.source} → {after.source} ({' → '.join(_chains(outcome.matched))})", after,
                     nat_ref or refs[-1], table=hook, changed=("src",), rules=lines, matched=refs)
        return after

    def conntrack(self, ns: NetNS, hook: str, pkt: Packet, in_dev: str | None, out_dev: str | None) -> Packet:
        """A reply of a tracked connection: no rules run; the NAT done here is undone (the SNAT's on the way in,
        the DNAT's on the way out)."""
        undo = ("snat",) if hook in ("PREROUTING", "OUTPUT") else ("dnat",) if hook in ("POSTROUTING", "INPUT") else ()
        for at, _dev, kind, before, after, rule in reversed(self.nat):
            if at != ns.name or kind not in undo:
                continue
            if kind == "snat" and (pkt.dst, pkt.dport) == (after.src, after.sport):
                back = pkt.with_dst(before.src, before.sport)
            elif kind == "dnat" and (pkt.src, pkt.sport) == (after.dst, after.dport):
                back = pkt.with_src(before.dst, before.dport)
            else:
                continue
            what = "destination" if kind == "snat" else "source"
            entry = (f"{before.proto.lower()} src={before.src} dst={before.dst} sport={before.sport} "
                     f"dport={before.dport} src={after.dst} dst={after.src} sport={after.dport} dport={after.sport}")
            owner = rule.owner if rule is not None else KERNEL
            ref = DecidedBy("conntrack", element_id("conntrack", ns.name, kind, before.source, before.destination),
                            entry, Owner("kernel", owner.node, owner.object,
                                         (f"the {kind.upper()} rule that made the entry: {rule.text}" if rule else "",
                                          *owner.chain) if rule else owner.chain,
                                         f"conntrack remembers the {kind.upper()} of this connection"))
            self.hop(ns.name, (in_dev if hook == "PREROUTING" else out_dev) or "-", "un-nat",
                     f"{hook}: conntrack knows this connection and undoes the {kind.upper()} on the reply's {what}: "
                     f"{pkt.source} → {pkt.destination} becomes {back.source} → {back.destination}", back, ref,
                     changed=("dst",) if kind == "snat" else ("src",))
            pkt = back
        return pkt

    # --- the walk -----------------------------------------------------------------------------
    def route(self, ns: NetNS, pkt: Packet, device_hint: str = "") -> Route:
        r = ns.routes.lookup(pkt.dst)
        if r is None:
            self.hop(ns.name, device_hint or "-", "drop", f"no route to {pkt.dst} in the routing table "
                     "(and no default route)", pkt, self.table_ref(ns, pkt.dst), table="route")
            raise Stop("no-route", f"{ns.name} has no route to {pkt.dst}")
        if r.type != "unicast":
            self.hop(ns.name, device_hint or "-", "drop", f"the row {r} matches: a {r.type} route drops the "
                     f"packet ({r.why})", pkt, self.route_ref(ns, r), table="route")
            raise Stop("no-route" if r.type == "blackhole" else "rejected", f"{ns.name}: {r.type} route {r}")
        longest = "longest prefix match" if not r.is_default else "no more specific row: the default route"
        self.hop(ns.name, r.dev or "-", "route", f"{longest}: {r} ({r.why})", pkt, self.route_ref(ns, r),
                 table="route")
        return r

    def local_route(self, ns: NetNS, pkt: Packet) -> Route:
        """An address of this namespace (127.0.0.0/8 included) is routed by the local table, before the main
        table is looked at; the packet goes through lo."""
        if pkt.dst.is_loopback:
            dst, dev, src, owner = LOOPBACK_NET, "lo", LOOPBACK_ADDRESS, LOOPBACK_ROUTE_OWNER
            why = "every namespace's loopback range"
        else:
            holder = ns.owner_of(pkt.dst)
            dst, dev, src = IPv4Network(f"{pkt.dst}/32"), holder.name if holder else "lo", pkt.dst
            owner = Owner("kernel", why=f"the kernel adds it for the address {pkt.dst} on {dev}")
            why = f"{pkt.dst} is an address of this host"
        text = f"local {dst if dst.prefixlen < 32 else dst.network_address} dev {dev} table local proto kernel " \
               f"scope host src {src}"
        self.hop(ns.name, "lo", "route", f"the local table: {text} ({why}: delivered through lo)", pkt,
                 DecidedBy("route", element_id("route", ns.name, "local", str(dst)), text, owner), table="route")
        return Route(dst, "lo", proto="kernel", scope="host", src=src, owner=owner)

    def route_localnet(self, ns: NetNS, dev: str | None) -> bool:
        """``net.ipv4.conf.{all,DEV}.route_localnet``: may 127.0.0.0/8 be routed to or from ``dev``?"""
        return "1" in (ns.sysctl("net.ipv4.conf.all.route_localnet"),
                       ns.sysctl(f"net.ipv4.conf.{dev}.route_localnet") if dev else "0")

    def localnet_check(self, ns: NetNS, pkt: Packet, dev: str | None, source: bool) -> None:
        """The kernel refuses a 127.0.0.0/8 address on a device other than lo unless route_localnet is on
        (``__mkroute_output`` for a loopback source, ``ip_route_input_slow`` for a loopback destination)."""
        name = "net.ipv4.conf.all.route_localnet"
        if self.route_localnet(ns, dev):
            if ns.sysctl(name) != "1":
                name = f"net.ipv4.conf.{dev}.route_localnet"  # set for this device alone (portmap does)
            owner = ns.sysctl_owners.get(name, KERNEL)
            self.hop(ns.name, dev or "-", "route", f"the {'source' if source else 'destination'} "
                     f"{pkt.src if source else pkt.dst} is a loopback address on {dev}: allowed because "
                     f"{name} = 1 ({owner.why or owner.component})", pkt, self.sysctl_ref(ns, name), table="route")
            return
        side = "source" if source else "destination"
        addr = pkt.src if source else pkt.dst
        self.hop(ns.name, dev or "-", "drop", f"the {side} {addr} is a loopback address and {dev} is not lo: with "
                 f"{name} = 0 the kernel treats it as martian and drops the packet", pkt, self.sysctl_ref(ns, name),
                 table="route")
        raise Stop("dropped", f"{ns.name} does not route the loopback {side} {addr} over {dev} "
                   f"({name} = 0)")

    def originate(self, ns: NetNS, pkt: Packet) -> None:
        local = pkt.dst.is_loopback or pkt.dst in ns.local_addresses()
        r = self.local_route(ns, pkt) if local else self.route(ns, pkt)
        if pkt.src == _ANY:
            src = ns.source_address(r)
            assert src is not None
            pkt = pkt.with_src(src)
            self.hops[-1].src = pkt.source
        after = self.netfilter(ns, "OUTPUT", pkt, None, r.dev)
        if after.dst != pkt.dst:
            r = self.route(ns, after)  # the kernel routes again after OUTPUT DNAT changed the destination
            if after.src.is_loopback and r.dev != "lo" and not self.replying:
                self.localnet_check(ns, after, r.dev, source=True)
        pkt = after
        if pkt.dst in ns.local_addresses() or pkt.dst.is_loopback:
            if self.replying:
                # A reply that stays in this namespace still leaves through POSTROUTING and comes back in through
                # INPUT (over lo): conntrack undoes the DNAT of a connection the host made to its own Service there.
                pkt = self.netfilter(ns, "POSTROUTING", pkt, None, "lo")
                pkt = self.netfilter(ns, "INPUT", pkt, "lo", None)
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
        if pkt.dst.is_loopback and dev != "lo":
            self.localnet_check(ns, pkt, dev, source=False)
        if pkt.dst in ns.local_addresses() or pkt.dst.is_loopback:
            if self.outer is None and pkt.proto == "UDP" and _vxlan_device(ns, pkt) is not None:
                raise Stop("dropped", "a VXLAN packet without an inner packet")
            pkt = self.netfilter(ns, "INPUT", pkt, dev, None)
            self.deliver(ns, dev, pkt)
            return
        if not ns.ip_forward:
            self.hop(ns.name, dev, "drop", f"{pkt.dst} is not an address of this host and "
                     "net.ipv4.ip_forward = 0: the kernel does not forward", pkt,
                     self.sysctl_ref(ns, "net.ipv4.ip_forward"))
            raise Stop("dropped", f"{ns.name} does not forward packets (net.ipv4.ip_forward = 0)")
        r = self.route(ns, pkt, dev)
        pkt = self.netfilter(ns, "FORWARD", pkt, dev, r.dev)
        pkt = self.netfilter(ns, "POSTROUTING", pkt, dev, r.dev)
        self.transmit(ns, r, pkt)

    def transmit(self, ns: NetNS, r: Route, pkt: Packet) -> None:
        dev = ns.interfaces.get(r.dev or "")
        if dev is None:
            self.hop(ns.name, r.dev or "-", "drop", f"the route names device {r.dev}, which does not exist", pkt,
                     self.route_ref(ns, r))
            raise Stop("no-route", f"{ns.name}: device {r.dev} does not exist")
        nexthop = r.via or pkt.dst
        if dev.kind == "veth":
            assert dev.peer is not None
            peer_ns = self.network.netns[dev.peer[0]]
            ref, how = self.link_ref(ns, dev), ""
            peer_dev = peer_ns.interfaces.get(dev.peer[1])
            if peer_dev is not None and peer_dev.master is None and nexthop not in peer_ns.local_addresses():
                ref, how = self.arp_answer(ns, dev.name, peer_ns, peer_dev.name, pkt, nexthop)
            self.hop(ns.name, dev.name, "veth", f"out of {dev.name}, into its veth peer {dev.peer[1]} in "
                     f"{peer_ns.name}{how}", pkt, ref, peer=f"{peer_ns.name}#{dev.peer[1]}")
            self.arrive(peer_ns, dev.peer[1], pkt, nexthop)
        elif dev.kind == "bridge":
            self.bridge_forward(ns, dev.name, pkt, nexthop)
        elif dev.kind == "vxlan":
            self.encapsulate(ns, dev.name, pkt, nexthop)
        elif dev.kind == "ipip":
            self.ipip_encapsulate(ns, dev.name, pkt, nexthop)
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
                         "the node's IP stack", pkt, self.address_ref(ns, bridge, nexthop),
                         peer=f"{ns.name}#{dev.name}")
                self.receive(ns, bridge.name, pkt)
            else:
                self.hop(ns.name, bridge.name, "bridge", f"the frame enters {bridge.name} on port {dev.name}",
                         pkt, self.port_ref(ns, bridge, dev), peer=f"{ns.name}#{dev.name}")
                after = self.bridged_netfilter(ns, bridge.name, pkt)
                if after.dst != pkt.dst:
                    nexthop = after.dst
                self.bridge_forward(ns, bridge.name, after, nexthop)
            return
        self.receive(ns, dev_name, pkt)

    def bridged_netfilter(self, ns: NetNS, bridge: str, pkt: Packet) -> Packet:
        """A frame bridged from port to port meets iptables (and conntrack) only through br_netfilter.

        With ``net.bridge.bridge-nf-call-iptables = 1`` the bridge hands IPv4 frames to the PREROUTING,
        FORWARD and POSTROUTING hooks, so a reply between two pods of one bridge is un-NATed like a routed
        one. With 0 it skips them: a reply to a Service connection keeps the pod's own address.
        """
        if ns.sysctl("net.bridge.bridge-nf-call-iptables") == "1":
            for hook in ("PREROUTING", "FORWARD", "POSTROUTING"):
                pkt = self.netfilter(ns, hook, pkt, bridge, bridge)
            return pkt
        if self.replying and any(at == ns.name for at, *_ in self.nat):
            self.hop(ns.name, bridge, "bridge", f"net.bridge.bridge-nf-call-iptables = 0: {bridge} forwards the "
                     "frame without handing it to iptables, so conntrack does not undo the NAT of this connection",
                     pkt, self.sysctl_ref(ns, "net.bridge.bridge-nf-call-iptables"))
        return pkt

    @staticmethod
    def port_ref(ns: NetNS, bridge: Interface, port: Interface) -> DecidedBy:
        """The bridge's forwarding entry for the MAC behind a port (``bridge fdb`` shows it as learned)."""
        return DecidedBy("fdb", element_id("port", ns.name, port.name),
                         f"{port.mac} dev {port.name} master {bridge.name}", port.owner)

    def bridge_forward(self, ns: NetNS, bridge: str, pkt: Packet, nexthop: IPv4Address) -> None:
        for port in ns.interfaces.values():
            if port.master != bridge or port.peer is None:
                continue
            peer_ns = self.network.netns[port.peer[0]]
            peer_dev = peer_ns.interfaces[port.peer[1]]
            if peer_dev.owns(nexthop):
                entry = DecidedBy("fdb", element_id("port", ns.name, port.name),
                                  f"{peer_dev.mac} dev {port.name} master {bridge}", port.owner)
                self.hop(ns.name, bridge, "bridge", f"{bridge} forwards the frame: {nexthop} answers ARP from "
                         f"behind port {port.name} (its MAC is in the bridge's forwarding table)", pkt, entry,
                         peer=f"{ns.name}#{port.name}")
                self.hop(ns.name, port.name, "veth", f"out of {port.name}, into its veth peer {port.peer[1]} in "
                         f"{peer_ns.name}", pkt, self.link_ref(ns, port), peer=f"{peer_ns.name}#{port.peer[1]}")
                self.receive(peer_ns, port.peer[1], pkt)
                return
        self.hop(ns.name, bridge, "drop", f"no port of {bridge} answers ARP for {nexthop}", pkt,
                 DecidedBy("neighbour", element_id("neigh", ns.name, bridge, str(nexthop)),
                           f"{nexthop} dev {bridge} FAILED", KERNEL))
        raise Stop("no-route", f"{nexthop} is not reachable on {bridge} in {ns.name}")

    def encapsulate(self, ns: NetNS, dev_name: str, pkt: Packet, nexthop: IPv4Address) -> None:
        dev = ns.interfaces[dev_name]
        vx = dev.vxlan or {}
        neigh = ns.neighbour(dev_name, nexthop)
        entry = ns.fdb_entry(dev_name, neigh.lladdr) if neigh is not None else None
        if neigh is None or entry is None:
            self.hop(ns.name, dev_name, "drop", f"{dev_name} has no neighbour/FDB entry for {nexthop}", pkt,
                     DecidedBy("neighbour", element_id("neigh", ns.name, dev_name, str(nexthop)),
                               f"{nexthop} dev {dev_name} FAILED", KERNEL))
            raise Stop("no-route", f"{dev_name} on {ns.name} does not know which node holds {nexthop}")
        remote = entry.dst
        outer = Packet(IPv4Address(str(vx["local"])), remote, "UDP", _vxlan_sport(pkt), int(vx["dstport"]),
                       inner=pkt)
        self.outer = outer
        self.hop(ns.name, dev_name, "encap", f"VXLAN VNI {vx['id']}: the neighbour entry gives {nexthop} MAC "
                 f"{neigh.lladdr}, the FDB maps that MAC to node {remote}; the frame is wrapped in UDP to "
                 f"{remote}:{vx['dstport']}", pkt,
                 DecidedBy("fdb", element_id("fdb", ns.name, dev_name, entry.mac), entry.line, entry.owner),
                 changed=("outer",))
        r = ns.routes.lookup(remote)
        if r is None:
            raise Stop("no-route", f"{ns.name} has no route to the VXLAN peer {remote}")
        self.hop(ns.name, r.dev or "-", "route", f"the outer packet: {r}", pkt, self.route_ref(ns, r), table="route")
        self.wire(ns, r.dev or "eth0", pkt, r.via or remote)

    def arp_answer(self, ns: NetNS, dev: str, peer_ns: NetNS, peer_dev: str, pkt: Packet,
                   nexthop: IPv4Address) -> tuple[DecidedBy, str]:
        """Who answers ARP for ``nexthop`` at the far end of a veth that does not hold it: proxy ARP, or nobody.

        Linux answers for an address it does not hold when ``proxy_arp`` is on for the device the request
        came in on and it has a route to that address through another device (Calico's ``169.254.1.1``).
        """
        name = f"net.ipv4.conf.{peer_dev}.proxy_arp"
        if "1" in (peer_ns.sysctl(name), peer_ns.sysctl("net.ipv4.conf.all.proxy_arp")):
            via = peer_ns.routes.lookup(nexthop)
            if via is not None and via.dev != peer_dev and via.type == "unicast":
                key = name if peer_ns.sysctl(name) == "1" else "net.ipv4.conf.all.proxy_arp"
                mac = peer_ns.interfaces[peer_dev].mac
                return self.sysctl_ref(peer_ns, key), (
                    f"; {nexthop} is no address of {peer_ns.name}, but proxy ARP on {peer_dev} answers its ARP "
                    f"request with {peer_dev}'s own MAC {mac} (it has a route to {nexthop} through {via.dev}), so "
                    f"the frame goes to {peer_ns.name}")
        self.hop(ns.name, dev, "drop", f"nobody at the far end of {dev} ({peer_ns.name}#{peer_dev}) answers ARP "
                 f"for the next hop {nexthop}: it is not an address there and proxy ARP is off", pkt,
                 DecidedBy("neighbour", element_id("neigh", ns.name, dev, str(nexthop)),
                           f"{nexthop} dev {dev} FAILED", KERNEL))
        raise Stop("no-route", f"{nexthop} does not answer ARP on {dev} in {ns.name}")

    def ipip_encapsulate(self, ns: NetNS, dev_name: str, pkt: Packet, nexthop: IPv4Address) -> None:
        """IP-in-IP: an outer IPv4 header (protocol 4) to the tunnel's remote, or, on a tunnel without one
        (``tunl0``), to the route's next hop; the outer source is the tunnel's local address, else the one
        the kernel picks for the outer route."""
        dev = ns.interfaces[dev_name]
        conf = dev.vxlan or {}  # an ipip device keeps its local/remote in the same parameters
        remote = IPv4Address(str(conf["remote"])) if conf.get("remote") else nexthop
        r = ns.routes.lookup(remote)
        if r is None or r.dev == dev_name:
            self.hop(ns.name, dev_name, "drop", f"{dev_name} has no route for the outer packet to {remote}", pkt,
                     self.table_ref(ns, remote), table="route")
            raise Stop("no-route", f"{ns.name} has no route to the IP-in-IP peer {remote}")
        local = IPv4Address(str(conf["local"])) if conf.get("local") else ns.source_address(r)
        assert local is not None
        self.outer = Packet(local, remote, "IPIP", inner=pkt)
        whose = "the tunnel's remote" if conf.get("remote") else \
            f"the route's next hop ({dev_name} has no fixed remote: each route names the far end)"
        self.hop(ns.name, dev_name, "encap", f"IP-in-IP: {dev_name} wraps the packet in an outer IP header "
                 f"(protocol 4) from {local} to {remote}, {whose}", pkt, self.link_ref(ns, dev), changed=("outer",))
        self.hop(ns.name, r.dev or "-", "route", f"the outer packet: {r}", pkt, self.route_ref(ns, r), table="route")
        self.wire(ns, r.dev or "eth0", pkt, r.via or remote)

    def wire(self, ns: NetNS, dev_name: str, pkt: Packet, nexthop: IPv4Address) -> None:
        target = self.network.lan_host(nexthop)
        carried = self.outer or pkt
        if target is None:
            self.beyond(ns, dev_name, pkt, nexthop)
            return
        peer_ns = self.network.netns[target]
        eth0 = peer_ns.interfaces.get("eth0")
        ref = self.address_ref(peer_ns, eth0, nexthop) if eth0 is not None else self.gateway_ref()
        self.hop(ns.name, dev_name, "forward", f"onto the wire: {ns.name} → {peer_ns.name} "
                 f"({carried.src} → {carried.dst}, next hop {nexthop})", pkt, ref, peer=f"{peer_ns.name}#eth0")
        if self.outer is not None:
            here = self.outer.dst in peer_ns.local_addresses()
            if self.outer.proto == "IPIP":
                tunnel = _ipip_device(peer_ns, self.outer) if here else None
                if tunnel is not None:
                    self.outer = None
                    self.hop(peer_ns.name, tunnel.name, "decap", f"protocol 4 (IP-in-IP) reaches {tunnel.name}, "
                             "which strips the outer header; the inner packet arrives on it", pkt,
                             self.link_ref(peer_ns, tunnel), changed=("outer",))
                    self.receive(peer_ns, tunnel.name, pkt)
                    return
                self.hop(peer_ns.name, "eth0", "drop", f"an IP-in-IP packet reaches {peer_ns.name}, which has no "
                         "IP-in-IP device to unwrap it (the kernel answers protocol unreachable)", pkt,
                         self.address_ref(peer_ns, eth0, self.outer.dst) if eth0 is not None else self.gateway_ref())
                raise Stop("dropped", f"the IP-in-IP packet reached {peer_ns.name}, which has no ipip device")
            vxlan = _vxlan_device(peer_ns, self.outer) if here else None
            if vxlan is not None:
                self.outer = None
                self.hop(peer_ns.name, vxlan.name, "decap", f"UDP {(vxlan.vxlan or {}).get('dstport')} reaches the "
                         f"VXLAN device {vxlan.name} (VNI {(vxlan.vxlan or {}).get('id')}), which strips the outer "
                         "headers", pkt, self.link_ref(peer_ns, vxlan), changed=("outer",))
                self.receive(peer_ns, vxlan.name, pkt)
                return
            raise Stop("dropped", f"the VXLAN packet reached {peer_ns.name}, which has no VXLAN device")
        self.receive(peer_ns, "eth0", pkt)

    def walk_reply(self, start: Any, pkt: Packet, forward_reason: str) -> None:
        """Walk the answer back to the client; a connection needs its replies to find their way too."""
        self.replying = True
        self.egress_checked = True
        try:
            start(pkt.reply())
        except Stop as stop:
            if stop.verdict == "delivered":
                raise Stop("delivered", forward_reason) from None
            raise Stop(stop.verdict, f"{forward_reason}, but the reply cannot get back: {stop.reason}") from None
        raise Stop("dropped", f"{forward_reason}, but the reply went nowhere")

    def deliver(self, ns: NetNS, dev: str, pkt: Packet) -> None:
        who = self.describe(ns)
        ref = self.local_ref(ns, pkt.dst)
        if self.replying:
            if self.sent_to and pkt.source != self.sent_to:
                self.hop(ns.name, dev, "drop", f"the reply reaches {who} from {pkt.source}, but its socket is "
                         f"connected to {self.sent_to}: the kernel finds no connection for it and drops it (TCP "
                         "answers with a reset)", pkt, ref)
                raise Stop("dropped", f"the reply comes from {pkt.source}, not from {self.sent_to}, where the "
                           "client sent")
            self.hop(ns.name, dev, "deliver", f"the reply reaches {who} from {pkt.source}, the address it sent to: "
                     "the connection is answered", pkt, ref)
            raise Stop("delivered", "the reply came back")
        closed = self.no_listener(ns, pkt)
        if closed is not None:
            answer = "a TCP reset" if pkt.proto == "TCP" else "ICMP port unreachable"
            self.hop(ns.name, dev, "reject", f"{pkt.dst} is an address of {who}, but {closed}: the kernel answers "
                     f"with {answer}", pkt, DecidedBy("socket", element_id("socket", ns.name, pkt.proto,
                                                                              str(pkt.dport)),
                                                      f"no socket listens on {pkt.proto} port {pkt.dport}", KERNEL))
            raise Stop("rejected", f"connection refused by {who} at {pkt.destination}: {closed}")
        note = self.receiver_note(ns, pkt)
        self.hop(ns.name, dev, "deliver", f"{pkt.dst} is an address of {who}: the packet is delivered to the "
                 f"socket on port {pkt.dport}; the receiver sees the client {pkt.source}{note}", pkt, ref)
        self.delivered(ns, pkt)
        self.walk_reply(lambda reply: self.originate(ns, reply), pkt,
                        f"delivered to {who} at {pkt.destination}, from {pkt.source}")


def _vxlan_device(ns: NetNS, outer: Packet) -> Interface | None:
    """The VXLAN device a UDP packet to this host is for: the one listening on its destination port."""
    for dev in ns.interfaces.values():
        if dev.kind == "vxlan" and dev.vxlan and int(dev.vxlan.get("dstport", 0)) == outer.dport:
            return dev
    return None


def _ipip_device(ns: NetNS, outer: Packet) -> Interface | None:
    """The ipip device that takes an IP-in-IP packet: one whose remote is its source, else the catch-all
    (no remote, like ``tunl0``)."""
    devs = [d for d in ns.interfaces.values() if d.kind == "ipip"]
    for d in devs:
        if (d.vxlan or {}).get("remote") and str((d.vxlan or {})["remote"]) == str(outer.src):
            return d
    return next((d for d in devs if not (d.vxlan or {}).get("remote")), None)


def _chains(rules: tuple[Any, ...]) -> list[str]:
    """The call path to the last rule that matched: a chain a jump returned from is no longer on it.

    POSTROUTING jumps to KUBE-POSTROUTING, which returns, then to KIND-MASQ-AGENT: the path of the
    MASQUERADE rule there is POSTROUTING → KIND-MASQ-AGENT, two calls side by side, not nested ones.
    """
    path: list[str] = []
    for r in rules:
        if not r.chain:
            continue  # a map element (nftables): not a chain of the path
        if r.chain in path:
            del path[path.index(r.chain) + 1:]
        else:
            path.append(r.chain)
    return path


def _vxlan_sport(pkt: Packet) -> int:
    # The kernel picks the outer source port from a hash of the inner flow, in the ephemeral range.
    h = (int(pkt.src) * 31 + int(pkt.dst) * 17 + (pkt.sport or 0) * 7 + (pkt.dport or 0)) % (61000 - 32768)
    return 32768 + h
