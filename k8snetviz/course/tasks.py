"""CKA-style tasks: the learner writes an answer in a cell, a checker from the package says what is right.

An answer is text: a route as ``ip route`` prints it, an address, or YAML applied on top of the task's
scenario (``k8snetviz.load(scenario, answer)``). The checker returns a :class:`CheckResult` that shows
"✔ correct: …" or, in words, what is still wrong. Input the package cannot read (YAML that does not
parse, an object the API server would refuse) becomes a failed result with the package's message,
never a traceback. The solution stays hidden until asked for.

>>> def checker(answer: str) -> CheckResult:
...     return CheckResult.ok("172.18.0.3 is node-b's InternalIP") if answer == "172.18.0.3" else \\
...         CheckResult.fail("that is not node-b's InternalIP")
>>> t = Task("InternalIP", "Find node-b's InternalIP.", checker, Solution("172.18.0.3", "See INTERNAL-IP."))
>>> t.check("172.18.0.2").passed, t.check("172.18.0.2").messages
(False, ["that is not node-b's InternalIP"])
>>> print(t.check(" 172.18.0.3 "))
✔ correct: 172.18.0.3 is node-b's InternalIP
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from k8snetviz.course.quiz import WidgetItem, inline_html, show_in_place
from k8snetviz.errors import K8sNetVizError, UsageError
from k8snetviz.views.presentation import MODE
from k8snetviz.views.theme import themed

__all__ = ["Task", "CheckResult", "Solution", "parse_route", "RouteAnswer", "unfinished", "resulting_cluster",
           "is_commands", "Outcome"]

CSS_TASK = "knv-task"
CSS_SOLUTION_BUTTON = "knv-task-solution-button"
CSS_SOLUTION = "knv-task-solution"
CSS_RESULT = "knv-task-result"

# The placeholder the notebooks' answer cells start with.
PLACEHOLDER = "..."


@dataclass
class CheckResult:
    """A checker's verdict: ``passed``, and ``messages`` saying what is right or still wrong, in words.

    ``proof`` is shown under the verdict in a notebook: the walk after the fix, for instance.
    """

    passed: bool
    messages: list[str] = field(default_factory=list)
    proof: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def ok(cls, message: str, proof: Any = None) -> CheckResult:
        return cls(True, [message], proof)

    @classmethod
    def fail(cls, *messages: str, proof: Any = None) -> CheckResult:
        return cls(False, list(messages), proof)

    def text(self) -> str:
        if self.passed:
            return "✔ correct: " + " ".join(self.messages)
        if len(self.messages) == 1:
            return "✘ not yet: " + self.messages[0]
        return "✘ not yet:\n" + "\n".join(f"  - {m}" for m in self.messages)

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        if self.passed:
            body = (f'<p class="knv-verdict knv-ok">✔ <b>correct:</b> {inline_html(" ".join(self.messages))}'
                    "</p>")
        else:
            items = "".join(f"<li>{inline_html(m)}</li>" for m in self.messages)
            body = f'<div class="knv-verdict knv-bad"><p>✘ <b>not yet:</b></p><ul>{items}</ul></div>'
        html = themed(f'<div class="{CSS_RESULT}">{body}</div>')
        if self.proof is not None and hasattr(self.proof, "_repr_mimebundle_"):
            html += self.proof._repr_mimebundle_().get("text/html", "")
        elif self.proof is not None:
            html += themed(f"<pre>{escape(str(self.proof))}</pre>")
        text = self.text() + (f"\n\n{self.proof}" if self.proof is not None else "")
        return {"text/plain": text, "text/html": html}


@dataclass
class Solution:
    """A task's solution: the answer to write, and why it is right."""

    answer: str
    explanation: str = ""
    language: str = "yaml"

    def text(self) -> str:
        return self.answer.strip("\n") + ("\n\n" + self.explanation if self.explanation else "")

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        html = themed(f'<div class="{CSS_SOLUTION}"><p><b>Solution</b></p>'
                      f'<pre class="language-{self.language}">{escape(self.answer.strip(chr(10)))}</pre>'
                      + (f"<p>{inline_html(self.explanation)}</p>" if self.explanation else "") + "</div>")
        return {"text/plain": self.text(), "text/html": html}


def unfinished(answer: Any) -> str | None:
    """Why ``answer`` is not an answer yet (empty, not text, still the placeholder), or None."""
    if answer is None:
        return "there is no answer yet: write it in the cell above, as a Python string, and run the check again"
    if _is_session(answer):
        return None
    if not isinstance(answer, str):
        return f"write the answer as text (a Python string), not a {type(answer).__name__}"
    if not answer.strip():
        return "the answer is empty: write it between the quotes in the cell above"
    if PLACEHOLDER in answer:
        return f"the answer still contains the placeholder {PLACEHOLDER}: replace it with your answer"
    return None


