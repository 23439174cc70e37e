"""Reading a command line as a POSIX shell does, for the few constructs an exam taker types.

Words with quotes and backslashes, ``$VAR``/``${VAR}`` and ``$(command)`` expansion, pipes, ``;``, ``&&``,
``||``, and the redirections ``>``, ``>>``, ``<``, ``2>``, ``2>&1``, ``&>`` and ``<<EOF`` heredocs.

>>> [c.words for c in parse_line("kubectl get pods -l 'app=web' | grep -v Running").pipelines[0][1].commands]
[['kubectl', 'get', 'pods', '-l', 'app=web'], ['grep', '-v', 'Running']]
>>> heredoc_delimiter("cat <<'EOF' | kubectl apply -f -")
('EOF', False)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Command", "Pipeline", "CommandList", "ShellSyntaxError", "parse_line", "heredoc_delimiter",
           "split_script"]

_OPERATORS = ("&&", "||", ">>", "<<-", "<<", "2>&1", "2>>", "2>", "&>", "|", ";", ">", "<", "&")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ShellSyntaxError(Exception):
    """What bash says about a line it cannot read (``syntax error near unexpected token `|'``)."""


@dataclass
class Command:
    """One simple command: its words after expansion, and where its input and output go."""

    words: list[str] = field(default_factory=list)
    patterns: set[int] = field(default_factory=set)  # indexes of words that are file-name patterns
    stdout: str | None = None  # a file to write to
    append: bool = False
    stdin_file: str | None = None
    heredoc: bool = False  # stdin is the heredoc body
    stderr: str | None = None  # "/dev/null", "stdout" (2>&1) or a file
    assignments: dict[str, str] = field(default_factory=dict)  # NAME=value before the command


@dataclass
class Pipeline:
    commands: list[Command] = field(default_factory=list)


@dataclass
class CommandList:
    """Pipelines joined by ``;``, ``&&`` and ``||``: ``(operator, pipeline)``, the first operator ``;``."""

    pipelines: list[tuple[str, Pipeline]] = field(default_factory=list)
    background: bool = False


@dataclass
class _Token:
    kind: str  # word | op
    text: str
    quoted: bool = False
    glob: bool = False  # an unquoted *, ? or [ : a pattern the shell expands against file names


Expander = Callable[[str], str]  # runs $(...) and returns its output


def _lex(line: str, env: dict[str, str] | None, substitute: Expander | None) -> list[_Token]:
    """Split ``line`` into words and operators; expand variables and ``$(...)`` unless ``env`` is None."""
    tokens: list[_Token] = []
    i, n = 0, len(line)
    word: list[str] = []
    in_word = quoted = pattern = False

    def flush() -> None:
        nonlocal word, in_word, quoted, pattern
        if in_word:
            tokens.append(_Token("word", "".join(word), quoted, pattern))
        word, in_word, quoted, pattern = [], False, False, False

    def dollar(j: int) -> tuple[str, int]:
        """Expand the ``$`` at ``line[j]``; return the text and the index after it."""
        if env is None:
            # Scanning only: keep the text as written.
            if line.startswith("$(", j):
                end = _matching_paren(line, j + 1)
                return line[j:end + 1], end + 1
            return "$", j + 1
        if line.startswith("$(", j):
            end = _matching_paren(line, j + 1)
            inner = line[j + 2:end]
            out = substitute(inner) if substitute else ""
            return out.rstrip("\n"), end + 1
        if line.startswith("${", j):
            end = line.find("}", j)
            if end < 0:
                raise ShellSyntaxError("bad substitution")
            name = line[j + 2:end]
            return env.get(name, ""), end + 1
        m = _NAME.match(line, j + 1)
        if m:
            return env.get(m.group(0), ""), m.end()
        if j + 1 < n and line[j + 1] == "?":
            return env.get("?", "0"), j + 2
        return "$", j + 1

    while i < n:
        c = line[i]
        if c in " \t":
            flush()
            i += 1
            continue
        if c == "#" and not in_word:
            break
        if c == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unexpected EOF while looking for matching `''")
            word.append(line[i + 1:end])
            in_word = quoted = True
            i = end + 1
            continue
        if c == '"':
            j = i + 1
            in_word = quoted = True
            while True:
                if j >= n:
                    raise ShellSyntaxError("unexpected EOF while looking for matching `\"'")
                d = line[j]
                if d == '"':
                    break
                if d == "\\" and j + 1 < n and line[j + 1] in '"\\$`':
                    word.append(line[j + 1])
                    j += 2
                elif d == "$":
                    text, j = dollar(j)
                    word.append(text)
                else:
                    word.append(d)
                    j += 1
            i = j + 1
            continue
        if c == "\\":
            if i + 1 < n:
                word.append(line[i + 1])
                in_word = True
            i += 2
            continue
        if c == "$":
            text, i = dollar(i)
            parts = text.split()
            if env is None or (len(parts) <= 1 and text == text.strip()):
                word.append(text)
                in_word = in_word or bool(text) or env is None
                continue
            # An unquoted expansion is split into words ($do = "--dry-run=client -o yaml").
            if text[:1].isspace():
                flush()
            for k, part in enumerate(parts):
                if k:
                    flush()
                word.append(part)
                in_word = True
            if text[-1:].isspace():
                flush()
            continue
        if line.startswith("<(", i):
            # Process substitution: a file name standing for the command's output (not run here).
            end = _matching_paren(line, i + 1)
            flush()
            tokens.append(_Token("word", "/dev/fd/63"))
            i = end + 1
            continue
        op = next((o for o in _OPERATORS if line.startswith(o, i)), None)
        if op is not None and op.startswith("2") and in_word:
            op = None  # "a2>b" is a word followed by ">"
        if op is not None:
            if op.startswith("2") and not (i == 0 or line[i - 1] in " \t"):
                op = None
        if op is not None:
            flush()
            tokens.append(_Token("op", op))
            i += len(op)
            continue
        word.append(c)
        in_word = True
        pattern = pattern or c in "*?["
        i += 1
    flush()
    return tokens


def _matching_paren(line: str, start: int) -> int:
    depth, j, quote = 0, start, ""
    while j < len(line):
        c = line[j]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise ShellSyntaxError("unexpected EOF while looking for matching `)'")


def heredoc_delimiter(line: str) -> tuple[str, bool] | None:
    """The delimiter of the heredoc that ``line`` opens (and whether ``<<-`` strips tabs), or None."""
    try:
        tokens = _lex(line, None, None)
    except ShellSyntaxError:
        return None
    for k, t in enumerate(tokens):
        if t.kind == "op" and t.text in ("<<", "<<-") and k + 1 < len(tokens) and tokens[k + 1].kind == "word":
            return tokens[k + 1].text, t.text == "<<-"
    return None


def split_script(text: str) -> list[tuple[str, str | None]]:
    """Cut a script into commands: each line, with the body of the heredoc it opens (None without one).

    >>> split_script("cat <<EOF > a.yaml\\nkind: Pod\\nEOF\\nls")
    [('cat <<EOF > a.yaml', 'kind: Pod\\n'), ('ls', None)]
    """
    lines = text.splitlines()
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        # A trailing backslash continues the command on the next line.
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + lines[i]
            i += 1
        if not line.strip():
            continue
        here = heredoc_delimiter(line)
        if here is None:
            out.append((line, None))
            continue
        delim, strip_tabs = here
        body: list[str] = []
        while i < len(lines):
            raw = lines[i]
            i += 1
            check = raw.lstrip("\t") if strip_tabs else raw
            if check.strip() == delim:
                break
            body.append(check)
        out.append((line, "".join(b + "\n" for b in body)))
    return out


def parse_line(line: str, env: dict[str, str] | None = None, substitute: Expander | None = None) -> CommandList:
    """Parse one command line (its heredoc body is passed separately to the runner)."""
    tokens = _lex(line, env if env is not None else {}, substitute)
    result = CommandList()
    pipeline = Pipeline()
    cmd = Command()
    joiner = ";"
    k = 0

    def end_command() -> None:
        nonlocal cmd
        if not cmd.words and not cmd.assignments:
            raise ShellSyntaxError(f"syntax error near unexpected token `{tokens[k].text}'")
        pipeline.commands.append(cmd)
        cmd = Command()

    while k < len(tokens):
        t = tokens[k]
        if t.kind == "word":
            if not cmd.words and not t.quoted and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", t.text):
                name, _, value = t.text.partition("=")
                cmd.assignments[name] = value
            else:
                if t.glob:
                    cmd.patterns.add(len(cmd.words))
                cmd.words.append(t.text)
            k += 1
            continue
        op = t.text
        if op in (">", ">>", "<", "<<", "<<-", "2>", "2>>", "&>"):
            if k + 1 >= len(tokens) or tokens[k + 1].kind != "word":
                raise ShellSyntaxError("syntax error near unexpected token `newline'")
            target = tokens[k + 1].text
            if op in (">", ">>"):
                cmd.stdout, cmd.append = target, op == ">>"
            elif op == "&>":
                cmd.stdout, cmd.stderr = target, "stdout"
            elif op == "<":
                cmd.stdin_file = target
            elif op in ("<<", "<<-"):
                cmd.heredoc = True
            else:
                cmd.stderr = target
            k += 2
            continue
        if op == "2>&1":
            cmd.stderr = "stdout"
            k += 1
            continue
        if op == "|":
            end_command()
            k += 1
            continue
        if op in (";", "&&", "||", "&"):
            if cmd.words or cmd.assignments:
                end_command()
            if pipeline.commands:
                result.pipelines.append((joiner, pipeline))
            elif op != ";" or k + 1 < len(tokens):
                raise ShellSyntaxError(f"syntax error near unexpected token `{op}'")
            pipeline = Pipeline()
            joiner = op if op != "&" else ";"
            if op == "&":
                result.background = True
            k += 1
            continue
        raise ShellSyntaxError(f"syntax error near unexpected token `{op}'")  # pragma: no cover
    if cmd.words or cmd.assignments:
        pipeline.commands.append(cmd)
    elif pipeline.commands:
        raise ShellSyntaxError("syntax error: unexpected end of file")
    if pipeline.commands:
        result.pipelines.append((joiner, pipeline))
    return result
