"""What a dump does not say, inferred from what it does — and noted, so that ``inspect`` can say from what.

A hand-written scenario states its cluster in a kind ``Cluster`` config and the ``Scenario`` document; a
``kubectl get`` dump of a real cluster states none of it, but its objects carry the facts:

- the service CIDR: kube-apiserver's ``--service-cluster-ip-range`` when its pod is in the dump; else the
  smallest well-known range that holds every ClusterIP (kind's 10.96.0.0/16, kubeadm's 10.96.0.0/12, k3s's
  10.43.0.0/16, EKS's 10.100.0.0/16 and 172.20.0.0/16, AKS's 10.0.0.0/16, MicroK8s's 10.152.183.0/24,
  OpenShift's 172.30.0.0/16); else the tightest prefix that
  holds them, no wider than the /12 kube-apiserver accepts for IPv4;
- the pod CIDR: kube-controller-manager's ``--cluster-cidr``; else the tightest prefix that holds every
  Node's ``spec.podCIDR`` and every pod address (the default when they fit in it);
- the node network: the tightest prefix (at least a /24) that holds the nodes' InternalIPs; its gateway
  is then unknown (a real cluster's is not in any object);
- the cluster domain: the zone of the ``kubernetes`` plugin in CoreDNS's Corefile;
- kube-proxy's mode: ``mode`` in its ConfigMap, or its ``--proxy-mode`` flag.

Every default applies only where the dump is silent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from k8snetviz.api.config import ClusterConfig
from k8snetviz.api.families import first_ipv4
from k8snetviz.api.notes import Notes, is_observed
from k8snetviz.scenario.loader import Manifest, Scenario

__all__ = ["infer_config", "covering", "WELL_KNOWN_SERVICE_CIDRS", "command_flag", "MAX_SERVICE_PREFIX",
           "node_addresses", "observed_pod_ips", "ovn_node_subnet",
           "cilium_node_cidr"]

# kube-apiserver refuses an IPv4 service CIDR wider than a /12 (cmd/kube-apiserver/app/options/validation.go:
# "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12").
MAX_SERVICE_PREFIX = 12
WELL_KNOWN_SERVICE_CIDRS = tuple(IPv4Network(n) for n in (
    "10.96.0.0/16",   # kind
    "10.43.0.0/16",   # k3s, k3d, RKE2
    "10.100.0.0/16",  # EKS
    "172.20.0.0/16",  # EKS (when the VPC uses 10.0.0.0/8)
    "10.0.0.0/16",    # AKS
    "10.152.183.0/24",  # MicroK8s (the snap's kube-apiserver args: --service-cluster-ip-range=10.152.183.0/24)
    "172.30.0.0/16",  # OpenShift (install-config serviceNetwork default)
    "10.96.0.0/12",   # kubeadm, minikube, k0s
))


def covering(addresses: Iterable[IPv4Address | IPv4Network]) -> IPv4Network | None:
    """The smallest network that holds every address (or network) given; None for none."""
    lo = hi = None
    for a in addresses:
        first, last = (a.network_address, a.broadcast_address) if isinstance(a, IPv4Network) else (a, a)
        lo = first if lo is None or first < lo else lo
        hi = last if hi is None or last > hi else hi
    if lo is None or hi is None:
        return None
    prefix = 32 - (int(lo) ^ int(hi)).bit_length()
    return IPv4Network(f"{lo}/{prefix}", strict=False)


def command_flag(body: dict[str, Any], flag: str) -> str | None:
    """The value of ``--flag=value`` (or ``--flag value``) in a pod's or pod template's containers."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return None
    if isinstance(spec.get("template"), dict):
        spec = spec["template"].get("spec")
        if not isinstance(spec, dict):
            return None
    for c in spec.get("containers") or []:
        if not isinstance(c, dict):
            continue
        words = [w for part in ("command", "args") for w in (c.get(part) or []) if isinstance(w, str)]
        for i, w in enumerate(words):
            if w.startswith(f"--{flag}="):
                return w.split("=", 1)[1]
            if w == f"--{flag}" and i + 1 < len(words):
                return words[i + 1]
    return None


