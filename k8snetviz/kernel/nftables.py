"""A small model of nftables: the tables a program loads with ``nft -f``, and a packet's walk through them.

The commands are those ``nft -f`` reads and kube-proxy's nftables mode writes (through knftables):
``add table``, ``add chain`` (a base chain with ``type``, ``hook`` and ``priority``), ``add set``/``add map``
and ``add element``, ``add rule``. Rules are parsed from the expressions kube-proxy uses (``ip daddr``,
``ip saddr``, ``fib ... type local``, ``ct state``, ``meta mark``, concatenations looked up in a verdict
map, ``numgen random mod N vmap``, ``dnat to``, ``masquerade``, ``update @set``, ``jump``/``goto``, ...) and
kept in the form ``nft list ruleset`` prints them, so that a hop can show the rule as the tool does.

>>> rs = NftRuleset()
>>> rs.apply_line("add table ip t")
>>> rs.apply_line("add chain ip t pre { type nat hook prerouting priority -100 ; }")
>>> rs.apply_line("add rule ip t pre ip daddr 10.96.0.1 meta l4proto tcp dnat to 10.244.1.2:443")
>>> rs.table("ip", "t").chains["pre"].rules[0].text
'ip daddr 10.96.0.1 meta l4proto tcp dnat to 10.244.1.2:443'

Traversal explores every branch of a ``numgen random`` map, so its result is a list of outcomes with exact
probabilities; :func:`traverse_hook` runs the iptables tables and the nftables base chains of one hook in
the kernel's priority order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from ipaddress import IPv4Address, IPv4Network

from k8snetviz.agents.writes import NftablesTransaction, Owner
from k8snetviz.errors import ScenarioError
from k8snetviz.kernel import netfilter as nf
from k8snetviz.kernel.packet import Packet

__all__ = [
    "NftError",
    "NftRuleset",
    "NftTable",
    "NftChain",
    "NftSet",
    "NftRule",
    "NftElement",
    "HOOKS",
    "IPTABLES_PRIORITIES",
    "duration",
    "traverse_chain",
    "traverse_hook",
]

# nft hook names by netfilter hook, and the priorities of iptables' tables there (the nft compat tables
# iptables-nft makes use the same numbers).
HOOKS = {"PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward", "OUTPUT": "output",
         "POSTROUTING": "postrouting"}
IPTABLES_PRIORITIES = {"raw": -300, "mangle": -150, "filter": 0}
_NAT_PRIORITY = {"PREROUTING": -100, "OUTPUT": -100, "INPUT": 100, "POSTROUTING": 100}
_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1}
_ONE = Fraction(1)


class NftError(ScenarioError):
    """Text ``nft -f`` would refuse."""


# ---------------------------------------------------------------------------------------------
# Tokens


# A quoted string, the concatenation operator (a dot between spaces), punctuation, or a word.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\s+\.\s+|[{}:;,]|[^\s{}:;,]+')


def _tokens(text: str) -> list[str]:
    """Words, quoted strings and the punctuation nft's grammar uses; dotted addresses stay whole
    (``10.0.0.1`` is one token, ``a . b`` is three)."""
    # Only the concatenation operator's match starts with a space. (One call per line of a transaction:
    # kube-proxy's at Kubernetes' limits has 300,000.)
    return ["." if tok[0].isspace() else tok for tok in _TOKEN.findall(text)]


@functools.lru_cache(maxsize=1 << 18)
def _network(text: str) -> IPv4Network:
    """An address or prefix of a rule; one object per distinct text (a pod's address recurs in its
    endpoint chain's rules, a Service's in its own; the ipaddress module parses slowly)."""
    return IPv4Network(text, strict=False)


def _unquote(tok: str) -> str:
    return tok[1:-1].replace('\\"', '"') if tok.startswith('"') else tok


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _addr_text(net: IPv4Network) -> str:
    return str(net.network_address) if net.prefixlen == 32 else str(net)


def _merge(nets: Sequence[IPv4Network]) -> list[tuple[int, int]]:
    """The intervals of an anonymous set once nft has merged overlapping and adjacent elements, sorted."""
    spans = sorted((int(n.network_address), int(n.broadcast_address)) for n in nets)
    out: list[tuple[int, int]] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _interval_text(lo: int, hi: int) -> str:
    size = hi - lo + 1
    if size & (size - 1) == 0 and lo % size == 0:
        return _addr_text(IPv4Network((lo, 32 - size.bit_length() + 1)))
    return f"{IPv4Address(lo)}-{IPv4Address(hi)}"


def _hex32(v: int) -> str:
    return f"0x{v:08x}"


def duration(seconds: int) -> str:
    """nft's time format: ``3h``, ``1d2h``, ``1m30s``."""
    out, rest = "", seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out or "0s"


