"""nftables state printed as ``nft list ruleset`` prints it (nftables 1.0.6, Debian 12 and kind's nodes).

Per table: its comment, then its sets and maps, then its chains, each in the order they were added and
separated by a blank line. A base chain shows ``type ... hook ... priority ...; policy accept;`` with the
standard priority names where nft uses them (``dstnat - 10``, ``filter``, ``srcnat``). Set elements are
sorted as nft sorts them and wrapped as nft wraps them: two addresses a line, one concatenation a line.
"""

from __future__ import annotations

from k8snetviz.kernel.nftables import NftChain, NftRuleset, NftSet, NftTable, duration

__all__ = ["nft_list_ruleset", "nft_list_table", "priority_text"]

# nft's standard priorities, and the hooks of the ip family where the NAT ones may be named.
_STD_PRIORITIES = (("raw", -300), ("mangle", -150), ("dstnat", -100), ("filter", 0), ("security", 50),
                   ("srcnat", 100))
_NAMED_HOOKS = {"dstnat": ("prerouting",), "srcnat": ("postrouting",)}
_WRAP = ",\n\t\t\t     "


def priority_text(priority: int, hook: str) -> str:
    """``priority`` as nft prints it: a standard name within 10 of it where the hook allows the name
    (``dstnat - 10`` at prerouting), else the number."""
    for name, value in _STD_PRIORITIES:
        if name in _NAMED_HOOKS and hook not in _NAMED_HOOKS[name]:
            continue
        offset = priority - value
        if offset == 0:
            return name
        if -10 <= offset <= 10:
            return f"{name} {'+' if offset > 0 else '-'} {abs(offset)}"
    return str(priority)


def _elements(s: NftSet) -> str:
    items = sorted(s.elements.values(), key=lambda e: s.sort_key(e.key))
    per_line = 2 if s.types == ("ipv4_addr",) and not s.is_map else 1
    out = ""
    for i, e in enumerate(items):
        if i:
            out += _WRAP if i % per_line == 0 else ", "
        out += e.text
    return "{ " + out + " }"


def _set(s: NftSet) -> list[str]:
    kind = "map" if s.is_map else "set"
    typ = " . ".join(s.types) + (" : verdict" if s.is_map else "")
    lines = [f"\t{kind} {s.name} {{", f"\t\ttype {typ}"]
    if s.size is not None:
        lines.append(f"\t\tsize {s.size}")
    if s.flags:
        lines.append(f"\t\tflags {','.join(s.flags)}")
    if s.timeout is not None:
        lines.append(f"\t\ttimeout {duration(s.timeout)}")
    if s.comment is not None:
        lines.append(f'\t\tcomment "{s.comment}"')
    if s.elements:
        lines.append(f"\t\telements = {_elements(s)}")
    lines.append("\t}")
    return lines


def _chain(c: NftChain) -> list[str]:
    lines = [f"\tchain {c.name} {{"]
    if c.hook is not None:
        lines.append(f"\t\ttype {c.type} hook {c.hook} priority {priority_text(c.priority, c.hook)}; "
                     f"policy {c.policy};")
    if c.comment is not None:
        lines.append(f'\t\tcomment "{c.comment}"')
    lines += [f"\t\t{r.text}" for r in c.rules]
    lines.append("\t}")
    return lines


def nft_list_table(t: NftTable) -> str:
    """One table, as ``nft list table FAMILY NAME`` prints it."""
    lines = [f"table {t.family} {t.name} {{"]
    if t.comment is not None:
        lines.append(f'\tcomment "{t.comment}"')
    blocks = [_set(s) for s in t.sets.values()] + [_chain(c) for c in t.chains.values()]
    for i, block in enumerate(blocks):
        if i:
            lines.append("")
        lines += block
    lines.append("}")
    return "\n".join(lines) + "\n"


def nft_list_ruleset(rs: NftRuleset | None) -> str:
    """Every table, as ``nft list ruleset`` prints them (empty when nothing was loaded through nft)."""
    if rs is None:
        return ""
    return "".join(nft_list_table(t) for t in rs.tables.values())
