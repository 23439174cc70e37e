"""From manifests to the model: nodes, pods and the network state Kubernetes and Linux derive.

What Kubernetes fills in is filled in when absent and honoured when present:
node addresses and podCIDRs, pod placement and addresses. Placement is deterministic:
``spec.nodeName`` if set; else the nodes matching ``spec.nodeSelector`` (all schedulable nodes when
there is none); of those, the one with the fewest pods so far, ties going to the node listed first.
"""

from __future__ import annotations

import heapq
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from k8snetviz.errors import FieldError, InvalidObject, K8sNetVizError, ScenarioError
from k8snetviz.kernel.addressing import Interface, NetNS, Route, net
from k8snetviz.agents.cni.base import CNIModel, cni_model, mac_for
from k8snetviz.agents.ipam import HostLocal
from k8snetviz.api.objects import ContainerPort, ExternalClient, Namespace, Node, ObjectRef, Pod
from k8snetviz.api.config import ClusterConfig
from k8snetviz.scenario.loader import Manifest, Scenario
from k8snetviz.agents.controllers import WORKLOAD_KINDS, expand_workload

__all__ = ["build_nodes", "build_pods", "build_namespaces", "wire", "system_manifests", "KNOWN_KINDS"]

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
DEFAULT_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
KNOWN_KINDS = {
    "Node", "Pod", "Namespace", "Service", "EndpointSlice", "Endpoints", "Ingress", "IngressClass",
    "NetworkPolicy", "GatewayClass", "Gateway", "HTTPRoute", "Cluster", "Scenario", *WORKLOAD_KINDS,
}


def _node_names(cfg: ClusterConfig) -> list[tuple[str, str]]:
    """kind's naming: ``<cluster>-control-plane``, ``-control-plane2``, ``<cluster>-worker``, ``-worker2``."""
    counts: dict[str, int] = {}
    out = []
    for role in cfg.roles:
        counts[role] = counts.get(role, 0) + 1
        n = counts[role]
        out.append((f"{cfg.name}-{role}{'' if n == 1 else n}", role))
    return out


def build_nodes(scenario: Scenario, cfg: ClusterConfig) -> dict[str, Node]:
    given = scenario.of_kind("Node")
    specs: list[tuple[str, str, Manifest | None]] = []
    if given:
        for m in given:
            labels = m.metadata.get("labels") or {}
            role = "control-plane" if "node-role.kubernetes.io/control-plane" in labels else "worker"
            specs.append((m.name, role, m))
    else:
        specs = [(n, r, None) for n, r in _node_names(cfg)]
    seen: set[str] = set()
    for name, _, m in specs:
        if not name:
            raise InvalidObject("Node", "", [FieldError.required("metadata.name", "name or generateName is required")])
        if name in seen:
            raise K8sNetVizError(f'nodes "{name}" already exists' + (f" ({m.where})" if m else ""))
        seen.add(name)

    # Honour what is written first, then hand out the rest in order.
    ips: dict[str, IPv4Address] = {}
    cidrs: dict[str, IPv4Network] = {}
    for name, _, m in specs:
        if m is None:
            continue
        for i, a in enumerate((m.body.get("status") or {}).get("addresses") or []):
            if a.get("type") == "InternalIP":
                try:
                    ips[name] = IPv4Address(str(a.get("address")))
                except ValueError:
                    raise InvalidObject("Node", name, [FieldError.invalid(
                        f"status.addresses[{i}].address", a.get("address"),
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]) from None
        pod_cidr = (m.body.get("spec") or {}).get("podCIDR")
        if pod_cidr is not None:
            try:
                cidrs[name] = IPv4Network(str(pod_cidr), strict=True)
            except ValueError:
                raise InvalidObject("Node", name, [FieldError.invalid(
                    "spec.podCIDR", pod_cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]) \
                    from None
    _check_overlaps(cidrs)
    used_ips = set(ips.values())
    host = 2
    written = list(cidrs.values())  # only what the scenario fixed can be in the way of what is handed out
    free_cidrs = (c for c in cfg.pod_subnet.subnets(new_prefix=max(24, cfg.pod_subnet.prefixlen))
                  if not any(c.overlaps(x) for x in written))
    nodes: dict[str, Node] = {}
    has_workers = any(r == "worker" for _, r, _ in specs)
    for name, role, m in specs:
        if name not in ips:
            while (cfg.node_network.network_address + host) in used_ips:
                host += 1
            ips[name] = cfg.node_network.network_address + host
            used_ips.add(ips[name])
        if name not in cidrs:
            try:
                cidrs[name] = next(free_cidrs)
            except StopIteration:
                raise InvalidObject("Node", name, [FieldError.invalid(
                    "spec.podCIDR", None, f"the pod subnet {cfg.pod_subnet} has no free /24 left")]) from None
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
        if m is not None:
            labels.update(m.metadata.get("labels") or {})
            taints = list((m.body.get("spec") or {}).get("taints") or [])
        else:
            taints = [dict(CONTROL_PLANE_TAINT)] if role == "control-plane" and has_workers else []
        if role == "control-plane":
            labels.setdefault("node-role.kubernetes.io/control-plane", "")
            if m is None:
                # kubeadm labels control-plane nodes so that cloud load balancers leave them out.
                labels.setdefault("node.kubernetes.io/exclude-from-external-load-balancers", "")
        nodes[name] = Node(name, role, ips[name], cidrs[name], labels, taints, m.body if m else {})
    return nodes


def _check_overlaps(cidrs: dict[str, IPv4Network]) -> None:
    items = list(cidrs.items())
    for i, (a, ca) in enumerate(items):
        for b, cb in items[:i]:
            if ca.overlaps(cb):
                raise InvalidObject("Node", a, [FieldError.invalid(
                    "spec.podCIDR", str(ca), f'overlaps with the podCIDR of node "{b}" ({cb})')])


def system_manifests(cfg: ClusterConfig, nodes: dict[str, Node]) -> list[Manifest]:
    """What every kubeadm cluster has: CoreDNS behind kube-system/kube-dns, and default/kubernetes."""
    cp = next((n for n in nodes.values() if n.role == "control-plane"), next(iter(nodes.values())))
    coredns = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                 "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
                              "spec": {"nodeName": cp.name, "dnsPolicy": "Default", "containers": [{
                                  "name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                                  "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                            {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]}]}}},
    }
    kube_dns = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
        "spec": {"clusterIP": str(cfg.dns_service_ip), "selector": {"k8s-app": "kube-dns"},
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                           {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
    }
    kubernetes = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": str(cfg.service_subnet.network_address + 1),
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
    }
    kubernetes_slice = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [str(cp.internal_ip)], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
    }
    return [Manifest(b, "<kubeadm>", 0) for b in (coredns, kube_dns, kubernetes, kubernetes_slice)]


