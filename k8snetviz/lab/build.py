"""Scenario -> kernel: build a scenario's cluster in network namespaces (``lab up``).

One namespace per node on a LAN (a bridge in its own namespace), a gateway namespace at the
scenario's gateway (it stands for "outside"), one namespace per pod attached by running the real
CNI plugins with the model's conflists (:mod:`k8snetviz.agents.cni.config`) inside the node's
namespace (or, for a plugin the lab lacks, such as Calico's, the plugin's writes made with ``ip``), what
the node daemons write (kindnetd's and BIRD's routes, flanneld's and Felix's tunnel devices with their
neighbour and FDB entries, Felix's IP sets: :mod:`k8snetviz.lab.replay`), each node's iptables rules
from the model (``iptables-restore``, after the nfacct counters and the ``net.ipv4.conf.all`` sysctls
the node's agents set) and its nftables tables (``nft -f``), ``net.ipv4.ip_forward`` as the model says,
a namespace per outside client, and a pod server in every pod (and a kubelet-port server in every
node) that names the peer it sees.

Cluster DNS: in every CoreDNS pod (the ready endpoints of kube-dns) the model's CoreDNS answers on
UDP and TCP 53 (:mod:`k8snetviz.lab.dnsserver`; the pod server keeps the pod's other ports), so a
query to the kube-dns ClusterIP goes through the node's real kube-proxy rules. When a pod's
resolv.conf names the node network's gateway (``dnsPolicy: Default``: the kind node's resolver),
or the scenario has ``spec.upstreamDNS``, the gateway namespace answers as the outside world.
Every pod namespace gets the kubelet's resolv.conf and hosts for the pod in ``/etc/netns/NAME``
(``ip netns exec`` mounts them over /etc), with ``hosts: files dns`` in nsswitch.conf.

host-local must hand out exactly the model's addresses: on a node where no pod has a fixed
``status.podIP`` the plugins allocate in the model's order (host-local's own sequence); where one
has, every pod of that node asks for its address through host-local's ``ips`` capability. Either
way the address host-local returns is checked against the model, and a difference stops the build.

What was built is written to ``layout.json`` in the lab's work directory, for ``verify``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from k8snetviz.agents.cni.base import host_veth_name
from k8snetviz.agents.cni.config import container_id, runtime_conflist
from k8snetviz.agents.cni.portmap import port_mappings, runtime_config
from k8snetviz.agents.kubelet.network import HOST_NETWORK
from k8snetviz.agents.writes import IpsetAdd, LinkAdd, NetnsAdd
from k8snetviz.errors import K8sNetVizError
from k8snetviz.kernel.netns import SYSCTL_DEFAULTS
from k8snetviz.lab import dnsserver, podserver
from k8snetviz.lab.cniexec import add_network_list, k8s_cni_args, save_result
from k8snetviz.lab.errors import LabError, MissingTool
from k8snetviz.lab.netns import Lab
from k8snetviz.lab.preflight import preflight
from k8snetviz.lab.replay import expand, is_daemon_write, replay
from k8snetviz.lab.state import RUN_DIR
from k8snetviz.lab.topology import Node as TopoNode
from k8snetviz.lab.topology import add_lan, add_node

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = [
    "MAX_NODES",
    "MAX_PODS",
    "NODE_PORT",
    "DNS_PORT",
    "hosts_file",
    "Layout",
    "lab_id_for",
    "check_size",
    "node_iptables",
    "portmap_lines",
    "build",
    "load_layout",
]

MAX_NODES = 12
MAX_PODS = 60
NODE_PORT = 10250  # the kubelet's port: what answers on every node in the lab
DNS_PORT = 53
LAYOUT = "layout.json"


@dataclass
class Layout:
    """What ``lab up`` built: the model's namespaces mapped to the lab's, and the real device names."""

    lab: str
    scenario: str
    cni_path: str
    netns: dict[str, str] = field(default_factory=dict)  # model name (node/X, pod/NS/N, external/N) -> lab netns
    devices: dict[str, dict[str, str]] = field(default_factory=dict)  # model netns -> {model dev: real dev}
    servers: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # model netns -> {tcp: [...], udp: [...]}
    gateway: str = ""
    lan: str = ""
    notes: list[str] = field(default_factory=list)
    # model name (pod/NS/N of a CoreDNS pod, or "gateway") -> {netns, address, role, log}
    dns: dict[str, dict[str, str]] = field(default_factory=dict)
    # model node -> the CNI-HOSTPORT-*/CNI-DN-* lines of `iptables-save -t nat` as the real portmap left them
    portmap: dict[str, list[str]] = field(default_factory=dict)
    # model netns -> devices of the model this kernel cannot make (an ipip device without ipip support)
    unbuilt: dict[str, list[str]] = field(default_factory=dict)

    def crosses_unbuilt(self, hops: Any) -> str | None:
        """The first ``NS#DEV`` a walk's hops cross that the lab could not build, or None."""
        for h in hops:
            if h.device in self.unbuilt.get(h.at, []):
                return f"{h.at}#{h.device}"
        return None

    def real_dev(self, model_ns: str, dev: str) -> str:
        return self.devices.get(model_ns, {}).get(dev, dev)

    def model_dev(self, model_ns: str, dev: str) -> str:
        for m, r in self.devices.get(model_ns, {}).items():
            if r == dev:
                return m
        return dev

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lab_id_for(scenario: str) -> str:
    """The lab id of a scenario: its name (or file stem), as lower-case letters, digits and dashes.

    >>> lab_id_for("data/scenarios/Kind_Default.yaml")
    'kind-default'
    """
    stem = Path(scenario).name
    for ext in (".yaml", ".yml", ".json"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    ident = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:20].strip("-")
    return ident or "lab"


