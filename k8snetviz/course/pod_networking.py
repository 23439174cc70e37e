"""The predictions, tasks, checkers and solutions of notebooks 01 (node networking) and 02 (pod networking).

Every answer below is a fact about the shipped scenarios; ``tests/test_course.py`` checks each one
against the model, so a change in the model that makes a question wrong fails the tests.

>>> task_longest_prefix().check("10.244.2.0/24 via 172.18.0.3 dev eth0").passed
True
>>> predict_source_address().is_correct("10.244.1.4, the client pod's own address")
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, ip_address
from typing import Any

import k8snetviz
from k8snetviz.api.defaults import API_VERSION
from k8snetviz.api.refs import Ref
from k8snetviz.cluster import Cluster
from k8snetviz.course.quiz import Predict, TextBlock
from k8snetviz.course.tasks import CheckResult, Solution, Task, parse_route, resulting_cluster
from k8snetviz.course.terminal import run
from k8snetviz.kernel.routing import Route
from k8snetviz.scenario.loader import parse_text, read_scenario

__all__ = [
    "BRIDGE", "BROKEN_ROUTE", "IP_FORWARD_OFF", "KINDNET", "FLANNEL",
    "route_checker", "fix_checker", "task_warm_up",
    "predict_node_to_node", "predict_outside", "predict_longest_prefix", "predict_ip_forward",
    "predict_forward_to_self", "task_internal_ip", "task_longest_prefix", "task_ip_forward",
    "predict_same_node", "predict_source_address", "predict_pod_gateway", "predict_kindnet_same_node",
    "predict_vxlan_outer", "predict_vxlan_mtu", "task_route_on_node_b", "task_missing_route", "task_vxlan_peer",
    "node_networking_predictions", "node_networking_tasks", "pod_networking_predictions", "pod_networking_tasks",
    "address_ranges", "predict_pod_cidr_owner", "predict_range_of", "task_address_ranges", "RANGES_SOLUTION",
]

BRIDGE = "two-node-bridge"
BROKEN_ROUTE = "broken-route"
IP_FORWARD_OFF = "ip-forward-off"
KINDNET = "kind-default"
FLANNEL = "flannel-vxlan"


# --- checkers -----------------------------------------------------------------------------------------

def _one_line(answer: str) -> str:
    lines = [ln for ln in answer.strip().splitlines() if ln.strip()]
    return lines[0] if len(lines) == 1 else ""


def _dst(route: Route) -> str:
    return f"default ({route.dst})" if route.is_default else str(route.dst)


def route_checker(scenario: str, target: str, address: str,
                  proof: Callable[[Cluster], object] | None = None) -> Callable[[str], CheckResult]:
    """A checker for "which row of ``target``'s routing table carries a packet to ``address``?".

    The answer is one row as ``ip route`` prints it; destination, ``via`` and ``dev`` must match
    the row the kernel's longest-prefix match picks.
    """
    addr = IPv4Address(address)

    def check(answer: str) -> CheckResult:
        line = _one_line(answer)
        if not line:
            return CheckResult.fail("write exactly one row of the routing table, on one line")
        given = parse_route(line)
        cluster = k8snetviz.load(scenario)
        ns = cluster.netns_of(target)
        chosen = ns.routes.lookup(addr)
        rows = [r for r in ns.routes.sorted() if r.dst == given.dst]
        if not rows:
            return CheckResult.fail(f"{target} has no row for {given}: run `ip route` on it and pick one of "
                                    "its rows")
        row = rows[0]
        problems = []
        if given.via is not None and row.via != given.via:
            problems.append(f"the row for {row.dst} goes " + (f"via {row.via}" if row.via else "to no gateway "
                            "(the destination is directly connected)") + f", not via {given.via}")
        if given.dev is not None and row.dev != given.dev:
            problems.append(f"the row for {row.dst} leaves through dev {row.dev}, not dev {given.dev}")
        if addr not in row.dst:
            problems.append(f"{addr} is not inside {row.dst}, so that row cannot match it")
        elif chosen is not None and row != chosen and row.dst.prefixlen == chosen.dst.prefixlen:
            problems.append(f"two rows have the prefix {row.dst}; the kernel takes the one with the lowest metric, "
                            f"`{chosen}`")
        elif chosen is not None and row != chosen:
            problems.append(f"{_dst(row)} does contain {addr}, but so does {_dst(chosen)}, which is longer "
                            f"(/{chosen.dst.prefixlen} beats /{row.dst.prefixlen}): the longest prefix wins")
        if problems:
            return CheckResult.fail(*problems)
        why = f" ({chosen.why})" if chosen is not None and chosen.why else ""
        return CheckResult.ok(f"{target} sends packets for {addr} by the row `{chosen}`{why}.",
                              proof=proof(cluster) if proof else cluster.routes(target))

    return check


def _scenario_doc_name(scenario: str) -> str:
    for m in read_scenario(scenario).manifests:
        if m.kind == "Scenario" and m.api_version == API_VERSION:
            return m.name
    return ""


def fix_checker(scenario: str, flows: Sequence[tuple[str, str]], keep: Sequence[str],
                extra: Callable[[Cluster], list[str]] | None = None) -> Callable[[Any], CheckResult]:
    """A checker for "fix the cluster", graded on the cluster the answer leaves: commands typed on the nodes
    (``ssh node-a``, ``ip route add …``), a terminal session, or a Scenario document with ``spec.overrides``.

    It passes when every flow ``(source, destination)`` is delivered, the pods in ``keep`` stay where
    they were (moving a pod is not a repair), the CNI is unchanged, and ``extra`` finds nothing wrong.
    """

    def check(answer: Any) -> CheckResult:
        outcome = resulting_cluster(scenario, answer)
        if outcome.form == "yaml":
            own = _scenario_doc_name(scenario)
            mine = parse_text(answer, source="<your YAML>")
            if not mine.manifests:
                return CheckResult.fail("your YAML holds no document: write the commands you would type on the node, "
                                        "or a Scenario document with spec.overrides")
            for m in mine.manifests:
                if m.kind == "Scenario" and m.name == own:
                    return CheckResult.fail(
                        f'your Scenario document is named "{own}", like the scenario\'s own, so it replaces it (as '
                        "kubectl apply replaces an object of the same name) and everything else it says is lost: "
                        "give yours another name, such as fix")
        base = k8snetviz.load(scenario)
        fixed = outcome.cluster
        problems = []
        if fixed.config.cni != base.config.cni:
            problems.append(f"the CNI changed from {base.config.cni} to {fixed.config.cni}: leave spec.cni out")
        for ref in keep:
            before, after = base.pod(ref), fixed.pod(ref)
            if (before.node_name, before.ip) != (after.node_name, after.ip):
                problems.append(f"{ref} moved from {before.node_name} ({before.ip}) to {after.node_name} "
                                f"({after.ip}): repair the network, do not move the pod")
        traces = [fixed.trace(src, dst) for src, dst in flows]
        failing = [t for t in traces if not t.delivered]
        problems += [f"{t.source} → {t.destination} is still {t.verdict}: {t.reason}" for t in failing]
        if not problems and extra is not None:
            problems += extra(fixed)
        proof = (failing or traces)[0]
        if problems:
            if outcome.errors:
                problems.append(f"(your commands: {outcome.note()})")
            return CheckResult.fail(*problems, proof=proof)
        said = "; ".join(f"{s} → {d}" for s, d in flows)
        return CheckResult.ok(f"every packet is delivered again ({said}).", proof=proof)

    return check


# --- notebook 00: the warm-up -----------------------------------------------------------------------

def _warm_up_check(answer: str) -> CheckResult:
    c = k8snetviz.load(BRIDGE)
    name = answer.strip().removeprefix("node/")
    web = c.pod("default/web")
    if name == web.node_name:
        return CheckResult.ok(f"web runs on {web.node_name}: the NODE column of `kubectl get pods -o wide`.")
    if name in c.nodes:
        here = sorted(p.name for p in c.pods.values() if p.node_name == name and p.namespace == "default")
        return CheckResult.fail(f"{name} holds {', '.join(here) or 'no pods of the default namespace'}, "
                                "but not web")
    return CheckResult.fail(f'there is no node "{name}": the nodes are {", ".join(c.nodes)}')


def task_warm_up() -> Task:
    return Task(
        "Where does web run?",
        "Write the name of the node that runs the pod web, as a string: `answer = \"…\"`.",
        _warm_up_check,
        Solution("node-b", "`kubectl get pods -o wide` shows it in the NODE column.", language="text"),
        hints=["`print(cluster.get(\"pods\", wide=True))` lists the pods with their nodes."],
    )


# --- notebook 01: node networking ---------------------------------------------------------------------

def predict_node_to_node() -> Predict:
    c = k8snetviz.load(BRIDGE)
    return Predict(
        "node-a (172.18.0.2) opens a connection to node-b's kubelet at 172.18.0.3:10250. Which row of node-a's "
        "routing table does the kernel pick?",
        ["default via 172.18.0.1 dev eth0",
         "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2",
         "10.244.2.0/24 via 172.18.0.3 dev eth0"],
        answer="172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2",
        explanation="172.18.0.3 is on node-a's own network: the kernel added this connected route when "
                    "172.18.0.2/16 was put on eth0. There is no `via`: node-b is one hop away on the same wire.",
        wrong={"default via 172.18.0.1 dev eth0": "The default route matches every address, but a /16 that "
               "contains 172.18.0.3 is more specific.",
               "10.244.2.0/24 via 172.18.0.3 dev eth0": "That row is for node-b's pods (10.244.2.0/24); "
               "172.18.0.3 is not inside it."},
        reveal=lambda: c.trace("node/node-a", "node/node-b:10250"),
    )


def predict_outside() -> Predict:
    c = k8snetviz.load(BRIDGE)
    return Predict(
        "node-a sends a DNS query to 8.8.8.8. Where does the packet go first?",
        ["to the gateway 172.18.0.1, by the default route",
         "straight to 8.8.8.8 on the node network",
         "nowhere: node-a has no route to 8.8.8.8"],
        answer="to the gateway 172.18.0.1, by the default route",
        explanation="No more specific row contains 8.8.8.8, so the default route (0.0.0.0/0, the shortest "
                    "prefix) is used: the node hands the packet to its default gateway.",
        wrong={"nowhere: node-a has no route to 8.8.8.8": "The default route matches every address."},
        reveal=lambda: c.trace("node/node-a", "8.8.8.8:53", protocol="UDP"),
    )


def predict_longest_prefix() -> Predict:
    c = k8snetviz.load(BRIDGE)
    return Predict(
        "On node-a, 10.244.2.7 is inside both `default` (0.0.0.0/0) and `10.244.2.0/24`. Which row wins?",
        ["default via 172.18.0.1 dev eth0, because it is listed first",
         "10.244.2.0/24 via 172.18.0.3 dev eth0, because its prefix is longer",
         "both: the kernel spreads packets over the two rows"],
        answer="10.244.2.0/24 via 172.18.0.3 dev eth0, because its prefix is longer",
        explanation="Longest-prefix match: of all rows containing the address, the one with the most prefix "
                    "bits wins (/24 beats /0); the order `ip route` prints them in does not matter.",
        reveal=lambda: (c.routes("node-a"), run(c, "ip route get 10.244.2.7", on="node-a")),
    )


def predict_ip_forward() -> Predict:
    c = k8snetviz.load(IP_FORWARD_OFF)
    return Predict(
        "In the ip-forward-off scenario, node-b has net.ipv4.ip_forward = 0. What happens to a packet from "
        "client (on node-a) to web (on node-b)?",
        ["it is delivered: forwarding only matters for traffic leaving the cluster",
         "node-a drops it before it leaves",
         "node-b receives it on eth0 but drops it: passing it on to cni0 is forwarding"],
        answer="node-b receives it on eth0 but drops it: passing it on to cni0 is forwarding",
        explanation="The packet is addressed to 10.244.2.2, not to node-b itself. Passing a packet from one "
                    "interface (eth0) to another (cni0) is routing, which a Linux host does only with "
                    "net.ipv4.ip_forward = 1. Node-a forwards fine: its own setting is 1.",
        reveal=lambda: c.trace("default/client", "default/web:80"),
    )


def predict_forward_to_self() -> Predict:
    c = k8snetviz.load(IP_FORWARD_OFF)
    return Predict(
        "Same scenario: can node-a still reach node-b's kubelet at 172.18.0.3:10250?",
        ["yes: the packet is for node-b itself, so nothing is forwarded",
         "no: node-b forwards nothing, so it receives nothing"],
        answer="yes: the packet is for node-b itself, so nothing is forwarded",
        explanation="ip_forward governs packets passing through a host, not packets addressed to it: "
                    "172.18.0.3 is node-b's own address, so the kernel delivers it locally.",
        reveal=lambda: c.trace("node/node-a", "node/node-b:10250"),
    )


def _internal_ip_check(answer: str) -> CheckResult:
    c = k8snetviz.load(BRIDGE)
    text = answer.strip()
    try:
        given = ip_address(text.split("/")[0])
    except ValueError:
        return CheckResult.fail(f'"{text}" is not an IP address: copy the INTERNAL-IP column')
    node_b = c.node("node-b").internal_ip
    if given == node_b:
        return CheckResult.ok(f"{node_b} is node-b's InternalIP, on eth0 in the node network "
                              f"{c.config.node_network}.", proof=c.get("nodes", wide=True))
    owner = c.owner_of(given) if isinstance(given, IPv4Address) else None
    ref = Ref.parse(owner) if owner else None
    if ref is not None and ref.kind == "node":
        return CheckResult.fail(f"{given} is the InternalIP of {ref.name}, not of node-b")
    if isinstance(given, IPv4Address) and given in c.config.pod_subnet:
        return CheckResult.fail(f"{given} is in the pod subnet {c.config.pod_subnet}: that is a pod's (or a "
                                "bridge's) address, not the node's")
    if given == c.config.gateway:
        return CheckResult.fail(f"{given} is the node network's gateway, not a node")
    return CheckResult.fail(f"{given} belongs to no node: look at the INTERNAL-IP column of "
                            "`kubectl get nodes -o wide`")


def task_internal_ip() -> Task:
    return Task(
        "Find a node's InternalIP",
        "Write the InternalIP of node-b as a string, e.g. `answer = \"…\"` (on the exam you would write it to "
        "a file). Use `kubectl get nodes -o wide`.",
        _internal_ip_check,
        Solution("172.18.0.3", "The INTERNAL-IP column of `kubectl get nodes -o wide` shows it "
                 "(`kubectl get node node-b -o jsonpath='{.status.addresses}'` also does).", language="text"),
        hints=["Run `kubectl get nodes -o wide` in the cell above the task."],
    )


def task_longest_prefix() -> Task:
    return Task(
        "Which route carries the packet?",
        "On node-a, which row of the routing table carries a packet to 10.244.2.7? Write the row as "
        "`ip route` prints it (at least the destination, `via` and `dev`).",
        route_checker(BRIDGE, "node/node-a", "10.244.2.7"),
        Solution("10.244.2.0/24 via 172.18.0.3 dev eth0",
                 "Rows containing 10.244.2.7: `default` (/0) and `10.244.2.0/24` (/24). The longest prefix "
                 "wins, so the packet goes to node-b (172.18.0.3) out of eth0. `ip route get 10.244.2.7` on "
                 "node-a prints the same decision.", language="text"),
        hints=["List the rows whose destination contains 10.244.2.7, then take the one with the longest prefix."],
    )


_IP_FORWARD_FIX = f"""\
apiVersion: {API_VERSION}
kind: Scenario
metadata:
  name: fix
