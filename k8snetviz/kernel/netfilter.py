"""A small model of iptables: tables, chains and rules of one network namespace, and a packet's walk.

A :class:`Ruleset` holds what ``iptables-save`` prints for one network namespace. Every rule is kept
both parsed (to evaluate it) and as the exact line ``iptables-save`` would print for it, so that
:meth:`Ruleset.save` can be fed to ``iptables-restore`` and compared with a real ``iptables-save``.
Rules may be given in any argument order iptables accepts (kube-proxy writes ``-m tcp -p tcp -d IP
--dport 80``); they are stored in the canonical order the kernel hands back (``-d IP/32 -p tcp ...
-m tcp --dport 80``), with the same rewriting iptables does: ``/32`` added, ``MARK --or-mark`` shown as
``--set-xmark``, ``statistic --probability`` shown as the kernel's 31-bit fixed-point value.

>>> rs = Ruleset(["nat"])
>>> rs.new_chain("nat", "KUBE-SEP-A")
>>> rs.append("nat", "KUBE-SEP-A", "-m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080").line
'-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080'
>>> _ = rs.append("nat", "PREROUTING", "-d 10.96.0.20 -p tcp --dport 80 -j KUBE-SEP-A")
>>> walk = rs.traverse("nat", "PREROUTING", Packet("10.244.2.7", "10.96.0.20", "tcp", 40000, 80))
>>> walk.only().packet.dst, walk.only().packet.dport
(IPv4Address('10.244.1.5'), 8080)

Traversal explores both branches of every ``-m statistic --mode random`` rule, so its result is a
list of outcomes with exact probabilities (``Fraction``) that sum to 1.

Speed: a chain indexes its rules by the exact destination address, protocol and destination port
they require (see :class:`Chain`), so one packet's walk does not scan the 10,000 rules of a large
``KUBE-SERVICES`` chain.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network

from k8snetviz.agents.writes import IptablesEdit, IptablesRestore, Owner
from k8snetviz.errors import ScenarioError
from k8snetviz.kernel.packet import Packet

__all__ = [
    "BUILTIN_CHAINS",
    "HOOK_TABLES",
    "RulesetError",
    "Packet",
    "HookContext",
    "Rule",
    "Target",
    "Chain",
    "Ruleset",
    "Outcome",
    "Traversal",
    "RecentUpdate",
    "parse_rule",
    "split_args",
    "traverse",
    "traverse_hook",
]

# Built-in chains of each table, in hook order (the order iptables-save prints them in).
BUILTIN_CHAINS: dict[str, tuple[str, ...]] = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
}

# Tables at each hook in the kernel's priority order (raw -300, mangle -150, nat DNAT -100,
# filter 0, nat SNAT +100).
HOOK_TABLES: dict[str, tuple[str, ...]] = {
    "PREROUTING": ("raw", "mangle", "nat"),
    "INPUT": ("mangle", "filter", "nat"),
    "FORWARD": ("mangle", "filter"),
    "OUTPUT": ("raw", "mangle", "nat", "filter"),
    "POSTROUTING": ("mangle", "nat"),
}

_PROTO_NUMBERS = {"1": "icmp", "6": "tcp", "17": "udp", "132": "sctp"}
_PORT_PROTOS = ("tcp", "udp", "sctp")
_PORT_PROTOS_UPPER = frozenset(p.upper() for p in _PORT_PROTOS)
_UPPER = {p: p.upper() for p in ("tcp", "udp", "sctp", "icmp", "udplite", "dccp")}
_VERDICTS = ("ACCEPT", "DROP", "REJECT")
_NAT_TARGETS = ("DNAT", "SNAT", "MASQUERADE")
# The hooks a built-in chain may hold each target in (the kernel refuses the rule otherwise).
_TARGET_HOOKS = {
    "DNAT": ("PREROUTING", "OUTPUT"),
    "SNAT": ("POSTROUTING", "INPUT"),
    "MASQUERADE": ("POSTROUTING",),
    "REJECT": ("INPUT", "FORWARD", "OUTPUT"),
}
# Conntrack states in the order libxt_conntrack prints them.
_CTSTATES = ("INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT")
_CTSTATE_SET = frozenset(_CTSTATES)
_ADDRESS_TYPE = {IPv4Address}
_BROADCAST = IPv4Address("255.255.255.255")
_NEW = frozenset({"NEW"})
# Address types in the kernel's RTN_* order, the order libxt_addrtype prints them in.
_ADDRTYPES = (
    "UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
    "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE",
)
_REJECT_WITH = (
    "icmp-net-unreachable", "icmp-host-unreachable", "icmp-port-unreachable",
    "icmp-proto-unreachable", "icmp-net-prohibited", "icmp-host-prohibited",
    "icmp-admin-prohibited", "tcp-reset",
)
_U32 = 0xFFFFFFFF
_ONE = Fraction(1)
_STAT_SCALE = 0x80000000  # xt_statistic keeps the probability as a 31-bit fixed-point number


class RulesetError(ScenarioError):
    """iptables text or arguments that ``iptables-restore`` would refuse."""


# ---------------------------------------------------------------------------------------------
# Values


def _ip(value: IPv4Address | str | int) -> IPv4Address:
    return value if isinstance(value, IPv4Address) else IPv4Address(value)


def _states(value: str | Iterable[str]) -> frozenset[str]:
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(s.strip().upper() for s in items if s.strip())


@dataclass(frozen=True)
class HookContext:
    """What a rule can see besides the packet, at one hook of one namespace.

    - ``in_iface`` / ``out_iface``: the interfaces (None where the hook has none, e.g. no
      ``out_iface`` in PREROUTING).
    - ``local_addresses``: the namespace's own addresses, for ``-m addrtype --dst-type LOCAL``
      (127.0.0.0/8 is always local, as the kernel's local routing table says).
    - ``out_address``: the address MASQUERADE picks on the out interface.
    - ``ctstate``: the connection's conntrack states (``NEW``; ``ESTABLISHED``; plus ``DNAT`` /
      ``SNAT`` once the connection is NATed, which :func:`traverse_hook` adds by itself).
    - ``recent``: for ``-m recent``, the addresses each named list holds that are still fresh
      (seen within the rule's ``--seconds``); the caller keeps this state between packets.
    - ``ipsets``: for ``-m set``, the members of each ipset of the namespace (``hash:net`` sets).
    """

    in_iface: str | None = None
    out_iface: str | None = None
    local_addresses: frozenset[IPv4Address] = frozenset()
    out_address: IPv4Address | None = None
    ctstate: frozenset[str] = frozenset({"NEW"})
    recent: Mapping[str, frozenset[IPv4Address]] = field(default_factory=dict)
    ipsets: Mapping[str, tuple[IPv4Network, ...]] = field(default_factory=dict)  # for -m set: name -> members

    def __post_init__(self) -> None:
        # Normalised only when needed: the walk makes one context per hook and passes what it holds already.
        local = self.local_addresses
        if type(local) is not frozenset or not set(map(type, local)) <= _ADDRESS_TYPE:
            object.__setattr__(self, "local_addresses", frozenset(_ip(a) for a in local))
        if self.out_address is not None and type(self.out_address) is not IPv4Address:
            object.__setattr__(self, "out_address", _ip(self.out_address))
        if type(self.ctstate) is not frozenset or not self.ctstate <= _CTSTATE_SET:
            object.__setattr__(self, "ctstate", _states(self.ctstate))
        if self.recent:
            recent = {name: frozenset(_ip(a) for a in addrs) for name, addrs in self.recent.items()}
            object.__setattr__(self, "recent", recent)

    @classmethod
    def at_hook(cls, in_iface: str | None, out_iface: str | None, local_addresses: frozenset[IPv4Address],
                out_address: IPv4Address | None, ipsets: Mapping[str, tuple[IPv4Network, ...]]) -> HookContext:
        """A new connection's context from what a namespace holds already in the normalised types (a frozenset
        of IPv4Address, an IPv4Address): the walk makes one at every hook, without the checks of ``__init__``."""
        if type(local_addresses) is not frozenset or (out_address is not None and type(out_address) is not IPv4Address):
            return cls(in_iface, out_iface, local_addresses, out_address, ipsets=ipsets)
        ctx = object.__new__(cls)
        ctx.__dict__.update(in_iface=in_iface, out_iface=out_iface, local_addresses=local_addresses,
                            out_address=out_address, ctstate=_NEW, recent={}, ipsets=ipsets)
        return ctx

    def is_local(self, addr: IPv4Address) -> bool:
        return addr in self.local_addresses or addr.is_loopback

    def addrtype(self, addr: IPv4Address) -> str:
        """The kernel's route type for ``addr`` as ``-m addrtype`` sees it (a simplification:
        every address that is not local, broadcast or multicast is UNICAST)."""
        if self.is_local(addr):
            return "LOCAL"
        if addr == _BROADCAST:
            return "BROADCAST"
        if addr.is_multicast:
            return "MULTICAST"
        return "UNICAST"


@dataclass(frozen=True, slots=True)
class RecentUpdate:
    """A change a ``-m recent`` rule makes to one of its lists (``set``, ``update`` or ``remove``)."""

    action: str
    name: str
    address: IPv4Address


# ---------------------------------------------------------------------------------------------
# Argument text


def split_args(text: str) -> list[str]:
    """Split one rule's arguments as ``iptables-restore`` does: by blanks, with ``"..."`` quoting.

    >>> split_args('-m comment --comment "ns1/svc1:p80 cluster IP" -j KUBE-SVC-X')
    ['-m', 'comment', '--comment', 'ns1/svc1:p80 cluster IP', '-j', 'KUBE-SVC-X']
    """
    if '"' not in text and "\\" not in text:
        return text.split()
    args: list[str] = []
    cur: list[str] = []
    quoted = have = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and (quoted or text[i + 1] in '"\\'):
            cur.append(text[i + 1])
            have = True
            i += 2
            continue
        if c == '"':
            quoted = not quoted
            have = True
        elif c in " \t" and not quoted:
            if have:
                args.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if quoted:
        raise RulesetError("unterminated quoted string")
    if have:
        args.append("".join(cur))
    return args


_BARE = re.compile(r"[-_0-9A-Za-z]+")


def _quote(text: str) -> str:
    # As xtables_save_string: bare when only [-_0-9A-Za-z], else double-quoted with " \ ' escaped.
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'") + '"'


def _port_range(text: str, sep: str = ":") -> tuple[int, int]:
    try:
        if sep in text:
            lo_s, hi_s = text.split(sep, 1)
            lo, hi = int(lo_s or 0), int(hi_s or 65535)
        else:
            lo = hi = int(text)
    except ValueError:
        raise RulesetError(f'invalid port/service "{text}" specified') from None
    if not (0 <= lo <= hi <= 65535):
        raise RulesetError(f'invalid port/service "{text}" specified')
    return lo, hi


def _fmt_range(r: tuple[int, int], sep: str = ":") -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}{sep}{r[1]}"


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise RulesetError(f'Bad value "{text}"') from None


def _value_mask(text: str) -> tuple[int, int]:
    if "/" in text:
        v, m = text.split("/", 1)
        return _int(v) & _U32, _int(m) & _U32
    return _int(text) & _U32, _U32


def _net(text: str) -> IPv4Network:
    try:
        return IPv4Network(text, strict=False)
    except ValueError:
        raise RulesetError(f'host/network "{text}" not found') from None


# ---------------------------------------------------------------------------------------------
# Header matches (-s, -d, -i, -o)


@dataclass(frozen=True, slots=True)
class _Address:
    network: IPv4Network
    negated: bool = False

    def test(self, addr: IPv4Address) -> bool:
        n = self.network
        return ((int(addr) & int(n.netmask)) == int(n.network_address)) != self.negated


@dataclass(frozen=True, slots=True)
class _Iface:
    name: str
    negated: bool = False

    def test(self, iface: str | None) -> bool:
        iface = iface or ""
        if self.name.endswith("+"):
            hit = iface.startswith(self.name[:-1])
        else:
            hit = iface == self.name
        return hit != self.negated


def _neg(flag: bool) -> str:
    return "! " if flag else ""


# ---------------------------------------------------------------------------------------------
# Match modules (-m NAME ...). Each is immutable, saves itself as iptables-save prints it, and
# tests a packet. ``kind`` lets the evaluator treat statistic and recent specially.


@dataclass(frozen=True, slots=True)
class _PortMatch:
    module: str
    sport: tuple[int, int] | None = None
    sport_neg: bool = False
    dport: tuple[int, int] | None = None
    dport_neg: bool = False
    kind = "test"

    def save(self) -> str:
        out = f"-m {self.module}"
        if self.sport is not None:
            out += f" {_neg(self.sport_neg)}--sport {_fmt_range(self.sport)}"
        if self.dport is not None:
            out += f" {_neg(self.dport_neg)}--dport {_fmt_range(self.dport)}"
        return out

    def test(self, pkt: Packet, ctx: HookContext) -> bool:
        if pkt.proto != _UPPER[self.module]:
            return False
        if self.sport is not None:
            lo, hi = self.sport
            if (pkt.sport is not None and lo <= pkt.sport <= hi) == self.sport_neg:
                return False
        if self.dport is not None:
            lo, hi = self.dport
            if (pkt.dport is not None and lo <= pkt.dport <= hi) == self.dport_neg:
                return False
        return True


@dataclass(frozen=True, slots=True)
class _Comment:
    comment: str
    kind = "test"

    def save(self) -> str:
        return f"-m comment --comment {_quote(self.comment)}"

    def test(self, pkt: Packet, ctx: HookContext) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class _Set:
    """``-m set [!] --match-set NAME src|dst``: the packet's address is (not) in an ipset."""

    name: str
    flags: str  # src | dst (one dimension: a hash:net or hash:ip set)
    negated: bool = False
    kind = "test"

    def save(self) -> str:
        return f"-m set {_neg(self.negated)}--match-set {self.name} {self.flags}"

    def test(self, pkt: Packet, ctx: HookContext) -> bool:
        addr = pkt.src if self.flags == "src" else pkt.dst
        hit = any(addr in member for member in ctx.ipsets.get(self.name, ()))
        return hit != self.negated


