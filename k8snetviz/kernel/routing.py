"""The routing table: which row carries a packet to an address, as the kernel picks it.

The longest matching prefix wins; among rows of equal length, the lowest metric. A ``blackhole``
row matches like any other and drops what it catches (Calico installs one for each node's own block).

>>> t = RoutingTable([Route.parse("default via 172.18.0.1 dev eth0"),
...                   Route.parse("10.244.2.0/24 via 172.18.0.4 dev eth0")])
>>> str(t.lookup("10.244.2.7"))
'10.244.2.0/24 via 172.18.0.4 dev eth0'
>>> str(t.lookup("8.8.8.8"))
'default via 172.18.0.1 dev eth0'
"""

from __future__ import annotations

import functools
import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from k8snetviz.agents.writes import KERNEL, Owner, RouteAdd, fast_init

__all__ = ["Route", "RouteLayer", "RoutingTable", "ip", "net", "interface", "DEFAULT_ROUTE", "ROUTE_TYPES"]

DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")
ROUTE_TYPES = ("unicast", "blackhole", "unreachable", "prohibit")
_ROUTE_KEYS = ("via", "dev", "proto", "scope", "src", "metric")


# Dotted-quad text read with dict lookups: the exact spellings ipaddress accepts (0-255, no leading zero).
# A cluster of 150,000 pods hands the kernel half a million addresses as text; ipaddress's own parser
# takes ten times as long, and stays the judge of anything the fast path does not recognise.
_OCTET = {str(i): i for i in range(256)}
_PREFIX = {str(i): i for i in range(33)}


def _quad(text: str) -> int | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    o = _OCTET
    try:
        return (o[parts[0]] << 24) | (o[parts[1]] << 16) | (o[parts[2]] << 8) | o[parts[3]]
    except KeyError:
        return None


def ip(value: str | IPv4Address) -> IPv4Address:
    """An IPv4 address from text (or pass one through)."""
    if isinstance(value, IPv4Address):
        return value
    n = _quad(value) if isinstance(value, str) else None
    return IPv4Address(n) if n is not None else IPv4Address(str(value))


@functools.lru_cache(maxsize=4096)
def _network(text: str) -> IPv4Network:
    if text == "default":
        return DEFAULT_ROUTE
    addr, slash, length = text.partition("/")
    n = _quad(addr)
    plen = _PREFIX.get(length) if slash else 32
    if n is not None and plen is not None and not n & (0xFFFFFFFF >> plen):
        return IPv4Network((n, plen))
    return IPv4Network(text, strict=True)


@functools.lru_cache(maxsize=8192)
def _host(address: int) -> IPv4Network:
    return IPv4Network((address, 32))


def net(value: str | IPv4Network | IPv4Address) -> IPv4Network:
    """An IPv4 network from text; ``default`` is 0.0.0.0/0 and a bare address is a /32."""
    if isinstance(value, IPv4Network):
        return value
    if isinstance(value, IPv4Address):
        return _host(int(value))  # a node's gateway, as every pod of the node routes to it
    return _network(str(value))


def interface(value: str | IPv4Interface) -> IPv4Interface:
    """An address with its prefix length (``10.244.1.1/24``), as ``ip addr add`` takes it."""
    if isinstance(value, IPv4Interface):
        return value
    addr, slash, length = value.partition("/")
    n = _quad(addr)
    plen = _PREFIX.get(length) if slash else 32
    if n is not None and plen is not None:
        return IPv4Interface((n, plen))
    return IPv4Interface(value)