def _seconds(text: str) -> int:
    total = 0
    for n, unit in re.findall(r"(\d+)([dhms]?)", text):
        total += int(n) * {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}[unit]
    return total


# ---------------------------------------------------------------------------------------------
# Expressions


@dataclass(frozen=True)
class _Match:
    """A match: ``ip daddr X``, ``ip saddr != { A, B }``, ``ip daddr @set``, ``fib saddr type local``,
    ``ct state new``, ``meta l4proto tcp``, ``meta mark & M == V``."""

    kind: str  # addr | set | fib | ct | l4proto | mark
    field: str = ""  # daddr | saddr
    negated: bool = False
    networks: tuple[IPv4Network, ...] = ()
    braces: bool = False  # an anonymous set of more than one element (a single one is a plain comparison)
    merged: bool = False
    name: str = ""  # set name, fib type, ct states, protocol
    mask: int = 0
    value: int = 0

    def text(self) -> str:
        op = "!= " if self.negated else ""
        if self.kind == "addr":
            if not self.braces or len(self.networks) == 1 and not self.merged:
                return f"ip {self.field} {op}{', '.join(_addr_text(n) for n in self.networks)}"
            # an anonymous interval set: nft merges overlapping and adjacent elements, and lists them sorted
            return f"ip {self.field} {op}{{ {', '.join(_interval_text(a, b) for a, b in _merge(self.networks))} }}"
        if self.kind == "set":
            return f"ip {self.field} {op}@{self.name}"
        if self.kind == "fib":
            return f"fib {self.field} type {self.name}"
        if self.kind == "ct":
            return f"ct state {self.name}"
        if self.kind == "l4proto":
            return f"meta l4proto {self.name}"
        return f"meta mark & {_hex32(self.mask)} == {_hex32(self.value)}"

    def test(self, pkt: Packet, ctx: nf.HookContext, rs: NftRuleset, table: NftTable) -> bool:
        if self.kind in ("addr", "set", "fib"):
            addr = pkt.dst if self.field == "daddr" else pkt.src
            if self.kind == "addr":
                hit = any(addr in n for n in self.networks)
            elif self.kind == "set":
                hit = table.sets[self.name].has((str(addr),))
            else:
                hit = ctx.is_local(addr)
            return hit != self.negated
        if self.kind == "ct":
            return bool({s.upper() for s in self.name.split(",")} & ctx.ctstate)
        if self.kind == "l4proto":
            return pkt.proto == self.name.upper()
        return (pkt.mark & self.mask) == self.value


@dataclass(frozen=True)
class _Statement:
    """``jump``/``goto``/``return``/``drop``/``reject``/``accept``, ``meta mark set``, ``masquerade``,
    ``dnat to``, a verdict-map lookup (``KEY vmap @map`` or ``numgen random mod N vmap { ... }``),
    ``update @set { ip saddr }``."""

    kind: str  # verdict | mark | masquerade | dnat | vmap | numgen | update
    verb: str = ""  # jump | goto | return | drop | reject | accept; mark: or | xor
    target: str = ""  # chain; the map or set name
    keys: tuple[str, ...] = ()  # vmap key expressions: ip daddr, meta l4proto, th dport
    value: int = 0
    address: IPv4Address | None = None
    port: int | None = None
    fully_random: bool = False
    choices: tuple[tuple[int, str], ...] = ()  # numgen: (n, "goto CHAIN")

    def text(self) -> str:
        k = self.kind
        if k == "verdict":
            return f"{self.verb} {self.target}".strip()
        if k == "mark":
            return f"meta mark set meta mark {'|' if self.verb == 'or' else '^'} {_hex32(self.value)}"
        if k == "masquerade":
            return "masquerade fully-random" if self.fully_random else "masquerade"
        if k == "dnat":
            return f"dnat to {self.address}" + (f":{self.port}" if self.port is not None else "")
        if k == "vmap":
            return f"{' . '.join(self.keys)} vmap @{self.target}"
        if k == "numgen":
            return f"numgen random mod {self.value} vmap {{ " + ", ".join(f"{n} : {v}" for n, v in self.choices) + " }"
        return f"update @{self.target} {{ ip saddr }}"


def _key_of(keys: Sequence[str], pkt: Packet) -> tuple[str, ...] | None:
    out = []
    for k in keys:
        if k == "ip daddr":
            out.append(str(pkt.dst))
        elif k == "ip saddr":
            out.append(str(pkt.src))
        elif k == "meta l4proto":
            out.append(pkt.proto.lower())
        elif k == "th dport":
            if pkt.dport is None:
                return None
            out.append(str(pkt.dport))
        else:
            raise NftError(f"unknown key expression {k}")
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Objects


