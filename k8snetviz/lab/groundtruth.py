"""Ground truth for the simulator: two nodes, two pods each, wired by the real plugins.

For each CNI model (``bridge``, ``kindnet``, ``flannel``) this builds, in the kernel, the
set-up a kind-like cluster has - nodes ``kind-control-plane`` (172.18.0.2/16, podCIDR
10.244.0.0/24) and ``kind-worker`` (172.18.0.3/16, 10.244.1.0/24) on one LAN, pods
``default/a0``, ``default/a1`` on the first and ``default/b0``, ``default/b1`` on the second - and
records what the kernel then says: ``ip route``, ``ip -br addr``, ``ip -br link``,
``ip -d link show`` of the devices that matter, the CNI results, host-local's files, and
whether TCP, UDP and ping work between pods and nodes (and which source address the
receiver sees). Then it takes the lab down.

Run as root: ``python3 -m k8snetviz.lab.groundtruth /tmp/lab-facts [bridge kindnet flannel]``.

The conflists come from :mod:`k8snetviz.agents.cni.config` (their one source), the real ones:
kindnetd's template (kind ``images/kindnetd/cmd/kindnetd/cni.go``)
and the bridge configuration flannel's CNI plugin hands to its delegate (flannel-io/cni-plugin
``flannel_linux.go``: ``name``/``cniVersion`` from the list, ``isGateway`` true, ``mtu`` and
``ipMasq`` from ``/run/flannel/subnet.env``, host-local ranges = ``FLANNEL_SUBNET``, routes =
``FLANNEL_NETWORK``; kube-flannel.yml's delegate adds ``hairpinMode`` and ``isDefaultGateway``).
Debian ships no ``flannel`` binary, so the lab runs that delegate configuration directly.
The only change from the originals: host-local's ``dataDir`` points into the lab's own directory.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from k8snetviz.agents.cni import plugin
from k8snetviz.agents.cni.flannel import subnet_env as flannel_subnet_env
from k8snetviz.lab import podserver
from k8snetviz.lab.cniexec import CNIResult, check_network_list, del_network_list
from k8snetviz.lab.netns import Lab
from k8snetviz.lab.preflight import preflight
from k8snetviz.lab.topology import (
    Node,
    Pod,
    add_flannel_peer,
    add_flannel_vxlan,
    add_lan,
    add_node,
    add_pod,
    add_route,
)

__all__ = [
    "MODELS",
    "NODES",
    "CLUSTER_CIDR",
    "Probe",
    "Build",
    "build",
    "record",
    "main",
]

CLUSTER_CIDR = "10.244.0.0/16"
# (node name, node address, podCIDR, the LAN port's name)
NODES = (
    ("kind-control-plane", "172.18.0.2/16", "10.244.0.0/24", "cp"),
    ("kind-worker", "172.18.0.3/16", "10.244.1.0/24", "w1"),
)
PODS = {"kind-control-plane": ("a0", "a1"), "kind-worker": ("b0", "b1")}
MODELS = ("bridge", "kindnet", "flannel")
TCP_PORT, UDP_PORT = 8080, 5353


# -- building -------------------------------------------------------------------------------------
@dataclass
class Probe:
    """One connectivity check and what the kernel did with it."""

    source: str
    target: str
    proto: str  # tcp | udp | icmp
    ok: bool
    peer: str = ""  # the source address the target's socket saw
    answered_by: str = ""
    error: str = ""


@dataclass
class Build:
    model: str
    conflists: dict[str, dict[str, Any]]  # node name -> the conflist run on it
    nodes: list[Node] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)


def _conflist_for(model: str, pod_cidr: str, data_dir: str) -> dict[str, Any]:
    # The same entry the model's nodes use (agents/cni): the conflist the plugins really run.
    return plugin(model, IPv4Network(CLUSTER_CIDR)).runtime_conflist(pod_cidr, data_dir)


def build(lab: Lab, model: str, cni_path: str = "/usr/lib/cni") -> Build:
    """Build the two-node cluster for ``model`` inside ``lab``; pod servers included."""
    lan = add_lan(lab)
    b = Build(model, {})
    for name, ip, cidr, port in NODES:
        b.nodes.append(add_node(lab, lan, name, ip, cidr, port=port))
    if model == "flannel":
        macs = {n.name: add_flannel_vxlan(lab, n) for n in b.nodes}
        for n in b.nodes:
            for peer in b.nodes:
                if peer is not n:
                    add_flannel_peer(lab, n, peer, macs[peer.name])
    else:
        # kindnetd (and the classic layer-3 set-up) route each other podCIDR via that node's IP
        for n in b.nodes:
            for peer in b.nodes:
                if peer is not n:
                    add_route(lab, n.netns, peer.pod_cidr, peer.ip)
    for n in b.nodes:
        # each node has its own host-local store, as each real node has its own disk
        conf = _conflist_for(model, n.pod_cidr, str(lab.ipam_dir / n.name))
        b.conflists[n.name] = conf
        for pod_name in PODS[n.name]:
            pod = add_pod(lab, n, "default", pod_name, conf, cni_path=cni_path)
            b.pods.append(pod)
            podserver.start(lab, pod.netns, f"default/{pod_name}", [TCP_PORT], [UDP_PORT])
    return b


def _ping(lab: Lab, netns: str, ip: str) -> bool:
    return lab.run_in(netns, ["ping", "-n", "-c", "1", "-W", "1", ip], check=False).returncode == 0


def probes(lab: Lab, b: Build) -> list[Probe]:
    """TCP, UDP and ping: same-node and cross-node pod to pod, node to pod, pod to node."""
    a0, a1, b0, _b1 = b.pods
    cp, worker = b.nodes
    pairs: list[tuple[str, str, str, str]] = [  # (source label, source netns, target label, target ip)
        ("pod/default/a0", a0.netns, "pod/default/a1", a1.ip),
        ("pod/default/a0", a0.netns, "pod/default/b0", b0.ip),
        ("node/kind-control-plane", cp.netns, "pod/default/a0", a0.ip),
        ("node/kind-control-plane", cp.netns, "pod/default/b0", b0.ip),
        ("node/kind-worker", worker.netns, "pod/default/a1", a1.ip),
    ]
    out: list[Probe] = []
    for src, ns, dst, ip in pairs:
        for proto, port in (("tcp", TCP_PORT), ("udp", UDP_PORT)):
            ans = podserver.ask(ns, proto, ip, port)
            out.append(Probe(src, f"{dst} {ip}:{port}", proto, ans.ok, ans.peer, ans.pod, ans.error))
        out.append(Probe(src, f"{dst} {ip}", "icmp", _ping(lab, ns, ip)))
    for src, ns, dst, ip in (
        ("pod/default/a0", a0.netns, "node/kind-worker", worker.ip),
        ("pod/default/b0", b0.netns, "node/kind-control-plane", cp.ip),
    ):
        out.append(Probe(src, f"{dst} {ip}", "icmp", _ping(lab, ns, ip)))
    return out


# -- recording ------------------------------------------------------------------------------------
def _devices(lab: Lab, netns: str) -> list[str]:
    names = []
    for line in lab.run_in(netns, ["ip", "-br", "link"]).stdout.splitlines():
        name = line.split()[0].split("@")[0]
        if name != "lo":
            names.append(name)
    return names


def _section(lab: Lab, netns: str, title: str, commands: Sequence[Sequence[str]]) -> str:
    parts = [f"### {title}  (netns {netns})"]
    for argv in commands:
        done = lab.run_in(netns, argv, check=False)
        parts.append("$ " + " ".join(argv))
        parts.append((done.stdout + done.stderr).rstrip("\n"))
    return "\n".join(parts) + "\n"


def record(lab: Lab, b: Build, outdir: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write the transcripts of one build to ``outdir/<model>/``; return the facts as a dict."""
    d = outdir / b.model
    d.mkdir(parents=True, exist_ok=True)
    (d / "conflists.json").write_text(json.dumps(b.conflists, indent=2) + "\n")
    if b.model == "flannel":
        flannel = plugin("flannel", IPv4Network(CLUSTER_CIDR))
        (d / "10-flannel.conflist").write_text(json.dumps(flannel.conflist(""), indent=2) + "\n")
        (d / "subnet.env").write_text("".join(f"# {n.name}\n{flannel_subnet_env(n.pod_cidr)}" for n in b.nodes))
    text = [f"# ground truth: CNI model {b.model}\n"]
    for n in b.nodes:
        cmds: list[list[str]] = [["ip", "route"], ["ip", "-br", "addr"], ["ip", "-br", "link"]]
        cmds += [["ip", "-d", "link", "show", dev] for dev in _devices(lab, n.netns)]
        if b.model == "flannel":
            cmds += [
                ["ip", "neigh", "show", "dev", "flannel.1"],
                ["bridge", "fdb", "show", "dev", "flannel.1"],
            ]
        cmds += [["sysctl", "net.ipv4.ip_forward"]]
        text.append(_section(lab, n.netns, f"node {n.name}", cmds))
    for p in b.pods:
        cmds = [
            ["ip", "route"],
            ["ip", "-br", "addr"],
            ["ip", "-br", "link"],
            ["ip", "-d", "link", "show", "eth0"],
        ]
        text.append(_section(lab, p.netns, f"pod {p.namespace}/{p.name} on {p.node.name}", cmds))
    a0, _a1, b0, _b1 = b.pods
    cp, worker = b.nodes
    text.append(
        _section(lab, a0.netns, "route lookups from pod default/a0", [["ip", "route", "get", b0.ip]])
        + _section(
            lab,
            cp.netns,
            "route lookups on kind-control-plane",
            [
                ["ip", "route", "get", b0.ip, "from", a0.ip, "iif", _host_dev(a0)],
                ["ip", "route", "get", b0.ip],
            ],
        )
        + _section(
            lab,
            worker.netns,
            "route lookups on kind-worker",
            [["ip", "route", "get", b0.ip, "from", a0.ip, "iif", "eth0"]],
        )
    )
    ipam = sorted(p for p in Path(lab.ipam_dir).rglob("*") if p.is_file())
    text.append(
        "### host-local dataDir ("
        + str(lab.ipam_dir)
        + ")\n"
        + "\n".join(f"{p.relative_to(lab.ipam_dir)}: {p.read_text()!r}" for p in ipam)
        + "\n"
    )
    results = {f"{p.namespace}/{p.name}": p.result.raw for p in b.pods}
    (d / "cni-results.json").write_text(json.dumps(results, indent=2) + "\n")
    found = probes(lab, b)
    text.append(
        "### connectivity\n"
        + "\n".join(
            f"{pr.source} -> {pr.target} {pr.proto}: "
            + (
                "ok" + (f" (answered by {pr.answered_by}, peer seen {pr.peer})" if pr.answered_by else "")
                if pr.ok
                else f"FAILED {pr.error}"
            )
            for pr in found
        )
        + "\n"
    )
    text.append(_lifecycle(lab, b))
    (d / "transcript.txt").write_text("\n".join(text))
    log(f"{b.model}: wrote {d}/transcript.txt ({sum(pr.ok for pr in found)}/{len(found)} probes ok)")
    return {"model": b.model, "probes": [pr.__dict__ for pr in found], "results": results}


