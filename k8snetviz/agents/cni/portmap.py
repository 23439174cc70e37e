"""The CNI ``portmap`` plugin (its iptables backend): a pod's ``hostPort`` s as DNAT rules on its node.

The container runtime passes every container port with a ``hostPort`` to the chained plugins as the
``portMappings`` capability (``runtimeConfig``); portmap then makes, in the node's ``nat`` table
(containernetworking/plugins ``plugins/meta/portmap/portmap_iptables.go``, ``forwardPorts``):

- ``CNI-HOSTPORT-MASQ``, entered from POSTROUTING (inserted first: "otherwise it is stomped on by the
  masquerading rules created by the CNI ptp and bridge plugins"): masquerade what carries the 0x2000 mark;
- ``CNI-HOSTPORT-SETMARK``: set that mark (bit 13, ``markMasqBit``'s default);
- ``net.ipv4.conf.<host device>.route_localnet = 1`` on the device the node reaches the pod through,
  "so that 127/8 can cross a routing boundary";
- ``CNI-HOSTPORT-DNAT``, entered from PREROUTING and OUTPUT for ``--dst-type LOCAL``, with one
  multiport rule per protocol jumping to the pod's ``CNI-DN-<hash>`` chain, whose rules per mapping
  mark hairpin (from the pod's own subnet) and localhost traffic, then DNAT to the pod.

Chains and entry rules are created only when missing and rules added only when absent (``insertUnique``),
so the shared chains serve every pod of the node.

>>> dnat_chain_name("testNetName", "icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7"
...                 "shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y")
'CNI-DN-bfd599665540dd91d5d28'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from ipaddress import IPv4Interface, ip_address
from typing import Any

from k8snetviz.agents.writes import IptablesCall, Owner, Sysctl, Write
from k8snetviz.api.objects import Pod

__all__ = [
    "TOP_LEVEL_DNAT_CHAIN",
    "SETMARK_CHAIN",
    "MARK_MASQ_CHAIN",
    "DEFAULT_MARK_BIT",
    "PortMapping",
    "dnat_chain_name",
    "port_mappings",
    "runtime_config",
    "dnat_rules",
    "dnat_entry_rules",
    "portmap_writes",
]

TOP_LEVEL_DNAT_CHAIN = "CNI-HOSTPORT-DNAT"
SETMARK_CHAIN = "CNI-HOSTPORT-SETMARK"
MARK_MASQ_CHAIN = "CNI-HOSTPORT-MASQ"
DEFAULT_MARK_BIT = 13
_MAX_CHAIN_LENGTH = 28  # pkg/utils: iptables chain names are at most 28 characters
_MULTIPORT_MAX = 15  # -m multiport takes at most 15 ports


@dataclass(frozen=True)
class PortMapping:
    """One entry of ``runtimeConfig.portMappings``, as the runtime hands it over."""

    host_port: int
    container_port: int
    protocol: str  # tcp | udp | sctp
    host_ip: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"hostPort": self.host_port, "containerPort": self.container_port, "protocol": self.protocol,
                "hostIP": self.host_ip}


def dnat_chain_name(net_name: str, container_id: str) -> str:
    """``CNI-DN-`` and the SHA-512 of network name + container ID, cut to 28 characters
    (``utils.MustFormatChainNameWithPrefix``)."""
    return ("CNI-DN-" + hashlib.sha512((net_name + container_id).encode()).hexdigest())[:_MAX_CHAIN_LENGTH]


def port_mappings(pod: Pod) -> list[PortMapping]:
    """The mappings containerd's CRI passes for ``pod``: each container port with a hostPort, protocol
    in lower case (none for a hostNetwork pod, whose sandbox gets no CNI call)."""
    if pod.host_network:
        return []
    return [PortMapping(p.host_port, p.container_port, p.protocol.lower(), p.host_ip or "")
            for p in pod.ports if p.host_port]


def runtime_config(pod: Pod) -> dict[str, Any]:
    """``runtimeConfig`` for the portmap plugin of ``pod``'s CNI call."""
    return {"portMappings": [m.to_dict() for m in port_mappings(pod)]}


def _mark(bit: int) -> str:
    v = 1 << bit
    return f"{v:#x}/{v:#x}"


