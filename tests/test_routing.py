"""Routing tables: rows in `ip route` syntax, and the kernel's choice of row (longest prefix, then metric)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest

from k8snetviz.kernel.netns import Interface, NetNS
from k8snetviz.kernel.routing import Route, RoutingTable


@pytest.mark.parametrize("text", [
    "default via 172.18.0.1 dev eth0",
    "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1",
    "10.244.2.0/24 via 172.18.0.3 dev eth0",
    "10.244.1.2 dev veth1a2b3c4d scope host",
    "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink",
    "10.244.0.0/24 via 10.244.0.1 dev eth0 src 10.244.0.2",
    "10.0.0.0/8 via 172.18.0.9 dev eth0 metric 100",
])
def test_rows_read_and_print_as_ip_route_does(text: str) -> None:
    assert str(Route.parse(text)) == text


def table(*rows: str) -> RoutingTable:
    return RoutingTable([Route.parse(r) for r in rows])


def test_longest_prefix_wins_whatever_the_order() -> None:
    t = table("10.0.0.0/8 via 172.18.0.9 dev eth0", "default via 172.18.0.1 dev eth0",
              "10.244.1.7 dev veth00000001 scope host", "10.244.0.0/16 via 172.18.0.8 dev eth0",
              "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1")
    assert str(t.lookup("10.244.1.7")) == "10.244.1.7 dev veth00000001 scope host"
    assert str(t.lookup("10.244.1.8")) == "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1"
    assert str(t.lookup("10.244.9.9")) == "10.244.0.0/16 via 172.18.0.8 dev eth0"
    assert str(t.lookup("10.9.9.9")) == "10.0.0.0/8 via 172.18.0.9 dev eth0"
    assert str(t.lookup("8.8.8.8")) == "default via 172.18.0.1 dev eth0"


def test_equal_prefixes_lowest_metric_wins() -> None:
    # The kernel's fib lookup: among rows of the same prefix, the lowest priority (metric) value.
    t = table("10.1.0.0/16 via 172.18.0.5 dev eth0 metric 200", "10.1.0.0/16 via 172.18.0.6 dev eth0 metric 50",
              "10.1.0.0/16 via 172.18.0.7 dev eth0 metric 100")
    assert t.lookup("10.1.2.3").via == IPv4Address("172.18.0.6")
    # no metric printed means metric 0, which beats any explicit one
    t.add(Route.parse("10.1.0.0/16 via 172.18.0.4 dev eth0"))
    assert t.lookup("10.1.2.3").via == IPv4Address("172.18.0.4")


def test_no_matching_row_and_no_default_is_none() -> None:
    t = table("10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1")
    assert t.lookup("10.244.2.1") is None


def test_remove_takes_the_row_for_that_destination() -> None:
    t = table("default via 172.18.0.1 dev eth0", "10.244.2.0/24 via 172.18.0.3 dev eth0")
    assert str(t.remove("10.244.2.0/24")) == "10.244.2.0/24 via 172.18.0.3 dev eth0"
    assert str(t.lookup("10.244.2.5")) == "default via 172.18.0.1 dev eth0"
    with pytest.raises(KeyError):
        t.remove("10.244.2.0/24")


def test_listing_order_default_first_then_by_destination() -> None:
    t = table("172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.3",
              "10.244.2.0/24 via 172.18.0.4 dev eth0", "10.244.1.3 dev veth00000002 scope host",
              "default via 172.18.0.1 dev eth0", "10.244.0.0/24 via 172.18.0.2 dev eth0",
              "10.244.1.2 dev veth00000001 scope host")
    assert str(t).splitlines() == [
        "default via 172.18.0.1 dev eth0",
        "10.244.0.0/24 via 172.18.0.2 dev eth0",
        "10.244.1.2 dev veth00000001 scope host",
        "10.244.1.3 dev veth00000002 scope host",
        "10.244.2.0/24 via 172.18.0.4 dev eth0",
        "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.3",
    ]


def test_same_network_address_lists_the_longer_prefix_first() -> None:
    # The real kernel (lab ground truth, flannel pod on the node with podCIDR 10.244.0.0/24) prints
    #   10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2
    #   10.244.0.0/16 via 10.244.0.1 dev eth0
    # the fib trie keeps a leaf's aliases longest prefix first.
    t = table("10.244.0.0/16 via 10.244.0.1 dev eth0", "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2",
              "default via 10.244.0.1 dev eth0")
    assert str(t).splitlines() == [
        "default via 10.244.0.1 dev eth0",
        "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2",
        "10.244.0.0/16 via 10.244.0.1 dev eth0",
    ]


def test_source_address_is_the_routes_src_else_the_devices_first_address() -> None:
    ns = NetNS("node/n", "node")
    ns.add_interface(Interface("lo", "loopback", 1, addrs=[IPv4Interface("127.0.0.1/8")]))
    ns.add_interface(Interface("eth0", "ether", 2, addrs=[IPv4Interface("172.18.0.2/16")]))
    ns.add_interface(Interface("cni0", "bridge", 3, addrs=[IPv4Interface("10.244.0.1/24")]))
    assert ns.source_address(Route.parse("10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1")) == \
        IPv4Address("10.244.0.1")
    assert ns.source_address(Route.parse("10.244.1.0/24 via 172.18.0.3 dev eth0")) == IPv4Address("172.18.0.2")
    assert ns.source_address(Route.parse("10.9.0.0/16 dev cni0 src 10.244.0.1")) == IPv4Address("10.244.0.1")
