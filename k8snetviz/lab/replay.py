"""The model's writes (:mod:`k8snetviz.agents.writes`), made for real with ``ip``, ``bridge``, ``sysctl`` and ``ipset``.

What a node daemon writes (kindnetd's and BIRD's routes, flanneld's and Felix's tunnel devices with their
neighbour and FDB entries, Felix's IP sets and sysctls) has no binary in the lab: the lab makes the same
requests the daemon would, from the model's writes. The same goes for a CNI plugin the lab does not have
(Calico's): its veth pair, addresses, routes and sysctls are the plugin's writes, replayed.

Each request names a model namespace (``node/X``, ``pod/NS/N``; a shared row has none and goes to the
namespace being replayed); ``netns`` maps them to the lab's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from k8snetviz.agents.writes import (
    AddrAdd,
    FdbAdd,
    IpsetAdd,
    LinkAdd,
    LinkSet,
    NeighAdd,
    RouteAdd,
    SharedNeighbours,
    SharedRoutes,
    Sysctl,
    Write,
)
from k8snetviz.kernel.routing import Route
from k8snetviz.lab.errors import LabError

if TYPE_CHECKING:
    from k8snetviz.lab.netns import Lab

__all__ = ["replay", "expand", "is_daemon_write", "route_argv", "link_argv", "UnsupportedDevice"]

# Who writes a row decides who makes it in the lab: the kernel makes its own (connected routes, lo), the
# real CNI plugins make theirs, the node's own set-up is the lab's topology. The rest is a node daemon's.
_NOT_DAEMONS = ("kernel", "kubelet", "host-network", "scenario")


def expand(writes: Iterable[Write]) -> list[Write]:
    """The writes with each shared request (the same rows for every node but its own) made one per row, in its
    namespace: what the daemon really asks of each node's kernel."""
    out: list[Write] = []
    for w in writes:
        if isinstance(w, SharedRoutes):
            own = {id(r) for r in w.exclude}
            out += [dataclasses.replace(r, netns=w.netns) for r in w.rows if id(r) not in own]
        elif isinstance(w, SharedNeighbours):
            own = {id(r) for r in w.exclude}
            out += [dataclasses.replace(n, netns=w.netns, dev=w.dev) for n in w.neighbours if id(n) not in own]
            out += [dataclasses.replace(f, netns=w.netns, dev=w.dev) for f in w.fdb if id(f) not in own]
        else:
            out.append(w)
    return out


def is_daemon_write(w: Write) -> bool:
    """Is ``w`` a node daemon's (kindnet, flanneld, calico-node/felix, calico-node/bird, static-route)?"""
    component = w.owner.component
    return not (component in _NOT_DAEMONS or component.startswith("kubelet/"))


def route_argv(w: RouteAdd) -> list[str]:
    """``ip route replace`` for the request, in the words ``ip route`` prints it back."""
    return ["ip", "route", "replace", *Route.from_request(w).line.split()]


def link_argv(w: LinkAdd) -> list[str]:
    """``ip link add`` for a tunnel device: VXLAN with its parameters, or an IP-in-IP device."""
    if w.kind == "vxlan":
        v = w.vxlan or {}
        argv = ["ip", "link", "add", w.name, "address", w.mac, "mtu", str(w.mtu), "type", "vxlan", "id", str(v["id"]),
                "local", str(v["local"]), "dev", str(v.get("dev", "eth0")), "dstport", str(v["dstport"])]
        return argv + ([] if v.get("learning", True) else ["nolearning"])
    if w.kind == "ipip":
        return ["ip", "link", "add", w.name, "type", "ipip"]
    raise LabError(f"the lab cannot make a {w.kind} device from a write ({w.name})")


def _sysctl_key(name: str) -> str:
    # A device name with a dot (vxlan.calico) needs the slash form of the key.
    parts = name.split(".")
    if len(parts) > 4 and parts[2] in ("conf", "neigh"):
        return "/".join([*parts[:3], ".".join(parts[3:-1]), parts[-1]])
    return name


