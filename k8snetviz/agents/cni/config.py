"""The CNI side of a node: the ``.conflist`` in ``/etc/cni/net.d``, the plugin chain, ADD/DEL/CHECK.

What the container runtime does for each pod sandbox, as data a notebook can show:

- the network configuration list the node holds (file name and JSON), per CNI model: kindnetd's
  ``10-kindnet.conflist`` (ptp + host-local + portmap), kube-flannel's ``10-flannel.conflist``
  (flannel delegating to bridge + host-local, then portmap), and the classic ``10-bridge.conflist``;
- the plugin chain: which binary runs, in which order, and which one assigns the address (IPAM);
- the environment of one plugin call (``CNI_COMMAND``, ``CNI_CONTAINERID``, ``CNI_NETNS``,
  ``CNI_IFNAME``, ``CNI_PATH``) and what ADD, DEL and CHECK do, step by step;
- the JSON result ADD prints, in the shape of the list's ``cniVersion``;
- host-local's files: one per address (holding the container ID and the interface name) and
  ``last_reserved_ip.0``.

This module is the one source of conflists: the real Linux lab runs exactly these (with
host-local's ``dataDir`` moved into the lab's own directory).

>>> import k8snetviz
>>> c = k8snetviz.load("kind-default")
>>> f = conflist_file(c, "kind-worker")
>>> f.path
'/etc/cni/net.d/10-kindnet.conflist'
>>> [p.type for p in plugin_chain(c, "kind-worker")]
['ptp', 'host-local', 'portmap']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k8snetviz.agents.cni.base import host_veth_name
from k8snetviz.agents.cni.flannel import subnet_env as flannel_subnet_env
from k8snetviz.agents.cni.kindnet import KINDNET_DATA_DIR
from k8snetviz.errors import UsageError

if TYPE_CHECKING:
    from k8snetviz.api.objects import Node, Pod
    from k8snetviz.cluster import Cluster

__all__ = [
    "CNI_CONF_DIR",
    "CNI_BIN_DIR_KIND",
    "CNI_BIN_DIR_DEBIAN",
    "HOST_LOCAL_DATA_DIR",
    "KINDNET_DATA_DIR",
    "ConfigFile",
    "Plugin",
    "Step",
    "flannel_subnet_env",
    "conflist_file",
    "runtime_conflist",
    "plugin_chain",
    "cni_env",
    "container_id",
    "add_result",
    "host_local_files",
    "add_steps",
    "del_steps",
    "check_steps",
]

CNI_CONF_DIR = "/etc/cni/net.d"
CNI_BIN_DIR_KIND = "/opt/cni/bin"  # kind nodes, upstream release tarballs
CNI_BIN_DIR_DEBIAN = "/usr/lib/cni"  # Debian's containernetworking-plugins
HOST_LOCAL_DATA_DIR = "/var/lib/cni/networks"  # host-local's default dataDir


# -- per node ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigFile:
    """A file the node holds: its path and its parsed JSON (``text`` is what ``cat`` prints)."""

    path: str
    conflist: dict[str, Any]

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[1]

    @property
    def text(self) -> str:
        return json.dumps(self.conflist, indent=2) + "\n"

    def __str__(self) -> str:
        return self.text


def _node(cluster: Cluster, node: str | Node) -> Node:
    return cluster.node(node) if isinstance(node, str) else node


def conflist_file(cluster: Cluster, node: str | Node) -> ConfigFile:
    """The ``.conflist`` the node's runtime reads from ``/etc/cni/net.d`` (the first file, by name)."""
    n = _node(cluster, node)
    return ConfigFile(f"{CNI_CONF_DIR}/{cluster.cni.conf_file}", cluster.cni.conflist(str(n.pod_cidr), node=n.name))


def runtime_conflist(cluster: Cluster, node: str | Node, data_dir: str | None = None) -> dict[str, Any]:
    """The list whose plugins really run for a pod on ``node`` (flannel: its bridge delegate).

    ``data_dir`` moves host-local's state (the lab keeps it in its own directory).
    """
    n = _node(cluster, node)
    return cluster.cni.runtime_conflist(str(n.pod_cidr), data_dir, n.name)


