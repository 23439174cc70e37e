"""The notebook terminal: :class:`~k8snetviz.widgets.terminal.TerminalView` driven by a :class:`Session`.

A line that opens a heredoc (``cat <<EOF | kubectl apply -f -``) is kept until its closing line, with
``>`` as the prompt, as a shell does.

>>> from k8snetviz.course.shell.session import Session
>>> w = terminal_widget(Session("two-node-bridge"))
>>> w.submit("kubectl get nodes")
>>> w.transcript[-1]["output"].splitlines()[0].split()
['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']
"""

from __future__ import annotations

from typing import Any

from k8snetviz.course.shell.lexer import heredoc_delimiter
from k8snetviz.course.shell.session import Session
from k8snetviz.widgets.terminal import TerminalView

__all__ = ["terminal_widget"]


def terminal_widget(session: Session, *, height: str = "22em", title: str = "") -> TerminalView:
    pending: dict[str, Any] = {}

    def handle(line: str) -> tuple[str, str]:
        if pending:
            check = line.lstrip("\t") if pending["strip"] else line
            if check.strip() != pending["delim"]:
                pending["body"].append(check)
                return "", ">"
            first, body = pending["line"], "".join(b + "\n" for b in pending["body"])
            pending.clear()
            out = session.run(first, body)
            return out.output, session.prompt
        here = heredoc_delimiter(line)
        if here is not None:
            pending.update(line=line, delim=here[0], strip=here[1], body=[])
            return "", ">"
        out = session.run(line)
        return out.output, session.prompt

    c = session.cluster
    view = TerminalView(handle, prompt=session.prompt, height=height,
                        title=title or f"terminal on {c.config.name}: {len(c.nodes)} nodes, CNI {c.config.cni}")
    view.session = session  # type: ignore[attr-defined]
    return view
