"""``lab verify``: run a suite of traces for real and with the simulator, and compare.

For each case (pod to pod on the same node and across nodes, pod to node, node to pod, and for
every Service: pod to its ClusterIP, hairpin, a node to a NodePort on 127.0.0.1, outside client to
each NodePort and to the LoadBalancer IP) the lab asks the pod server for real and the simulator walks the same packet:

- delivered or not;
- which pod (or node) answered - for a Service with several endpoints the simulator is told
  (``endpoint=``) the pod that really answered, which must be among its ``candidates``;
- the client address the receiver saw (the simulator's ``final.src``);
- at every hop where the simulated walk consults a routing table, ``ip route get DST`` in that
  namespace: the kernel's device and gateway against the simulated row's.

Each namespace's whole ``ip route`` is also compared with the model's (the plugins' random veth
names mapped to the model's). Cluster DNS is checked by :mod:`k8snetviz.lab.dnsverify`: the queries
the real glibc resolver sends from a few pods, in order, against the simulator's search-list plan.
The table ends with ``N agree, M disagree``.

A LoadBalancer is a load balancer outside the cluster that passes packets on unchanged to a node;
the lab plays it with a permanent neighbour entry in the client: the LB IP at the MAC of the node
the simulator's load balancer picked.
"""

from __future__ import annotations

import contextlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from k8snetviz.kernel.routing import Route
from k8snetviz.lab import podserver
from k8snetviz.lab.build import NODE_PORT, Layout, load_layout
from k8snetviz.lab.command import in_netns, run
from k8snetviz.lab.dnsverify import DNSRun
from k8snetviz.lab.errors import LabError
from k8snetviz.lab.state import RUN_DIR
from k8snetviz.questions.labreport import Check, Report

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = ["Case", "Check", "Report", "ProbeFailed", "cases", "verify", "kernel_routes", "route_get"]

ASK_TIMEOUT = 1.0
PARALLEL = 8
_OUTER_DST = re.compile(r"→ (\d+\.\d+\.\d+\.\d+):")


@dataclass(frozen=True)
class Case:
    """One packet to send: from ``src`` (a model reference) to ``ip:port``."""

    label: str
    src: str
    ip: str
    port: int
    proto: str = "TCP"
    via_lb: bool = False

    @property
    def dst(self) -> str:
        return f"{self.ip}:{self.port}"


# -- the suite --------------------------------------------------------------------------------------
def _targets(cluster: Cluster, layout: Layout) -> list[tuple[Any, str, int]]:
    """(pod, proto, port) for every pod with a pod server, its first port."""
    out = []
    for p in cluster.pods.values():
        ports = layout.servers.get(f"pod/{p.key}")
        if not ports:
            continue
        proto, port = ("TCP", ports["tcp"][0]) if ports["tcp"] else ("UDP", ports["udp"][0])
        out.append((p, proto, port))
    return out


def cases(cluster: Cluster, layout: Layout) -> list[Case]:
    """The verify suite for this scenario, derived from its pods, nodes and Services."""
    pods = [p for p in cluster.pods.values() if not p.host_network]
    out: list[Case] = []
    for dst, proto, port in _targets(cluster, layout):
        same = next((p for p in pods if p.node_name == dst.node_name and p.key != dst.key), None)
        other = next((p for p in pods if p.node_name != dst.node_name), None)
        for src, how in ((same, "same node"), (other, "cross node")):
            if src is not None:
                out.append(Case(f"pod->pod {how}", f"pod/{src.key}", str(dst.ip), port, proto))
    nodes = list(cluster.nodes.values())
    for n in nodes:
        src = next((p for p in pods if p.node_name == n.name), None)
        if src is not None:
            out.append(Case("pod->own node", f"pod/{src.key}", str(n.internal_ip), NODE_PORT))
        remote = next((m for m in nodes if m.name != (src.node_name if src else n.name)), None)
        if src is not None and remote is not None:
            out.append(Case("pod->other node", f"pod/{src.key}", str(remote.internal_ip), NODE_PORT))
    for target, proto, port in _targets(cluster, layout):
        own_nodes = [n for n in nodes if n.name == target.node_name]
        other_nodes = [n for n in nodes if n.name != target.node_name][:1]
        for n, kind in [(n, "own") for n in own_nodes] + [(n, "other") for n in other_nodes]:
            out.append(Case(f"node->pod ({kind})", f"node/{n.name}", str(target.ip), port, proto))
    out += _service_cases(cluster, pods, layout)
    out += _hostport_cases(cluster, pods, layout)
    return _dedupe(out)


