"""``iptables -L``, ``iptables -S`` and ``nft list ruleset`` for a namespace's rules (``iptables-save`` is
:meth:`Ruleset.save`).

``-L`` prints each chain with its policy or reference count and one line per rule in iptables's list
format: target, protocol, ``--``, source, destination, then each match as its extension prints it
(``/* comment */``, ``tcp dpt:80``, ``statistic mode random probability 0.33333333349``, ``to:10.244.1.5:80``).
``nft list ruleset`` prints what iptables-nft (kind's backend) shows: the same tables in nft's syntax, with
the matches nft cannot express natively left as ``xt`` expressions.

>>> from k8snetviz.kernel.netfilter import Ruleset
>>> rs = Ruleset(["nat"])
>>> rs.new_chain("nat", "KUBE-SEP-A")
>>> _ = rs.append("nat", "KUBE-SEP-A", "-p tcp -m comment --comment x -j DNAT --to-destination 10.244.1.5:8080")
>>> for line in iptables_list(rs, "nat", "KUBE-SEP-A").splitlines():
...     print(line.rstrip())
Chain KUBE-SEP-A (0 references)
target     prot opt source               destination
DNAT       tcp  --  0.0.0.0/0            0.0.0.0/0            /* x */ tcp to:10.244.1.5:8080
"""

from __future__ import annotations

import shlex
from typing import Any

__all__ = ["iptables_list", "iptables_rules", "nft_ruleset", "list_matches"]


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def _parse(args: list[str]) -> dict[str, Any]:
    """The fields of one rule in iptables-save form (after ``-A CHAIN``)."""
    r: dict[str, Any] = {"src": "0.0.0.0/0", "dst": "0.0.0.0/0", "proto": "all", "in": "*", "out": "*",
                         "target": "", "matches": [], "target_opts": [], "neg": {}}
    i = 0
    neg = False
    module = ""
    while i < len(args):
        a = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if a == "!":
            neg = True
            i += 1
            continue
        if a in ("-s", "--source"):
            r["src"] = ("!" if neg else "") + nxt
            i += 2
        elif a in ("-d", "--destination"):
            r["dst"] = ("!" if neg else "") + nxt
            i += 2
        elif a in ("-p", "--protocol"):
            r["proto"] = ("!" if neg else "") + nxt
            i += 2
        elif a in ("-i", "--in-interface"):
            r["in"] = ("!" if neg else "") + nxt
            i += 2
        elif a in ("-o", "--out-interface"):
            r["out"] = ("!" if neg else "") + nxt
            i += 2
        elif a in ("-j", "--jump", "-g", "--goto"):
            r["target"] = nxt
            rest = args[i + 2:]
            r["target_opts"] = rest
            break
        elif a in ("-m", "--match"):
            module = nxt
            r["matches"].append([module])
            i += 2
        elif a.startswith("--"):
            opt = [("! " if neg else "") + a]
            j = i + 1
            while j < len(args) and not args[j].startswith("-") and args[j] != "!":
                opt.append(args[j])
                j += 1
            if not r["matches"]:
                r["matches"].append([r["proto"]])
            r["matches"][-1].append(opt)
            i = j
        else:
            i += 1
        neg = False
    return r


def _opt(opts: list[Any], name: str) -> tuple[bool, list[str]] | None:
    for o in opts[1:]:
        head = o[0]
        negated = head.startswith("! ")
        if head.lstrip("! ") == name:
            return negated, o[1:]
    return None