def dnat_rules(mappings: list[PortMapping], pod_address: IPv4Interface, snat: bool = True,
               set_mark_chain: str = SETMARK_CHAIN) -> list[list[str]]:
    """The rules of a pod's ``CNI-DN-`` chain, as ``fillDnatRules`` writes them for an IPv4 pod: per mapping
    (of the pod's family), mark hairpin traffic from the pod's subnet and traffic from 127.0.0.1, then DNAT
    ("the ordering is important here; the mark rules must be first")."""
    container_net = f"{pod_address.ip}/{pod_address.network.prefixlen}"
    out: list[list[str]] = []
    for m in mappings:
        if m.host_ip and ip_address(m.host_ip).version != 4:
            continue  # a mapping of the other family
        base = ["-p", m.protocol, "--dport", str(m.host_port)]
        if m.host_ip and not ip_address(m.host_ip).is_unspecified:
            base += ["-d", m.host_ip]
        if snat:
            out.append([*base, "-s", container_net, "-j", set_mark_chain])  # hairpin
            out.append([*base, "-s", "127.0.0.1", "-j", set_mark_chain])  # localhost
        out.append([*base, "-j", "DNAT", "--to-destination", f"{pod_address.ip}:{m.container_port}"])
    return out


def dnat_entry_rules(mappings: list[PortMapping], net_name: str, container_id: str) -> list[list[str]]:
    """The rules in ``CNI-HOSTPORT-DNAT`` that send a pod's host ports to its chain: one multiport rule per
    protocol (in name order) and per 15 ports, every mapping's port included."""
    comment = f'dnat name: "{net_name}" id: "{container_id}"'
    if len(comment) > 255:
        comment = comment[:253] + "..."
    by_proto: dict[str, list[str]] = {}
    for m in mappings:
        by_proto.setdefault(m.protocol, []).append(str(m.host_port))
    out = []
    for proto in sorted(by_proto):
        ports = by_proto[proto]
        for i in range(0, len(ports), _MULTIPORT_MAX):
            out.append(["-m", "comment", "--comment", comment, "-m", "multiport", "-p", proto,
                        "--destination-ports", ",".join(ports[i:i + _MULTIPORT_MAX])])
    return out


def portmap_writes(pod: Pod, net_name: str, container_id: str, pod_address: IPv4Interface, host_if: str,
                   node_ns: str, mark_bit: int = DEFAULT_MARK_BIT) -> list[Write]:
    """What portmap's ADD does on the node for ``pod`` (nothing without hostPorts), with ``snat`` on
    (the default) and the mark bit given; ``pod_address`` is the IP and mask of the previous result."""
    mappings = port_mappings(pod)
    if not mappings:
        return []
    owner = Owner("kubelet/portmap", pod.node_name, f"Pod {pod.key}", (),
                  "hostPort " + ", ".join(f"{m.host_port}/{m.protocol.upper()} -> {m.container_port}"
                                          for m in mappings))
    shared = Owner("kubelet/portmap", pod.node_name, None, (), "portmap's chains for every hostPort on the node")
    mark = _mark(mark_bit)
    out: list[Write] = []

    def call(op: str, chain: str, *args: str, who: Owner = shared) -> None:
        out.append(IptablesCall(node_ns, "nat", op, chain, tuple(args), who))

    # genMarkMasqChain, then genSetMarkChain
    call("-N", MARK_MASQ_CHAIN)
    call("-A", MARK_MASQ_CHAIN, "-m", "mark", "--mark", mark, "-j", "MASQUERADE")
    call("-I", "POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j",
         MARK_MASQ_CHAIN)
    call("-N", SETMARK_CHAIN)
    call("-A", SETMARK_CHAIN, "-m", "comment", "--comment", "CNI portfwd masquerade mark", "-j", "MARK",
         "--set-xmark", mark)
    out.append(Sysctl(node_ns, f"net.ipv4.conf.{host_if}.route_localnet", "1", Owner(
        "kubelet/portmap", pod.node_name, f"Pod {pod.key}", (),
        f"so that 127.0.0.0/8 can cross the routing boundary to the pod on {host_if} (localhost hostPorts)")))
    # genToplevelDnatChain
    call("-N", TOP_LEVEL_DNAT_CHAIN)
    for entry in ("PREROUTING", "OUTPUT"):
        call("-A", entry, "-m", "addrtype", "--dst-type", "LOCAL", "-j", TOP_LEVEL_DNAT_CHAIN)
    # genDnatChain + fillDnatRules
    chain = dnat_chain_name(net_name, container_id)
    call("-N", chain, who=owner)
    for rule in dnat_rules(mappings, pod_address):
        call("-A", chain, *rule, who=owner)
    for rule in dnat_entry_rules(mappings, net_name, container_id):
        call("-A", TOP_LEVEL_DNAT_CHAIN, *rule, "-j", chain, who=owner)
    return out
