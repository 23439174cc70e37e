"""Exposing a Service, explored: change its type, its externalTrafficPolicy, where its pods run and who the
client is; the scenario is rebuilt with those settings and one packet is traced from the client.

The question the service explorer widget asks, usable without a browser:

>>> ex = explore("influxdb", "default/influxdb", client="external")
>>> ex.destination, ex.seen_client
('172.18.255.201:8086', '172.18.0.3')
>>> explore("influxdb", "default/influxdb", policy="Local", client="external").seen_client
'172.18.0.100'
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

import yaml

import k8snetviz
from k8snetviz.api.endpointslices import selects
from k8snetviz.api.refs import Ref
from k8snetviz.errors import UsageError
from k8snetviz.scenario.loader import Scenario, read_scenario

if TYPE_CHECKING:
    from k8snetviz.api.services import Service
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = ["Exploration", "explore", "explorer_yaml", "entry_points", "describe_address", "base_scenario",
           "find_service", "destination_for", "default_entry",
           "TYPES", "POLICIES", "AS_SCHEDULED", "CLUSTER_IP", "LOAD_BALANCER"]

TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
POLICIES = ("Cluster", "Local")
AS_SCHEDULED = "as scheduled"
CLUSTER_IP = "cluster IP"
LOAD_BALANCER = "load balancer"
WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet")



@dataclass
class Exploration:
    """One setting of the explorer, built and traced."""

    cluster: Cluster
    service: Service
    yaml: str  # what was applied on top of the scenario
    client: str
    destination: str
    result: TraceResult

    @property
    def seen_client(self) -> str | None:
        """The address the backend's socket sees as its peer (``final.src`` without the port)."""
        if not self.result.delivered or not self.result.final:
            return None
        return str(self.result.final["src"]).rsplit(":", 1)[0]

    @property
    def client_address(self) -> str | None:
        """The client's own address, as it sent the first packet."""
        return self.result.hops[0].src.rsplit(":", 1)[0] if self.result.hops else None

    def headline(self) -> str:
        """"The backend sees the client as X", in words: whose address X is and why."""
        r = self.result
        if not r.delivered or not r.final:
            return f"No backend sees this connection: {r.verdict}. {r.reason}"
        pod = r.final.get("pod") or "the receiver"
        seen = self.seen_client or "?"
        whose = describe_address(self.cluster, seen)
        if seen == self.client_address:
            how = "its real address: nothing on the way rewrote the source"
        else:
            snat = [h for h in r.hops if h.action == "snat"]
            how = f"{whose}: {snat[0].at} rewrote the source ({snat[0].detail.split(' (')[0]})" if snat else whose
        return f"The backend {pod} sees the client as {seen}, {how}."


def describe_address(cluster: Cluster, addr: str) -> str:
    """Whose address ``addr`` is, in words (a node, a pod, an outside client, a node's pod-side gateway)."""
    ip = IPv4Address(addr)
    owner = cluster.owner_of(ip)
    ref = Ref.parse(owner) if owner else None
    if ref is not None and ref.kind in ("node", "pod"):
        return f"{ref.kind} {ref.key}'s address"
    if owner and owner.startswith("external/"):
        return f"the outside client {owner[9:]}'s address"
    for node in cluster.nodes.values():
        if ip in node.pod_cidr:
            return f"node {node.name}'s own address on its pod network (the gateway of {node.pod_cidr})"
    return f"the address {addr}"


def base_scenario(scenario: str | Scenario | Cluster) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str):
        return read_scenario(scenario)
    return scenario.scenario


def find_service(base: Scenario, key: str) -> dict[str, Any]:
    ns, _, name = key.rpartition("/")
    for m in base.of_kind("Service"):
        if m.name == name and (m.namespace or "default") == (ns or "default"):
            return m.body
    names = ", ".join(f"{m.namespace or 'default'}/{m.name}" for m in base.of_kind("Service")) or "none"
    raise UsageError(f'service "{key}" is not one of the scenario\'s Services ({names})')


def _service_body(body: dict[str, Any], type_: str | None, policy: str | None) -> dict[str, Any]:
    svc = copy.deepcopy(body)
    svc.pop("status", None)
    spec = svc.setdefault("spec", {})
    if type_ is not None:
        spec["type"] = type_
    kind = spec.get("type", "ClusterIP")
    if kind == "ClusterIP":
        # What the API server refuses on a ClusterIP Service, dropped as `kubectl edit` users do by hand.
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)
        spec.pop("externalTrafficPolicy", None)
    if kind != "LoadBalancer":
        spec.pop("healthCheckNodePort", None)
    if policy is not None and kind in ("NodePort", "LoadBalancer"):
        spec["externalTrafficPolicy"] = policy
    if spec.get("externalTrafficPolicy") != "Local":
        spec.pop("healthCheckNodePort", None)
    return svc