def list_matches(r: dict[str, Any]) -> str:
    """The match and target columns of ``iptables -L`` for one parsed rule."""
    parts: list[str] = []
    for m in r["matches"]:
        mod = m[0]
        if mod == "comment":
            got = _opt(m, "--comment")
            if got:
                parts.append(f"/* {' '.join(got[1])} */")
        elif mod in ("tcp", "udp", "sctp"):
            seg = [mod]
            for name, short in (("--dport", "dpt"), ("--destination-port", "dpt"), ("--sport", "spt"),
                                ("--source-port", "spt")):
                got = _opt(m, name)
                if got:
                    val = got[1][0] if got[1] else ""
                    short_ = short + "s" if ":" in val else short
                    seg.append(f"{short_}:{'!' if got[0] else ''}{val}")
            if len(seg) > 1 or mod != r["proto"]:
                parts.append(" ".join(seg))
        elif mod == "multiport":
            for name, word in (("--dports", "dports"), ("--sports", "sports"), ("--ports", "ports")):
                got = _opt(m, name)
                if got:
                    parts.append(f"multiport {word} {'! ' if got[0] else ''}{got[1][0]}")
        elif mod == "statistic":
            mode = _opt(m, "--mode")
            prob = _opt(m, "--probability")
            text = f"statistic mode {mode[1][0] if mode else 'random'}"
            if prob:
                text += f" probability {prob[1][0]}"
            parts.append(text)
        elif mod == "addrtype":
            for name, word in (("--dst-type", "dst-type"), ("--src-type", "src-type")):
                got = _opt(m, name)
                if got:
                    parts.append(f"ADDRTYPE match {word} {'!' if got[0] else ''}{got[1][0]}")
            if _opt(m, "--limit-iface-in"):
                parts[-1] += " limit-in"
        elif mod == "mark":
            got = _opt(m, "--mark")
            if got:
                parts.append(f"mark match {'! ' if got[0] else ''}{got[1][0]}")
        elif mod in ("conntrack", "state"):
            got = _opt(m, "--ctstate") or _opt(m, "--state")
            if got:
                parts.append(f"{'! ' if got[0] else ''}ctstate {got[1][0]}")
        elif mod == "recent":
            flags = [o[0].lstrip("-").upper() for o in m[1:] if o[0].lstrip("-") in ("set", "rcheck", "update",
                                                                                      "remove")]
            secs = _opt(m, "--seconds")
            named = _opt(m, "--name")
            text = f"recent: {'CHECK' if 'RCHECK' in flags else (flags[0] if flags else 'SET')}"
            if secs:
                text += f" seconds: {secs[1][0]}"
            if _opt(m, "--reap"):
                text += " reap"
            text += f" name: {named[1][0] if named else 'DEFAULT'} side: source mask: 255.255.255.255"
            parts.append(text)
        elif mod == "physdev":
            parts.append("PHYSDEV match --physdev-is-in")
        elif mod == "nfacct":
            got = _opt(m, "--nfacct-name")
            parts.append(f"nfacct-name  {got[1][0] if got else ''}")
    t = r["target"]
    to = r["target_opts"]
    if t == "DNAT" and "--to-destination" in to:
        parts.append(f"{r['proto'] if r['proto'] != 'all' else ''} to:{to[to.index('--to-destination') + 1]}".strip())
    elif t == "SNAT" and "--to-source" in to:
        parts.append(f"to:{to[to.index('--to-source') + 1]}")
    elif t == "MARK":
        if "--set-xmark" in to:
            parts.append(f"MARK xset {to[to.index('--set-xmark') + 1]}")
        elif "--or-mark" in to:
            parts.append(f"MARK or {to[to.index('--or-mark') + 1]}")
        elif "--xor-mark" in to:
            parts.append(f"MARK xor {to[to.index('--xor-mark') + 1]}")
    elif t == "MASQUERADE" and "--random-fully" in to:
        parts.append("random-fully")
    elif t == "REJECT" and "--reject-with" in to:
        parts.append(f"reject-with {to[to.index('--reject-with') + 1]}")
    return " ".join(parts)


def _addr(a: str) -> str:
    if a.endswith("/32"):
        return a[:-3]
    return a


def iptables_list(ruleset: Any, table: str, chain: str | None = None, *, verbose: bool = False,
                  line_numbers: bool = False) -> str:
    """``iptables -t TABLE -L [CHAIN] -n [-v] [--line-numbers]``."""
    chains = [chain] if chain else ruleset.chains(table)
    refs: dict[str, int] = {}
    for c in ruleset.chains(table):
        for rule in ruleset.chain(table, c).rules:
            r = _parse(_split(rule.line)[2:])
            if r["target"]:
                refs[r["target"]] = refs.get(r["target"], 0) + 1
    blocks = []
    for name in chains:
        ch = ruleset.chain(table, name)
        if ch.builtin:
            head = f"Chain {name} (policy {ch.policy}" + (" 0 packets, 0 bytes)" if verbose else ")")
        else:
            head = f"Chain {name} ({refs.get(name, 0)} references)"
        lines = [head]
        cols = "target     prot opt "
        if verbose:
            cols = " pkts bytes " + cols + "in     out     "
        lines.append(("num  " if line_numbers else "") + cols + "source               destination         ")
        for n, rule in enumerate(ch.rules, 1):
            r = _parse(_split(rule.line)[2:])
            proto = r["proto"]
            row = f"{n:<4} " if line_numbers else ""
            if verbose:
                row += f"{0:>5} {0:>5} "
            row += f"{r['target']:<10} {proto:<4} --  "
            if verbose:
                row += f"{r['in']:<6} {r['out']:<6} "
            row += f"{_addr(r['src']):<20} {_addr(r['dst']):<20} "
            row += list_matches(r)
            lines.append(row.rstrip() if not list_matches(r) else row)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def iptables_rules(ruleset: Any, table: str, chain: str | None = None) -> str:
    """``iptables -t TABLE -S [CHAIN]``: the policies, the user chains, then every rule, in -A form."""
    out: list[str] = []
    names = [chain] if chain else ruleset.chains(table)
    for name in names:
        ch = ruleset.chain(table, name)
        out.append(f"-P {name} {ch.policy}" if ch.builtin else f"-N {name}")
    for name in names:
        out += [r.line for r in ruleset.chain(table, name).rules]
    return "\n".join(out)