@dataclass(frozen=True, slots=True)
class _Statistic:
    fixed: int  # the kernel's value: probability * 2**31, rounded
    negated: bool = False
    kind = "statistic"

    @property
    def probability(self) -> Fraction:
        """The exact probability the kernel uses."""
        return Fraction(self.fixed, _STAT_SCALE)

    @property
    def nominal(self) -> Fraction:
        """The simple fraction the rule stands for (kube-proxy's 1/n), when the kernel's value
        is within rounding of one; otherwise the kernel's exact value."""
        exact = self.probability
        simple = exact.limit_denominator(100_000)
        return simple if abs(simple - exact) < Fraction(1, 10**9) else exact

    def save(self) -> str:
        p = self.fixed / _STAT_SCALE
        return f"-m statistic --mode random {_neg(self.negated)}--probability {p:.11f}"


@dataclass(frozen=True, slots=True)
class _Mark:
    value: int
    mask: int = _U32
    negated: bool = False
    kind = "test"

    def save(self) -> str:
        vm = f"{self.value:#x}" if self.mask == _U32 else f"{self.value:#x}/{self.mask:#x}"
        return f"-m mark {_neg(self.negated)}--mark {vm}"

    def test(self, pkt: Packet, ctx: HookContext) -> bool:
        return ((pkt.mark & self.mask) == self.value) != self.negated


@dataclass(frozen=True, slots=True)
class _AddrType:
    src_types: frozenset[str] | None = None
    src_neg: bool = False
    dst_types: frozenset[str] | None = None
    dst_neg: bool = False
    limit_in: bool = False
    limit_out: bool = False
    kind = "test"

    def save(self) -> str:
        def types(ts: frozenset[str]) -> str:
            return ",".join(t for t in _ADDRTYPES if t in ts)

        out = "-m addrtype"
        if self.src_types is not None:
            out += f" {_neg(self.src_neg)}--src-type {types(self.src_types)}"
        if self.dst_types is not None:
            out += f" {_neg(self.dst_neg)}--dst-type {types(self.dst_types)}"
        if self.limit_in:
            out += " --limit-iface-in"
        if self.limit_out:
            out += " --limit-iface-out"
        return out

    def test(self, pkt: Packet, ctx: HookContext) -> bool:
        def kind(addr: IPv4Address) -> str:
            # --limit-iface-out: LOCAL only for an address of the outgoing interface (its address, here)
            if self.limit_out and ctx.out_address is not None and ctx.addrtype(addr) == "LOCAL":
                return "LOCAL" if addr == ctx.out_address else "UNICAST"
            return ctx.addrtype(addr)

        if self.src_types is not None and (kind(pkt.src) in self.src_types) == self.src_neg:
            return False
        if self.dst_types is not None and (kind(pkt.dst) in self.dst_types) == self.dst_neg:
            return False
        return True


