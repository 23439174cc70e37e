"""Type the real commands against a scenario: ``ip route`` on a node, ``kubectl get pods -o wide``, …

:func:`run` answers one command from the model, printed as the real tool prints it, so the learner
practises the exact syntax. It is the one-command form of :class:`~k8snetviz.course.shell.Session`,
the terminal the notebooks' :func:`terminal` widget and ``k8snetviz shell`` drive: a session keeps
what its commands change; ``run`` does not.

>>> import k8snetviz
>>> c = k8snetviz.load("two-node-bridge")
>>> print(run(c, "ip route get 10.244.2.7", on="node-a"))
root@node-a:/# ip route get 10.244.2.7
10.244.2.7 via 172.18.0.3 dev eth0 src 172.18.0.2 uid 0
    cache
>>> print(run(c, "sysctl net.ipv4.ip_forward", on="node-b").output)
net.ipv4.ip_forward = 1
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from k8snetviz.course.shell.base import CommandOutput, Place
from k8snetviz.course.shell.session import Session
from k8snetviz.errors import UsageError

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["run", "CommandOutput", "COMMANDS", "Session", "terminal"]

# What run() is most often asked, for the cheat sheets.
COMMANDS = (
    "ip route", "ip route get ADDRESS", "ip -br addr", "ip -br link", "ip link",
    "ip link show DEV", "ip -d link show DEV", "ip neigh show dev DEV", "bridge fdb show dev DEV",
    "sysctl net.ipv4.ip_forward", "iptables-save -t nat", "iptables -t nat -L KUBE-SERVICES -n",
    "kubectl get RESOURCE [NAME] [-o wide] [-n NS | -A] [-l SELECTOR] [--show-labels]",
    "kubectl describe RESOURCE NAME [-n NS]",
)


def run(cluster: Cluster, command: str, on: str | None = None) -> CommandOutput:
    """Run ``command`` on ``on`` (a node, ``node/NAME``, or a pod ``NS/NAME``); kubectl needs no ``on``.

    A command the tool refuses (an unknown device, a missing Service) raises :class:`UsageError` with the
    tool's message.
    """
    try:
        words = shlex.split(command)
    except ValueError as e:
        raise UsageError(f"bash: {e}") from None
    if not words:
        raise UsageError("no command given")
    session = Session(cluster)
    if words[0] in ("kubectl", "k"):
        out = session.run(command)
        prompt, shown = "$", command
    else:
        if on is None:
            raise UsageError(f'"{command}" runs on a node or in a pod: say where, e.g. on="node/NAME" or '
                             'on="NS/NAME"')
        ns = cluster.netns_of(on)
        name = ns.name.split("/", 1)[1]
        if ns.kind == "pod":
            pod = cluster.pod(name)
            session.places.append(Place("pod", pod.key, image=" ".join(pod.images)))
            # In a pod you would run it through kubectl exec; show that form, the one to type.
            prompt, shown = "$", f"kubectl exec -n {pod.namespace} {pod.name} -- {command}"
        else:
            session.places.append(Place("node", name))
            prompt, shown = f"root@{name}:/#", command
        out = session.run(command)
    if out.status != 0:
        raise UsageError(out.output.strip() or f"{command}: exit status {out.status}")
    return CommandOutput(prompt, shown, out.output, out.status)


def terminal(scenario: Any, *, session: Session | None = None, height: str = "22em") -> Any:
    """The notebook terminal: type commands, see what the real tools print, with history (↑/↓)."""
    from k8snetviz.course.shell.widget import terminal_widget

    return terminal_widget(session or Session(scenario), height=height)