_NFT_HOOKS = {"PREROUTING": ("prerouting", {"nat": "dstnat", "raw": "raw", "mangle": "mangle"}),
              "INPUT": ("input", {"filter": "filter", "nat": "100", "mangle": "mangle"}),
              "FORWARD": ("forward", {"filter": "filter", "mangle": "mangle"}),
              "OUTPUT": ("output", {"filter": "filter", "nat": "-100", "raw": "raw", "mangle": "mangle"}),
              "POSTROUTING": ("postrouting", {"nat": "srcnat", "mangle": "mangle"})}


def _nft_rule(line: str) -> str:
    r = _parse(_split(line)[2:])
    parts: list[str] = []
    for key, word in (("src", "saddr"), ("dst", "daddr")):
        v = r[key]
        if v not in ("0.0.0.0/0",):
            neg = v.startswith("!")
            parts.append(f"ip {word} {'!= ' if neg else ''}{_addr(v.lstrip('!'))}")
    for key, word in (("in", "iifname"), ("out", "oifname")):
        if r[key] != "*":
            parts.append(f'{word} "{r[key]}"')
    proto = r["proto"]
    comment = None
    for m in r["matches"]:
        mod = m[0]
        if mod in ("tcp", "udp", "sctp"):
            for name, word in (("--dport", "dport"), ("--sport", "sport")):
                got = _opt(m, name)
                if got:
                    parts.append(f"{mod} {word} {'!= ' if got[0] else ''}{got[1][0].replace(':', '-')}")
        elif mod == "comment":
            got = _opt(m, "--comment")
            comment = " ".join(got[1]) if got else None
        elif mod == "mark":
            got = _opt(m, "--mark")
            if got:
                val, _, mask = got[1][0].partition("/")
                parts.append(f"mark and {mask or '0xffffffff'} {'!=' if got[0] else '=='} {val}")
        elif mod in ("conntrack", "state"):
            got = _opt(m, "--ctstate") or _opt(m, "--state")
            if got:
                parts.append(f"ct state {got[1][0].lower().replace(',', ',')}")
        elif mod == "addrtype":
            got = _opt(m, "--dst-type")
            if got:
                parts.append(f"fib daddr type {'!= ' if got[0] else ''}{got[1][0].lower()}")
        else:
            parts.append(f"# xt_{mod}")
    if proto not in ("all",) and not any(p.startswith(proto + " ") for p in parts):
        parts.insert(0, f"meta l4proto {proto}")
    parts.append("counter packets 0 bytes 0")
    t, to = r["target"], r["target_opts"]
    if t in ("ACCEPT", "DROP", "RETURN"):
        parts.append(t.lower() if t != "RETURN" else "return")
    elif t == "REJECT":
        parts.append("reject")
    elif t == "MASQUERADE":
        parts.append("masquerade" + (" fully-random" if "--random-fully" in to else ""))
    elif t == "DNAT" and "--to-destination" in to:
        parts.append(f"dnat to {to[to.index('--to-destination') + 1]}")
    elif t == "SNAT" and "--to-source" in to:
        parts.append(f"snat to {to[to.index('--to-source') + 1]}")
    elif t == "MARK":
        mark = to[1] if len(to) > 1 else "0x0"
        parts.append(f"meta mark set mark or {mark.split('/')[0]}")
    elif t:
        parts.append(f"jump {t}")
    if comment:
        parts.append(f'comment "{comment}"')
    return " ".join(parts)


def nft_ruleset(ruleset: Any) -> str:
    """``nft list ruleset`` on a node whose iptables is iptables-nft (kind's nodes)."""
    out: list[str] = []
    for table in ruleset.tables:
        out.append(f"# Warning: table ip {table} is managed by iptables-nft, do not touch!")
        out.append(f"table ip {table} {{")
        for name in ruleset.chains(table):
            ch = ruleset.chain(table, name)
            out.append(f"\tchain {name} {{")
            if ch.builtin:
                hook, prios = _NFT_HOOKS[name]
                out.append(f"\t\ttype {'nat' if table == 'nat' else 'filter'} hook {hook} priority "
                           f"{prios.get(table, 'filter')}; policy {ch.policy.lower()};")
            for rule in ch.rules:
                out.append(f"\t\t{_nft_rule(rule.line)}")
            out.append("\t}")
        out.append("}")
    return "\n".join(out)
