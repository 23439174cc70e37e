"""A trace as text: one line per hop, with the rule that decided it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from k8snetviz.questions.trace import TraceResult

__all__ = ["trace_text"]


def trace_text(result: TraceResult) -> str:
    lines = [f"trace {result.source} → {result.destination} ({result.protocol})"]
    replying = False
    for h in result.hops:
        if h.reply and not replying:
            lines.append("     --- the reply, back to the client ---")
        replying = h.reply
        lines.append(f"{h.step:>3}. {h.at} [{h.device}] {h.action}: {h.src} → {h.dst}")
        lines.append(f"     {h.detail}")
        if h.outer:
            lines.append(f"     outer header: {h.outer}")
    lines.append(f"verdict: {result.verdict}: {result.reason}")
    if result.candidates:
        lines.append("candidates: " + ", ".join(f"{c['pod']} ({c['probability']:.0%})" for c in result.candidates))
    return "\n".join(lines)