def _hostport_cases(cluster: Cluster, pods: list[Any], layout: Layout) -> list[Case]:
    """Each served hostPort: from outside, from a pod and the other node, and from its own node's 127.0.0.1."""
    from k8snetviz.agents.cni.portmap import port_mappings

    out: list[Case] = []
    externals = [f"external/{e}" for e in cluster.externals]
    for pod in pods:
        served = layout.servers.get(f"pod/{pod.key}", {})
        for m in port_mappings(pod):
            if m.container_port not in served.get(m.protocol, []) or m.host_ip:
                continue
            node = cluster.nodes[pod.node_name]
            proto = m.protocol.upper()
            label = f"hostPort {m.host_port}/{proto} of pod/{pod.key}"
            if externals:
                out.append(Case(f"external->{label}", externals[0], str(node.internal_ip), m.host_port, proto))
            neighbour = next((p for p in pods if p.node_name == pod.node_name and p.key != pod.key), None)
            if neighbour is not None:
                out.append(Case(f"pod->{label}", f"pod/{neighbour.key}", str(node.internal_ip), m.host_port, proto))
            other = next((n for n in cluster.nodes.values() if n.name != node.name), None)
            if other is not None:
                out.append(Case(f"node->{label}", f"node/{other.name}", str(node.internal_ip), m.host_port, proto))
            if proto == "TCP":
                out.append(Case(f"node->localhost {label}", f"node/{node.name}", "127.0.0.1", m.host_port, proto))
    return out


def _dedupe(items: list[Case]) -> list[Case]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for c in items:
        key = (c.src, c.dst, c.proto)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _served(layout: Layout, pod: Any, sp: Any) -> bool:
    """Does the pod server answer on the port ``sp`` targets in ``pod`` (not a CoreDNS pod's 53)?"""
    target = sp.target_port if sp.target_port is not None else sp.port
    if isinstance(target, str):
        target = next((p.container_port for p in pod.ports if p.name == target and p.protocol == sp.protocol), None)
    return target in layout.servers.get(f"pod/{pod.key}", {}).get(sp.protocol.lower(), [])


def _service_cases(cluster: Cluster, pods: list[Any], layout: Layout) -> list[Case]:
    services = getattr(cluster, "services", None) or {}
    out: list[Case] = []
    externals = [f"external/{e}" for e in cluster.externals]
    for svc in services.values():
        if svc.ip is None or not svc.ports or svc.selector is None:
            continue
        backends = [p for p in pods if p.namespace == svc.namespace
                    and all(p.labels.get(k) == v for k, v in svc.selector.items())]
        if not backends:
            continue
        # the first port the pod server answers on; kube-dns's 53 is the DNS rows' to check
        sp = next((p for p in svc.ports if p.protocol in ("TCP", "UDP") and _served(layout, backends[0], p)), None)
        if sp is None:
            continue
        client = next((p for p in pods if p not in backends), None)
        if client is not None:
            out.append(Case(f"pod->ClusterIP {svc.key}", f"pod/{client.key}", str(svc.ip), sp.port, sp.protocol))
        out.append(Case(f"hairpin {svc.key}", f"pod/{backends[0].key}", str(svc.ip), sp.port, sp.protocol))
        if svc.type in ("NodePort", "LoadBalancer") and sp.node_port and sp.protocol == "TCP":
            # curl localhost:NODEPORT on a node: kube-proxy's localhost NodePorts (iptables mode only)
            node = backends[0].node_name
            out.append(Case(f"node->localhost NodePort {svc.key}", f"node/{node}", "127.0.0.1", sp.node_port))
        if not externals:
            continue
        if svc.type in ("NodePort", "LoadBalancer") and sp.node_port:
            etp = svc.external_traffic_policy or "Cluster"
            for n in cluster.nodes.values():
                out.append(Case(f"external->NodePort {svc.key} ({etp})", externals[0], str(n.internal_ip),
                                sp.node_port, sp.protocol))
        for lb in svc.load_balancer_ips:
            etp = svc.external_traffic_policy or "Cluster"
            out.append(Case(f"external->LoadBalancer {svc.key} ({etp})", externals[0], lb, sp.port, sp.protocol,
                            via_lb=True))
    return out