def _role(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "x"


def check_size(cluster: Cluster) -> None:
    """Refuse a scenario too large for one machine's lab, before anything is created."""
    pods = [p for p in cluster.pods.values() if not p.host_network]
    if len(cluster.nodes) > MAX_NODES or len(pods) > MAX_PODS:
        raise LabError(
            f"scenario too large for the lab: {len(cluster.nodes)} nodes and {len(pods)} pods "
            f"(the lab builds at most {MAX_NODES} nodes and {MAX_PODS} pods); use the simulator alone"
        )


def node_iptables(cluster: Cluster, node: str) -> str:
    """The node's rules as ``iptables-save`` text (kube-proxy's and the CNI add-on's)."""
    return str(cluster.iptables(node))


def portmap_lines(saved: str) -> list[str]:
    """The lines of ``iptables-save -t nat`` output that are portmap's: its chains and the jumps to them."""
    return [line for line in saved.splitlines() if "CNI-HOSTPORT-" in line or "CNI-DN-" in line]


def _ports(pod: Any) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"tcp": [], "udp": []}
    for p in pod.ports:
        proto = p.protocol.lower()
        if proto in out and p.container_port not in out[proto]:
            out[proto].append(p.container_port)
    return out


def _ip_route(route: Any, dev: str) -> list[str]:
    words = str(route).split()
    i = words.index("dev")
    words[i + 1] = dev
    return ["ip", "route", "replace", *words]


