"""The pods of a scenario, as the cluster's programs leave them.

Pod manifests are taken as written; controllers (Deployment, ReplicaSet, StatefulSet, DaemonSet) are
expanded into the pods they create (:mod:`k8snetviz.agents.controllers`); a pod without
``spec.nodeName`` is placed by the scheduler (:mod:`k8snetviz.agents.scheduler`); a pod without
``status.podIP`` gets the next address host-local hands out on its node (:mod:`k8snetviz.agents.ipam`).
A ``hostNetwork`` pod has its node's address.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from k8snetviz.agents.controllers import WORKLOAD_KINDS, expand_workload
from k8snetviz.agents.ipam import HostLocal
from k8snetviz.agents.scheduler import Placer, tolerates
from k8snetviz.api.objects import ContainerPort, Node, ObjectRef, Pod
from k8snetviz.errors import FieldError, InvalidObject, K8sNetVizError
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["build_pods"]


def _ports(spec: dict[str, Any]) -> list[ContainerPort]:
    out = []
    for c in spec.get("containers") or []:
        for p in c.get("ports") or []:
            out.append(ContainerPort(int(p.get("containerPort", 0)), str(p.get("protocol", "TCP")),
                                     p.get("name"), str(c.get("name", ""))))
    return out


def _ready(body: dict[str, Any]) -> bool:
    status = body.get("status") or {}
    if status.get("phase") not in (None, "Running"):
        return False
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status")) == "True"
    return True


def build_pods(scenario: Scenario, nodes: dict[str, Node], extra: list[Manifest]) -> dict[str, Pod]:
    node_names = list(nodes)
    manifests: list[tuple[dict[str, Any], Manifest]] = []
    for m in [*extra, *scenario.manifests]:
        if m.kind == "Pod":
            manifests.append((m.body, m))
        elif m.kind in WORKLOAD_KINDS:
            tmpl_spec = ((m.body.get("spec") or {}).get("template") or {}).get("spec") or {}
            tolerated = {n: tolerates(tmpl_spec, nodes[n]) for n in node_names}
            manifests += [(b, m) for b in expand_workload(m, node_names, tolerated)]
    pods: dict[str, Pod] = {}
    where: dict[str, str] = {}
    place = Placer(nodes)
    for body, m in manifests:
        md = body.get("metadata") or {}
        name = md.get("name")
        if not name:
            raise InvalidObject("Pod", "", [FieldError.required("metadata.name", "name or generateName is required")])
        ns = md.get("namespace") or "default"
        key = f"{ns}/{name}"
        if key in pods:
            raise K8sNetVizError(f'pods "{name}" already exists in namespace "{ns}" ({m.where}; first at {where[key]})')
        spec = body.get("spec") or {}
        node = spec.get("nodeName")
        if node is not None and node not in nodes:
            raise InvalidObject("Pod", name, [FieldError.not_found("spec.nodeName", node)])
        if node is None:
            node = place.choose(spec)
            if node is None:
                raise InvalidObject("Pod", name, [FieldError.invalid(
                    "spec.nodeSelector", spec.get("nodeSelector") or {},
                    "no node matches the selector and tolerates the pod")])
        place.count(node)
        owner = None
        if md.get("ownerReferences"):
            o = md["ownerReferences"][0]
            owner = ObjectRef(o.get("kind", ""), o.get("name", ""), ns)
        pod = Pod(
            namespace=ns, name=name, node_name=node, labels=dict(md.get("labels") or {}),
            ports=_ports(spec), host_network=bool(spec.get("hostNetwork")), ready=_ready(body),
            phase=(body.get("status") or {}).get("phase", "Running"),
            terminating=bool(md.get("deletionTimestamp")),
            hostname=spec.get("hostname"), subdomain=spec.get("subdomain"),
            dns_policy=spec.get("dnsPolicy", "ClusterFirst"), dns_config=spec.get("dnsConfig"),
            owner=owner, images=[str(c.get("image", "")) for c in spec.get("containers") or []], raw=body,
        )
        pods[key] = pod
        where[key] = m.where
    _assign_ips(pods, nodes)
    return pods


def _assign_ips(pods: dict[str, Pod], nodes: dict[str, Node]) -> None:
    pools = {n: HostLocal(node.pod_cidr) for n, node in nodes.items()}
    owners: dict[IPv4Address, str] = {}
    for p in pods.values():
        if p.host_network:
            p.ip = nodes[p.node_name].internal_ip
            continue
        status = p.raw.get("status") or {}
        given = status.get("podIP")
        if given is None:
            continue
        try:
            addr = IPv4Address(str(given))
        except ValueError:
            raise InvalidObject("Pod", p.name, [FieldError.invalid(
                "status.podIP", given, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]) from None
        node = nodes[p.node_name]
        pool = pools[p.node_name]
        if addr not in node.pod_cidr or not (pool.range_start <= addr <= pool.range_end):
            raise InvalidObject("Pod", p.name, [FieldError.invalid(
                "status.podIP", str(addr),
                f'not in the range host-local hands out on node "{node.name}" '
                f"({pool.range_start}-{pool.range_end} of podCIDR {node.pod_cidr})")])
        if addr in owners:
            raise InvalidObject("Pod", p.name, [FieldError.duplicate("status.podIP", str(addr))])
        owners[addr] = p.key
        pool.reserve(addr)
        p.ip = addr
    for p in pods.values():
        if p.ip is None:
            try:
                p.ip = pools[p.node_name].allocate()
            except ValueError as e:
                raise InvalidObject("Pod", p.name, [FieldError.invalid("status.podIP", None, str(e))]) from None
