"""The kernel's IP-in-IP, proxy ARP and MASQUERADE's borrowed source address, on hand-made namespaces.

No CNI here: two hosts on a LAN, built from writes, and the walker alone. The behaviour is Linux's:
net/ipv4/ip_tunnel.c (ip_tunnel_xmit: a tunnel without a remote, like the fallback ``tunl0``, sends
to the route's next hop - "NBMA tunnel"), net/ipv4/ipip.c (protocol 4 is taken by the device whose
remote matches, else the fallback device), Documentation/networking/ip-sysctl.rst (``proxy_arp``),
net/ipv4/devinet.c (inet_select_addr: a device without an address lends another device's).
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from k8snetviz.agents.writes import AddrAdd, LinkAdd, NetnsAdd, RouteAdd, Sysctl, Write
from k8snetviz.kernel.boot import Kernel
from k8snetviz.kernel.netns import NetNS
from k8snetviz.kernel.packet import Packet
from k8snetviz.kernel.walk import Stop, Walker


class LAN:
    """Two hosts on 10.0.0.0/24, ``a`` (10.0.0.1) and ``b`` (10.0.0.2)."""

    def __init__(self, netns: dict[str, NetNS]) -> None:
        self.netns = netns

    def lan_host(self, addr: IPv4Address) -> str | None:
        return {IPv4Address("10.0.0.1"): "h/a", IPv4Address("10.0.0.2"): "h/b"}.get(addr)


def host(name: str, ip: str, tunnel: str | None, peer_net: str, peer_ip: str) -> list[Write]:
    ns = f"h/{name}"
    out: list[Write] = [
        NetnsAdd(ns, "node"), LinkAdd(ns, "eth0", "ether", "02:00:00:00:00:0" + name[-1]),
        AddrAdd(ns, "eth0", f"{ip}/24"),
        RouteAdd(ns, "10.0.0.0/24", "eth0", proto="kernel", scope="link", src=ip),
        Sysctl(ns, "net.ipv4.ip_forward", "1"),
    ]
    if tunnel is not None:
        out += [LinkAdd(ns, "tunl0", "ipip", "00:00:00:00", 1480), AddrAdd(ns, "tunl0", f"{tunnel}/32"),
                RouteAdd(ns, peer_net, "tunl0", via=peer_ip, onlink=True)]
    return out


def walk(writes: list[Write], src: str, dst: str) -> tuple[Walker, Stop]:
    k = Kernel()
    k.apply(writes)
    net = LAN(k.done())
    w = Walker(net)
    with pytest.raises(Stop) as stop:
        w.originate(net.netns[src], Packet(IPv4Address("0.0.0.0"), IPv4Address(dst), "TCP", 40000, 80))
    return w, stop.value


def test_ip_in_ip_to_the_routes_next_hop_and_back() -> None:
    writes = host("a", "10.0.0.1", "172.16.1.1", "172.16.2.0/24", "10.0.0.2") + \
        host("b", "10.0.0.2", "172.16.2.1", "172.16.1.0/24", "10.0.0.1")
    w, stop = walk(writes, "h/a", "172.16.2.1")
    assert stop.verdict == "delivered"
    assert [(h.at, h.device, h.action) for h in w.hops] == [
        ("h/a", "tunl0", "route"), ("h/a", "tunl0", "encap"), ("h/a", "eth0", "route"), ("h/a", "eth0", "forward"),
        ("h/b", "tunl0", "decap"), ("h/b", "tunl0", "deliver"),  # the inner packet arrives on tunl0
        ("h/b", "tunl0", "route"), ("h/b", "tunl0", "encap"), ("h/b", "eth0", "route"), ("h/b", "eth0", "forward"),
        ("h/a", "tunl0", "decap"), ("h/a", "tunl0", "deliver"),
    ]
    encap = w.hops[1]
    # the outer header: from the address the kernel picks for the outer route, to the route's next hop
    assert encap.outer == "IPIP 10.0.0.1 → 10.0.0.2 [TCP 172.16.1.1:40000 → 172.16.2.1:80]"
    # the inner source is tunl0's own address: the route's device gives the source (no src on the route)
    assert encap.src == "172.16.1.1:40000"
    # the reply is wrapped the other way
    back = [h for h in w.hops if h.reply and h.action == "encap"]
    assert back and back[0].outer.startswith("IPIP 10.0.0.2 → 10.0.0.1")
    assert w.hops[-1].action == "deliver" and w.hops[-1].reply


def test_ip_in_ip_to_a_host_without_an_ipip_device_is_dropped() -> None:
    writes = host("a", "10.0.0.1", "172.16.1.1", "172.16.2.0/24", "10.0.0.2") + \
        host("b", "10.0.0.2", None, "", "")
    w, stop = walk(writes, "h/a", "172.16.2.1")
    assert stop.verdict == "dropped" and "no ipip device" in stop.reason
    assert w.hops[-1].at == "h/b" and w.hops[-1].action == "drop"


def pod_behind_veth(proxy_arp: str) -> list[Write]:
    writes = host("a", "10.0.0.1", None, "", "")
    writes += [
        NetnsAdd("p/x", "pod"),
        LinkAdd("h/a", "calitest", "veth", "ee:ee:ee:ee:ee:ee", peer=("p/x", "eth0")),
        LinkAdd("p/x", "eth0", "veth", "02:00:00:00:01:01", peer=("h/a", "calitest")),
        AddrAdd("p/x", "eth0", "192.168.0.5/32"),
        RouteAdd("p/x", "169.254.1.1", "eth0", scope="link"),
        RouteAdd("p/x", "default", "eth0", via="169.254.1.1"),
        RouteAdd("h/a", "192.168.0.5", "calitest", scope="link"),
        RouteAdd("h/a", "default", "eth0", via="10.0.0.2"),
        Sysctl("h/a", "net.ipv4.conf.calitest.proxy_arp", proxy_arp),
    ]
    return writes


def test_a_veth_next_hop_nobody_holds_is_answered_by_proxy_arp_or_not_at_all() -> None:
    w, stop = walk(pod_behind_veth("1"), "p/x", "10.0.0.1")
    assert stop.verdict == "delivered"
    veth = w.hops[1]
    assert veth.action == "veth" and veth.decided_by is not None
    assert veth.decided_by.text == "net.ipv4.conf.calitest.proxy_arp = 1" and "proxy ARP" in veth.detail
    w, stop = walk(pod_behind_veth("0"), "p/x", "10.0.0.1")
    assert stop.verdict == "no-route" and w.hops[-1].decided_by is not None
    assert w.hops[-1].decided_by.text == "169.254.1.1 dev eth0 FAILED"