def build(lab: Lab, cluster: Cluster, scenario: str, cni_path: str) -> Layout:
    """Build ``cluster`` inside ``lab`` (an open :class:`Lab`); return the layout, also saved for verify."""
    check_size(cluster)
    cfg = cluster.config
    lay = Layout(lab.lab_id, scenario, cni_path)
    prefix = cfg.node_network.prefixlen
    lay.lan = add_lan(lab)

    # the gateway: the docker host in kind, "outside" here; it routes only to outside clients
    gw = add_node(lab, lay.lan, "gateway", f"{cfg.gateway}/{prefix}", "0.0.0.0/32", port="gw")
    lay.gateway = gw.netns
    lab.sysctl(gw.netns, "net.ipv4.ip_forward", "0")

    nodes: dict[str, TopoNode] = {}
    for i, n in enumerate(cluster.nodes.values()):
        tn = add_node(lab, lay.lan, _role(f"node-{n.name}"), f"{n.internal_ip}/{prefix}", str(n.pod_cidr),
                      port=f"n{i}")
        nodes[n.name] = TopoNode(n.name, tn.netns, tn.ip, tn.prefixlen, tn.pod_cidr)
        lay.netns[f"node/{n.name}"] = tn.netns

    from k8snetviz.questions.resolve import dns_server_pods

    dns_pods = {p.key for p in dns_server_pods(cluster)}
    _add_pods(lab, cluster, nodes, lay, dns_pods, cni_path)
    # the servers load the model while the rest is built; they are waited for at the end
    servers = _launch_dns(lab, cluster, scenario, lay, dns_pods)
    _prepare_resolvers(lab, cluster, lay)

    for name, tn in nodes.items():
        model = cluster.netns[f"node/{name}"]
        for r in model.routes.sorted():
            # the node's own network set-up (its default route); the kernel, the plugins and the daemons
            # make the other rows
            if r.owner.component == HOST_NETWORK and r.proto != "kernel" and r.dev is not None:
                lab.run_in(tn.netns, _ip_route(r, lay.real_dev(model.name, r.dev)))
    # what the node daemons write (kindnetd's and BIRD's routes, flanneld's and Felix's devices, neighbour
    # and FDB entries, IP sets): the model's writes, made in the node's namespace
    _replay_daemons(lab, cluster, nodes, lay)
    _apply_overrides(lab, cluster, lay)

    # the plugins turn ip_forward on in the node; the model's value goes last
    for model_name, ns in lay.netns.items():
        if model_name.startswith(("node/", "pod/")):
            lab.sysctl(ns, "net.ipv4.ip_forward", "1" if cluster.netns[model_name].ip_forward else "0")

    for name, tn in nodes.items():
        model = cluster.netns[f"node/{name}"]
        for key, value in model.sysctls.items():
            # the namespace-wide settings the node's agents make (kube-proxy's route_localnet); per-device ones
            # are the plugins' own business, and they make them here too
            if key.startswith("net.ipv4.conf.all.") and value != SYSCTL_DEFAULTS.get(key):
                lab.sysctl(tn.netns, key, value)
        for counter in model.nfacct:
            lab.run_in(tn.netns, ["nfacct", "add", counter])
        # what the real portmap plugin wrote at ADD, kept for verify before the model's rules replace the tables
        saved = lab.run_in(tn.netns, ["iptables-save", "-t", "nat"]).stdout
        lay.portmap[f"node/{name}"] = portmap_lines(saved)
        lab.run_in(tn.netns, ["iptables-restore"], input=node_iptables(cluster, name))
        if model.nftables is not None:
            # kube-proxy's nftables mode: the transactions the model loaded, fed to nft -f as kube-proxy feeds them
            lab.run_in(tn.netns, ["nft", "-f", "-"], input="".join(c + "\n" for c in model.nftables.loaded))
        podserver.start(lab, tn.netns, f"node/{name}", [NODE_PORT], [])
        lay.servers[f"node/{name}"] = {"tcp": [NODE_PORT], "udp": []}
        for pod in cluster.pods.values():
            # a hostNetwork pod's process listens in its node's namespace, on the node's addresses
            ports = {proto: [p for p in ps if p != NODE_PORT] for proto, ps in _ports(pod).items()}
            if pod.host_network and pod.node_name == name and (ports["tcp"] or ports["udp"]):
                podserver.start(lab, tn.netns, pod.key, ports["tcp"], ports["udp"])
                lay.servers[f"pod/{pod.key}"] = ports

    _add_externals(lab, cluster, lay, gw.netns)
    for server in servers:
        dnsserver.wait_ready(lab, server)
    lay.notes.append(f"built {len(nodes)} nodes and {sum(k.startswith('pod/') for k in lay.netns)} pods "
                     f"with CNI {cfg.cni} ({cni_path})")
    (lab.workdir / LAYOUT).write_text(json.dumps(lay.to_dict(), indent=1))
    return lay