@dataclass(frozen=True, slots=True)
class _Conntrack:
    states: frozenset[str]
    negated: bool = False
    kind = "test"

    def save(self) -> str:
        states = ",".join(s for s in _CTSTATES if s in self.states)
        return f"-m conntrack {_neg(self.negated)}--ctstate {states}"

    def test(self, pkt: Packet, ctx: HookContext) -> bool:
        return bool(self.states & ctx.ctstate) != self.negated


@dataclass(frozen=True, slots=True)
class _Recent:
    mode: str  # set | rcheck | update | remove
    name: str = "DEFAULT"
    negated: bool = False
    seconds: int | None = None
    reap: bool = False
    hitcount: int | None = None
    rttl: bool = False
    mask: IPv4Address = IPv4Address("255.255.255.255")
    rsource: bool = True
    kind = "recent"

    def save(self) -> str:
        out = f"-m recent {_neg(self.negated)}--{self.mode}"
        if self.seconds is not None:
            out += f" --seconds {self.seconds}"
        if self.reap:
            out += " --reap"
        if self.hitcount is not None:
            out += f" --hitcount {self.hitcount}"
        if self.rttl:
            out += " --rttl"
        out += f" --name {self.name} --mask {self.mask} "
        return out + ("--rsource" if self.rsource else "--rdest")

    def address(self, pkt: Packet) -> IPv4Address:
        addr = pkt.src if self.rsource else pkt.dst
        return IPv4Address(int(addr) & int(self.mask))

    def evaluate(self, pkt: Packet, ctx: HookContext) -> tuple[bool, RecentUpdate | None]:
        addr = self.address(pkt)
        if self.mode == "set":
            return not self.negated, RecentUpdate("set", self.name, addr)
        listed = ctx.recent.get(self.name, frozenset())
        present = any(IPv4Address(int(a) & int(self.mask)) == addr for a in listed)
        update = RecentUpdate(self.mode, self.name, addr) if present and self.mode != "rcheck" else None
        return present != self.negated, update


@dataclass(frozen=True, slots=True)
class _Multiport:
    option: str  # dports | sports | ports
    ports: tuple[tuple[int, int], ...]
    negated: bool = False
    kind = "test"

    def save(self) -> str:
        ports = ",".join(_fmt_range(r) for r in self.ports)
        return f"-m multiport {_neg(self.negated)}--{self.option} {ports}"

    def test(self, pkt: Packet, ctx: HookContext) -> bool:
        if pkt.proto not in _PORT_PROTOS_UPPER:
            return False
        if self.option == "dports":
            cands: tuple[int | None, ...] = (pkt.dport,)
        elif self.option == "sports":
            cands = (pkt.sport,)
        else:
            cands = (pkt.sport, pkt.dport)
        hit = any(p is not None and lo <= p <= hi for p in cands for lo, hi in self.ports)
        return hit != self.negated


@dataclass(frozen=True, slots=True)
class _Nfacct:
    """``-m nfacct``: counts the packet into a named nfacct object and always matches."""

    name: str
    kind = "test"

    def save(self) -> str:
        # libxt_nfacct prints " --nfacct-name " and then the name with a leading blank of its own
        # (iptables 1.8.9): the two spaces are what iptables-save shows on a node.
        return f"-m nfacct --nfacct-name  {_quote(self.name)}"

    def test(self, pkt: Packet, ctx: HookContext) -> bool:
        return True


# Options each match module takes: option -> number of values (0 for a flag). Aliases map to
# the canonical name.
_MODULE_OPTIONS: dict[str, dict[str, int]] = {
    "tcp": {"--sport": 1, "--dport": 1},
    "udp": {"--sport": 1, "--dport": 1},
    "sctp": {"--sport": 1, "--dport": 1},
    "comment": {"--comment": 1},
    "statistic": {"--mode": 1, "--probability": 1},
    "mark": {"--mark": 1},
    "addrtype": {"--src-type": 1, "--dst-type": 1, "--limit-iface-in": 0, "--limit-iface-out": 0},
    "conntrack": {"--ctstate": 1},
    "recent": {
        "--name": 1, "--set": 0, "--rcheck": 0, "--update": 0, "--remove": 0, "--seconds": 1,
        "--reap": 0, "--hitcount": 1, "--rttl": 0, "--mask": 1, "--rsource": 0, "--rdest": 0,
    },
    "multiport": {"--dports": 1, "--sports": 1, "--ports": 1},
    "nfacct": {"--nfacct-name": 1},
    "set": {"--match-set": 2},
}
_OPTION_ALIASES = {
    "--source-port": "--sport", "--destination-port": "--dport",
    "--destination-ports": "--dports", "--source-ports": "--sports",
}

_Opt = tuple[str, bool, tuple[str, ...]]  # option, negated, values


def _build_match(module: str, opts: list[_Opt], proto: str | None, proto_neg: bool):
    if module in _PORT_PROTOS:
        if proto != module or proto_neg:
            raise RulesetError(f"{module} match needs `-p {module}'")
        kw: dict[str, object] = {}
        for opt, neg, vals in opts:
            key = opt[2:]
            kw[key] = _port_range(vals[0])
            kw[key + "_neg"] = neg
        return _PortMatch(module, **kw)  # type: ignore[arg-type]
    if module == "comment":
        if len(opts) != 1:
            raise RulesetError("comment: --comment is required")
        comment = opts[0][2][0]
        if len(comment) > 255:
            raise RulesetError("COMMENT must be shorter than 256 characters")
        return _Comment(comment)
    if module == "statistic":
        got = {o: (n, v) for o, n, v in opts}
        if got.get("--mode", (False, ("",)))[1][0] != "random" or "--probability" not in got:
            raise RulesetError("statistic: only --mode random --probability P is modelled")
        neg, (text,) = got["--probability"]
        try:
            p = float(text)
        except ValueError:
            raise RulesetError(f'Bad value "{text}"') from None
        if not 0.0 <= p <= 1.0:
            raise RulesetError("probability must be in the range 0.0 to 1.0")
        # lround(), as libxt_statistic does: half away from zero.
        return _Statistic(math.floor(p * _STAT_SCALE + 0.5), neg)
    if module == "mark":
        if len(opts) != 1:
            raise RulesetError("mark: --mark is required")
        _, neg, (text,) = opts[0]
        value, mask = _value_mask(text)
        return _Mark(value, mask, neg)
    if module == "addrtype":
        kw = {}
        for opt, neg, vals in opts:
            if opt in ("--limit-iface-in", "--limit-iface-out"):
                kw["limit_in" if opt.endswith("in") else "limit_out"] = True
                continue
            types = frozenset(t.upper() for t in vals[0].split(","))
            bad = types - set(_ADDRTYPES)
            if bad:
                raise RulesetError(f'addrtype: unknown type "{sorted(bad)[0]}"')
            side = "src" if opt == "--src-type" else "dst"
            kw[side + "_types"], kw[side + "_neg"] = types, neg
        return _AddrType(**kw)  # type: ignore[arg-type]
    if module == "conntrack":
        if len(opts) != 1:
            raise RulesetError("conntrack: --ctstate is required")
        _, neg, (text,) = opts[0]
        states = _states(text)
        if not states or states - set(_CTSTATES):
            raise RulesetError(f'Bad ctstate "{text}"')
        return _Conntrack(states, neg)
    if module == "recent":
        kw = {}
        mode = None
        for opt, neg, vals in opts:
            name = opt[2:]
            if name in ("set", "rcheck", "update", "remove"):
                if mode is not None:
                    raise RulesetError(
                        "recent: only one of `--set', `--rcheck' `--update' or `--remove' may be set"
                    )
                mode, kw["negated"] = name, neg
            elif name in ("seconds", "hitcount"):
                kw[name] = _int(vals[0])
            elif name in ("reap", "rttl"):
                kw[name] = True
            elif name == "name":
                kw["name"] = vals[0]
            elif name == "mask":
                kw["mask"] = _ip(vals[0])
            else:
                kw["rsource"] = name == "rsource"
        if mode is None:
            raise RulesetError("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'")
        return _Recent(mode, **kw)  # type: ignore[arg-type]
    if module == "multiport":
        if proto not in _PORT_PROTOS or proto_neg:
            raise RulesetError("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'")
        if len(opts) != 1:
            raise RulesetError("multiport can only have one option")
        opt, neg, (text,) = opts[0]
        ports = tuple(_port_range(p) for p in text.split(","))
        return _Multiport(opt[2:], ports, neg)
    if module == "nfacct":
        if len(opts) != 1:
            raise RulesetError("nfacct: --nfacct-name is required")
        return _Nfacct(opts[0][2][0])
    if module == "set":
        if len(opts) != 1:
            raise RulesetError("set: --match-set NAME FLAGS is required")
        _, neg, (name, flags) = opts[0]
        if flags not in ("src", "dst"):
            raise RulesetError(f'set: flags "{flags}": only a one-dimensional src or dst set is modelled')
        return _Set(name, flags, neg)
    raise RulesetError(f"Couldn't load match `{module}':No such file or directory")