@dataclass(frozen=True, eq=False)
class NftElement:
    """One element of a set or map: its key, the verdict it maps to, its comment."""

    table: str
    set: str
    key: tuple[str, ...]
    verdict: str | None = None  # "goto CHAIN", "drop", ...
    comment: str | None = None
    owner: Owner | None = None
    chain: str = ""  # (not in a chain: lets a walk list it beside rules)

    @property
    def text(self) -> str:
        """As ``nft list`` prints it inside ``elements = { ... }``."""
        out = " . ".join(self.key)
        if self.comment is not None:
            out += f" comment {_quote(self.comment)}"
        return out + (f" : {self.verdict}" if self.verdict is not None else "")

    @property
    def line(self) -> str:
        return f"add element ip {self.table} {self.set} {{ {self.text} }}"

    @property
    def target_name(self) -> str:
        return _verdict_target(self.verdict or "")

    @property
    def ref_id(self) -> str:
        return f"{self.table}--{self.set}--" + "-".join(self.key)

    def __str__(self) -> str:
        return self.line


def _verdict_target(verdict: str) -> str:
    return {"drop": "DROP", "reject": "REJECT", "accept": "ACCEPT"}.get(verdict.split(" ")[0], "")


@dataclass(frozen=True, eq=False)
class NftRule:
    """One rule, parsed, and as ``nft list`` prints it (``text``); ``line`` is the ``add rule`` command
    ``nft monitor`` shows for it."""

    table: str
    chain: str
    matches: tuple[_Match, ...]
    statements: tuple[_Statement, ...]
    comment: str | None = None
    owner: Owner | None = None
    handle: int = 0

    @property
    def text(self) -> str:
        parts = [m.text() for m in self.matches] + [s.text() for s in self.statements]
        if self.comment is not None:
            parts.append(f"comment {_quote(self.comment)}")
        return " ".join(parts)

    @property
    def line(self) -> str:
        return f"add rule ip {self.table} {self.chain} {self.text}"

    @property
    def target_name(self) -> str:
        """What the rule ends with, in iptables' words where it ends the walk (DNAT, MASQUERADE, DROP, ...)."""
        for s in self.statements:
            if s.kind == "dnat":
                return "DNAT"
            if s.kind == "masquerade":
                return "MASQUERADE"
            if s.kind == "verdict":
                return _verdict_target(s.verb)
        return ""

    @property
    def ref_id(self) -> str:
        return f"{self.table}--{self.chain}--{self.handle}"

    def __str__(self) -> str:
        return self.line


@dataclass
class NftChain:
    """A chain; a base chain has a ``type``, a ``hook`` and a ``priority`` (and a policy, accept)."""

    name: str
    type: str | None = None
    hook: str | None = None
    priority: int = 0
    comment: str | None = None
    rules: list[NftRule] = field(default_factory=list)
    policy: str = "accept"


@dataclass
class NftSet:
    """A named set (``type``) or map (``type K : verdict``) with its elements."""

    name: str
    types: tuple[str, ...]
    is_map: bool = False
    flags: tuple[str, ...] = ()
    timeout: int | None = None
    size: int | None = None
    comment: str | None = None
    elements: dict[tuple[str, ...], NftElement] = field(default_factory=dict)

    def has(self, key: tuple[str, ...]) -> bool:
        return key in self.elements

    def sort_key(self, key: tuple[str, ...]) -> int:
        """The order ``nft list`` prints elements in: a single value by its number; a concatenation by the
        bytes of its parts read as one little-endian number (nft's ``concat_expr_msort_value``)."""
        if len(self.types) == 1:
            return _value_bytes(self.types[0], key[0], int_value=True)
        data = b"".join(_value_bytes(t, v) for t, v in zip(self.types, key, strict=True))  # type: ignore[misc]
        return int.from_bytes(data, "little")


def _value_bytes(kind: str, value: str, int_value: bool = False):  # type: ignore[no-untyped-def]
    if kind == "ipv4_addr":
        n = int(IPv4Address(value))
        return n if int_value else n.to_bytes(4, "big")
    if kind == "inet_proto":
        n = _PROTOS[value]
        return n if int_value else n.to_bytes(1, "big")
    n = int(value)
    return n if int_value else n.to_bytes(2, "big")