def _replay_daemons(lab: Lab, cluster: Cluster, nodes: dict[str, TopoNode], lay: Layout) -> None:
    """Each node daemon's writes for its node, in the order the model makes them."""
    with_pods = {p.node_name for p in cluster.pods.values() if p.has_sandbox}
    model_nodes = list(cluster.nodes.values())
    for node in model_nodes:
        tn = nodes[node.name]
        writes = expand(cluster.cni.node_writes(node, model_nodes, node.name in with_pods))
        if any(isinstance(w, IpsetAdd) for w in writes) and shutil.which("ipset") is None:
            raise MissingTool([f"ipset (the {cluster.cni.name} model's rules match IP sets; apt-get install ipset)"])
        for model, dev in replay(lab, [w for w in writes if is_daemon_write(w)], lay.netns, tn.netns,
                                 f"node/{node.name}"):
            lay.unbuilt.setdefault(model, []).append(dev)
            kinds = {w.kind for w in writes if isinstance(w, LinkAdd) and w.name == dev}
            note = (f"this kernel cannot create {'/'.join(sorted(kinds))} devices: {dev} and the routes through it "
                    "are left out, and what crosses it is not checked")
            if note not in lay.notes:
                lay.notes.append(note)


def _plugin_in_lab(cluster: Cluster, cni_path: str) -> bool:
    """Does the lab have the binary the runtime would run first for a pod (bridge, ptp; not calico)?"""
    conf = cluster.cni.runtime_conflist("10.0.0.0/24")
    first = (conf.get("plugins") or [{}])[0].get("type", "")
    return bool(first) and os.access(os.path.join(cni_path, first), os.X_OK)


def _add_pods(lab: Lab, cluster: Cluster, nodes: dict[str, TopoNode], lay: Layout, dns_pods: set[str],
              cni_path: str) -> None:
    if not _plugin_in_lab(cluster, cni_path):
        lay.notes.append(f"no {cluster.cni.binary} CNI plugin in the lab: each pod's veth pair, addresses, routes "
                         f"and sysctls are the model's {cluster.cni.name} plugin writes, made with ip and sysctl")
        _replay_pods(lab, cluster, nodes, lay, dns_pods)
        return
    index = 0
    for name, tn in nodes.items():
        pods = [p for p in cluster.pods.values() if p.node_name == name and not p.host_network]
        if not pods:
            continue
        conf = runtime_conflist(cluster, name, str(lab.ipam_dir / _role(name)))
        fixed = any((p.raw.get("status") or {}).get("podIP") for p in pods)
        if fixed:
            lay.notes.append(f"{name}: a pod has a fixed status.podIP, so every pod asks host-local for its "
                             f"model address (runtimeConfig ips)")
        prefixlen = cluster.nodes[name].pod_cidr.prefixlen
        model_node = cluster.netns[f"node/{name}"].name
        for pod in pods:
            index += 1
            ns = lab.add_netns(_role(f"p{index}-{pod.name}"))
            want = f"{pod.ip}/{prefixlen}"
            run_conf = conf
            if fixed:
                run_conf = {**conf, "plugins": [{**conf["plugins"][0], "runtimeConfig": {"ips": [want]}},
                                                *conf["plugins"][1:]]}
            if port_mappings(pod):
                # the runtime hands the pod's hostPorts to the plugins that declare the portMappings capability
                run_conf = {**run_conf, "plugins": [
                    {**p, "runtimeConfig": runtime_config(pod)} if (p.get("capabilities") or {}).get("portMappings")
                    else p for p in run_conf["plugins"]]}
            cid = container_id(pod)
            result = add_network_list(run_conf, run_in=tn.netns, container_id=cid, netns=ns, ifname="eth0",
                                      cni_path=lay.cni_path, cni_args=k8s_cni_args(pod.namespace, pod.name, cid))
            save_result(lab.workdir / "cni-results", conf["name"], cid, "eth0", result)
            got = result.addresses()
            if got != [want]:
                raise LabError(f"host-local gave pod {pod.key} {', '.join(got) or 'no address'} on {name}, "
                               f"the model says {want}: the lab and the simulator disagree on IPAM")
            host = [i["name"] for i in result.host_interfaces() if i["name"].startswith("veth")]
            lay.netns[f"pod/{pod.key}"] = ns
            if host:
                lay.devices.setdefault(model_node, {})[host_veth_name(pod)] = host[0]
                lay.devices.setdefault(f"pod/{pod.key}", {})["eth0"] = "eth0"
            _serve(lab, pod, ns, lay, dns_pods)