def _system(scenario: Scenario, component: str) -> Manifest | None:
    """A control-plane static pod (``kube-apiserver-<node>``) of the dump."""
    for m in scenario.of_kind("Pod"):
        labels = m.metadata.get("labels")
        if m.namespace == "kube-system" and isinstance(labels, dict) and labels.get("component") == component:
            return m
    for m in scenario.of_kind("Pod"):
        if m.namespace == "kube-system" and m.name.startswith(f"{component}-"):
            return m
    return None


def _ip(value: Any) -> IPv4Address | None:
    try:
        return IPv4Address(str(value))
    except ValueError:
        return None


def _net(value: Any) -> IPv4Network | None:
    # A dual-stack cluster's flags list one range per family, either first (kube-apiserver's
    # --service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112): the model's is the IPv4 one.
    four = first_ipv4(str(value))
    try:
        return IPv4Network(four, strict=False) if four else None
    except ValueError:
        return None


def _cluster_ips(scenario: Scenario) -> list[tuple[Manifest, IPv4Address]]:
    out = []
    for m in scenario.of_kind("Service"):
        spec = m.body.get("spec")
        if not isinstance(spec, dict):
            continue
        listed = spec.get("clusterIPs")
        ips: list[Any] = listed if isinstance(listed, list) else [spec.get("clusterIP")]
        for v in ips:
            a = _ip(v) if isinstance(v, str) else None
            if a is not None:
                out.append((m, a))
    return out


def _service_cidr(scenario: Scenario, cfg: ClusterConfig, notes: Notes) -> None:
    apiserver = _system(scenario, "kube-apiserver")
    if apiserver is not None:
        flag = command_flag(apiserver.body, "service-cluster-ip-range")
        net = _net(flag) if flag else None
        if net is not None:
            if net != cfg.service_subnet:
                cfg.service_subnet = net
                cfg.dns_service_ip = net.network_address + 10
            notes.infer("service CIDR", str(net), f"--service-cluster-ip-range of pod kube-system/{apiserver.name}")
            return
    ips = _cluster_ips(scenario)
    # kube-apiserver writes its --service-cluster-ip-range as the ServiceCIDR named "kubernetes" (networking.k8s.io/v1,
    # kubernetes.io "Extend Service IP Ranges"); more ServiceCIDRs extend it, and then the addresses decide.
    default = next((m for m in scenario.of_kind("ServiceCIDR") if m.name == "kubernetes"), None)
    spec = default.body.get("spec") if default is not None else None
    four = first_ipv4(spec.get("cidrs")) if isinstance(spec, dict) else None
    net = _net(four) if four else None
    if net is not None and all(a in net for _, a in ips):
        if net != cfg.service_subnet:
            _set_service_cidr(cfg, notes, net, "the ServiceCIDR named kubernetes (kube-apiserver's "
                              "--service-cluster-ip-range)")
        return
    if not ips or all(a in cfg.service_subnet for _, a in ips):
        return
    kubernetes = next((a for m, a in ips if m.namespace in (None, "default") and m.name == "kubernetes"), None)
    for net in WELL_KNOWN_SERVICE_CIDRS:
        if all(a in net for _, a in ips) and (kubernetes is None or kubernetes == net.network_address + 1):
            _set_service_cidr(cfg, notes, net, f"the smallest well-known range that holds every ClusterIP "
                              f"({len(ips)})")
            return
    # default/kubernetes holds the first address of the range: the range starts just below it.
    net = covering([a for _, a in ips] + ([kubernetes - 1] if kubernetes is not None else []))
    if net is not None and net.prefixlen >= MAX_SERVICE_PREFIX:
        _set_service_cidr(cfg, notes, net, f"the tightest prefix that holds every ClusterIP ({len(ips)})")
    # Wider than kube-apiserver allows: no range explains the addresses; the Service that lies outside the
    # default range is refused by the allocator, in the API server's words.


