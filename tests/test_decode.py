"""Reading what kubectl prints, and refusing what the API server refuses, in one line.

Sources: kubectl's YAML/JSON conversion (sigs.k8s.io/yaml: ``key "x" already set in map``), Go's encoding/json
messages as the API server returns them (``cannot unmarshal string into Go struct field ... of type int32``),
apimachinery's ``ErrorList`` (several causes; kept on one line here), kube-apiserver's ``/12`` limit for IPv4
service CIDRs, kubeadm's defaults, the ReplicaSet controller (pods it owns are not created again).
"""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from pathlib import Path

import pytest

import k8snetviz
from k8snetviz.errors import FieldError, InvalidObject, K8sNetVizError, ScenarioError
from k8snetviz.scenario.loader import parse_text, read_scenario

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "default"},
       "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}}


def test_a_directory_of_yaml_and_json_files_loads_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "pods").mkdir()
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    # `kubectl get pods -o json` of a typed list whose items carry no kind (cluster-info dump)
    item = {k: v for k, v in POD.items() if k not in ("kind", "apiVersion")}
    (tmp_path / "pods" / "default.json").write_text(json.dumps({"apiVersion": "v1", "kind": "PodList",
                                                                "items": [item]}, indent=4))
    (tmp_path / "README.md").write_text("not a manifest")
    sc = read_scenario(tmp_path)
    assert [(m.kind, m.api_version, m.name) for m in sc.manifests] == [("Namespace", "v1", "shop"),
                                                                        ("Pod", "v1", "a")]
    assert sc.manifests[1].where == f"{tmp_path / 'pods' / 'default.json'}:5"
    assert "default/a" in k8snetviz.load(tmp_path).pods


def test_bytes_that_are_not_utf8_are_refused_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_bytes(b"apiVersion: v1\n\xff\xfe\n")
    with pytest.raises(ScenarioError, match=rf"^{bad}:2: not UTF-8 text \(byte 0xff at offset 15\)"):
        read_scenario(bad)


def test_a_key_written_twice_is_refused_as_kubectl_refuses_it() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n"
    with pytest.raises(ScenarioError) as e:
        parse_text(text, "d.yaml")
    assert str(e.value) == ('d.yaml:5: error converting YAML to JSON: yaml: unmarshal errors: line 5: key "name" '
                            "already set in map")
    with pytest.raises(ScenarioError, match='^j.json: json: duplicate field "kind"'):
        parse_text('{"kind": "Pod", "kind": "Service"}', "j.json")


def test_what_is_not_kubernetes_is_refused() -> None:
    with pytest.raises(ScenarioError, match="^h:1: a document must be a mapping"):
        parse_text("myhost\n", "h")
    with pytest.raises(ScenarioError, match="^m.yaml:1: not a Kubernetes object: Object 'Kind' is missing"):
        parse_text("a: 1\n", "m.yaml")
    with pytest.raises(ScenarioError, match="cannot unmarshal number into Go struct field TypeMeta.kind"):
        parse_text("kind: 5\n")
    with pytest.raises(ScenarioError, match=r"items: json: cannot unmarshal number into Go struct field List.items"):
        parse_text("kind: List\napiVersion: v1\nitems: 5\n")


def test_timestamps_stay_strings() -> None:
    sc = parse_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a, creationTimestamp: 2019-07-01T10:00:00Z}\n")
    assert sc.manifests[0].metadata["creationTimestamp"] == "2019-07-01T10:00:00Z"


@pytest.mark.parametrize(("change", "message"), [
    (("spec", "containers", 0, "ports", 0, "containerPort", "abc"),
     'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field '
     "ContainerPort.spec.containers.ports.containerPort of type int32"),
    (("metadata", "labels", ["a"]),
     'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal array into Go struct field '
     "ObjectMeta.metadata.labels of type map[string]string"),
    (("spec", "nodeName", {"a": "b"}),
     'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal object into Go struct field '
     "PodSpec.spec.nodeName of type string"),
    (("spec", "containers", 0, "ports", 0, "containerPort", 70000),
     'The Pod "a" is invalid: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 '
     "and 65535, inclusive"),
])
def test_wrong_types_and_values_in_the_api_servers_words_on_one_line(change: tuple, message: str) -> None:
    import copy

    body = copy.deepcopy(POD)
    target = body
    for k in change[:-2]:
        target = target[k]
    target[change[-2]] = change[-1]
    with pytest.raises(K8sNetVizError) as e:
        k8snetviz.loads(json.dumps(body), "p.json")
    assert str(e.value) == f"p.json:1: {message}"


def test_replicas_beyond_int32_and_beyond_the_scale_limit_are_refused_up_front() -> None:
    dep = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: %d\n"
           "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
           "    spec: {containers: [{name: c, image: nginx}]}\n")
    with pytest.raises(K8sNetVizError, match="cannot unmarshal number 2147483648 into Go struct field "
                                             "DeploymentSpec.spec.replicas of type int32"):
        k8snetviz.loads(dep % 2**31)
    with pytest.raises(K8sNetVizError, match="too large to model: Deployment default/web would take the scenario "
                                             "past 150000 pods"):
        k8snetviz.loads(dep % 2_000_000)


def test_several_field_errors_stay_on_one_line() -> None:
    err = InvalidObject("Service", "web", [FieldError.required("spec.ports[0].name"),
                                           FieldError.required("spec.ports[1].name")])
    assert str(err) == ('The Service "web" is invalid: 2 errors: spec.ports[0].name: Required value; '
                        "spec.ports[1].name: Required value")