@dataclass(frozen=True)
class Plugin:
    """One binary of the chain: its ``type``, where it lives, and its job."""

    type: str
    role: str  # interface | ipam | meta (chained after the interface plugin)
    job: str
    called_by: str = "the runtime"  # an IPAM plugin is called by the interface plugin, not the runtime

    def binary(self, bin_dir: str = CNI_BIN_DIR_KIND) -> str:
        return f"{bin_dir}/{self.type}"


_JOBS = {
    "flannel": "reads /run/flannel/subnet.env and hands a bridge configuration to the bridge plugin",
    "bridge": "creates the bridge cni0 (with the gateway address), a veth pair, moves one end into the pod",
    "ptp": "creates a veth pair, no bridge: the host end gets the gateway as a /32 and a host route to the pod",
    "host-local": "assigns the pod's address from the node's podCIDR and remembers it on disk",
    "portmap": "adds DNAT rules for hostPort mappings (nothing to do without hostPorts)",
}


def plugin_chain(cluster: Cluster, node: str | Node) -> list[Plugin]:
    """The binaries that run for ADD, in order (the IPAM plugin right after its caller)."""
    conf = conflist_file(cluster, node).conflist
    out: list[Plugin] = []
    for p in conf["plugins"]:
        t = p["type"]
        out.append(Plugin(t, "meta" if out else "interface", _JOBS.get(t, "")))
        if t == "flannel":
            out.append(Plugin("bridge", "interface", _JOBS["bridge"], called_by="flannel"))
        ipam = p.get("ipam") or ({"type": "host-local"} if t == "flannel" else None)
        if ipam:
            out.append(Plugin(ipam["type"], "ipam", _JOBS.get(ipam["type"], ""),
                              called_by="bridge" if t == "flannel" else t))
    return out


# -- per pod ----------------------------------------------------------------------------------------
def _pod(cluster: Cluster, pod: str | Pod) -> Pod:
    p = cluster.pod(pod) if isinstance(pod, str) else pod
    if p.host_network:
        raise UsageError(f"pod {p.key} uses hostNetwork: the runtime runs no CNI plugin for it")
    return p


def container_id(pod: Pod) -> str:
    """A stable 64-hex-digit sandbox ID for the pod (a runtime makes a random one)."""
    import hashlib

    return hashlib.sha256(f"sandbox/{pod.key}".encode()).hexdigest()


def cni_env(cluster: Cluster, pod: str | Pod, command: str = "ADD", bin_dir: str = CNI_BIN_DIR_KIND) -> dict[str, str]:
    """The environment of one plugin call for ``pod``, as containerd's CRI sets it."""
    p = _pod(cluster, pod)
    if command not in ("ADD", "DEL", "CHECK", "VERSION"):
        raise UsageError(f'CNI_COMMAND "{command}": one of ADD, DEL, CHECK, VERSION')
    cid = container_id(p)
    return {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": f"/var/run/netns/cni-{cid[:8]}-{cid[8:12]}-{cid[12:16]}-{cid[16:20]}-{cid[20:32]}",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": bin_dir,
        "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE={p.namespace};K8S_POD_NAME={p.name};"
                    f"K8S_POD_INFRA_CONTAINER_ID={cid}",
    }