def _set_service_cidr(cfg: ClusterConfig, notes: Notes, net: IPv4Network, source: str) -> None:
    cfg.service_subnet = net
    cfg.dns_service_ip = net.network_address + 10
    notes.infer("service CIDR", str(net), source)


def _node_pod_cidrs(scenario: Scenario) -> list[IPv4Network]:
    out = []
    for m in scenario.of_kind("Node"):
        spec = m.body.get("spec")
        if isinstance(spec, dict):
            cidrs = [spec.get("podCIDR")] + list(spec.get("podCIDRs") or [] if isinstance(spec.get("podCIDRs"),
                                                                                        list) else [])
            if not any(isinstance(c, str) and "." in c for c in cidrs):
                cidrs.append(ovn_node_subnet(m.metadata.get("annotations")) or
                             cilium_node_cidr(scenario, m.name))
            for c in cidrs:
                n = _net(c) if isinstance(c, str) and "." in c else None
                if n is not None:
                    out.append(n)
    return out


def cilium_node_cidr(scenario: Scenario, node: str) -> str | None:
    """The node's IPv4 pod CIDR in its CiliumNode (cilium.io/v2): Cilium's default cluster-pool IPAM hands each
    node its ranges there, in ``spec.ipam.podCIDRs``, not in the Node's ``spec.podCIDR`` (Cilium docs, "Cluster
    Scope (Default)" IPAM)."""
    for m in scenario.of_kind("CiliumNode"):
        spec = m.body.get("spec")
        ipam = spec.get("ipam") if isinstance(spec, dict) and m.name == node else None
        if isinstance(ipam, dict):
            return first_ipv4(ipam.get("podCIDRs"))
    return None


def ovn_node_subnet(annotations: Any) -> str | None:
    """The node's IPv4 subnet in OVN-Kubernetes' ``k8s.ovn.org/node-subnets`` annotation: JSON, one entry per
    network, a list of CIDRs (``{"default":["10.128.2.0/23"]}``) or, in older releases, one CIDR text."""
    if not isinstance(annotations, dict):
        return None
    raw = annotations.get("k8s.ovn.org/node-subnets")
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    subnets = value.get("default") if isinstance(value, dict) else None
    return first_ipv4([subnets] if isinstance(subnets, str) else subnets)


def observed_pod_ips(scenario: Scenario) -> list[IPv4Address]:
    """The addresses of the dump's pods that have one of their own (not hostNetwork)."""
    out = []
    for m in scenario.of_kind("Pod"):
        spec, status = m.body.get("spec"), m.body.get("status")
        if isinstance(spec, dict) and spec.get("hostNetwork") is True:
            continue
        if isinstance(status, dict):
            a = _ip(status.get("podIP")) if isinstance(status.get("podIP"), str) else None
            if a is not None:
                out.append(a)
    return out


def _pod_cidr(scenario: Scenario, cfg: ClusterConfig, notes: Notes) -> None:
    kcm = _system(scenario, "kube-controller-manager")
    if kcm is not None:
        flag = command_flag(kcm.body, "cluster-cidr")
        net = _net(flag) if flag else None
        if net is not None:
            cfg.pod_subnet = net
            notes.infer("pod CIDR", str(net), f"--cluster-cidr of pod kube-system/{kcm.name}")
            return
    seen: list[IPv4Address | IPv4Network] = [*_node_pod_cidrs(scenario), *observed_pod_ips(scenario)]
    if not seen or all((s.subnet_of(cfg.pod_subnet) if isinstance(s, IPv4Network) else s in cfg.pod_subnet)
                       for s in seen):
        return
    net = covering(seen)
    assert net is not None
    if net.prefixlen > 16:
        net = net.supernet(new_prefix=16)
    cfg.pod_subnet = net
    notes.infer("pod CIDR", str(net), "the tightest prefix (at least a /16) that holds every node's podCIDR and "
                "every pod address")


