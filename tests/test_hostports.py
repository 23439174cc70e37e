"""hostNetwork and hostPort pods: the CNI portmap plugin's rules as it writes them, and the walk through them.

Sources: containernetworking/plugins ``plugins/meta/portmap`` (portmap_iptables.go, portmap_iptables_test.go
"generates a correct standard container chain" / "generates the correct mark chains"), ``pkg/utils``
(MustFormatChainNameWithPrefix), and the core/v1 API (ContainerPort.hostPort: "If HostNetwork is specified,
this must match ContainerPort"; SetDefaults_Pod gives a hostNetwork pod's ports hostPort = containerPort).
"""

from __future__ import annotations

from ipaddress import IPv4Interface

import pytest

import k8snetviz
from k8snetviz.agents.cni.portmap import PortMapping, dnat_chain_name, dnat_entry_rules, dnat_rules
from k8snetviz.errors import K8sNetVizError

CONTAINER_ID = ("icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9"
                "ceu0daez5hashee8ooYai5wa3y")


def test_dnat_chain_names_are_portmaps() -> None:
    # portmap_iptables_test.go: genDnatChain("testNetName", containerID) and genDnatChain("test", containerID)
    assert dnat_chain_name("testNetName", CONTAINER_ID) == "CNI-DN-bfd599665540dd91d5d28"
    assert dnat_chain_name("test", CONTAINER_ID) == "CNI-DN-67e92b96e692a494b6b85"


# portmap_iptables_test.go "generates a correct standard container chain": its runtimeConfig.portMappings
MAPPINGS = [PortMapping(8080, 80, "tcp"), PortMapping(8081, 80, "tcp"), PortMapping(8080, 81, "udp"),
            PortMapping(8082, 82, "udp"), PortMapping(8083, 83, "tcp", "192.168.0.2"),
            PortMapping(8084, 84, "tcp", "0.0.0.0"), PortMapping(8085, 85, "tcp", "2001:db8:a::1"),
            PortMapping(8086, 86, "tcp", "::")]