def add_result(cluster: Cluster, pod: str | Pod) -> dict[str, Any]:
    """The JSON result the chain's ADD prints for ``pod``, in the list's ``cniVersion``.

    0.3.x/0.4.0 results carry ``"version": "4"`` in each IP; 1.0.0 dropped that field. MAC
    addresses are the model's (the kernel makes random ones).
    """
    p = _pod(cluster, pod)
    node = cluster.node(p.node_name)
    conf = runtime_conflist(cluster, node)
    version = conf["cniVersion"]
    node_ns = cluster.netns[f"node/{node.name}"]
    pod_ns = cluster.netns[f"pod/{p.key}"]
    veth = host_veth_name(p)
    sandbox = cni_env(cluster, p)["CNI_NETNS"]
    interfaces: list[dict[str, Any]] = []
    bridge = cluster.cni.bridge
    if bridge:
        interfaces.append({"name": bridge, "mac": node_ns.interfaces[bridge].mac})
    interfaces.append({"name": veth, "mac": node_ns.interfaces[veth].mac})
    interfaces.append({"name": "eth0", "mac": pod_ns.interfaces["eth0"].mac, "sandbox": sandbox})
    gw = str(node.pod_cidr.network_address + 1)
    ip: dict[str, Any] = {}
    if not version.startswith("1."):
        ip["version"] = "4"
    ip.update({"interface": len(interfaces) - 1, "address": f"{p.ip}/{node.pod_cidr.prefixlen}", "gateway": gw})
    main = conf["plugins"][0]
    routes = [dict(r) for r in main["ipam"].get("routes", [])]
    if main.get("isDefaultGateway"):
        # the bridge plugin adds the default route through the gateway to the result
        routes.append({"dst": "0.0.0.0/0", "gw": gw})
    return {"cniVersion": version, "interfaces": interfaces, "ips": [ip], "routes": routes, "dns": {}}


def host_local_files(cluster: Cluster, node: str | Node, data_dir: str | None = None) -> dict[str, str]:
    """host-local's files for ``node``: ``DATADIR/NETWORK/IP`` -> ``CONTAINERID\\nIFNAME``, plus
    ``last_reserved_ip.0`` (the last address handed out) and an empty ``lock``.

    The model hands addresses out in the order host-local does (see :mod:`k8snetviz.agents.ipam`).
    """
    n = _node(cluster, node)
    conf = runtime_conflist(cluster, n)
    base = data_dir or conf["plugins"][0]["ipam"].get("dataDir") or HOST_LOCAL_DATA_DIR
    d = f"{base}/{conf['name']}"
    pods = [p for p in cluster.pods.values() if p.node_name == n.name and not p.host_network and p.ip]
    files = {f"{d}/{p.ip}": f"{container_id(p)}\neth0" for p in pods}
    if pods:
        files[f"{d}/last_reserved_ip.0"] = str(pods[-1].ip)
        files[f"{d}/lock"] = ""
    return dict(sorted(files.items(), key=lambda kv: kv[0]))


@dataclass(frozen=True)
class Step:
    """One thing a plugin does: which plugin, what, and the command that shows the effect."""

    plugin: str
    action: str
    shows: str = ""  # a command whose output shows the effect
    where: str = ""  # node | pod | disk

    def __str__(self) -> str:
        return f"[{self.plugin}] {self.action}"


@dataclass
class _Ctx:
    pod: Pod
    node: Node
    veth: str
    gw: str
    cidr: str
    data_dir: str
    network: str
    cni: str
    steps: list[Step] = field(default_factory=list)


def _ctx(cluster: Cluster, pod: str | Pod) -> _Ctx:
    p = _pod(cluster, pod)
    node = cluster.node(p.node_name)
    conf = runtime_conflist(cluster, node)
    data_dir = conf["plugins"][0]["ipam"].get("dataDir") or HOST_LOCAL_DATA_DIR
    return _Ctx(p, node, host_veth_name(p), str(node.pod_cidr.network_address + 1), str(node.pod_cidr),
                data_dir, conf["name"], cluster.config.cni)