def _replay_pods(lab: Lab, cluster: Cluster, nodes: dict[str, TopoNode], lay: Layout, dns_pods: set[str]) -> None:
    """The pods of a CNI whose plugin the lab lacks: its writes for each pod, made with ip and sysctl."""
    from k8snetviz.agents.kubelet.network import pod_writes

    for index, pod in enumerate(p for p in cluster.pods.values() if not p.host_network):
        ns = lab.add_netns(_role(f"p{index + 1}-{pod.name}"))
        lay.netns[f"pod/{pod.key}"] = ns
        lab.run_in(ns, ["ip", "link", "set", "lo", "up"])
        node = cluster.nodes[pod.node_name]
        # the sandbox is the namespace just made; the rest is what the plugin's ADD does
        writes = [w for w in expand(pod_writes(cluster.cni, node, pod)) if not isinstance(w, NetnsAdd)]
        replay(lab, writes, lay.netns, nodes[node.name].netns)
        _serve(lab, pod, ns, lay, dns_pods)


def _serve(lab: Lab, pod: Any, ns: str, lay: Layout, dns_pods: set[str]) -> None:
    ports = _ports(pod)
    if pod.key in dns_pods:  # port 53 is the DNS server's
        ports = {proto: [p for p in ps if p != DNS_PORT] for proto, ps in ports.items()}
    if ports["tcp"] or ports["udp"]:
        podserver.start(lab, ns, pod.key, ports["tcp"], ports["udp"])
        lay.servers[f"pod/{pod.key}"] = ports


def _launch_dns(lab: Lab, cluster: Cluster, scenario: str, lay: Layout,
                dns_pods: set[str]) -> list[dnsserver.DNSServerProcess]:
    """Start the model's CoreDNS in each CoreDNS pod, and the outside world's DNS at the gateway if used."""
    from k8snetviz.questions.resolve import cluster_dns, pod_dns

    servers = []
    for key in sorted(dns_pods):
        ns = lay.netns.get(f"pod/{key}")
        pod = cluster.pods[key]
        if ns is None or pod.ip is None:
            continue
        servers.append(dnsserver.launch(lab, ns, scenario, role="coredns", port=DNS_PORT))
        lay.dns[f"pod/{key}"] = {"netns": ns, "address": str(pod.ip), "role": "coredns", "log": str(servers[-1].log)}

    dns = cluster_dns(cluster)
    gateway = str(cluster.config.gateway)
    wanted = bool(cluster.config.upstream_dns)
    for pod in cluster.pods.values():
        if pod.host_network or pod.key in dns_pods:
            continue
        try:
            nameservers = pod_dns(cluster, pod).resolv_conf.nameservers
        except K8sNetVizError:
            continue  # said in _prepare_resolvers
        for addr in nameservers:
            if dns.nameserver(addr).kind != "upstream":
                continue
            if addr == gateway:
                wanted = True
            else:
                note = f"no DNS server in the lab at {addr}: lookups through it are not checked"
                if note not in lay.notes:
                    lay.notes.append(note)
    if wanted:
        # the node network's gateway stands for the kind node's resolver (172.18.0.1 in kind)
        role = f"server:{gateway}" if gateway in dns.servers else "upstream"
        servers.append(dnsserver.launch(lab, lay.gateway, scenario, role=role, port=DNS_PORT))
        lay.dns["gateway"] = {"netns": lay.gateway, "address": gateway, "role": role, "log": str(servers[-1].log)}
    return servers