def node_addresses(scenario: Scenario) -> list[IPv4Address]:
    """The InternalIPs the dump's Nodes report, and the hostIPs of its pods on nodes it does not list."""
    out = []
    for m in scenario.of_kind("Node"):
        status = m.body.get("status")
        addresses = [a for a in (status.get("addresses") or []) if isinstance(a, dict)] \
            if isinstance(status, dict) else []
        for a in [a for a in addresses if a.get("type") == "InternalIP"] or \
                [a for a in addresses if a.get("type") == "ExternalIP"]:
            ip = _ip(a.get("address"))
            if ip is not None:
                out.append(ip)
                break
    # The hostIPs of pods on nodes the dump does not list (all of them when it has no Node).
    listed = {m.name for m in scenario.of_kind("Node")}
    for m in scenario.of_kind("Pod"):
        status, spec = m.body.get("status"), m.body.get("spec")
        if isinstance(spec, dict) and spec.get("nodeName") in listed:
            continue
        ip = _ip(status.get("hostIP")) if isinstance(status, dict) and status.get("hostIP") else None
        if ip is not None:
            out.append(ip)
    return out


def _node_network(scenario: Scenario, cfg: ClusterConfig, notes: Notes) -> None:
    ips = node_addresses(scenario)
    nodes = scenario.of_kind("Node")
    if not ips or all(a in cfg.node_network for a in ips) or (nodes and len(ips) < len(nodes)):
        return  # a node to be given an address on the (default) node network keeps that network
    net = covering(ips)
    assert net is not None
    if net.prefixlen > 24:
        net = net.supernet(new_prefix=24)
    cfg.node_network = net
    cfg.gateway_known = False
    notes.infer("node network", str(net), f"the tightest prefix (at least a /24) that holds the {len(set(ips))} "
                "node addresses; the default gateway is unknown (no object records it)")
    # The outside client sits on the node network, at its last usable address not taken by a node.
    if "client" in cfg.external_clients and cfg.external_clients["client"] not in net:
        taken = set(ips)
        candidate = net.broadcast_address - 1
        while candidate in taken and candidate > net.network_address + 1:
            candidate -= 1
        cfg.external_clients["client"] = candidate


_KUBERNETES_PLUGIN = re.compile(r"^\s*kubernetes\s+([^\s{]+)", re.MULTILINE)


def _cluster_domain(scenario: Scenario, cfg: ClusterConfig, notes: Notes) -> None:
    for m in scenario.of_kind("ConfigMap"):
        if m.namespace == "kube-system" and m.name in ("coredns", "coredns-custom", "rke2-coredns-rke2-coredns"):
            data = m.body.get("data")
            corefile = data.get("Corefile") if isinstance(data, dict) else None
            if isinstance(corefile, str):
                found = _KUBERNETES_PLUGIN.search(corefile)
                if found and found.group(1).rstrip(".") != cfg.cluster_domain:
                    cfg.cluster_domain = found.group(1).rstrip(".")
                    notes.infer("cluster domain", cfg.cluster_domain, f"the Corefile in ConfigMap kube-system/{m.name}")
                return


_MODE = re.compile(r"^mode:\s*\"?([A-Za-z]*)\"?\s*$", re.MULTILINE)


def _kube_proxy_mode(scenario: Scenario, cfg: ClusterConfig, notes: Notes) -> None:
    mode, source = None, ""
    for m in scenario.of_kind("ConfigMap"):
        if m.namespace == "kube-system" and m.name == "kube-proxy":
            data = m.body.get("data")
            conf = data.get("config.conf") if isinstance(data, dict) else None
            found = _MODE.search(conf) if isinstance(conf, str) else None
            if found:
                mode, source = found.group(1) or "iptables", "ConfigMap kube-system/kube-proxy"
    if mode is None:
        for m in scenario.of_kind("DaemonSet", "Pod"):
            if m.namespace == "kube-system" and m.name.startswith("kube-proxy"):
                flag = command_flag(m.body, "proxy-mode")
                if flag is not None:
                    mode, source = flag or "iptables", f"--proxy-mode of {m.kind} kube-system/{m.name}"
                    break
    if mode is None:
        return
    notes.infer("kube-proxy mode", mode, source)
    if mode != "iptables":
        notes.approximate(f"kube-proxy runs in {mode} mode; the model writes its iptables-mode rules (the same "
                          "choice of endpoints and NAT, other tables and devices)")


