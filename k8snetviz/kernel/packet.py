"""The headers a packet carries on its way: what the walk shows at every hop.

>>> p = Packet(ip("10.244.1.2"), ip("10.96.0.10"), "TCP", 40000, 80)
>>> str(p)
'TCP 10.244.1.2:40000 → 10.96.0.10:80'
>>> str(p.with_dst(ip("10.244.2.3"), 8080).reply())
'TCP 10.244.2.3:8080 → 10.244.1.2:40000'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address

from k8snetviz.kernel.addressing import ip

__all__ = ["Packet", "ip"]


@dataclass(frozen=True)
class Packet:
    src: IPv4Address
    dst: IPv4Address
    proto: str = "TCP"  # TCP | UDP | SCTP | ICMP
    sport: int | None = None
    dport: int | None = None
    mark: int = 0
    inner: Packet | None = None  # the encapsulated packet, for a VXLAN outer header

    @staticmethod
    def endpoint(addr: IPv4Address, port: int | None) -> str:
        return f"{addr}:{port}" if port is not None else str(addr)

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
