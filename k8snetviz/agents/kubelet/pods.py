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

from k8snetviz.agents.controllers import WORKLOAD_KINDS, PresentPods, controller_pods, expand_workload
from k8snetviz.agents.ipam import HostLocalIPAM, PodIPAM
from k8snetviz.agents.scheduler import Placer, tolerates
from k8snetviz.api.notes import Notes, is_observed
from k8snetviz.api.objects import ContainerPort, Node, ObjectRef, Pod
from k8snetviz.api.validation import PORT_NUM_ERROR, port_number_errors
from k8snetviz.errors import FieldError, InvalidObject, K8sNetVizError
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["build_pods", "MAX_PODS"]

# Kubernetes' scalability thresholds (kubernetes.io "Considerations for large clusters": at most 150,000 pods).
MAX_PODS = 150_000


def _ports(spec: dict[str, Any], pod: str) -> list[ContainerPort]:
    """The containers' ports; a ``hostNetwork`` pod's hostPort defaults to its containerPort and must
    equal it (core/v1 SetDefaults_Pod, ValidatePodSpec)."""
    out = []
    host_network = bool(spec.get("hostNetwork"))
    for ci, c in enumerate(spec.get("containers") or []):
        for pi, p in enumerate(c.get("ports") or []):
            path = f"spec.containers[{ci}].ports[{pi}]"
            container_port = int(p.get("containerPort", 0))
            host_port = p.get("hostPort")
            if host_port in (None, 0):
                host_port = container_port if host_network else None
            elif not isinstance(host_port, int) or port_number_errors(host_port):
                raise InvalidObject("Pod", pod, [FieldError.invalid(f"{path}.hostPort", host_port,
                                                                    PORT_NUM_ERROR)])
            elif host_network and host_port != container_port:
                raise InvalidObject("Pod", pod, [FieldError.invalid(
                    f"{path}.hostPort", host_port, "must match `containerPort` when `hostNetwork` is true")])
            out.append(ContainerPort(container_port, str(p.get("protocol", "TCP")), p.get("name"),
                                     str(c.get("name", "")), host_port, p.get("hostIP") or None))
    return out


def _ready(body: dict[str, Any]) -> bool:
    status = body.get("status") or {}
    if status.get("phase") not in (None, "Running"):
        return False
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status")) == "True"
    # No status written: the kubelet's readiness probes decide. A probe connects to the container's port; the
    # model takes a container to listen on the ports it declares, so a probe on another port (or on a named port
    # the container does not have) fails and the pod is not Ready.
    for container in (body.get("spec") or {}).get("containers") or []:
        probe = container.get("readinessProbe") or {}
        action = probe.get("httpGet") or probe.get("tcpSocket") if isinstance(probe, dict) else None
        if isinstance(action, dict) and not _probe_reaches(container, action.get("port")):
            return False
    return True


def _probe_reaches(container: dict[str, Any], port: Any) -> bool:
    declared = [p for p in container.get("ports") or [] if isinstance(p, dict)]
    if isinstance(port, str):
        return any(p.get("name") == port for p in declared)
    return not declared or any(p.get("containerPort") == port for p in declared)


def _status_count(m: Manifest) -> int | None:
    """How many pods a controller read back from a cluster says it runs (None when its status does not say)."""
    status = m.body.get("status")
    if not isinstance(status, dict):
        return None
    for field in ("desiredNumberScheduled", "replicas"):
        value = status.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0 if m.kind != "DaemonSet" and status and "replicas" not in status else None


def _uid(m: Manifest) -> str | None:
    uid = m.metadata.get("uid")
    return uid if isinstance(uid, str) and uid else None


