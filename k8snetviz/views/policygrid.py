"""The reachability matrix as a coloured HTML grid: rows are sources, columns destinations.

Allowed cells are blue with ✔, denied cells vermillion with ✘ (Okabe-Ito colours, and a symbol,
so colour is never the only cue). Each cell carries ``data-from``/``data-to`` for widgets.
"""

from __future__ import annotations

from html import escape
from typing import Any

from k8snetviz.questions.display import rich_view, text_view
from k8snetviz.questions.policy import PolicyMatrix
from k8snetviz.views.theme import themed

__all__ = ["grid_html", "enforcement_html"]

ALLOWED = "#0072B2"
DENIED = "#D55E00"


def grid_html(result: Any, caption: str | None = None) -> str:
    d = result.to_dict()
    pods: list[str] = d["pods"]
    allowed: dict[str, dict[str, bool]] = d["allowed"]
    n_ok = sum(v for row in allowed.values() for v in row.values())
    text = caption or (f"Reachability on {d['protocol']} port {d['port']}: {n_ok} of {len(pods) ** 2} "
                       "pairs allowed. Rows are the source pods, columns the destinations.")
    head = "".join(f'<th scope="col" style="writing-mode:vertical-rl;font-weight:normal">{escape(p)}</th>'
                   for p in pods)
    rows = []
    for src in pods:
        cells = []
        for dst in pods:
            ok = allowed[src][dst]
            colour, mark = (ALLOWED, "✔") if ok else (DENIED, "✘")
            cells.append(f'<td class="knv-cell" data-from="{escape(src)}" data-to="{escape(dst)}" '
                         f'title="{escape(src)} → {escape(dst)}: {"allowed" if ok else "denied"}" '
                         f'style="background:{colour};color:white;text-align:center;min-width:1.6em">{mark}</td>')
        rows.append(f'<tr><th scope="row" style="text-align:right;font-weight:normal">{escape(src)}</th>'
                    f'{"".join(cells)}</tr>')
    return (f'<table class="knv-matrix" style="border-collapse:collapse;font-size:0.85em">'
            f"<caption style=\"caption-side:bottom;text-align:left\">{escape(text)}</caption>"
            f"<tr><th>from ↓ / to →</th>{head}</tr>{''.join(rows)}</table>")


def enforcement_html(matrix: PolicyMatrix) -> str:
    """A warning when the cluster's CNI does not enforce NetworkPolicy ("" when it does)."""
    if matrix.enforced:
        return ""
    return (f'<p class="knv-not-enforced knv-verdict knv-bad">'
            f"<b>⚠ NetworkPolicy {escape(matrix.enforcement)}</b></p>")


@rich_view.register
def _(matrix: PolicyMatrix) -> dict[str, str]:
    return {"text/plain": text_view(matrix), "text/html": themed(enforcement_html(matrix) + grid_html(matrix.result))}