def build_namespaces(scenario: Scenario, pods: dict[str, Pod]) -> dict[str, Namespace]:
    out = {n: Namespace(n, {"kubernetes.io/metadata.name": n}) for n in DEFAULT_NAMESPACES}
    for m in scenario.of_kind("Namespace"):
        labels = {**(m.metadata.get("labels") or {}), "kubernetes.io/metadata.name": m.name}
        out[m.name] = Namespace(m.name, labels)
    # A namespace that objects refer to but no manifest creates is created, as if applied first.
    for m in scenario.manifests:
        ns = m.namespace
        if ns and ns not in out:
            out[ns] = Namespace(ns, {"kubernetes.io/metadata.name": ns})
    for p in pods.values():
        out.setdefault(p.namespace, Namespace(p.namespace, {"kubernetes.io/metadata.name": p.namespace}))
    return dict(sorted(out.items()))


def _tolerates(spec: dict[str, Any], node: Node) -> bool:
    tolerations = spec.get("tolerations") or []
    for t in node.taints:
        if t.get("effect") != "NoSchedule":
            continue
        if not any(tol.get("operator") == "Exists" and not tol.get("key")
                   or tol.get("key") == t.get("key") for tol in tolerations):
            return False
    return True


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
            tolerated = {n: _tolerates(tmpl_spec, nodes[n]) for n in node_names}
            manifests += [(b, m) for b in expand_workload(m, node_names, tolerated)]
    pods: dict[str, Pod] = {}
    where: dict[str, str] = {}
    place = _Placer(nodes)
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


class _Placer:
    """The deterministic scheduler: among the nodes a pod fits, the one with the fewest pods, ties to the
    node listed first. Pods with the same selector and tolerations share one heap of (load, order, node)."""

    def __init__(self, nodes: dict[str, Node]) -> None:
        self.nodes = nodes
        self.order = {n: i for i, n in enumerate(nodes)}
        self.load = dict.fromkeys(nodes, 0)
        self.heaps: dict[str, list[tuple[int, int, str]]] = {}

    def choose(self, spec: dict[str, Any]) -> str | None:
        selector = spec.get("nodeSelector") or {}
        key = repr((sorted(selector.items()), spec.get("tolerations")))
        heap = self.heaps.get(key)
        if heap is None:
            heap = [(self.load[n], self.order[n], n) for n, node in self.nodes.items()
                    if all(node.labels.get(k) == str(v) for k, v in selector.items()) and _tolerates(spec, node)]
            heapq.heapify(heap)
            self.heaps[key] = heap
        while heap:
            load, order, n = heap[0]
            if load == self.load[n]:
                return n
            heapq.heapreplace(heap, (self.load[n], order, n))  # stale: the node got pods from another heap
        return None

    def count(self, node: str) -> None:
        self.load[node] += 1


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