spec:
  overrides:
  - target: node/node-b
    ipForward: true
"""


IP_FORWARD_COMMANDS = "ssh node-b\nsysctl -w net.ipv4.ip_forward=1\n"


def task_ip_forward() -> Task:
    return Task(
        "Turn forwarding back on",
        "In the ip-forward-off scenario, client cannot reach web. Find the cause and repair the node: write the "
        "commands you would type (`ssh NODE`, then the command on it), as on the exam; the checker runs them in "
        "a terminal on the scenario and traces again. (A Scenario document whose `spec.overrides` repairs the "
        "node is accepted too.)",
        fix_checker(IP_FORWARD_OFF, [("default/client", "default/web:80"),
                                     ("default/web", "default/client:40000")], keep=["default/client",
                                                                                    "default/web"]),
        Solution(IP_FORWARD_COMMANDS, "node-b must forward from eth0 to cni0 (the request) and from cni0 to eth0 "
                 "(the reply): `sysctl -w net.ipv4.ip_forward=1` on node-b (persist it in /etc/sysctl.d/ on a real "
                 "node). As a Scenario document:\n\n" + _IP_FORWARD_FIX, language="bash"),
        hints=["Trace client → web: the last hop names the node and the reason.",
               "`sysctl net.ipv4.ip_forward` on each node shows the setting; `sysctl -w NAME=VALUE` changes it."],
        start=IP_FORWARD_OFF,
    )


# --- the three ranges: node, pod, Service ------------------------------------------------------------

def address_ranges(cluster: Cluster) -> TextBlock:
    """The cluster's three address ranges, each with where it is set on a kubeadm cluster (kind is one)."""
    cfg = cluster.config
    per_node = ", ".join(f"{n.name} {n.pod_cidr}" for n in cluster.nodes.values())
    rows = [
        ("node network", str(cfg.node_network), "the machines' own network (here kind's Docker network); each "
         "node's InternalIP is on it"),
        ("pod network", str(cfg.pod_subnet), "kubeadm init --pod-network-cidr (networking.podSubnet), passed to "
         "kube-controller-manager as --cluster-cidr; --allocate-node-cidrs=true cuts one podCIDR per node "
         f"(/24 by default, --node-cidr-mask-size): {per_node}"),
        ("service network", str(cfg.service_subnet), "kubeadm init --service-cidr (networking.serviceSubnet), "
         "passed to kube-apiserver as --service-cluster-ip-range; every cluster IP comes from it "
         f"(kube-dns takes the tenth address, {cfg.dns_service_ip})"),
    ]
    return TextBlock("\n".join(f"{name}: {cidr}\n    {where}" for name, cidr, where in rows))