# ---------------------------------------------------------------------------------------------
# Targets


@dataclass(frozen=True, slots=True)
class Target:
    """A rule's ``-j`` target: a verdict, ``RETURN``, a jump to a user chain, ``MARK`` or NAT."""

    name: str
    reject_with: str | None = None
    mark_value: int = 0
    mark_mask: int = 0
    to_address: IPv4Address | None = None
    to_ports: tuple[int, int] | None = None
    random: bool = False
    random_fully: bool = False
    persistent: bool = False

    @property
    def is_jump(self) -> bool:
        """A jump to a user-defined chain."""
        return self.name not in _BUILTIN_TARGETS

    def save(self) -> str:
        n = self.name
        out = f"-j {n}"
        if n == "REJECT":
            out += f" --reject-with {self.reject_with}"
        elif n == "MARK":
            out += f" --set-xmark {self.mark_value:#x}/{self.mark_mask:#x}"
        elif n in ("DNAT", "SNAT"):
            if self.to_address is not None:
                to = str(self.to_address)
                if self.to_ports is not None:
                    to += ":" + _fmt_range(self.to_ports, "-")
                out += f" --to-{'destination' if n == 'DNAT' else 'source'} {to}"
        elif n == "MASQUERADE" and self.to_ports is not None:
            out += f" --to-ports {_fmt_range(self.to_ports, '-')}"
        if self.random:
            out += " --random"
        if self.random_fully:
            out += " --random-fully"
        if self.persistent:
            out += " --persistent"
        return out


_TARGET_OPTIONS: dict[str, dict[str, int]] = {
    "ACCEPT": {}, "DROP": {}, "RETURN": {},
    "REJECT": {"--reject-with": 1},
    "MARK": {"--set-xmark": 1, "--set-mark": 1, "--or-mark": 1, "--and-mark": 1, "--xor-mark": 1},
    "DNAT": {"--to-destination": 1, "--random": 0, "--persistent": 0},
    "SNAT": {"--to-source": 1, "--random": 0, "--random-fully": 0, "--persistent": 0},
    "MASQUERADE": {"--to-ports": 1, "--random": 0, "--random-fully": 0},
}
_BUILTIN_TARGETS = frozenset(_TARGET_OPTIONS)


