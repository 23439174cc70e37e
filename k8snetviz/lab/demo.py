"""The lab beside the simulator in a notebook: one scenario built in the kernel, one node's real ``ip route``,
``ip -br link`` and ``iptables-save`` next to the simulated ones, then everything removed again.
"""

from __future__ import annotations

import os
import sys

import k8snetviz
from k8snetviz.errors import K8sNetVizError
from k8snetviz.lab.build import build
from k8snetviz.lab.netns import Lab
from k8snetviz.lab.preflight import missing_requirements, preflight
from k8snetviz.questions.results import SideBySide
from k8snetviz.views.iproute import ip_br_link

__all__ = ["lab_demo", "lab_unavailable", "SideBySide"]


def lab_unavailable() -> str | None:
    """Why the lab cannot run here (in a browser, not root, a missing package), or None."""
    if sys.platform == "emscripten":
        return ("The real Linux lab cannot run in a browser (this is JupyterLite): in a clone of the repository on "
                "Linux, `make lab` opens the course where it can run (as root).")
    if os.geteuid() != 0:
        return "The lab needs root to create network namespaces; it is skipped here (on Binder, for example)."
    missing = missing_requirements()
    if missing:
        return "The lab needs " + ", ".join(missing) + "; it is skipped here."
    return None


def lab_demo(scenario: str = "kind-default", node: str = "kind-worker", lab_id: str = "nb07", *,
             run: bool = False) -> SideBySide:
    """Build ``scenario`` in the kernel, show ``node``'s real ``ip route``, ``ip -br link`` and
    ``iptables-save`` beside the simulated ones, and take the lab down again.

    Nothing touches the kernel unless ``run=True`` is given (a notebook's Run All never builds the lab
    by surprise); without root or the lab's programs it says why it skipped.
    """
    why = lab_unavailable()
    if why:
        return SideBySide([], why)
    if not run:
        return SideBySide([], "The lab is off: call lab_demo(..., run=True) to build the scenario in this machine's "
                              "kernel (network namespaces, real CNI plugins, iptables), compare, and remove it again.")
    cluster = k8snetviz.load(scenario)
    model = cluster.netns[f"node/{cluster.node(node).name}"]
    try:
        with Lab(lab_id, keep=False) as lab:
            lay = build(lab, cluster, scenario, preflight())
            ns = lay.netns[model.name]
            route = lab.run_in(ns, ["ip", "route"]).stdout
            link = lab.run_in(ns, ["ip", "-br", "link"]).stdout
            rules = lab.run_in(ns, ["iptables-save"]).stdout
    except K8sNetVizError as err:
        return SideBySide([], f"The lab could not run: {err}")
    keep = ("*", ":", "-A", "COMMIT")
    real_rules = "\n".join(line for line in rules.splitlines() if line.startswith(keep))
    sim_rules = "\n".join(line for line in str(cluster.iptables(node)).splitlines() if line.startswith(keep))
    return SideBySide([
        ("ip route", "\n".join(x.rstrip() for x in route.splitlines()), str(model.routes)),
        ("ip -br link", link, ip_br_link(model)),
        ("iptables-save", real_rules, sim_rules),
    ], f"{scenario} built in the kernel (lab {lab_id}) and taken down again; node {node}. The veth names and "
       "MAC addresses differ: the plugins make random ones.")
