"""Calico as a CNI model: IPAM blocks, IP-in-IP, VXLAN and BGP routes, the pod plumbing, Felix.

The facts come from projectcalico/calico (paths given in each test) and its own tests.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

import k8snetviz
from k8snetviz.agents.cni.calico import BlockIPAM, IPPool, fnv32, veth_name
from k8snetviz.cluster import Cluster
from k8snetviz.errors import InvalidObject

W, W2, CP = "node/kind-worker", "node/kind-worker2", "node/kind-control-plane"


def pool(ipip: str = "Always", vxlan: str = "Never", nat: bool = True, cidr: str = "192.168.0.0/16",
         block: int = 26) -> str:
    return ("apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: {name: default-ipv4-ippool}\n"
            f"spec: {{cidr: {cidr}, blockSize: {block}, ipipMode: {ipip}, vxlanMode: {vxlan}, "
            f"natOutgoing: {str(nat).lower()}}}\n")


@pytest.fixture(scope="module")
def ipip() -> Cluster:
    return k8snetviz.load("calico")


def pod_key(c: Cluster, prefix: str, node: str | None = None) -> str:
    return next(k for k, p in c.pods.items() if k.startswith(prefix) and (node is None or p.node_name == node))


# --- the CNI plugin's side of a pod -------------------------------------------------------------------


def test_host_veth_name_is_cali_and_sha1_of_namespace_dot_pod() -> None:
    # libcalico-go lib/backend/k8s/conversion/workload_endpoint_default.go, VethNameForWorkload:
    # "cali" + hex(sha1("<namespace>.<pod>"))[:11], 15 characters (IFNAMSIZ - 1).
    assert veth_name("default", "nginx") == "calic440f455693"
    assert all(len(veth_name("kube-system", f"coredns-{i}")) == 15 for i in range(20))


def test_pod_plumbing_as_calicos_own_cni_test_expects(ipip: Cluster) -> None:
    # projectcalico/calico cni-plugin/tests/calico_cni_test.go, "CalicoCni using host-local IPAM successfully
    # networks the namespace": the address is a /32; the host veth is up with MAC ee:ee:ee:ee:ee:ee, proxy_arp 1,
    # proxy_delay 0, forwarding 1; the host route is "<ip> dev cali... scope link" (RTPROT_BOOT: no proto printed);
    # the container has "default via 169.254.1.1" and "169.254.1.1 dev eth0 scope link".
    key = "default/client"
    pod = ipip.pods[key]
    pns = ipip.netns[f"pod/{key}"]
    eth0 = pns.interfaces["eth0"]
    assert [str(a) for a in eth0.addrs] == [f"{pod.ip}/32"]
    assert str(pns.routes).splitlines() == ["default via 169.254.1.1 dev eth0", "169.254.1.1 dev eth0 scope link"]
    host_name = veth_name("default", "client")
    node = ipip.netns[W]
    host = node.interfaces[host_name]
    assert host.mac == "ee:ee:ee:ee:ee:ee" and host.addrs == [] and host.peer == (f"pod/{key}", "eth0")
    for sysctl, value in (("conf.{}.proxy_arp", "1"), ("neigh.{}.proxy_delay", "0"), ("conf.{}.forwarding", "1")):
        assert node.sysctl("net.ipv4." + sysctl.format(host_name)) == value
    assert f"{pod.ip} dev {host_name} scope link" in str(node.routes).splitlines()
    # calico.yaml's veth_mtu "0" means auto-detection: a 1500-byte host interface minus IP-in-IP's 20
    # (felix/dataplane/linux/int_dataplane.go, ipipMTUOverhead).
    assert host.mtu == eth0.mtu == 1480


def test_conflist_is_calico_yamls_cni_network_config(ipip: Cluster) -> None:
    from k8snetviz.agents.cni.config import conflist_file

    f = conflist_file(ipip, "kind-worker")
    assert f.path == "/etc/cni/net.d/10-calico.conflist"  # cni-plugin/pkg/install: CNI_CONF_NAME default
    calico, portmap = f.conflist["plugins"]
    assert (calico["type"], calico["ipam"], calico["policy"], calico["nodename"], calico["mtu"]) == (
        "calico", {"type": "calico-ipam"}, {"type": "k8s"}, "kind-worker", 1480)
    assert portmap == {"type": "portmap", "snat": True, "capabilities": {"portMappings": True}}


# --- IPAM ---------------------------------------------------------------------------------------------


def test_fnv32_is_gos_hash_fnv_new32() -> None:
    # Go's hash/fnv New32 (FNV-1) of "hello", as Go prints it.
    assert fnv32("hello") == 0xB6FA7167


def test_each_node_claims_a_26_and_the_tunnel_address_comes_first(ipip: Cluster) -> None:
    # node/pkg/lifecycle/startup/startup.go: DEFAULT_IPV4_POOL_BLOCK_SIZE = 26; the tunnel address is
    # allocated by calico-node at start (node/pkg/allocateip), before any pod; IPAM hands out ordinals in
    # order (libcalico-go lib/ipam/ipam_block.go newBlock).
    seen: set[IPv4Network] = set()
    for name in ipip.nodes:
        (block,) = ipip.cni.blocks(name)  # type: ignore[attr-defined]
        assert block.prefixlen == 26 and block.subnet_of(IPv4Network("192.168.0.0/16")) and block not in seen
        seen.add(block)
        assert ipip.cni.tunnel_address(name) == block.network_address  # type: ignore[attr-defined]
        pods = sorted((p.ip for p in ipip.pods.values() if p.node_name == name and not p.host_network), key=int)
        assert pods == [block.network_address + i for i in range(1, len(pods) + 1)]


def test_a_full_block_makes_the_node_claim_another() -> None:
    nodes = k8snetviz.load("calico").nodes
    ipam = BlockIPAM(IPPool("p", IPv4Network("10.0.0.0/24"), 26), list(nodes.values()), tunnel=False)
    ipam.prepare()
    got = [ipam.allocate("kind-worker") for _ in range(65)]
    first, second = ipam.blocks["kind-worker"]
    assert got[0] == first.network_address and got[64] == second.network_address and first != second
    # The block order starts at a hash of the host name (libcalico-go ipam_block_reader_writer.go,
    # randomBlockGenerator, seeded with hash/fnv of the hostname) and walks on, wrapping at the pool's end.
    assert int(first.network_address) - int(IPv4Network("10.0.0.0/24").network_address) == \
        (fnv32("kind-worker") % 4) * 64
    with pytest.raises(ValueError, match="no free block"):
        for _ in range(4 * 64):
            ipam.allocate("kind-worker")


def test_a_dump_fixes_addresses_and_their_blocks_become_the_nodes() -> None:
    pinned = ("apiVersion: v1\nkind: Pod\nmetadata: {name: pinned}\nspec: {nodeName: kind-worker2, containers: "
              "[{name: c, image: busybox}]}\nstatus: {podIP: 192.168.7.70}\n")
    c = k8snetviz.load("calico", pinned)
    assert IPv4Network("192.168.7.64/26") in c.cni.blocks("kind-worker2")  # type: ignore[attr-defined]
    assert "blackhole 192.168.7.64/26 proto bird" in str(c.netns[W2].routes)
    assert "192.168.7.64/26 via 172.18.0.4 dev tunl0 proto bird onlink" in str(c.netns[W].routes)
    wrong = pinned.replace("kind-worker2", "kind-worker").replace("pinned", "other")
    with pytest.raises(InvalidObject, match="affine to node kind-worker2"):
        k8snetviz.load("calico", pinned, wrong.replace("192.168.7.70", "192.168.7.71"))


# --- routes: IP-in-IP (the manifest's default), VXLAN, BGP ----------------------------------------------


def test_ipip_routes_are_birds_with_the_blackhole_for_the_own_block(ipip: Cluster) -> None:
    # Routes as BIRD installs them (confd templates: krt_tunnel = "tunl0" for IP-in-IP pools), as
    # `ip route` shows them on a real IP-in-IP node:
    #   blackhole 10.122.36.64/26 proto bird
    #   10.122.62.128/26 via 192.168.10.100 dev tunl0 proto bird onlink
    rows = str(ipip.netns[W].routes).splitlines()
    own = ipip.cni.blocks("kind-worker")[0]  # type: ignore[attr-defined]
    assert f"blackhole {own} proto bird" in rows
    for peer, ip in (("kind-control-plane", "172.18.0.2"), ("kind-worker2", "172.18.0.4")):
        block = ipip.cni.blocks(peer)[0]  # type: ignore[attr-defined]
        assert f"{block} via {ip} dev tunl0 proto bird onlink" in rows
    tunl0 = ipip.netns[W].interfaces["tunl0"]
    assert tunl0.kind == "ipip" and tunl0.mtu == 1480 and [str(a) for a in tunl0.addrs] == [f"{own.network_address}/32"]
    route = next(r for r in ipip.netns[W].routes if r.dev == "tunl0")
    assert route.owner.component == "calico-node/bird"


def test_ip_link_shows_tunl0_as_the_kernel_does(ipip: Cluster) -> None:
    from k8snetviz.views.iproute import ip_link

    text = ip_link(ipip.netns[W], "tunl0").splitlines()
    # `ip link show tunl0` on a Calico node (felix dataplanedefs IPIPIfaceName):
    # tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue state UNKNOWN ... link/ipip 0.0.0.0 brd 0.0.0.0
    assert text[0].split(": ", 1)[1].startswith("tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue")
    assert "state UNKNOWN" in text[0]
    assert text[1].strip() == "link/ipip 0.0.0.0 brd 0.0.0.0"


def test_cross_node_pod_traffic_is_wrapped_in_ip_in_ip(ipip: Cluster) -> None:
    web = pod_key(ipip, "default/web-", "kind-worker2")
    t = ipip.trace("default/client", f"pod/{web}:80")
    assert t.delivered
    encap = next(h for h in t.hops if h.action == "encap")
    assert encap.at == W and encap.device == "tunl0" and encap.outer.startswith("IPIP 172.18.0.3 → 172.18.0.4")
    decap = next(h for h in t.hops if h.action == "decap")
    assert decap.at == W2 and decap.device == "tunl0"
    route = next(h for h in t.hops if h.action == "route" and h.device == "tunl0")
    assert route.decided_by is not None and route.decided_by.owner.component == "calico-node/bird"
    # the pod's first hop: proxy ARP on the host end of the veth answers for 169.254.1.1
    veth = next(h for h in t.hops if h.action == "veth")
    assert veth.decided_by is not None and veth.decided_by.kind == "sysctl" and "proxy_arp = 1" in veth.decided_by.text


def test_vxlan_pool_routes_through_vxlan_calico_programmed_by_felix() -> None:
    # calico.yaml's VXLAN variant (manifests/calico-vxlan.yaml); felix config_params.go: VXLANVNI 4096,
    # VXLANPort 4789; dataplanedefs VXLANIfaceNameV4 "vxlan.calico"; vxlanMTUOverhead 50. Felix programs
    # the routes (proto 80) via the peer's tunnel address onlink, with a static neighbour and FDB entry.
    c = k8snetviz.load("calico", pool(ipip="Never", vxlan="Always"))
    node = c.netns[W]
    dev = node.interfaces["vxlan.calico"]
    assert (dev.kind, dev.mtu, dev.vxlan["id"], dev.vxlan["dstport"]) == ("vxlan", 1450, 4096, 4789)  # type: ignore[index]
    assert "tunl0" not in node.interfaces
    peer_block = c.cni.blocks("kind-worker2")[0]  # type: ignore[attr-defined]
    peer_tunnel = c.cni.tunnel_address("kind-worker2")  # type: ignore[attr-defined]
    rows = str(node.routes).splitlines()
    assert f"{peer_block} via {peer_tunnel} dev vxlan.calico proto 80 onlink" in rows
    own = c.cni.blocks("kind-worker")[0]  # type: ignore[attr-defined]
    assert f"blackhole {own} proto 80" in rows
    assert node.neighbour("vxlan.calico", IPv4Address(str(peer_tunnel))) is not None
    web = pod_key(c, "default/web-", "kind-worker2")
    t = c.trace("default/client", f"pod/{web}:80")
    assert t.delivered and any(h.action == "encap" and "UDP" in h.outer and ":4789" in h.outer for h in t.hops)


def test_bgp_without_encapsulation_routes_blocks_straight_to_node_ips() -> None:
    c = k8snetviz.load("calico", pool(ipip="Never"))
    rows = str(c.netns[W].routes).splitlines()
    block = c.cni.blocks("kind-worker2")[0]  # type: ignore[attr-defined]
    assert f"{block} via 172.18.0.4 dev eth0 proto bird" in rows
    assert "tunl0" not in c.netns[W].interfaces and c.netns[W].interfaces[veth_name("default", "client")].mtu == 1500
    # no tunnel address: the first pod gets the block's first address
    assert c.pods["default/client"].ip in c.cni.blocks("kind-worker")[0]  # type: ignore[attr-defined]
    web = pod_key(c, "default/web-", "kind-worker2")
    assert c.trace("default/client", f"pod/{web}:80").delivered
    # CrossSubnet: encapsulate only across subnets; the kind nodes share one, so the routes are plain.
    cross = k8snetviz.load("calico", pool(ipip="CrossSubnet"))
    assert f"{cross.cni.blocks('kind-worker2')[0]} via 172.18.0.4 dev eth0 proto bird" in str(  # type: ignore[attr-defined]
        cross.netns[W].routes)


def test_the_pool_comes_from_calico_nodes_env_when_no_ippool_is_given() -> None:
    # node/pkg/lifecycle/startup/startup.go configureIPPools: CALICO_IPV4POOL_IPIP / _VXLAN ("always",
    # "crosssubnet", "never"), CALICO_IPV4POOL_CIDR, else the kubeadm podSubnet.
    ds = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system, labels: {k8s-app: calico-node}}
spec:
  selector: {matchLabels: {k8s-app: calico-node}}
  template:
    metadata: {labels: {k8s-app: calico-node}}
    spec:
      hostNetwork: true
      tolerations: [{operator: Exists}]
      containers:
      - name: calico-node
        image: docker.io/calico/node:v3.28.0
        env:
        - {name: CALICO_IPV4POOL_IPIP, value: Never}
        - {name: CALICO_IPV4POOL_VXLAN, value: Always}
"""
    base = ("apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec: {cni: calico}\n---\n"
            "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking: {podSubnet: 10.100.0.0/16}\n")
    c = k8snetviz.loads(base + "---\n" + ds)
    assert (c.cni.pool.encapsulation, str(c.cni.pool.cidr)) == ("VXLAN", "10.100.0.0/16")  # type: ignore[attr-defined]
    plain = k8snetviz.loads(base)
    assert (plain.cni.pool.ipip_mode, plain.cni.pool.vxlan_mode, plain.cni.pool.nat_outgoing) == (  # type: ignore[attr-defined]
        "Always", "Never", True)


