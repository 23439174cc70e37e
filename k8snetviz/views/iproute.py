"""What iproute2 prints: ``ip route``, ``ip -br addr``, ``ip -br link`` and ``ip link``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from k8snetviz.kernel.netns import Interface, NetNS

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["ip_route", "ip_br_addr", "ip_br_link", "ip_link", "ip_neigh", "bridge_fdb", "link_name", "RoutesView"]


def ip_route(ns: NetNS) -> str:
    """``ip route``: one row per route, default first."""
    return str(ns.routes)


def link_name(i: Interface) -> str:
    """``eth0@if7`` for a veth (the peer's ifindex), ``tunl0@NONE`` for an IP-in-IP device without a lower
    device, the plain name otherwise."""
    if i.kind == "ipip":
        return f"{i.name}@NONE"
    return f"{i.name}@if{i.peer_ifindex}" if i.peer_ifindex else i.name


def _state(i: Interface) -> str:
    if i.kind in ("loopback", "vxlan", "ipip"):
        return "UNKNOWN"
    return "UP" if i.up else "DOWN"


def _flags(i: Interface) -> str:
    if i.kind == "loopback":
        return "<LOOPBACK,UP,LOWER_UP>"
    if i.kind == "ipip":
        return "<NOARP,UP,LOWER_UP>"
    return "<BROADCAST,MULTICAST,UP,LOWER_UP>"


def _interfaces(ns: NetNS) -> list[Interface]:
    return sorted(ns.interfaces.values(), key=lambda i: i.ifindex)


def ip_br_addr(ns: NetNS) -> str:
    """``ip -br addr``: name, state, addresses (IPv4 only: the model has no IPv6)."""
    return "\n".join(
        f"{link_name(i):<16} {_state(i):<14} {' '.join(str(a) for a in i.addrs)}".rstrip() for i in _interfaces(ns)
    )


def ip_br_link(ns: NetNS) -> str:
    """``ip -br link``: name, state, MAC address, flags."""
    return "\n".join(f"{link_name(i):<16} {_state(i):<14} {i.mac} {_flags(i)}" for i in _interfaces(ns))


def ip_link(ns: NetNS, dev: str | None = None, *, details: bool = False) -> str:
    """``ip link [show DEV]``: two lines per device, with ``master`` for bridge ports and the veth peer's
    index; ``ip -d link`` (``details``) adds the VXLAN parameters of a VXLAN device."""
    out = []
    for i in _interfaces(ns):
        if dev is not None and i.name != dev:
            continue
        master = f" master {i.master}" if i.master else ""
        out.append(f"{i.ifindex}: {link_name(i)}: {_flags(i)} mtu {i.mtu} qdisc noqueue{master} state {_state(i)} "
                   "mode DEFAULT group default" + (" qlen 1000" if i.kind in ("loopback", "bridge", "vxlan", "ipip")
                                                   else ""))
        if i.kind == "loopback":
            out.append("    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00")
        elif i.kind == "ipip":
            out.append("    link/ipip 0.0.0.0 brd 0.0.0.0")
        else:
            extra = " link-netnsid 0" if i.peer_ifindex else ""
            out.append(f"    link/ether {i.mac} brd ff:ff:ff:ff:ff:ff{extra}")
        if details and i.vxlan:
            v = i.vxlan
            out.append(f"    vxlan id {v['id']} local {v['local']} dev {v['dev']} srcport 0 0 dstport {v['dstport']}"
                       + (" nolearning" if not v.get("learning", True) else ""))
    return "\n".join(out)


def ip_neigh(ns: NetNS, dev: str) -> str:
    """``ip neigh show dev DEV``: the static entries (flanneld's, for the peers' VTEP addresses)."""
    return "\n".join(f"{n.ip} lladdr {n.lladdr} PERMANENT" for n in ns.neighbours.get(dev, {}).values())


def bridge_fdb(ns: NetNS, dev: str) -> str:
    """``bridge fdb show dev DEV``: for a VXLAN device, which node IP each peer VTEP's MAC lives behind."""
    return "\n".join(f"{e.mac} dst {e.dst} self permanent" for e in ns.fdb.get(dev, {}).values())


class RoutesView:
    """A namespace's routing table; prints like ``ip route`` and shows as a table in a notebook."""

    def __init__(self, cluster: Cluster, ns: NetNS) -> None:
        self.cluster = cluster
        self.netns = ns

    def __str__(self) -> str:
        return ip_route(self.netns)

    def __repr__(self) -> str:
        return str(self)

    def lookup(self, addr: str) -> str:
        """The row the kernel picks for ``addr`` (``ip route get`` in spirit)."""
        r = self.netns.routes.lookup(addr)  # type: ignore[arg-type]
        return str(r) if r else f"RTNETLINK answers: Network is unreachable ({addr})"

    def to_dict(self) -> dict[str, Any]:
        return {"netns": self.netns.name,
                "routes": [{"route": str(r), "why": r.why} for r in self.netns.routes.sorted()]}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from html import escape

        from k8snetviz.views.theme import themed

        rows = "".join(f"<tr><td><code>{escape(str(r))}</code></td><td>{escape(r.why)}</td></tr>"
                       for r in self.netns.routes.sorted())
        html = (f"<p><b>ip route</b> in <code>{escape(self.netns.name)}</code></p>"
                f"<table><tr><th>route</th><th>installed by</th></tr>{rows}</table>")
        return {"text/plain": str(self), "text/html": themed(html)}
