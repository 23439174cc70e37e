"""Scenario loading: manifests as kubectl takes and prints them, kind's defaults, fill-in and honour."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

import k8snetviz
from k8snetviz.errors import InvalidObject, ScenarioError
from k8snetviz.scenario.loader import parse_text

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec: {{containers: [{{name: c, image: busybox}}]{extra}}}
"""


def pod(name: str, extra: str = "") -> str:
    return POD.format(name=name, extra=extra)


# --- documents -------------------------------------------------------------------------------


def test_multi_document_file_keeps_every_document_and_its_line() -> None:
    text = pod("a") + "---\n" + pod("b") + "---\n" + pod("c")
    sc = parse_text(text, source="x.yaml")
    assert [m.name for m in sc.manifests] == ["a", "b", "c"]
    # each document starts after a 4-line document and a '---' line
    assert [m.where for m in sc.manifests] == ["x.yaml:1", "x.yaml:6", "x.yaml:11"]


def test_empty_documents_are_skipped() -> None:
    sc = parse_text("---\n---\n" + pod("a") + "---\n")
    assert [m.name for m in sc.manifests] == ["a"]


def test_kind_list_is_flattened_with_each_items_line() -> None:
    # `kubectl get pods -o yaml` prints a v1 List whose items are the objects.
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a, namespace: default}
  spec: {containers: [{name: c, image: busybox}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: b, namespace: default}
  spec: {containers: [{name: c, image: busybox}]}
metadata: {resourceVersion: ""}
"""
    sc = parse_text(text, source="dump.yaml")
    assert [(m.kind, m.name, m.line) for m in sc.manifests] == [("Pod", "a", 4), ("Pod", "b", 8)]
    c = k8snetviz.loads(text)
    assert {"default/a", "default/b"} <= set(c.pods)


def test_typed_list_kind_is_flattened_too() -> None:
    # kubectl prints PodList/ServiceList-shaped dumps from the API as `kind: XList` with items.
    text = "apiVersion: v1\nkind: PodList\nitems:\n- " + pod("a").replace("\n", "\n  ").rstrip() + "\n"
    assert [m.name for m in parse_text(text).manifests] == ["a"]


def test_malformed_yaml_names_the_file_and_line() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: {}\n"
    with pytest.raises(ScenarioError) as e:
        parse_text(text, source="bad.yaml")
    assert str(e.value).startswith("bad.yaml:5: YAML does not parse")
    assert e.value.line == 5


def test_a_document_that_is_not_a_mapping_is_refused_with_its_line() -> None:
    with pytest.raises(ScenarioError, match=r"^s.yaml:3: a document must be a mapping"):
        parse_text("kind: ConfigMap\n---\n- x\n", source="s.yaml")


def test_missing_scenario_is_a_scenario_error_naming_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError) as e:
        k8snetviz.load("no-such-scenario")
    assert 'scenario "no-such-scenario" not found' in str(e.value)
    assert "two-node-bridge" in str(e.value)


def test_shipped_scenarios_load_by_name() -> None:
    names = k8snetviz.shipped_scenarios()
    assert {"two-node-bridge", "kind-default", "flannel-vxlan"} <= set(names)
    for n in names:
        assert k8snetviz.load(n).nodes


def test_unknown_kind_is_a_warning_with_file_and_line_and_is_ignored() -> None:
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n" + pod("a")
    c = k8snetviz.loads(text, source="w.yaml")
    assert c.warnings == ['w.yaml:1: unknown kind "Widget" (apiVersion "example.com/v1"): ignored']
    assert "default/a" in c.pods


def test_kinds_without_networking_facts_are_read_quietly() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n---\n" + pod("a")
    assert k8snetviz.loads(text).warnings == []


# --- kind defaults ------------------------------------------------------------------------------


def test_kind_defaults_three_nodes_names_ips_and_pod_cidrs() -> None:
    # kind's default config: one control-plane and, in this project's default, two workers, named
    # <cluster>-<role>[N]; docker's "kind" network gives .2, .3 ...; the node IPAM controller hands
    # out /24s of 10.244.0.0/16 in order.
    c = k8snetviz.loads(pod("a"))
    assert [(n.name, n.role, str(n.internal_ip), str(n.pod_cidr)) for n in c.nodes.values()] == [
        ("kind-control-plane", "control-plane", "172.18.0.2", "10.244.0.0/24"),
        ("kind-worker", "worker", "172.18.0.3", "10.244.1.0/24"),
        ("kind-worker2", "worker", "172.18.0.4", "10.244.2.0/24"),
    ]
    cfg = c.config
    assert cfg.service_subnet == IPv4Network("10.96.0.0/16")
    assert cfg.pod_subnet == IPv4Network("10.244.0.0/16")
    assert cfg.cluster_domain == "cluster.local"
    assert cfg.kube_proxy_mode == "iptables"
    assert cfg.cni == "kindnet"


def test_kube_dns_is_the_tenth_address_of_the_service_subnet() -> None:
    # kubeadm's DNS service IP: the 10th address of the service CIDR; default/kubernetes the 1st.
    c = k8snetviz.loads(pod("a"))
    assert c.config.dns_service_ip == IPv4Address("10.96.0.10")
    svc = {m.name: m.body["spec"]["clusterIP"] for m in c.system if m.kind == "Service"}
    assert svc == {"kube-dns": "10.96.0.10", "kubernetes": "10.96.0.1"}
    other = k8snetviz.loads("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
                            "networking: {serviceSubnet: 10.100.0.0/16}\n---\n" + pod("a"))
    assert other.config.dns_service_ip == IPv4Address("10.100.0.10")


def test_kind_node_naming_counts_per_role() -> None:
    # kind numbers the second and later node of a role: dev-control-plane2, dev-worker2.
    cfg = ("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: dev\nnodes:\n"
           "- role: control-plane\n- role: control-plane\n- role: worker\n- role: worker\n- role: worker\n")
    c = k8snetviz.loads(cfg)
    assert list(c.nodes) == ["dev-control-plane", "dev-control-plane2", "dev-worker", "dev-worker2",
                             "dev-worker3"]


def test_control_plane_is_tainted_only_when_there_are_workers() -> None:
    # kind removes the control-plane NoSchedule taint in a single-node cluster so pods can run there.
    three = k8snetviz.loads(pod("a"))
    assert three.nodes["kind-control-plane"].taints[0]["effect"] == "NoSchedule"
    assert three.pods["default/a"].node_name != "kind-control-plane"
    single = k8snetviz.loads("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}]\n"
                             "---\n" + pod("a"))
    assert single.nodes["kind-control-plane"].taints == []
    assert single.pods["default/a"].node_name == "kind-control-plane"


def test_bad_pod_subnet_in_kind_config_names_the_field() -> None:
    with pytest.raises(InvalidObject) as e:
        k8snetviz.loads("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking: {podSubnet: 10.244.0.0/33}\n")
    assert str(e.value).startswith('The Cluster "kind" is invalid: networking.podSubnet: Invalid value: '
                                   '"10.244.0.0/33"')


def test_scenario_document_rejects_unknown_cni() -> None:
    # issue 14 adds Calico as a model, so the unknown CNI here is now Cilium, and calico is in the list.
    with pytest.raises(InvalidObject) as e:
        k8snetviz.loads("apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\n"
                        "spec: {cni: cilium}\n")
    assert str(e.value) == ('The Scenario "s" is invalid: spec.cni: Unsupported value: "cilium": supported values: '
                            '"bridge", "calico", "flannel", "kindnet"')


# --- honour what is written -------------------------------------------------------------------

NODES = """\
apiVersion: v1
kind: Node
metadata: {name: alpha, labels: {node-role.kubernetes.io/control-plane: ""}}
spec: {podCIDR: 10.244.7.0/24}
status: {addresses: [{type: Hostname, address: alpha}, {type: InternalIP, address: 192.168.5.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: beta}
---
apiVersion: v1
kind: Node
metadata: {name: gamma}
"""


def test_nodes_as_written_keep_their_pod_cidr_and_internal_ip_the_rest_are_filled_in() -> None:
    c = k8snetviz.loads(NODES)
    alpha, beta, gamma = c.nodes.values()
    assert (alpha.role, str(alpha.internal_ip), str(alpha.pod_cidr)) == ("control-plane", "192.168.5.10",
                                                                         "10.244.7.0/24")
    # filled in: the next docker-network addresses and the first /24s not already taken
    assert (beta.role, str(beta.internal_ip), str(beta.pod_cidr)) == ("worker", "172.18.0.2", "10.244.0.0/24")
    assert (str(gamma.internal_ip), str(gamma.pod_cidr)) == ("172.18.0.3", "10.244.1.0/24")


def test_filled_in_pod_cidrs_skip_the_written_ones() -> None:
    text = NODES.replace("10.244.7.0/24", "10.244.0.0/24")
    c = k8snetviz.loads(text)
    assert [str(n.pod_cidr) for n in c.nodes.values()] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]


def test_pod_node_name_and_pod_ip_are_honoured() -> None:
    c = k8snetviz.loads(pod("a", ", nodeName: kind-worker2") + "status: {podIP: 10.244.2.77}\n")
    p = c.pods["default/a"]
    assert (p.node_name, str(p.ip)) == ("kind-worker2", "10.244.2.77")


def test_unscheduled_pods_go_to_the_least_loaded_node_ties_to_the_first() -> None:
    text = "---\n".join(pod(n) for n in ("a", "b", "c"))
    c = k8snetviz.loads(text)
    assert [c.pods[f"default/{n}"].node_name for n in "abc"] == ["kind-worker", "kind-worker2", "kind-worker"]


def test_node_selector_limits_placement() -> None:
    c = k8snetviz.loads(pod("a", ", nodeSelector: {kubernetes.io/hostname: kind-worker2}"))
    assert c.pods["default/a"].node_name == "kind-worker2"


def test_loading_is_deterministic() -> None:
    a, b = k8snetviz.load("kind-default"), k8snetviz.load("kind-default")
    assert [(p.key, p.node_name, p.ip) for p in a.pods.values()] == [(p.key, p.node_name, p.ip)
                                                                     for p in b.pods.values()]


def test_namespaces_referenced_but_not_created_exist() -> None:
    c = k8snetviz.loads(pod("a").replace("{name: a}", "{name: a, namespace: shop}"))
    assert "shop" in c.namespaces
    assert c.namespaces["shop"].labels == {"kubernetes.io/metadata.name": "shop"}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(c.namespaces)


def test_host_network_pod_has_its_nodes_address() -> None:
    c = k8snetviz.loads(pod("agent", ", hostNetwork: true, nodeName: kind-worker"))
    assert c.pods["default/agent"].ip == c.nodes["kind-worker"].internal_ip
    assert "pod/default/agent" not in c.netns


def test_extra_yaml_replaces_the_object_of_the_same_kind_and_name() -> None:
    # kubectl apply semantics for a whole object: a learner's YAML replaces the scenario's.
    c = k8snetviz.load("two-node-bridge", pod("web", ", nodeName: node-a"))
    assert c.pods["default/web"].node_name == "node-a"


# --- controllers into pods ------------------------------------------------------------------

DEPLOY = """\
apiVersion: apps/v1
kind: {kind}
metadata: {{name: web, namespace: shop}}
spec:
  replicas: {replicas}
  {extra}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: c, image: nginx}}]{tspec}}}
