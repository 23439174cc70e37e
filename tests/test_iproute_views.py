"""`ip route`, `ip -br addr`, `ip -br link` and `ip link` as iproute2 prints them.

Expected lines come from the lab's ground truth (the real plugins, read back with iproute2), with the
IPv6 link-local addresses left out (the model is IPv4 only) and trailing blanks stripped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import k8snetviz
from k8snetviz.cluster import Cluster
from k8snetviz.views.iproute import ip_br_addr, ip_br_link, ip_link, ip_route

LAB = Path(__file__).parent / "scenarios" / "lab-pairs.yaml"
CP = "node/kind-control-plane"
MAC = r"[0-9a-f]{2}(:[0-9a-f]{2}){5}"
FLAGS = "<BROADCAST,MULTICAST,UP,LOWER_UP>"


def lab(cni: str) -> Cluster:
    return k8snetviz.load(str(LAB), "apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\n"
                          f"metadata: {{name: lab-pairs}}\nspec: {{cni: {cni}, systemPods: false}}\n")


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def veth(c: Cluster, pod: str) -> str:
    peer = c.netns[f"pod/default/{pod}"].interfaces["eth0"].peer
    assert peer is not None
    return peer[1]


def test_ip_route_is_the_table_one_row_a_line() -> None:
    c = lab("bridge")
    assert ip_route(c.netns["pod/default/a0"]) == ("default via 10.244.0.1 dev eth0\n"
                                                   "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2")
    assert str(c.routes("pod/default/a0")) == ip_route(c.netns["pod/default/a0"])
    assert str(c.routes("node/kind-worker")) == ip_route(c.netns["node/kind-worker"])
    assert c.routes("default/a0").lookup("10.244.1.9") == "default via 10.244.0.1 dev eth0"


@pytest.mark.parametrize(("cni", "expected"), [
    ("bridge", ["lo               UNKNOWN        127.0.0.1/8",
                "cni0             UP             10.244.0.1/24",
                "{a0}@if2 UP",
                "{a1}@if2 UP"]),
    ("kindnet", ["lo               UNKNOWN        127.0.0.1/8",
                 "{a0}@if2 UP             10.244.0.1/32",
                 "{a1}@if2 UP             10.244.0.1/32"]),
    ("flannel", ["lo               UNKNOWN        127.0.0.1/8",
                 "flannel.1        UNKNOWN        10.244.0.0/32",
                 "cni0             UP             10.244.0.1/24",
                 "{a0}@if2 UP",
                 "{a1}@if2 UP"]),
])
def test_ip_br_addr_on_a_node(cni: str, expected: list[str]) -> None:
    c = lab(cni)
    got = [line for line in lines(ip_br_addr(c.netns[CP])) if not line.startswith("eth0")]
    assert got == [e.format(a0=veth(c, "a0"), a1=veth(c, "a1")) for e in expected]


def test_ip_br_addr_names_and_state_columns_are_16_and_14_wide() -> None:
    # iproute2's brief format: the name left-justified in 16 columns, the state in 14, one blank after each
    for line in ip_br_addr(lab("flannel").netns[CP]).splitlines():
        assert re.match(r"^\S+\s+(UP|DOWN|UNKNOWN)", line)
        assert line[16] == " " and line[17] != " "
        if len(line) > 32:
            assert line[31] == " " and line[32] != " "


def test_node_eth0_address() -> None:
    got = [line for line in lines(ip_br_addr(lab("bridge").netns[CP])) if line.startswith("eth0")]
    assert len(got) == 1 and got[0].endswith("UP             172.18.0.2/16")


def test_node_eth0_is_shown_as_a_veth_end() -> None:
    # a kind node's eth0 is the container end of a docker veth pair, shown as eth0@ifN (lab: eth0@if3)
    got = [line for line in lines(ip_br_addr(lab("bridge").netns[CP])) if line.startswith("eth0")]
    assert re.match(r"^eth0@if\d+ +UP +172\.18\.0\.2/16$", got[0])


@pytest.mark.parametrize(("cni", "ifindex"), [("bridge", 4), ("kindnet", 3), ("flannel", 5)])
def test_ip_br_addr_in_a_pod_names_the_host_end_index(cni: str, ifindex: int) -> None:
    # lab: eth0@if4 (bridge: lo, eth0, cni0, then the first veth), @if3 (ptp, no bridge), @if5 (flannel.1 too)
    assert lines(ip_br_addr(lab(cni).netns["pod/default/a0"])) == [
        "lo               UNKNOWN        127.0.0.1/8",
        f"eth0@if{ifindex}         UP             10.244.0.2/24",
    ]


def test_ip_br_link() -> None:
    c = lab("flannel")
    got = lines(ip_br_link(c.netns[CP]))
    assert got[0] == "lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP>"
    pattern = {"flannel.1": "UNKNOWN", "cni0": "UP", f"{veth(c, 'a0')}@if2": "UP"}
    for name, state in pattern.items():
        (line,) = [g for g in got if g.startswith(name + " ")]
        assert re.fullmatch(rf"{re.escape(name)} +{state} +{MAC} {re.escape(FLAGS)}", line)
        assert line.index(state) == 17 and line.index(" <") == 32 + 17


def test_ip_link_veth_lines() -> None:
    c = lab("bridge")
    got = lines(ip_link(c.netns[CP]))
    v = veth(c, "a0")
    i = got.index(f"4: {v}@if2: {FLAGS} mtu 1500 qdisc noqueue master cni0 state UP mode DEFAULT group default")
    assert re.fullmatch(rf"    link/ether {MAC} brd ff:ff:ff:ff:ff:ff link-netns(id)? \S+", got[i + 1])
    pod = lines(ip_link(c.netns["pod/default/a0"]))
    assert pod[:2] == ["1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group "
                       "default qlen 1000",
                       "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00"]
    assert pod[2] == f"2: eth0@if4: {FLAGS} mtu 1500 qdisc noqueue state UP mode DEFAULT group default"


def test_ip_link_flannel_mtu_on_the_veths() -> None:
    c = lab("flannel")
    got = lines(ip_link(c.netns[CP]))
    assert f"5: {veth(c, 'a0')}@if2: {FLAGS} mtu 1450 qdisc noqueue master cni0 state UP mode DEFAULT group default" \
        in got
    assert lines(ip_link(c.netns["pod/default/a0"]))[2] == (
        f"2: eth0@if5: {FLAGS} mtu 1450 qdisc noqueue state UP mode DEFAULT group default")


def test_ip_link_bridge_and_vxlan_devices_have_a_tx_queue() -> None:
    # lab: the bridge plugin's cni0 and flanneld's flannel.1 both show qlen 1000
    got = lines(ip_link(lab("flannel").netns[CP]))
    assert f"3: flannel.1: {FLAGS} mtu 1450 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000" in got
    assert f"4: cni0: {FLAGS} mtu 1450 qdisc noqueue state UP mode DEFAULT group default qlen 1000" in got


def test_plain_ip_link_prints_two_lines_per_device() -> None:
    # The vxlan parameters (`vxlan id 1 local ... dstport 8472 nolearning ...`) are printed by
    # `ip -d link` only; plain `ip link` has a header line and a link/ line per device.
    c = lab("flannel")
    got = lines(ip_link(c.netns[CP]))
    assert len(got) == 2 * len(c.netns[CP].interfaces)
    assert not any(line.lstrip().startswith("vxlan ") for line in got)