def predict_pod_cidr_owner() -> Predict:
    c = k8snetviz.load(BRIDGE)
    cidr = c.node("node-b").pod_cidr
    return Predict(
        f"node-b's Node object says `spec.podCIDR: {cidr}`. Which component wrote it there?",
        ["the CNI plugin, when the first pod started", "kube-controller-manager, when node-b registered",
         "the kubelet on node-b, from its config file", "kube-proxy"],
        answer="kube-controller-manager, when node-b registered",
        explanation="With `--allocate-node-cidrs=true` the node IPAM controller of kube-controller-manager cuts "
                    "the cluster's pod range (`--cluster-cidr`) into one block per node and writes it into "
                    "`spec.podCIDR` when the Node appears. The CNI plugin then reads it: kindnet and flannel "
                    "configure host-local with it. Calico is the exception: its own IPAM hands out /26 blocks "
                    "from an IPPool and ignores `spec.podCIDR` by default.",
        wrong={"the CNI plugin, when the first pod started": "The plugin uses the range, but it is already on the "
               "Node before any pod starts (except with Calico's own IPAM, which does not use this field)."},
        reveal=lambda: address_ranges(c),
    )


def predict_range_of() -> Predict:
    c = k8snetviz.load(KINDNET)
    dns = c.service("kube-system/kube-dns").cluster_ip
    return Predict(
        f"In kind's default cluster, from which range does kube-dns's address {dns} come?",
        ["the node network 172.18.0.0/16", "the pod network 10.244.0.0/16", "the service network 10.96.0.0/16"],
        answer="the service network 10.96.0.0/16",
        explanation="Cluster IPs come from the API server's `--service-cluster-ip-range`; kubeadm gives kube-dns "
                    "its tenth address and writes it into every kubelet's `clusterDNS`. The three ranges must not "
                    "overlap: a packet to 10.96.x.x must never be mistaken for a pod or a node.",
        reveal=lambda: (address_ranges(c), run(c, "kubectl get svc -A")),
    )


