"""Type the real commands against a scenario: ``ip route`` on a node, ``kubectl get pods -o wide``, …

The course's cheat sheets name the commands you would type on a real node; :func:`run` answers them
from the model, printed as the real tool prints them, so the learner practises the exact syntax.

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

import re
import shlex
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from k8snetviz.errors import UsageError
from k8snetviz.views.iproute import bridge_fdb, ip_br_addr, ip_br_link, ip_link, ip_neigh, ip_route
from k8snetviz.views.table import columns

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.kernel.netns import NetNS

__all__ = ["run", "CommandOutput", "COMMANDS"]

# What run() understands, for the error message and the cheat sheets.
COMMANDS = (
    "ip route", "ip route get ADDRESS", "ip -br addr", "ip -br link", "ip link",
    "ip link show DEV", "ip -d link show DEV", "ip neigh show dev DEV", "bridge fdb show dev DEV",
    "sysctl net.ipv4.ip_forward", "kubectl get RESOURCE [NAME] [-o wide] [-n NS | -A]",
    "kubectl describe svc NAME [-n NS]",
)


@dataclass
class CommandOutput:
    """A command and what it printed, shown as a terminal would show it."""

    prompt: str
    command: str
    output: str

    def __str__(self) -> str:
        return f"{self.prompt} {self.command}\n{self.output}".rstrip()

    def __repr__(self) -> str:
        return str(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        html = (f'<pre class="knv-terminal" style="background:#f6f8fa;padding:0.5em">'
                f"<b>{escape(self.prompt)} {escape(self.command)}</b>\n{escape(self.output)}</pre>")
        return {"text/plain": str(self), "text/html": html}


def run(cluster: Cluster, command: str, on: str | None = None) -> CommandOutput:
    """Run ``command`` on ``on`` (a node, ``node/NAME``, or a pod ``NS/NAME``); kubectl needs no ``on``."""
    words = shlex.split(command)
    if not words:
        raise UsageError("no command given")
    if words[0] == "kubectl":
        return CommandOutput("$", command, _kubectl(cluster, words[1:]))
    if on is None:
        raise UsageError(f'"{command}" runs on a node or in a pod: say where, e.g. on="node/NAME" or on="NS/NAME"')
    ns = cluster.netns_of(on)
    prompt, shown = f"root@{ns.name.rsplit('/', 1)[-1]}:/#", command
    if ns.kind == "pod":
        # In a pod you would run it through kubectl exec; show that form, the one to type.
        pod_ns, _, pod = ns.name[4:].partition("/")
        prompt, shown = "$", f"kubectl exec -n {pod_ns} {pod} -- {command}"
    if words[0] == "ip":
        return CommandOutput(prompt, shown, _ip(ns, words[1:]))
    if words[0] == "bridge":
        return CommandOutput(prompt, shown, _bridge(ns, words[1:]))
    if words[:2] == ["sysctl", "net.ipv4.ip_forward"]:
        return CommandOutput(prompt, shown, f"net.ipv4.ip_forward = {int(ns.ip_forward)}")
    raise _unknown(command)


def _unknown(command: str) -> UsageError:
    return UsageError(f'"{command}" is not one of the commands this course answers: ' + "; ".join(COMMANDS))


def _dev_arg(ns: NetNS, args: list[str]) -> str:
    words = [w for w in args if w not in ("show", "dev")]
    if len(words) != 1:
        raise UsageError("name one device, e.g. dev flannel.1")
    if words[0] not in ns.interfaces:
        raise UsageError(f'Device "{words[0]}" does not exist.')
    return words[0]


def _ip(ns: NetNS, args: list[str]) -> str:
    brief = "-br" in args or "-brief" in args
    detail = "-d" in args or "-details" in args
    rest = [a for a in args if not a.startswith("-")]
    obj, sub = (rest[0] if rest else ""), rest[1:]
    if obj in ("r", "route", "ro"):
        if sub[:1] == ["get"] and len(sub) == 2:
            return _route_get(ns, sub[1])
        if sub in ([], ["show"], ["list"]):
            return ip_route(ns)
    elif obj in ("a", "addr", "address") and not sub and brief:
        return ip_br_addr(ns)
    elif obj in ("l", "link"):
        if not sub or sub == ["show"]:
            return ip_br_link(ns) if brief else ip_link(ns, details=detail)
        return ip_link(ns, _dev_arg(ns, sub), details=detail)
    elif obj in ("n", "neigh", "neighbour", "neighbor"):
        return ip_neigh(ns, _dev_arg(ns, sub))
    raise _unknown("ip " + " ".join(args))


def _bridge(ns: NetNS, args: list[str]) -> str:
    if args[:1] != ["fdb"]:
        raise _unknown("bridge " + " ".join(args))
    return bridge_fdb(ns, _dev_arg(ns, args[1:]))


def _route_get(ns: NetNS, addr: str) -> str:
    try:
        route = ns.routes.lookup(addr)
    except ValueError:
        raise UsageError(f'Error: inet prefix is expected rather than "{addr}".') from None
    if route is None:
        return "RTNETLINK answers: Network is unreachable"
    src = ns.source_address(route)
    via = f" via {route.via}" if route.via else ""
    return f"{addr}{via} dev {route.dev} src {src} uid 0\n    cache"


def _kubectl(cluster: Cluster, args: list[str]) -> str:
    if args[:1] == ["describe"] and len(args) >= 3 and args[1] in ("svc", "service", "services"):
        return _describe_svc(cluster, args[2:])
    if args[:1] != ["get"] or len(args) < 2:
        raise _unknown("kubectl " + " ".join(args))
    resource, rest = args[1], args[2:]
    wide = False
    namespace = None
    all_ns = False
    names: list[str] = []
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("-o", "--output") and i + 1 < len(rest) and rest[i + 1] == "wide":
            wide, i = True, i + 2
        elif a == "-owide":
            wide, i = True, i + 1
        elif a in ("-A", "--all-namespaces"):
            all_ns, i = True, i + 1
        elif a in ("-n", "--namespace") and i + 1 < len(rest):
            namespace, i = rest[i + 1], i + 2
        elif not a.startswith("-"):
            names.append(a)
            i += 1
        else:
            raise UsageError(f'error: unknown flag or argument "{a}" for "kubectl get" in this course')
    if names and all_ns:
        raise UsageError("error: a resource cannot be retrieved by name across all namespaces")
    text = cluster.get(resource, namespace=namespace, all_namespaces=all_ns, wide=wide)
    if not names:
        return text
    # kubectl get RESOURCE NAME...: the header and the named rows, or kubectl's NotFound error.
    lines = text.splitlines()
    col = 1 if all_ns else 0
    rows = [line for line in lines[1:] if line.split()[col:col + 1] and line.split()[col] in names]
    missing = [n for n in names if not any(r.split()[col] == n for r in rows)]
    if missing:
        from k8snetviz.views.resources import ALIASES

        plural = ALIASES.get(resource.lower(), resource)
        raise UsageError(f'Error from server (NotFound): {plural} "{missing[0]}" not found')
    # Realign: kubectl sizes the columns to the rows it prints. Cells never hold two spaces in a row.
    cells = [re.split(r" {2,}", line.rstrip()) for line in [lines[0], *rows]]
    return columns(cells[0], cells[1:])


def _describe_svc(cluster: Cluster, args: list[str]) -> str:
    from k8snetviz.views.kubectl_services import describe_service

    namespace = "default"
    names = []
    i = 0
    while i < len(args):
        if args[i] in ("-n", "--namespace") and i + 1 < len(args):
            namespace, i = args[i + 1], i + 2
        else:
            names.append(args[i])
            i += 1
    if len(names) != 1:
        raise UsageError("kubectl describe svc NAME [-n NAMESPACE]: name one service")
    svc = cluster.service(f"{namespace}/{names[0]}")
    return describe_service(svc, cluster.endpointslices)
