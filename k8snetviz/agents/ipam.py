"""Pod address allocation the way the host-local IPAM plugin does it.

Each node hands out addresses from its podCIDR: the first usable address is the gateway,
pods get the next ones in order (``.2``, ``.3``, ...), and an address already taken is skipped.

>>> pool = HostLocal("10.244.1.0/24")
>>> str(pool.gateway), str(pool.allocate()), str(pool.allocate())
('10.244.1.1', '10.244.1.2', '10.244.1.3')
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from k8snetviz.api.objects import Node

__all__ = ["HostLocal", "HostLocalIPAM", "PodIPAM", "split_pod_cidrs"]


class HostLocal:
    """One node's range: ``rangeStart`` is the address after the gateway, ``rangeEnd`` the one before broadcast."""

    def __init__(self, subnet: str | IPv4Network) -> None:
        self.subnet = IPv4Network(str(subnet))
        self.gateway = self.subnet.network_address + 1
        self.range_start = self.subnet.network_address + 2
        self.range_end = self.subnet.broadcast_address - 1
        self.allocated: set[IPv4Address] = set()
        self._next = self.range_start

    def reserve(self, addr: IPv4Address) -> None:
        """Record an address the scenario fixed (``status.podIP``)."""
        self.allocated.add(addr)

    def allocate(self) -> IPv4Address:
        """The next free address, starting after the last one handed out."""
        span = int(self.range_end) - int(self.range_start) + 1
        for _ in range(span):
            addr = self._next
            self._next = addr + 1 if addr < self.range_end else self.range_start
            if addr not in self.allocated:
                self.allocated.add(addr)
                return addr
        raise ValueError(f"no IP addresses available in range set: {self.range_start}-{self.range_end}")


class PodIPAM(Protocol):
    """What hands pods their addresses, cluster-wide: the CNI's IPAM (:meth:`CNIPlugin.ipam`).

    ``refuses`` says, in words, why the IPAM could not have given a pod on ``node`` the address a
    scenario fixes (None when it could); ``reserve`` records a fixed address (an address the IPAM could
    not have given, from a dump, is kept by the pod and not recorded); ``prepare`` runs once the fixed
    ones are known; ``allocate`` is the next address for a pod on ``node``.
    """

    def refuses(self, node: str, addr: IPv4Address) -> str | None: ...

    def reserve(self, node: str, addr: IPv4Address) -> None: ...

    def prepare(self) -> None: ...

    def allocate(self, node: str) -> IPv4Address: ...


class HostLocalIPAM:
    """host-local on every node, each with its podCIDR as its one range."""

    def __init__(self, nodes: dict[str, Node]) -> None:
        self.nodes = nodes
        self.pools = {n: HostLocal(node.pod_cidr) for n, node in nodes.items()}

    def refuses(self, node: str, addr: IPv4Address) -> str | None:
        pool, n = self.pools[node], self.nodes[node]
        if addr not in n.pod_cidr or not (pool.range_start <= addr <= pool.range_end):
            return (f'not in the range host-local hands out on node "{node}" '
                    f"({pool.range_start}-{pool.range_end} of podCIDR {n.pod_cidr})")
        return None

    def reserve(self, node: str, addr: IPv4Address) -> None:
        if addr in self.nodes[node].pod_cidr:
            self.pools[node].reserve(addr)

    def prepare(self) -> None:
        return None

    def allocate(self, node: str) -> IPv4Address:
        return self.pools[node].allocate()


def split_pod_cidrs(pod_subnet: IPv4Network, mask: int, count: int) -> list[IPv4Network]:
    """The podCIDRs kube-controller-manager's range allocator gives the first ``count`` nodes, in order."""
    subnets = pod_subnet.subnets(new_prefix=mask)
    out = []
    for _ in range(count):
        try:
            out.append(next(subnets))
        except StopIteration:
            raise ValueError(f"pod subnet {pod_subnet} has room for fewer than {count} /{mask} node ranges") \
                from None
    return out
