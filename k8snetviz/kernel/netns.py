"""A network namespace: its devices and their addresses, its routing table, neighbour and FDB entries,
sysctls and netfilter rules — the state ``ip``, ``bridge``, ``sysctl`` and ``iptables-save`` show.

Every row carries its :class:`~k8snetviz.agents.writes.Owner`: the program that wrote it and the object
it was written for.

>>> ns = NetNS("node/kind-worker", "node")
>>> eth0 = ns.add_interface(Interface("eth0", "ether", 2, addrs=[IPv4Interface("172.18.0.3/16")]))
>>> ns.ip_forward
False
>>> ns.set_sysctl("net.ipv4.ip_forward", "1")
>>> ns.ip_forward
True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, TypeVar

from k8snetviz.agents.writes import KERNEL, Owner
from k8snetviz.kernel.routing import Route, RoutingTable

__all__ = ["Interface", "Neighbour", "FdbEntry", "NetNS", "LayeredMap", "IpSet", "SYSCTL_DEFAULTS"]

# Devices and addresses added, in every namespace: what a namespace's cache of its own addresses checks.
_CHANGES = [0]

_K = TypeVar("_K")
_V = TypeVar("_V")

# What a fresh network namespace starts with (kernel defaults).
SYSCTL_DEFAULTS = {
    "net.ipv4.ip_forward": "0",
    "net.ipv4.conf.all.route_localnet": "0",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.bridge.bridge-nf-call-iptables": "1",
}


@dataclass
class Interface:
    """A network device inside one namespace."""

    name: str
    kind: str  # loopback | ether | veth | bridge | vxlan | ipip
    ifindex: int
    mac: str = "00:00:00:00:00:00"
    addrs: list[IPv4Interface] = field(default_factory=list)
    mtu: int = 1500
    master: str | None = None  # the bridge this device is a port of
    peer: tuple[str, str] | None = None  # (namespace, device) at the other end of a veth pair
    peer_ifindex: int | None = None
    vxlan: dict[str, Any] | None = None  # id, local, dstport for a VXLAN device
    up: bool = True
    owner: Owner = KERNEL
    addr_owners: dict[IPv4Interface, Owner] = field(default_factory=dict)

    @property
    def primary(self) -> IPv4Address | None:
        return self.addrs[0].ip if self.addrs else None

    def owns(self, addr: IPv4Address) -> bool:
        return any(a.ip == addr for a in self.addrs)

    def add_address(self, address: IPv4Interface, owner: Owner = KERNEL) -> None:
        self.addrs.append(address)
        self.addr_owners[address] = owner
        _CHANGES[0] += 1

    def address_owner(self, address: IPv4Interface) -> Owner:
        return self.addr_owners.get(address, self.owner)


@dataclass(frozen=True)
class Neighbour:
    """A permanent neighbour entry (``ip neigh``): the link-layer address of an IP on a device."""

    ip: IPv4Address
    lladdr: str
    dev: str
    owner: Owner = KERNEL

    @property
    def line(self) -> str:
        return f"{self.ip} dev {self.dev} lladdr {self.lladdr} PERMANENT"


@dataclass(frozen=True)
class FdbEntry:
    """A forwarding-database entry of a VXLAN device (``bridge fdb``): which node IP a MAC lives behind."""

    mac: str
    dst: IPv4Address
    dev: str
    owner: Owner = KERNEL

    @property
    def line(self) -> str:
        return f"{self.mac} dev {self.dev} dst {self.dst} self permanent"


class LayeredMap(MutableMapping[_K, _V]):
    """A namespace's own entries over a base shared with other namespaces, minus the base entries it hides.

    flanneld gives every node a neighbour and an FDB entry for each other node's VTEP: the kernel keeps
    them once (the base, never changed) and each node hides its own; what a node adds or deletes later
    is its own (copy-on-write, entry by entry).
    """

    __slots__ = ("base", "hidden", "own")

    def __init__(self, base: Mapping[_K, _V], hidden: Iterator[_K] | set[_K] | tuple[_K, ...] = ()) -> None:
        self.base = base
        self.hidden: set[_K] = set(hidden)
        self.own: dict[_K, _V] = {}

    def __getitem__(self, key: _K) -> _V:
        if key in self.own:
            return self.own[key]
        if key in self.hidden:
            raise KeyError(key)
        return self.base[key]

    def __setitem__(self, key: _K, value: _V) -> None:
        self.own[key] = value

    def __delitem__(self, key: _K) -> None:
        if key in self.own:
            del self.own[key]
        elif key in self.base and key not in self.hidden:
            self.hidden.add(key)
        else:
            raise KeyError(key)

    def __iter__(self) -> Iterator[_K]:
        for key in self.base:
            if key not in self.hidden and key not in self.own:
                yield key
        yield from self.own

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class IpSet:
    """An ipset (``ipset list``): a named set of networks that ``-m set`` rules match against."""

    name: str
    type: str
    members: tuple[IPv4Network, ...]
    owner: Owner = KERNEL

    @property
    def line(self) -> str:
        return f"create {self.name} {self.type} family inet"


@dataclass
class NetNS:
    """A network namespace: a node's (the root namespace of a kind node), a pod's, or an outside host's."""

    name: str  # node/NAME, pod/NS/NAME, external/NAME, loadbalancer/NS/NAME
    kind: str  # node | pod | external | loadbalancer
    interfaces: dict[str, Interface] = field(default_factory=dict)
    routes: RoutingTable = field(default_factory=RoutingTable)
    ruleset: Any = None  # a netfilter.Ruleset, where the namespace has rules
    nftables: Any = None  # an nftables.NftRuleset, where a program loaded tables with nft
    # dev -> ip -> entry; dev -> mac -> entry (a plain dict, or a LayeredMap over entries many nodes share)
    neighbours: dict[str, MutableMapping[IPv4Address, Neighbour]] = field(default_factory=dict)
    fdb: dict[str, MutableMapping[str, FdbEntry]] = field(default_factory=dict)
    sysctls: dict[str, str] = field(default_factory=dict)  # only what differs from SYSCTL_DEFAULTS
    sysctl_owners: dict[str, Owner] = field(default_factory=dict)
    nfacct: dict[str, Owner] = field(default_factory=dict)  # nfacct counter objects by name, with who made them
    ipsets: dict[str, IpSet] = field(default_factory=dict)
    owner: Owner = KERNEL
    _top_ifindex: int = field(default=0, repr=False, compare=False)
    _local: tuple[tuple[int, int], frozenset[IPv4Address]] | None = field(default=None, repr=False, compare=False)

    # -- sysctls --------------------------------------------------------------------------------------
    def sysctl(self, name: str) -> str:
        return self.sysctls.get(name, SYSCTL_DEFAULTS.get(name, "0"))

    def set_sysctl(self, name: str, value: str, owner: Owner = KERNEL) -> None:
        self.sysctls[name] = str(value)
        self.sysctl_owners[name] = owner

    @property
    def ip_forward(self) -> bool:
        return self.sysctl("net.ipv4.ip_forward") == "1"

    # -- devices --------------------------------------------------------------------------------------
    def add_interface(self, iface: Interface) -> Interface:
        self.interfaces[iface.name] = iface
        self._top_ifindex = max(self._top_ifindex, iface.ifindex)
        _CHANGES[0] += 1
        return iface

    def next_ifindex(self) -> int:
        return self._top_ifindex + 1

    def local_addresses(self) -> frozenset[IPv4Address]:
        """Every address of the namespace's devices (kept until a device or an address is added anywhere,
        or a device removed: a walk asks at every hook, and a node may hold hundreds of devices)."""
        stamp = (_CHANGES[0], len(self.interfaces))
        cached = self._local
        if cached is None or cached[0] != stamp:
            cached = self._local = (stamp, frozenset(a.ip for i in self.interfaces.values() for a in i.addrs))
        return cached[1]

    def owner_of(self, addr: IPv4Address) -> Interface | None:
        for i in self.interfaces.values():
            if i.owns(addr):
                return i
        return None

    def neighbour(self, dev: str, addr: IPv4Address) -> Neighbour | None:
        return self.neighbours.get(dev, {}).get(addr)

    def fdb_entry(self, dev: str, mac: str) -> FdbEntry | None:
        return self.fdb.get(dev, {}).get(mac)

    def source_address(self, route: Route) -> IPv4Address | None:
        """Source address selection: the route's ``src``, else the outgoing device's primary address."""
        if route.src is not None:
            return route.src
        dev = self.interfaces.get(route.dev) if route.dev else None
        if dev and dev.primary is not None:
            return dev.primary
        for i in self.interfaces.values():
            if i.kind != "loopback" and i.primary is not None:
                return i.primary
        return None