RANGES_SOLUTION = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  podSubnet: 10.200.0.0/16
  serviceSubnet: 10.100.0.0/16
"""


def _ranges_check(answer: str) -> CheckResult:
    from ipaddress import IPv4Network

    docs = [m for m in parse_text(answer, source="<your YAML>").manifests]
    config = next((m for m in docs if m.kind == "Cluster" and m.api_version.startswith("kind.x-k8s.io/")), None)
    if config is None:
        return CheckResult.fail("write a kind Cluster config: `kind: Cluster`, `apiVersion: kind.x-k8s.io/v1alpha4`, "
                                "and its `networking` section")
    c = k8snetviz.load(KINDNET, answer)
    cfg = c.config
    problems = []
    want_pods, want_svcs = IPv4Network("10.200.0.0/16"), IPv4Network("10.100.0.0/16")
    if cfg.pod_subnet != want_pods:
        problems.append(f"the pods' range is {cfg.pod_subnet}, not {want_pods}: that is `networking.podSubnet`")
    if cfg.service_subnet != want_svcs:
        problems.append(f"the Services' range is {cfg.service_subnet}, not {want_svcs}: that is "
                        "`networking.serviceSubnet`")
    if cfg.pod_subnet.overlaps(cfg.service_subnet):
        problems.append(f"{cfg.pod_subnet} and {cfg.service_subnet} overlap: a cluster IP would be mistaken for a pod")
    if problems:
        return CheckResult.fail(*problems)
    outside = [p.key for p in c.pods.values() if not p.host_network and p.ip not in cfg.pod_subnet]
    if outside:
        return CheckResult.fail(f"some pods are outside {cfg.pod_subnet}: {', '.join(outside)}")
    dns = c.service("kube-system/kube-dns").cluster_ip
    return CheckResult.ok(f"every node's podCIDR lies in {cfg.pod_subnet} and kube-dns moved to {dns}.",
                          proof=address_ranges(c))


def task_address_ranges() -> Task:
    return Task(
        "Plan the ranges of a new cluster",
        "Your company's network already uses 10.244.0.0/16 and 10.96.0.0/16. Write the kind Cluster config of a "
        "new cluster whose pods get addresses from 10.200.0.0/16 and whose Services get cluster IPs from "
        "10.100.0.0/16. The checker builds kind's three-node cluster from your config.",
        _ranges_check,
        Solution(RANGES_SOLUTION, "`podSubnet` and `serviceSubnet` are kubeadm's `networking.podSubnet` and "
                 "`networking.serviceSubnet`; with kubeadm directly: `kubeadm init --pod-network-cidr=10.200.0.0/16 "
                 "--service-cidr=10.100.0.0/16`. kubeadm hands the first to kube-controller-manager "
                 "(`--cluster-cidr`) and the second to kube-apiserver (`--service-cluster-ip-range`). Both are "
                 "chosen before the cluster exists: changing them later means rebuilding."),
        hints=["kind's config has a `networking` section with the same two fields kubeadm has."],
    )


def node_networking_predictions() -> list[Predict]:
    return [predict_node_to_node(), predict_outside(), predict_longest_prefix(), predict_ip_forward(),
            predict_forward_to_self(), predict_pod_cidr_owner(), predict_range_of()]


def node_networking_tasks() -> list[Task]:
    return [task_internal_ip(), task_longest_prefix(), task_ip_forward(), task_address_ranges()]


# --- notebook 02: pod networking ----------------------------------------------------------------------

def predict_same_node() -> Predict:
    c = k8snetviz.load(BRIDGE)
    return Predict(
        "client and cache both run on node-a. Which way does a packet from client to cache take?",
        ["out of node-a's eth0 and back in: all pod traffic crosses the node network",
         "through cni0 only: the bridge passes the frame from client's veth to cache's veth",
         "up to node-a's routing table, which sends it back down into cni0"],
        answer="through cni0 only: the bridge passes the frame from client's veth to cache's veth",
        explanation="client's own table has `10.244.1.0/24 dev eth0` (no via): cache is on the same link, so "
                    "client sends the frame straight to cache's MAC address and cni0 switches it between its "
                    "ports like any Ethernet bridge. node-a's IP routing is never asked.",
        reveal=lambda: c.trace("default/client", "default/cache:6379"),
    )


def predict_source_address() -> Predict:
    c = k8snetviz.load(BRIDGE)
    return Predict(
        "web (on node-b) receives a packet from client (on node-a). Which source address does web see?",
        ["10.244.1.4, the client pod's own address",
         "172.18.0.2, node-a's InternalIP",
         "10.244.1.1, node-a's cni0 address"],
        answer="10.244.1.4, the client pod's own address",
        explanation="The Kubernetes network model: every pod can reach every other pod without NAT, so the "
                    "source address is kept all the way; each node only routes the packet.",
        reveal=lambda: c.trace("default/client", "default/web:80"),
    )


def predict_pod_gateway() -> Predict:
    c = k8snetviz.load(BRIDGE)
    return Predict(
        "client's routing table has `default via 10.244.1.1 dev eth0`. Whose address is 10.244.1.1?",
        ["node-a's cni0 bridge", "node-a's eth0", "the node network's router"],
        answer="node-a's cni0 bridge",
        explanation="The bridge plugin gives the bridge the first address of the node's podCIDR (host-local "
                    "IPAM's gateway, .1) and makes it every pod's default gateway: packets for other nodes "
                    "go up into node-a's IP stack there.",
        reveal=lambda: (run(c, "ip route", on="default/client"), run(c, "ip -br addr", on="node-a")),
    )


def predict_kindnet_same_node() -> Predict:
    c = k8snetviz.load(KINDNET)
    return Predict(
        "kind's default CNI, kindnet, uses the ptp plugin. client (10.244.1.3) sends to the web pod 10.244.1.2 "
        "on the same node, kind-worker. What does the packet cross on the node?",
        ["the cni0 bridge, as with the bridge plugin",
         "no bridge: the node's /32 host route sends it into web's veth",
         "kind-worker's eth0"],
        answer="no bridge: the node's /32 host route sends it into web's veth",
        explanation="With ptp each pod has a point-to-point veth and the node has one /32 route per pod "
                    "(`10.244.1.2 dev vethXXXX scope host`). Even traffic between two pods of one node is "
                    "routed by the node: there is no bridge at all.",
        reveal=lambda: (c.trace("default/client", "10.244.1.2:80"), run(c, "ip route", on="kind-worker")),
    )


def predict_vxlan_outer() -> Predict:
    c = k8snetviz.load(FLANNEL)
    return Predict(
        "With flannel's VXLAN, client on kind-worker (172.18.0.3) sends to the web pod 10.244.2.2 on "
        "kind-worker2 (172.18.0.4). What does the packet on the wire between the nodes carry?",
        ["only 10.244.2.2:80: the pod address travels as it is",
         "an outer UDP packet to 172.18.0.4:8472 wrapping the inner packet to 10.244.2.2:80",
         "an outer packet to 10.244.2.0, flannel.1's address on kind-worker2"],
        answer="an outer UDP packet to 172.18.0.4:8472 wrapping the inner packet to 10.244.2.2:80",
        explanation="flannel.1 wraps the pod's frame in VXLAN (VNI 1) inside UDP to the other node's IP, port "
                    "8472. The node network only sees node addresses; kind-worker2's flannel.1 unwraps it.",
        wrong={"only 10.244.2.2:80: the pod address travels as it is": "That is how the bridge and kindnet "
               "set-ups work: plain routing, with routes to podCIDRs via node IPs."},
        reveal=lambda: c.trace("default/client", "10.244.2.2:80"),
    )


def predict_vxlan_mtu() -> Predict:
    c = k8snetviz.load(FLANNEL)
    return Predict(
        "flannel.1, cni0 and the pods' eth0 have MTU 1450, while the nodes' eth0 has 1500. Why?",
        ["the VXLAN wrapping adds 50 bytes that must fit in eth0's 1500",
         "Kubernetes reserves 50 bytes for its own headers",
         "1450 is the most a UDP packet can carry"],
        answer="the VXLAN wrapping adds 50 bytes that must fit in eth0's 1500",
        explanation="Outer IPv4 header 20 + UDP 8 + VXLAN 8 + the inner Ethernet header 14 = 50 bytes: an "
                    "inner packet of 1450 becomes exactly 1500 on the wire. Larger pod packets would not fit.",
        reveal=lambda: (run(c, "ip -d link show flannel.1", on="kind-worker"),
                        run(c, "ip link show eth0", on="kind-worker")),
    )


def task_route_on_node_b() -> Task:
    return Task(
        "The route back",
        "web on node-b answers client (10.244.1.4) on node-a. Which row of node-b's routing table carries "
        "that reply? Write it as `ip route` prints it.",
        route_checker(BRIDGE, "node/node-b", "10.244.1.4",
                      proof=lambda c: c.trace("default/web", "default/client:40000")),
        Solution("10.244.1.0/24 via 172.18.0.2 dev eth0",
                 "node-a's podCIDR 10.244.1.0/24 is reached via node-a's InternalIP 172.18.0.2: every node "
                 "needs a route to every other node's podCIDR, in both directions.", language="text"),
        hints=["`kubectl get pods -o wide` shows which node holds 10.244.1.4; `kubectl get nodes -o wide` "
               "shows that node's InternalIP."],
    )


_MISSING_ROUTE_FIX = f"""\
apiVersion: {API_VERSION}
kind: Scenario
metadata:
  name: fix
