"""Real clusters: every dump under tests/data/dumps/ (a file, or a directory of files, as ``kubectl get -o yaml|json``
printed them; sources in tests/data/dumps/SOURCES.md) loads and answers right, checked against its own content,
and loads the same when saved otherwise (one JSON List with managedFields, UTF-16 with CRLF concatenated with ---,
`kubectl cluster-info dump` to standard output).

The test is generic: a dump dropped into the folder is checked the same way. The dump is read here on its own
(plain ``yaml``/``json``), not through the loader under test:

- every scheduled pod with a ``status.podIP`` is listed with that address; no pod is added except kubeadm's
  CoreDNS when the dump holds no DNS pod at all (``inspect`` lists it as added);
- every Service is there once, with its ClusterIP;
- each node routes every other node's ``spec.podCIDR`` (not by its default route), and its own pods' addresses;
- a trace from a real pod to a real Service is delivered to a pod that the Service's EndpointSlices list as ready,
  and ``candidates`` are exactly those pods (one pod too: the bug "candidates: []" of single-endpoint Services);
- cluster DNS answers the Service's name with its ClusterIP;
- ``inspect`` explains the build: the CNI, the CIDRs, what was inferred.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml

import k8snetviz
from k8snetviz.cli import main

DUMPS = Path(__file__).parent / "data" / "dumps"
SUFFIXES = (".yaml", ".yml", ".json")


def dumps() -> list[Path]:
    return sorted(p for p in DUMPS.iterdir() if p.is_dir() or p.suffix in SUFFIXES)  # SOURCES.md is not a dump


class _Plain(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Timestamps as text (kubectl's JSON has strings), as a reader of the dump would expect."""


