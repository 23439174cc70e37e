"""``calico``: Calico as its manifest (``manifests/calico.yaml``) installs it: calico-node (BIRD and Felix)
on every node, the ``calico`` CNI plugin with ``calico-ipam``.

The defaults are the manifest's (projectcalico/calico ``manifests/calico.yaml`` and calico-node's
``node/pkg/lifecycle/startup/startup.go``, ``configureIPPools``): ``calico_backend: bird``,
``CALICO_IPV4POOL_IPIP=Always``, ``CALICO_IPV4POOL_VXLAN=Never``, ``CALICO_IPV4POOL_CIDR`` commented out,
so the default pool ``default-ipv4-ippool`` takes kubeadm's ``podSubnet`` (kind's 10.244.0.0/16), with
``blockSize`` 26 and ``natOutgoing`` true. (The operator's example ``custom-resources.yaml`` chooses
VXLANCrossSubnet instead: give an IPPool to follow it.) Routes are as Calico before v3.33 programs
them: BIRD owns every cluster route (``proto bird``); from v3.33 Felix writes the IP-in-IP ones
(``proto 80``).

What the model writes, and who writes it:

- **IPAM** (``calico-ipam``): the pool is cut into /26 blocks; a node claims a block when it first
  needs an address, starting at a pseudo-random block seeded by an FNV-32 hash of its name and
  walking on (libcalico-go ``randomBlockGenerator``; the model starts at the hash modulo the number of
  blocks, not at Go's ``math/rand`` draw, so the block differs from a real cluster's while the
  behaviour is the same). Addresses are handed out in order from the start of the block; the
  tunnel address comes first (``calico-node -allocate-tunnel-addrs`` runs at node start).
- **BIRD** (``calico-node/bird``): ``blackhole <own block> proto bird`` for each block affine to the
  node, and for each other node's block ``<block> via <node IP> dev tunl0 proto bird onlink``
  (IP-in-IP), or ``dev eth0`` without encapsulation (BGP only, or CrossSubnet within the subnet).
- **Felix** (``calico-node/felix``): ``tunl0`` up with the tunnel address as a /32 and MTU 1480, or
  ``vxlan.calico`` (VNI 4096, UDP 4789, MTU 1450) with its neighbour and FDB entries and the routes
  ``via <tunnel address> dev vxlan.calico onlink proto 80``; ``net.ipv4.ip_forward``; NetworkPolicy.
- **the CNI plugin** (``kubelet/calico``): a veth whose host end is ``cali`` + the first 11 hex digits
  of SHA-1("<namespace>.<pod>") with MAC ``ee:ee:ee:ee:ee:ee`` and no address, proxy ARP on it, the
  route ``<pod IP> dev caliXXXX scope link``; in the pod the address as a /32, ``169.254.1.1 dev
  eth0 scope link`` and ``default via 169.254.1.1 dev eth0`` (proxy ARP answers for the dummy gateway).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from k8snetviz.agents.cni.base import CNIPlugin, daemonset, host_veth_name, mac_for, node_ns, pod_ns
from k8snetviz.agents.ipam import HostLocalIPAM, PodIPAM
from k8snetviz.agents.writes import (
    AddrAdd,
    FdbAdd,
    IpsetAdd,
    IptablesRestore,
    LinkAdd,
    NeighAdd,
    Owner,
    RouteAdd,
    SharedNeighbours,
    SharedRoutes,
    Sysctl,
    Write,
)
from k8snetviz.api.objects import Node, Pod
from k8snetviz.errors import FieldError, InvalidObject
from k8snetviz.scenario.loader import Scenario

__all__ = [
    "CalicoPlugin",
    "IPPool",
    "BlockIPAM",
    "veth_name",
    "fnv32",
    "IPIP_DEVICE",
    "VXLAN_DEVICE",
    "VXLAN_VNI",
    "VXLAN_PORT",
    "LINK_LOCAL_GATEWAY",
    "HOST_SIDE_MAC",
    "DEFAULT_POOL_NAME",
]

IPIP_DEVICE = "tunl0"  # felix/dataplane/linux/dataplanedefs: IPIPIfaceName
VXLAN_DEVICE = "vxlan.calico"  # VXLANIfaceNameV4
VXLAN_VNI = 4096  # FelixConfiguration vxlanVNI default
VXLAN_PORT = 4789  # FelixConfiguration vxlanPort default
IPIP_OVERHEAD, VXLAN_OVERHEAD = 20, 50  # felix int_dataplane.go: ipipMTUOverhead, vxlanMTUOverhead
LINK_LOCAL_GATEWAY = "169.254.1.1"  # the pod's dummy next hop (cni-plugin dataplane_linux.go)
HOST_SIDE_MAC = "ee:ee:ee:ee:ee:ee"  # hostSideMAC
DEFAULT_POOL_NAME = "default-ipv4-ippool"
DEFAULT_BLOCK_SIZE = 26
_MODES = ("Always", "CrossSubnet", "Never")
BIRD_PROTO = "bird"
FELIX_PROTO = "80"  # felix DefaultRouteProto
CONF_NAME = "k8s-pod-network"


def veth_name(namespace: str, pod: str, prefix: str = "cali") -> str:
    """The host end of a pod's veth: ``cali`` + the first 11 hex digits of SHA-1("<namespace>.<pod>").

    libcalico-go ``VethNameForWorkload`` (lib/backend/k8s/conversion/workload_endpoint_default.go):

    >>> veth_name("default", "nginx")
    'calic440f455693'
    """
    return prefix + hashlib.sha1(f"{namespace}.{pod}".encode()).hexdigest()[:11]


def fnv32(text: str) -> int:
    """FNV-1 32-bit (Go's ``hash/fnv.New32``), the seed of a host's block order.

    >>> hex(fnv32("")), hex(fnv32("a"))
    ('0x811c9dc5', '0x50c5d7e')
    """
    h = 0x811C9DC5
    for b in text.encode():
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


def _mode(value: Any) -> str:
    """calico-node's reading of CALICO_IPV4POOL_IPIP/_VXLAN: "", off, never -> Never; cross-subnet -> CrossSubnet."""
    text = str(value or "").strip().lower()
    if text in ("", "off", "never", "false"):
        return "Never"
    if text in ("crosssubnet", "cross-subnet"):
        return "CrossSubnet"
    if text in ("always", "true", "on"):
        return "Always"
    return str(value)


@dataclass(frozen=True)
class IPPool:
    """A Calico IPPool (``projectcalico.org/v3`` / ``crd.projectcalico.org/v1``): the fields routing needs."""

    name: str
    cidr: IPv4Network
    block_size: int = DEFAULT_BLOCK_SIZE
    ipip_mode: str = "Always"
    vxlan_mode: str = "Never"
    nat_outgoing: bool = True
    source: str = "calico-node's default pool (calico.yaml: CALICO_IPV4POOL_IPIP=Always, the kubeadm podSubnet)"

    @property
    def encapsulation(self) -> str:
        """``IPIP``, ``VXLAN`` or ``None`` (plain BGP routes)."""
        if self.vxlan_mode != "Never":
            return "VXLAN"
        if self.ipip_mode != "Never":
            return "IPIP"
        return "None"

    @property
    def cross_subnet(self) -> bool:
        return "CrossSubnet" in (self.ipip_mode, self.vxlan_mode)

    @property
    def mtu(self) -> int:
        """The veth MTU Felix auto-detects on a 1500-byte host interface, minus the encapsulation's overhead."""
        return 1500 - {"IPIP": IPIP_OVERHEAD, "VXLAN": VXLAN_OVERHEAD}.get(self.encapsulation, 0)

    def describe(self) -> str:
        return (f"IPPool {self.name}: {self.cidr}, blockSize {self.block_size}, ipipMode {self.ipip_mode}, "
                f"vxlanMode {self.vxlan_mode}, natOutgoing {str(self.nat_outgoing).lower()}")


def _pool_from(obj: dict[str, Any]) -> IPPool:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    spec = obj.get("spec") or {}
    errs: list[FieldError] = []
    try:
        cidr = IPv4Network(str(spec.get("cidr")), strict=True)
    except ValueError:
        raise InvalidObject("IPPool", name, [FieldError.invalid(
            "spec.cidr", spec.get("cidr"), "must be a valid IPv4 CIDR")]) from None
    block = spec.get("blockSize", DEFAULT_BLOCK_SIZE)
    if not isinstance(block, int) or isinstance(block, bool) or not 20 <= block <= 32 or block < cidr.prefixlen:
        errs.append(FieldError.invalid("spec.blockSize", block,
                                       f"IPv4 block size must be between 20 and 32, and at least the pool's /"
                                       f"{cidr.prefixlen}"))
    modes = {}
    for key in ("ipipMode", "vxlanMode"):
        value = spec.get(key, "Never")
        if value not in _MODES:
            errs.append(FieldError.not_supported(f"spec.{key}", value, list(_MODES)))
        modes[key] = value
    if not errs and modes["ipipMode"] != "Never" and modes["vxlanMode"] != "Never":
        errs.append(FieldError.invalid("spec.vxlanMode", modes["vxlanMode"],
                                       "IPIP and VXLAN cannot both be enabled on the same pool"))
    if errs:
        raise InvalidObject("IPPool", name, errs)
    return IPPool(name, cidr, int(block), modes["ipipMode"], modes["vxlanMode"],
                  bool(spec.get("natOutgoing", False)), f"IPPool {name} as the scenario gives it")


def _env(obj: dict[str, Any], container: str = "calico-node") -> dict[str, str]:
    """The literal env of a calico-node DaemonSet's (or pod's) container."""
    spec = obj.get("spec") or {}
    if obj.get("kind") != "Pod":
        spec = (spec.get("template") or {}).get("spec") or {}
    out: dict[str, str] = {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if c.get("name") == container:
            for e in c.get("env") or []:
                if isinstance(e, dict) and isinstance(e.get("value"), str):
                    out[str(e.get("name"))] = e["value"]
    return out


def _renamed(w: Write, old: str, new: str, owner: Owner) -> Write:
    """A request with device ``old`` renamed ``new`` (a veth's host end, or its peer reference)."""
    changes: dict[str, Any] = {"owner": owner}
    for attr in ("name", "dev"):
        if getattr(w, attr, None) == old:
            changes[attr] = new
    peer = getattr(w, "peer", None)
    if peer is not None and peer[1] == old:
        changes["peer"] = (peer[0], new)
    return dataclasses.replace(w, **changes)  # type: ignore[type-var]


class BlockIPAM:
    """calico-ipam: /26 blocks of the pool, each affine to one node, addresses handed out in order.

    ``reserve`` records an address a dump fixed (its block becomes the node's); ``prepare`` gives each
    node its tunnel address (what ``calico-node -allocate-tunnel-addrs`` does at start, before any
    pod); ``allocate`` is the next free address in the node's blocks, claiming a new block when full.
    """

    def __init__(self, pool: IPPool, nodes: list[Node], tunnel: bool) -> None:
        self.pool = pool
        self.nodes = nodes
        self.tunnel = tunnel
        self.blocks: dict[str, list[IPv4Network]] = {n.name: [] for n in nodes}
        self.affinity: dict[IPv4Network, str] = {}
        self.used: set[IPv4Address] = set()
        self.tunnel_addr: dict[str, IPv4Address] = {}

    def block_of(self, addr: IPv4Address) -> IPv4Network:
        return IPv4Network(f"{addr}/{self.pool.block_size}", strict=False)

    def _claim(self, node: str) -> IPv4Network:
        size = 2 ** (32 - self.pool.block_size)
        count = max(1, self.pool.cidr.num_addresses // size)
        start = fnv32(node) % count
        base = int(self.pool.cidr.network_address)
        for k in range(count):
            block = IPv4Network((base + ((start + k) % count) * size, self.pool.block_size))
            if block not in self.affinity:
                self.affinity[block] = node
                self.blocks[node].append(block)
                return block
        raise ValueError(f"no free block left in IP pool {self.pool.name} ({self.pool.cidr})")

    def refuses(self, node: str, addr: IPv4Address) -> str | None:
        if addr not in self.pool.cidr:
            return f"not in Calico's IP pool {self.pool.name} ({self.pool.cidr})"
        block = self.block_of(addr)
        owner = self.affinity.get(block, node)
        if owner != node:
            return (f"in block {block}, which is affine to node {owner} (an address borrowed from another node's "
                    "block is not modelled)")
        return None

    def reserve(self, node: str, addr: IPv4Address) -> None:
        if self.refuses(node, addr) is not None:
            return  # a dump's address calico-ipam would not have given here: the pod keeps it, no block is claimed
        block = self.block_of(addr)
        self.affinity.setdefault(block, node)
        if block not in self.blocks[node]:
            self.blocks[node].append(block)
        self.used.add(addr)

    def _next(self, node: str) -> IPv4Address:
        for block in self.blocks[node]:
            for addr in block:
                if addr not in self.used:
                    self.used.add(addr)
                    return addr
        block = self._claim(node)
        addr = block.network_address
        self.used.add(addr)
        return addr

    def prepare(self) -> None:
        if not self.tunnel:
            return
        for n in self.nodes:
            given = (n.raw.get("metadata") or {}).get("annotations") or {}
            key = "projectcalico.org/IPv4IPIPTunnelAddr" if self.pool.encapsulation == "IPIP" else \
                "projectcalico.org/IPv4VXLANTunnelAddr"
            if given.get(key):
                addr = IPv4Address(str(given[key]))
                self.reserve(n.name, addr)
                self.tunnel_addr[n.name] = addr
            else:
                self.tunnel_addr[n.name] = self._next(n.name)

    def allocate(self, node: str) -> IPv4Address:
        return self._next(node)


@dataclass
class _State:
    ipam: BlockIPAM | None = None
    # for a list of nodes: every peer row, by node; every VTEP neighbour and FDB entry, by node (kept: their ids)
    peers: tuple[list[Node], tuple[RouteAdd, ...], dict[str, tuple[RouteAdd, ...]], tuple[NeighAdd, ...],
                 tuple[FdbAdd, ...], dict[str, tuple[NeighAdd, FdbAdd]]] | None = None


class CalicoPlugin(CNIPlugin):
    name = "calico"
    title = "Calico (calico.yaml: BIRD with IP-in-IP, Felix, calico-ipam)"
    binary = "calico"
    daemon = "calico-node"
    conf_file = "10-calico.conflist"
    detect = ("calico-node",)
    enforces_network_policy = True
    policy_source = ("Felix, calico-node's policy agent, renders every NetworkPolicy into its cali-pi-/cali-po- "
                     "chains (projectcalico/calico felix/rules)")
    policy_agent = "calico-node/felix"

    def __init__(self, pod_subnet: IPv4Network) -> None:
        super().__init__(pod_subnet)
        self.pool = IPPool(DEFAULT_POOL_NAME, pod_subnet)
        self._state = _State()
        # calico-node's CALICO_NETWORKING_BACKEND: bird (calico.yaml), vxlan, or none: Calico for policy only, the
        # pods addressed by host-local from the node's podCIDR and routed by someone else (GKE's VPC routes).
        self.networking = "bird"
        self.veth_mtu: int | None = None  # an MTU the install-cni container's CNI_NETWORK_CONFIG fixes

    @property
    def policy_only(self) -> bool:
        return self.networking == "none"

    # --- configuration --------------------------------------------------------------------------------
    def read(self, scenario: Scenario) -> None:
        """calico-node's settings, from a DaemonSet (or, in a dump of pods, a calico-node pod): the networking
        backend, the CNI config's IPAM and MTU; then the pool: an IPPool in the scenario, else the one
        calico-node creates from its env (CALICO_IPV4POOL_CIDR, _IPIP, _VXLAN, _BLOCK_SIZE, _NAT_OUTGOING),
        else the manifest's defaults."""
        node = next((m.body for m in scenario.manifests if m.kind == "DaemonSet" and m.name == "calico-node"), None) \
            or next((m.body for m in scenario.manifests if m.kind == "Pod" and (m.name == "calico-node" or
                                                                                 m.name.startswith("calico-node-"))),
                    None)
        env = _env(node) if node is not None else {}
        install = _env(node, "install-cni") if node is not None else {}
        backend = env.get("CALICO_NETWORKING_BACKEND", "bird").lower()
        if backend in ("bird", "vxlan", "none"):
            self.networking = backend
        try:
            conf = json.loads(install.get("CNI_NETWORK_CONFIG", "{}"))
            first = (conf.get("plugins") or [conf])[0]
            if isinstance(first.get("mtu"), int):
                self.veth_mtu = first["mtu"]
            if (first.get("ipam") or {}).get("type") == "host-local":
                self.networking = "none"  # calico-ipam not used: the node's podCIDR is the range (usePodCidr)
        except (ValueError, AttributeError, IndexError, TypeError):
            pass  # not a CNI config the model can read: calico.yaml's is assumed
        if self.policy_only:
            self.pool = IPPool(DEFAULT_POOL_NAME, self.pod_subnet, DEFAULT_BLOCK_SIZE, "Never", "Never", False,
                               "no pool: calico-node runs with CALICO_NETWORKING_BACKEND none (policy only)")
            self.approximations = [
                "Calico runs for NetworkPolicy only (CALICO_NETWORKING_BACKEND none, host-local IPAM): the "
                "platform routes each node's podCIDR (a cloud's VPC routes); the model puts those routes on the "
                "nodes, and gives each pod the podCIDR's first address on the host end of its cali veth as its "
                "gateway (the calico plugin's 169.254.1.1 relies on proxy ARP and the node's default route, which "
                "the dump does not record)"]
            return
        by_name: dict[str, IPPool] = {}
        for m in scenario.manifests:
            if m.kind == "IPPool":
                pool = _pool_from(m.body)  # every pool is checked; a later one of the same name replaces it
                by_name[pool.name] = pool
        if by_name:
            # One pool is modelled: the first by name order of appearance (Calico would pick among the pools
            # whose nodeSelector selects the node).
            self.pool = next(iter(by_name.values()))
            return
        if node is None or not any(k.startswith("CALICO_IPV4POOL_") for k in env):
            return
        try:
            cidr = IPv4Network(env.get("CALICO_IPV4POOL_CIDR") or str(self.pod_subnet), strict=True)
            block = int(env.get("CALICO_IPV4POOL_BLOCK_SIZE") or DEFAULT_BLOCK_SIZE)
        except ValueError:
            raise InvalidObject("DaemonSet", "calico-node", [FieldError.invalid(
                "spec.template.spec.containers[calico-node].env", env.get("CALICO_IPV4POOL_CIDR"),
                "CALICO_IPV4POOL_CIDR and CALICO_IPV4POOL_BLOCK_SIZE must be a CIDR and a number")]) from None
        doc = {"metadata": {"name": DEFAULT_POOL_NAME}, "spec": {
            "cidr": str(cidr), "blockSize": block, "ipipMode": _mode(env.get("CALICO_IPV4POOL_IPIP")),
            "vxlanMode": _mode(env.get("CALICO_IPV4POOL_VXLAN")),
            "natOutgoing": env.get("CALICO_IPV4POOL_NAT_OUTGOING", "true").lower() == "true"}}
        pool = _pool_from(doc)
        self.pool = IPPool(pool.name, pool.cidr, pool.block_size, pool.ipip_mode, pool.vxlan_mode,
                           pool.nat_outgoing, "calico-node's default pool, from its CALICO_IPV4POOL_* env")

    def ipam(self, nodes: dict[str, Node]) -> PodIPAM:
        self._state = _State(BlockIPAM(self.pool, list(nodes.values()), self.pool.encapsulation != "None"))
        if self.policy_only:
            return HostLocalIPAM(nodes)
        return self._state.ipam  # type: ignore[return-value]

    def _ipam(self) -> BlockIPAM:
        if self._state.ipam is None:
            raise RuntimeError("calico: IPAM has not run (ipam() is called while the pods are built)")
        return self._state.ipam

    def blocks(self, node: str) -> list[IPv4Network]:
        """The blocks affine to ``node``, in the order it claimed them."""
        return list(self._ipam().blocks.get(node, []))

    def tunnel_address(self, node: str) -> IPv4Address | None:
        return self._ipam().tunnel_addr.get(node)

    def system_objects(self) -> list[dict[str, Any]]:
        """calico.yaml's calico-node DaemonSet (BIRD and Felix) and calico-kube-controllers, in kube-system."""
        env = [{"name": "DATASTORE_TYPE", "value": "kubernetes"},
               {"name": "CALICO_NETWORKING_BACKEND", "value": "bird"},
               {"name": "CLUSTER_TYPE", "value": "k8s,bgp"}, {"name": "IP", "value": "autodetect"},
               {"name": "CALICO_IPV4POOL_IPIP", "value": "Always"}, {"name": "CALICO_IPV4POOL_VXLAN", "value": "Never"},
               {"name": "FELIX_DEFAULTENDPOINTTOHOSTACTION", "value": "ACCEPT"},
               {"name": "FELIX_IPV6SUPPORT", "value": "false"}, {"name": "FELIX_HEALTHENABLED", "value": "true"}]
        controllers = {"k8s-app": "calico-kube-controllers"}
        return [
            daemonset("calico-node", "kube-system", {"k8s-app": "calico-node"},
                      {"name": "calico-node", "image": "docker.io/calico/node:v3.28.0", "env": env},
                      tolerations=[{"effect": "NoSchedule", "operator": "Exists"},
                                   {"key": "CriticalAddonsOnly", "operator": "Exists"},
                                   {"effect": "NoExecute", "operator": "Exists"}]),
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "calico-kube-controllers", "namespace": "kube-system", "labels": controllers},
             "spec": {"replicas": 1, "selector": {"matchLabels": controllers}, "template": {
                 "metadata": {"labels": controllers},
                 "spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "priorityClassName": "system-cluster-critical",
                          "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                          {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                          "containers": [{"name": "calico-kube-controllers",
                                          "image": "docker.io/calico/kube-controllers:v3.28.0"}]}}}},
        ]

    # --- owners ---------------------------------------------------------------------------------------
    def felix(self, node: str | None, obj: str | None, why: str) -> Owner:
        return Owner("calico-node/felix", node, obj, (), why)

    def bird(self, node: str | None, obj: str | None, why: str) -> Owner:
        return Owner("calico-node/bird", node, obj, (), why)

    def plugin_owner(self, pod: Pod, why: str) -> Owner:
        return Owner("kubelet/calico", pod.node_name, f"Pod {pod.key}", (), why)

    def daemon_owner(self, obj: str | None, why: str, node: str | None = None) -> Owner:
        return self.felix(node, obj, why)

    # --- the node -------------------------------------------------------------------------------------
    def node_writes(self, node: Node, nodes: list[Node], has_pods: bool) -> list[Write]:
        """Felix's devices and sysctls, BIRD's (or Felix's) blackholes and routes (``nodes``: every node)."""
        ns, obj = node_ns(node), f"Node {node.name}"
        out: list[Write] = [Sysctl(ns, "net.ipv4.ip_forward", "1", self.felix(
            node.name, obj, "Felix turns on forwarding (FelixConfiguration ipForwarding: Enabled)"))]
        if self.policy_only:
            return [*out, self.peer_routes(node, nodes), *self.ipsets(node)]
        enc = self.pool.encapsulation
        tunnel = self.tunnel_address(node.name)
        if enc == "IPIP":
            owner = self.felix(node.name, obj,
                               f"the IP-in-IP device, with the node's tunnel address from {self.pool.name}")
            out.append(LinkAdd(ns, IPIP_DEVICE, "ipip", "00:00:00:00", self.pool.mtu, owner=owner))
            if tunnel is not None:
                out.append(AddrAdd(ns, IPIP_DEVICE, f"{tunnel}/32", owner))
        elif enc == "VXLAN":
            owner = self.felix(node.name, obj, "the VXLAN tunnel endpoint (VTEP) of this node")
            out.append(LinkAdd(ns, VXLAN_DEVICE, "vxlan", self._vtep_mac(node), self.pool.mtu,
                               vxlan={"id": VXLAN_VNI, "local": str(node.internal_ip), "dev": "eth0",
                                      "dstport": VXLAN_PORT, "learning": False}, owner=owner))
            if tunnel is not None:
                out.append(AddrAdd(ns, VXLAN_DEVICE, f"{tunnel}/32", owner))
        for block in self.blocks(node.name):
            if enc == "VXLAN":
                why = f"Felix blackholes the node's own block {block}: its unused addresses go nowhere"
                out.append(RouteAdd(ns, str(block), None, proto=FELIX_PROTO, type="blackhole",
                                    owner=self.felix(node.name, f"IPAMBlock {block}", why)))
            else:
                why = (f"BIRD's static route for the node's own block {block} (exported to the peers; addresses "
                       "without a pod route are dropped)")
                out.append(RouteAdd(ns, str(block), None, proto=BIRD_PROTO, type="blackhole",
                                    owner=self.bird(node.name, f"IPAMBlock {block}", why)))
        return out + self.peer_writes(node, nodes) + self.ipsets(node)

    def peer_route(self, peer: Node) -> RouteAdd:
        """Policy-only Calico: the platform's route to a node's podCIDR (the cloud's VPC routes), put on the nodes."""
        return RouteAdd("", str(peer.pod_cidr), "eth0", via=str(peer.internal_ip), owner=Owner(
            "cloud-routes", None, f"Node {peer.name}", (), f"the platform's route to {peer.name}'s podCIDR "
            "(Calico routes nothing here: it runs for NetworkPolicy only)"))

    def _vtep_mac(self, node: Node) -> str:
        return mac_for(f"{node.name}/{VXLAN_DEVICE}")

    def peer_writes(self, node: Node, nodes: list[Node]) -> list[Write]:
        """The other nodes' blocks (and, with VXLAN, their VTEPs' neighbour and FDB entries): the same rows on
        every node but for the node's own, handed to the kernel once (:class:`SharedRoutes`)."""
        table = self._state.peers
        if table is None or table[0] is not nodes:
            by_name = {peer.name: tuple(self._peer_rows(peer)) for peer in nodes}
            neigh: dict[str, tuple[NeighAdd, FdbAdd]] = {}
            if self.pool.encapsulation == "VXLAN" and not self.pool.cross_subnet:
                for peer in nodes:
                    tunnel = self.tunnel_address(peer.name)
                    if tunnel is None:
                        continue
                    obj, mac = f"Node {peer.name}", self._vtep_mac(peer)
                    neigh[peer.name] = (
                        NeighAdd("", VXLAN_DEVICE, str(tunnel), mac, self.felix(None, obj,
                                                                               f"the MAC of {peer.name}'s VTEP")),
                        FdbAdd("", VXLAN_DEVICE, mac, str(peer.internal_ip),
                               self.felix(None, obj, f"frames for {peer.name}'s VTEP go to its node IP")))
            table = self._state.peers = (nodes, tuple(r for rows in by_name.values() for r in rows), by_name,
                                         tuple(n for n, _ in neigh.values()), tuple(f for _, f in neigh.values()),
                                         neigh)
        ns = node_ns(node)
        out: list[Write] = [SharedRoutes(ns, table[1], table[2].get(node.name, ()))]
        if table[5]:
            out.append(SharedNeighbours(ns, VXLAN_DEVICE, table[3], table[4], table[5].get(node.name, ())))
        return out

    def _peer_rows(self, peer: Node) -> list[RouteAdd]:
        """A node's blocks as the other nodes route them (requests without a namespace: shared rows)."""
        rows = []
        enc, direct = self.pool.encapsulation, self.pool.encapsulation == "None" or self.pool.cross_subnet
        for block in self.blocks(peer.name):
            obj = f"IPAMBlock {block}"
            if enc == "VXLAN":
                tunnel = self.tunnel_address(peer.name)
                if direct or tunnel is None:
                    rows.append(RouteAdd("", str(block), "eth0", via=str(peer.internal_ip), proto=FELIX_PROTO,
                                         onlink=True, owner=self.felix(None, obj, f"{peer.name}'s block, on the "
                                                                                  "same subnet: no encapsulation")))
                else:
                    rows.append(RouteAdd("", str(block), VXLAN_DEVICE, via=str(tunnel), proto=FELIX_PROTO,
                                         onlink=True, owner=self.felix(None, obj, f"{peer.name}'s block through "
                                                                                  "the VXLAN device")))
            elif direct:
                # plain BGP, or CrossSubnet within the subnet every node of a scenario shares
                rows.append(RouteAdd("", str(block), "eth0", via=str(peer.internal_ip), proto=BIRD_PROTO,
                                     owner=self.bird(None, obj, f"{peer.name}'s block, learnt over BGP: "
                                                                "straight to its node IP")))
            else:
                rows.append(RouteAdd("", str(block), IPIP_DEVICE, via=str(peer.internal_ip), proto=BIRD_PROTO,
                                     onlink=True, owner=self.bird(None, obj, f"{peer.name}'s block, learnt over BGP: "
                                                                             "IP-in-IP to its node IP")))
        return rows

    netfilter_first = True  # Felix keeps its jumps at the top of the built-in chains (ChainInsertMode insert)

    def ipsets(self, node: Node) -> list[Write]:
        """Felix's IP sets of the pools: ``cali40all-ipam-pools`` and ``cali40masq-ipam-pools`` (natOutgoing)."""
        ns, obj = node_ns(node), f"IPPool {self.pool.name}"
        pools = () if self.policy_only else (str(self.pool.cidr),)
        return [IpsetAdd(ns, "cali40all-ipam-pools", "hash:net", pools,
                         self.felix(node.name, obj, "every IP pool's CIDR")),
                IpsetAdd(ns, "cali40masq-ipam-pools", "hash:net", pools if self.pool.nat_outgoing else (),
                         self.felix(node.name, obj, "the IP pools with natOutgoing"))]

    def netfilter(self, node: Node) -> IptablesRestore:
        """Felix's nat rules: natOutgoing masquerades what pods of a natOutgoing pool send out of every pool, and
        host traffic into the tunnel from a non-tunnel address. Rule comments are Felix's rule hashes as
        real ``iptables-save`` dumps show them (the tunl0 rule from a Felix without ``--random-fully`` on it).
        Felix's policy chains (cali-fw-/cali-tw-/cali-pi-) are not printed: its verdicts reach the walk as
        policy hops."""
        owner = self.felix(node.name, f"Node {node.name}", "Felix's NAT rules (natOutgoing)")
        out = IptablesRestore(node_ns(node), owner=owner)
        for chain in ("cali-POSTROUTING", "cali-fip-snat", "cali-nat-outgoing"):
            out.new_chain("nat", chain)

        def comment(h: str) -> list[str]:
            return ["-m", "comment", "--comment", f"cali:{h}"]

        out.append("nat", "POSTROUTING", [*comment("O3lYWMrLQYEMJtB5"), "-j", "cali-POSTROUTING"])
        out.append("nat", "cali-POSTROUTING", [*comment("Z-c7XtVd2Bq7s_hA"), "-j", "cali-fip-snat"])
        out.append("nat", "cali-POSTROUTING", [*comment("nYKhEzDlr11Jccal"), "-j", "cali-nat-outgoing"])
        local = ["-m", "addrtype", "!", "--src-type", "LOCAL", "--limit-iface-out", "-m", "addrtype", "--src-type",
                 "LOCAL", "-j", "MASQUERADE"]
        if self.pool.encapsulation == "IPIP":
            out.append("nat", "cali-POSTROUTING", ["-o", IPIP_DEVICE, *comment("JHlpT-eSqR1TvyYm"), *local])
        elif self.pool.encapsulation == "VXLAN":
            out.append("nat", "cali-POSTROUTING", ["-o", VXLAN_DEVICE, *comment("e9dnSgSVNmIcpVhP"), *local,
                                                   "--random-fully"])
        if self.pool.nat_outgoing:
            out.append("nat", "cali-nat-outgoing", [*comment("flqWnvo8yq4ULQLa"), "-m", "set", "--match-set",
                                                    "cali40masq-ipam-pools", "src", "-m", "set", "!", "--match-set",
                                                    "cali40all-ipam-pools", "dst", "-j", "MASQUERADE",
                                                    "--random-fully"])
        return out

    # --- one pod --------------------------------------------------------------------------------------
    def pod_writes(self, node: Node, pod: Pod) -> list[Write]:
        if self.policy_only:
            return self._policy_only_pod(node, pod)
        assert pod.ip is not None
        host = veth_name(pod.namespace, pod.name)
        pns, hns = pod_ns(pod), node_ns(node)
        mtu = self.veth_mtu or self.pool.mtu
        owner = self.plugin_owner(pod, f"the veth pair of pod {pod.key}")
        out: list[Write] = [
            LinkAdd(hns, host, "veth", HOST_SIDE_MAC, mtu, peer=(pns, "eth0"), owner=owner),
            LinkAdd(pns, "eth0", "veth", mac_for(pod.key + "/eth0"), mtu, peer=(hns, host), owner=owner),
            AddrAdd(pns, "eth0", f"{pod.ip}/32", self.plugin_owner(
                pod, f"the address {'host-local' if self.policy_only else 'calico-ipam'} assigned, as a /32")),
            RouteAdd(pns, LINK_LOCAL_GATEWAY, "eth0", scope="link", owner=self.plugin_owner(
                pod, "a connected route to the dummy next hop")),
            RouteAdd(pns, "default", "eth0", via=LINK_LOCAL_GATEWAY, owner=self.plugin_owner(
                pod, "the default route via the dummy next hop, which proxy ARP on the host end answers")),
            RouteAdd(hns, str(pod.ip), host, scope="link", owner=self.plugin_owner(
                pod, f"the host route to pod {pod.key}")),
        ]
        why = "the CNI plugin configures the host end of the veth"
        for name, value in ((f"net.ipv4.conf.{host}.proxy_arp", "1"), (f"net.ipv4.neigh.{host}.proxy_delay", "0"),
                            (f"net.ipv4.conf.{host}.forwarding", "1"), (f"net.ipv4.conf.{host}.route_localnet", "1")):
            out.append(Sysctl(hns, name, value, self.plugin_owner(pod, why)))
        return out

    def _policy_only_pod(self, node: Node, pod: Pod) -> list[Write]:
        """Policy-only Calico (a cloud's CNI with host-local): approximated the ptp way, the podCIDR's gateway on
        the host end of a ``cali`` veth. The calico plugin's 169.254.1.1 needs proxy ARP, which needs a route
        on the node (its default route), and a dump does not record the node's gateway."""
        from k8snetviz.agents.cni.kindnet import KindnetPlugin

        ptp = KindnetPlugin(self.pod_subnet)
        host = veth_name(pod.namespace, pod.name)
        out: list[Write] = []
        for w in ptp.pod_writes(node, pod):
            # the same requests, with the host end named as Calico names it and the owner the calico plugin
            w = _renamed(w, host_veth_name(pod), host, self.plugin_owner(pod, w.owner.why))
            if isinstance(w, LinkAdd):
                w = dataclasses.replace(w, mtu=self.veth_mtu or 1500, mac=HOST_SIDE_MAC if w.name == host else w.mac)
            out.append(w)
        return out

    # --- the files ------------------------------------------------------------------------------------
    def conflist(self, pod_cidr: str, data_dir: str | None = None, node: str | None = None) -> dict[str, Any]:
        """calico.yaml's ``cni_network_config`` as its install-cni container writes ``10-calico.conflist``:
        the node's name, the MTU and the kubeconfig path filled in. IPAM is calico-ipam, not the podCIDR."""
        return {
            "name": CONF_NAME,
            "cniVersion": "1.0.0",
            "plugins": [
                {"type": "calico", "log_level": "info", "log_file_path": "/var/log/calico/cni/cni.log",
                 "datastore_type": "kubernetes", "nodename": node or "__KUBERNETES_NODE_NAME__",
                 "mtu": self.veth_mtu or self.pool.mtu,
                 "ipam": {"type": "host-local", "subnet": pod_cidr} if self.policy_only else {"type": "calico-ipam"},
                 "policy": {"type": "k8s"},
                 "kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}},
                {"type": "portmap", "snat": True, "capabilities": {"portMappings": True}},
            ],
        }
