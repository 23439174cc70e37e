"""What the cluster's programs ask of Linux, as data: the kernel (:mod:`k8snetviz.kernel.boot`) applies it.

A real node's agents never hold kernel objects: the CNI plugins send netlink requests (``ip link add``,
``ip addr add``, ``ip route add``, ``bridge fdb append``), kube-proxy and the CNI add-ons feed text to
``iptables-restore``, the kubelet writes sysctls and files. Addresses are given as ``ip`` takes them
(``10.244.1.0/24``, ``default``) or, as netlink carries them, as :mod:`ipaddress` objects. Each request
here is one such call and carries its :class:`Owner`: the program that made it and the Kubernetes
object it was made for, so every row of the resulting kernel state can say why it exists.

>>> owner = Owner("kindnet", node="kind-worker", object="Node kind-worker2",
...               why="the podCIDR of kind-worker2 via its node IP")
>>> RouteAdd("node/kind-worker", "10.244.2.0/24", "eth0", via="172.18.0.4", owner=owner).dst
'10.244.2.0/24'
>>> owner.to_dict()["component"]
'kindnet'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, TypeVar

__all__ = [
    "Owner",
    "KERNEL",
    "NetnsAdd",
    "LinkAdd",
    "LinkSet",
    "AddrAdd",
    "RouteAdd",
    "NeighAdd",
    "FdbAdd",
    "Sysctl",
    "NfacctAdd",
    "RouteDel",
    "SharedRoutes",
    "SharedNeighbours",
    "IpsetAdd",
    "IptablesRestore",
    "IptablesEdit",
    "IptablesCall",
    "NftablesTransaction",
    "Write",
    "fast_init",
]

_T = TypeVar("_T")


def fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen dataclass an ``__init__`` that fills the new object's ``__dict__`` in one step.

    The ``__init__`` that ``dataclass(frozen=True)`` writes calls ``object.__setattr__`` once per field,
    three times slower than a plain class; a cluster of 150,000 pods makes millions of these requests,
    owners and rows. Same signature, same defaults, same object: only for fields with plain defaults.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if any(f.default_factory is not dataclasses.MISSING or not f.init for f in fields) \
            or hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__:
        raise TypeError(f"fast_init: {cls.__name__} needs the dataclass __init__")
    names = [f.name for f in fields]
    defaults = {f"_d_{f.name}": f.default for f in fields if f.default is not dataclasses.MISSING}
    params = ", ".join(f"{n}=_d_{n}" if f"_d_{n}" in defaults else n for n in names)
    source = (f"def __init__(self, {params}):\n"
              f"    self.__dict__.update({{{', '.join(f'{n!r}: {n}' for n in names)}}})\n")
    scope: dict[str, Any] = dict(defaults)
    exec(source, scope)  # noqa: S102 - generated from the dataclass's own field names, as dataclasses does
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@fast_init
@dataclass(frozen=True)
class Owner:
    """Who wrote a kernel row, and for which object.

    ``component`` is the program (``kube-proxy``, ``kubelet/bridge``, ``kindnet``, ``flanneld``,
    ``kernel``, ``scenario``); ``node`` the node it runs on (None: the node that holds the row);
    ``object`` the Kubernetes object the row was written for (``EndpointSlice default/web-7x2k``);
    ``chain`` the causes beyond that object, nearest first (``Service default/web``); ``why`` the
    row's purpose in words.
    """

    component: str
    node: str | None = None
    object: str | None = None
    chain: tuple[str, ...] = ()
    why: str = ""

    def on(self, node: str | None) -> Owner:
        """The same owner, placed on ``node`` when it does not name one."""
        if self.node is not None or node is None:
            return self
        return Owner(self.component, node, self.object, self.chain, self.why)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"component": self.component, "node": self.node, "object": self.object}
        if self.chain:
            d["chain"] = list(self.chain)
        if self.why:
            d["why"] = self.why
        return d


# The kernel itself: connected routes for an address, the loopback device.
KERNEL = Owner("kernel", why="the kernel adds it for an address on the device")


@fast_init
@dataclass(frozen=True)
class NetnsAdd:
    """A network namespace: a node's root namespace, a pod sandbox's, an outside host's."""

    netns: str  # node/NAME, pod/NS/NAME, external/NAME, loadbalancer/NS/NAME
    kind: str  # node | pod | external | loadbalancer
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True)
class LinkAdd:
    """``ip link add``: a device in ``netns`` (a veth names its peer, which the same request creates)."""

    netns: str
    name: str
    kind: str  # loopback | ether | veth | bridge | vxlan | ipip
    mac: str = "00:00:00:00:00:00"
    mtu: int = 1500
    master: str | None = None
    peer: tuple[str, str] | None = None  # (netns, name) of a veth's other end
    peer_ifindex: int | None = None  # for an ether device whose peer lives outside the model (docker's veth)
    vxlan: dict[str, Any] | None = None  # id, local, dev, dstport, learning
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True)
class LinkSet:
    """``ip link set DEV master BRIDGE`` (or ``nomaster``), ``up``/``down``."""

    netns: str
    name: str
    master: str | None = None
    up: bool | None = None
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True)
class AddrAdd:
    """``ip addr add ADDRESS/PREFIX dev DEV``."""

    netns: str
    dev: str
    address: str | IPv4Interface  # 10.244.1.1/24
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True)
class RouteAdd:
    """``ip route add``: one row of the main table (``type`` unicast or blackhole)."""

    netns: str
    dst: str | IPv4Network | IPv4Address  # default, 10.244.2.0/24, 10.244.1.2 (a /32)
    dev: str | None
    via: str | IPv4Address | None = None
    proto: str | None = None
    scope: str | None = None
    src: str | IPv4Address | None = None
    metric: int | None = None
    onlink: bool = False
    type: str = "unicast"
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True)
class RouteDel:
    """``ip route del DST``: a learner's (or a scenario's) change to a namespace's table."""

    netns: str
    dst: str | IPv4Network | IPv4Address
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True, eq=False)
class SharedRoutes:
    """``ip route add`` for each of ``rows`` but those in ``exclude``: what a node agent writes alike on every node.

    kindnetd, the bridge set-up and flanneld each route every other node's podCIDR: one row per node of the
    cluster, the same on every node but for the node's own. ``rows`` is one tuple the agent hands to every
    node (its requests name no namespace and carry their device), ``exclude`` the node's own rows, so the
    kernel can keep the rows once (:class:`k8snetviz.kernel.routing.RouteLayer`) instead of once per node.
    """

    netns: str
    rows: tuple[RouteAdd, ...]
    exclude: tuple[RouteAdd, ...] = ()
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True)
class NeighAdd:
    """``ip neigh add IP lladdr MAC dev DEV nud permanent``."""

    netns: str
    dev: str
    ip: str
    lladdr: str
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True)
class FdbAdd:
    """``bridge fdb append MAC dev DEV dst IP``: where a VXLAN device sends frames for a MAC."""

    netns: str
    dev: str
    mac: str
    dst: str
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True, eq=False)
class SharedNeighbours:
    """``ip neigh add`` and ``bridge fdb append`` for every peer of an overlay but the node itself.

    flanneld writes, on every node, a neighbour entry and an FDB entry for each other node's VTEP: the
    same rows everywhere but for the node's own. Like :class:`SharedRoutes`, ``neighbours`` and ``fdb``
    are tuples the agent hands to every node (requests without a namespace) and ``exclude`` the node's
    own, so the kernel keeps them once.
    """

    netns: str
    dev: str
    neighbours: tuple[NeighAdd, ...]
    fdb: tuple[FdbAdd, ...]
    exclude: tuple[NeighAdd | FdbAdd, ...] = ()
    owner: Owner = KERNEL