# -- the kernel's side ------------------------------------------------------------------------------
def _nft_checks(cluster: Cluster, layout: Layout) -> list[Check]:
    """Each nftables table the model holds, as the kernel's ``nft list table`` prints it, line for line."""
    from k8snetviz.views.nft import nft_list_table

    out = []
    for model_ns, lab_ns in layout.netns.items():
        rs = cluster.netns[model_ns].nftables if model_ns in cluster.netns else None
        if rs is None:
            continue
        for t in rs.tables.values():
            done = run(in_netns(lab_ns, ["nft", "list", "table", t.family, t.name]), check=False)
            real = (done.stdout or done.stderr).splitlines()
            sim = nft_list_table(t).splitlines()
            diff = [f"-{x.strip()}" for x in sim if x not in real][:3] + [f"+{x.strip()}" for x in real
                                                                          if x not in sim][:3]
            out.append(Check(f"nft list table {t.family} {t.name} in {model_ns}", f"{len(real)} lines",
                             f"{len(sim)} lines", real == sim, "; ".join(diff) or "same lines, other order"))
    return out


def _sysctl_checks(cluster: Cluster, layout: Layout) -> list[Check]:
    """``route_localnet`` in each node, for the namespace and per device: what kube-proxy and portmap set."""
    out = []
    for model_ns, lab_ns in layout.netns.items():
        if not model_ns.startswith("node/"):
            continue
        ns = cluster.netns[model_ns]
        keys = ["net.ipv4.conf.all.route_localnet"] + sorted(
            k for k in ns.sysctls if k.endswith(".route_localnet") and ".all." not in k)
        for key in keys:
            dev = key.split(".")[3]
            real_key = key.replace(f".{dev}.", f".{layout.real_dev(model_ns, dev)}.")
            done = run(in_netns(lab_ns, ["sysctl", "-n", real_key]), check=False)
            real = done.stdout.strip() or done.stderr.strip()
            out.append(Check(f"sysctl {key} in {model_ns}", real, ns.sysctl(key), real == ns.sysctl(key), ""))
    return out


def route_get(netns: str, addr: str) -> dict[str, Any]:
    """``ip -j route get ADDR`` in ``netns``: dst, gateway, dev, prefsrc (or ``error``)."""
    done = run(in_netns(netns, ["ip", "-j", "route", "get", addr]), check=False)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()}
    data = json.loads(done.stdout or "[]")
    return data[0] if data else {"error": "no answer"}


def kernel_routes(netns: str) -> list[str]:
    """``ip route`` in ``netns``, each row without the kernel's trailing space."""
    return [line.rstrip() for line in run(in_netns(netns, ["ip", "route"])).stdout.splitlines() if line.strip()]


def _rename(line: str, names: dict[str, str]) -> str:
    words = line.split()
    return " ".join(names.get(w, w) for w in words)


def _node_mac(netns: str) -> str:
    return run(in_netns(netns, ["ip", "-br", "link", "show", "dev", "eth0"])).stdout.split()[2]


# -- comparing ----------------------------------------------------------------------------------------
def _receiver(t: TraceResult) -> str:
    if t.final and t.final.get("pod"):
        return str(t.final["pod"])
    for h in reversed(t.request_hops):  # the request's delivery, not the reply's arrival back home
        if h.action == "deliver":
            return h.at
    return ""