def add_steps(cluster: Cluster, pod: str | Pod) -> list[Step]:
    """What ADD does for ``pod``, in order, plugin by plugin."""
    c = _ctx(cluster, pod)
    ip = f"{c.pod.ip}/{c.node.pod_cidr.prefixlen}"
    s: list[Step] = []
    s.append(Step("runtime", f"creates the pod's network namespace and sets CNI_NETNS to it; reads "
                             f"{conflist_file(cluster, c.node).path}", "ip netns list", "node"))
    if c.cni == "flannel":
        s.append(Step("flannel", f"reads /run/flannel/subnet.env (FLANNEL_SUBNET={c.gw}/"
                                 f"{c.node.pod_cidr.prefixlen}) and calls bridge with that range", "", "node"))
    if c.cni in ("bridge", "flannel"):
        s.append(Step("bridge", "creates bridge cni0 if it does not exist yet, and sets it up", "ip -br link", "node"))
    main = "ptp" if c.cni == "kindnet" else "bridge"
    s.append(Step(main, f"creates a veth pair: eth0 in the pod, {c.veth} on the node", "ip -br link", "node"))
    if main == "bridge":
        s.append(Step("bridge", f"attaches {c.veth} to cni0 (hairpin on)", "bridge link", "node"))
    s.append(Step("host-local", f"picks {c.pod.ip} from {c.cidr} (gateway {c.gw}); writes "
                                f"{c.data_dir}/{c.network}/{c.pod.ip} and last_reserved_ip.0",
                  f"ls {c.data_dir}/{c.network}", "disk"))
    s.append(Step(main, f"puts {ip} on the pod's eth0 and sets it up", "ip -br addr", "pod"))
    if main == "bridge":
        s.append(Step("bridge", f"gives cni0 the gateway {c.gw}/{c.node.pod_cidr.prefixlen} (isGateway)",
                      "ip -br addr show cni0", "node"))
        s.append(Step("bridge", f"adds the pod's default route via {c.gw} (isDefaultGateway)", "ip route", "pod"))
        if c.cni == "flannel":
            s.append(Step("host-local", f"returns the route to {cluster.config.pod_subnet}, which bridge adds "
                                        f"in the pod", "ip route", "pod"))
    else:
        s.append(Step("ptp", f"replaces the pod's subnet route: {c.cidr} via {c.gw}, {c.gw} reached over eth0, "
                             f"default via {c.gw} (host-local's route 0.0.0.0/0)", "ip route", "pod"))
        s.append(Step("ptp", f"gives {c.veth} the gateway {c.gw}/32 and adds the host route "
                             f"{c.pod.ip} dev {c.veth} scope host", "ip route", "node"))
    s.append(Step(main, "turns on net.ipv4.ip_forward in the node", "sysctl net.ipv4.ip_forward", "node"))
    s.append(Step("portmap", "no hostPort mappings: passes the previous result on", "iptables-save -t nat", "node"))
    s.append(Step("runtime", "caches the final result and reports the pod IP to the kubelet",
                  "crictl inspectp POD_ID", "node"))
    return s


def del_steps(cluster: Cluster, pod: str | Pod) -> list[Step]:
    """What DEL does: the chain in reverse; host-local frees the address (the last-reserved marker stays)."""
    c = _ctx(cluster, pod)
    main = "ptp" if c.cni == "kindnet" else "bridge"
    s = [Step("portmap", "removes the pod's hostPort rules, if any", "iptables-save -t nat", "node")]
    s.append(Step(main, "calls host-local for DEL", "", "node"))
    s.append(Step("host-local", f"deletes {c.data_dir}/{c.network}/{c.pod.ip}; last_reserved_ip.0 is left as it "
                                f"is, so the next pod gets the next address, not this one",
                  f"ls {c.data_dir}/{c.network}", "disk"))
    s.append(Step(main, f"deletes the pod's eth0, and with it its peer {c.veth} (and its routes)",
                  "ip -br link", "node"))
    if main == "bridge":
        s.append(Step("bridge", "leaves cni0 in place for the other pods", "ip -br link show cni0", "node"))
    s.append(Step("runtime", "removes the pod's network namespace", "ip netns list", "node"))
    return s


def check_steps(cluster: Cluster, pod: str | Pod) -> list[Step]:
    """What CHECK does, or why it cannot run (libcni refuses it below cniVersion 0.4.0)."""
    c = _ctx(cluster, pod)
    version = runtime_conflist(cluster, c.node)["cniVersion"]
    if tuple(int(x) for x in version.split(".")) < (0, 4, 0):
        return [Step("runtime", f'refuses: configuration version "{version}" does not support the CHECK command')]
    main = "ptp" if c.cni == "kindnet" else "bridge"
    return [
        Step(main, "checks the pod's eth0 exists with the cached result's address and routes", "ip addr", "pod"),
        Step("host-local", f"checks {c.pod.ip} is still recorded for this container ID", "", "disk"),
        Step(main, f"checks {c.veth} is still attached" + (" to cni0" if main == "bridge" else ""), "", "node"),
        Step("portmap", "checks its rules are in place", "", "node"),
    ]