@fast_init
@dataclass(frozen=True)
class Sysctl:
    """``sysctl -w NAME=VALUE`` in one namespace (``net.ipv4.ip_forward``, ``net.ipv4.conf.all.route_localnet``)."""

    netns: str
    name: str
    value: str
    owner: Owner = KERNEL


@dataclass(frozen=True)
class NfacctAdd:
    """``nfacct add NAME``: a named packet counter (nfnetlink_acct) that ``-m nfacct`` rules count into.

    The object must exist before a rule names it (``iptables-restore`` fails otherwise); kube-proxy
    creates its counters (``localhost_nps_accepted_pkts``, ``ct_state_invalid_dropped_pkts``) at start.
    """

    netns: str
    name: str
    owner: Owner = KERNEL


@dataclass(frozen=True)
class IpsetAdd:
    """``ipset create NAME TYPE`` and ``ipset add NAME MEMBER`` for each member (what ``-m set`` matches)."""

    netns: str
    name: str
    type: str  # hash:net | hash:ip
    members: tuple[str, ...]
    owner: Owner = KERNEL


@dataclass
class IptablesRestore:
    """What a program feeds ``iptables-restore --noflush``: chains to create, then rules in order.

    ``chains`` and ``rules`` keep the order they were added in; each rule is ``(table, chain, args, owner)``.
    The same payload can be applied to many nodes (kube-proxy writes the same rules on every node
    unless a Service depends on the node).
    """

    netns: str = ""
    tables: tuple[str, ...] = ("filter", "nat")
    chains: list[tuple[str, str]] = field(default_factory=list)
    rules: list[tuple[str, str, tuple[str, ...], Owner | None]] = field(default_factory=list)
    owner: Owner = KERNEL

    def new_chain(self, table: str, chain: str) -> None:
        self.chains.append((table, chain))

    def append(self, table: str, chain: str, args: Sequence[str], owner: Owner | None = None) -> None:
        self.rules.append((table, chain, tuple(args), owner))

    def writer(self, owner: Owner) -> Callable[[str, str, Sequence[str]], None]:
        """``append`` with ``owner`` bound: one program writing the rules of one object."""
        def append(table: str, chain: str, args: Sequence[str]) -> None:
            self.rules.append((table, chain, tuple(args), owner))
        return append

    def __len__(self) -> int:
        return len(self.rules)


