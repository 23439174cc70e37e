"""The kernel applying what the agents ask (:mod:`k8snetviz.agents.writes`): namespaces come into being and
fill with devices, addresses, routes, neighbour and FDB entries, sysctls and netfilter rules, each row
keeping its owner.

Requests are applied in order, as the programs would make them; the kernel hands out interface
indexes (``lo`` is 1 in every new namespace). What the agents write alike on many nodes is kept once:
the routes to the other nodes' podCIDRs (:class:`~k8snetviz.agents.writes.SharedRoutes`) become one
:class:`~k8snetviz.kernel.routing.RouteLayer` under every node's own rows, and one kube-proxy payload
becomes one ruleset whose chains every node shares until it writes to one of them (copy-on-write).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from k8snetviz.agents.writes import (
    AddrAdd,
    FdbAdd,
    IpsetAdd,
    IptablesCall,
    IptablesEdit,
    IptablesRestore,
    LinkAdd,
    LinkSet,
    NeighAdd,
    NetnsAdd,
    NfacctAdd,
    NftablesTransaction,
    Owner,
    RouteAdd,
    RouteDel,
    SharedNeighbours,
    SharedRoutes,
    Sysctl,
    Write,
)
from k8snetviz.errors import K8sNetVizError
from k8snetviz.kernel.netfilter import Ruleset, parse_rule
from k8snetviz.kernel.netns import FdbEntry, Interface, IpSet, LayeredMap, Neighbour, NetNS
from k8snetviz.kernel.nftables import NftRuleset
from k8snetviz.kernel.routing import Route, RouteLayer, interface, ip

__all__ = ["Kernel", "LOOPBACK_OWNER"]

LOOPBACK_OWNER = Owner("kernel", why="every network namespace starts with lo")
_LOOPBACK = IPv4Interface("127.0.0.1/8")


class Kernel:
    """Every network namespace of the cluster and the world around it, built from writes."""

    def __init__(self) -> None:
        self.netns: dict[str, NetNS] = {}
        self._routes: dict[int, tuple[RouteAdd, Route]] = {}
        self._rulesets: dict[int, tuple[IptablesRestore, Ruleset]] = {}
        self._layers: dict[int, tuple[tuple[RouteAdd, ...], RouteLayer, dict[int, Route]]] = {}
        self._entries: dict[int, tuple[SharedNeighbours, dict[IPv4Address, Neighbour], dict[str, FdbEntry]]] = {}
        self._counters: dict[int, tuple[IptablesRestore, set[tuple[str, str]]]] = {}
        self._nft_loaded: dict[int, tuple[NftablesTransaction, NftRuleset]] = {}

    def apply(self, writes: Iterable[Write], netns: str = "") -> None:
        """Apply ``writes`` in order; a write without a namespace goes to ``netns``."""
        default = self.netns.get(netns)
        routes = self._routes
        for w in writes:
            if not w.netns and type(w) is RouteAdd and default is not None:
                # the fast path of a large cluster: a row shared by every node (a peer's podCIDR)
                cached = routes.get(id(w))
                if cached is not None and cached[0] is w:
                    default.routes.add(cached[1])
                    continue
            self._apply(w, w.netns or netns)

    def done(self) -> dict[str, NetNS]:
        """The namespaces, once every agent has written; the caches of shared rows are let go."""
        self._routes.clear()
        self._rulesets.clear()
        self._layers.clear()
        self._entries.clear()
        self._counters.clear()
        self._nft_loaded.clear()
        return self.netns

    def _ns(self, name: str) -> NetNS:
        ns = self.netns.get(name)
        if ns is None:
            raise K8sNetVizError(f'network namespace "{name}" does not exist')
        return ns

    def _apply(self, w: Write, where: str) -> None:
        if isinstance(w, NetnsAdd):
            ns = NetNS(w.netns, w.kind, owner=w.owner)
            ns.add_interface(Interface("lo", "loopback", 1, addrs=[_LOOPBACK], mtu=65536,
                                       owner=LOOPBACK_OWNER))
            self.netns[w.netns] = ns
            return
        ns = self._ns(where)
        if isinstance(w, RouteAdd):
            self._route(ns, w)
        elif isinstance(w, LinkAdd):
            self._link(ns, w)
        elif isinstance(w, AddrAdd):
            dev = ns.interfaces[w.dev]
            dev.add_address(interface(w.address), w.owner)
        elif isinstance(w, LinkSet):
            dev = ns.interfaces[w.name]
            if w.master is not None:
                dev.master = w.master or None
            if w.up is not None:
                dev.up = w.up
        elif isinstance(w, NeighAdd):
            addr = ip(w.ip)
            ns.neighbours.setdefault(w.dev, {})[addr] = Neighbour(addr, w.lladdr, w.dev, w.owner)
        elif isinstance(w, FdbAdd):
            ns.fdb.setdefault(w.dev, {})[w.mac] = FdbEntry(w.mac, ip(w.dst), w.dev, w.owner)
        elif isinstance(w, Sysctl):
            ns.set_sysctl(w.name, w.value, w.owner)
        elif isinstance(w, SharedRoutes):
            self._shared_routes(ns, w)
        elif isinstance(w, SharedNeighbours):
            self._shared_neighbours(ns, w)
        elif isinstance(w, NfacctAdd):
            ns.nfacct.setdefault(w.name, w.owner)
        elif isinstance(w, RouteDel):
            ns.routes.remove(w.dst)
        elif isinstance(w, IpsetAdd):
            ns.ipsets[w.name] = IpSet(w.name, w.type, tuple(IPv4Network(m) for m in w.members), w.owner)
        elif isinstance(w, IptablesRestore):
            self._restore(ns, w)
        elif isinstance(w, IptablesEdit):
            if ns.ruleset is None:
                ns.ruleset = Ruleset(("filter", "nat"))
            ns.ruleset.edit(w)
        elif isinstance(w, IptablesCall):
            self._call(ns, w)
        elif isinstance(w, NftablesTransaction):
            self._nft(ns, w)
        else:  # pragma: no cover - the Write union is closed
            raise TypeError(f"not a write: {w!r}")

    def _route(self, ns: NetNS, w: RouteAdd) -> None:
        cached = self._routes.get(id(w))
        if cached is not None and cached[0] is w:
            ns.routes.add(cached[1])
            return
        route = Route.from_request(w)
        if route.dev is None and route.via is not None:
            # ip route add DST via GW: the kernel takes the device the gateway is reached on.
            through = ns.routes.lookup(route.via)
            if through is None or through.dev is None:
                raise K8sNetVizError(f"{ns.name}: Nexthop has invalid gateway ({route.via} is not reachable)")
            route = route.with_dev(through.dev)
        if not w.netns:
            self._routes[id(w)] = (w, route)  # the request stays referenced, so its id is not reused
        ns.routes.add(route)

    def _shared_routes(self, ns: NetNS, w: SharedRoutes) -> None:
        cached = self._layers.get(id(w.rows))
        if cached is None or cached[0] is not w.rows:
            rows = {}
            for req in w.rows:
                if req.dev is None or req.netns:
                    raise K8sNetVizError(f"{ns.name}: a shared route names its device and no namespace ({req.dst})")
                rows[id(req)] = Route.from_request(req)
            cached = self._layers[id(w.rows)] = (w.rows, RouteLayer(rows.values()), rows)
        _, layer, by_request = cached
        ns.routes.share(layer, [by_request[id(r)] for r in w.exclude if id(r) in by_request])

    def _shared_neighbours(self, ns: NetNS, w: SharedNeighbours) -> None:
        key = id(w.neighbours)
        cached = self._entries.get(key)
        if cached is None or cached[0].neighbours is not w.neighbours:
            neighbours = {ip(n.ip): Neighbour(ip(n.ip), n.lladdr, w.dev, n.owner) for n in w.neighbours}
            fdb = {f.mac: FdbEntry(f.mac, ip(f.dst), w.dev, f.owner) for f in w.fdb}
            cached = self._entries[key] = (w, neighbours, fdb)
        _, neighbours, fdb = cached
        own_ips = {ip(e.ip) for e in w.exclude if isinstance(e, NeighAdd)}
        own_macs = {e.mac for e in w.exclude if isinstance(e, FdbAdd)}
        if w.dev in ns.neighbours or w.dev in ns.fdb:  # entries of its own already: add the rest one by one
            for addr, entry in neighbours.items():
                if addr not in own_ips:
                    ns.neighbours.setdefault(w.dev, {})[addr] = entry
            for mac, fentry in fdb.items():
                if mac not in own_macs:
                    ns.fdb.setdefault(w.dev, {})[mac] = fentry
            return
        ns.neighbours[w.dev] = LayeredMap(neighbours, own_ips)
        ns.fdb[w.dev] = LayeredMap(fdb, own_macs)

    def _link(self, ns: NetNS, w: LinkAdd) -> None:
        vxlan = dict(w.vxlan) if w.vxlan else None
        if vxlan and "local" in vxlan:
            vxlan["local"] = ip(vxlan["local"])
        iface = Interface(w.name, w.kind, ns.next_ifindex(), w.mac, mtu=w.mtu, master=w.master, peer=w.peer,
                          peer_ifindex=w.peer_ifindex, vxlan=vxlan, owner=w.owner)
        ns.add_interface(iface)
        if w.peer is not None:
            other_ns = self.netns.get(w.peer[0])
            other = other_ns.interfaces.get(w.peer[1]) if other_ns else None
            if other is not None:
                other.peer_ifindex, iface.peer_ifindex = iface.ifindex, other.ifindex

    @staticmethod
    def _call(ns: NetNS, w: IptablesCall) -> None:
        if ns.ruleset is None:
            ns.ruleset = Ruleset((w.table,))
        rs = ns.ruleset
        rs.table(w.table)
        if w.op == "-N":
            if not rs.has_chain(w.table, w.chain):
                rs.new_chain(w.table, w.chain)
            return
        line = parse_rule(w.table, w.chain, list(w.args)).line
        if any(r.line == line for r in rs.rules(w.table, w.chain)):
            return  # already there: insertUnique leaves it where it is
        if w.op == "-I":
            rs.insert(w.table, w.chain, list(w.args), 1, w.owner)
        else:
            rs.append(w.table, w.chain, list(w.args), w.owner)

    def _nft(self, ns: NetNS, w: NftablesTransaction) -> None:
        if ns.nftables is None and not w.netns:
            # A transaction several nodes load alike (kube-proxy's nftables mode): loaded once, frozen, and
            # every node's ruleset layers on it, copying a set or chain only when the node writes to it.
            cached = self._nft_loaded.get(id(w))
            if cached is None or cached[0] is not w:
                base = NftRuleset()
                base.apply(w)
                cached = self._nft_loaded[id(w)] = (w, base)
            ns.nftables = cached[1].layered()
            return
        if ns.nftables is None:
            ns.nftables = NftRuleset()
        ns.nftables.apply(w)

    def _restore(self, ns: NetNS, w: IptablesRestore) -> None:
        counters = self._counters.get(id(w))
        if counters is None or counters[0] is not w:
            names = {(args[args.index("--nfacct-name") + 1], chain) for _t, chain, args, _o in w.rules
                     if "--nfacct-name" in args}
            counters = self._counters[id(w)] = (w, names)
        for name, chain in counters[1]:
            if name not in ns.nfacct:
                # xt_nfacct looks the counter up when the rule is added: iptables-restore fails without it.
                raise K8sNetVizError(f"{ns.name}: iptables-restore: RULE_APPEND failed (No such file or "
                                     f"directory): rule in chain {chain} (no nfacct object {name})")
        if ns.ruleset is None and not w.netns:
            # A payload several nodes load alike (kube-proxy's): restored once, frozen, and every node's
            # ruleset layers on it, copying a chain only when the node writes to it.
            cached = self._rulesets.get(id(w))
            if cached is None or cached[0] is not w:
                cached = self._rulesets[id(w)] = (w, Ruleset.restored(w))
            ns.ruleset = cached[1].layered()
            return
        if ns.ruleset is None:
            ns.ruleset = Ruleset.restored(w)
            return
        ns.ruleset.restore(w)
