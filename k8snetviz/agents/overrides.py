"""A scenario's changes to one namespace's network state (``spec.overrides``): what an administrator, or a
troubleshooting exercise, did by hand on a node — forwarding turned off, a route deleted or added.
"""

from __future__ import annotations

from k8snetviz.agents.writes import Owner, RouteAdd, RouteDel, Sysctl, Write
from k8snetviz.api.config import Override
from k8snetviz.errors import ScenarioError

__all__ = ["override_writes"]

_WORDS = ("via", "dev", "proto", "scope", "src", "metric")


def override_writes(o: Override) -> list[Write]:
    """The writes of one override, in the order they are applied: forwarding, bridge netfilter, deletions, additions."""
    owner = Owner("scenario", None, o.where, (), "changed by the scenario (spec.overrides)")
    out: list[Write] = []
    if o.ip_forward is not None:
        out.append(Sysctl(o.target, "net.ipv4.ip_forward", "1" if o.ip_forward else "0", owner))
    if o.bridge_nf_call_iptables is not None:
        out.append(Sysctl(o.target, "net.bridge.bridge-nf-call-iptables", "1" if o.bridge_nf_call_iptables else "0",
                          owner))
    out += [RouteDel(o.target, r, owner) for r in o.delete_routes]
    for j, text in enumerate(o.add_routes):
        out.append(parse_route(text, o.target, owner, f"{o.where}.addRoutes[{j}]"))
    return out


def parse_route(text: str, netns: str, owner: Owner, where: str = "route") -> RouteAdd:
    """``ip route add`` arguments (``DST [via IP] [dev DEV] [proto P] [scope S] [src IP] [metric N] [onlink]``)."""
    words = text.split()
    kind = "unicast"
    if words and words[0] in ("blackhole", "unreachable", "prohibit"):
        kind = words.pop(0)
    if not words:
        raise ScenarioError(f'{where}: cannot read route "{text}": a route needs a destination')
    dst, opts, onlink = words[0], {}, False
    i = 1
    while i < len(words):
        if words[i] == "onlink":
            onlink, i = True, i + 1
        elif words[i] in _WORDS and i + 1 < len(words):
            opts[words[i]], i = words[i + 1], i + 2
        else:
            raise ScenarioError(f'{where}: cannot read route "{text}": either "to" is duplicate, or "{words[i]}" '
                                "is a garbage.")
    metric = opts.get("metric")
    return RouteAdd(netns, dst, opts.get("dev"), via=opts.get("via"), proto=opts.get("proto"),
                    scope=opts.get("scope"), src=opts.get("src"), metric=int(metric) if metric else None,
                    onlink=onlink, type=kind, owner=owner)
