"""What every command of the simulated terminal shares: where it runs, its input, and what it printed."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session

__all__ = ["Place", "Result", "Call", "CommandOutput", "NOT_AVAILABLE", "not_available", "Handler", "suggest",
           "short_options"]

NOT_AVAILABLE = "not available in this simulator:"


@dataclass
class Place:
    """Where the terminal is: the learner's workstation, a node (``ssh``), or a pod (``kubectl exec -it``)."""

    kind: str  # workstation | node | pod
    name: str = ""  # the node's name, or the pod's NS/NAME
    temporary: bool = False  # a `kubectl run --rm` pod, deleted when its shell exits
    image: str = ""

    @property
    def netns(self) -> str:
        return {"node": f"node/{self.name}", "pod": f"pod/{self.name}"}.get(self.kind, "")


@dataclass
class Result:
    """What a command printed on standard output and standard error, and its exit status."""

    out: str = ""
    err: str = ""
    status: int = 0
    late: str = ""  # standard error printed after the output (kubectl exec's "command terminated")

    @classmethod
    def ok(cls, out: str = "") -> Result:
        return cls(_nl(out))

    @classmethod
    def error(cls, err: str, status: int = 1, out: str = "") -> Result:
        return cls(_nl(out), _nl(err), status)


def _nl(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


@dataclass
class Call:
    """One command as it runs: its words, its standard input (a pipe, a file, a heredoc) and the session."""

    session: Session
    args: list[str]
    stdin: str | None = None
    line: str = ""  # the whole command line, for messages

    @property
    def place(self) -> Place:
        return self.session.place


Handler = Callable[[Call], Result]


def suggest(word: str, known: Iterable[str]) -> str | None:
    """The known word closest to ``word``, when it is close (a typo)."""
    found = difflib.get_close_matches(word, list(known), n=1, cutoff=0.75)
    return found[0] if found else None


def short_options(args: list[str], takes_value: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Split POSIX short options as getopt does: ``-zvw2`` and ``-zvw 2`` are -z, -v and -w with the value 2
    (the letters in ``takes_value`` take one). Returns the options (letter, value or "") and the other words
    (long options and operands) in order; ``--`` ends the options.

    >>> short_options(["-zvw", "2", "web", "80"], "w")
    ([('z', ''), ('v', ''), ('w', '2')], ['web', '80'])
    >>> short_options(["-qO-", "-T2", "--spider", "http://web"], "OT")
    ([('q', ''), ('O', '-'), ('T', '2')], ['--spider', 'http://web'])
    """
    opts: list[tuple[str, str]] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest += args[i + 1:]
            break
        if a.startswith("-") and not a.startswith("--") and len(a) > 1 and not a[1:].isdigit():
            j = 1
            while j < len(a):
                letter = a[j]
                if letter in takes_value:
                    value = a[j + 1:]
                    if not value and i + 1 < len(args):
                        i += 1
                        value = args[i]
                    opts.append((letter, value))
                    break
                opts.append((letter, ""))
                j += 1
        else:
            rest.append(a)
        i += 1
    return opts, rest


def not_available(text: str, hint: str | None = None) -> Result:
    """The one line for a command the simulator does not answer (exit status 127, as for an unknown command)."""
    return Result("", f"{NOT_AVAILABLE} {text}" + (f" ({hint})" if hint else "") + "\n", 127)


@dataclass
class CommandOutput:
    """A command and what it printed, shown as a terminal would show it."""

    prompt: str
    command: str
    output: str
    status: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"{self.prompt} {self.command}\n{self.output}".rstrip()

    def __repr__(self) -> str:
        return str(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        html = (f'<pre class="knv-terminal" style="background:var(--jp-layout-color2, #f6f8fa);'
                # a command's table keeps its columns: it scrolls sideways rather than wrap
                f'color:var(--jp-content-font-color1, inherit);padding:0.5em;white-space:pre;overflow-x:auto">'
                f"<b>{escape(self.prompt)} {escape(self.command)}</b>\n{escape(self.output)}</pre>")
        return {"text/plain": str(self), "text/html": html}