def build_pods(scenario: Scenario, nodes: dict[str, Node], extra: list[Manifest],
               notes: Notes | None = None, ipam: PodIPAM | None = None,
               after: list[Manifest] | None = None) -> dict[str, Pod]:
    """The pods, placed and addressed in order: ``extra`` (kubeadm's objects), the scenario's, then ``after`` (kind's
    add-ons, so that they do not move the addresses of the scenario's own pods); ``ipam`` is the CNI's
    (host-local on each node's podCIDR by default)."""
    after = after or []
    notes = notes if notes is not None else Notes()
    node_names = list(nodes)
    manifests: list[tuple[dict[str, Any], Manifest]] = []
    # the scenario's pods and workloads from its index by kind (a dump may hold 165,000 documents)
    docs = [*(m for m in extra if m.kind == "Pod" or m.kind in WORKLOAD_KINDS),
            *scenario.of_kind("Pod", *WORKLOAD_KINDS),
            *(m for m in after if m.kind == "Pod" or m.kind in WORKLOAD_KINDS)]
    present = PresentPods([m for m in docs if m.kind == "Pod"], [m for m in docs if m.kind != "Pod"])
    uids: set[str] = set()
    copies: list[str] = []
    unscheduled: list[str] = []
    expanded_from: list[str] = []
    budget = MAX_PODS - len(scenario.of_kind("Pod"))
    for m in docs:
        if m.kind == "Pod":
            uid = _uid(m)
            if uid is not None:
                uid = f"{m.namespace or 'default'}/{m.name}/{uid}"
                if uid in uids:
                    copies.append(f"{m.namespace or 'default'}/{m.name}")  # the same object listed twice
                    continue
                uids.add(uid)
            spec = m.body.get("spec") or {}
            if is_observed(m.body) and not spec.get("nodeName"):
                unscheduled.append(f"{m.namespace or 'default'}/{m.name}")
                continue
            manifests.append((m.body, m))
        elif m.kind in WORKLOAD_KINDS:
            if present.covers(m):
                continue  # its pods are in the scenario: the controller has nothing to create
            budget -= controller_pods(m, len(node_names))
            if budget < 0:
                raise K8sNetVizError(f"too large to model: {m.kind} {m.namespace or 'default'}/{m.name} would take the "
                                     f"scenario past {MAX_PODS} pods (Kubernetes' own scalability threshold)")
            if is_observed(m.body) and _status_count(m) == 0:
                continue  # the controller reports that it runs no pod (a DaemonSet for GPU nodes, a scaled-down set)
            tmpl_spec = ((m.body.get("spec") or {}).get("template") or {}).get("spec") or {}
            selector = tmpl_spec.get("nodeSelector") or {}
            # The DaemonSet controller runs a pod on each node that matches the nodeSelector and whose taints
            # the pod tolerates.
            tolerated = {n: tolerates(tmpl_spec, nodes[n]) and all(nodes[n].labels.get(k) == str(v)
                                                                   for k, v in selector.items())
                         for n in node_names}
            made = expand_workload(m, node_names, tolerated)
            manifests += [(b, m) for b in made]
            if made and m.source != "<kubeadm>" and is_observed(m.body):
                expanded_from.append(f"{m.kind} {m.namespace or 'default'}/{m.name}")
    if budget < 0:
        raise K8sNetVizError(f"too large to model: {MAX_PODS - budget} pods (the limit is {MAX_PODS}, Kubernetes' "
                             "own scalability threshold)")
    notes.ignore("pods", copies, "listed twice (the same uid): read once")
    notes.ignore("pods", unscheduled, "not scheduled (no spec.nodeName): no node runs them, they have no network")
    if expanded_from:
        notes.infer("pods", f"{len(expanded_from)} controllers expanded ({', '.join(expanded_from[:3])}"
                    f"{', …' if len(expanded_from) > 3 else ''})", "controllers whose pods the dump does not hold")
    pods: dict[str, Pod] = {}
    where: dict[str, str] = {}
    own_nodes: list[str] = []
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
        status = body.get("status") or {}
        # A pod read back with its node's own address, not hostNetwork: the node is the pod's own VM (EKS Fargate
        # gives every pod a node of its own whose InternalIP is the pod's IP).
        own_node = not spec.get("hostNetwork") and is_observed(body) and bool(status.get("podIP")) and \
            status.get("phase") not in ("Succeeded", "Failed") and status.get("podIP") == str(nodes[node].internal_ip)
        if own_node:
            own_nodes.append(key)
        pod = Pod(
            namespace=ns, name=name, node_name=node, labels=dict(md.get("labels") or {}),
            ports=_ports(spec, name), host_network=bool(spec.get("hostNetwork")) or own_node, own_node=own_node,
            ready=_ready(body),
            phase=(body.get("status") or {}).get("phase", "Running"),
            terminating=bool(md.get("deletionTimestamp")),
            hostname=spec.get("hostname"), subdomain=spec.get("subdomain"),
            dns_policy=spec.get("dnsPolicy", "ClusterFirst"), dns_config=spec.get("dnsConfig"),
            owner=owner, images=[str(c.get("image", "")) for c in spec.get("containers") or []], raw=body,
        )
        pods[key] = pod
        where[key] = m.where
    if own_nodes:
        notes.approximate(f"{len(own_nodes)} pods hold their node's own address (a node per pod: EKS Fargate, a "
                          f"virtual kubelet; e.g. {own_nodes[0]}): the model runs them in their node's network "
                          "namespace, as it runs hostNetwork pods")
    _assign_ips(pods, nodes, notes, ipam or HostLocalIPAM(nodes))
    return pods


