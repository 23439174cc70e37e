"""Nodes as the API server holds them: decoded from the scenario, completed where it is silent.

What a Node manifest says is honoured (name, labels, taints, ``spec.podCIDR``, the ``InternalIP``);
what it leaves out is filled in as a kind cluster has it: node addresses handed out on the node
network in order, and each node's podCIDR the next free block of the pod subnet, as
kube-controller-manager's node IPAM does (``--allocate-node-cidrs``, ``--node-cidr-mask-size`` 24).
A scenario without Nodes gets kind's: ``kind-control-plane``, ``kind-worker``, ``kind-worker2``.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from k8snetviz.api.config import ClusterConfig
from k8snetviz.api.objects import Node
from k8snetviz.errors import FieldError, InvalidObject, K8sNetVizError
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["build_nodes", "CONTROL_PLANE_TAINT"]

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


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
        for doc in given:
            labels = doc.metadata.get("labels") or {}
            role = "control-plane" if "node-role.kubernetes.io/control-plane" in labels else "worker"
            specs.append((doc.name, role, doc))
    else:
        specs = [(n, r, None) for n, r in _node_names(cfg)]
    seen: set[str] = set()
    for name, _, given_m in specs:
        if not name:
            raise InvalidObject("Node", "", [FieldError.required("metadata.name", "name or generateName is required")])
        if name in seen:
            raise K8sNetVizError(f'nodes "{name}" already exists' + (f" ({given_m.where})" if given_m else ""))
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
