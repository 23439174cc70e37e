"""Two sources' answers to the same commands, one above the other as text, in two columns as HTML."""

from __future__ import annotations

from html import escape

from k8snetviz.questions.display import rich_view, text_view
from k8snetviz.questions.results import SideBySide
from k8snetviz.views.theme import themed

__all__ = ["side_by_side_text", "side_by_side_html"]


def side_by_side_text(s: SideBySide) -> str:
    if not s.rows:
        return s.note
    out = [s.note] if s.note else []
    for cmd, real, sim in s.rows:
        out += [f"$ {cmd}", "--- kernel", real.rstrip(), "--- simulator", sim.rstrip(), ""]
    return "\n".join(out)


def side_by_side_html(s: SideBySide) -> str:
    if not s.rows:
        return f"<p><i>{escape(s.note)}</i></p>"
    cells = "".join(
        f"<tr><td colspan=2><code>$ {escape(c)}</code></td></tr>"
        f"<tr><td><pre>{escape(r)}</pre></td><td><pre>{escape(m)}</pre></td></tr>" for c, r, m in s.rows)
    return f"<p>{escape(s.note)}</p><table><tr><th>kernel</th><th>simulator</th></tr>{cells}</table>"


@text_view.register
def _(s: SideBySide) -> str:
    return side_by_side_text(s)


@rich_view.register
def _(s: SideBySide) -> dict[str, str]:
    return {"text/plain": side_by_side_text(s), "text/html": themed(side_by_side_html(s))}