spec:
  overrides:
  - target: node/node-a
    addRoutes:
    - 10.244.2.0/24 via 172.18.0.3 dev eth0
"""


MISSING_ROUTE_COMMANDS = "ssh node-a\nip route add 10.244.2.0/24 via 172.18.0.3 dev eth0\n"


def _whole_pod_cidr(c: Cluster) -> list[str]:
    """node-a must reach every address of node-b's podCIDR through node-b, not only the pod there now."""
    node_b = c.node("node-b")
    ns = c.netns_of("node-a")
    for addr in (node_b.pod_cidr.network_address + 1, node_b.pod_cidr.broadcast_address - 1):
        route = ns.routes.lookup(addr)
        if route is None or route.via != node_b.internal_ip:
            got = f"`{route}`" if route is not None else "no route"
            return [f"node-a reaches web, but {addr} (in node-b's podCIDR {node_b.pod_cidr}) still takes {got}: "
                    f"the next pod on node-b would be unreachable; route the whole podCIDR {node_b.pod_cidr} via "
                    f"{node_b.internal_ip}"]
    return []


def task_missing_route() -> Task:
    return Task(
        "Add the missing route",
        "In the broken-route scenario client cannot reach web. Trace it, read node-a's `ip route`, then repair "
        "node-a: write the commands you would type (`ssh node-a`, then `ip route …`). Every pod on node-b, "
        "present and future, must be reachable. (A Scenario document with `spec.overrides` is accepted too.)",
        fix_checker(BROKEN_ROUTE, [("default/client", "default/web:80"),
                                   ("default/web", "default/client:40000")],
                    keep=["default/client", "default/web"], extra=_whole_pod_cidr),
        Solution(MISSING_ROUTE_COMMANDS, "node-a lost its row for node-b's podCIDR, so packets for 10.244.2.2 fell "
                 "to the default route and left the cluster. The row sends 10.244.2.0/24 via node-b's InternalIP "
                 "172.18.0.3 (`dev eth0` may be left out: the kernel takes the device the gateway is reached "
                 "through). As a Scenario document:\n\n" + _MISSING_ROUTE_FIX, language="bash"),
        hints=["Compare `ip route` on node-a with node-b's: each should have a row for the other's podCIDR.",
               "An override: target node/node-a, addRoutes: a list of rows in `ip route` syntax."],
        start=BROKEN_ROUTE,
    )


