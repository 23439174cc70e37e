"""The three CNI set-ups built for real: the facts the simulator is checked against.

Each fact here was read from the kernel after running the real plugins; the sources of the
configurations are kind's kindnetd template and flannel's CNI plugin (see groundtruth.py).
"""

from __future__ import annotations

import pytest

from k8snetviz.lab import groundtruth
from k8snetviz.lab.netns import Lab
from k8snetviz.lab.preflight import cni_bin_dir

pytestmark = pytest.mark.lab


def _routes(lab: Lab, ns: str) -> list[str]:
    return [line.strip() for line in lab.run_in(ns, ["ip", "route"]).stdout.splitlines()]


def _build(lab: Lab, model: str) -> groundtruth.Build:
    path = cni_bin_dir()
    assert path
    return groundtruth.build(lab, model, path)


def _cross_node_ok(lab: Lab, b: groundtruth.Build) -> None:
    found = {(p.source, p.target.split()[0], p.proto): p for p in groundtruth.probes(lab, b)}
    for proto in ("tcp", "udp", "icmp"):
        assert found["pod/default/a0", "pod/default/b0", proto].ok, proto
    tcp = found["pod/default/a0", "pod/default/b0", "tcp"]
    # pod to pod keeps the pod's own address: no NAT on the way
    assert tcp.answered_by == "default/b0" and tcp.peer.startswith(b.pods[0].ip + ":")


def test_bridge(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        b = _build(lab, "bridge")
        cp, a0 = b.nodes[0], b.pods[0]
        assert _routes(lab, a0.netns) == [
            "default via 10.244.0.1 dev eth0",
            "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2",
        ]
        assert _routes(lab, cp.netns) == [
            "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1",
            "10.244.1.0/24 via 172.18.0.3 dev eth0",
            "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2",
        ]
        _cross_node_ok(lab, b)


def test_kindnet_ptp(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        b = _build(lab, "kindnet")
        cp, a0 = b.nodes[0], b.pods[0]
        veth = a0.result.host_interfaces()[0]["name"]
        assert _routes(lab, a0.netns) == [
            "default via 10.244.0.1 dev eth0",
            "10.244.0.0/24 via 10.244.0.1 dev eth0 src 10.244.0.2",
            "10.244.0.1 dev eth0 scope link src 10.244.0.2",
        ]
        assert f"10.244.0.2 dev {veth} scope host" in _routes(lab, cp.netns)
        # every host-side veth carries the same gateway address as a /32; there is no bridge
        assert "10.244.0.1/32" in lab.run_in(cp.netns, ["ip", "-br", "addr", "show", veth]).stdout
        assert "cni0" not in lab.run_in(cp.netns, ["ip", "-br", "link"]).stdout
        _cross_node_ok(lab, b)


def test_flannel_vxlan(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        b = _build(lab, "flannel")
        cp, a0 = b.nodes[0], b.pods[0]
        # the kernel sorts by destination, the longer prefix first for the same address
        assert _routes(lab, a0.netns) == [
            "default via 10.244.0.1 dev eth0",
            "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2",
            "10.244.0.0/16 via 10.244.0.1 dev eth0",
        ]
        assert "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink" in _routes(lab, cp.netns)
        vxlan = lab.run_in(cp.netns, ["ip", "-d", "link", "show", "flannel.1"]).stdout
        assert "mtu 1450" in vxlan and "vxlan id 1 local 172.18.0.2 dev eth0" in vxlan
        assert "dstport 8472 nolearning" in vxlan
        assert "mtu 1450" in lab.run_in(a0.netns, ["ip", "link", "show", "eth0"]).stdout
        fdb = lab.run_in(cp.netns, ["bridge", "fdb", "show", "dev", "flannel.1"]).stdout
        assert fdb.strip().endswith("dst 172.18.0.3 self permanent")
        # the node reaches a remote pod from flannel.1's /32: that is why the address is there
        get = lab.run_in(cp.netns, ["ip", "route", "get", b.pods[2].ip]).stdout
        assert get.startswith(f"{b.pods[2].ip} via 10.244.1.0 dev flannel.1 src 10.244.0.0 ")
        _cross_node_ok(lab, b)