@fast_init
@dataclass(frozen=True, eq=False)
class Route:
    """One row of a routing table. ``line`` is the row as ``ip route`` prints it; ``owner`` says who added it.

    Rows are immutable and may be shared by many tables (every node holds the same row for a peer).
    """

    dst: IPv4Network
    dev: str | None
    via: IPv4Address | None = None
    proto: str | None = None
    scope: str | None = None
    src: IPv4Address | None = None
    metric: int | None = None
    onlink: bool = False
    type: str = "unicast"
    owner: Owner = KERNEL

    @classmethod
    def parse(cls, text: str, owner: Owner = KERNEL) -> Route:
        """Read a row in ``ip route`` syntax (``[type] DST [via IP] [dev DEV] [proto P] [scope S] ...``)."""
        words = text.split()
        kind = "unicast"
        if words and words[0] in ROUTE_TYPES:
            kind = words.pop(0)
        if words and words[0] == "to":
            words.pop(0)
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
        if "dev" not in opts and kind == "unicast" and "via" not in opts:
            raise ValueError(f'"{text}": a route needs a device (dev NAME) or a gateway (via IP)')
        metric = opts.get("metric")
        if metric is not None and not metric.isdigit():
            raise ValueError(f'"{metric}" is not a valid metric')
        return cls(dst=dst, dev=opts.get("dev"), via=ip(opts["via"]) if "via" in opts else None,
                   proto=opts.get("proto"), scope=opts.get("scope"), src=ip(opts["src"]) if "src" in opts else None,
                   metric=int(metric) if metric is not None else None, onlink="onlink" in flags, type=kind,
                   owner=owner)

    @classmethod
    def from_request(cls, req: RouteAdd) -> Route:
        return cls(dst=net(req.dst), dev=req.dev, via=ip(req.via) if req.via is not None else None,
                   proto=req.proto, scope=req.scope, src=ip(req.src) if req.src is not None else None,
                   metric=req.metric, onlink=req.onlink, type=req.type, owner=req.owner)

    def with_dev(self, dev: str) -> Route:
        """The row with its device filled in (``ip route add DST via GW`` takes the device the gateway is on)."""
        return Route(self.dst, dev, self.via, self.proto, self.scope, self.src, self.metric, self.onlink, self.type,
                     self.owner)

    @property
    def is_default(self) -> bool:
        return self.dst.prefixlen == 0

    @property
    def why(self) -> str:
        """Who added the row and what for, in words."""
        o = self.owner
        what = o.why or "added"
        return f"{what} ({o.component})" if o.component else what

    @functools.cached_property
    def key(self) -> str:
        """What makes the row unique in its table, as iproute2 names it: the destination (and metric)."""
        head = "default" if self.is_default else str(self.dst)
        return head if self.metric is None else f"{head} metric {self.metric}"

    @functools.cached_property
    def key_id(self) -> str:
        """:attr:`key` as it goes into an element id (kept on the row: a shared row serves every node)."""
        return re.sub(r"[^A-Za-z0-9_.:-]", "_", self.key)

    @functools.cached_property
    def line(self) -> str:
        if self.is_default:
            head = "default"
        elif self.dst.prefixlen == 32:
            head = str(self.dst.network_address)
        else:
            head = str(self.dst)
        parts = [head] if self.type == "unicast" else [self.type, head]
        if self.via is not None:
            parts += ["via", str(self.via)]
        if self.dev is not None:
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

    def __str__(self) -> str:
        return self.line

    def __repr__(self) -> str:
        return f"Route({self.line!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Route) and self.line == other.line

    def __hash__(self) -> int:
        return hash(self.line)


class RouteLayer:
    """Rows many tables share, built once and never changed: the routes every node of a cluster holds to
    the other nodes' podCIDRs (5,000 nodes would otherwise hold 25 million rows).

    A :class:`RoutingTable` stacks its own rows over one layer and hides the layer's rows it does not
    have (a node's route to its own podCIDR; a row a learner deleted): copy-on-write, row by row.
    """

    __slots__ = ("routes", "_by_len", "_sorted")

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self._by_len: dict[int, dict[int, list[Route]]] = {}
        for r in self.routes:
            _file(self._by_len, r)
        self._sorted: tuple[Route, ...] | None = None

    def sorted(self) -> tuple[Route, ...]:
        if self._sorted is None:
            self._sorted = tuple(sorted(self.routes, key=_order))
        return self._sorted

    def __len__(self) -> int:
        return len(self.routes)


def _file(by_len: dict[int, dict[int, list[Route]]], route: Route) -> None:
    dst = route.dst
    length, address = dst.prefixlen, int(dst.network_address)
    bucket = by_len.get(length)
    if bucket is None:
        bucket = by_len[length] = {}
    rows = bucket.get(address)
    if rows is None:
        bucket[address] = [route]
    else:
        rows.append(route)