DUMP_SVC = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: kube-dns, namespace: kube-system, uid: u1}
  spec:
    clusterIP: 10.96.0.10
    selector: {k8s-app: kube-dns}
    ports: [{name: dns, port: 53, protocol: UDP}]
- apiVersion: v1
  kind: Service
  metadata: {name: kubernetes, namespace: default, uid: u2}
  spec:
    clusterIP: 10.96.0.1
    ports: [{name: https, port: 443, targetPort: 6443}]
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: default, uid: u3}
  spec:
    clusterIP: 10.101.5.124
    selector: {app: web}
    ports: [{port: 80}]
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {name: web-5d8f7, namespace: default, uid: u4}
  spec:
    replicas: 1
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: c, image: nginx}]}
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-5d8f7-abcde
    namespace: default
    uid: u5
    labels: {app: web}
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7, uid: u4, controller: true}]
  spec: {nodeName: kind-worker, containers: [{name: c, image: nginx}]}
  status: {phase: Running, podIP: 10.244.1.7, hostIP: 172.18.0.3}
"""


def test_what_a_dump_holds_is_honoured_and_the_rest_inferred() -> None:
    c = k8snetviz.loads(DUMP_SVC, "dump.yaml")
    # kubeadm's defaults only where absent: one kube-dns, one kubernetes; CoreDNS added (no DNS pod in the dump)
    assert sorted(c.services) == ["default/kubernetes", "default/web", "kube-system/kube-dns"]
    # default/kubernetes has no endpoint: no node of the dump runs the API server (a managed control plane)
    assert c.notes.added == ["Deployment kube-system/coredns"]
    # the ReplicaSet's pod is in the dump: the controller creates none
    assert sorted(k for k in c.pods if k.startswith("default/")) == ["default/web-5d8f7-abcde"]
    # 10.101.5.124 is outside kind's /16: kubeadm's 10.96.0.0/12 holds every ClusterIP, and the kubernetes IP is
    # its first address
    assert c.config.service_subnet == IPv4Network("10.96.0.0/12")
    assert {i.what for i in c.notes.inferred} >= {"service CIDR"}
    # a Service with one endpoint: kube-proxy can pick only it, and says so
    t = c.trace("kube-system/" + next(k.split("/")[1] for k in c.pods if k.startswith("kube-system/coredns")),
                "svc/default/web:80")
    assert t.verdict == "delivered" and t.candidates == [
        {"pod": "default/web-5d8f7-abcde", "probability": 1.0, "endpoint": "10.244.1.7:80"}]


def test_a_cluster_ip_in_no_plausible_range_is_refused() -> None:
    text = DUMP_SVC.replace("10.101.5.124", "8.8.8.8")
    with pytest.raises(InvalidObject, match='The Service "web" is invalid: spec.clusterIPs: Invalid value: '
                                            r'\[\]string\{"8.8.8.8"\}: failed to allocate IP 8.8.8.8'):
        k8snetviz.loads(text)


def test_an_old_ingress_is_converted_to_v1() -> None:
    from k8snetviz.api.decode import convert_ingress

    old = {"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "i"},
           "spec": {"backend": {"serviceName": "d", "servicePort": 80},
                    "rules": [{"http": {"paths": [{"path": "/", "backend": {"serviceName": "w",
                                                                            "servicePort": "http"}}]}}]}}
    new = convert_ingress(old)
    assert new["apiVersion"] == "networking.k8s.io/v1"
    assert new["spec"]["defaultBackend"] == {"service": {"name": "d", "port": {"number": 80}}}
    assert new["spec"]["rules"][0]["http"]["paths"][0] == {
        "path": "/", "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": "w", "port": {"name": "http"}}}}


def test_inspect_of_a_shipped_scenario_infers_nothing() -> None:
    r = k8snetviz.load("kind-default").inspect()
    assert r.inferred == [] and r.approximated == []
    assert r.found["service_cidr"] == "10.96.0.0/16" and r.found["cni"] == "kindnet"
    assert str(r).startswith("found:\n")


def test_every_shipped_document_decodes_which_is_why_a_shipped_scenario_skips_the_check() -> None:
    # decode_scenario leaves pydantic out for the package's own scenarios (a CLI trace starts 40% sooner);
    # this test is what vouches for them
    from k8snetviz.api.decode import check
    from k8snetviz.scenario.loader import shipped_scenarios

    for name in shipped_scenarios():
        sc = read_scenario(name)
        assert sc.manifests and all(m.shipped for m in sc.manifests), name
        for m in sc.manifests:
            assert check(m.body) is None, (name, m.where)


def test_a_copy_of_a_shipped_scenario_is_checked_like_any_other_file(tmp_path: Path) -> None:
    from k8snetviz.scenario.loader import resolve_path

    copy = tmp_path / "kind-default.yaml"
    copy.write_text(resolve_path("kind-default").read_text() + "\n---\napiVersion: v1\nkind: Service\n"
                    "metadata: {name: odd}\nspec:\n  ports: [{port: eighty}]\n")
    assert not any(m.shipped for m in read_scenario(copy).manifests)
    with pytest.raises(ScenarioError, match="cannot unmarshal string into Go struct field .* of type int32"):
        k8snetviz.load(copy)
    extra = "apiVersion: v1\nkind: Service\nmetadata: {name: odd}\nspec:\n  ports: [{port: eighty}]\n"
    with pytest.raises(ScenarioError, match="cannot unmarshal string"):
        k8snetviz.load("kind-default", extra)  # a learner's documents on top of a shipped scenario: checked
