"""Nodes as the API server holds them: decoded from the scenario, completed where it is silent.

What a Node manifest says is honoured (name, labels, taints, ``spec.podCIDR``, the ``InternalIP``);
what it leaves out is filled in as a kind cluster has it: node addresses handed out on the node
network in order, and each node's podCIDR the next free block of the pod subnet, as
kube-controller-manager's node IPAM does (``--allocate-node-cidrs``, ``--node-cidr-mask-size`` 24).
A scenario without Nodes gets kind's: ``kind-control-plane``, ``kind-worker``, ``kind-worker2``.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from k8snetviz.api.config import ClusterConfig
from k8snetviz.api.inference import cilium_node_cidr, ovn_node_subnet
from k8snetviz.api.notes import Notes, is_observed
from k8snetviz.api.objects import Node
from k8snetviz.errors import FieldError, InvalidObject, K8sNetVizError
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["build_nodes", "CONTROL_PLANE_TAINT", "MAX_NODES"]

# Kubernetes' scalability thresholds (kubernetes.io "Considerations for large clusters": at most 5,000 nodes).
MAX_NODES = 5000
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



def _inferred_specs(scenario: Scenario) -> list[tuple[str, str, None]]:
    """Nodes named by the pods of a dump that has no Node objects (``kubectl get pods -A -o yaml``)."""
    names: dict[str, str] = {}
    for m in scenario.of_kind("Pod"):
        spec = m.body.get("spec")
        node = spec.get("nodeName") if isinstance(spec, dict) else None
        if isinstance(node, str) and node and is_observed(m.body):
            role = names.get(node, "worker")
            labels = m.metadata.get("labels")
            if m.namespace == "kube-system" and isinstance(labels, dict) and labels.get("tier") == "control-plane":
                role = "control-plane"
            names[node] = role
    return [(n, r, None) for n, r in names.items()]


def _observed_pods(scenario: Scenario) -> dict[str, list[tuple[IPv4Address, IPv4Address | None, bool]]]:
    """Per node name: each observed pod's (podIP, hostIP, hostNetwork) as the dump reports them."""
    out: dict[str, list[tuple[IPv4Address, IPv4Address | None, bool]]] = {}
    for m in scenario.of_kind("Pod"):
        spec, status = m.body.get("spec"), m.body.get("status")
        if not (isinstance(spec, dict) and isinstance(status, dict) and is_observed(m.body)):
            continue
        node = spec.get("nodeName")
        if not isinstance(node, str) or status.get("phase") in ("Succeeded", "Failed"):
            continue
        ip, host = _addr(status.get("podIP")), _addr(status.get("hostIP"))
        if ip is not None:
            out.setdefault(node, []).append((ip, host, spec.get("hostNetwork") is True))
    return out


def _addr(value: Any) -> IPv4Address | None:
    if not isinstance(value, str):
        return None
    try:
        return IPv4Address(value)
    except ValueError:
        return None


def _blocks_of(ips: list[IPv4Address], others: set[IPv4Network], prefix: int) -> list[IPv4Network]:
    """The /prefix blocks that hold ``ips``, or /32s where a block would hold another node's pods."""
    out: list[IPv4Network] = []
    for ip in ips:
        block = IPv4Network(f"{ip}/{prefix}", strict=False)
        if block in others:
            block = IPv4Network(f"{ip}/32")
        if block not in out:
            out.append(block)
    return out