def _ip_of(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[0] if endpoint else ""


@dataclass(frozen=True)
class ProbeFailed:
    """A probe that gave no answer at all (its client hung, or could not start): nothing is known about
    the packet, so the case is recorded as a failed check with this reason and the suite goes on."""

    reason: str


def _ask(layout: Layout, case: Case, src_model: str, sim: TraceResult) -> podserver.Answer | ProbeFailed:
    """Send the case's packet for real (the load balancer played by a neighbour entry)."""
    src_ns = layout.netns[src_model]
    neigh: list[str] | None = None
    try:
        if case.via_lb:
            node = next((h.at for h in sim.hops if h.at.startswith("node/")), None)
            if node is not None:
                mac = _node_mac(layout.netns[node])
                neigh = ["ip", "neigh", "replace", case.ip, "lladdr", mac, "dev", "eth0", "nud", "permanent"]
                run(in_netns(src_ns, neigh))
        return podserver.ask(src_ns, case.proto.lower(), case.ip, case.port, timeout=ASK_TIMEOUT)
    except LabError as e:  # a slow or broken probe is this case's failure, not the end of verify
        return ProbeFailed(str(e))
    finally:
        if neigh is not None:
            with contextlib.suppress(LabError):  # the next case through this address replaces the entry anyway
                run(in_netns(src_ns, ["ip", "neigh", "del", case.ip, "dev", "eth0"]), check=False)


def _run_case(cluster: Cluster, layout: Layout, case: Case, ans: podserver.Answer | ProbeFailed, sim: TraceResult,
              report: Report, seen_routes: set[tuple[str, str]]) -> None:
    what = f"{case.label}: {case.src} -> {case.dst}/{case.proto}"
    detail = ""
    if isinstance(ans, ProbeFailed):
        report.checks.append(Check(what, "no answer from the probe", _simulated(sim), False,
                                   f"the probe failed, so the kernel's side is unknown: {ans.reason}"))
        _route_checks(layout, sim, report, seen_routes)
        return
    if ans.ok and sim.candidates:
        picked = [c["pod"] for c in sim.candidates]
        if ans.pod in picked:
            sim = cluster.trace(case.src, case.dst, protocol=case.proto, endpoint=ans.pod)
        else:
            detail = f"the kernel's pick {ans.pod} is not among the simulator's candidates {picked}; "
    real = f"answered by {ans.pod}, saw {_ip_of(ans.peer)}" if ans.ok else f"not delivered ({ans.error})"
    simulated = _simulated(sim)
    agree = (real == simulated) if ans.ok and sim.delivered else (ans.ok == sim.delivered)
    if not agree:
        detail += f"simulator: {sim.reason}"
    report.checks.append(Check(what, real, simulated, agree and not detail, detail))
    _route_checks(layout, sim, report, seen_routes)


def _simulated(sim: TraceResult) -> str:
    if sim.delivered:
        return f"answered by {_receiver(sim)}, saw {_ip_of(str(sim.final['src']))}" if sim.final else "delivered"
    return f"not delivered ({sim.verdict})"


def _route_checks(layout: Layout, sim: TraceResult, report: Report, seen: set[tuple[str, str]]) -> None:
    for h in sim.hops:
        if h.action != "route" or not h.rule or h.reply or h.at not in layout.netns:
            continue
        if h.decided_by is not None and h.decided_by.kind != "route":
            continue  # a sysctl that let the routed packet pass (route_localnet)
        m = _OUTER_DST.search(h.outer) if h.outer else None
        addr = m.group(1) if m else _ip_of(h.dst)
        if (h.at, addr) in seen:
            continue
        seen.add((h.at, addr))
        r = Route.parse(h.rule.removeprefix("local ").replace(" table local", ""))
        if h.rule.startswith("local "):
            r = r.with_dev("lo")  # a row of the local table: the kernel delivers through lo (ip route get says so)
        got = route_get(layout.netns[h.at], addr)
        real_dev = layout.model_dev(h.at, str(got.get("dev", "")))
        real = f"dev {real_dev}" + (f" via {got['gateway']}" if got.get("gateway") else "") \
            if "error" not in got else got["error"]
        simulated = f"dev {r.dev}" + (f" via {r.via}" if r.via else "")
        detail = "" if real == simulated else f"kernel route get: {json.dumps(got)}; simulated row: {h.rule}"
        report.checks.append(Check(f"ip route get {addr} in {h.at}", real, simulated, real == simulated, detail))


def _not_checkable(cluster: Cluster, layout: Layout, case: Case, sim: TraceResult) -> str | None:
    """Why the lab cannot check a case: the walk (or a walk to any endpoint kube-proxy may pick) crosses a
    device the lab's kernel cannot make, or a NetworkPolicy decides it (no CNI agent runs in the lab to
    enforce one: the lab's pods reach each other whatever the policies say)."""
    walks = [sim]
    if layout.unbuilt or sim.candidates:
        walks += [cluster.trace(case.src, case.dst, protocol=case.proto, endpoint=c["pod"])
                  for c in sim.candidates if c.get("pod") and "/" in str(c["pod"])]
    for walk in walks:
        where = layout.crosses_unbuilt(walk.hops) if layout.unbuilt else None
        if where is not None:
            return f"the walk crosses {where}, which the lab's kernel cannot make"
        last = walk.hops[-1] if walk.hops else None
        if walk.verdict == "dropped" and last is not None and last.decided_by is not None \
                and last.decided_by.kind == "policy":
            return (f"a NetworkPolicy drops it ({last.decided_by.owner.component} enforces it), and no policy agent "
                    "runs in the lab")
    return None


def verify(cluster: Cluster, lab_id: str, *, run_dir: Path = RUN_DIR) -> Report:
    """Run the suite against the lab ``lab_id`` (built from ``cluster`` by ``lab up``)."""
    layout = load_layout(lab_id, run_dir)
    report = Report()
    for model_ns, lab_ns in layout.netns.items():
        names = {layout.real_dev(model_ns, m): m for m in layout.devices.get(model_ns, {})}
        real = [_rename(line, names) for line in kernel_routes(lab_ns)]
        unbuilt = layout.unbuilt.get(model_ns, [])
        sim = [str(r) for r in cluster.netns[model_ns].routes.sorted() if r.dev not in unbuilt]
        if unbuilt:
            report.notes.append(f"ip route in {model_ns}: the rows through {', '.join(unbuilt)} are not compared "
                                "(the lab's kernel cannot make the device)")
        diff = [f"-{x}" for x in sim if x not in real] + [f"+{x}" for x in real if x not in sim]
        report.checks.append(Check(f"ip route in {model_ns}", f"{len(real)} rows", f"{len(sim)} rows",
                                   real == sim, "; ".join(diff) or "same rows, other order"))
    for model_ns, real_lines in layout.portmap.items():
        # the real portmap plugin's rules (as it left them at ADD) against the model's
        from k8snetviz.lab.build import portmap_lines

        sim_lines = portmap_lines(str(cluster.iptables(model_ns.removeprefix("node/"))))
        if real_lines or sim_lines:
            diff = [f"-{x}" for x in sim_lines if x not in real_lines] + [f"+{x}" for x in real_lines
                                                                           if x not in sim_lines]
            report.checks.append(Check(f"portmap rules in {model_ns}", f"{len(real_lines)} lines",
                                       f"{len(sim_lines)} lines", real_lines == sim_lines,
                                       "; ".join(diff) or "same lines, other order"))
    report.checks += _sysctl_checks(cluster, layout)
    report.checks += _nft_checks(cluster, layout)
    dns = DNSRun(cluster, layout)  # the simulator's side now, in this thread
    dns.start()
    seen: set[tuple[str, str]] = set()
    suite = cases(cluster, layout)
    # the packets are independent (each client socket, each LB address its own): send them side by side
    # the simulator first, in this thread (the model is not shared across threads)
    traces = [cluster.trace(c.src, c.dst, protocol=c.proto) for c in suite]
    checkable = [_not_checkable(cluster, layout, c, t) for c, t in zip(suite, traces, strict=True)]
    for case, why in zip(suite, checkable, strict=True):
        if why:
            report.notes.append(f"not checked: {case.label}: {case.src} -> {case.dst}/{case.proto}: {why}")
    suite = [c for c, why in zip(suite, checkable, strict=True) if not why]
    traces = [t for t, why in zip(traces, checkable, strict=True) if not why]
    srcs = [cluster.netns_of(c.src).name for c in suite]
    pool = ThreadPoolExecutor(max_workers=PARALLEL)
    try:
        futures = [pool.submit(_ask, layout, suite[i], srcs[i], traces[i]) for i in range(len(suite))]
        answers = [f.result() for f in futures]
    finally:
        # on an interrupt the probes not yet sent are dropped; those under way finish and clean up after them
        pool.shutdown(wait=True, cancel_futures=True)
    for case, ans, trace in zip(suite, answers, traces, strict=True):
        _run_case(cluster, layout, case, ans, trace, report, seen)
    report.checks += dns.checks()
    report.notes += dns.notes
    return report

