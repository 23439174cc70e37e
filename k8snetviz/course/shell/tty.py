"""``k8snetviz shell SCENARIO``: the session on a terminal, or fed a script on standard input.

On a terminal it prompts as the real shell would (``candidate@terminal:~$``, ``root@kind-worker:~#`` after
``ssh``), continues a ``<<EOF`` heredoc with ``>`` and keeps a readline history. Otherwise it reads one
command a line, echoes each command's first line as ``$ COMMAND``, prints what it printed, and exits 0.
"""

from __future__ import annotations

import os
from typing import TextIO

from k8snetviz.course.shell.lexer import heredoc_delimiter, split_script
from k8snetviz.course.shell.session import Session

__all__ = ["run_shell", "run_script"]

BANNER = ("k8snetviz shell: a terminal on the simulated cluster {name} ({nodes} nodes, CNI {cni}).\n"
          "Type kubectl commands, ssh NODE for a node's tools, kubectl exec -it POD -- sh for a pod; exit leaves.\n")


def run_script(session: Session, text: str, out: TextIO) -> None:
    """Run every command of ``text``, echoing each as ``$ COMMAND`` followed by its output."""
    for line, body in split_script(text):
        result = session.run(line, body)
        out.write(f"$ {line}\n")
        if result.output:
            out.write(result.output + "\n")
        out.flush()


def run_shell(scenario: str | os.PathLike[str], stdin: TextIO, out: TextIO) -> int:
    session = Session(scenario)
    if not stdin.isatty():
        run_script(session, stdin.read(), out)
        return 0
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # pragma: no cover - readline is part of CPython on Linux
        pass
    c = session.cluster
    out.write(BANNER.format(name=c.config.name, nodes=len(c.nodes), cni=c.config.cni))
    while True:
        try:
            line = input(session.prompt + " ")
        except EOFError:
            out.write("logout\n")
            return 0
        except KeyboardInterrupt:
            out.write("^C\n")
            continue
        body = None
        here = heredoc_delimiter(line)
        if here is not None:
            delim, strip = here
            lines: list[str] = []
            try:
                while True:
                    more = input("> ")
                    if (more.lstrip("\t") if strip else more).strip() == delim:
                        break
                    lines.append(more.lstrip("\t") if strip else more)
            except (EOFError, KeyboardInterrupt):
                out.write("\n")
                continue
            body = "".join(ln + "\n" for ln in lines)
        if line.strip() in ("exit", "logout") and len(session.places) == 1:
            out.write("logout\n")
            return 0
        result = session.run(line, body)
        if result.output:
            out.write(result.output + "\n")