def _build_target(name: str, opts: list[_Opt], proto: str | None) -> Target:
    kw: dict[str, object] = {}
    for opt, neg, vals in opts:
        if neg:
            raise RulesetError(f"{name}: unexpected `!' flag before {opt}")
        val = vals[0] if vals else ""
        if opt in ("--random", "--random-fully", "--persistent"):
            kw[opt[2:].replace("-", "_")] = True
        elif opt == "--reject-with":
            val = {"tcp-rst": "tcp-reset"}.get(val, val)
            if val not in _REJECT_WITH:
                raise RulesetError(f'REJECT: unknown reject type "{val}"')
            if val == "tcp-reset" and proto != "tcp":
                raise RulesetError("REJECT: tcp-reset needs `-p tcp'")
            kw["reject_with"] = val
        elif name == "MARK":
            v, m = _value_mask(val)
            if opt in ("--set-xmark", "--set-mark"):
                value, mask = v, m
            elif opt == "--or-mark":
                value, mask = v, v
            elif opt == "--and-mark":
                value, mask = 0, ~v & _U32
            else:  # --xor-mark
                value, mask = v, 0
            kw["mark_value"], kw["mark_mask"] = value, mask
        elif opt == "--to-ports":
            kw["to_ports"] = _port_range(val, "-")
        else:  # --to-destination / --to-source: ADDR[:PORT[-PORT]]
            addr, _, ports = val.partition(":")
            try:
                kw["to_address"] = IPv4Address(addr)
            except ValueError:
                raise RulesetError(f'Bad IP address "{addr}"') from None
            if ports:
                if proto not in _PORT_PROTOS:
                    raise RulesetError("Need TCP, UDP, SCTP or DCCP with port specification")
                kw["to_ports"] = _port_range(ports, "-")
    if name == "REJECT":
        kw.setdefault("reject_with", "icmp-port-unreachable")
    if name == "MARK" and "mark_value" not in kw:
        raise RulesetError("MARK target: Parameter --set-xmark/--and-mark/--or-mark/--xor-mark is required")
    if name in ("DNAT", "SNAT") and "to_address" not in kw:
        option = "--to-destination" if name == "DNAT" else "--to-source"
        raise RulesetError(f"{name}: option `{option}' is required")
    if "to_ports" in kw and name == "MASQUERADE" and proto not in _PORT_PROTOS:
        raise RulesetError("Need TCP, UDP, SCTP or DCCP with port specification")
    return Target(name, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Rules

_Key = tuple[int | None, str, int | None]  # (exact destination, protocol, exact destination port)
_NO_MATCH: tuple[bool, Fraction, tuple, tuple] = (False, _ONE, (), ())


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """One rule: where it lives, what it matches, its target, and its exact ``iptables-save`` line."""

    table: str
    chain: str
    line: str
    target: Target | None
    src: _Address | None = None
    dst: _Address | None = None
    in_iface: _Iface | None = None
    out_iface: _Iface | None = None
    proto: str | None = None
    proto_neg: bool = False
    matches: tuple = ()
    key: _Key | None = None
    owner: Owner | None = None  # the program that wrote the rule, and the object it was written for

    def __str__(self) -> str:
        return self.line

    def owned_by(self, owner: Owner | None) -> Rule:
        """The same rule, carrying ``owner``."""
        return replace(self, owner=owner)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and (self.table, self.line) == (other.table, other.line)

    def __hash__(self) -> int:
        return hash((self.table, self.line))

    @property
    def target_name(self) -> str:
        """The ``-j`` target's name, or ``""`` for a rule without one (it only counts packets)."""
        return self.target.name if self.target is not None else ""

    @property
    def comment(self) -> str | None:
        for m in self.matches:
            if isinstance(m, _Comment):
                return m.comment
        return None

    @property
    def probability(self) -> Fraction | None:
        """The nominal probability of a ``-m statistic --mode random`` rule (None without one)."""
        for m in self.matches:
            if isinstance(m, _Statistic):
                return m.nominal
        return None

    def evaluate(self, pkt: Packet, ctx: HookContext):
        """Whether the rule matches: ``(matched, probability, effects, effects_if_matched)``.

        Matches run in order, as in the kernel; a statistic match splits the outcome, so the
        probability is that of the matching branch, and ``-m recent`` side effects reached before
        the first statistic match happen in both branches.
        """
        if self.proto is not None and (pkt.proto == self.proto) == self.proto_neg:
            return _NO_MATCH
        if self.dst is not None and not self.dst.test(pkt.dst):
            return _NO_MATCH
        if self.src is not None and not self.src.test(pkt.src):
            return _NO_MATCH
        if self.in_iface is not None and not self.in_iface.test(ctx.in_iface):
            return _NO_MATCH
        if self.out_iface is not None and not self.out_iface.test(ctx.out_iface):
            return _NO_MATCH
        p = _ONE
        pre: list[RecentUpdate] = []
        post: list[RecentUpdate] = []
        for m in self.matches:
            kind = m.kind
            if kind == "test":
                if not m.test(pkt, ctx):
                    return (False, _ONE, tuple(pre), ())
            elif kind == "statistic":
                p *= (1 - m.nominal) if m.negated else m.nominal
            else:
                ok, update = m.evaluate(pkt, ctx)
                if update is not None:
                    (post if p != _ONE else pre).append(update)
                if not ok:
                    return (False, _ONE, tuple(pre), ())
        return (True, p, tuple(pre), tuple(post))


def _index_key(dst: _Address | None, proto: str | None, proto_neg: bool, matches: tuple) -> _Key | None:
    # Only exact, non-negated requirements make a key (see Chain).
    if proto is None or proto_neg:
        return None
    exact_dst = None
    if dst is not None and not dst.negated and dst.network.prefixlen == 32:
        exact_dst = int(dst.network.network_address)
    dport = None
    for m in matches:
        if isinstance(m, _PortMatch) and m.dport is not None and not m.dport_neg and m.dport[0] == m.dport[1]:
            dport = m.dport[0]
            break
    return (exact_dst, proto, dport)


_HEADER = {
    "-s": "s", "--source": "s", "--src": "s", "-d": "d", "--destination": "d", "--dst": "d",
    "-i": "i", "--in-interface": "i", "-o": "o", "--out-interface": "o", "-p": "p", "--protocol": "p",
    "-m": "m", "--match": "m", "-j": "j", "--jump": "j",
}


@lru_cache(maxsize=65536)
def _address(text: str, negated: bool) -> _Address:
    return _Address(_net(text), negated)


def parse_rule(table: str, chain: str, args: Sequence[str] | str, owner: Owner | None = None) -> Rule:
    """Parse the arguments after ``-A CHAIN`` into a :class:`Rule` (not yet in any ruleset) written by ``owner``."""
    tokens = split_args(args) if isinstance(args, str) else list(args)
    src = dst = None
    in_iface = out_iface = None
    proto: str | None = None
    proto_neg = False
    modules: list[tuple[str, list[_Opt]]] = []
    target_name: str | None = None
    target_opts: list[_Opt] = []
    neg = False
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        i += 1
        if tok == "!":
            if neg:
                raise RulesetError("Multiple `!' flags not allowed")
            neg = True
            continue
        header = _HEADER.get(tok) if target_name is None else None
        if header is not None:
            if i >= n:
                raise RulesetError(f'option "{tok}" requires an argument')
            val = tokens[i]
            i += 1
            if header == "d":
                dst = _address(val, neg)
            elif header == "s":
                src = _address(val, neg)
            elif header == "p":
                name = _PROTO_NUMBERS.get(val.lower(), val.lower())
                proto, proto_neg = (None, False) if name in ("all", "0") else (name, neg)
            elif header == "m":
                if neg:
                    raise RulesetError("unexpected ! flag before --match")
                modules.append((val.lower(), []))
            elif header == "j":
                if neg:
                    raise RulesetError("cannot have ! before -j")
                target_name = val
            elif header == "i":
                in_iface = _Iface(val, neg)
            else:
                out_iface = _Iface(val, neg)
            neg = False
            continue
        if target_name is not None:
            spec = _TARGET_OPTIONS.get(target_name, {})
            if tok not in spec:
                raise RulesetError(f'unknown option "{tok}"')
            count, opts = spec[tok], target_opts
        elif tok.startswith("--"):
            tok = _OPTION_ALIASES.get(tok, tok)
            for mod, opts in reversed(modules):  # noqa: B007 - the loop finds (mod, opts)
                if tok in _MODULE_OPTIONS.get(mod, {}):
                    break
            else:
                # An implicit match: -p tcp --dport 80 loads the tcp match here, in this position.
                if tok in ("--sport", "--dport") and proto in _PORT_PROTOS:
                    modules.append((proto, []))
                    mod, opts = modules[-1]
                else:
                    raise RulesetError(f'unknown option "{tok}"')
            if mod == "multiport" and (proto not in _PORT_PROTOS or proto_neg):
                # libxt_multiport checks the protocol while parsing, so -p must come first.
                raise RulesetError("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'")
            count = _MODULE_OPTIONS[mod][tok]
        else:
            raise RulesetError(f"Bad argument `{tok}'")
        if i + count > n:
            raise RulesetError(f'option "{tok}" requires an argument')
        opts.append((tok, neg, tuple(tokens[i:i + count])))
        i += count
        neg = False
    if neg:
        raise RulesetError("trailing `!'")

    matches = tuple(_build_match(mod, opts, proto, proto_neg) for mod, opts in modules)
    target = _build_target(target_name, target_opts, proto) if target_name else None

    parts = [f"-A {chain}"]
    if src is not None and src.network.prefixlen:
        parts.append(f"{_neg(src.negated)}-s {src.network.with_prefixlen}")
    elif src is not None:
        src = None  # 0.0.0.0/0 matches everything; iptables-save leaves it out
    if dst is not None and dst.network.prefixlen:
        parts.append(f"{_neg(dst.negated)}-d {dst.network.with_prefixlen}")
    elif dst is not None:
        dst = None
    if in_iface is not None:
        parts.append(f"{_neg(in_iface.negated)}-i {in_iface.name}")
    if out_iface is not None:
        parts.append(f"{_neg(out_iface.negated)}-o {out_iface.name}")
    if proto is not None:
        parts.append(f"{_neg(proto_neg)}-p {proto}")
    parts.extend(m.save() for m in matches)
    if target is not None:
        parts.append(target.save())
    upper = proto.upper() if proto is not None else None  # packets carry TCP, UDP, SCTP, ICMP
    return Rule(
        table, chain, " ".join(parts), target, src, dst, in_iface, out_iface, upper, proto_neg,
        matches, _index_key(dst, upper, proto_neg, matches), owner,
    )


# ---------------------------------------------------------------------------------------------
# Chains, tables, rulesets


class Chain:
    """One chain: its rules in order, and an index to find the ones a packet could match.

    Index invariant: a rule is filed under key ``(d, p, port)`` only if every packet it can match
    has protocol ``p``, destination ``d`` (when ``d`` is not None: the rule has a non-negated
    ``-d A/32``) and destination port ``port`` (when not None: a non-negated single ``--dport``).
    Rules without such exact requirements are "unkeyed". A packet's candidates are the rules
    under the four keys it satisfies plus every unkeyed rule, merged back into rule order. Every
    rule left out has a key the packet does not satisfy, so it cannot match; hence walking the
    candidates in order finds the same first match as walking the whole chain.
    """

    __slots__ = ("name", "policy", "_rules", "_raw", "_lookup", "_index", "_unkeyed", "_positions")

    def __init__(self, name: str, policy: str | None = None) -> None:
        self.name = name
        self.policy = policy  # ACCEPT or DROP for a built-in chain, None for a user chain
        self._rules: list[Rule] = []
        # rules restored but not parsed yet (arguments, owner), with the table and its chains (for the jump check)
        self._raw: list[tuple[Sequence[str], Owner | None]] | None = None
        self._lookup: tuple[str, Mapping[str, Chain]] = ("", {})
        self._index: dict[_Key, list[int]] | None = None
        self._unkeyed: list[int] = []
        self._positions: dict[int, int] | None = None

    @property
    def rules(self) -> list[Rule]:
        """The rules in order (restored rules are parsed here, the first time anything looks at them)."""
        if self._raw is not None:
            self._parse()
        return self._rules

    @rules.setter
    def rules(self, rules: list[Rule]) -> None:
        self._rules = rules
        self._raw = None
        self._changed()

    def _parse(self) -> None:
        raw, self._raw = self._raw, None
        assert raw is not None
        table, chains = self._lookup
        for args, owner in raw:
            self._rules.append(_check(parse_rule(table, self.name, args, owner), self, chains))
        self._changed()

    def __len__(self) -> int:
        return len(self._rules) + (len(self._raw) if self._raw is not None else 0)

    def copy(self) -> Chain:
        """A chain of its own with the same rules (rules are immutable and shared)."""
        c = Chain(self.name, self.policy)
        c._rules = list(self._rules)
        c._raw = list(self._raw) if self._raw is not None else None
        c._lookup = self._lookup
        return c

    def position(self, rule: Rule) -> int:
        """The 1-based position of ``rule`` in the chain (``iptables -L --line-numbers``), 0 if absent."""
        if self._positions is None:
            self._positions = {id(r): i for i, r in enumerate(self.rules, 1)}
        return self._positions.get(id(rule), 0)

    @property
    def builtin(self) -> bool:
        return self.policy is not None

    def _build_index(self) -> dict[_Key, list[int]]:
        index: dict[_Key, list[int]] = {}
        unkeyed: list[int] = []
        for pos, rule in enumerate(self.rules):
            if rule.key is None:
                unkeyed.append(pos)
            else:
                index.setdefault(rule.key, []).append(pos)
        self._index, self._unkeyed = index, unkeyed
        return index

    def _changed(self) -> None:
        self._index = None
        self._positions = None

    def candidates(self, pkt: Packet) -> list[int]:
        """Positions of the rules ``pkt`` could match, in rule order (see the class docstring)."""
        index = self._index if self._index is not None else self._build_index()
        d, p, port = int(pkt.dst), pkt.proto, pkt.dport
        lists = [self._unkeyed] if self._unkeyed else []
        for key in ((d, p, port), (None, p, port), (d, p, None), (None, p, None)):
            hit = index.get(key)
            if hit:
                lists.append(hit)
        if not lists:
            return []
        if len(lists) == 1:
            return lists[0]
        return list(heapq.merge(*lists))


def _check(rule: Rule, chain: Chain, chains: Mapping[str, Chain]) -> Rule:
    """What iptables-restore refuses: a jump to a chain that does not exist, a target or an interface
    the built-in chain cannot take."""
    t = rule.target
    if t is not None and t.is_jump:
        target_chain = chains.get(t.name)
        if target_chain is None or target_chain.builtin:
            raise RulesetError(f"Couldn't load target `{t.name}':No such file or directory")
    if chain.builtin:
        if rule.in_iface is not None and chain.name in ("OUTPUT", "POSTROUTING"):
            raise RulesetError(f"Can't use -i with {chain.name}")
        if rule.out_iface is not None and chain.name in ("PREROUTING", "INPUT"):
            raise RulesetError(f"Can't use -o with {chain.name}")
    if t is not None and t.name in _NAT_TARGETS and rule.table != "nat":
        raise RulesetError(f"{t.name} target: only valid in nat table, not {rule.table}")
    hooks = _TARGET_HOOKS.get(t.name, ()) if t is not None else ()
    if t is not None and hooks and chain.builtin and chain.name not in hooks:
        raise RulesetError(f"{t.name} target: not valid in the {chain.name} chain")
    return rule


class _Table(Mapping[str, Chain]):
    """The chains of one table by name: the ruleset's own over a shared, frozen base (copy-on-write).

    A node's ruleset stacks on kube-proxy's rules as restored once for the whole cluster: reading a
    chain finds it in the base; writing to one copies it into the node's own chains first.
    """

    __slots__ = ("own", "base", "hidden")

    def __init__(self, base: Mapping[str, Chain] | None = None) -> None:
        self.own: dict[str, Chain] = {}
        self.base = base
        self.hidden: set[str] = set()  # base chains this ruleset deleted (iptables -X)

    def __getitem__(self, name: str) -> Chain:
        c = self.own.get(name)
        if c is None:
            if self.base is None or name in self.hidden:
                raise KeyError(name)
            return self.base[name]
        return c

    def get(self, name: str, default: Chain | None = None) -> Chain | None:  # type: ignore[override]
        c = self.own.get(name)
        if c is None and self.base is not None and name not in self.hidden:
            c = self.base.get(name)
        return default if c is None else c

    def __contains__(self, name: object) -> bool:
        if name in self.own:
            return True
        return self.base is not None and name in self.base and name not in self.hidden

    def __iter__(self) -> Iterator[str]:
        if self.base is None:
            return iter(self.own)
        base, own, hidden = self.base, self.own, self.hidden
        return itertools.chain((n for n in base if n in own or n not in hidden), (n for n in own if n not in base))

    def __len__(self) -> int:
        if self.base is None:
            return len(self.own)
        return sum(1 for _ in self)

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.own.pop(name, None)
        if self.base is not None and name in self.base:
            self.hidden.add(name)

    def writable(self, name: str) -> Chain:
        """The chain, made the ruleset's own first if it is shared."""
        c = self.own.get(name)
        if c is None:
            c = self.own[name] = self[name].copy()
        return c

    def __setitem__(self, name: str, chain: Chain) -> None:
        self.own[name] = chain

    def flat(self) -> dict[str, Chain]:
        return {n: self[n] for n in self}


class Ruleset:
    """The iptables state of one network namespace: tables of chains of rules.

    Tables are created on first use with their built-in chains (policy ACCEPT). Rulesets may share
    chains (:meth:`layered`): kube-proxy writes the same 100,000 chains on every node of a cluster.
    """

    def __init__(self, tables: Iterable[str] = ("filter", "nat")) -> None:
        self._tables: dict[str, _Table] = {}
        self._sorted_user: dict[str, list[str]] = {}
        self._frozen = False
        for name in tables:
            self.table(name)

    def copy(self) -> Ruleset:
        """An independent copy; rules are immutable, so they are shared, and chains are new."""
        new = Ruleset(())
        for table, chains in self._tables.items():
            copied = _Table()
            for name in chains:
                copied[name] = chains[name].copy()
            new._tables[table] = copied
        return new

    def layered(self) -> Ruleset:
        """A ruleset that starts with exactly these rules and shares their chains: a chain is copied
        the first time the new ruleset writes to it (copy-on-write). This ruleset is frozen from then
        on: its chains are shared, so it refuses writes."""
        self._frozen = True
        new = Ruleset(())
        for table, chains in self._tables.items():
            new._tables[table] = _Table(chains.flat() if chains.base is not None else chains.own)
        return new

    # -- structure ----------------------------------------------------------------------------

    def table(self, name: str) -> _Table:
        """The chains of table ``name`` by name (created with its built-in chains if absent)."""
        chains = self._tables.get(name)
        if chains is None:
            if name not in BUILTIN_CHAINS:
                raise RulesetError(f"can't initialize iptables table `{name}': Table does not exist")
            self._writing()
            chains = _Table()
            for c in BUILTIN_CHAINS[name]:
                chains[c] = Chain(c, "ACCEPT")
            self._tables[name] = chains
        return chains

    def _writing(self) -> None:
        if self._frozen:
            raise RulesetError("this ruleset's chains are shared with others (Ruleset.layered): write to a layer")

    @property
    def tables(self) -> list[str]:
        return list(self._tables)

    def chain(self, table: str, name: str) -> Chain:
        try:
            return self._tables[table][name]
        except KeyError:
            raise RulesetError(f"Chain '{name}' does not exist in table {table}") from None

    def _writable(self, table: str, name: str) -> Chain:
        self._writing()
        if not self.has_chain(table, name):
            raise RulesetError(f"Chain '{name}' does not exist in table {table}")
        return self._tables[table].writable(name)

    def has_chain(self, table: str, name: str) -> bool:
        chains = self._tables.get(table)
        return chains is not None and name in chains

    def chains(self, table: str) -> list[str]:
        """Chain names in the order ``iptables-save`` prints them: built-ins, then sorted."""
        chains = self.table(table)
        builtin = [c for c in BUILTIN_CHAINS[table] if c in chains]
        user = self._sorted_user.get(table)
        if user is None:
            user = self._sorted_user[table] = sorted(c for c in chains if not chains[c].builtin)
        return builtin + user

    def new_chain(self, table: str, name: str) -> None:
        """Create an empty user chain (``:NAME - [0:0]``)."""
        chains = self.table(table)
        self._writing()
        if name in chains:
            raise RulesetError(f"Chain '{name}' already exists")
        if not name or len(name) > 28 or name.startswith("-") or " " in name:
            raise RulesetError(f"Invalid chain name `{name}'")
        if name in _BUILTIN_TARGETS:
            raise RulesetError(f"chain name `{name}' is reserved for a target")
        chains[name] = Chain(name)
        self._sorted_user.pop(table, None)

    def set_policy(self, table: str, chain: str, policy: str) -> None:
        c = self.chain(table, chain)
        if not c.builtin:
            raise RulesetError(f"Can't set policy `{policy}' on `{chain}': not a built-in chain")
        if policy not in ("ACCEPT", "DROP"):
            raise RulesetError(f"Bad policy name `{policy}'")
        self._writable(table, chain).policy = policy

    def append(self, table: str, chain: str, args: Sequence[str] | str, owner: Owner | None = None) -> Rule:
        """Append a rule (``-A CHAIN args``); ``args`` as text or as a list of arguments."""
        self.chain(table, chain)
        c = self._writable(table, chain)
        rule = _check(parse_rule(table, chain, args, owner), c, self._tables[table])
        rules = c.rules
        rules.append(rule)
        c._positions = None
        if c._index is not None:
            if rule.key is None:
                c._unkeyed.append(len(rules) - 1)
            else:
                c._index.setdefault(rule.key, []).append(len(rules) - 1)
        return rule

    def insert(self, table: str, chain: str, args: Sequence[str] | str, position: int = 1,
               owner: Owner | None = None) -> Rule:
        """Insert a rule at 1-based ``position`` (``-I CHAIN position args``)."""
        self.chain(table, chain)
        c = self._writable(table, chain)
        if not 1 <= position <= len(c.rules) + 1:
            raise RulesetError("Index of insertion too big")
        rule = _check(parse_rule(table, chain, args, owner), c, self._tables[table])
        c.rules.insert(position - 1, rule)
        c._changed()
        return rule

    def restore(self, payload: IptablesRestore) -> None:
        """Apply what a program feeds ``iptables-restore --noflush``: its chains, then its rules, in order.

        A chain that exists already is kept (the same program may write it again on its next sync).
        The rules of the chains the payload creates are parsed when first looked at (kube-proxy's
        per-service chains, most of which no packet ever walks), except the chains a built-in chain
        jumps to (``KUBE-SERVICES``), which every packet walks: those are parsed, checked and indexed now.
        """
        for table in payload.tables:
            self.table(table)
        self._writing()
        created: set[tuple[str, str]] = set()
        for table, chain in payload.chains:
            if not self.has_chain(table, chain):
                self.new_chain(table, chain)
                created.add((table, chain))
        default = payload.owner
        last: tuple[str, str] | None = None
        raw: list[tuple[Sequence[str], Owner | None]] | None = None
        for table, chain, args, owner in payload.rules:
            if last is None or last[1] != chain or last[0] != table:
                last = (table, chain)
                raw = None
                if last in created:
                    c = self._tables[table].own[chain]
                    if c._raw is None:
                        c._raw, c._lookup = [], (table, self._tables[table])
                    raw = c._raw
            if raw is not None:
                raw.append((args, owner or default))
            else:
                self.append(table, chain, list(args), owner or default)
        for table, chains in self._tables.items():
            for name in BUILTIN_CHAINS[table]:
                builtin = chains.get(name)
                for rule in builtin.rules if builtin is not None else ():
                    target = rule.target
                    if target is not None and target.is_jump and (table, target.name) in created:
                        jumped = chains[target.name]
                        jumped._build_index()

    def delete(self, table: str, chain: str, args: Sequence[str] | str | None = None,
               position: int | None = None) -> Rule:
        """``-D CHAIN RULE`` (the first rule equal to it) or ``-D CHAIN N``."""
        self.chain(table, chain)
        c = self._writable(table, chain)
        if position is not None:
            if not 1 <= position <= len(c.rules):
                raise RulesetError("Index of deletion too big")
            rule = c.rules.pop(position - 1)
        else:
            want = parse_rule(table, chain, args or [])
            idx = next((i for i, r in enumerate(c.rules) if r.line == want.line), None)
            if idx is None:
                raise RulesetError("Bad rule (does a matching rule exist in that chain?)")
            rule = c.rules.pop(idx)
        c._changed()
        return rule

    def flush(self, table: str, chain: str | None = None) -> None:
        """``-F [CHAIN]``: remove every rule of the chain (of every chain of the table)."""
        for name in [chain] if chain else self.chains(table):
            self.chain(table, name)
            self._writable(table, name).rules = []

    def delete_chain(self, table: str, chain: str | None = None) -> None:
        """``-X [CHAIN]``: remove an empty user chain that nothing jumps to (all of them without a name)."""
        chains = self.table(table)
        names = [chain] if chain else [n for n in chains if not chains[n].builtin]
        for name in names:
            c = self.chain(table, name)
            if c.builtin:
                raise RulesetError(f"Can't delete built-in chain {name}")
            if c.rules:
                raise RulesetError(f"Directory not empty (chain {name} is not empty)")
            if any(r.target_name == name for ch in chains.values() for r in ch.rules):
                raise RulesetError("Too many links")
            self._writing()
            del chains[name]
            self._sorted_user.pop(table, None)

    def edit(self, w: IptablesEdit) -> None:
        """Apply one ``iptables`` command (see :class:`~k8snetviz.agents.writes.IptablesEdit`)."""
        self.table(w.table)
        if w.op == "-A":
            self.append(w.table, w.chain, list(w.args), w.owner)
        elif w.op == "-I":
            self.insert(w.table, w.chain, list(w.args), w.position or 1, w.owner)
        elif w.op == "-D":
            self.delete(w.table, w.chain, list(w.args), w.position)
        elif w.op == "-N":
            self.new_chain(w.table, w.chain)
        elif w.op == "-X":
            self.delete_chain(w.table, w.chain or None)
        elif w.op == "-F":
            self.flush(w.table, w.chain or None)
        elif w.op == "-P":
            self.set_policy(w.table, w.chain, w.args[0] if w.args else "ACCEPT")
        else:
            raise RulesetError(f"unknown option \"{w.op}\"")

    @classmethod
    def restored(cls, payload: IptablesRestore) -> Ruleset:
        """A new ruleset holding exactly ``payload`` (the tables it names, created empty first)."""
        rs = cls(payload.tables)
        rs.restore(payload)
        return rs

    def rules(self, table: str | None = None, chain: str | None = None) -> list[Rule]:
        """All rules, or those of one table, or of one chain, in ``iptables-save`` order."""
        out: list[Rule] = []
        for t in [table] if table else self._tables:
            for c in [chain] if chain else self.chains(t):
                out.extend(self.chain(t, c).rules)
        return out

    def __len__(self) -> int:
        return sum(len(chains[name]) for chains in self._tables.values() for name in chains)

    # -- text ---------------------------------------------------------------------------------

    def save(self, header: bool = True) -> str:
        """The rules as ``iptables-save`` prints them (no counters: ``[0:0]``)."""
        out: list[str] = []
        for table in self._tables:
            if header:
                out.append("# Generated by k8snetviz")
            out.append(f"*{table}")
            names = self.chains(table)
            chains = self._tables[table]
            for name in names:
                out.append(f":{name} {chains[name].policy or '-'} [0:0]")
            for name in names:
                out.extend(r.line for r in chains[name].rules)
            out.append("COMMIT")
            if header:
                out.append("# Completed by k8snetviz")
        return "\n".join(out) + "\n"

    @classmethod
    def parse(cls, text: str) -> Ruleset:
        """Read ``iptables-save`` (or ``iptables-restore`` input) text.

        >>> text = Ruleset(["nat"]).save()
        >>> Ruleset.parse(text).save() == text
        True
        """
        rs = cls(())
        table: str | None = None
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            try:
                if not line or line.startswith("#"):
                    continue
                if line.startswith("*"):
                    if table is not None:
                        raise RulesetError("no COMMIT before the next table")
                    table = line[1:]
                    # Without --noflush, iptables-restore replaces the whole table.
                    rs._tables.pop(table, None)
                    rs._sorted_user.pop(table, None)
                    rs.table(table)
                elif table is None:
                    raise RulesetError("rule or chain outside of a table (no *table line)")
                elif line == "COMMIT":
                    table = None
                elif line.startswith(":"):
                    name, policy = (line[1:].split() + ["-"])[:2]
                    if rs.has_chain(table, name) and rs.chain(table, name).builtin:
                        rs.set_policy(table, name, policy)
                    else:
                        rs.new_chain(table, name)
                elif line.startswith(("-A ", "--append ")):
                    _, chain, *rest = line.split(None, 2)
                    rs.append(table, chain, rest[0] if rest else "")
                elif line.startswith(("-I ", "--insert ")):
                    _, chain, *rest = line.split(None, 2)
                    args = split_args(rest[0]) if rest else []
                    pos = 1
                    if args and args[0].isdigit():
                        pos = int(args.pop(0))
                    rs.insert(table, chain, args, pos)
                elif line.startswith(("-N ", "--new-chain ")):
                    rs.new_chain(table, line.split()[1])
                else:
                    raise RulesetError(f"Bad line: {line}")
            except RulesetError as err:
                raise RulesetError(str(err), source="iptables-restore", line=lineno) from None
        if table is not None:
            raise RulesetError("COMMIT expected at end of input", source="iptables-restore")
        return rs

    # -- walking ------------------------------------------------------------------------------

    def traverse(self, table: str, chain: str, packet: Packet, ctx: HookContext | None = None) -> Traversal:
        """See :func:`traverse`."""
        return traverse(self, table, chain, packet, ctx)


# ---------------------------------------------------------------------------------------------
# Traversal


@dataclass(frozen=True)
class Outcome:
    """One way a packet can leave a hook, with its probability.

    ``matched`` lists every rule that matched, in order (jumps included); ``packet`` is the packet
    after MARK and NAT; ``policy_chain`` names the built-in chain whose policy decided, when no
    rule did; ``recent`` lists the changes ``-m recent`` rules made.
    """

    probability: Fraction
    verdict: str
    packet: Packet
    matched: tuple[Rule, ...]
    recent: tuple[RecentUpdate, ...] = ()
    reject_with: str | None = None
    policy_chain: str | None = None

    @property
    def nat_rules(self) -> tuple[Rule, ...]:
        """The rules that rewrote the packet's addresses (DNAT, SNAT, MASQUERADE)."""
        return tuple(r for r in self.matched if r.target_name in _NAT_TARGETS)

    @property
    def deciding_rule(self) -> Rule | None:
        """The rule whose target ended the walk, or None when a chain policy decided."""
        if self.policy_chain is not None or not self.matched:
            return None
        return self.matched[-1]


@dataclass(frozen=True)
class Traversal:
    """All outcomes of a walk; their probabilities sum to 1."""

    outcomes: tuple[Outcome, ...]

    def __iter__(self):
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    @property
    def total_probability(self) -> Fraction:
        return sum((o.probability for o in self.outcomes), Fraction(0))

    def only(self) -> Outcome:
        """The single outcome of a walk without random choices."""
        if len(self.outcomes) != 1:
            raise ValueError(f"the walk has {len(self.outcomes)} outcomes, not one")
        return self.outcomes[0]

    def where(self, predicate: Callable[[Outcome], bool]) -> list[Outcome]:
        return [o for o in self.outcomes if predicate(o)]

    def to(self, address: IPv4Address | str, port: int | None = None) -> Outcome | None:
        """The outcome whose packet ends up addressed to ``address`` (and ``port``), if any."""
        addr = _ip(address)
        for o in self.outcomes:
            if o.packet.dst == addr and (port is None or o.packet.dport == port):
                return o
        return None


def _apply(target: Target, pkt: Packet, ctx: HookContext) -> Packet:
    n = target.name
    if n == "MARK":
        return replace(pkt, mark=((pkt.mark & ~target.mark_mask) ^ target.mark_value) & _U32)
    if n == "DNAT":
        port = target.to_ports[0] if target.to_ports and pkt.dport is not None else pkt.dport
        assert target.to_address is not None
        return replace(pkt, dst=target.to_address, dport=port)
    if n == "SNAT":
        port = target.to_ports[0] if target.to_ports and pkt.sport is not None else pkt.sport
        assert target.to_address is not None
        return replace(pkt, src=target.to_address, sport=port)
    if n == "MASQUERADE":
        if ctx.out_address is None:
            raise ValueError("MASQUERADE needs the out interface's address (HookContext.out_address)")
        # The source port is kept when free (and randomized with --random-fully); we keep it.
        return replace(pkt, src=ctx.out_address)
    return pkt


def traverse(
    ruleset: Ruleset, table: str, chain: str, packet: Packet, ctx: HookContext | None = None
) -> Traversal:
    """Walk ``packet`` through built-in ``chain`` of ``table`` and return every outcome.

    First match wins; a jump enters a user chain and RETURN (or its end) comes back; a built-in
    chain's end applies its policy. ACCEPT, DROP and REJECT end the walk, and so does a NAT target
    (its verdict is ACCEPT); MARK and rules without a target go on. Each ``-m statistic --mode
    random`` rule splits the walk into the branch where it matches and the one where it does not.
    """
    ctx = ctx or HookContext()
    chains = ruleset._tables.get(table)
    if chains is None or chain not in chains or not chains[chain].builtin:
        raise RulesetError(f"no built-in chain {chain} in table {table}")
    start = chains[chain]
    outcomes: list[Outcome] = []
    # A pending walk: probability, packet, matched rules, recent updates, call stack of
    # (chain, candidate positions, next index).
    pending: list[tuple[Fraction, Packet, list[Rule], list[RecentUpdate], list[tuple[Chain, list[int], int]]]] = [
        (_ONE, packet, [], [], [(start, start.candidates(packet), 0)])]
    while pending:
        prob, pkt, matched, updates, frames = pending.pop()
        verdict = reject_with = policy_chain = None
        while verdict is None:
            cur, cands, pos = frames[-1]
            if pos >= len(cands):
                frames.pop()
                if not frames:
                    verdict, policy_chain = start.policy, start.name
                continue
            frames[-1] = (cur, cands, pos + 1)
            rule = cur.rules[cands[pos]]
            ok, p, pre, post = rule.evaluate(pkt, ctx)
            updates.extend(pre)
            if not ok or p == 0:
                continue
            if p != _ONE:
                pending.append((prob * (1 - p), pkt, list(matched), list(updates), list(frames)))
                prob *= p
            updates.extend(post)
            matched.append(rule)
            t = rule.target
            if t is None:
                continue
            name = t.name
            if name == "RETURN":
                frames.pop()
                if not frames:
                    verdict, policy_chain = start.policy, start.name
            elif name in _VERDICTS:
                verdict, reject_with = name, t.reject_with
            elif name in _NAT_TARGETS:
                pkt, verdict = _apply(t, pkt, ctx), "ACCEPT"
            elif name == "MARK":
                pkt = _apply(t, pkt, ctx)
            else:
                nxt = chains[name]
                if len(frames) > 64:
                    raise RulesetError(f"too many levels of jumps at {name} (a loop?)")
                frames.append((nxt, nxt.candidates(pkt), 0))
        outcomes.append(
            Outcome(prob, verdict, pkt, tuple(matched), tuple(updates), reject_with, policy_chain)
        )
    return Traversal(tuple(outcomes))


def traverse_hook(
    ruleset: Ruleset, hook: str, packet: Packet, ctx: HookContext | None = None
) -> Traversal:
    """Walk ``packet`` through every table at ``hook``, in the kernel's priority order.

    The nat table is consulted only for a connection's first packet (``NEW`` in ``ctx.ctstate``):
    later packets are rewritten by conntrack without looking at the rules. Once a packet is
    DNATed (or SNATed), the tables after nat see the ``DNAT`` (``SNAT``) conntrack state.
    """
    ctx = ctx or HookContext()
    if hook not in HOOK_TABLES:
        raise RulesetError(f"unknown hook {hook}")
    partial = [(Outcome(_ONE, "ACCEPT", packet, ()), ctx)]
    for table in HOOK_TABLES[hook]:
        if not ruleset.has_chain(table, hook):
            continue
        if table == "nat" and "NEW" not in ctx.ctstate:
            continue
        nxt: list[tuple[Outcome, HookContext]] = []
        for done, c in partial:
            if done.verdict != "ACCEPT":
                nxt.append((done, c))
                continue
            for o in traverse(ruleset, table, hook, done.packet, c):
                states = set(c.ctstate)
                if o.packet.dst != done.packet.dst or o.packet.dport != done.packet.dport:
                    states.add("DNAT")
                if o.packet.src != done.packet.src or o.packet.sport != done.packet.sport:
                    states.add("SNAT")
                merged = Outcome(
                    done.probability * o.probability, o.verdict, o.packet, done.matched + o.matched,
                    done.recent + o.recent, o.reject_with, o.policy_chain,
                )
                nxt.append((merged, replace(c, ctstate=frozenset(states))))
        partial = nxt
    return Traversal(tuple(o for o, _ in partial))