"""


def workload(kind: str, replicas: int = 3, extra: str = "", tspec: str = "") -> str:
    return DEPLOY.format(kind=kind, replicas=replicas, extra=extra or "minReadySeconds: 0", tspec=tspec)


def test_deployment_pods_are_named_after_their_replicaset_with_the_template_hash() -> None:
    c = k8snetviz.loads(workload("Deployment"))
    pods = [p for p in c.pods.values() if p.namespace == "shop"]
    assert len(pods) == 3
    hashes = {p.labels["pod-template-hash"] for p in pods}
    assert len(hashes) == 1
    (h,) = hashes
    for p in pods:
        # <deployment>-<pod-template-hash>-<5 random characters from the API server's alphabet>
        assert p.name.startswith(f"web-{h}-")
        suffix = p.name.rsplit("-", 1)[1]
        assert len(suffix) == 5 and set(suffix) <= set("bcdfghjklmnpqrstvwxz2456789")
        assert p.owner is not None and (p.owner.kind, p.owner.name) == ("ReplicaSet", f"web-{h}")
        assert p.labels["app"] == "web"
    assert len({p.name for p in pods}) == 3


def test_replicaset_pods() -> None:
    c = k8snetviz.loads(workload("ReplicaSet", 2))
    pods = [p for p in c.pods.values() if p.namespace == "shop"]
    assert len(pods) == 2 and all(p.owner and p.owner.kind == "ReplicaSet" and p.owner.name == "web" for p in pods)


def test_statefulset_pods_have_ordinals_hostname_and_subdomain() -> None:
    # statefulset_utils: the pod is <set>-<ordinal>; hostname = pod name, subdomain = spec.serviceName.
    c = k8snetviz.loads(workload("StatefulSet", 2, extra="serviceName: web-headless"))
    pods = sorted((p for p in c.pods.values() if p.namespace == "shop"), key=lambda p: p.name)
    assert [(p.name, p.hostname, p.subdomain) for p in pods] == [
        ("web-0", "web-0", "web-headless"), ("web-1", "web-1", "web-headless")]
    assert pods[1].labels["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert pods[1].labels["apps.kubernetes.io/pod-index"] == "1"


def test_daemonset_runs_one_pod_per_node_it_tolerates() -> None:
    plain = k8snetviz.loads(workload("DaemonSet"))
    assert sorted(p.node_name for p in plain.pods.values() if p.namespace == "shop") == ["kind-worker",
                                                                                         "kind-worker2"]
    tolerant = k8snetviz.loads(workload("DaemonSet", tspec=", tolerations: [{operator: Exists}]"))
    assert sorted(p.node_name for p in tolerant.pods.values() if p.namespace == "shop") == [
        "kind-control-plane", "kind-worker", "kind-worker2"]


def test_workload_selector_must_match_template_labels() -> None:
    with pytest.raises(InvalidObject, match=r'The Deployment "web" is invalid: spec.template.metadata.labels'):
        k8snetviz.loads(workload("Deployment").replace("matchLabels: {app: web}", "matchLabels: {app: other}"))


def test_negative_replicas_is_invalid() -> None:
    with pytest.raises(InvalidObject, match=r'spec.replicas: Invalid value: -1: must be greater than or equal to 0'):
        k8snetviz.loads(workload("Deployment", -1))


def test_system_pods_coredns_on_the_control_plane() -> None:
    c = k8snetviz.loads(pod("a"))
    # issue 14 (the full kind control plane): kube-system also holds the static pods, kube-proxy and kindnet, so
    # CoreDNS's pods are picked out by their label.
    dns = [p for p in c.pods.values() if p.namespace == "kube-system" and p.labels.get("k8s-app") == "kube-dns"]
    assert len(dns) == 2 and all(p.name.startswith("coredns-") and p.node_name == "kind-control-plane" for p in dns)
    off = k8snetviz.loads("apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\n"
                          "spec: {systemPods: false}\n---\n" + pod("a"))
    assert [p.key for p in off.pods.values()] == ["default/a"]