def _order(r: Route) -> tuple[int, int, int]:
    # the order the kernel dumps rows in: by destination address, the longer prefix first
    return int(r.dst.network_address), -r.dst.prefixlen, r.metric or 0


_MASKS = [(0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF for n in range(33)]


class RoutingTable:
    """The main routing table of one network namespace.

    Rows are also kept by prefix length, so a lookup tries at most 33 prefixes instead of every row:
    a node of a 1,000-node cluster holds 999 routes to other podCIDRs. Those rows may come from a
    shared :class:`RouteLayer` (see :meth:`share`): the table then holds only its own rows and the
    few shared rows it hides.
    """

    def __init__(self, routes: list[Route] | None = None) -> None:
        self._own: list[Route] = []
        self._by_len: dict[int, dict[int, list[Route]]] = {}
        self._base: RouteLayer | None = None
        self._hidden: set[int] = set()  # ids of the base rows this table does not have
        self._lengths: list[int] | None = None
        for r in routes or []:
            self.add(r)

    def share(self, layer: RouteLayer, hide: Iterable[Route] = ()) -> None:
        """Take every row of ``layer`` except those in ``hide`` (as if each had been added), sharing them."""
        if self._base is not None:
            for r in layer.routes:
                if not any(r is h for h in hide):
                    self.add(r)
            return
        self._base = layer
        self._hidden = {id(r) for r in hide}
        self._lengths = None

    @property
    def routes(self) -> list[Route]:
        """Every row, the shared ones first."""
        base = [r for r in self._base.routes if id(r) not in self._hidden] if self._base is not None else []
        return base + self._own

    def add(self, route: Route) -> None:
        self._own.append(route)
        _file(self._by_len, route)
        self._lengths = None

    def _rows(self, length: int, address: int) -> list[Route]:
        rows: list[Route] = []
        if self._base is not None:
            shared = self._base._by_len.get(length, {}).get(address)
            if shared:
                rows = [r for r in shared if id(r) not in self._hidden] if self._hidden else list(shared)
        own = self._by_len.get(length, {}).get(address)
        if own:
            rows += own
        return rows

    def find(self, dst: str | IPv4Network | IPv4Address, metric: int | None = None) -> Route | None:
        """The row for exactly ``dst`` (and ``metric``, when given)."""
        d = net(dst)
        for r in self._rows(d.prefixlen, int(d.network_address)):
            if metric is None or r.metric == metric:
                return r
        return None

    def remove(self, dst: str | IPv4Network | IPv4Address, metric: int | None = None) -> Route:
        r = self.find(dst, metric)
        if r is None:
            raise KeyError(str(net(dst)))
        own = self._by_len.get(r.dst.prefixlen, {}).get(int(r.dst.network_address), [])
        if any(o is r for o in own):
            self._own.remove(r)
            own.remove(r)
        else:  # a shared row: this table stops seeing it, the others keep it
            self._hidden.add(id(r))
        return r

    def lookup(self, addr: str | IPv4Address) -> Route | None:
        """The row the kernel picks: longest prefix first, then the lowest metric."""
        a = int(ip(addr))
        if self._lengths is None:
            lengths = set(self._by_len)
            if self._base is not None:
                lengths |= set(self._base._by_len)
            self._lengths = sorted(lengths, reverse=True)
        for length in self._lengths:
            rows = self._rows(length, a & _MASKS[length])
            if rows:
                return min(rows, key=lambda r: r.metric or 0)
        return None

    def sorted(self) -> list[Route]:
        """Rows in the order the kernel dumps them: by destination address, the longer prefix first
        (``10.244.0.0/24`` before ``10.244.0.0/16``), so the default route comes first."""
        own = sorted(self._own, key=_order)
        if self._base is None:
            return own
        base: Iterable[Route] = self._base.sorted()
        if self._hidden:
            base = (r for r in base if id(r) not in self._hidden)
        return list(heapq.merge(base, own, key=_order))

    def __iter__(self) -> Iterator[Route]:
        return iter(self.sorted())

    def __len__(self) -> int:
        shared = len(self._base) - len(self._hidden) if self._base is not None else 0
        return shared + len(self._own)

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.sorted())