def infer_config(scenario: Scenario, cfg: ClusterConfig, notes: Notes) -> None:
    """Complete ``cfg`` from what the scenario's objects show, where its settings are silent."""
    kind_net: dict[str, Any] = {}
    for m in scenario.of_kind("Cluster"):
        net = m.body.get("networking")
        if isinstance(net, dict):
            kind_net.update(net)
    if "serviceSubnet" not in kind_net:
        _service_cidr(scenario, cfg, notes)
    if "podSubnet" not in kind_net:
        _pod_cidr(scenario, cfg, notes)
    scenario_spec: dict[str, Any] = {}
    for m in scenario.of_kind("Scenario"):
        spec = m.body.get("spec")
        if isinstance(spec, dict):
            scenario_spec.update(spec)
    if "nodeNetwork" not in scenario_spec:
        _node_network(scenario, cfg, notes)
    if "clusterDomain" not in scenario_spec:
        _cluster_domain(scenario, cfg, notes)
    if "kubeProxyMode" not in kind_net:
        _kube_proxy_mode(scenario, cfg, notes)
    _node_port_range(scenario, cfg, notes)


def _port_range(value: str) -> tuple[int, int] | None:
    """``--service-node-port-range``: ``A-B``, ``A+N`` or one port (apimachinery's net.ParsePortRange)."""
    value = value.strip()
    try:
        if "-" in value:
            lo, hi = (int(x) for x in value.split("-", 1))
        elif "+" in value:
            lo, n = (int(x) for x in value.split("+", 1))
            hi = lo + n
        else:
            lo = hi = int(value)
    except ValueError:
        return None
    return (lo, hi) if 0 < lo <= hi <= 65535 else None


def _node_port_range(scenario: Scenario, cfg: ClusterConfig, notes: Notes) -> None:
    """kube-apiserver's ``--service-node-port-range`` when its pod is in the dump; else, when the dump's Services hold
    node ports outside the default 30000-32767 (a cluster started with a wider range: k3s and k3d users' 80-32767),
    the smallest range that holds the default and them."""
    apiserver = _system(scenario, "kube-apiserver")
    flag = command_flag(apiserver.body, "service-node-port-range") if apiserver is not None else None
    given = _port_range(flag) if flag else None
    if given is not None:
        cfg.node_port_range = f"{given[0]}-{given[1]}"
        notes.infer("node port range", cfg.node_port_range,
                    f"--service-node-port-range of pod kube-system/{apiserver.name if apiserver else ''}")
        return
    lo, hi = (int(x) for x in cfg.node_port_range.split("-"))
    ports = []
    for m in scenario.of_kind("Service"):
        spec = m.body.get("spec")
        if not is_observed(m.body) or not isinstance(spec, dict):
            continue
        ports += [p["nodePort"] for p in spec.get("ports") or [] if isinstance(p, dict)
                  and isinstance(p.get("nodePort"), int) and not isinstance(p.get("nodePort"), bool)
                  and 0 < p["nodePort"] <= 65535]
    outside = [p for p in ports if not lo <= p <= hi]
    if outside:
        cfg.node_port_range = f"{min([lo, *outside])}-{max([hi, *outside])}"
        notes.infer("node port range", cfg.node_port_range, f"{len(outside)} node ports of the dump's Services lie "
                    f"outside the default {lo}-{hi} (e.g. {outside[0]}): the API server was started with a wider "
                    "--service-node-port-range")