def test_an_invalid_pool_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidObject) as e:
        k8snetviz.load("calico", pool(ipip="Always", vxlan="Always").replace("default-ipv4-ippool", "x"))
    assert str(e.value).startswith('The IPPool "x" is invalid: spec.vxlanMode: Invalid value: "Always"')
    with pytest.raises(InvalidObject, match='spec.ipipMode: Unsupported value: "Sometimes"'):
        k8snetviz.load("calico", pool(ipip="Sometimes"))


# --- Felix: natOutgoing and NetworkPolicy --------------------------------------------------------------


def test_nat_outgoing_masquerades_pods_leaving_the_pools(ipip: Cluster) -> None:
    # felix/rules/nat.go (makeNATOutgoingRuleIPTables) with the IP sets of felix/ipsets (prefix "cali40"); the
    # rule and chain jumps as a real Calico node's iptables-save prints them.
    saved = str(ipip.iptables("kind-worker"))
    assert ('-A cali-nat-outgoing -m comment --comment "cali:flqWnvo8yq4ULQLa" -m set --match-set '
            "cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully"
            ) in saved
    nat = saved[saved.index("*nat"):]
    assert nat.index("-A POSTROUTING -m comment --comment \"cali:O3lYWMrLQYEMJtB5\" -j cali-POSTROUTING") < \
        nat.index("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\"")
    assert {s.name for s in ipip.netns[W].ipsets.values()} == {"cali40all-ipam-pools", "cali40masq-ipam-pools"}
    out = ipip.trace("default/client", "1.1.1.1:443")
    assert out.delivered and out.final is not None and out.final["src"].startswith("172.18.0.3:")
    snat = next(h for h in out.hops if h.action == "snat")
    assert snat.decided_by is not None and snat.decided_by.owner.component == "calico-node/felix"
    # natOutgoing false: the pod's own address leaves, and the answer cannot find its way back.
    off = k8snetviz.load("calico", pool(nat=False))
    assert not off.trace("default/client", "1.1.1.1:443").delivered