def _assign_ips(pods: dict[str, Pod], nodes: dict[str, Node], notes: Notes, ipam: PodIPAM) -> None:
    owners: dict[IPv4Address, str] = {}
    finished_reuse: list[str] = []
    no_ip: list[str] = []
    running = {str((p.raw.get("status") or {}).get("podIP")) for p in pods.values()
               if not p.host_network and p.phase not in ("Succeeded", "Failed")}
    stale: list[str] = []
    for p in pods.values():
        if p.host_network:
            p.ip = nodes[p.node_name].internal_ip
            reported = (p.raw.get("status") or {}).get("podIP")
            if is_observed(p.raw) and reported and reported != str(p.ip):
                # The dump's Node and pod were read at different times (the node got a new address): the pod's
                # own status is what `kubectl get pods -o wide` shows.
                p.ip = IPv4Address(str(reported))
                stale.append(p.key)
            continue
        status = p.raw.get("status") or {}
        given = status.get("podIP")
        observed = is_observed(p.raw)
        if given is None:
            if observed:
                no_ip.append(p.key)  # a pod read back from a cluster without an address has none: none is invented
            continue
        try:
            addr = IPv4Address(str(given))
        except ValueError:
            raise InvalidObject("Pod", p.name, [FieldError.invalid(
                "status.podIP", given, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]) from None
        refused = None if observed else ipam.refuses(p.node_name, addr)
        if refused is not None:
            raise InvalidObject("Pod", p.name, [FieldError.invalid("status.podIP", str(addr), refused)])
        p.ip = addr
        if p.phase in ("Succeeded", "Failed"):
            # A finished pod's sandbox is gone: its address is free for the next pod (the dump still shows it).
            if str(addr) in running:
                finished_reuse.append(p.key)
            continue
        if addr in owners:
            raise InvalidObject("Pod", p.name, [FieldError.duplicate("status.podIP", str(addr))])
        owners[addr] = p.key
        ipam.reserve(p.node_name, addr)  # an address of a dump the IPAM could not have given stays the pod's
    notes.ignore("pod addresses", finished_reuse, "held by a finished (Succeeded/Failed) pod and reused by a "
                 "running one: the running pod owns it")
    notes.ignore("hostNetwork pods", stale, "report an address that is not their node's InternalIP (the dump's "
                 "Nodes and pods were read at different times): shown with the pod's own status.podIP")
    notes.ignore("pods", no_ip, "without status.podIP (pending, or finished): no address is invented, no network")
    ipam.prepare()
    for p in pods.values():
        if p.ip is None and not is_observed(p.raw):
            try:
                p.ip = ipam.allocate(p.node_name)
            except ValueError as e:
                raise InvalidObject("Pod", p.name, [FieldError.invalid("status.podIP", None, str(e))]) from None
