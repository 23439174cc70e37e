"""A kind cluster's kube-system as `kubectl -n kube-system get pods -o wide` shows it, and what breaks without
kube-proxy or CoreDNS.

Sources: kubeadm's static pod manifests (kubernetes/kubernetes cmd/kubeadm/app/phases/controlplane/manifests.go:
labels component and tier: control-plane; cmd/kubeadm/app/util/staticpod/utils.go ComponentPod: hostNetwork,
priorityClassName system-node-critical); the kubelet's mirror pods (pkg/kubelet/config/common.go: the name is
"<pod>-<node>"; pkg/kubelet/pod/mirror_client.go: owned by the Node, controller true); kubeadm's kube-proxy
DaemonSet (cmd/kubeadm/app/phases/addons/proxy/manifests.go: k8s-app: kube-proxy, nodeSelector
kubernetes.io/os: linux, tolerations operator Exists); kind's kindnet manifest (kubernetes-sigs/kind
images/kindnetd, labels app: kindnet, tier: node, k8s-app: kindnet) and local-path-provisioner in namespace
local-path-storage; the listing of a real three-node kind cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import k8snetviz
from k8snetviz.cluster import Cluster

NO_KUBE_PROXY = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system, labels: {k8s-app: kube-proxy}}
spec:
  selector: {matchLabels: {k8s-app: kube-proxy}}
  template:
    metadata: {labels: {k8s-app: kube-proxy}}
    spec:
      hostNetwork: true
      nodeSelector: {non-existing: "true"}
      tolerations: [{operator: Exists}]
      containers: [{name: kube-proxy, image: registry.k8s.io/kube-proxy:v1.31.0}]
"""