def test_felix_enforces_network_policy(ipip: Cluster) -> None:
    assert ipip.cni.enforces_network_policy and ipip.policy_enforcer == "calico-node/felix"
    ok = ipip.trace("default/client", "svc/default/web:80")
    assert ok.delivered
    blocked = ipip.trace("default/intruder", "svc/default/web:80")
    assert blocked.verdict == "dropped"
    drop = blocked.hops[-1]
    assert drop.action == "drop" and drop.decided_by is not None
    assert drop.decided_by.kind == "policy" and drop.decided_by.owner.component == "calico-node/felix"


# --- real dumps (tests/data/dumps, see SOURCES.md) -------------------------------------------------------

DUMPS = __import__("pathlib").Path(__file__).parent / "data" / "dumps"


def test_a_minikube_dump_keeps_its_block_and_the_tunnel_takes_its_first_address() -> None:
    # minikube-calico-pods.yaml (np-guard/netpol-analyzer tests/minikube_resources/pods.yaml): calico-node with
    # CALICO_IPV4POOL_IPIP=Always; the pods hold 10.244.120.65.. of the block 10.244.120.64/26 (the node's
    # /24 podCIDR unused); the first address went to tunl0 before any pod.
    c = k8snetviz.load(str(DUMPS / "minikube-calico-pods.yaml"))
    assert c.config.cni == "calico" and c.cni.pool.encapsulation == "IPIP"  # type: ignore[attr-defined]
    assert c.cni.blocks("minikube") == [IPv4Network("10.244.120.64/26")]  # type: ignore[attr-defined]
    assert c.cni.tunnel_address("minikube") == IPv4Address("10.244.120.64")  # type: ignore[attr-defined]
    assert "blackhole 10.244.120.64/26 proto bird" in str(c.netns["node/minikube"].routes)