def hosts_file(cluster: Cluster, pod: Any) -> str:
    """The pod's /etc/hosts as the kubelet writes it: one line per address with its names."""
    from k8snetviz.questions.resolve import etc_hosts

    by_ip: dict[str, list[str]] = {}
    for name, ips in etc_hosts(cluster, pod).items():
        for ip in ips:
            by_ip.setdefault(ip, []).append(name)
    return "# Kubernetes-managed hosts file.\n" + "".join(f"{ip}\t{' '.join(n)}\n" for ip, n in by_ip.items())


def _prepare_resolvers(lab: Lab, cluster: Cluster, lay: Layout) -> None:
    """Each pod namespace's resolv.conf, hosts and nsswitch.conf, as the kubelet and the image have them."""
    from k8snetviz.questions.resolve import pod_dns

    for pod in cluster.pods.values():
        ns = lay.netns.get(f"pod/{pod.key}")
        if ns is None:  # hostNetwork: the node's files
            continue
        try:
            text = pod_dns(cluster, pod).resolv_conf.render()
        except K8sNetVizError as exc:
            lay.notes.append(f"pod {pod.key} has no resolv.conf: {exc}")
            continue
        dnsserver.prepare_resolver(lab, ns, text, hosts_file(cluster, pod))


def _apply_overrides(lab: Lab, cluster: Cluster, lay: Layout) -> None:
    """The scenario's troubleshooting changes, made in the kernel as an admin would make them."""
    from k8snetviz.kernel.routing import Route

    for o in cluster.config.overrides:
        ns = lay.netns.get(o.target)
        if ns is None:
            continue
        for dst in o.delete_routes:
            # the node's own set-up above already left the route out; a kernel or plugin row goes here
            lab.run_in(ns, ["ip", "route", "del", dst], check=False)
        for text in o.add_routes:
            r = Route.parse(text)
            lab.run_in(ns, _ip_route(r, lay.real_dev(o.target, r.dev or "eth0")))


def _add_externals(lab: Lab, cluster: Cluster, lay: Layout, gateway_ns: str) -> None:
    cfg = cluster.config
    forward = False
    for i, ext in enumerate(cluster.externals.values()):
        in_lan = ext.ip in cfg.node_network
        prefix = cfg.node_network.prefixlen if in_lan else 32
        tn = add_node(lab, lay.lan, _role(f"ext-{ext.name}"), f"{ext.ip}/{prefix}", "0.0.0.0/32", port=f"x{i}")
        lab.sysctl(tn.netns, "net.ipv4.ip_forward", "0")
        route = ["ip", "route", "replace", "default", "via", str(cfg.gateway), "dev", "eth0"]
        lab.run_in(tn.netns, [*route, "onlink"] if not in_lan else route)
        if not in_lan:
            lab.run_in(gateway_ns, ["ip", "route", "replace", str(ext.ip), "dev", "eth0"])
            forward = True
        lay.netns[f"external/{ext.name}"] = tn.netns
    if forward:
        lab.sysctl(gateway_ns, "net.ipv4.ip_forward", "1")


def up(scenario: str, *, lab_id: str | None = None, run_dir: Path = RUN_DIR) -> Layout:
    """``lab up``: check, then build; on any failure or signal everything is removed again."""
    import k8snetviz

    cluster = k8snetviz.load(scenario)
    check_size(cluster)
    cni_path = preflight()
    dnsserver.require_dnslib()  # before anything is built: the DNS servers start last
    ident = lab_id or lab_id_for(scenario)
    with Lab(ident, keep=True, run_dir=run_dir) as lab:
        return build(lab, cluster, scenario, cni_path)


def load_layout(lab_id: str, run_dir: Path = RUN_DIR) -> Layout:
    """The layout ``lab up`` saved; a clear error when the lab is not up."""
    path = run_dir / lab_id / LAYOUT
    if not path.exists():
        raise LabError(f"lab {lab_id!r} is not up (no {path}); run: k8snetviz lab up SCENARIO")
    data = json.loads(path.read_text())
    return Layout(**data)