@dataclass
class NftTable:
    """A table: its family, name, comment, sets and maps, chains (in the order they were added)."""

    family: str
    name: str
    comment: str | None = None
    sets: dict[str, NftSet] = field(default_factory=dict)
    chains: dict[str, NftChain] = field(default_factory=dict)
    next_handle: int = 1
    _hooked: tuple[int, list[NftChain]] | None = field(default=None, repr=False, compare=False)

    def hooked(self) -> list[NftChain]:
        """The base chains (those at a hook), kept until a chain is added or copied: kube-proxy's table holds a
        chain per service port and per endpoint (110,000 at Kubernetes' limits), and a walk asks at every hook."""
        cached = self._hooked
        if cached is None or cached[0] != len(self.chains):
            cached = self._hooked = (len(self.chains), [c for c in self.chains.values() if c.hook])
        return cached[1]


class NftRuleset:
    """The nftables state of one network namespace (the tables loaded through ``nft``).

    Nodes that load the same transaction share its tables (:meth:`layered`): a 5,000-node cluster in
    kube-proxy's nftables mode would otherwise hold its ~400,000 rules and elements 5,000 times. A layered
    ruleset copies a table, and in it a set or a chain, the first time it writes to it (a node's own
    address in ``nodeport-ips``).
    """

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], NftTable] = {}
        self._loaded: list[str] = []  # the commands loaded here, in order
        self._base: NftRuleset | None = None  # the ruleset this one layers on (frozen)
        self._frozen = False
        # the tables still the base's; per table copied from it, the sets and chains still the base's
        self._shared_tables: set[tuple[str, str]] = set()
        self._base_tables: dict[tuple[str, str], NftTable] = {}  # the base's table each copied one started as

    @property
    def loaded(self) -> list[str]:
        """Every command loaded, in order (what ``nft -f`` was fed)."""
        return [*self._base.loaded, *self._loaded] if self._base is not None else list(self._loaded)

    def layered(self) -> NftRuleset:
        """A ruleset that starts as this one and shares its tables, copying what it changes; this one is
        frozen (nothing may be loaded into it any more)."""
        self._frozen = True
        for t in self.tables.values():
            t.hooked()  # found once here; every layered copy that keeps the chains keeps the list
        out = NftRuleset()
        out.tables = dict(self.tables)
        out._base = self
        out._shared_tables = set(self.tables)
        return out

    def table(self, family: str, name: str) -> NftTable:
        t = self.tables.get((family, name))
        if t is None:
            raise NftError(f"No such file or directory: table {family} {name}")
        return t

    def _own_table(self, key: tuple[str, str]) -> NftTable:
        """The table to write to: a shared one is copied first, its dicts of sets and chains still the base's
        (each is copied when the node first writes to one of its entries: never 110,000 chains per node)."""
        t = self.tables[key]
        if key in self._shared_tables:
            self._shared_tables.discard(key)
            self._base_tables[key] = t
            t = self.tables[key] = NftTable(t.family, t.name, t.comment, t.sets, t.chains, t.next_handle,
                                            t._hooked)
        return t

    def _own_sets(self, key: tuple[str, str], table: NftTable) -> dict[str, NftSet]:
        """The table's own dict of sets and maps, copied from the base's the first time it is written."""
        base = self._base_tables.get(key)
        if base is not None and table.sets is base.sets:
            table.sets = dict(base.sets)
        return table.sets

    def _own_chains(self, key: tuple[str, str], table: NftTable) -> dict[str, NftChain]:
        """The table's own dict of chains, copied from the base's the first time it is written."""
        base = self._base_tables.get(key)
        if base is not None and table.chains is base.chains:
            table.chains = dict(base.chains)
        return table.chains

    def _own_set(self, key: tuple[str, str], table: NftTable, name: str) -> NftSet:
        base = self._base_tables.get(key)
        s = self._own_sets(key, table)[name]
        if base is not None and base.sets.get(name) is s:
            s = table.sets[name] = replace(s, elements=dict(s.elements))
        return s

    def _own_chain(self, key: tuple[str, str], table: NftTable, name: str) -> NftChain:
        base = self._base_tables.get(key)
        c = self._own_chains(key, table)[name]
        if base is not None and base.chains.get(name) is c:
            c = table.chains[name] = replace(c, rules=list(c.rules))
            table._hooked = None
        return c

    def apply(self, tx: NftablesTransaction) -> None:
        """Load a transaction: each command in order, each rule and element keeping its owner."""
        for command, owner in tx.commands:
            self.apply_line(command, owner or tx.owner)

    def apply_line(self, line: str, owner: Owner | None = None) -> None:
        """One ``nft -f`` command (``add table|chain|set|map|rule|element FAMILY TABLE ...``)."""
        if self._frozen:
            raise RuntimeError("this ruleset is shared by others (layered): load into a layered copy")
        self._loaded.append(line)
        toks = _tokens(line)
        if len(toks) < 3 or toks[0] != "add":
            raise NftError(f"syntax error: {line}")
        what, family, tname = toks[1], toks[2], toks[3] if len(toks) > 3 else ""
        if family != "ip":
            raise NftError(f"only the ip family is modelled: {line}")
        if what == "table":
            opts = _options(toks[4:])
            if (family, tname) not in self.tables:
                self.tables[(family, tname)] = NftTable(family, tname, opts.get("comment"))
            return
        table = self.table(family, tname)
        tkey = (family, tname)
        name = toks[4]
        rest = toks[5:]
        if what == "chain":
            if name not in table.chains:
                table = self._own_table(tkey)
                opts = _options(rest)
                hook = opts.get("hook")
                self._own_chains(tkey, table)[name] = NftChain(
                    name, opts.get("type"), hook, int(opts.get("priority", "0")), opts.get("comment"))
        elif what in ("set", "map"):
            if name not in table.sets:
                table = self._own_table(tkey)
                opts = _options(rest)
                types = tuple(t for t in opts.get("type", "").split(" : ")[0].split(" . ") if t)
                self._own_sets(tkey, table)[name] = NftSet(
                    name, types, what == "map", tuple(f for f in opts.get("flags", "").split(",") if f),
                    _seconds(opts["timeout"]) if "timeout" in opts else None,
                    65535 if "dynamic" in opts.get("flags", "") else None, opts.get("comment"))
        elif what == "element":
            if name not in table.sets:
                raise NftError(f"No such file or directory: set {name} in table {family} {tname}")
            table = self._own_table(tkey)
            s = self._own_set(tkey, table, name)
            for el in _elements(rest):
                key, comment, verdict = el
                if len(key) != len(s.types):
                    raise NftError(f"element {' . '.join(key)} does not fit set {name} ({' . '.join(s.types)})")
                s.elements[key] = NftElement(tname, name, key, verdict, comment, owner)
        elif what == "rule":
            if name not in table.chains:
                raise NftError(f"No such file or directory: chain {name} in table {family} {tname}")
            rule = _parse_rule(tname, name, rest, owner, table.next_handle)
            for st in rule.statements:
                for target in _chain_targets(st):
                    if target not in table.chains:
                        raise NftError(f"Could not process rule: No such file or directory: chain {target}")
                if st.kind in ("vmap", "update") and st.target not in table.sets:
                    raise NftError(f"Could not process rule: No such file or directory: set {st.target}")
            table = self._own_table(tkey)
            table.next_handle += 1
            self._own_chain(tkey, table, name).rules.append(rule)
        else:
            raise NftError(f"syntax error, unexpected {what}: {line}")

    def base_chains(self, hook: str) -> list[tuple[NftTable, NftChain]]:
        """The base chains at a hook (``prerouting``, ...), in priority order."""
        found = [(t, c) for t in self.tables.values() for c in t.hooked() if c.hook == hook]
        return sorted(found, key=lambda tc: tc[1].priority)


