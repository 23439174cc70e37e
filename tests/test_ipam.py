"""Pod addresses as host-local IPAM hands them out, and podCIDRs as the node IPAM controller splits them."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

import k8snetviz
from k8snetviz.agents.ipam import HostLocal, split_pod_cidrs
from k8snetviz.errors import InvalidObject


def test_gateway_is_dot_one_and_pods_start_at_dot_two() -> None:
    # host-local: the gateway defaults to the subnet's first address and is never handed out.
    pool = HostLocal("10.244.1.0/24")
    assert pool.gateway == IPv4Address("10.244.1.1")
    assert [str(pool.allocate()) for _ in range(3)] == ["10.244.1.2", "10.244.1.3", "10.244.1.4"]


def test_range_excludes_network_gateway_and_broadcast() -> None:
    # rangeEnd defaults to the last address before broadcast.
    pool = HostLocal("10.244.1.0/24")
    assert (str(pool.range_start), str(pool.range_end)) == ("10.244.1.2", "10.244.1.254")
    got = {pool.allocate() for _ in range(253)}
    assert len(got) == 253
    assert not {IPv4Address("10.244.1.0"), IPv4Address("10.244.1.1"), IPv4Address("10.244.1.255")} & got


def test_reserved_addresses_are_skipped() -> None:
    pool = HostLocal("10.244.1.0/24")
    pool.reserve(IPv4Address("10.244.1.2"))
    pool.reserve(IPv4Address("10.244.1.3"))
    assert str(pool.allocate()) == "10.244.1.4"


def test_exhausted_range_says_so_as_host_local_does() -> None:
    # A /30 leaves one address for pods: .0 network, .1 gateway, .3 broadcast.
    pool = HostLocal("10.0.0.0/30")
    assert str(pool.allocate()) == "10.0.0.2"
    with pytest.raises(ValueError, match=r"^no IP addresses available in range set: 10.0.0.2-10.0.0.2$"):
        pool.allocate()


def test_pod_cidrs_are_consecutive_slash_24s() -> None:
    assert split_pod_cidrs(IPv4Network("10.244.0.0/16"), 24, 3) == [
        IPv4Network("10.244.0.0/24"), IPv4Network("10.244.1.0/24"), IPv4Network("10.244.2.0/24")]
    with pytest.raises(ValueError, match="room for fewer than 3"):
        split_pod_cidrs(IPv4Network("10.244.0.0/23"), 24, 3)


# --- through the loader -------------------------------------------------------------------

def pod(name: str, node: str = "kind-worker", ip: str | None = None) -> str:
    status = f"status: {{podIP: {ip}}}\n" if ip else ""
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\n"
            f"spec: {{nodeName: {node}, containers: [{{name: c, image: busybox}}]}}\n{status}")


def test_pods_on_a_node_get_consecutive_addresses_in_file_order() -> None:
    c = k8snetviz.loads("---\n".join([pod("a"), pod("b"), pod("c", "kind-worker2"), pod("d")]))
    assert {k: str(p.ip) for k, p in c.pods.items() if k.startswith("default/")} == {
        "default/a": "10.244.1.2", "default/b": "10.244.1.3", "default/c": "10.244.2.2", "default/d": "10.244.1.4"}


def test_a_written_pod_ip_is_kept_and_skipped_by_the_others() -> None:
    c = k8snetviz.loads("---\n".join([pod("a"), pod("b", ip="10.244.1.2")]))
    assert (str(c.pods["default/a"].ip), str(c.pods["default/b"].ip)) == ("10.244.1.3", "10.244.1.2")


@pytest.mark.parametrize("addr", ["10.244.1.0", "10.244.1.1", "10.244.1.255", "10.244.2.7"])
def test_pod_ip_outside_what_host_local_hands_out_is_invalid(addr: str) -> None:
    with pytest.raises(InvalidObject) as e:
        k8snetviz.loads(pod("web", ip=addr))
    msg = str(e.value)
    assert msg.startswith(f'The Pod "web" is invalid: status.podIP: Invalid value: "{addr}": ')
    assert 'node "kind-worker"' in msg and "10.244.1.0/24" in msg


def test_two_pods_with_one_address_is_a_duplicate() -> None:
    with pytest.raises(InvalidObject) as e:
        k8snetviz.loads("---\n".join([pod("a", ip="10.244.1.5"), pod("b", ip="10.244.1.5")]))
    assert str(e.value) == 'The Pod "b" is invalid: status.podIP: Duplicate value: "10.244.1.5"'


def test_a_full_node_is_reported_on_the_pod_that_does_not_fit() -> None:
    nodes = ("apiVersion: v1\nkind: Node\nmetadata: {name: tiny}\nspec: {podCIDR: 10.244.0.0/30}\n---\n")
    with pytest.raises(InvalidObject) as e:
        k8snetviz.loads(nodes + "apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\n"
                        "spec: {systemPods: false}\n---\n" + pod("a", "tiny") + "---\n" + pod("b", "tiny"))
    assert 'The Pod "b" is invalid: status.podIP' in str(e.value)
    assert "no IP addresses available" in str(e.value)