def test_a_gke_dump_runs_calico_for_policy_only() -> None:
    # gke-calico-kubevious (kubevious/parser mock-data): calico-node with CALICO_NETWORKING_BACKEND=none and
    # NO_DEFAULT_POOLS, install-cni's CNI_NETWORK_CONFIG with "ipam": {"type": "host-local", "subnet":
    # "usePodCidr"} and "mtu": 1460: GKE routes the podCIDRs, Felix enforces NetworkPolicy.
    c = k8snetviz.load(str(DUMPS / "gke-calico-kubevious"))
    assert c.cni.policy_only and c.policy_enforcer == "calico-node/felix"  # type: ignore[attr-defined]
    node = next(iter(c.nodes.values()))
    pods = [p for p in c.pods.values() if p.node_name == node.name and p.ip is not None and not p.host_network]
    assert pods and all(p.ip in node.pod_cidr for p in pods)
    host = c.netns[f"node/{node.name}"].interfaces[veth_name(pods[0].namespace, pods[0].name)]
    assert host.mtu == 1460
    assert any("NetworkPolicy only" in a for a in c.notes.approximated)
    assert "tunl0" not in c.netns[f"node/{node.name}"].interfaces


def test_the_shipped_vxlan_scenario_is_calico_yaml_switched_to_vxlan() -> None:
    # Calico's docs, "Customize the manifests" (getting-started/kubernetes/installation/config-options): to run
    # VXLAN, rename CALICO_IPV4POOL_IPIP to CALICO_IPV4POOL_VXLAN keeping "Always", and set calico_backend
    # "vxlan", which disables BIRD. calico-node then creates its pool from the env (node/pkg/lifecycle/startup/
    # startup.go configureIPPools: an unset CALICO_IPV4POOL_IPIP is Never; the CIDR is kubeadm's podSubnet).
    c = k8snetviz.load("calico-vxlan")
    cni = c.cni
    assert (cni.networking, cni.pool.vxlan_mode, cni.pool.ipip_mode) == ("vxlan", "Always", "Never")  # type: ignore[attr-defined]
    assert str(cni.pool.cidr) == "192.168.0.0/16" and cni.pool.block_size == 26  # type: ignore[attr-defined]
    for name in c.nodes:
        node = c.netns[f"node/{name}"]
        assert "vxlan.calico" in node.interfaces and "tunl0" not in node.interfaces
        # without BIRD, every Calico route and blackhole is Felix's (proto 80)
        owners = {r.owner.component for r in node.routes.sorted() if r.proto in ("80", "bird")}
        assert owners == {"calico-node/felix"}
    assert sum(p.name.startswith("calico-node-") for p in c.pods.values()) == 3  # the scenario's DaemonSet
    web = pod_key(c, "default/web-", "kind-worker2")
    t = c.trace("default/client", "svc/default/web:80", endpoint=web)
    assert t.delivered and any(h.action == "encap" and ":4789" in h.outer for h in t.hops)