def _chain_targets(s: _Statement) -> list[str]:
    if s.kind == "verdict" and s.verb in ("jump", "goto"):
        return [s.target]
    if s.kind == "numgen":
        return [v.split(" ", 1)[1] for _, v in s.choices]
    return []


def _options(toks: list[str]) -> dict[str, str]:
    """``{ type filter hook prerouting priority -110 ; comment "..." ; }`` as a dict."""
    out: dict[str, str] = {}
    words = [t for t in toks if t not in ("{", "}")]
    stmt: list[str] = []
    for t in [*words, ";"]:
        if t == ";":
            if stmt:
                if stmt[0] == "type" and "hook" in stmt:
                    out["type"] = stmt[1]
                    out["hook"] = stmt[stmt.index("hook") + 1]
                    if "priority" in stmt:
                        out["priority"] = "".join(stmt[stmt.index("priority") + 1:])
                elif stmt[0] == "comment":
                    out["comment"] = _unquote(stmt[1])
                elif stmt[0] == "flags":
                    out["flags"] = "".join(stmt[1:])
                else:
                    out[stmt[0]] = " ".join(stmt[1:])
            stmt = []
        else:
            stmt.append(t)
    if "type" in out and ":" in words:
        # a map: "type K . K : verdict" was split into words
        i = words.index("type")
        j = words.index(";", i) if ";" in words[i:] else len(words)
        out["type"] = " ".join(words[i + 1:j])
    return out