class Task(WidgetItem):
    """A CKA-style task: a prompt, a checker that reads the learner's answer, and a hidden solution.

    ``checker(answer)`` returns a :class:`CheckResult`. ``task.check(answer)`` calls it, turning an
    unfinished answer or input the package cannot read into a failed result that says so.
    """

    def __init__(self, title: str, prompt: str, checker: Callable[[str], CheckResult], solution: Solution,
                 *, hints: Sequence[str] = (), start: Any = None) -> None:
        self.title = title
        self.prompt = prompt
        self.checker = checker
        self._solution = solution
        self.hints = list(hints)
        # The cluster the task starts from, for its terminal: a scenario name, a Scenario, or a function that
        # returns either (or a terminal Session, with files in it); None for tasks answered without a cluster.
        self.start = start

    def session(self) -> Any:
        """A new terminal session (:class:`~k8snetviz.course.shell.Session`) on the task's starting cluster."""
        from k8snetviz.course.shell.session import Session

        if self.start is None:
            raise UsageError(f"the task {self.title!r} needs no terminal: answer it in the answer cell")
        start = self.start() if callable(self.start) else self.start
        return start if _is_session(start) else Session(start)

    def terminal(self, *, height: str = "22em") -> Any:
        """The notebook terminal on the task's starting cluster; ``task.check(term)`` grades what you did in it."""
        from k8snetviz.course.shell.widget import terminal_widget

        return terminal_widget(self.session(), height=height, title=f"terminal: {self.title}")

    def check(self, answer: Any) -> CheckResult:
        """Check ``answer`` (text, a terminal session, or the notebook terminal); never raises for bad input."""
        if _is_session(getattr(answer, "session", None)):
            answer = answer.session
        why = unfinished(answer)
        if why:
            return CheckResult.fail(why)
        try:
            if _is_session(answer):
                return self.checker(answer)
            # Indenting YAML inside a triple-quoted string is natural; the checker sees it flush left.
            return self.checker(textwrap.dedent(answer).strip())
        except K8sNetVizError as err:
            return CheckResult.fail(str(err))

    def solution(self) -> Solution:
        """The solution, revealed because it was asked for."""
        return self._solution

    # --- notebook display -------------------------------------------------------------------------
    def text(self) -> str:
        hints = "".join(f"\nHint: {h}" for h in self.hints)
        text = (f"Task: {self.title}\n{self.prompt}{hints}\n"
                "Check with .check(answer); see the solution with .solution().")
        if MODE.solutions:  # presentation mode (k8snetviz.present()) shows it at once
            text += "\n\nSolution:\n" + self._solution.text()
        return text

    def __repr__(self) -> str:
        return self.text()

    def widget(self) -> Any:
        """The prompt, and a *Show solution* button that reveals the solution in place."""
        import ipywidgets as w

        hints = "".join(f"<p><i>Hint:</i> {inline_html(h)}</p>" for h in self.hints)
        head = w.HTML(f"<p><b>Task: {inline_html(self.title)}</b></p><p>{inline_html(self.prompt)}</p>{hints}")
        button = w.Button(description="Show solution", icon="eye")
        button.add_class(CSS_SOLUTION_BUTTON)
        out = w.Output()

        def toggle(_: Any) -> None:
            out.clear_output()
            if button.description == "Show solution":
                with out:
                    show_in_place(self.solution)
                button.description = "Hide solution"
            else:
                button.description = "Show solution"

        button.on_click(toggle)
        if MODE.solutions:  # presentation mode (k8snetviz.present()): the solution is open from the start
            toggle(None)
        box = w.VBox([head, button, out])
        box.add_class(CSS_TASK)
        return box


# --- reading answers --------------------------------------------------------------------------------

_ROUTE_KEYWORDS = {"via", "dev", "proto", "scope", "src", "metric", "table"}


@dataclass(frozen=True)
class RouteAnswer:
    """A route as the learner wrote it: the parts that identify a row (destination, gateway, device)."""

    dst: IPv4Network
    via: IPv4Address | None
    dev: str | None

    def __str__(self) -> str:
        head = "default" if self.dst.prefixlen == 0 else (
            str(self.dst.network_address) if self.dst.prefixlen == 32 else str(self.dst))
        return head + (f" via {self.via}" if self.via else "") + (f" dev {self.dev}" if self.dev else "")


