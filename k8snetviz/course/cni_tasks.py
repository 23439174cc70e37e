"""Notebook 07 (CNI): predictions, CKA-style tasks with checkers, and the lab side by side.

Every answer is checked against the model's CNI data (:mod:`k8snetviz.agents.cni.config`), so the
checkers follow the scenario: change the cluster and the right answers change with it.

>>> t = task_conflist_path()
>>> t.check("/etc/cni/net.d/10-kindnet.conflist").passed
True
>>> t.check("10-kindnet.conflist").messages[0]
'that is the right file, but give its full path: the runtime reads it from /etc/cni/net.d'
"""

from __future__ import annotations

import k8snetviz
from k8snetviz.agents.cni import config as cc
from k8snetviz.course.quiz import Predict
from k8snetviz.course.tasks import CheckResult, Solution, Task

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


def cni_predictions() -> list[Predict]:
    return [predict_conf_dir(), predict_who_assigns(), predict_next_after_delete(), predict_del()]


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


def cni_tasks() -> list[Task]:
    return [task_conflist_path(), task_ipam_binary(), task_next_address()]
