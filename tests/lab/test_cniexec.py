"""Running the real CNI reference plugins for ADD, CHECK and DEL in throwaway namespaces."""

from __future__ import annotations

import json
from ipaddress import IPv4Network

import pytest

from k8snetviz.agents.cni import plugin
from k8snetviz.lab.cniexec import (
    CNIResult,
    add_network_list,
    check_network_list,
    del_network_list,
    exec_plugin,
    plugin_env,
)
from k8snetviz.lab.errors import CNIError, LabError
from k8snetviz.lab.netns import Lab
from k8snetviz.lab.preflight import cni_bin_dir


def bridge_conflist(pod_cidr: str, data_dir: str | None = None) -> dict:
    """The bridge model's conflist, from the model's one entry (agents/cni/bridge.py)."""
    return plugin("bridge", IPv4Network("10.244.0.0/16")).conflist(pod_cidr, data_dir)


def kindnet_conflist(pod_cidr: str, data_dir: str | None = None) -> dict:
    """kindnetd's conflist, from the model's one entry (agents/cni/kindnet.py)."""
    return plugin("kindnet", IPv4Network("10.244.0.0/16")).conflist(pod_cidr, data_dir)

pytestmark = pytest.mark.lab


def _links(lab: Lab, ns: str) -> dict[str, str]:
    """name -> `ip -br link` line, names without their @ifN suffix."""
    out = {}
    for line in lab.run_in(ns, ["ip", "-br", "link"]).stdout.splitlines():
        out[line.split()[0].split("@")[0]] = line
    return out


def test_plugin_env_is_the_spec_contract() -> None:
    env = plugin_env("ADD", container_id="c1", netns="knv-x-pod", ifname="eth0", cni_path=["/a", "/b"])
    assert {k: v for k, v in env.items() if k.startswith("CNI_")} == {
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "c1",
        "CNI_NETNS": "/run/netns/knv-x-pod",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/a:/b",
    }
    with pytest.raises(LabError, match="unknown CNI command 'UP'"):
        plugin_env("UP", container_id="c1", netns="n", ifname="eth0", cni_path="/a")


def test_bridge_add_check_del_in_a_node_namespace(lab_id: str) -> None:
    cni_path = cni_bin_dir()
    assert cni_path
    with Lab(lab_id, keep=False) as lab:
        node = lab.add_netns("node")
        pod = lab.add_netns("pod")
        conf = bridge_conflist("10.244.7.0/24", str(lab.ipam_dir))
        kw = {"run_in": node, "container_id": "cid-1", "netns": pod, "cni_path": cni_path}
        result = add_network_list(conf, **kw)

        # the result follows the 1.0.0 schema: interfaces by index, ips pointing at the sandbox eth0
        assert result.cni_version == "1.0.0"
        assert result.addresses() == ["10.244.7.2/24"]
        assert result.ips[0]["gateway"] == "10.244.7.1"
        host = [i["name"] for i in result.host_interfaces()]
        assert host[0] == "cni0" and host[1].startswith("veth") and len(host[1]) == 12
        assert result.sandbox_interfaces()[0]["sandbox"] == f"/run/netns/{pod}"

        # the host side landed in the node namespace - the plugin ran there - and none in the pod's
        node_links = _links(lab, node)
        assert "cni0" in node_links and host[1] in node_links
        assert " master cni0 " in lab.run_in(node, ["ip", "-d", "link", "show", host[1]]).stdout
        assert "10.244.7.2/24" in lab.run_in(pod, ["ip", "-br", "addr", "show", "eth0"]).stdout
        assert lab.run_in(pod, ["ip", "route"]).stdout.splitlines()[0].split() == [
            "default",
            "via",
            "10.244.7.1",
            "dev",
            "eth0",
        ]
        lease = lab.ipam_dir / "k8s-pod-network" / "10.244.7.2"
        assert lease.read_text().splitlines() == ["cid-1", "eth0"]

        check_network_list(conf, result, **kw)  # cniVersion 1.0.0 supports CHECK
        del_network_list(conf, result, **kw)
        assert host[1] not in _links(lab, node)
        assert "eth0" not in _links(lab, pod)
        assert not lease.exists()
        del_network_list(conf, result, **kw)  # the spec: DEL of what is gone succeeds