NO_COREDNS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 0
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers: [{name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.3}]
"""


@pytest.fixture(scope="module")
def kind() -> Cluster:
    return k8snetviz.load("kind-default")


def test_kube_system_lists_what_a_kind_cluster_runs(kind: Cluster) -> None:
    rows = [line.split() for line in kind.get("pods", namespace="kube-system", wide=True).splitlines()[1:]]
    names = [r[0] for r in rows]
    cp = "kind-control-plane"
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert f"{component}-{cp}" in names
    assert sum(n.startswith("kube-proxy-") for n in names) == 3 and sum(n.startswith("kindnet-") for n in names) == 3
    assert sum(n.startswith("coredns-") for n in names) == 2
    by_name = {r[0]: r for r in rows}
    nodes = {n.name: str(n.internal_ip) for n in kind.nodes.values()}
    for name, row in by_name.items():
        ip, node = row[5], row[6]
        if not name.startswith("coredns-"):
            assert ip == nodes[node], name  # host network: the node's own address
        else:
            assert ip.startswith("10.244.0.") and node == cp
    # one kube-proxy and one kindnet pod per node, each named <DaemonSet>-<5 characters>
    for prefix in ("kube-proxy-", "kindnet-"):
        assert sorted(by_name[n][6] for n in names if n.startswith(prefix)) == sorted(nodes)
        assert all(len(n) == len(prefix) + 5 for n in names if n.startswith(prefix))
    assert [p.key for p in kind.pods.values() if p.namespace == "local-path-storage"][0].startswith(
        "local-path-storage/local-path-provisioner-")


def test_owners_and_labels(kind: Cluster) -> None:
    apiserver = kind.pods["kube-system/kube-apiserver-kind-control-plane"]
    assert apiserver.host_network and apiserver.labels == {"component": "kube-apiserver", "tier": "control-plane"}
    assert apiserver.raw["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "kind-control-plane", "controller": True}]
    proxy = next(p for p in kind.pods.values() if p.name.startswith("kube-proxy-"))
    assert proxy.labels["k8s-app"] == "kube-proxy" and proxy.owner is not None
    assert (proxy.owner.kind, proxy.owner.name) == ("DaemonSet", "kube-proxy")
    kindnet = next(p for p in kind.pods.values() if p.name.startswith("kindnet-"))
    assert {"app": "kindnet", "tier": "node", "k8s-app": "kindnet"}.items() <= kindnet.labels.items()
    coredns = next(p for p in kind.pods.values() if p.name.startswith("coredns-"))
    assert coredns.owner is not None and coredns.owner.kind == "ReplicaSet"


def test_the_cni_add_on_is_the_models() -> None:
    flannel = k8snetviz.load("flannel-vxlan")
    ds = [p for p in flannel.pods.values() if p.name.startswith("kube-flannel-ds-")]
    assert len(ds) == 3 and {p.namespace for p in ds} == {"kube-flannel"}  # kube-flannel.yml's namespace
    assert not any(p.name.startswith("kindnet-") for p in flannel.pods.values())
    calico = k8snetviz.load("calico")
    assert sum(p.name.startswith("calico-node-") for p in calico.pods.values()) == 3
    controllers = [p for p in calico.pods.values() if p.name.startswith("calico-kube-controllers-")]
    assert len(controllers) == 1 and not controllers[0].host_network


def test_kube_proxy_that_runs_nowhere_leaves_the_cluster_ip_going_nowhere() -> None:
    c = k8snetviz.load("kind-default", NO_KUBE_PROXY)
    assert not any(p.name.startswith("kube-proxy-") for p in c.pods.values())
    assert "KUBE-SERVICES" not in str(c.iptables("kind-worker"))
    t = c.trace("default/client", "svc/default/web:80")
    assert t.verdict == "no-route" and "kube-proxy is not running on kind-worker" in t.reason
    assert "nodeSelector" in t.reason
    # kind's own switch: kubeProxyMode none installs no kube-proxy at all
    off = k8snetviz.load("kind-default", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
                         "networking: {kubeProxyMode: none}\n")
    assert not any(p.name.startswith("kube-proxy-") for p in off.pods.values())
    assert "kubeProxyMode: none" in off.trace("default/client", "svc/default/web:80").reason


def test_coredns_scaled_to_zero_makes_lookups_time_out() -> None:
    c = k8snetviz.load("kind-default", NO_COREDNS)
    assert not any(p.name.startswith("coredns-") for p in c.pods.values())
    answer = c.resolve("default/client", "web")
    assert [q["rcode"] for q in answer.to_dict()["queries"]][:1] == ["TIMEOUT"] and not answer.to_dict()["answers"]
    # kube-proxy's rule for a Service without endpoints (pkg/proxy/iptables/proxier.go, "has no endpoints")
    assert '"kube-system/kube-dns:dns has no endpoints"' in str(c.iptables("kind-worker"))


def test_a_dump_gets_no_kind_add_ons() -> None:
    dump = Path(__file__).parent / "data" / "dumps" / "kind-kindnet-sonobuoy"
    c = k8snetviz.load(str(dump))
    names = [p.name for p in c.pods.values() if p.namespace == "kube-system"]
    assert sum(n.startswith("kube-proxy-") for n in names) == 3  # the dump's own, honoured
    assert not any(p.namespace == "local-path-storage" and p.raw.get("metadata", {}).get("uid") is None
                   for p in c.pods.values())
    assert c.kube_proxy_nodes == set(c.nodes)


def test_nftables_mode_kube_system_and_kube_proxy_scaled_to_zero() -> None:
    # kind's kubeProxyMode: nftables keeps kubeadm's kube-proxy DaemonSet (kind pkg/cluster/internal/kubeadm/config.go
    # writes the mode into KubeProxyConfiguration, nothing else changes): one pod per node, and the kube-proxy
    # table on every node where one runs.
    nft = k8snetviz.load("kube-proxy-nftables")
    pods = [p for p in nft.pods.values() if p.name.startswith("kube-proxy-")]
    assert sorted(p.node_name for p in pods) == sorted(nft.nodes) and all(p.host_network for p in pods)
    assert nft.kube_proxy_nodes == set(nft.nodes)
    assert "table ip kube-proxy" in str(nft.nft("kind-worker"))
    # kube-proxy scheduled nowhere: no table is written (kube-proxy is what creates it), the cluster IP goes nowhere
    off = k8snetviz.load("kube-proxy-nftables", NO_KUBE_PROXY)
    assert off.kube_proxy_nodes == set() and not any(p.name.startswith("kube-proxy-") for p in off.pods.values())
    assert "kube-proxy" not in str(off.nft("kind-worker"))
    t = off.trace("default/client", "svc/default/web:80")
    assert t.verdict == "no-route" and "kube-proxy is not running on" in t.reason
    assert "nodeSelector non-existing=true, which no node matches" in t.reason


def test_coredns_scaled_to_zero_in_nftables_mode() -> None:
    # the nftables proxier rejects a Service without endpoints through its no-endpoint-services map
    # (kubernetes pkg/proxy/nftables/proxier.go, noEndpointServicesMap); the resolver still times out
    c = k8snetviz.load("kube-proxy-nftables", NO_COREDNS)
    answer = c.resolve("default/client", "web").to_dict()
    assert [q["rcode"] for q in answer["queries"]][:1] == ["TIMEOUT"] and not answer["answers"]
    assert '10.96.0.10 . udp . 53 comment "kube-system/kube-dns:dns" : goto reject-chain' in str(c.nft("kind-worker"))


def test_which_mode_kube_proxy_runs_as_a_node_tells_it() -> None:
    # kube-proxy's metrics server answers GET /proxyMode with the mode it runs (kubernetes
    # cmd/kube-proxy/app/server.go, serveMetrics: fmt.Fprintf(w, "%s", proxyMode)); where no kube-proxy runs,
    # nothing listens on 10249 (curl: (7) Couldn't connect to server)
    from k8snetviz.course import Session

    for scenario, mode in (("kind-default", "iptables"), ("kube-proxy-nftables", "nftables")):
        s = Session(scenario)
        s.run("ssh kind-worker")
        assert s.run("curl -s localhost:10249/proxyMode").output.strip() == mode
    s = Session(k8snetviz.load("kind-default", NO_KUBE_PROXY))
    s.run("ssh kind-worker")
    answer = s.run("curl -sS localhost:10249/proxyMode")
    assert answer.status == 7 and "Couldn't connect to server" in answer.output


def test_static_pods_are_the_files_on_the_node_and_one_release(kind: Cluster) -> None:
    # the kubelet mirrors each file of its staticPodPath (kubernetes pkg/kubelet/config/file.go) into the API:
    # the pod's containers are the manifest's, as /etc/kubernetes/manifests holds it; every component image is the
    # release the nodes report (kubeadm's images: cmd/kubeadm/app/images/images.go GetKubernetesImage)
    from k8snetviz.agents import kubeadm_files as kf

    cp = kind.nodes["kind-control-plane"]
    files = kf.static_pod_manifests(kind.config, cp.name, str(cp.internal_ip))
    for comp, body in files.items():
        pod = kind.pods[f"kube-system/{comp}-{cp.name}"]
        assert pod.raw["spec"]["containers"][0]["command"] == body["spec"]["containers"][0]["command"]
        assert pod.raw["spec"]["containers"][0]["image"] == body["spec"]["containers"][0]["image"]
    proxy = next(p for p in kind.pods.values() if p.name.startswith("kube-proxy-"))
    assert proxy.images == [f"registry.k8s.io/kube-proxy:{kf.KUBERNETES_VERSION}"]
    assert kind.get("nodes").splitlines()[1].split()[-1] == kf.KUBERNETES_VERSION
