"""A trace as text: one line per hop, with the rule that decided it."""

from __future__ import annotations

from k8snetviz.kernel.walk import Hop
from k8snetviz.questions.display import text_view
from k8snetviz.questions.results import TraceResult

__all__ = ["trace_text", "why_chain", "decided_by_line"]


def why_chain(hop: Hop) -> list[str]:
    """A hop's decision and why it exists, one link a line: the row ← who wrote it ← for what ← because of what.

    >>> from k8snetviz.agents.writes import Owner
    >>> from k8snetviz.kernel.walk import DecidedBy, Hop
    >>> h = Hop(1, "node/kind-worker", "eth0", "dnat", "", "a", "b", decided_by=DecidedBy(
    ...     "rule", "r1", "-A KUBE-SEP-X -p tcp -j DNAT --to-destination 10.244.1.2:8080",
    ...     Owner("kube-proxy", "kind-worker", "EndpointSlice default/web-abcde", ("Service default/web",),
    ...           "endpoint 10.244.1.2:8080 of default/web:http")))
    >>> for line in why_chain(h):
    ...     print(line)
    rule: -A KUBE-SEP-X -p tcp -j DNAT --to-destination 10.244.1.2:8080
      ← written by kube-proxy on kind-worker
      ← for endpoint 10.244.1.2:8080 of default/web:http, in EndpointSlice default/web-abcde
      ← because of Service default/web
    """
    d = hop.decided_by
    if d is None:
        return []
    o = d.owner
    lines = [f"{d.kind}: {d.text}"]
    lines.append(f"  ← written by {o.component}" + (f" on {o.node}" if o.node else ""))
    if o.why and o.object:
        lines.append(f"  ← for {o.why}, in {o.object}" if o.object.startswith("EndpointSlice") else
                     f"  ← for {o.object}: {o.why}")
    elif o.object:
        lines.append(f"  ← for {o.object}")
    elif o.why:
        lines.append(f"  ← {o.why}")
    lines += [f"  ← because of {c}" for c in o.chain if c]
    return lines


def decided_by_line(hop: Hop) -> str:
    """The decision in one line: the row, and who wrote it for what."""
    d = hop.decided_by
    if d is None:
        return ""
    o = d.owner
    who = o.component + (f" on {o.node}" if o.node else "") + (f", for {o.object}" if o.object else "")
    return f"{d.text}  [{d.kind}, {who}]"


def trace_text(result: TraceResult, *, why: bool = False) -> str:
    """The walk as text, a hop a few lines; ``why=True`` opens each decision to its full why-chain."""
    lines = [f"trace {result.source} → {result.destination} ({result.protocol})"]
    replying = False
    for h in result.hops:
        if h.reply and not replying:
            lines.append("     --- the reply, back to the client ---")
        replying = h.reply
        lines.append(f"{h.step:>3}. {h.at} [{h.device}] {h.action}: {h.src} → {h.dst}")
        lines.append(f"     {h.detail}")
        if h.decided_by is not None and h.decided_by.text:
            if why:
                chain = why_chain(h)
                lines.append(f"     decided by {chain[0]}")
                lines += [f"       {line.strip()}" for line in chain[1:]]
            else:
                lines.append(f"     decided by: {decided_by_line(h)}")
        if h.outer:
            lines.append(f"     outer header: {h.outer}")
    lines.append(f"verdict: {result.verdict}: {result.reason}")
    if result.candidates:
        lines.append("candidates: " + ", ".join(f"{c['pod']} ({c['probability']:.0%})" for c in result.candidates))
    return "\n".join(lines)


@text_view.register
def _(result: TraceResult) -> str:
    return trace_text(result)
