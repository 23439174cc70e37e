"""NetworkPolicy results as text: the truth table as the upstream e2e suite prints it, and verdicts.

The e2e suite (test/e2e/network/netpol, ``TruthTable.PrettyPrint``) prints a reachability
matrix as tab-separated lines: a header ``-`` followed by the destination pods, then one row
per source pod with ``.`` where the connection is allowed and ``X`` where it is blocked
(``?`` where nothing was observed). :func:`truth_table` reproduces those bytes, tabs and all
(the upstream layout doubles the tab after ``-`` and after every mark, so the columns only
line up in a viewer with wide tab stops); ``aligned=True`` pads with spaces instead, for a
notebook or a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from k8snetviz.questions.display import text_view
from k8snetviz.questions.policy import PolicyMatrix

__all__ = ["truth_table", "verdict_text", "summary"]


def _table(result: Any) -> tuple[list[str], Mapping[str, Mapping[str, bool]]]:
    if isinstance(result, Mapping):
        return list(result["pods"]), result["allowed"]
    return list(result.pods), result.allowed


def _mark(row: Mapping[str, bool], to: str) -> str:
    if to not in row:
        return "?"
    return "." if row[to] else "X"


def truth_table(result: Any, indent: str = "", *, aligned: bool = False) -> str:
    """The matrix ``allowed[from][to]`` as a truth table: rows are sources, columns destinations.

    ``result``: a Reachability (or its ``to_dict()``).

    >>> doc = {"pods": ["x/a", "x/b"], "allowed": {"x/a": {"x/a": True, "x/b": False},
    ...                                            "x/b": {"x/a": True, "x/b": True}}}
    >>> truth_table(doc).splitlines()
    ['-\\t\\tx/a\\tx/b', 'x/a\\t.\\t\\tX\\t', 'x/b\\t.\\t\\t.\\t']
    >>> print(truth_table(doc, aligned=True))
    -    x/a  x/b
    x/a  .    X
    x/b  .    .
    """
    pods, allowed = _table(result)
    if aligned:
        width = max([len(p) for p in pods] + [1]) + 2
        lines = [indent + "".join(c.ljust(width) for c in ["-", *pods]).rstrip()]
        for src in pods:
            row = allowed.get(src, {})
            cells = [src, *(_mark(row, dst) for dst in pods)]
            lines.append(indent + "".join(c.ljust(width) for c in cells).rstrip())
        return "\n".join(lines)
    lines = [indent + "\t".join(["-\t", *pods])]
    for src in pods:
        row = allowed.get(src, {})
        lines.append(indent + "\t".join([src, *(_mark(row, dst) + "\t" for dst in pods)]))
    return "\n".join(lines)


def summary(result: Any) -> str:
    """One line: how many of the ordered pod pairs may connect, for which port and protocol.

    >>> summary({"port": 80, "protocol": "TCP", "pods": ["x/a", "x/b"],
    ...          "allowed": {"x/a": {"x/a": True, "x/b": False}, "x/b": {"x/a": True, "x/b": True}}})
    'TCP/80: 3 of 4 connections allowed, 1 blocked'
    """
    doc = result if isinstance(result, Mapping) else result.to_dict()
    pods, allowed = _table(doc)
    total = len(pods) * len(pods)
    ok = sum(1 for src in pods for dst in pods if allowed.get(src, {}).get(dst, False))
    return f"{doc['protocol']}/{doc['port']}: {ok} of {total} connections allowed, {total - ok} blocked"


def _direction_lines(d: Mapping[str, Any]) -> Sequence[str]:
    lines = [f"  {d['direction'].lower()}: {'allowed' if d['allowed'] else 'DENIED'}: {d['reason']}"]
    if d.get("selected_by") and d["allowed"]:
        lines.append(f"    selected by: {', '.join(d['selected_by'])}")
    return lines


def verdict_text(verdict: Any) -> str:
    """A verdict in words: the answer, then the source's egress and the destination's ingress.

    >>> v = {"src": "x/a", "dst": "x/b", "port": 80, "protocol": "TCP", "allowed": False,
    ...      "egress": {"direction": "Egress", "allowed": True, "selected_by": [],
    ...                 "reason": "pod x/a is not isolated for egress"},
    ...      "ingress": {"direction": "Ingress", "allowed": False, "selected_by": ["x/deny"],
    ...                  "reason": "pod x/b is isolated for ingress by NetworkPolicy x/deny, "
    ...                            "and none of its rules matches"}}
    >>> print(verdict_text(v))
    x/a -> x/b TCP/80: denied
      egress: allowed: pod x/a is not isolated for egress
      ingress: DENIED: pod x/b is isolated for ingress by NetworkPolicy x/deny, and none of its rules matches
    """
    doc = verdict if isinstance(verdict, Mapping) else verdict.to_dict()
    head = f"{doc['src']} -> {doc['dst']} {doc['protocol']}/{doc['port']}: "
    head += "allowed (replies too)" if doc["allowed"] else "denied"
    lines = [head]
    for direction in ("egress", "ingress"):
        lines.extend(_direction_lines(doc[direction]))
    return "\n".join(lines)


@text_view.register
def _(matrix: PolicyMatrix) -> str:
    text = truth_table(matrix.result, aligned=True) + "\n" + summary(matrix.result)
    if not matrix.enforced:
        text += "\nNetworkPolicy " + matrix.enforcement
    return text