def test_fill_dnat_rules_as_the_plugin_test_expects() -> None:
    comment = f'dnat name: "test" id: "{CONTAINER_ID}"'
    assert dnat_entry_rules(MAPPINGS, "test", CONTAINER_ID) == [
        ["-m", "comment", "--comment", comment, "-m", "multiport", "-p", "tcp",
         "--destination-ports", "8080,8081,8083,8084,8085,8086"],
        ["-m", "comment", "--comment", comment, "-m", "multiport", "-p", "udp", "--destination-ports", "8080,8082"],
    ]
    net = IPv4Interface("10.0.0.2/24")
    assert dnat_rules(MAPPINGS, net) == [
        # tcp rules and not hostIP
        ["-p", "tcp", "--dport", "8080", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "tcp", "--dport", "8080", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
        ["-p", "tcp", "--dport", "8081", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "tcp", "--dport", "8081", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "tcp", "--dport", "8081", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
        # udp rules and not hostIP
        ["-p", "udp", "--dport", "8080", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "udp", "--dport", "8080", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "udp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:81"],
        ["-p", "udp", "--dport", "8082", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "udp", "--dport", "8082", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "udp", "--dport", "8082", "-j", "DNAT", "--to-destination", "10.0.0.2:82"],
        # tcp rules and hostIP
        ["-p", "tcp", "--dport", "8083", "-d", "192.168.0.2", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "tcp", "--dport", "8083", "-d", "192.168.0.2", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "tcp", "--dport", "8083", "-d", "192.168.0.2", "-j", "DNAT", "--to-destination", "10.0.0.2:83"],
        # tcp rules and hostIP = "0.0.0.0"
        ["-p", "tcp", "--dport", "8084", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "tcp", "--dport", "8084", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
        ["-p", "tcp", "--dport", "8084", "-j", "DNAT", "--to-destination", "10.0.0.2:84"],
    ]
    # Disable snat: only the DNAT rules
    assert dnat_rules(MAPPINGS, net, snat=False) == [
        ["-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
        ["-p", "tcp", "--dport", "8081", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
        ["-p", "udp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:81"],
        ["-p", "udp", "--dport", "8082", "-j", "DNAT", "--to-destination", "10.0.0.2:82"],
        ["-p", "tcp", "--dport", "8083", "-d", "192.168.0.2", "-j", "DNAT", "--to-destination", "10.0.0.2:83"],
        ["-p", "tcp", "--dport", "8084", "-j", "DNAT", "--to-destination", "10.0.0.2:84"],
    ]


@pytest.fixture(scope="module")
def cluster() -> k8snetviz.Cluster:
    return k8snetviz.load("host-ports")


def test_the_node_holds_portmaps_chains_as_iptables_save_prints_them(cluster: k8snetviz.Cluster) -> None:
    edge = cluster.pod("default/edge")
    from k8snetviz.agents.cni.config import container_id

    cid = container_id(edge)
    chain = dnat_chain_name("kindnet", cid)  # kindnet's conflist is named "kindnet"
    lines = cluster.iptables("kind-worker").splitlines()
    mine = [line for line in lines if "CNI-HOSTPORT" in line or "CNI-DN-" in line]
    # as a node's iptables-save shows them (portmap's README and real nodes): -s/-d first, implicit -m tcp,
    # --destination-ports saved as --dports, the pod's /24 normalized, /32 added
    assert mine == [
        f":{chain} - [0:0]",
        ":CNI-HOSTPORT-DNAT - [0:0]",
        ":CNI-HOSTPORT-MASQ - [0:0]",
        ":CNI-HOSTPORT-SETMARK - [0:0]",
        "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
        f"-A {chain} -s 10.244.1.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK",
        f"-A {chain} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK",
        f"-A {chain} -p tcp -m tcp --dport 8080 -j DNAT --to-destination {edge.ip}:80",
        f'-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"kindnet\\" id: \\"{cid}\\"" '
        f"-m multiport --dports 8080 -j {chain}",
        "-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
        '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark '
        "0x2000/0x2000",
    ]
    # the POSTROUTING jump is inserted first; the DNAT jumps come after kube-proxy's (appended later)
    nat = lines[lines.index("*nat"):]
    post = [line for line in nat if line.startswith("-A POSTROUTING")]
    assert post[0].endswith("-j CNI-HOSTPORT-MASQ") and "KUBE-POSTROUTING" in post[1]
    pre = [line for line in nat if line.startswith("-A PREROUTING")]
    assert pre[0].endswith("-j KUBE-SERVICES") and pre[1].endswith("-j CNI-HOSTPORT-DNAT")
    # only the node with the pod has them
    assert not [line for line in cluster.iptables("kind-control-plane").splitlines() if "CNI-HOSTPORT" in line]


def test_portmaps_rows_are_owned_by_the_plugin_for_the_pod(cluster: k8snetviz.Cluster) -> None:
    rs = cluster.netns["node/kind-worker"].ruleset
    dnat = [r for r in rs.rules("nat") if r.target_name == "DNAT" and r.chain.startswith("CNI-DN-")]
    assert [(r.owner.component, r.owner.object) for r in dnat] == [("kubelet/portmap", "Pod default/edge")]
    veth = next(k for k in cluster.netns["node/kind-worker"].sysctls if k.endswith(".route_localnet") and "veth" in k)
    assert cluster.netns["node/kind-worker"].sysctl_owners[veth].component == "kubelet/portmap"


def test_outside_client_reaches_the_hostport_and_keeps_its_address(cluster: k8snetviz.Cluster) -> None:
    t = cluster.trace("external/laptop", "172.18.0.3:8080")
    assert t.verdict == "delivered" and t.final["pod"] == "default/edge"
    assert t.final["src"] == "172.18.0.100:40000"  # no SETMARK: the client address is kept
    dnat = next(h for h in t.hops if h.action == "dnat")
    assert dnat.decided_by.owner.component == "kubelet/portmap"
    assert dnat.decided_by.text.endswith(f"-j DNAT --to-destination {cluster.pod('default/edge').ip}:80")
    assert "CNI-HOSTPORT-DNAT" in dnat.detail


def test_hairpin_and_localhost_hostport_are_masqueraded(cluster: k8snetviz.Cluster) -> None:
    for src, dst in (("default/client", "172.18.0.3:8080"), ("node/kind-worker", "127.0.0.1:8080")):
        t = cluster.trace(src, dst)
        assert t.verdict == "delivered" and t.final["pod"] == "default/edge"
        snat = next(h for h in t.hops if h.action == "snat")
        assert "CNI-HOSTPORT-MASQ" in snat.detail
        assert t.final["src"].startswith("10.244.1.1:")  # the node's address on the pod's veth


def test_a_host_network_pod_shares_its_nodes_address(cluster: k8snetviz.Cluster) -> None:
    agent = next(p for p in cluster.pods.values() if p.name.startswith("node-agent") and p.node_name == "kind-worker")
    assert str(agent.ip) == "172.18.0.3"  # kubectl get pods -o wide: the node's InternalIP
    assert "172.18.0.3" in next(line for line in cluster.get("pods", wide=True).splitlines()
                                if line.startswith(agent.name))
    assert f"pod/{agent.key}" not in cluster.netns  # no sandbox, no CNI call
    assert not [r for r in cluster.netns["node/kind-worker"].ruleset.rules("nat") if "9100" in r.line]  # no portmap
    t = cluster.trace("default/client", f"pod/{agent.key}:9100")
    assert t.verdict == "delivered" and t.final["pod"] == agent.key
    assert any(h.at == "node/kind-worker" and h.action == "deliver" and not h.reply for h in t.hops)
    assert "hostNetwork" in next(h.detail for h in t.hops if h.action == "deliver")


def test_host_network_host_port_must_match_the_container_port() -> None:
    doc = """apiVersion: v1
kind: Pod
metadata: {name: agent}
spec:
  hostNetwork: true
  containers:
  - name: a
    image: busybox
    ports:
    - {containerPort: 9100, hostPort: 9200}
"""
    message = (r'The Pod "agent" is invalid: spec.containers\[0\].ports\[0\].hostPort: Invalid value: 9200: '
               r"must match `containerPort` when `hostNetwork` is true")
    with pytest.raises(K8sNetVizError, match=message):
        k8snetviz.loads(doc)
    with pytest.raises(K8sNetVizError, match=r"hostPort: Invalid value: 70000: must be between 1 and 65535"):
        k8snetviz.loads(doc.replace("hostNetwork: true", "hostNetwork: false").replace("9200", "70000"))


def test_only_the_pods_node_answers_on_the_host_port(cluster: k8snetviz.Cluster) -> None:
    # Notebook 05: portmap writes the hostPort on the pod's node alone; on the control plane port 8080 is closed.
    from k8snetviz.questions.connect import connect

    plane = cluster.netns["node/kind-control-plane"].ruleset
    assert not [r for r in plane.rules("nat") if "CNI-DN-" in r.line or "--dport 8080" in r.line]
    assert connect(cluster, "pod/default/client", "172.18.0.3", 8080).outcome == "open"
    assert connect(cluster, "pod/default/client", "172.18.0.2", 8080).outcome == "refused"