def wire(cfg: ClusterConfig, nodes: dict[str, Node], pods: dict[str, Pod],
         externals: dict[str, ExternalClient]) -> tuple[dict[str, NetNS], CNIModel]:
    """Every network namespace with its devices and routes, as the CNI plugins and the kernel leave them."""
    cni = cni_model(cfg.cni, cfg.pod_subnet)
    spaces: dict[str, NetNS] = {}
    lan_prefix = cfg.node_network.prefixlen
    with_pods = {p.node_name for p in pods.values() if not p.host_network}
    all_nodes = list(nodes.values())
    for node in nodes.values():
        ns = NetNS(f"node/{node.name}", "node", ip_forward=True)
        ns.add_interface(Interface("lo", "loopback", 1, addrs=[IPv4Interface("127.0.0.1/8")], mtu=65536))
        # A kind node's eth0 is the container end of a veth pair whose other end is on docker's bridge.
        ns.add_interface(Interface("eth0", "ether", 2, mac_for(f"{node.name}/eth0"),
                                   [IPv4Interface(f"{node.internal_ip}/{lan_prefix}")],
                                   peer_ifindex=_docker_ifindex(node, cfg)))
        ns.routes.add(Route(net("default"), "eth0", via=cfg.gateway, why="the node's default gateway"))
        ns.routes.add(Route(cfg.node_network, "eth0", proto="kernel", scope="link", src=node.internal_ip,
                            why="the kernel, for the address on eth0"))
        cni.wire_node(node, ns, [n for n in all_nodes if n is not node], node.name in with_pods)
        spaces[ns.name] = ns
    for pod in pods.values():
        if pod.host_network:
            continue  # a hostNetwork pod lives in its node's namespace
        ns = NetNS(f"pod/{pod.key}", "pod")
        ns.add_interface(Interface("lo", "loopback", 1, addrs=[IPv4Interface("127.0.0.1/8")], mtu=65536))
        cni.wire_pod(nodes[pod.node_name], spaces[f"node/{pod.node_name}"], pod, ns)
        spaces[ns.name] = ns
    for ext in externals.values():
        ns = NetNS(f"external/{ext.name}", "external")
        ns.add_interface(Interface("lo", "loopback", 1, addrs=[IPv4Interface("127.0.0.1/8")], mtu=65536))
        in_lan = ext.ip in cfg.node_network
        ns.add_interface(Interface("eth0", "ether", 2, mac_for(f"external/{ext.name}/eth0"),
                                   [IPv4Interface(f"{ext.ip}/{lan_prefix if in_lan else 32}")]))
        ns.routes.add(Route(net("default"), "eth0", via=cfg.gateway, onlink=not in_lan,
                            why="the client's default gateway"))
        if in_lan:
            ns.routes.add(Route(cfg.node_network, "eth0", proto="kernel", scope="link", src=ext.ip,
                                why="the kernel, for the address on eth0"))
        spaces[ns.name] = ns
    _apply_overrides(cfg, spaces)
    return spaces, cni


def _docker_ifindex(node: Node, cfg: ClusterConfig) -> int:
    # Docker creates one host-side veth per container, in start order; a stable stand-in for its index.
    return 3 + 2 * (int(node.internal_ip) - int(cfg.node_network.network_address) - 2) % 997


def _apply_overrides(cfg: ClusterConfig, spaces: dict[str, NetNS]) -> None:
    for o in cfg.overrides:
        if o.target not in spaces:
            known = ", ".join(n for n in spaces if not n.startswith("external/"))
            raise ScenarioError(f'{o.where}.target: Not found: "{o.target}" (use node/NAME or pod/NS/NAME: {known})')
        ns = spaces[o.target]
        if o.ip_forward is not None:
            ns.ip_forward = bool(o.ip_forward)
        for j, r in enumerate(o.delete_routes):
            try:
                ns.routes.remove(r)
            except (KeyError, ValueError):
                raise ScenarioError(f"{o.where}.deleteRoutes[{j}]: {o.target} has no route to {r}") from None
        for j, r in enumerate(o.add_routes):
            try:
                ns.routes.add(Route.parse(r, why="added by the scenario (spec.overrides)"))
            except (KeyError, ValueError, IndexError) as e:
                raise ScenarioError(f'{o.where}.addRoutes[{j}]: cannot read route "{r}": {e}') from None
