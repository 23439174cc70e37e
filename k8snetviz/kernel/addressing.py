"""Interfaces, routes and network namespaces: the state `ip addr` and `ip route` show.

The routing table answers one question, the kernel's: which row carries a packet to an address?
The longest matching prefix wins; among rows of equal length, the lowest metric.

>>> t = RoutingTable([Route.parse("default via 172.18.0.1 dev eth0"),
...                   Route.parse("10.244.2.0/24 via 172.18.0.4 dev eth0")])
>>> str(t.lookup("10.244.2.7"))
'10.244.2.0/24 via 172.18.0.4 dev eth0'
>>> str(t.lookup("8.8.8.8"))
'default via 172.18.0.1 dev eth0'
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

__all__ = ["Route", "RoutingTable", "Interface", "NetNS", "ip", "net", "DEFAULT_ROUTE"]

DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")
_ROUTE_KEYS = ("via", "dev", "proto", "scope", "src", "metric")


def ip(value: str | IPv4Address) -> IPv4Address:
    """An IPv4 address from text (or pass one through)."""
    return value if isinstance(value, IPv4Address) else IPv4Address(str(value))


def net(value: str | IPv4Network) -> IPv4Network:
    """An IPv4 network from text; ``default`` is 0.0.0.0/0 and a bare address is a /32."""
    if isinstance(value, IPv4Network):
        return value
    return DEFAULT_ROUTE if value == "default" else IPv4Network(str(value), strict=True)


@dataclass(frozen=True)
class Route:
    """One row of a routing table, printed as ``ip route`` prints it."""

    dst: IPv4Network
    dev: str
    via: IPv4Address | None = None
    proto: str | None = None
    scope: str | None = None
    src: IPv4Address | None = None
    metric: int | None = None
    onlink: bool = False
    why: str = ""  # who installed it (the CNI plugin, flanneld, the kernel): shown in the walk

    @classmethod
    def parse(cls, text: str, why: str = "") -> Route:
        """Read a row in ``ip route`` syntax (the subset this project prints)."""
        words = text.split()
        if not words:
            raise ValueError("a route needs a destination")
        dst = net(words[0])
        opts: dict[str, str] = {}
        flags = set()
        i = 1
        while i < len(words):
            if words[i] == "onlink":
                flags.add("onlink")
                i += 1
            elif words[i] in _ROUTE_KEYS and i + 1 < len(words):
                opts[words[i]] = words[i + 1]
                i += 2
            else:
                # iproute2's own words for a word it does not know
                raise ValueError(f'either "to" is duplicate, or "{words[i]}" is a garbage.')
        if "dev" not in opts:
            raise ValueError(f'"{text}": the model needs the device (dev NAME)')
        return cls(
            dst=dst,
            dev=opts["dev"],
            via=ip(opts["via"]) if "via" in opts else None,
            proto=opts.get("proto"),
            scope=opts.get("scope"),
            src=ip(opts["src"]) if "src" in opts else None,
            metric=int(opts["metric"]) if "metric" in opts else None,
            onlink="onlink" in flags,
            why=why,
        )

    @property
    def is_default(self) -> bool:
        return self.dst.prefixlen == 0

    @functools.cached_property
    def _key(self) -> tuple[int, int]:
        # Cached on the (shared, immutable) row: a large cluster adds the same rows to many tables.
        return self.dst.prefixlen, int(self.dst.network_address)

    def __str__(self) -> str:
        if self.is_default:
            head = "default"
        elif self.dst.prefixlen == 32:
            head = str(self.dst.network_address)
        else:
            head = str(self.dst)
        parts = [head]
        if self.via is not None:
            parts += ["via", str(self.via)]
        parts += ["dev", self.dev]
        if self.proto:
            parts += ["proto", self.proto]
        if self.scope:
            parts += ["scope", self.scope]
        if self.src is not None:
            parts += ["src", str(self.src)]
        if self.metric is not None:
            parts += ["metric", str(self.metric)]
        if self.onlink:
            parts.append("onlink")
        return " ".join(parts)


class RoutingTable:
    """The main routing table of one network namespace.

    Rows are also kept by prefix length, so a lookup tries at most 33 prefixes instead of every row:
    a node of a 1,000-node cluster holds 999 routes to other podCIDRs.
    """

    def __init__(self, routes: list[Route] | None = None) -> None:
        self.routes: list[Route] = []
        self._by_len: dict[int, dict[int, list[Route]]] = {}
        for r in routes or []:
            self.add(r)

    def add(self, route: Route) -> None:
        self.routes.append(route)
        length, address = route._key
        bucket = self._by_len.get(length)
        if bucket is None:
            bucket = self._by_len[length] = {}
        rows = bucket.get(address)
        if rows is None:
            bucket[address] = [route]
        else:
            rows.append(route)

    def remove(self, dst: str | IPv4Network) -> Route:
        d = net(dst)
        for r in self.routes:
            if r.dst == d:
                self.routes.remove(r)
                self._by_len[d.prefixlen][int(d.network_address)].remove(r)
                return r
        raise KeyError(str(d))

    def lookup(self, addr: str | IPv4Address) -> Route | None:
        """The row the kernel picks: longest prefix first, then the lowest metric."""
        a = int(ip(addr))
        for length in sorted(self._by_len, reverse=True):
            mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
            rows = self._by_len[length].get(a & mask)
            if rows:
                return min(rows, key=lambda r: r.metric or 0)
        return None

    def sorted(self) -> list[Route]:
        """Rows in the order the kernel dumps them: by destination address, the longer prefix first
        (``10.244.0.0/24`` before ``10.244.0.0/16``), so the default route comes first."""
        return sorted(
            self.routes,
            key=lambda r: (int(r.dst.network_address), -r.dst.prefixlen, r.metric or 0),
        )

    def __iter__(self):
        return iter(self.sorted())

    def __len__(self) -> int:
        return len(self.routes)

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.sorted())


@dataclass
class Interface:
    """A network device inside one namespace."""

    name: str
    kind: str  # loopback | ether | veth | bridge | vxlan
    ifindex: int
    mac: str = "00:00:00:00:00:00"
    addrs: list[IPv4Interface] = field(default_factory=list)
    mtu: int = 1500
    master: str | None = None  # the bridge this device is a port of
    peer: tuple[str, str] | None = None  # (namespace, device) at the other end of a veth pair
    peer_ifindex: int | None = None
    vxlan: dict[str, object] | None = None  # id, local, dstport for a VXLAN device
    up: bool = True

    @property
    def primary(self) -> IPv4Address | None:
        return self.addrs[0].ip if self.addrs else None

    def owns(self, addr: IPv4Address) -> bool:
        return any(a.ip == addr for a in self.addrs)


@dataclass
class NetNS:
    """A network namespace: a node's (the root namespace of a kind node), a pod's, or an outside host's."""

    name: str  # node/NAME, pod/NS/NAME, external/NAME
    kind: str  # node | pod | external
    interfaces: dict[str, Interface] = field(default_factory=dict)
    routes: RoutingTable = field(default_factory=RoutingTable)
    ip_forward: bool = False
    ruleset: object | None = None  # a netfilter.Ruleset, where the namespace has rules
    neighbours: dict[str, dict[IPv4Address, str]] = field(default_factory=dict)  # dev -> ip -> lladdr
    fdb: dict[str, dict[str, IPv4Address]] = field(default_factory=dict)  # vxlan dev -> mac -> remote

    def add_interface(self, iface: Interface) -> Interface:
        self.interfaces[iface.name] = iface
        return iface

    def next_ifindex(self) -> int:
        return max((i.ifindex for i in self.interfaces.values()), default=0) + 1

    def local_addresses(self) -> set[IPv4Address]:
        return {a.ip for i in self.interfaces.values() for a in i.addrs}

    def owner_of(self, addr: IPv4Address) -> Interface | None:
        for i in self.interfaces.values():
            if i.owns(addr):
                return i
        return None

    def source_address(self, route: Route) -> IPv4Address | None:
        """Source address selection: the route's ``src``, else the outgoing device's primary address."""
        if route.src is not None:
            return route.src
        dev = self.interfaces.get(route.dev)
        if dev and dev.primary is not None:
            return dev.primary
        for i in self.interfaces.values():
            if i.kind != "loopback" and i.primary is not None:
                return i.primary
        return None


def parse_ip(value: object) -> IPv4Address:
    """Parse an address, raising ValueError with the offending text."""
    return ipaddress.IPv4Address(str(value))
