"""The course map: the CKA curriculum's networking items, each taught in sections that exist.

Source of the items: cncf/curriculum, CKA_Curriculum_v1.35.pdf (Services & Networking 20%, Troubleshooting 30%,
Cluster Architecture, Installation & Configuration 25%); the networking items of the last two only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from k8snetviz.course.curriculum import DOMAINS, ITEMS, curriculum_map, items_for

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"

# The items as the curriculum words them (this list changes only when the curriculum does).
CURRENT = {
    "Services & Networking": [
        "Understand connectivity between Pods",
        "Define and enforce Network Policies",
        "Use ClusterIP, NodePort, LoadBalancer service types and endpoints",
        "Use the Gateway API to manage Ingress traffic",
        "Know how to use Ingress controllers and Ingress resources",
        "Understand and use CoreDNS",
    ],
    "Troubleshooting": ["Troubleshoot clusters and nodes", "Troubleshoot services and networking"],
    "Cluster Architecture, Installation & Configuration": [
        "Understand extension interfaces (CNI, CSI, CRI, etc.)",
        "Create and manage Kubernetes clusters using kubeadm",
    ],
}


def _cells(stem: str) -> list[dict]:
    return json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]


def _headings(stem: str) -> set[str]:
    out = set()
    for c in _cells(stem):
        if c["cell_type"] == "markdown":
            out |= {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", "".join(c["source"]), re.M)}
    return out


def test_the_items_are_the_current_curriculums() -> None:
    assert {d: [i.text for i in ITEMS if i.domain == d] for d in DOMAINS} == CURRENT
    assert DOMAINS == {"Services & Networking": 20, "Troubleshooting": 30,
                       "Cluster Architecture, Installation & Configuration": 25}


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.text[:40])
def test_every_section_on_the_map_exists(item) -> None:
    for stem, section in item.where:
        assert (NOTEBOOKS / f"{stem}.ipynb").exists(), stem
        assert section in _headings(stem), f"{stem} has no heading {section!r}"


def test_every_topic_notebook_is_on_the_map() -> None:
    stems = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb") if not p.name.startswith("00-"))
    missing = [s for s in stems if not items_for(s)]
    assert not missing, f"notebooks on no row of the curriculum map (k8snetviz/course/curriculum.py): {missing}"


def test_notebook_00_shows_the_map() -> None:
    shown = ["".join(c["source"]) for c in _cells("00-start-here") if c["cell_type"] == "markdown"]
    assert any(curriculum_map() in s for s in shown), "notebook 00's map differs from curriculum_map()"


@pytest.mark.parametrize("stem", sorted({nb for i in ITEMS for nb, _ in i.where}))
def test_learning_goals_quote_the_items_they_teach(stem: str) -> None:
    goals = next("".join(c["source"]) for c in _cells(stem)
                 if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## Learning goals"))
    for item in items_for(stem):
        assert f'"{item.text}"' in goals, f"{stem}'s learning goals do not quote {item.text!r}"


@pytest.mark.parametrize("stem", sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")
                                        if not p.name.startswith(("00-", "10-"))))
def test_every_topic_notebook_has_three_checked_tasks(stem: str) -> None:
    # Issue 16: at least three CKA-style tasks per topic notebook, each checked by the package.
    checks = [c for c in _cells(stem) if c["cell_type"] == "code" and "task.check(" in "".join(c["source"])]
    assert len(checks) >= 3, f"{stem} has {len(checks)} checked tasks"


@pytest.mark.parametrize("stem", sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")
                                        if not p.name.startswith(("00-", "10-"))))
def test_every_topic_notebook_practises_an_imperative_command(stem: str) -> None:
    # Issue 16: at least one of a topic notebook's checked tasks is done with commands (kubectl create, expose,
    # ip route, sysctl, ...): one of the course's imperative tasks, which the exam sprint of notebook 10 draws from.
    from k8snetviz.course import troubleshooting

    imperative = {t.title for t in troubleshooting.imperative_tasks()}
    modules = dict(re.findall(r"^from k8snetviz\.course import (\w+) as (\w+)$",
                              "\n".join("".join(c["source"]) for c in _cells(stem) if c["cell_type"] == "code"), re.M))
    aliases = {alias: module for module, alias in modules.items()}
    titles = set()
    for c in _cells(stem):
        for alias, name in re.findall(r"^task = (\w+)\.(\w+)\(\)$", "".join(c["source"]), re.M):
            module = __import__(f"k8snetviz.course.{aliases[alias]}", fromlist=[name])
            titles.add(getattr(module, name)().title)
    assert titles & imperative, f"{stem}: none of its tasks ({sorted(titles)}) is practised with commands"


def test_notebook_00_counts_the_pods_its_first_cluster_has() -> None:
    # Issue 16: 00 said "5 pods" and listed three. The count, the lesson's pods and the host-network ones it names
    # are the cluster's (kind runs kube-proxy and the control plane's static pods with hostNetwork: true).
    import k8snetviz

    c = k8snetviz.load("two-node-bridge")
    text = next("".join(x["source"]) for x in _cells("00-start-here")
                if x["cell_type"] == "markdown" and "The first line said" in "".join(x["source"]))
    nodes, pods = map(int, re.search(r"\*\*(\d+) nodes, (\d+) pods\*\*", text).groups())  # type: ignore[union-attr]
    assert f"{nodes} nodes, {pods} pods" in repr(c) and (nodes, pods) == (len(c.nodes), len(c.pods))
    assert {p.name for p in c.pods.values() if p.namespace == "default"} == {"client", "cache", "web"}
    host = {p.name.rsplit("-", 1)[0] for p in c.pods.values() if p.host_network}
    assert host == {"etcd-node", "kube-apiserver-node", "kube-controller-manager-node", "kube-proxy",
                    "kube-scheduler-node"}
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "CoreDNS",
                 "local-path-provisioner"):
        assert name in text
    own = [p for p in c.pods.values() if p.namespace != "default"]
    assert len(own) == 9 and "other nine" in text
    assert all(str(p.ip) == str(c.nodes[p.node_name].internal_ip) for p in own if p.host_network)