_Plain.yaml_implicit_resolvers = {
    k: [(t, r) for t, r in v if t != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def objects(path: Path) -> list[dict[str, Any]]:
    """Every object of the dump, lists flattened; a typed list's items get its kind."""
    files = sorted(f for f in path.rglob("*") if f.suffix in SUFFIXES) if path.is_dir() else [path]
    out: list[dict[str, Any]] = []

    def add(doc: Any) -> None:
        if not isinstance(doc, dict):
            return
        kind = doc.get("kind", "")
        if kind.endswith("List") and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                if kind != "List" and "kind" not in item:
                    item = {**item, "kind": kind[:-4]}
                add(item)
        else:
            out.append(doc)

    for f in files:
        text = f.read_text(encoding="utf-8")
        if f.suffix == ".json":
            add(json.loads(text))
        else:
            for doc in yaml.load_all(text, Loader=_Plain):
                add(doc)
    return out


def key(obj: dict[str, Any]) -> str:
    md = obj.get("metadata") or {}
    return f"{md.get('namespace') or 'default'}/{md.get('name')}"


@pytest.fixture(scope="module", params=dumps(), ids=lambda p: p.name)
def dump(request: pytest.FixtureRequest) -> tuple[Path, list[dict[str, Any]], k8snetviz.Cluster]:
    path: Path = request.param
    return path, objects(path), k8snetviz.load(path)


def test_there_are_dumps_of_several_distributions() -> None:
    assert len(dumps()) >= 6


def test_every_pod_with_its_address_and_no_pod_invented(dump) -> None:
    _, objs, cluster = dump
    pods = {key(o): o for o in objs if o.get("kind") == "Pod"}
    for k, o in pods.items():
        spec, status = o.get("spec") or {}, o.get("status") or {}
        if not spec.get("nodeName"):
            continue  # never scheduled: no node runs it (inspect lists it as ignored)
        assert k in cluster.pods, f"pod {k} of the dump is missing"
        if status.get("podIP"):
            assert str(cluster.pods[k].ip) == status["podIP"], k
        else:
            assert cluster.pods[k].ip is None or spec.get("hostNetwork"), f"{k}: an address was invented"
    extra = sorted(set(cluster.pods) - set(pods))
    if extra:
        # kubeadm's CoreDNS, added only because the dump holds no DNS pod (a namespaced dump).
        assert "Deployment kube-system/coredns" in cluster.notes.added, extra
        assert all(k.startswith("kube-system/coredns-") for k in extra), extra
        assert not any((o.get("metadata") or {}).get("labels", {}).get("k8s-app") == "kube-dns"
                       for k, o in pods.items() if k.startswith("kube-system/"))


def test_every_service_once_with_its_cluster_ip(dump) -> None:
    _, objs, cluster = dump
    services = [o for o in objs if o.get("kind") == "Service"]
    keys = [key(o) for o in services]
    assert len(keys) == len(set(keys))
    for o in services:
        svc = cluster.services[key(o)]
        ip = (o.get("spec") or {}).get("clusterIP")
        if ip:
            assert svc.cluster_ip == ip, key(o)


def test_nodes_route_every_pod_cidr_and_their_pods(dump) -> None:
    _, objs, cluster = dump
    cidrs = {(o.get("metadata") or {}).get("name"): (o.get("spec") or {}).get("podCIDR")
             for o in objs if o.get("kind") == "Node"}
    for name in cluster.nodes:
        table = cluster.netns[f"node/{name}"].routes
        for peer, cidr in cidrs.items():
            if peer == name or not cidr:
                continue
            probe = IPv4Network(cidr).network_address + 2
            route = table.lookup(probe)
            assert route is not None and str(route.dst) != "0.0.0.0/0", f"{name} has no route to {peer}'s {cidr}"
        for pod in cluster.pods.values():
            if pod.has_sandbox and pod.node_name != name:
                route = table.lookup(pod.ip)
                assert route is not None and str(route.dst) != "0.0.0.0/0", f"{name} cannot reach pod {pod.key}"
        for pod in cluster.pods.values():
            if pod.has_sandbox and pod.node_name == name:
                route = table.lookup(pod.ip)
                assert route is not None and route.dev != "eth0", f"{name} does not route its pod {pod.key} locally"


def _ready_pods(cluster: k8snetviz.Cluster, svc: Any, port: Any) -> set[str]:
    out = set()
    for es in cluster.endpointslices:
        if es.namespace != svc.namespace or es.service_name != svc.name:
            continue
        if not any((p.name or "") == (port.name or "") and p.protocol == port.protocol for p in es.ports):
            continue
        for ep in es.endpoints:
            if ep.is_ready:
                # the pod the slice names (hostNetwork ones too), else the pod at the address
                ref = ep.target_ref
                named = f"{ref.namespace or es.namespace}/{ref.name}" if ref is not None and ref.kind == "Pod" else ""
                pod = cluster.pods.get(named) or cluster.pod_at(IPv4Address(ep.addresses[0]))
                if pod is not None:
                    out.add(pod.key)
    return out


def _pairs(cluster: k8snetviz.Cluster, objs: list[dict[str, Any]]):
    """(source pod, service, port, ready pods): real pods and Services of the dump, in dump order."""
    in_dump = {key(o) for o in objs}
    ips: dict[str, int] = {}
    for s in cluster.services.values():
        ips[s.cluster_ip or ""] = ips.get(s.cluster_ip or "", 0) + 1
    sources = [p for p in cluster.pods.values() if p.has_sandbox and p.key in in_dump and p.ready]
    for svc in cluster.services.values():
        if svc.key not in in_dump or svc.ip is None or ips[svc.cluster_ip or ""] > 1:
            continue
        for port in svc.ports:
            if port.protocol != "TCP":
                continue
            ready = _ready_pods(cluster, svc, port)
            if ready and sources:
                yield sources[0], svc, port, ready


def test_a_trace_to_a_real_service_reaches_a_pod_its_endpointslices_list(dump) -> None:
    _, objs, cluster = dump
    pairs = list(_pairs(cluster, objs))
    if not pairs:
        pytest.skip("the dump has no Service with ready endpoints")  # e.g. pods only: nothing to trace to
    for src, svc, port, ready in pairs[:3]:
        t = cluster.trace(src.key, f"svc/{svc.key}:{port.port}")
        assert t.verdict == "delivered", (src.key, svc.key, t.reason)
        assert t.final["pod"] in ready
        # kube-proxy can pick any ready endpoint: all of them, even when there is only one
        assert {c["pod"] for c in t.candidates} == ready
        assert abs(sum(c["probability"] for c in t.candidates) - 1) < 1e-9


def test_traces_from_several_real_pods_hostnetwork_ones_too_reach_the_listed_pods(dump) -> None:
    """Not only the first pod: two pods with their own network and two hostNetwork pods (which connect from their
    node's namespace, routed before kube-proxy's OUTPUT DNAT), each to up to five Services."""
    _, objs, cluster = dump
    in_dump = {key(o) for o in objs}
    running = [p for p in cluster.pods.values() if p.key in in_dump and p.ready and p.phase == "Running"]
    sources = [p for p in running if p.has_sandbox][:2] + [p for p in running if p.host_network][:2]
    targets = []
    for svc, port, ready in ((s, p, r) for _, s, p, r in _pairs(cluster, objs)):
        if svc.key not in {t[0].key for t in targets}:
            targets.append((svc, port, ready))
    if not sources or not targets:
        pytest.skip("the dump has no Service with ready endpoints")
    for src in sources:
        for svc, port, ready in targets[:5]:
            t = cluster.trace(src.key, f"svc/{svc.key}:{port.port}")
            if t.verdict != "delivered" and any(h.get("decided_by", {}).get("kind") == "policy"
                                                for h in t.to_dict()["hops"]):
                continue  # a NetworkPolicy of the dump decides: an answer too
            assert t.verdict == "delivered", (src.key, svc.key, t.reason)
            assert t.final["pod"] in ready and {c["pod"] for c in t.candidates} == ready, (src.key, svc.key)


def test_dns_answers_a_service_with_its_cluster_ip(dump) -> None:
    _, objs, cluster = dump
    pairs = list(_pairs(cluster, objs))
    if not pairs:
        pytest.skip("the dump has no Service with ready endpoints")
    src, svc, _, _ = pairs[0]
    if src.dns_policy != "ClusterFirst":
        pytest.skip("the first source pod does not use cluster DNS")
    answer = cluster.resolve(src.key, f"{svc.name}.{svc.namespace}.svc.{cluster.config.cluster_domain}")
    assert svc.cluster_ip in {a["data"] for a in answer.to_dict()["answers"]}


def test_inspect_explains_the_dump(dump, capsys: pytest.CaptureFixture[str]) -> None:
    path, _, cluster = dump
    found = cluster.inspect().to_dict()
    assert found["found"]["cni"] and found["found"]["service_cidr"] and found["found"]["pod_cidr"]
    assert found["found"]["nodes"] == len(cluster.nodes)
    assert main(["inspect", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and out.startswith("found:")
    assert len(err.splitlines()) <= 3


def _summary(cluster: k8snetviz.Cluster) -> tuple[Any, ...]:
    return ({k: str(p.ip) for k, p in cluster.pods.items()}, {k: s.cluster_ip for k, s in cluster.services.items()},
            {k: str(n.internal_ip) for k, n in cluster.nodes.items()})


def _as_written_otherwise(path: Path, objs: list[dict[str, Any]], tmp: Path) -> list[Path]:
    """The dump as users also save it: one JSON List with managedFields; every file concatenated with `---`
    in UTF-16 with a byte-order mark and CRLF line ends (Windows PowerShell's `>`); `kubectl cluster-info dump`'s
    standard output (typed lists without kind, logs between them)."""
    managed = [{**o, "metadata": {**(o.get("metadata") or {}), "managedFields": [
        {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}}}]}} for o in objs]
    as_json = tmp / "list.json"
    as_json.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": managed}, indent=4))
    files = sorted(f for f in path.rglob("*") if f.suffix in SUFFIXES) if path.is_dir() else [path]
    texts = [f.read_text(encoding="utf-8") for f in files]
    if all(isinstance(d, dict) and d.get("kind") for t in texts for d in ([json.loads(t)] if t.lstrip()[:1] in "{["
                                                                        else [{"kind": "yaml"}])):
        cat = tmp / "cat.yaml"
        cat.write_bytes(b"\xff\xfe" + "\n---\n".join(texts).replace("\n", "\r\n").encode("utf-16-le"))
    else:
        cat = as_json  # a support bundle's rule arrays are no YAML documents to concatenate
    parts = [json.dumps({"kind": "NodeList", "apiVersion": "v1", "items": [
        {k: v for k, v in o.items() if k != "kind"} for o in objs if o.get("kind") == "Node"]})]
    for kind in ("Service", "Pod", "EndpointSlice", "Endpoints", "Deployment", "ReplicaSet", "DaemonSet"):
        items = [{k: v for k, v in o.items() if k != "kind"} for o in objs if o.get("kind") == kind]
        parts.append(json.dumps({"kind": f"{kind}List", "apiVersion": "v1", "items": items}))
        if kind == "Pod" and items:
            who = f"container c of pod {key(items[0])}"
            parts.append(f"==== START logs for {who} ====\n{{ not json\n==== END logs for {who} ====")
    info = tmp / "cluster-info.json"
    info.write_text("\n".join(parts) + "\n")
    return [as_json, cat, info]


def test_the_dump_saved_otherwise_loads_the_same(dump, tmp_path: Path) -> None:
    path, objs, cluster = dump
    want = _summary(cluster)
    for other in _as_written_otherwise(path, objs, tmp_path):
        assert _summary(k8snetviz.load(other)) == want, other.name