@dataclass(frozen=True)
class IptablesEdit:
    """One ``iptables`` command that changes a table: ``-A``/``-I``/``-D`` a rule, ``-N``/``-X``/``-F`` a chain,
    ``-P`` a policy (a learner's, typed on a node; the agents write whole payloads with :class:`IptablesRestore`).

    ``op`` is the flag (``-A``, ``-I``, ``-D``, ``-N``, ``-X``, ``-F``, ``-P``); ``args`` the rule or the policy;
    ``position`` the 1-based rule number of ``-I`` and ``-D N``.
    """

    netns: str
    table: str
    op: str
    chain: str
    args: tuple[str, ...] = ()
    position: int | None = None
    owner: Owner = KERNEL


@dataclass(frozen=True)
class IptablesCall:
    """One ``iptables -t TABLE`` call as a CNI plugin makes it through go-iptables, idempotently (unlike a
    learner's :class:`IptablesEdit`): ``-N`` creates the chain unless it exists; ``-A`` appends and ``-I``
    inserts at the top, unless the same rule is already in the chain (portmap's ``insertUnique``)."""

    netns: str
    table: str
    op: str  # -N | -A | -I
    chain: str
    args: tuple[str, ...] = ()
    owner: Owner = KERNEL


@dataclass
class NftablesTransaction:
    """What a program feeds ``nft -f``: commands in order (``add table ip kube-proxy { ... }``, ``add chain``,
    ``add map``, ``add rule``, ``add element``), each with the owner of the row it makes."""

    netns: str = ""
    commands: list[tuple[str, Owner | None]] = field(default_factory=list)
    owner: Owner = KERNEL

    def add(self, command: str, owner: Owner | None = None) -> None:
        self.commands.append((command, owner))

    def text(self) -> str:
        """The transaction as ``nft -f`` reads it."""
        return "".join(c + "\n" for c, _ in self.commands)

    def __len__(self) -> int:
        return len(self.commands)


Write = (NetnsAdd | LinkAdd | LinkSet | AddrAdd | RouteAdd | RouteDel | SharedRoutes | NeighAdd | FdbAdd
         | SharedNeighbours | Sysctl | NfacctAdd | IpsetAdd | IptablesRestore | IptablesEdit | IptablesCall
         | NftablesTransaction)
