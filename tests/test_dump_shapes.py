"""Shapes of real dumps beyond the single-stack ones: dual-stack and IPv6 clusters, Node lists that lack nodes
pods run on, OVN-Kubernetes nodes.

Sources, each cited at its test: the Kubernetes API reference (PodStatus.podIPs, NodeSpec.podCIDRs,
ServiceSpec.clusterIPs/ipFamilies, EndpointSlice.addressType), kubernetes.io "IPv4/IPv6 dual-stack",
kube-apiserver's and kube-controller-manager's flag reference, ovn-kubernetes' node annotations.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import k8snetviz
from k8snetviz.api.families import ipv4_half
from k8snetviz.cli import main
from k8snetviz.errors import K8sNetVizError

UID = {"uid": "0d6c2a38-0000-4000-8000-000000000000", "resourceVersion": "1"}  # read back from an API server


def _md(name: str, ns: str | None = "default", **extra: Any) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, **UID, "uid": f"uid-{ns}-{name}", **extra}
    if ns:
        md["namespace"] = ns
    return md


def _node(name: str, v4: str, v6: str, cidr4: str, cidr6: str, v6_first: bool = False) -> dict[str, Any]:
    addrs = [{"type": "InternalIP", "address": v4}, {"type": "InternalIP", "address": v6}]
    cidrs = [cidr4, cidr6]
    if v6_first:
        addrs.reverse()
        cidrs.reverse()
    return {"apiVersion": "v1", "kind": "Node", "metadata": _md(name, None),
            "spec": {"podCIDR": cidrs[0], "podCIDRs": cidrs},
            "status": {"addresses": [*addrs, {"type": "Hostname", "address": name}]}}


def _pod(name: str, node: str, v4: str, v6: str, host4: str, labels: dict[str, str],
         v6_first: bool = False) -> dict[str, Any]:
    ips = [v4, v6] if not v6_first else [v6, v4]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _md(name, labels=labels),
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx",
                                                        "ports": [{"containerPort": 80}]}]},
            "status": {"phase": "Running", "hostIP": host4, "hostIPs": [{"ip": host4}],
                       "podIP": ips[0], "podIPs": [{"ip": a} for a in ips],
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def _dual_stack_dump(v6_first: bool = False) -> list[dict[str, Any]]:
    """A two-node dual-stack cluster as ``kubectl get nodes,pods,svc,endpointslices -A -o json`` prints it, with
    kind's dual-stack ranges (10.244.0.0/16 + fd00:10:244::/56 for pods, 10.96.0.0/16 + fd00:10:96::/112 for
    Services; kind docs "Configuring Your kind Cluster: IP family")."""
    web = {"app": "web"}
    objs = [
        _node("n1", "172.18.0.2", "fc00:f853:ccd:e793::2", "10.244.0.0/24", "fd00:10:244::/64", v6_first),
        _node("n2", "172.18.0.3", "fc00:f853:ccd:e793::3", "10.244.1.0/24", "fd00:10:244:1::/64", v6_first),
        _pod("client", "n1", "10.244.0.5", "fd00:10:244::5", "172.18.0.2", {"app": "client"}, v6_first),
        _pod("web-1", "n2", "10.244.1.7", "fd00:10:244:1::7", "172.18.0.3", web, v6_first),
    ]
    fams = ["IPv4", "IPv6"] if not v6_first else ["IPv6", "IPv4"]
    ips = ["10.96.40.10", "fd00:10:96::4a0b"] if not v6_first else ["fd00:10:96::4a0b", "10.96.40.10"]
    objs.append({"apiVersion": "v1", "kind": "Service", "metadata": _md("web"),
                 "spec": {"type": "ClusterIP", "selector": web, "clusterIP": ips[0], "clusterIPs": ips,
                          "ipFamilies": fams, "ipFamilyPolicy": "PreferDualStack",
                          "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]}})
    # An IPv6 single-stack Service beside them: it has no IPv4 half.
    objs.append({"apiVersion": "v1", "kind": "Service", "metadata": _md("web6"),
                 "spec": {"type": "ClusterIP", "selector": web, "clusterIP": "fd00:10:96::77",
                          "clusterIPs": ["fd00:10:96::77"], "ipFamilies": ["IPv6"], "ipFamilyPolicy": "SingleStack",
                          "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]}})
    for fam, addr in (("IPv4", "10.244.1.7"), ("IPv6", "fd00:10:244:1::7")):
        objs.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": _md(f"web-{fam.lower()}", labels={"kubernetes.io/service-name": "web"}),
                     "addressType": fam, "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
                     "endpoints": [{"addresses": [addr], "conditions": {"ready": True}, "nodeName": "n2",
                                    "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "default"}}]})
    return objs


def _write(tmp_path: Path, objs: list[dict[str, Any]], name: str = "dump.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}, indent=4))
    return p


def test_a_dual_stack_pod_is_read_as_its_ipv4_address() -> None:
    # API reference, PodStatus: "podIPs holds the IP addresses allocated to the pod. If this field is specified,
    # the 0th entry must match the podIP field. Pods may be allocated at most 1 value for each of IPv4 and IPv6."
    pod = _pod("p", "n1", "10.244.0.5", "fd00:10:244::5", "172.18.0.2", {}, v6_first=True)
    half, dropped = ipv4_half(pod)
    assert half is not None and dropped == 1
    assert half["status"]["podIP"] == "10.244.0.5" and half["status"]["podIPs"] == [{"ip": "10.244.0.5"}]
    assert pod["status"]["podIP"] == "fd00:10:244::5"  # the dump itself is left as it is


def test_a_dual_stack_node_keeps_its_ipv4_address_and_pod_cidr() -> None:
    # API reference, NodeSpec: "podCIDRs ... If this field is specified, the 0th entry must match the podCIDR
    # field. It may contain at most 1 value for each of IPv4 and IPv6."
    half, _ = ipv4_half(_node("n1", "172.18.0.2", "fc00::2", "10.244.0.0/24", "fd00:10:244::/64", v6_first=True))
    assert half is not None
    assert half["spec"] == {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]}
    assert [a["address"] for a in half["status"]["addresses"] if a["type"] == "InternalIP"] == ["172.18.0.2"]


def test_a_dual_stack_service_keeps_its_ipv4_cluster_ip_and_an_ipv6_one_has_no_ipv4_half() -> None:
    # API reference, ServiceSpec: "clusterIPs ... If this field is specified, the 0th entry must match the
    # clusterIP field ... in the order of ipFamilies"; an IPv6 SingleStack Service has no IPv4 address at all.
    dump = _dual_stack_dump(v6_first=True)
    web, web6 = (o for o in dump if o["kind"] == "Service")
    half, _ = ipv4_half(web)
    assert half is not None
    assert (half["spec"]["clusterIP"], half["spec"]["clusterIPs"], half["spec"]["ipFamilies"]) == \
        ("10.96.40.10", ["10.96.40.10"], ["IPv4"])
    assert ipv4_half(web6)[0] is None
    # EndpointSlice API reference: addressType is IPv4, IPv6 or FQDN; the controller writes one slice per family.
    assert ipv4_half(next(o for o in dump if o.get("addressType") == "IPv6"))[0] is None


@pytest.mark.parametrize("v6_first", [False, True], ids=["ipv4-primary", "ipv6-primary"])
def test_a_dual_stack_dump_loads_as_its_ipv4_family_and_answers(tmp_path: Path, v6_first: bool) -> None:
    # kubernetes.io "IPv4/IPv6 dual-stack": pods, nodes and Services carry one address per family; the model
    # simulates the IPv4 family and says so once.
    cluster = k8snetviz.load(_write(tmp_path, _dual_stack_dump(v6_first)))
    assert str(cluster.pods["default/web-1"].ip) == "10.244.1.7"
    assert cluster.services["default/web"].cluster_ip == "10.96.40.10"
    assert "default/web6" not in cluster.services
    t = cluster.trace("default/client", "svc/default/web:80")
    assert t.verdict == "delivered" and t.final["pod"] == "default/web-1"
    assert [c["pod"] for c in t.candidates] == ["default/web-1"]
    found = cluster.inspect().to_dict()
    assert any("dual-stack" in a for a in found["approximated"])
    assert any(i["what"] == "IPv6-only objects" and "Service default/web6" in i["examples"]
               for i in found["ignored"])


def test_a_dual_stack_service_written_by_hand_is_still_refused_by_the_single_stack_cluster() -> None:
    # The model's own cluster is IPv4 single-stack: the API server's allocator refuses the IPv6 family
    # (pkg/registry/core/service/storage: "ipFamilies[1]: Invalid value: \"IPv6\": not configured on this cluster").
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"selector": {"app": "web"}, "ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack",
                    "ports": [{"port": 80}]}}
    with pytest.raises(K8sNetVizError, match="not configured on this cluster"):
        k8snetviz.loads(json.dumps(svc))


def test_an_ipv6_single_stack_dump_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    objs = []
    for o in _dual_stack_dump(v6_first=True):
        o = copy.deepcopy(o)
        if o["kind"] == "Node":
            o["spec"] = {"podCIDR": o["spec"]["podCIDR"], "podCIDRs": o["spec"]["podCIDRs"][:1]}
            o["status"]["addresses"] = [a for a in o["status"]["addresses"] if "." not in a["address"]]
        if o["kind"] == "Pod":
            o["status"]["podIPs"] = o["status"]["podIPs"][:1]
            o["status"]["hostIP"] = "fc00:f853:ccd:e793::2"
            o["status"]["hostIPs"] = [{"ip": "fc00:f853:ccd:e793::2"}]
        if o["kind"] == "Service":
            o["spec"]["clusterIPs"] = o["spec"]["clusterIPs"][:1]
            o["spec"]["ipFamilies"], o["spec"]["ipFamilyPolicy"] = ["IPv6"], "SingleStack"
        if o.get("addressType") == "IPv4":
            continue
        objs.append(o)
    path = _write(tmp_path, objs)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "IPv6 single-stack" in err and 'Node "n1"' in err


def test_dual_stack_flags_give_the_ipv4_ranges(tmp_path: Path) -> None:
    # kube-apiserver reference: "--service-cluster-ip-range ... Max of two dual-stack CIDRs is allowed";
    # kube-controller-manager: "--cluster-cidr: CIDR Range for Pods in cluster. ... dual-stack".
    objs = _dual_stack_dump()
    for component, flag in (("kube-apiserver", "--service-cluster-ip-range=fd00:10:96::/112,10.96.0.0/16"),
                            ("kube-controller-manager", "--cluster-cidr=fd00:10:244::/56,10.244.0.0/16")):
        objs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": _md(f"{component}-n1", "kube-system", labels={"component": component,
                                                                              "tier": "control-plane"}),
                     "spec": {"nodeName": "n1", "hostNetwork": True,
                              "containers": [{"name": component, "command": [component, flag]}]},
                     "status": {"phase": "Running", "podIP": "172.18.0.2", "hostIP": "172.18.0.2"}})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert str(cluster.config.service_subnet) == "10.96.0.0/16"
    assert str(cluster.config.pod_subnet) == "10.244.0.0/16"


def test_pods_on_nodes_the_node_list_lacks_bring_their_nodes(tmp_path: Path) -> None:
    # API reference, PodSpec.nodeName: "NodeName indicates in which node this pod is scheduled" — a pod read back
    # from a cluster runs there even when the dump's Node list (taken at another time, or of one node pool) lacks
    # the node: the node is inferred from the pods (spec.nodeName, status.hostIP), as for a dump without Nodes.
    objs = [o for o in _dual_stack_dump() if o["kind"] != "Node" or o["metadata"]["name"] == "n1"]
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert set(cluster.nodes) == {"n1", "n2"}
    assert str(cluster.nodes["n2"].internal_ip) == "172.18.0.3"
    assert str(cluster.pods["default/web-1"].ip) == "10.244.1.7"
    assert cluster.trace("default/client", "svc/default/web:80").final["pod"] == "default/web-1"
    found = cluster.inspect().to_dict()
    assert any(i["what"] == "missing nodes" and i["value"] == "n2" for i in found["inferred"])


def test_a_hand_written_pod_on_an_unknown_node_is_still_refused() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},
           "spec": {"nodeName": "nope", "containers": [{"name": "c", "image": "nginx"}]}}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "kind-worker"}}
    with pytest.raises(K8sNetVizError, match='spec.nodeName: Not found: "nope"'):
        k8snetviz.loads(json.dumps(node) + "\n---\n" + json.dumps(pod))


def test_ovn_kubernetes_nodes_give_their_subnet_and_name_the_cni(tmp_path: Path) -> None:
    # ovn-kubernetes docs (node annotations): the cluster manager allocates each node's pod subnet and writes it to
    # the Node as k8s.ovn.org/node-subnets = {"default":["10.128.2.0/23"]}; the Node has no spec.podCIDR.
    objs = []
    for o in _dual_stack_dump():
        o = copy.deepcopy(o)
        if o["kind"] == "Node":
            subnet = "10.244.0.0/23" if o["metadata"]["name"] == "n1" else "10.244.2.0/23"
            o["metadata"]["annotations"] = {"k8s.ovn.org/node-subnets": json.dumps({"default": [subnet]})}
            del o["spec"]
        if o["kind"] == "Pod" and o["metadata"]["name"] == "web-1":
            o["status"]["podIP"], o["status"]["podIPs"] = "10.244.2.7", [{"ip": "10.244.2.7"}]
        if o.get("addressType") == "IPv4":
            o["endpoints"][0]["addresses"] = ["10.244.2.7"]
        objs.append(o)
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert [str(r) for r in cluster.nodes["n2"].pod_ranges] == ["10.244.2.0/23"]
    found = cluster.inspect().to_dict()["found"]
    assert found["cni"] == "flannel"
    assert any(i["value"].startswith("ovn-kubernetes") for i in cluster.inspect().to_dict()["inferred"])
    assert cluster.trace("default/client", "svc/default/web:80").final["pod"] == "default/web-1"


def test_a_support_bundle_directory_skips_its_files_that_hold_no_object(tmp_path: Path) -> None:
    # troubleshoot's support bundle (replicatedhq/troubleshoot, cluster-resources collector) writes, beside the
    # object lists, the RBAC rules `kubectl auth can-i --list` gives (auth-cani-list/NS.json, a JSON array of rules)
    # and version files: those are skipped and listed; the objects load.
    bundle = tmp_path / "cluster-resources"
    (bundle / "pods").mkdir(parents=True)
    (bundle / "auth-cani-list").mkdir()
    (bundle / "pods" / "default.json").write_text(json.dumps(
        {"kind": "PodList", "apiVersion": "v1", "items": [o for o in _dual_stack_dump() if o["kind"] == "Pod"]}))
    (bundle / "auth-cani-list" / "default.json").write_text(json.dumps(
        [{"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"]}]))
    (bundle / "version.json").write_text(json.dumps({"major": "1", "minor": "30"}))
    # the API server's discovery documents (GET /api/v1 answers an APIResourceList): no networking facts, no warning
    (bundle / "resources.json").write_text(json.dumps([{"kind": "APIResourceList", "apiVersion": "v1",
                                                        "groupVersion": "v1", "resources": []}]))
    cluster = k8snetviz.load(bundle)
    assert not [w for w in cluster.warnings if "unknown kind" in w]
    assert {"default/client", "default/web-1"} <= set(cluster.pods)
    skipped = next(i for i in cluster.inspect().to_dict()["ignored"] if i["what"] == "files")
    assert skipped["count"] == 2


def test_a_directory_whose_files_hold_no_object_is_refused(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.json").write_text(json.dumps([{"verbs": ["get"]}]))
    (tmp_path / "b.json").write_text(json.dumps({"major": "1"}))
    assert main(["inspect", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not a Kubernetes object" in err


def test_a_file_that_mixes_objects_and_other_documents_is_still_refused(tmp_path: Path) -> None:
    # kubectl apply -f refuses a document without kind ("Object 'Kind' is missing"), whatever surrounds it.
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\nhello: world\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: y}\n")
    with pytest.raises(K8sNetVizError, match="Object 'Kind' is missing"):
        k8snetviz.load(tmp_path)


def _cluster_info_dump() -> str:
    """``kubectl cluster-info dump`` written to standard output, as clusterinfo_dump.go writes it: the NodeList, then
    for each namespace its EventList, ReplicationControllerList, ServiceList, DaemonSetList, DeploymentList,
    ReplicaSetList and PodList (typed lists: items without kind), then each container's logs between
    "==== START logs for container C of pod NS/P ====" and the matching END line."""
    objs = [o for o in _dual_stack_dump() if o["kind"] in ("Node", "Pod", "Service")]
    objs = [ipv4_half(o)[0] or o for o in objs if o["metadata"]["name"] != "web6"]

    def items(kind: str, ns: str | None = None) -> list[dict[str, Any]]:
        return [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in objs
                if o["kind"] == kind and (ns is None or o["metadata"].get("namespace") == ns)]

    parts = [json.dumps({"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "9"},
                         "items": items("Node")}, indent=4)]
    for ns in ("kube-system", "default"):
        for kind, api in (("Event", "v1"), ("ReplicationController", "v1"), ("Service", "v1"),
                          ("DaemonSet", "apps/v1"), ("Deployment", "apps/v1"), ("ReplicaSet", "apps/v1"),
                          ("Pod", "v1")):
            parts.append(json.dumps({"kind": f"{kind}List", "apiVersion": api, "metadata": {"resourceVersion": "9"},
                                     "items": items(kind, ns)}, indent=4))
        for pod in items("Pod", ns):
            who = f"container c of pod {ns}/{pod['metadata']['name']}"
            log = '{"level":"info"}\n} not JSON\n'
            parts.append(f"==== START logs for {who} ====\n{log}==== END logs for {who} ====")
    return "\n".join(parts) + "\n"


def test_cluster_info_dump_to_standard_output_loads_its_lists_and_skips_the_logs(tmp_path: Path) -> None:
    path = tmp_path / "cluster-info.json"
    path.write_text(_cluster_info_dump())
    cluster = k8snetviz.load(path)
    assert {"default/client", "default/web-1"} <= set(cluster.pods) and set(cluster.nodes) == {"n1", "n2"}
    assert cluster.services["default/web"].cluster_ip == "10.96.40.10"
    assert cluster.trace("default/client", "svc/default/web:80").final["pod"] == "default/web-1"
    # where each list starts, for messages: the PodList of default is the 15th document
    pod = next(m for m in cluster.scenario.manifests if m.kind == "Pod")
    assert path.read_text().splitlines()[pod.line - 1] == "{"


def test_a_cluster_info_dump_cut_inside_a_log_is_refused_in_one_line(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text = _cluster_info_dump()
    path = tmp_path / "cut.json"
    path.write_text(text[: text.rindex("==== END")])
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "cluster-info dump cut short: the logs of container c of pod default/web-1 have no END line" in err


def test_a_node_that_reports_only_an_external_ip_is_reached_there(tmp_path: Path) -> None:
    # k8s.io/component-helpers node/util GetNodeHostIPs: a node's IP is its InternalIP, else its ExternalIP.
    objs = copy.deepcopy(_dual_stack_dump())
    for o in objs:
        if o["kind"] == "Node":
            four = next(a["address"] for a in o["status"]["addresses"] if "." in a["address"])
            o["status"]["addresses"] = [{"type": "ExternalIP", "address": four},
                                        {"type": "Hostname", "address": o["metadata"]["name"]}]
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert str(cluster.nodes["n2"].internal_ip) == "172.18.0.3"
    assert cluster.trace("default/client", "svc/default/web:80").final["pod"] == "default/web-1"
    assert any(i["what"] == "node addresses" for i in cluster.inspect().to_dict()["inferred"])


def _rename(objs: list[dict[str, Any]], ips: dict[str, str]) -> list[dict[str, Any]]:
    """The same objects with some addresses replaced, everywhere they are written."""
    text = json.dumps(objs)
    for old, new in ips.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    return json.loads(text)


def test_a_microk8s_dump_gets_microk8s_service_range(tmp_path: Path) -> None:
    # MicroK8s: Services in 10.152.183.0/24 (the snap's kube-apiserver args, --service-cluster-ip-range), kube-dns
    # at 10.152.183.10 (its kubelet's --cluster-dns), Nodes without spec.podCIDR (Calico's IPAM, 10.1.0.0/16).
    objs = [ipv4_half(o)[0] for o in _dual_stack_dump() if o["metadata"]["name"] != "web6"]
    objs = [o for o in objs if o is not None]
    for o in objs:
        if o["kind"] == "Node":
            o["spec"] = {}
            o["metadata"]["labels"] = {"microk8s.io/cluster": "true"}
    objs = _rename(objs, {"10.96.40.10": "10.152.183.77", "10.244.0.5": "10.1.77.5", "10.244.1.7": "10.1.14.7"})
    for name, ip in (("kubernetes", "10.152.183.1"),):
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": _md(name),
                     "spec": {"clusterIP": ip, "clusterIPs": [ip], "ports": [{"port": 443, "targetPort": 16443}]}})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert str(cluster.config.service_subnet) == "10.152.183.0/24"
    assert str(cluster.config.dns_service_ip) == "10.152.183.10"
    assert cluster.trace("default/client", "svc/default/web:80").final["pod"] == "default/web-1"


def test_rke2s_dns_service_is_the_clusters_dns_and_no_kube_dns_is_added(tmp_path: Path) -> None:
    # RKE2 installs CoreDNS from its rke2-coredns chart: the Service is kube-system/rke2-coredns-rke2-coredns,
    # selecting k8s-app: kube-dns, at the tenth address of 10.43.0.0/16; there is no Service named kube-dns.
    objs = [ipv4_half(o)[0] for o in _dual_stack_dump() if o["metadata"]["name"] != "web6"]
    objs = _rename([o for o in objs if o is not None], {"10.96.40.10": "10.43.40.10"})
    dns = {"k8s-app": "kube-dns", "app.kubernetes.io/name": "rke2-coredns"}
    objs.append({"apiVersion": "v1", "kind": "Service", "metadata": _md("rke2-coredns-rke2-coredns", "kube-system"),
                 "spec": {"clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"], "selector": dns,
                          "ports": [{"name": "udp-53", "port": 53, "protocol": "UDP", "targetPort": 53},
                                    {"name": "tcp-53", "port": 53, "protocol": "TCP", "targetPort": 53}]}})
    objs.append(_pod("rke2-coredns-rke2-coredns-7bb4f446c-x2l9v", "n1", "10.244.0.9", "fd00::9", "172.18.0.2", dns))
    objs[-1]["metadata"]["namespace"] = "kube-system"
    objs[-1]["status"] = {k: v for k, v in objs[-1]["status"].items() if k not in ("podIPs",)}
    objs[-1]["spec"]["containers"][0]["ports"] = [{"containerPort": 53, "protocol": "UDP"},
                                                  {"containerPort": 53, "protocol": "TCP"}]
    objs.append({"apiVersion": "v1", "kind": "Service", "metadata": _md("kubernetes"),
                 "spec": {"clusterIP": "10.43.0.1", "clusterIPs": ["10.43.0.1"], "ports": [{"port": 443}]}})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert "kube-system/kube-dns" not in cluster.services
    assert str(cluster.config.dns_service_ip) == "10.43.0.10"
    answer = cluster.resolve("default/client", "web.default.svc.cluster.local").to_dict()
    assert "10.43.40.10" in {a["data"] for a in answer["answers"]}
    assert any(i["what"] == "cluster DNS Service" for i in cluster.inspect().to_dict()["inferred"])


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_dump_saved_by_windows_powershell_as_utf16_loads(tmp_path: Path, encoding: str) -> None:
    # Windows PowerShell's `kubectl get ... -o yaml > dump.yaml` writes UTF-16 with a byte-order mark and CRLF line
    # ends; kubectl itself reads files through unicode.BOMOverride (k8s.io/cli-runtime resource/visitor.go,
    # FileVisitor.Visit), so it reads them too.
    real = Path(__file__).parent / "data" / "dumps" / "minikube-bridge-nginx-ep-eps-ingress-netpol.yaml"
    text = real.read_text(encoding="utf-8").replace("\n", "\r\n")
    bom = b"\xff\xfe" if encoding == "utf-16-le" else b"\xfe\xff"
    path = tmp_path / "dump.yaml"
    path.write_bytes(bom + text.encode(encoding))
    assert set(k8snetviz.load(path).pods) == set(k8snetviz.load(real).pods)


def test_utf16_that_is_not_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dump.yaml"
    path.write_bytes(b"\xff\xfe" + "kind: Pod\n".encode("utf-16-le") + b"\x00\xdc")  # a lone low surrogate
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "UTF-16-LE" in err


def test_kubectls_table_output_is_refused_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pods.yaml"
    path.write_text("NAMESPACE   NAME     READY   STATUS    RESTARTS   AGE   IP           NODE\n"
                    "default     client   1/1     Running   0          5m    10.244.0.5   n1\n")
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "-o yaml" in err


def test_jq_items_one_object_a_line_loads(tmp_path: Path) -> None:
    # `kubectl get pods -A -o json | jq -c '.items[]'`: one JSON object after another (kubectl's List items keep
    # their kind), read as the JSON stream it is.
    pods = [o for o in _dual_stack_dump() if o["kind"] == "Pod"]
    path = tmp_path / "pods.json"
    path.write_text("\n".join(json.dumps(p) for p in pods) + "\n")
    assert {"default/client", "default/web-1"} <= set(k8snetviz.load(path).pods)


def test_node_ports_outside_the_default_range_widen_it(tmp_path: Path) -> None:
    # kube-apiserver --service-node-port-range (default 30000-32767) can be set wider (k3s/k3d users' 80-32767);
    # a Service read back from such a cluster holds its node port, and the range is inferred to hold it.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    web = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "web")
    web["spec"]["type"] = "NodePort"
    web["spec"]["ports"][0]["nodePort"] = 8080
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert cluster.config.node_port_range == "8080-32767"
    assert cluster.services["default/web"].ports[0].node_port == 8080
    assert cluster.trace("default/client", "node/n1:8080").final["pod"] == "default/web-1"


def test_a_hand_written_node_port_outside_the_range_is_still_refused() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 8080}]}}
    with pytest.raises(K8sNetVizError, match="provided port is not in the valid range"):
        k8snetviz.loads(json.dumps(svc))


def test_the_default_service_cidr_object_gives_the_service_range(tmp_path: Path) -> None:
    # kubernetes.io "Extend Service IP Ranges": kube-apiserver creates the ServiceCIDR named "kubernetes" from its
    # --service-cluster-ip-range; each allocated address is an IPAddress object (no networking facts of its own).
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": _md("kubernetes", None),
                 "spec": {"cidrs": ["10.96.0.0/12", "fd00:10:96::/112"]}})
    objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress", "metadata": _md("10.96.40.10", None),
                 "spec": {"parentRef": {"resource": "services", "namespace": "default", "name": "web"}}})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert str(cluster.config.service_subnet) == "10.96.0.0/12"
    assert not [w for w in cluster.warnings if "unknown kind" in w]


def test_a_service_local_both_ways_still_has_its_cluster_chain(tmp_path: Path) -> None:
    # pkg/proxy/serviceport.go UsesClusterEndpoints: "if the internal traffic policy is Cluster, or if it accepts
    # external traffic at all. (Even if the external traffic policy is Local, we need Cluster endpoints to implement
    # short circuiting.)" A NodePort with internalTrafficPolicy and externalTrafficPolicy Local keeps KUBE-SVC-…,
    # which its KUBE-EXT-… chain jumps to for pods and the node itself.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    web = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "web")
    web["spec"].update({"type": "NodePort", "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Local"})
    web["spec"]["ports"][0]["nodePort"] = 30080
    cluster = k8snetviz.load(_write(tmp_path, objs))
    rules = str(cluster.iptables("n1"))
    ext = [line for line in rules.splitlines() if line.startswith("-A KUBE-EXT-") and "-j KUBE-SVC-" in line]
    assert ext and all(f":{line.split()[-1]} " in rules for line in ext)
    # from a pod, internalTrafficPolicy Local: only this node's endpoints (none on n1), so the ClusterIP drops
    assert cluster.trace("default/client", "svc/default/web:80").verdict != "delivered"
    # from outside to n2's node port: n2's own endpoint
    assert cluster.trace("external", "node/n2:30080").final["pod"] == "default/web-1"


def test_a_calico_dump_without_a_known_gateway_still_reaches_its_services(tmp_path: Path) -> None:
    # The calico CNI plugin gives each pod "default via 169.254.1.1 dev eth0" and turns on proxy_arp on the host
    # end (projectcalico/calico cni-plugin, "Why 169.254.1.1" in Calico's docs); Linux answers proxy ARP only for
    # an address it has a route to through another device (arp_process: ip_route_input, then "rt->dst.dev != dev"),
    # on a real node its default route. A dump does not record the gateway: the route is kept, without it.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    objs = [o for o in objs if o["kind"] != "Node"]  # `kubectl get all -A`: no Node, Calico's /26 blocks
    objs = _rename(objs, {"10.244.0.5": "10.244.42.229", "10.244.1.7": "10.244.166.135",
                          "172.18.0.2": "192.168.1.2", "172.18.0.3": "192.168.1.3"})  # kubeadm on a LAN
    for node, ip in (("n1", "192.168.1.2"), ("n2", "192.168.1.3")):
        objs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": _md(f"calico-node-{node}", "calico-system", labels={"k8s-app": "calico-node"}),
                     "spec": {"nodeName": node, "hostNetwork": True,
                              "containers": [{"name": "calico-node", "image": "docker.io/calico/node:v3.26.1"}]},
                     "status": {"phase": "Running", "podIP": ip, "hostIP": ip,
                                "conditions": [{"type": "Ready", "status": "True"}]}})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert cluster.config.cni == "calico" and cluster.inspect().to_dict()["found"]["gateway"] is None
    t = cluster.trace("default/client", "svc/default/web:80")
    assert t.verdict == "delivered" and t.final["pod"] == "default/web-1", t.reason
    assert "default dev eth0 scope link" in str(cluster.routes("node/n1"))
    assert any("default route is shown without its gateway" in a for a in cluster.inspect().to_dict()["approximated"])


def test_a_hostnetwork_pod_of_a_dump_reaches_a_cluster_ip(tmp_path: Path) -> None:
    # A node's own connection is routed before netfilter's OUTPUT hook, where kube-proxy DNATs a ClusterIP
    # (netfilter's "locally generated packets": routing decision, then OUTPUT, then a re-route after NAT): without
    # any route to the ClusterIP, connect() fails with ENETUNREACH. A real node's default route covers it; a dump's
    # node keeps one without the gateway it does not record.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": _md("agent-n1", "kube-system"),
                 "spec": {"nodeName": "n1", "hostNetwork": True, "containers": [{"name": "agent"}]},
                 "status": {"phase": "Running", "podIP": "172.18.0.2", "hostIP": "172.18.0.2",
                            "conditions": [{"type": "Ready", "status": "True"}]}})
    cluster = k8snetviz.load(_write(tmp_path, _rename(objs, {"172.18.0.2": "192.168.1.2",
                                                             "172.18.0.3": "192.168.1.3"})))
    assert cluster.config.cni != "calico" and not cluster.config.gateway_known
    assert "default dev eth0 scope link" in str(cluster.routes("node/n1")).splitlines()
    t = cluster.trace("kube-system/agent-n1", "svc/default/web:80")
    assert t.verdict == "delivered" and t.final["pod"] == "default/web-1", t.reason
    assert cluster.trace("default/client", "8.8.8.8:53").verdict != "delivered"  # the outside is not followed


@pytest.mark.parametrize("text", ["", "---\n",
                                  'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n',
                                  '{"apiVersion": "v1", "kind": "PodList", "items": []}'])
def test_a_dump_of_nothing_is_refused_not_read_as_the_default_cluster(tmp_path: Path, text: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # `kubectl get pods -o yaml` in an empty namespace prints a List without items; `kubectl apply -f` of a file
    # without objects says "error: no objects passed to apply". Issue 10: never the default cluster in its place.
    path = tmp_path / "dump.yaml"
    path.write_text(text)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no objects passed to apply" in err


def test_cilium_nodes_give_their_pod_cidr_from_their_ciliumnode(tmp_path: Path) -> None:
    # Cilium docs, "Cluster Scope (Default)" IPAM: the operator allocates each node's pod CIDRs in its CiliumNode
    # (cilium.io/v2, spec.ipam.podCIDRs); the Node itself has no spec.podCIDR. A node without pods in the dump
    # still gets its own range, not the next free /24.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    for o in objs:
        if o["kind"] == "Node":
            o["spec"] = {}
    objs = _rename(objs, {"10.244.0.5": "10.0.0.37", "10.244.1.7": "10.0.1.201"})
    objs.append({**_node("n3", "172.18.0.4", "fc00::4", "10.0.2.0/24", "fd00::/64"), "spec": {}})
    for node, ip, cidr in (("n1", "172.18.0.2", "10.0.0.0/24"), ("n2", "172.18.0.3", "10.0.1.0/24"),
                           ("n3", "172.18.0.4", "10.0.7.0/24")):
        objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": _md(f"cilium-{node}x", "kube-system",
                                                                       labels={"k8s-app": "cilium"}),
                     "spec": {"nodeName": node, "hostNetwork": True, "containers": [{"name": "cilium-agent"}]},
                     "status": {"phase": "Running", "podIP": ip, "hostIP": ip,
                                "conditions": [{"type": "Ready", "status": "True"}]}})
        objs.append({"apiVersion": "cilium.io/v2", "kind": "CiliumNode", "metadata": _md(node, None),
                     "spec": {"ipam": {"podCIDRs": [cidr]}}})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert [str(r) for r in cluster.nodes["n3"].pod_ranges] == ["10.0.7.0/24"]
    assert cluster.trace("default/client", "svc/default/web:80").final["pod"] == "default/web-1"


def test_a_vpc_cnis_pods_in_the_nodes_subnet_do_not_capture_the_nodes(tmp_path: Path) -> None:
    # Amazon VPC CNI (and Azure CNI) give pods secondary addresses of the node's own VPC subnet (aws/amazon-vpc-cni-k8s
    # docs: "pods receive IP addresses from the VPC"); the Nodes have no podCIDR. A pod range inferred from the
    # pods must not hold a node's address, or the other nodes would route to that node through the pods' node.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    objs.append(_node("n3", "172.18.0.4", "fc00::4", "10.244.2.0/24", "fd00::/64"))
    for o in objs:
        if o["kind"] == "Node":
            o["spec"] = {}
    objs = _rename(objs, {"172.18.0.2": "10.0.10.5", "172.18.0.3": "10.0.11.6", "172.18.0.4": "10.0.10.7",
                          "10.244.0.5": "10.0.10.50", "10.244.1.7": "10.0.11.60", "10.96.40.10": "172.20.40.10"})
    objs.append({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _md("aws-node", "kube-system"),
                 "spec": {"selector": {"matchLabels": {"k8s-app": "aws-node"}},
                          "template": {"metadata": {"labels": {"k8s-app": "aws-node"}},
                                       "spec": {"hostNetwork": True, "containers": [{"name": "aws-node"}]}}}})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    node_ips = {n.internal_ip for n in cluster.nodes.values()}
    for node in cluster.nodes.values():
        assert not [r for r in node.pod_ranges if any(ip in r for ip in node_ips)], (node.name, node.pod_ranges)
    for peer in ("n1", "n2"):  # each node reaches the others on its own subnet, not through a pod range
        route = cluster.netns["node/n3"].routes.lookup(cluster.nodes[peer].internal_ip)
        assert route is not None and route.via is None, (peer, route)
    assert cluster.trace("default/client", "svc/default/web:80").final["pod"] == "default/web-1"


def test_an_address_a_finished_pod_left_belongs_to_the_running_pod_that_holds_it_now(tmp_path: Path) -> None:
    # A Succeeded or Failed pod keeps its status.podIP in the API, but the kubelet has torn its sandbox down and
    # the runtime's IPAM hands the address to the next pod (kubernetes.io "Pod Lifecycle": a terminated pod's
    # containers and sandbox are gone). The EndpointSlice names the running pod; so must the trace's candidates,
    # whichever of the two the dump lists first.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    done = copy.deepcopy(next(o for o in objs if o["metadata"]["name"] == "web-1"))
    done["metadata"].update({"name": "migrate-x7k2p", "uid": "uid-done", "labels": {"job-name": "migrate"}})
    done["status"].update({"phase": "Succeeded", "conditions": [{"type": "Ready", "status": "False"}]})
    objs.append(done)  # listed after web-1, at web-1's address
    cluster = k8snetviz.load(_write(tmp_path, objs))
    t = cluster.trace("default/client", "svc/default/web:80")
    assert t.final["pod"] == "default/web-1" and [c["pod"] for c in t.candidates] == ["default/web-1"]
    assert cluster.owner_of(cluster.pods["default/web-1"].ip) == "pod/default/web-1"


def test_a_pod_on_a_node_of_its_own_is_reached_at_its_nodes_address(tmp_path: Path) -> None:
    # EKS Fargate runs each pod in a VM-isolated environment of its own, listed as a node fargate-ip-… whose
    # InternalIP is the pod's IP (Amazon EKS docs, "AWS Fargate"); the pod is not hostNetwork. The model
    # runs it in its node's namespace; the trace delivers to it and names it among the candidates; its DNS stays
    # the cluster's (dnsPolicy ClusterFirst).
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    for o in objs:
        if o["kind"] == "Node":
            o["spec"] = {}
            if o["metadata"]["name"] == "n2":
                o["metadata"]["labels"] = {"eks.amazonaws.com/compute-type": "fargate"}
    objs = _rename(objs, {"172.18.0.2": "10.0.10.5", "172.18.0.3": "10.0.20.60", "10.244.0.5": "10.0.10.50",
                          "10.244.1.7": "10.0.20.60", "10.96.40.10": "172.20.40.10"})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    assert str(cluster.pods["default/web-1"].ip) == "10.0.20.60"
    t = cluster.trace("default/client", "svc/default/web:80")
    assert t.final["pod"] == "default/web-1" and [c["pod"] for c in t.candidates] == ["default/web-1"]
    answer = cluster.resolve("default/web-1", "web.default.svc.cluster.local").to_dict()
    assert "172.20.40.10" in {a["data"] for a in answer["answers"]}
    assert any("node's own address" in a for a in cluster.inspect().to_dict()["approximated"])


def test_a_hostnetwork_endpoint_is_named_by_its_pod_among_the_candidates(tmp_path: Path) -> None:
    # An EndpointSlice lists a hostNetwork pod at its node's address (targetRef: the pod); kube-proxy's DNAT sends
    # there, and the pod of that node that listens on the port answers: candidates name that pod, not the node.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    web = next(o for o in objs if o["metadata"]["name"] == "web-1")
    web["spec"]["hostNetwork"] = True
    web["status"]["podIP"], web["status"]["podIPs"] = "172.18.0.3", [{"ip": "172.18.0.3"}]
    for o in objs:
        if o.get("addressType") == "IPv4":
            o["endpoints"][0]["addresses"] = ["172.18.0.3"]
    cluster = k8snetviz.load(_write(tmp_path, objs))
    t = cluster.trace("default/client", "svc/default/web:80")
    assert t.final["pod"] == "default/web-1" and [c["pod"] for c in t.candidates] == ["default/web-1"]


def test_a_node_reaches_its_own_hostnetwork_endpoint_through_a_service(tmp_path: Path) -> None:
    # A hostNetwork pod connects to a ClusterIP whose endpoint is its own node's address (node-exporter scraped
    # from the node): OUTPUT DNATs to the node's address, the packet and its reply go through lo, and the reply
    # leaves through POSTROUTING, where conntrack undoes the DNAT (netfilter: locally generated packets pass
    # OUTPUT and POSTROUTING, then INPUT on the way back in), so the socket sees the ClusterIP answer.
    objs = [o for o in (ipv4_half(o)[0] for o in _dual_stack_dump()) if o is not None]
    web = next(o for o in objs if o["metadata"]["name"] == "web-1")
    web["spec"]["hostNetwork"] = True
    web["status"]["podIP"], web["status"]["podIPs"] = "172.18.0.3", [{"ip": "172.18.0.3"}]
    for o in objs:
        if o.get("addressType") == "IPv4":
            o["endpoints"][0]["addresses"] = ["172.18.0.3"]
    objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": _md("agent-n2", "kube-system"),
                 "spec": {"nodeName": "n2", "hostNetwork": True, "containers": [{"name": "agent"}]},
                 "status": {"phase": "Running", "podIP": "172.18.0.3", "hostIP": "172.18.0.3",
                            "conditions": [{"type": "Ready", "status": "True"}]}})
    cluster = k8snetviz.load(_write(tmp_path, objs))
    t = cluster.trace("kube-system/agent-n2", "svc/default/web:80")
    assert t.verdict == "delivered", t.reason
    assert any(h["action"] == "un-nat" for h in t.to_dict()["hops"])


def test_kubectl_outputs_appended_with_double_redirect_load_as_their_documents(tmp_path: Path) -> None:
    # `kubectl get nodes -o yaml >> dump.yaml; kubectl get pods -A -o yaml >> dump.yaml`: kubectl's YAML starts each
    # output with apiVersion at column 0 (its keys sorted) and writes no `---`, so YAML sees one mapping whose keys
    # repeat; the outputs are read as the documents they are, each object at its own line.
    real = Path(__file__).parent / "data" / "dumps" / "gke-kubenet-kalc"
    parts = ["".join(line for line in (real / f).read_text().splitlines(keepends=True) if not line.startswith("#"))
             for f in ("nodes.yaml", "pods.yaml", "service.yaml")]
    path = tmp_path / "dump.yaml"
    path.write_text("".join(parts))
    cluster, whole = k8snetviz.load(path), k8snetviz.load(real)
    assert set(cluster.pods) == set(whole.pods) and set(cluster.services) == set(whole.services)
    pod = next(m for m in cluster.scenario.manifests if m.kind == "Pod")
    assert path.read_text().splitlines()[pod.line - 1].lstrip("- ").startswith("apiVersion")
    assert pod.line > parts[0].count("\n")


def test_a_key_written_twice_inside_an_object_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "dump.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n")
    with pytest.raises(K8sNetVizError, match='key "name" already set in map'):
        k8snetviz.load(path)
