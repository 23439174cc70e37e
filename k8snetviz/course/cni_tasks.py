"""Notebook 03 (CNI): predictions, CKA-style tasks with checkers, and the lab side by side.

Every answer is checked against the model's CNI data (:mod:`k8snetviz.agents.cni.config`), so the
checkers follow the scenario: change the cluster and the right answers change with it.

>>> t = task_conflist_path()
>>> t.check("/etc/cni/net.d/10-kindnet.conflist").passed
True
>>> t.check("10-kindnet.conflist").messages[0]
'that is the right file, but give its full path: the runtime reads it from /etc/cni/net.d'
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import k8snetviz
from k8snetviz.agents.cni import config as cc
from k8snetviz.course.quiz import Predict, TextBlock
from k8snetviz.course.tasks import CheckResult, Solution, Task, resulting_cluster
from k8snetviz.scenario.loader import Manifest, Scenario, read_scenario

__all__ = [
    "SCENARIO",
    "NODE",
    "predict_who_assigns",
    "predict_next_after_delete",
    "predict_del",
    "predict_conf_dir",
    "task_conflist_path",
    "task_ipam_binary",
    "task_next_address",
    "cni_predictions",
    "cni_tasks",
    "show_plugin_chain",
    "show_steps",
    "CNIFacts",
    "CNI_FACTS",
    "predict_flannel_policy",
    "predict_overlay_needed",
    "task_choose_cni",
    "task_which_cni",
    "kindnet_down",
    "KINDNET_ROUTES",
    "task_kindnet_routes",
    "IDENTIFY_OUTPUT",
    "REQUIREMENTS",
]

SCENARIO = "kind-default"
NODE = "kind-worker"


def _cluster() -> k8snetviz.Cluster:
    return k8snetviz.load(SCENARIO)


def show_plugin_chain(cluster: k8snetviz.Cluster, node: str) -> str:
    """The chain as a small table: order, binary, role, who calls it, its job."""
    rows = []
    for i, p in enumerate(cc.plugin_chain(cluster, node), 1):
        rows.append(f"{i}. {p.binary():<24} {p.role:<9} called by {p.called_by:<11} {p.job}")
    return "\n".join(rows)


def show_steps(steps: list[cc.Step]) -> str:
    """Steps one per line, with the command that shows each effect."""
    return "\n".join(f"{i:>2}. {s}" + (f"   (see: {s.shows})" if s.shows else "") for i, s in enumerate(steps, 1))


# -- predict, then reveal ---------------------------------------------------------------------------
def predict_who_assigns() -> Predict:
    c = _cluster()
    return Predict(
        f"On {NODE} (kindnet), which plugin picks the pod's IP address?",
        ["ptp", "host-local", "portmap", "the kubelet"],
        answer="host-local",
        explanation="ptp creates the veth pair and configures it, but the address comes from its `ipam` "
                    "section: ptp calls the IPAM plugin host-local, which hands out the next free address of "
                    "the node's podCIDR and records it on disk.",
        reveal=lambda: show_plugin_chain(c, NODE),
        wrong={"the kubelet": "The kubelet only learns the address from the runtime's CNI result."},
    )


def predict_next_after_delete() -> Predict:
    c = _cluster()
    files = cc.host_local_files(c, NODE)
    return Predict(
        f"On {NODE} host-local has handed out 10.244.1.2 and 10.244.1.3. The pod at 10.244.1.2 is deleted "
        "and a new pod starts on the node. Which address does it get?",
        ["10.244.1.2", "10.244.1.4", "10.244.1.1"],
        answer="10.244.1.4",
        explanation="DEL removes the file named after 10.244.1.2, but host-local keeps going from "
                    "`last_reserved_ip.0` (10.244.1.3): it takes the next free address after the last one it "
                    "handed out, and only wraps around at the end of the range. .1 is the gateway.",
        reveal=lambda: "\n".join(f"{k}: {v!r}" for k, v in files.items()),
    )


def predict_del() -> Predict:
    return Predict(
        "A pod is deleted. Which CNI command does the runtime run, and in which order do the plugins run?",
        ["DEL, in the list's order", "DEL, in reverse order", "ADD with an empty config", "CHECK, then DEL"],
        answer="DEL, in reverse order",
        explanation="The runtime runs DEL for each plugin of the list in reverse (portmap first, the main "
                    "plugin last), so each undoes its work on top of what came before it.",
        reveal=lambda: show_steps(cc.del_steps(_cluster(), "default/client")),
    )


def predict_conf_dir() -> Predict:
    return Predict(
        "Where does the container runtime look for the pod network's configuration?",
        ["/etc/kubernetes/manifests", "/etc/cni/net.d", "/opt/cni/bin", "/var/lib/kubelet"],
        answer="/etc/cni/net.d",
        explanation="The runtime (containerd's CRI) reads the first configuration in /etc/cni/net.d, in "
                    "lexical order; the plugin binaries it names live in /opt/cni/bin on kind nodes "
                    "(/usr/lib/cni on Debian).",
        reveal=lambda: cc.conflist_file(_cluster(), NODE).path,
        wrong={"/opt/cni/bin": "That is where the plugin binaries live, not their configuration."},
    )


# -- choosing a plugin ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CNIFacts:
    """What one plugin does, as the comparison in notebook 03 states it (sources: each project's docs)."""

    name: str
    datapath: str  # routing, overlay, eBPF
    overlay: bool  # can carry pod packets between nodes in different subnets without routes for the pods
    policy: bool  # enforces NetworkPolicy itself
    encryption: str  # "" when it has none
    maintained: bool
    shows: str  # what a cluster running it shows


CNI_FACTS: tuple[CNIFacts, ...] = (
    # kind images/kindnetd: ptp + host-local, static routes via node IPs; NetworkPolicy since kind v0.24
    # (kube-network-policies); no encryption.
    CNIFacts("kindnet", "routing: a route per node's podCIDR via its IP, ptp veths", False, True, "", True,
             "DaemonSet kindnet, /etc/cni/net.d/10-kindnet.conflist"),
    # flannel-io/flannel Documentation/backends.md: VXLAN (UDP 8472) by default, host-gw, WireGuard; no policy.
    CNIFacts("flannel", "overlay: VXLAN (UDP 8472) by default, or host-gw routes", True, False,
             "WireGuard backend", True, "DaemonSet kube-flannel-ds (namespace kube-flannel), 10-flannel.conflist"),
    # projectcalico/calico manifests and docs: BGP routes, IPIP or VXLAN (UDP 4789), eBPF dataplane option,
    # Felix enforces policy, WireGuard.
    CNIFacts("calico", "routing with BGP, or an IPIP / VXLAN (UDP 4789) overlay; an eBPF dataplane option", True,
             True, "WireGuard", True, "DaemonSet calico-node (kube-system or calico-system), 10-calico.conflist"),
    # docs.cilium.io: eBPF, VXLAN (UDP 8472) or Geneve tunnels by default, native routing option, WireGuard or
    # IPsec, may replace kube-proxy.
    CNIFacts("cilium", "eBPF programs; a VXLAN or Geneve tunnel by default, or native routing", True, True,
             "WireGuard or IPsec", True, "DaemonSet cilium, Deployment cilium-operator, 05-cilium.conflist"),
    # weaveworks/weave site/faq.md: mesh overlay (TCP 6783, UDP 6783/6784), weave-npc enforces policy,
    # optional encryption; the project is archived.
    CNIFacts("weave", "overlay mesh: fast datapath VXLAN or sleeve UDP (6783/6784)", True, True,
             "password-based encryption", False, "DaemonSet weave-net, pods with two containers (weave, weave-npc)"),
)


def _facts(name: str) -> CNIFacts | None:
    key = name.strip().lower().replace(" net", "").replace("-", "")
    aliases = {"weavenet": "weave", "canal": "flannel"}
    key = aliases.get(key, key)
    return next((f for f in CNI_FACTS if f.name == key), None)


def predict_flannel_policy() -> Predict:
    return Predict(
        "A cluster runs flannel alone. You apply a NetworkPolicy that denies all ingress to the pods of namespace "
        "shop. What happens to traffic into shop?",
        ["it is denied from now on", "nothing changes: the API server stores the policy, but flannel enforces none",
         "the API server refuses the policy"],
        answer="nothing changes: the API server stores the policy, but flannel enforces none",
        explanation="NetworkPolicy is implemented by the network plugin, not by Kubernetes itself. flannel only "
                    "connects pods; with it alone a policy is accepted and has no effect. Calico, Cilium, Weave "
                    "Net's weave-npc and kindnet (since kind v0.24) enforce policies; flannel needs a companion "
                    "(Canal, that is flannel with Calico's Felix, or kube-network-policies).",
    )


def predict_overlay_needed() -> Predict:
    return Predict(
        "Your nodes sit in two subnets of a cloud network that drops packets whose addresses it does not know (pod "
        "addresses), and you cannot add routes to it. Which kind of plugin can connect pods across the two subnets?",
        ["one that only adds routes to other nodes' podCIDRs via their IPs (kindnet, flannel host-gw)",
         "one that wraps pod packets between node addresses: an overlay (VXLAN, IPIP, Geneve)",
         "any plugin: Kubernetes routes pod traffic itself"],
        answer="one that wraps pod packets between node addresses: an overlay (VXLAN, IPIP, Geneve)",
        explanation="A route `podCIDR via NODE-IP` only works when the next hop is on the node's own link and the "
                    "network between them carries pod addresses. Across subnets, or on a network that drops unknown "
                    "addresses, the pod packet must travel inside a packet between node IPs (notebook 02's VXLAN "
                    "walk). Calico can do both: routes where nodes share a subnet and IPIP or VXLAN across subnets "
                    "(CrossSubnet).",
    )


REQUIREMENTS = ("nodes in two subnets of a cloud network that drops packets with pod addresses (no routes or BGP "
                "possible)", "NetworkPolicy must be enforced", "traffic between nodes must be encrypted",
                "the plugin must be maintained")


def _choose_check(answer: str) -> CheckResult:
    facts = _facts(answer)
    if facts is None:
        names = ", ".join(f.name for f in CNI_FACTS)
        return CheckResult.fail(f'"{answer}" is not one of the plugins compared above ({names})')
    problems = []
    if not facts.overlay:
        problems.append(f"{facts.name} routes pod packets as they are ({facts.datapath}); the network between your "
                        "subnets drops them: you need an overlay")
    if not facts.policy:
        problems.append(f"{facts.name} does not enforce NetworkPolicy: policies would be stored and ignored")
    if not facts.encryption:
        problems.append(f"{facts.name} has no encryption between nodes")
    if not facts.maintained:
        problems.append(f"{facts.name} meets the rest on paper, but it is no longer maintained: Weaveworks closed in "
                        "2024 and archived the project (only a community fork carries on)")
    if problems:
        return CheckResult.fail(*problems)
    return CheckResult.ok(f"{facts.name}: {facts.datapath}; it enforces NetworkPolicy and encrypts with "
                          f"{facts.encryption}. (Calico and Cilium both fit; check their overlay mode and turn "
                          "encryption on: neither encrypts by default.)")


def task_choose_cni() -> Task:
    return Task(
        "Choose a CNI plugin for these requirements",
        "Pick the plugin for a new cluster from the comparison above: " + "; ".join(REQUIREMENTS) +
        ". Write its name as a string.",
        _choose_check,
        Solution("calico", "Calico fits every requirement: IPIP or VXLAN between subnets (or CrossSubnet: routes "
                 "within a subnet, encapsulation across), Felix enforces NetworkPolicy, WireGuard encrypts. Cilium "
                 "fits too (a VXLAN or Geneve tunnel, policy, WireGuard or IPsec). kindnet has no overlay and no "
                 "encryption, flannel enforces no policy, Weave Net is archived.", language="text"),
        hints=["Go through the requirements one by one and cross out the plugins that fail one."],
    )


IDENTIFY_OUTPUT = TextBlock("""\
$ kubectl get daemonsets -A
NAMESPACE     NAME          DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE
kube-system   calico-node   3         3         3       3            3           kubernetes.io/os=linux   12d
kube-system   kube-proxy    3         3         3       3            3           kubernetes.io/os=linux   12d
$ ls /etc/cni/net.d/            # on a node
10-calico.conflist  calico-kubeconfig
$ ip -br link | grep -e cali -e tunl
tunl0@NONE       UNKNOWN        0.0.0.0 <NOARP,UP,LOWER_UP>
cali3c73a6b29ba@if3 UP          ee:ee:ee:ee:ee:ee <BROADCAST,MULTICAST,UP,LOWER_UP>""")


def _which_check(answer: str) -> CheckResult:
    facts = _facts(answer)
    if facts is None or facts.name != "calico":
        said = f"{answer} would show " + facts.shows if facts else f'"{answer}" is not one of the plugins compared'
        return CheckResult.fail(f"{said}; look at the DaemonSet's name and the file in /etc/cni/net.d")
    return CheckResult.ok("calico: the calico-node DaemonSet, 10-calico.conflist, the IPIP device tunl0 and the "
                          "cali… veths (host side MAC ee:ee:ee:ee:ee:ee) are Calico's.")


def task_which_cni() -> Task:
    return Task(
        "Which CNI plugin does this cluster run?",
        "You are handed a cluster; the output above is what you found. Write the plugin's name as a string.",
        _which_check,
        Solution("calico", "The plugin shows itself in three places: its DaemonSet (`kubectl get ds -A`), its file "
                 "in `/etc/cni/net.d` (the runtime uses the first in name order) and its devices on the node "
                 "(`tunl0` for IPIP, `vxlan.calico`, `flannel.1`, `cilium_host`, `weave`).", language="text"),
    )


def cni_predictions() -> list[Predict]:
    return [predict_conf_dir(), predict_who_assigns(), predict_next_after_delete(), predict_del(),
            predict_overlay_needed(), predict_flannel_policy()]


# -- tasks ---------------------------------------------------------------------------------------------
def _conflist_check(answer: str) -> CheckResult:
    f = cc.conflist_file(_cluster(), NODE)
    got = answer.strip().strip("'\"")
    if got == f.path:
        cidr = f.conflist["plugins"][0]["ipam"]["ranges"][0][0]["subnet"]
        return CheckResult.ok(f"{f.path}: its ipam ranges hold {cidr}, the node's podCIDR (kindnetd writes it "
                              "there from the Node's spec.podCIDR)", proof=f.text)
    if got == f.filename:
        return CheckResult.fail("that is the right file, but give its full path: the runtime reads it from "
                                + cc.CNI_CONF_DIR)
    if got.startswith(cc.CNI_CONF_DIR):
        return CheckResult.fail(f"the directory is right, but {NODE} holds {f.filename} there")
    return CheckResult.fail("the CNI configuration lives in /etc/cni/net.d: try `ls /etc/cni/net.d` on the node")


def task_conflist_path() -> Task:
    return Task(
        "Which file decides the pod range?",
        f"On {NODE} (scenario {SCENARIO}), which file tells the CNI plugins the range pod addresses come from? "
        "Give its full path.",
        _conflist_check,
        Solution("/etc/cni/net.d/10-kindnet.conflist",
                 "`ls /etc/cni/net.d` on the node, then `cat` the first file: the `ipam.ranges` subnet is "
                 "the node's podCIDR."),
        hints=["The runtime reads the first file of one directory, in lexical order."],
    )


def _binary_check(answer: str) -> CheckResult:
    chain = cc.plugin_chain(_cluster(), NODE)
    ipam = next(p for p in chain if p.role == "ipam")
    got = answer.strip().strip("'\"")
    if got == ipam.binary():
        return CheckResult.ok(f"{got}: {ipam.job}; {ipam.called_by} calls it for ADD and DEL")
    if got in (ipam.type, ipam.binary(cc.CNI_BIN_DIR_DEBIAN)):
        return CheckResult.fail(f"right plugin; on a kind node it is in {cc.CNI_BIN_DIR_KIND}: give that path")
    names = {p.type for p in chain}
    if got.rsplit("/", 1)[-1] in names:
        return CheckResult.fail(f"{got.rsplit('/', 1)[-1]} is in the chain, but it does not assign addresses")
    return CheckResult.fail("look at the `ipam` section of the conflist: its `type` names the plugin")


def task_ipam_binary() -> Task:
    return Task(
        "Which plugin assigns the address?",
        f"On {NODE}, which binary assigns a new pod its IP address? Give its full path on the node.",
        _binary_check,
        Solution("/opt/cni/bin/host-local", "The conflist's `ipam.type` is host-local; `ls /opt/cni/bin`."),
    )


def _next_address() -> str:
    pod = f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: next\nspec:\n  nodeName: {NODE}\n" \
          "  containers:\n  - name: c\n    image: busybox\n"
    return str(k8snetviz.load(SCENARIO, pod).pod("default/next").ip)


def _next_check(answer: str) -> CheckResult:
    want = _next_address()
    got = answer.strip().strip("'\"").split("/")[0]
    if got == want:
        return CheckResult.ok(f"{want}: the next free address after last_reserved_ip.0")
    files = cc.host_local_files(_cluster(), NODE)
    taken = [k.rsplit("/", 1)[1] for k in files if k.rsplit("/", 1)[1][0].isdigit()]
    if got in taken:
        return CheckResult.fail(f"{got} is taken: host-local has a file for it")
    if got.endswith(".1"):
        return CheckResult.fail(f"{got} is the gateway, which host-local never hands out")
    return CheckResult.fail("list host-local's dataDir and read last_reserved_ip.0")


def task_next_address() -> Task:
    return Task(
        "The next pod's address",
        f"A new pod is scheduled on {NODE}. Which IP address will host-local give it?",
        _next_check,
        Solution(_next_address(), "`ls /run/cni-ipam-state/kindnet` and `cat last_reserved_ip.0`: the next "
                                  "free address after it."),
        hints=["kindnet keeps host-local's files in /run/cni-ipam-state."],
    )


# -- an imperative task: do kindnetd's job by hand ----------------------------------------------------
BROKEN_NODE = "kind-worker2"
KINDNET_ROUTES = """\
ssh kind-worker2
ip route add 10.244.0.0/24 via 172.18.0.2
ip route add 10.244.1.0/24 via 172.18.0.3
exit
"""


def kindnet_down() -> Scenario:
    """``kind-default`` after kindnetd stopped on kind-worker2 and its routes to the other nodes' pods went: the
    node keeps its own pods' /32 routes (the ptp plugin wrote them), and nothing else of kindnet's."""
    base = read_scenario(SCENARIO)
    docs = [copy.deepcopy(m.body) for m in base.manifests]
    cidrs = [n.pod_cidr for n in _cluster().nodes.values() if n.name != BROKEN_NODE]
    spec = next(d for d in docs if d.get("kind") == "Scenario")["spec"]
    spec["overrides"] = [{"target": f"node/{BROKEN_NODE}", "deleteRoutes": sorted(str(c) for c in cidrs)}]
    return Scenario(f"{SCENARIO}/kindnet-down", [Manifest(d, "<kindnet down>", 0) for d in docs], base.text)


def _kindnet_check(answer: Any) -> CheckResult:
    from k8snetviz.questions.connect import connect

    outcome = resulting_cluster(kindnet_down(), answer)
    c = outcome.cluster
    note = f" (your commands: {outcome.note()})" if outcome.errors else ""
    here = sorted((p for p in c.pods.values() if p.node_name == BROKEN_NODE and p.ip and not p.host_network),
                  key=lambda p: p.name)
    away = sorted((p for p in c.pods.values() if p.node_name != BROKEN_NODE and p.ip and not p.host_network
                   and p.labels.get("k8s-app") == "kube-dns"), key=lambda p: p.name)
    for p in here:
        conn = connect(c, "pod/default/client", str(p.ip), 80)
        if not conn.ok:
            return CheckResult.fail(f"client (on kind-worker) → {p.name} ({p.ip}:80, on {BROKEN_NODE}): "
                                    f"{conn.outcome} ({conn.reason}){note}", proof=conn)
        for q in away:
            conn = connect(c, f"pod/{p.namespace}/{p.name}", str(q.ip), 53)
            if not conn.ok:
                return CheckResult.fail(f"{p.name} (on {BROKEN_NODE}) → {q.name} ({q.ip}:53, on {q.node_name}): "
                                        f"{conn.outcome} ({conn.reason}){note}", proof=conn)
    return CheckResult.ok(f"{BROKEN_NODE} routes each other node's podCIDR to that node's InternalIP again, as "
                          "kindnetd does: its pods reach the pods on every node, and their replies come back.")


def task_kindnet_routes() -> Task:
    """Notebook 03: do kindnetd's job by hand with ip route add (solved with commands)."""
    return Task(
        "Do kindnetd's job by hand",
        f"kindnetd stopped on {BROKEN_NODE} (in `cni.kindnet_down()`), and the node lost its routes to the other "
        "nodes' pods: the client on kind-worker gets no answer from the web pod on kind-worker2, and that pod "
        "reaches no DNS server. Until kindnetd is back, add by hand the routes it would write. Answer with the "
        "commands you type (`ssh NODE`, then the command, then `exit`).",
        _kindnet_check,
        Solution(KINDNET_ROUTES, "kindnet needs no overlay: every node is on the same network (172.18.0.0/16), "
                 "so kindnetd writes one route per other node, `<its podCIDR> via <its InternalIP>`. `kubectl get "
                 "nodes -o custom-columns=NAME:.metadata.name,CIDR:.spec.podCIDR,IP:.status.addresses[0].address` "
                 "lists both. The routes are needed on the broken node for both directions: replies to the client "
                 "leave from kind-worker2 too.", language="bash"),
        hints=[f"`ssh {BROKEN_NODE}`, then `ip route`: compare with `ip route` on kind-worker.",
               "`kubectl get nodes -o wide` and `kubectl get node kind-worker -o jsonpath='{.spec.podCIDR}'`."],
        start=kindnet_down,
    )


def cni_tasks() -> list[Task]:
    return [task_conflist_path(), task_ipam_binary(), task_next_address(), task_choose_cni(), task_which_cni(),
            task_kindnet_routes()]