def _elements(toks: list[str]) -> list[tuple[tuple[str, ...], str | None, str | None]]:
    """``{ K . K comment "c" : VERDICT , ... }`` as (key, comment, verdict) triples."""
    inner = toks[toks.index("{") + 1:len(toks) - 1 - toks[::-1].index("}")]
    out = []
    for part in _split(inner, ","):
        comment = verdict = None
        if ":" in part:
            i = part.index(":")
            part, verdict = part[:i], " ".join(part[i + 1:])
        if "comment" in part:
            i = part.index("comment")
            comment = _unquote(part[i + 1])
            part = part[:i]
        key = tuple(_norm_value(t) for t in part if t != ".")
        out.append((key, comment, verdict))
    return out


def _norm_value(tok: str) -> str:
    try:
        return str(IPv4Address(tok))
    except ValueError:
        return tok


def _split(toks: list[str], sep: str) -> list[list[str]]:
    out: list[list[str]] = [[]]
    depth = 0
    for t in toks:
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
        if t == sep and depth == 0:
            out.append([])
        else:
            out[-1].append(t)
    return [p for p in out if p]


def _parse_rule(table: str, chain: str, toks: list[str], owner: Owner | None, handle: int) -> NftRule:
    matches: list[_Match] = []
    statements: list[_Statement] = []
    comment = None
    i, n = 0, len(toks)

    def take(k: int = 1) -> list[str]:
        nonlocal i
        got = toks[i:i + k]
        i += k
        return got

    while i < n:
        t = toks[i]
        if t == "comment":
            comment = _unquote(toks[i + 1])
            i += 2
        elif t in ("ip", "meta") and i + 2 < n and toks[i + 2] == ".":
            keys, i = _concat(toks, i)
            if toks[i] != "vmap" or not toks[i + 1].startswith("@"):
                raise NftError(f"only 'KEY vmap @MAP' lookups are modelled: {' '.join(toks)}")
            statements.append(_Statement("vmap", target=toks[i + 1][1:], keys=tuple(keys)))
            i += 2
        elif t == "ip":
            fieldname = toks[i + 1]
            i += 2
            neg = False
            if toks[i] == "!=":
                neg = True
                i += 1
            if toks[i].startswith("@"):
                matches.append(_Match("set", fieldname, neg, name=toks[i][1:]))
                i += 1
            elif toks[i] == "{":
                j = toks.index("}", i)
                nets = tuple(_network(x) for x in toks[i + 1:j] if x != ",")
                matches.append(_Match("addr", fieldname, neg, nets, braces=len(nets) > 1, merged=len(nets) > 1))
                i = j + 1
            else:
                matches.append(_Match("addr", fieldname, neg, (_network(toks[i]),)))
                i += 1
        elif t == "meta" and toks[i + 1] == "l4proto":
            matches.append(_Match("l4proto", name=toks[i + 2]))
            i += 3
        elif t == "fib":
            matches.append(_Match("fib", toks[i + 1], name=toks[i + 3]))
            i += 4
        elif t == "ct" and toks[i + 1] == "state":
            matches.append(_Match("ct", name=toks[i + 2]))
            i += 3
        elif t in ("mark", "meta") and toks[i + (1 if t == "meta" else 0)] == "mark" and \
                toks[i + (2 if t == "meta" else 1)] in ("and", "&"):
            j = i + (2 if t == "meta" else 1)
            matches.append(_Match("mark", mask=int(toks[j + 1], 0), value=int(toks[j + 3], 0)))
            i = j + 4
        elif t in ("mark", "meta") and "set" in toks[i:i + 3]:
            j = toks.index("set", i) + 1
            if toks[j] == "meta":
                j += 1
            op = {"or": "or", "|": "or", "xor": "xor", "^": "xor"}[toks[j + 1]]
            statements.append(_Statement("mark", op, value=int(toks[j + 2], 0)))
            i = j + 3
        elif t == "masquerade":
            fully = i + 1 < n and toks[i + 1] == "fully-random"
            statements.append(_Statement("masquerade", fully_random=fully))
            i += 2 if fully else 1
        elif t == "dnat":
            # dnat to ADDR[:PORT] (the tokens split at ":")
            addr, i = toks[i + 2], i + 3
            port = None
            if i + 1 < n and toks[i] == ":" and toks[i + 1].isdigit():
                port, i = int(toks[i + 1]), i + 2
            statements.append(_Statement("dnat", address=IPv4Address(addr), port=port))
        elif t == "numgen":
            mod = int(toks[i + 3])
            j = toks.index("{", i)
            k = toks.index("}", j)
            choices = []
            for part in _split(toks[j + 1:k], ","):
                if part[2] not in ("goto", "jump"):
                    raise NftError(f"only goto/jump choices are modelled in a numgen map: {' '.join(toks)}")
                choices.append((int(part[0]), " ".join(part[2:])))
            statements.append(_Statement("numgen", value=mod, choices=tuple(choices)))
            i = k + 1
        elif t == "update":
            statements.append(_Statement("update", target=toks[i + 1][1:]))
            i = toks.index("}", i) + 1
        elif t in ("jump", "goto"):
            statements.append(_Statement("verdict", t, toks[i + 1]))
            i += 2
        elif t in ("return", "drop", "reject", "accept"):
            statements.append(_Statement("verdict", t))
            i += 1
        else:
            raise NftError(f"syntax error, unexpected {t}: {' '.join(toks)}")
    return NftRule(table, chain, tuple(matches), tuple(statements), comment, owner, handle)