def _vxlan_peer_check(answer: str) -> CheckResult:
    c = k8snetviz.load(FLANNEL)
    t = c.trace("default/client", "10.244.2.2:80")
    encap = next(h for h in t.hops if h.action == "encap")
    outer_dst = encap.outer.split(" → ")[1].split()[0]
    text = re.sub(r"^\w+://", "", answer.strip()).split("/")[0].strip()
    if text == outer_dst:
        return CheckResult.ok(f"kind-worker's flannel.1 sends the VXLAN packet to {outer_dst}: kind-worker2's "
                              "InternalIP and flannel's UDP port.", proof=t)
    host, _, port = text.rpartition(":")
    want_host, _, want_port = outer_dst.rpartition(":")
    holder = c.owner_of(IPv4Address(want_host)) or ""
    holder_name = holder.split("/", 1)[-1]
    problems = []
    if not host:
        return CheckResult.fail("write it as IP:PORT, e.g. 192.0.2.1:1234")
    if host != want_host:
        named = c.nodes.get(host)
        if host == holder_name or (named is not None and str(named.internal_ip) == want_host):
            problems.append(f"{host} is the right node, but the outer header carries addresses, not names: write "
                            f"its InternalIP, {want_host}")
        elif host.startswith("10.244."):
            problems.append(f"{host} is an inner (pod network) address; the outer header is between node IPs")
        else:
            where = c.owner_of(IPv4Address(host)) if _is_ip(host) else None
            if where and where.startswith("node/"):
                what = f"{host} is {where[5:]}'s InternalIP"
            else:
                what = f"{host} is {where}" if where else f"{host} is no node's InternalIP"
            problems.append(f"{what}; 10.244.2.2 runs on {holder_name} ({want_host}): see `kubectl get pods -o "
                            "wide` and `bridge fdb show dev flannel.1`")
    if port != want_port:
        if port == "4789":
            problems.append("4789 is VXLAN's IANA port, but flannel uses the Linux kernel's older default, "
                            f"{want_port} (`ip -d link show flannel.1` prints it as dstport)")
        elif port == "80":
            problems.append("80 is the inner packet's port; the outer header is UDP to flannel's VXLAN port")
        else:
            problems.append(f"the outer UDP port is not {port}: look for dstport in `ip -d link show flannel.1`")
    return CheckResult.fail(*problems)


def _is_ip(text: str) -> bool:
    try:
        IPv4Address(text)
    except ValueError:
        return False
    return True


def task_vxlan_peer() -> Task:
    return Task(
        "Follow the overlay",
        "In the flannel-vxlan scenario, client sends to 10.244.2.2:80. To which IP:PORT does kind-worker's "
        "flannel.1 send the encapsulated packet?",
        _vxlan_peer_check,
        Solution("172.18.0.4:8472", "The neighbour entry for 10.244.2.0 and the FDB entry for its MAC name the "
                 "remote node 172.18.0.4 (`ip neigh show dev flannel.1`, `bridge fdb show dev flannel.1`); "
                 "the port is flannel.1's dstport 8472.", language="text"),
        hints=["`ip -d link show flannel.1` shows the UDP port; `bridge fdb show dev flannel.1` the remote nodes."],
    )


def pod_networking_predictions() -> list[Predict]:
    return [predict_same_node(), predict_source_address(), predict_pod_gateway(), predict_kindnet_same_node(),
            predict_vxlan_outer(), predict_vxlan_mtu()]


def pod_networking_tasks() -> list[Task]:
    return [task_route_on_node_b(), task_missing_route(), task_vxlan_peer()]

