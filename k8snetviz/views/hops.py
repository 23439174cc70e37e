"""A walk's hops as the packet-walk widget shows them: what each step says, sent to the browser once.

:func:`hop_details` is the data the front end steps through without asking the kernel again: for
each hop, where it is, what happened, the headers (with the fields this hop changed), the decision
in one line and its why-chain (the row ← who wrote it ← for which object ← because of what), and
the diagram ids to light. :func:`hop_html` is the same hop as HTML, for front ends without widgets.

>>> import k8snetviz
>>> c = k8snetviz.load("kind-default")
>>> t = c.trace("default/client", "svc/default/web:80")
>>> dnat = next(h for h in hop_details(c, t) if h["action"] == "dnat")
>>> dnat["why"][1], dnat["why"][-1]
('  ← written by kube-proxy on kind-worker', '  ← because of Service default/web')
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from k8snetviz.views.dot import hop_ids
from k8snetviz.views.walktext import decided_by_line, why_chain

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.kernel.walk import Hop
    from k8snetviz.questions.results import TraceResult

__all__ = ["hop_details", "hop_html", "changed_fields"]


def changed_fields(prev: Hop | None, hop: Hop) -> set[str]:
    """The header fields that differ from the previous hop (or that this hop says it changed)."""
    out = set(hop.changed)
    if prev is not None:
        if prev.src != hop.src:
            out.add("src")
        if prev.dst != hop.dst:
            out.add("dst")
        if prev.outer != hop.outer:
            out.add("outer")
    return out


def _headers(prev: Hop | None, hop: Hop) -> list[dict[str, Any]]:
    changed = changed_fields(prev, hop)
    rows = [{"name": "src", "value": hop.src, "changed": "src" in changed},
            {"name": "dst", "value": hop.dst, "changed": "dst" in changed}]
    if hop.outer or "outer" in changed:
        rows.append({"name": "outer", "value": hop.outer or "(removed)", "changed": "outer" in changed})
    return rows


def hop_details(cluster: Cluster, result: TraceResult) -> list[dict[str, Any]]:
    """Every hop of ``result`` as plain data (JSON-ready) for the front end; see the module docstring."""
    out = []
    n = len(result.hops)
    for i, hop in enumerate(result.hops):
        prev = result.hops[i - 1] if i else None
        d = hop.decided_by
        item: dict[str, Any] = {
            "step": hop.step, "of": n, "at": hop.at, "device": hop.device, "action": hop.action,
            "detail": hop.detail, "reply": hop.reply, "headers": _headers(prev, hop),
            "decided_by": decided_by_line(hop) if d is not None and d.text else "",
            "kind": d.kind if d is not None else "", "why": why_chain(hop) if d is not None and d.text else [],
            "ids": hop_ids(cluster, hop), "text": f"Step {hop.step}: {hop.at}, {hop.action}. {hop.detail}",
        }
        if i == n - 1:
            item["verdict"] = {"delivered": result.delivered, "verdict": result.verdict, "reason": result.reason}
        out.append(item)
    return out


def hop_html(result: TraceResult, index: int) -> str:
    """The current hop: where, what, the deciding rule (with its why-chain), the headers with changed fields
    marked, and the verdict on the last step. The widget's front end draws the same from :func:`hop_details`."""
    hop = result.hops[index]
    prev = result.hops[index - 1] if index > 0 else None
    rows = ""
    for h in _headers(prev, hop):
        mark = ' class="knv-changed"' if h["changed"] else ""
        badge = " ✱ changed" if h["changed"] else ""
        rows += f"<tr><th>{h['name']}</th><td{mark}><code>{escape(h['value'])}</code>{badge}</td></tr>"
    rule = ""
    if hop.decided_by is not None and hop.decided_by.text:
        chain = "".join(f"<li>{escape(line.strip())}</li>" for line in why_chain(hop)[1:])
        rule = (f'<details class="knv-why"><summary>Decided by: <code>{escape(hop.decided_by.text)}</code></summary>'
                f'<ol class="knv-why-chain">{chain}</ol></details>')
    verdict = ""
    if index == len(result.hops) - 1:
        state = "knv-delivered" if result.delivered else "knv-failed"
        verdict = (f'<p class="knv-verdict {state}"><b>{escape(result.verdict)}</b>: {escape(result.reason)}</p>')
    direction = " · <i>the reply, on its way back</i>" if hop.reply else ""
    return (f'<div class="knv-hop"><p><b>Step {hop.step} of {len(result.hops)}</b>{direction} · '
            f"<code>{escape(hop.at)}</code> · device <code>{escape(hop.device)}</code> · "
            f"<b>{escape(hop.action)}</b></p><p>{escape(hop.detail)}</p>{rule}"
            f'<table class="knv-headers">{rows}</table>{verdict}</div>')