def _moved_backends(base: Scenario, selector: dict[str, str], node: str) -> list[dict[str, Any]]:
    """The Pods and workloads whose pods the selector picks, pinned to ``node`` with ``spec.nodeName``."""
    out = []
    for m in base.of_kind("Pod", *WORKLOADS):
        if m.kind == "Pod":
            spec_path: tuple[str, ...] = ("spec",)
            labels = m.metadata.get("labels") or {}
        else:
            template = (m.body.get("spec") or {}).get("template") or {}
            labels, spec_path = (template.get("metadata") or {}).get("labels") or {}, ("spec", "template", "spec")
        if not selector or not selects(selector, labels):
            continue
        body = copy.deepcopy(m.body)
        if m.kind == "Pod":
            body.pop("status", None)  # a fixed podIP belongs to the old node's podCIDR
        spec = body
        for part in spec_path:
            spec = spec.setdefault(part, {})
        spec["nodeName"] = node
        out.append(body)
    return out


def explorer_yaml(scenario: str | Scenario | Cluster, service: str, *, type: str | None = None,
                  policy: str | None = None, endpoints_on: str | None = None) -> str:
    """The YAML the explorer applies on top of ``scenario``: the Service with its new type and policy, and
    (with ``endpoints_on``, a node name) the pods it selects pinned to that node.

    >>> print(explorer_yaml("influxdb", "default/influxdb", policy="Local"))  # doctest: +ELLIPSIS
    apiVersion: v1
    kind: Service
    ...
      externalTrafficPolicy: Local
    ...
    """
    base = base_scenario(scenario)
    body = _service_body(find_service(base, service), type, policy)
    docs = [body]
    if endpoints_on and endpoints_on != AS_SCHEDULED:
        selector = (body.get("spec") or {}).get("selector") or {}
        docs += _moved_backends(base, selector, endpoints_on)
    return yaml.safe_dump_all(docs, sort_keys=False)


def entry_points(cluster: Cluster, svc: Service) -> list[str]:
    """Where a client can send to reach ``svc``: its cluster IP, each node's node port, its load balancer."""
    out = [CLUSTER_IP] if svc.ip is not None else []
    if any(p.node_port for p in svc.ports):
        out += [f"node/{n}" for n in cluster.nodes]
    if svc.load_balancer_ips:
        out.append(LOAD_BALANCER)
    return out


def default_entry(client: str, entries: list[str]) -> str:
    outside = client.startswith("external")
    if outside and LOAD_BALANCER in entries:
        return LOAD_BALANCER
    nodes = [e for e in entries if e.startswith("node/")]
    if outside and nodes:
        # A worker, as a learner would pick: the control plane usually carries no workload.
        return nodes[1] if len(nodes) > 1 else nodes[0]
    return entries[0] if entries else CLUSTER_IP


def destination_for(svc: Service, entry: str, port_index: int = 0) -> str:
    if not svc.ports:
        return f"svc/{svc.key}:80"
    port = svc.ports[port_index]
    if entry == LOAD_BALANCER and svc.load_balancer_ips:
        return f"{svc.load_balancer_ips[0]}:{port.port}"
    if entry.startswith("node/") and port.node_port:
        return f"{entry}:{port.node_port}"
    return f"svc/{svc.key}:{port.port}"


def explore(scenario: str | Scenario | Cluster, service: str, *, type: str | None = None,
            policy: str | None = None, endpoints_on: str | None = None, client: str = "external",
            entry: str | None = None) -> Exploration:
    """Rebuild ``scenario`` with the Service's ``type`` and ``externalTrafficPolicy`` and its pods on
    ``endpoints_on``, then trace one connection from ``client`` through ``entry`` (``"cluster IP"``,
    ``"node/NAME"`` or ``"load balancer"``; by default the load balancer or a worker's node port for an
    outside client, the cluster IP for anyone inside)."""
    base = base_scenario(scenario)
    text = explorer_yaml(base, service, type=type, policy=policy, endpoints_on=endpoints_on)
    cluster = k8snetviz.load(base, text)
    svc = cluster.service(service)
    entries = entry_points(cluster, svc)
    chosen = entry if entry in entries else default_entry(client, entries)
    dst = destination_for(svc, chosen)
    return Exploration(cluster, svc, text, client, dst, cluster.trace(client, dst))