def parse_route(text: str) -> RouteAnswer:
    """Read one route in ``ip route`` syntax; ``ip route add`` and a ``$`` prompt in front are allowed.

    Unreadable words get iproute2's own complaints:

    >>> str(parse_route("$ ip route add 10.244.1.0/24 via 172.18.0.2 dev eth0"))
    '10.244.1.0/24 via 172.18.0.2 dev eth0'
    >>> parse_route("10.244.1.0/24 vai 172.18.0.2")
    Traceback (most recent call last):
    ...
    k8snetviz.errors.UsageError: Error: either "to" is duplicate, or "vai" is a garbage.
    """
    words = re.sub(r"^\s*[$#]\s*", "", text.strip()).split()
    if words[:2] == ["ip", "route"] or words[:2] == ["ip", "r"]:
        words = words[2:]
        if words and words[0] in ("add", "replace", "append", "change", "del", "delete", "get", "show"):
            words = words[1:]
    if not words:
        raise UsageError("the answer names no route: write it as ip route prints it, e.g. "
                         "10.244.1.0/24 via 172.18.0.2 dev eth0")
    dst_text = words[0]
    try:
        dst = IPv4Network("0.0.0.0/0" if dst_text == "default" else dst_text, strict=True)
    except ValueError:
        raise UsageError(f'Error: inet prefix is expected rather than "{dst_text}".') from None
    opts: dict[str, str] = {}
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("onlink", "linkdown"):
            i += 1
            continue
        if word not in _ROUTE_KEYWORDS:
            raise UsageError(f'Error: either "to" is duplicate, or "{word}" is a garbage.')
        if i + 1 >= len(words):
            raise UsageError("Command line is not complete. Try option \"help\"")
        if word in opts:
            raise UsageError(f'Error: duplicate "{word}": "{words[i + 1]}" is the second value.')
        opts[word] = words[i + 1]
        i += 2
    via = None
    if "via" in opts:
        try:
            via = IPv4Address(opts["via"])
        except ValueError:
            raise UsageError(f'Error: inet address is expected rather than "{opts["via"]}".') from None
    return RouteAnswer(dst, via, opts.get("dev"))


# --- the cluster an answer leaves ------------------------------------------------------------------------

def _is_session(answer: Any) -> bool:
    return hasattr(answer, "feed") and hasattr(answer, "cluster") and hasattr(answer, "state")


_COMMAND_WORDS = frozenset({"kubectl", "k", "ip", "sysctl", "iptables", "ssh", "cat", "echo", "export", "alias",
                            "exit", "crictl", "bridge", "sed", "cp", "tee", "kubeadm"})


def is_commands(text: str) -> bool:
    """Whether an answer is commands typed at a terminal (rather than YAML): its first line starts with one."""
    for line in text.splitlines():
        line = re.sub(r"^\s*[$#]\s+", "", line) if re.match(r"^\s*[$#]\s+\w", line) else line
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word = line.split()[0]
        return word in _COMMAND_WORDS or word.startswith("root@")
    return False


@dataclass
class Outcome:
    """The cluster an answer leaves, how it was given (yaml, commands, terminal), and what went wrong on the way."""

    cluster: Any
    form: str
    errors: list[str] = field(default_factory=list)

    def note(self) -> str:
        """What the commands printed that went wrong, as a hint after a failed check."""
        return "; ".join(self.errors[:2])


def resulting_cluster(base: Any, answer: Any) -> Outcome:
    """The cluster ``answer`` leaves on top of ``base`` (a scenario name or a :class:`Scenario`), graded the way an
    exam's grader looks at the cluster, whatever the form of the answer:

    - a terminal :class:`~k8snetviz.course.shell.Session` the learner used (or the notebook terminal that drives
      one): the cluster as it is now;
    - commands (``kubectl expose …``, ``ip route add …``, heredocs included): run in a new terminal on ``base``;
    - YAML: applied on top of ``base``, as ``kubectl apply`` would (:func:`k8snetviz.load`).
    """
    import k8snetviz
    from k8snetviz.course.shell.session import Session

    if _is_session(getattr(answer, "session", None)):  # the notebook terminal: its session
        answer = answer.session
    if _is_session(answer):
        return Outcome(answer.cluster, "terminal")
    if is_commands(answer):
        session = Session(base)
        errors = []
        lines = [re.sub(r"^\s*\$\s+", "", ln) for ln in answer.splitlines()]
        for out in session.feed("\n".join(lines) + "\n"):
            if out.status != 0 and out.output:
                errors.append(f"`{out.command}` printed: {out.output.splitlines()[0]}")
        return Outcome(session.cluster, "commands", errors)
    return Outcome(k8snetviz.load(base, answer), "yaml")