def _concat(toks: list[str], i: int) -> tuple[list[str], int]:
    """``ip daddr . meta l4proto . th dport``: the parts, and the index after them."""
    keys = []
    while i + 1 < len(toks) and toks[i] in ("ip", "meta", "th"):
        keys.append(f"{toks[i]} {toks[i + 1]}")
        i += 2
        if i < len(toks) and toks[i] == ".":
            i += 1
            continue
        break
    return keys, i


# ---------------------------------------------------------------------------------------------
# Traversal


@dataclass
class _Walk:
    prob: Fraction
    pkt: Packet
    matched: list[object]
    frames: list[tuple[NftChain, int]]  # the call stack: chain, next rule


def traverse_chain(rs: NftRuleset, table: NftTable, base: NftChain, packet: Packet,
                   ctx: nf.HookContext) -> list[nf.Outcome]:
    """Walk ``packet`` through base chain ``base`` and return every outcome (one per ``numgen`` branch).

    A matching rule runs its statements in order; ``jump`` comes back to the next rule, ``goto`` to the
    rule after the last ``jump`` (it replaces the chain it leaves); the end of the base chain applies its
    policy. ``accept``, ``drop``, ``reject`` and the NAT statements end the walk of this chain.
    """
    out: list[nf.Outcome] = []
    pending = [_Walk(_ONE, packet, [], [(base, 0)])]
    while pending:
        w = pending.pop()
        verdict = reject_with = policy_chain = None
        while verdict is None:
            if not w.frames:
                verdict, policy_chain = base.policy.upper(), base.name
                break
            chain, pos = w.frames[-1]
            if pos >= len(chain.rules):
                w.frames.pop()  # back to the rule after the last jump
                continue
            w.frames[-1] = (chain, pos + 1)
            rule = chain.rules[pos]
            if not all(m.test(w.pkt, ctx, rs, table) for m in rule.matches):
                continue
            result = _run(rs, table, rule, w, pending)
            if result is not None:
                verdict, reject_with = result
        out.append(nf.Outcome(w.prob, verdict, w.pkt, tuple(w.matched),  # type: ignore[arg-type]
                              (), reject_with, policy_chain))
    return out


def _run(rs: NftRuleset, table: NftTable, rule: NftRule, w: _Walk,
         pending: list[_Walk]) -> tuple[str, str | None] | None:
    """Run a matching rule's statements; the verdict that ends the walk, or None to go on."""
    w.matched.append(rule)
    for s in rule.statements:
        k = s.kind
        if k == "mark":
            mark = (w.pkt.mark | s.value) if s.verb == "or" else (w.pkt.mark ^ s.value)
            w.pkt = replace(w.pkt, mark=mark & 0xFFFFFFFF)
        elif k == "update":
            pass  # the affinity set learns the source; a first connection never finds it
        elif k == "dnat":
            port = s.port if s.port is not None and w.pkt.dport is not None else w.pkt.dport
            assert s.address is not None
            w.pkt = replace(w.pkt, dst=s.address, dport=port)
            return "ACCEPT", None
        elif k == "masquerade":
            return "MASQUERADE", None
        elif k in ("vmap", "numgen"):
            if k == "vmap":
                key = _key_of(s.keys, w.pkt)
                element = table.sets[s.target].elements.get(key) if key is not None else None
                if element is None or element.verdict is None:
                    w.matched.pop()
                    return None  # no element: the lookup does not match
                w.matched.append(element)
                return _verdict(element.verdict, table, w)
            share = Fraction(1, s.value)
            for _n, v in s.choices[1:]:
                branch = _Walk(w.prob * share, w.pkt, list(w.matched), list(w.frames))
                _verdict(v, table, branch)  # kube-proxy's choices are gotos: each branch goes on walking
                pending.append(branch)
            w.prob *= share
            return _verdict(s.choices[0][1], table, w)
        elif k == "verdict":
            return _verdict(f"{s.verb} {s.target}".strip(), table, w)
    return None