class UnsupportedDevice(LabError):
    """The kernel cannot make a device of this kind (``ip link add`` says "Unknown device type")."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"this kernel cannot create {kind} devices ({name}): it has no {kind} support")
        self.kind = kind
        self.name = name


def _uses(w: Write, dev: str) -> bool:
    if isinstance(w, (AddrAdd, NeighAdd, FdbAdd)):
        return w.dev == dev
    if isinstance(w, RouteAdd):
        return w.dev == dev
    if isinstance(w, Sysctl):
        return f".{dev}." in w.name
    if isinstance(w, LinkSet):
        return w.name == dev
    return False


def replay(lab: Lab, writes: Iterable[Write], netns: Mapping[str, str], default: str,
           default_model: str = "") -> list[tuple[str, str]]:
    """Make each write in the lab, in order. ``default``: the lab namespace for a write without one (whose model
    namespace is ``default_model``).

    A tunnel device the kernel cannot make (no ipip support, say) is left out with everything that uses it;
    the (model namespace, device) pairs left out are returned, so that verify can say what it cannot check.
    """
    made: set[tuple[str, str]] = set()
    unbuilt: list[tuple[str, str]] = []
    for w in writes:
        ns = netns.get(w.netns, default) if w.netns else default
        model = w.netns or default_model
        if any(m == model and _uses(w, dev) for m, dev in unbuilt):
            continue
        if isinstance(w, LinkAdd):
            try:
                _link(lab, ns, w, netns, made)
            except UnsupportedDevice:
                unbuilt.append((model, w.name))
        elif isinstance(w, LinkSet):
            args = ["ip", "link", "set", w.name]
            if w.master is not None:
                args += ["master", w.master] if w.master else ["nomaster"]
            if w.up is not None:
                args.append("up" if w.up else "down")
            lab.run_in(ns, args)
        elif isinstance(w, AddrAdd):
            lab.run_in(ns, ["ip", "addr", "replace", str(w.address), "dev", w.dev])
        elif isinstance(w, RouteAdd):
            lab.run_in(ns, route_argv(w))
        elif isinstance(w, NeighAdd):
            lab.run_in(ns, ["ip", "neigh", "replace", w.ip, "lladdr", w.lladdr, "dev", w.dev, "nud", "permanent"])
        elif isinstance(w, FdbAdd):
            lab.run_in(ns, ["bridge", "fdb", "append", w.mac, "dev", w.dev, "dst", w.dst, "self", "permanent"])
        elif isinstance(w, Sysctl):
            lab.sysctl(ns, _sysctl_key(w.name), w.value)
        elif isinstance(w, IpsetAdd):
            lab.run_in(ns, ["ipset", "create", w.name, w.type, "-exist"])
            lab.run_in(ns, ["ipset", "flush", w.name])
            for member in w.members:
                lab.run_in(ns, ["ipset", "add", w.name, member, "-exist"])
        else:
            raise LabError(f"the lab does not replay {type(w).__name__} writes")
    return unbuilt


def _link(lab: Lab, ns: str, w: LinkAdd, netns: Mapping[str, str], made: set[tuple[str, str]]) -> None:
    if (ns, w.name) not in made:
        if w.kind == "veth":
            if w.peer is None or w.peer[0] not in netns:
                raise LabError(f"veth {w.name}: its peer's namespace {w.peer} is not in the lab")
            peer_ns = netns[w.peer[0]]
            lab.run_in(ns, ["ip", "link", "add", w.name, "type", "veth", "peer", "name", w.peer[1], "netns", peer_ns])
            made.add((peer_ns, w.peer[1]))
        elif w.kind == "ipip" and _exists(lab, ns, w.name):
            pass  # tunl0 is the ipip module's fallback device: every namespace has one once the module is loaded
        else:
            done = lab.run_in(ns, link_argv(w), check=False)
            if done.returncode != 0 and "Unknown device type" in (done.stderr or ""):
                raise UnsupportedDevice(w.kind, w.name)
            if done.returncode != 0 and not _exists(lab, ns, w.name):
                raise LabError(f"cannot create {w.kind} device {w.name}: {(done.stderr or '').strip()} "
                               f"(is the {w.kind} kernel module available?)")
        made.add((ns, w.name))
    args = ["ip", "link", "set", w.name, "mtu", str(w.mtu)]
    if w.kind in ("veth", "ether", "bridge", "vxlan"):
        args += ["address", w.mac]
    if w.master:
        args += ["master", w.master]
    lab.run_in(ns, [*args, "up"])


def _exists(lab: Lab, ns: str, dev: str) -> bool:
    return lab.run_in(ns, ["ip", "link", "show", "dev", dev], check=False).returncode == 0
