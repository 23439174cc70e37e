"""The headers a packet carries: what netfilter matches and rewrites, and what the walk shows at every hop.

One packet type for the whole kernel: ``proto`` is ``TCP``, ``UDP``, ``SCTP`` or ``ICMP`` (a number or
lower case is accepted and normalised); ``inner`` is the encapsulated packet while an outer (VXLAN or
IP-in-IP) header is on.

>>> p = Packet("10.244.1.2", "10.96.0.10", "tcp", 40000, 80)
>>> str(p)
'TCP 10.244.1.2:40000 → 10.96.0.10:80'
>>> str(p.with_dst(ip("10.244.2.3"), 8080).reply())
'TCP 10.244.2.3:8080 → 10.244.1.2:40000'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from ipaddress import IPv4Address

from k8snetviz.kernel.routing import ip

__all__ = ["Packet", "ip", "PROTOCOLS", "PORT_PROTOCOLS"]

PROTOCOLS = ("TCP", "UDP", "SCTP", "ICMP")
PORT_PROTOCOLS = frozenset({"TCP", "UDP", "SCTP"})
_NUMBERS = {"1": "ICMP", "6": "TCP", "17": "UDP", "132": "SCTP"}


@dataclass(frozen=True, slots=True)
class Packet:
    src: IPv4Address
    dst: IPv4Address
    proto: str = "TCP"
    sport: int | None = None
    dport: int | None = None
    mark: int = 0
    inner: Packet | None = None  # the encapsulated packet, under an outer VXLAN or IP-in-IP header

    def __post_init__(self) -> None:
        if not isinstance(self.src, IPv4Address):
            object.__setattr__(self, "src", ip(self.src))
        if not isinstance(self.dst, IPv4Address):
            object.__setattr__(self, "dst", ip(self.dst))
        proto = self.proto
        if proto not in PROTOCOLS:
            proto = _NUMBERS.get(str(proto), str(proto).upper())
            object.__setattr__(self, "proto", proto)
        if proto not in PORT_PROTOCOLS and (self.sport is not None or self.dport is not None):
            raise ValueError(f"a {proto.lower()} packet has no ports")

    @staticmethod
    def endpoint(addr: IPv4Address, port: int | None) -> str:
        return _endpoint(addr, port)

    @property
    def source(self) -> str:
        return self.endpoint(self.src, self.sport)

    @property
    def destination(self) -> str:
        return self.endpoint(self.dst, self.dport)

    def with_dst(self, dst: IPv4Address, port: int | None = None) -> Packet:
        return replace(self, dst=dst, dport=self.dport if port is None else port)

    def with_src(self, src: IPv4Address, port: int | None = None) -> Packet:
        return replace(self, src=src, sport=self.sport if port is None else port)

    def reply(self) -> Packet:
        return replace(self, src=self.dst, dst=self.src, sport=self.dport, dport=self.sport, mark=0)

    def __str__(self) -> str:
        s = f"{self.proto} {self.source} → {self.destination}"
        if self.inner is not None:
            s += f" [{self.inner}]"
        return s


def _endpoint(addr: IPv4Address, port: int | None) -> str:
    # keyed by the address's number: an IPv4Address hashes itself in Python (through hex())
    return _endpoint_of(int(addr), port)


@functools.lru_cache(maxsize=4096)
def _endpoint_of(number: int, port: int | None) -> str:
    # A walk prints the same few addresses at every hop; ipaddress formats them in Python.
    addr = IPv4Address(number)
    return f"{addr}:{port}" if port is not None else str(addr)