def _verdict(verdict: str, table: NftTable, w: _Walk) -> tuple[str, str | None] | None:
    verb, _, target = verdict.partition(" ")
    if verb in ("jump", "goto"):
        if len(w.frames) > 64:
            raise NftError(f"too many levels of jumps at {target} (a loop?)")
        if verb == "goto":
            w.frames.pop()  # goto does not come back: the chain it leaves is done
        w.frames.append((table.chains[target], 0))
        return None
    if verb == "return":
        w.frames.pop()
        return None
    if verb == "reject":
        return "REJECT", "icmp-port-unreachable"
    return verb.upper(), None


def traverse_hook(ruleset: nf.Ruleset | None, nft: NftRuleset | None, hook: str, packet: Packet,
                  ctx: nf.HookContext | None = None) -> nf.Traversal:
    """Walk ``packet`` through every iptables table and nftables base chain at ``hook``, in priority order.

    NAT (iptables' nat table, nftables ``type nat`` chains) is consulted only for a connection's first packet,
    and once one of them has NATed it, the later ones at the same hook are not (the kernel's NAT binding is
    made once). A packet that is DNATed (SNATed) is seen by the later stages in the ``DNAT`` (``SNAT``) state.
    """
    ctx = ctx or nf.HookContext()
    stages: list[tuple[int, int, str, object]] = []
    if ruleset is not None:
        for tname in nf.HOOK_TABLES[hook]:
            if ruleset.has_chain(tname, hook):
                prio = _NAT_PRIORITY[hook] if tname == "nat" else IPTABLES_PRIORITIES[tname]
                stages.append((prio, 0, "ipt", tname))
    if nft is not None:
        for tbl, base in nft.base_chains(HOOKS[hook]):
            stages.append((base.priority, 1, "nft", (tbl, base)))
    stages.sort(key=lambda s: (s[0], s[1]))
    partial = [(nf.Outcome(_ONE, "ACCEPT", packet, ()), ctx, False)]
    for _prio, _order, kind, what in stages:
        is_nat = what == "nat" if kind == "ipt" else what[1].type == "nat"  # type: ignore[index]
        nxt: list[tuple[nf.Outcome, nf.HookContext, bool]] = []
        for done, c, natted in partial:
            if done.verdict not in ("ACCEPT", "MASQUERADE") or (is_nat and ("NEW" not in c.ctstate or natted)):
                nxt.append((done, c, natted))
                continue
            if kind == "ipt":
                assert ruleset is not None and isinstance(what, str)
                results = list(nf.traverse(ruleset, what, hook, done.packet, c))
            else:
                assert nft is not None and isinstance(what, tuple)
                results = traverse_chain(nft, what[0], what[1], done.packet, c)
            for o in results:
                pkt, verdict = o.packet, o.verdict
                if verdict == "MASQUERADE":
                    if c.out_address is None:
                        raise ValueError("masquerade needs the out interface's address (HookContext.out_address)")
                    pkt, verdict = replace(pkt, src=c.out_address), "ACCEPT"
                before = done.packet
                dnat = pkt.dst != before.dst or pkt.dport != before.dport
                snat = pkt.src != before.src or pkt.sport != before.sport
                ctx_after = c
                if (dnat and "DNAT" not in c.ctstate) or (snat and "SNAT" not in c.ctstate):
                    # the context is copied only when the connection's states change (most stages NAT nothing)
                    ctx_after = replace(c, ctstate=c.ctstate | {x for x, on in (("DNAT", dnat), ("SNAT", snat)) if on})
                if not done.matched and not done.recent and done.probability is _ONE and pkt is o.packet \
                        and verdict == o.verdict and (o.policy_chain is None or o.deciding_rule is None):
                    merged = o  # nothing to merge yet: the outcome as the stage gave it
                else:
                    merged = nf.Outcome(done.probability * o.probability, verdict, pkt, done.matched + o.matched,
                                        done.recent + o.recent, o.reject_with,
                                        o.policy_chain if o.deciding_rule is None else None)
                nat_done = natted or (is_nat and pkt != before and (pkt.dst, pkt.dport, pkt.src) !=
                                      (before.dst, before.dport, before.src))
                nxt.append((merged, ctx_after, nat_done))
        partial = nxt
    return nf.Traversal(tuple(o for o, _c, _n in partial))