def test_ptp_gives_the_host_side_the_gateway_as_a_32(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        node = lab.add_netns("node")
        pod = lab.add_netns("pod")
        conf = kindnet_conflist("10.244.3.0/24", str(lab.ipam_dir))
        result = add_network_list(conf, run_in=node, container_id="c", netns=pod)
        veth = result.host_interfaces()[0]["name"]
        assert "10.244.3.1/32" in lab.run_in(node, ["ip", "-br", "addr", "show", veth]).stdout
        assert f"10.244.3.2 dev {veth} scope host" in lab.run_in(node, ["ip", "route"]).stdout
        refusal = 'configuration version "0.3.1" does not support the CHECK command'
        with pytest.raises(LabError, match=refusal):
            check_network_list(conf, result, run_in=node, container_id="c", netns=pod)


def _ipam(lab: Lab, subnet: str) -> dict[str, object]:
    return {"type": "host-local", "dataDir": str(lab.ipam_dir), "ranges": [[{"subnet": subnet}]]}


def test_plugin_error_result_becomes_a_clear_message(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        node = lab.add_netns("node")
        pod = lab.add_netns("pod")
        bad = {"cniVersion": "0.3.1", "name": "bad", "type": "bridge", "ipam": _ipam(lab, "10.1.1.1")}
        with pytest.raises(CNIError) as err:
            exec_plugin("ADD", bad, run_in=node, container_id="c", netns=pod)
        assert str(err.value).startswith("CNI plugin bridge ADD failed")
        assert "10.1.1.1" in str(err.value)
        # a fact of the bridge plugin: it made the veth before IPAM failed, and left it there;
        # DEL with the same configuration fails too, so only deleting the namespace removes it
        assert "eth0" in _links(lab, pod)
        with pytest.raises(CNIError, match="bridge DEL failed .*invalid CIDR address: 10.1.1.1"):
            exec_plugin("DEL", bad, run_in=node, container_id="c", netns=pod)


def test_failed_chain_is_deleted_as_a_runtime_does(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        node = lab.add_netns("node")
        pod = lab.add_netns("pod")
        chain = {
            "cniVersion": "0.3.1",
            "name": "chain",
            "plugins": [
                {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipam": _ipam(lab, "10.1.2.0/24")},
                {"type": "no-such-plugin"},
            ],
        }
        with pytest.raises(LabError, match="failed to find plugin 'no-such-plugin'"):
            add_network_list(chain, run_in=node, container_id="c2", netns=pod)
        assert "eth0" not in _links(lab, pod)
        assert [n for n in _links(lab, node) if n.startswith("veth")] == []
        assert not (lab.ipam_dir / "chain" / "10.1.2.2").exists()


def test_result_parsing_keeps_the_raw_json() -> None:
    raw = json.loads(
        '{"cniVersion":"0.3.1","interfaces":[{"name":"eth0","sandbox":"/run/netns/p"}],'
        '"ips":[{"version":"4","interface":0,"address":"10.244.0.5/24"}],"dns":{}}'
    )
    r = CNIResult.from_json(raw)
    assert r.addresses() == ["10.244.0.5/24"] and r.host_interfaces() == [] and r.raw == raw


@pytest.mark.parametrize("make", [bridge_conflist, kindnet_conflist])
def test_add_turns_on_ip_forward_in_the_node(lab_id: str, make: object) -> None:
    # bridge (isGateway) and ptp enable net.ipv4.ip_forward where they run: a node whose
    # forwarding was off has it on again after the next pod is added
    with Lab(lab_id, keep=False) as lab:
        node, pod = lab.add_netns("node"), lab.add_netns("pod")
        fwd = ["sysctl", "-n", "net.ipv4.ip_forward"]
        assert lab.run_in(node, fwd).stdout.strip() == "0"
        add_network_list(make("10.244.5.0/24", str(lab.ipam_dir)), run_in=node, container_id="c", netns=pod)  # type: ignore[operator]
        assert lab.run_in(node, fwd).stdout.strip() == "1"