def build_nodes(scenario: Scenario, cfg: ClusterConfig, notes: Notes | None = None) -> dict[str, Node]:
    notes = notes if notes is not None else Notes()
    given = scenario.of_kind("Node")
    specs: list[tuple[str, str, Manifest | None]] = []
    inferred = False
    missing: list[str] = []
    if given:
        for doc in given:
            labels = doc.metadata.get("labels") or {}
            role = "control-plane" if "node-role.kubernetes.io/control-plane" in labels or \
                "node-role.kubernetes.io/master" in labels else "worker"
            specs.append((doc.name, role, doc))
        # Pods read back from a cluster run on the nodes they name, even when the dump's Node list lacks them
        # (nodes listed at another time, one node pool's nodes, a must-gather of some nodes): those nodes are
        # inferred from the pods, as for a dump without Nodes.
        names = {doc.name for doc in given}
        extra = [s for s in _inferred_specs(scenario) if s[0] not in names]
        specs += extra
        missing = [n for n, _, _ in extra]
    else:
        specs = list(_inferred_specs(scenario))
        inferred = bool(specs)
        if not specs:
            specs = [(n, r, None) for n, r in _node_names(cfg)]
    seen: set[str] = set()
    for name, _, given_m in specs:
        if not name:
            raise InvalidObject("Node", "", [FieldError.required("metadata.name", "name or generateName is required")])
        if name in seen:
            raise K8sNetVizError(f'nodes "{name}" already exists' + (f" ({given_m.where})" if given_m else ""))
        seen.add(name)
    if len(specs) > MAX_NODES:
        raise K8sNetVizError(f"too large to model: {len(specs)} nodes (the limit is {MAX_NODES}, Kubernetes' own "
                             "scalability threshold)")

    # Honour what is written first, then hand out the rest in order.
    ips: dict[str, IPv4Address] = {}
    cidrs: dict[str, IPv4Network] = {}
    ovn: list[str] = []
    cilium: list[str] = []
    external: list[str] = []
    for name, _, m in specs:
        if m is None:
            continue
        status = m.body.get("status") or {}
        # The node's IP is its first InternalIP, else its first ExternalIP (component-helpers node/util
        # GetNodeHostIPs: "InternalIP addresses ... are preferred over ExternalIP").
        for want in ("InternalIP", "ExternalIP"):
            for i, a in enumerate(status.get("addresses") or []):
                if a.get("type") == want:
                    try:
                        ips[name] = IPv4Address(str(a.get("address")))
                    except ValueError:
                        raise InvalidObject("Node", name, [FieldError.invalid(
                            f"status.addresses[{i}].address", a.get("address"),
                            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]) from None
                    if want == "ExternalIP":
                        external.append(name)
                    break
            if name in ips:
                break
        if name not in ips and is_observed(m.body) and status:
            # The kubelet reports its node's addresses; a node read back from a cluster without one is broken.
            raise InvalidObject("Node", name, [FieldError.required(
                "status.addresses", "the node reports no InternalIP address")])
        spec = m.body.get("spec") or {}
        pod_cidr = spec.get("podCIDR")
        if pod_cidr is None:
            pod_cidr = next((c for c in spec.get("podCIDRs") or [] if "." in str(c)), None)
        if pod_cidr is None and is_observed(m.body):
            pod_cidr = ovn_node_subnet(m.metadata.get("annotations"))
            if pod_cidr is not None:
                ovn.append(f"{name}: {pod_cidr}")
            else:
                pod_cidr = cilium_node_cidr(scenario, name)
                if pod_cidr is not None:
                    cilium.append(f"{name}: {pod_cidr}")
        if pod_cidr is not None:
            try:
                cidrs[name] = IPv4Network(str(pod_cidr), strict=True)
            except ValueError:
                raise InvalidObject("Node", name, [FieldError.invalid(
                    "spec.podCIDR", pod_cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]) \
                    from None
    _check_overlaps(cidrs)
    if external:
        notes.infer("node addresses", ", ".join(f"{n}: {ips[n]}" for n in external[:4]),
                    "the nodes' ExternalIP (they report no InternalIP)")
    if cilium:
        notes.infer("podCIDR", "; ".join(cilium[:4]) + ("; …" if len(cilium) > 4 else ""),
                    "the nodes' CiliumNode spec.ipam.podCIDRs (Cilium's cluster-pool IPAM; the Node has no "
                    "spec.podCIDR)")
    if ovn:
        notes.infer("podCIDR", "; ".join(ovn[:4]) + ("; …" if len(ovn) > 4 else ""),
                    "the k8s.ovn.org/node-subnets annotation (OVN-Kubernetes allocates each node's subnet itself; "
                    "the Node has no spec.podCIDR)")
    observed = _observed_pods(scenario)
    if inferred or missing:
        for name, _, _ in specs:
            if name in ips or not (inferred or name in missing):
                continue
            hosts = [h for _, h, _ in observed.get(name, []) if h is not None and h not in ips.values()]
            hosts += [ip for ip, _, host_net in observed.get(name, []) if host_net and ip not in ips.values()]
            if hosts:
                ips[name] = hosts[0]
    if inferred:
        notes.infer("nodes", ", ".join(n for n, _, _ in specs[:5]) + (", …" if len(specs) > 5 else ""),
                    f"the dump has no Node: {len(specs)} nodes from the pods' spec.nodeName and status.hostIP")
    if missing:
        notes.infer("missing nodes", ", ".join(missing[:5]) + (", …" if len(missing) > 5 else ""),
                    f"{len(missing)} nodes that pods of the dump run on (spec.nodeName, status.hostIP) are not among "
                    f"its {len(given)} Nodes")
    # A dump's pods may hold addresses outside their node's podCIDR (the CNI's own IPAM: Calico's /26 blocks,
    # a VPC's addresses), or their nodes may have no podCIDR at all: infer the ranges from the addresses.
    own: dict[str, list[IPv4Address]] = {n: [ip for ip, _, host_net in observed.get(n, []) if not host_net]
                                         for n, _, _ in specs}
    blocks: dict[str, list[IPv4Network]] = {}
    if any(own.values()):
        _infer_pod_ranges(specs, own, cidrs, blocks, notes, set(ips.values()))
    used_ips = set(ips.values())
    host = 2
    written = list(cidrs.values()) + [b for bs in blocks.values() for b in bs]
    free_cidrs = _free_blocks(cfg.pod_subnet, written, cfg.node_network)
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
            taints = [dict(CONTROL_PLANE_TAINT)] if role == "control-plane" and has_workers and not inferred else []
        if role == "control-plane":
            labels.setdefault("node-role.kubernetes.io/control-plane", "")
            if m is None and not inferred:
                # kubeadm labels control-plane nodes so that cloud load balancers leave them out.
                labels.setdefault("node.kubernetes.io/exclude-from-external-load-balancers", "")
        nodes[name] = Node(name, role, ips[name], cidrs[name], labels, taints, m.body if m else {},
                           blocks.get(name, []))
    return nodes


def _free_blocks(pod_subnet: IPv4Network, written: list[IPv4Network],
                 node_network: IPv4Network) -> Iterator[IPv4Network]:
    """The pod subnet's free /24s in order, as node IPAM hands them out; where the pod subnet holds the node
    network too (a VPC CNI's pods share the nodes' subnet: EKS, AKS), blocks outside the node network first, so
    that a node without pods is not given the addresses of the nodes' own subnet."""
    prefix = max(24, pod_subnet.prefixlen)
    given: set[IPv4Network] = set()
    passes = (True, False) if pod_subnet.overlaps(node_network) else (False,)
    for avoid in passes:
        for c in pod_subnet.subnets(new_prefix=prefix):
            if c in given or any(c.overlaps(x) for x in written) or (avoid and c.overlaps(node_network)):
                continue
            given.add(c)
            yield c


def _infer_pod_ranges(specs: list[tuple[str, str, Manifest | None]], own: dict[str, list[IPv4Address]],
                      cidrs: dict[str, IPv4Network], blocks: dict[str, list[IPv4Network]], notes: Notes,
                      node_ips: set[IPv4Address] | None = None) -> None:
    """A node without a podCIDR gets the /24 that holds its pods (when no other node's pods are in it); the pods
    outside their node's podCIDR make IPAM blocks of the node: the /26 that holds them (Calico's block size), or a
    /32 where another node's pods share that /26."""
    def owners(prefix: int) -> dict[IPv4Network, set[str]]:
        out: dict[IPv4Network, set[str]] = {}
        for n, addrs in own.items():
            for ip in addrs:
                out.setdefault(IPv4Network(f"{ip}/{prefix}", strict=False), set()).add(n)
        return out

    by24, by26 = owners(24), owners(26)
    taken = set(cidrs.values())
    chosen = []
    for name, _, _ in specs:
        if name in cidrs or not own[name]:
            continue
        counts: dict[IPv4Network, int] = {}
        for ip in own[name]:
            net = IPv4Network(f"{ip}/24", strict=False)
            counts[net] = counts.get(net, 0) + 1
        best = max(counts, key=lambda n: (counts[n], -int(n.network_address)))
        # A VPC CNI's pods share the nodes' subnet (EKS, AKS): a /24 that holds a node's address is no pod range.
        if by24[best] == {name} and not any(best.overlaps(t) for t in taken) and \
                not any(ip in best for ip in node_ips or ()):
            cidrs[name] = best
            taken.add(best)
            chosen.append(f"{name}: {best}")
    if chosen:
        notes.infer("podCIDR", "; ".join(chosen[:4]) + ("; …" if len(chosen) > 4 else ""),
                    "the /24 that holds the node's pod addresses (the dump gives the node no spec.podCIDR)")
    shared = {b for b, names in by26.items() if len(names) > 1 or any(ip in b for ip in node_ips or ())}
    outside = 0
    for name, _, _ in specs:
        stray = [ip for ip in own[name] if name not in cidrs or ip not in cidrs[name]]
        if stray:
            outside += len(stray)
            blocks[name] = _blocks_of(stray, shared, 26)
    if outside:
        sample = next(f"{n}: {', '.join(map(str, b[:3]))}" for n, b in blocks.items() if b)
        notes.infer("IPAM blocks", f"{sum(len(b) for b in blocks.values())} blocks ({sample})",
                    f"{outside} pod addresses outside their node's podCIDR: the CNI's own IPAM; each node routes "
                    "the /26 that holds its pods (a /32 where nodes share a /26)")


def _check_overlaps(cidrs: dict[str, IPv4Network]) -> None:
    # Sorted by first address, ranges overlap only if one starts before an earlier one ends: one pass
    # for 5,000 nodes; only when some do is every pair compared, to name the pair as listed.
    end = -1
    for first, last in sorted((int(c.network_address), int(c.broadcast_address)) for c in cidrs.values()):
        if first <= end:
            break
        end = max(end, last)
    else:
        return
    items = list(cidrs.items())
    for i, (a, ca) in enumerate(items):
        for b, cb in items[:i]:
            if ca.overlaps(cb):
                raise InvalidObject("Node", a, [FieldError.invalid(
                    "spec.podCIDR", str(ca), f'overlaps with the podCIDR of node "{b}" ({cb})')])