def _host_dev(pod: Pod) -> str:
    hosts = pod.result.host_interfaces()
    veths = [i["name"] for i in hosts if i["name"].startswith("veth")]
    return veths[0] if veths else hosts[0]["name"]


def _lifecycle(lab: Lab, b: Build) -> str:
    """CHECK (where the version allows it) and DEL of the last pod, with the node after DEL."""
    pod = b.pods[-1]
    conf = b.conflists[pod.node.name]
    kw: dict[str, Any] = {"run_in": pod.node.netns, "container_id": pod.container_id, "netns": pod.netns}
    lines = [f"### CHECK and DEL of pod {pod.namespace}/{pod.name} (cniVersion {conf['cniVersion']})"]
    try:
        check_network_list(conf, pod.result, **kw)
        lines.append("CHECK: ok (no output)")
    except Exception as exc:  # the message is the fact recorded here
        lines.append(f"CHECK: {exc}")
    del_network_list(conf, CNIResult.from_json(pod.result.raw), **kw)
    lines.append("DEL: ok; then:")
    text = "\n".join(lines) + "\n"
    text += _section(lab, pod.node.netns, f"node {pod.node.name} after DEL", [["ip", "-br", "link"], ["ip", "route"]])
    text += _section(lab, pod.netns, f"pod {pod.namespace}/{pod.name} after DEL", [["ip", "-br", "addr"]])
    ipam = sorted(p.relative_to(lab.ipam_dir) for p in Path(lab.ipam_dir).rglob("*") if p.is_file())
    text += "host-local files after DEL: " + ", ".join(map(str, ipam)) + "\n"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    outdir = Path(args.pop(0) if args else "/tmp/lab-facts")
    models = args or list(MODELS)
    cni_path = preflight()
    facts = {}
    for model in models:
        with Lab(f"gt-{model}", keep=False) as lab:
            b = build(lab, model, cni_path)
            facts[model] = record(lab, b, outdir)
    (outdir / "facts.json").write_text(json.dumps(facts, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
