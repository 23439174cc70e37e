"""The text tools an exam taker pipes output through: ``grep``, ``head``, ``tail``, ``wc``, ``sort``, ``uniq``,
``cut``, ``awk '{print $N}'``, ``column -t``, ``tr``, ``base64``, ``sed s///``.

Each takes its arguments and standard input and returns ``(stdout, stderr, status)``, with GNU coreutils'
messages for bad usage.

>>> grep(["-i", "running"], "NAME STATUS\\nweb Running\\ndb Pending\\n")
('web Running\\n', '', 0)
>>> wc(["-l"], "a\\nb\\n")
('2\\n', '', 0)
"""

from __future__ import annotations

import base64 as _b64
import re
from collections.abc import Callable

__all__ = ["FILTERS", "Result", "grep", "head", "tail", "wc", "sort", "uniq", "cut", "awk", "column", "tr",
           "base64", "sed_expression", "apply_sed"]

Result = tuple[str, str, int]


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _count_arg(args: list[str], tool: str) -> tuple[int | None, bool, list[str]]:
    """``-n N``, ``-nN``, ``-N``, ``--lines=N`` and ``-n +N`` (tail: from line N): (count, from_start, rest)."""
    count: int | None = None
    plus = False
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        value = None
        if a in ("-n", "--lines") and i + 1 < len(args):
            value, i = args[i + 1], i + 2
        elif a.startswith("--lines="):
            value, i = a.split("=", 1)[1], i + 1
        elif a.startswith("-n") and len(a) > 2:
            value, i = a[2:], i + 1
        elif re.fullmatch(r"-\d+", a):
            value, i = a[1:], i + 1
        else:
            rest.append(a)
            i += 1
            continue
        if value.startswith("+"):
            plus, value = True, value[1:]
        if not value.lstrip("-").isdigit():
            raise ValueError(f"{tool}: invalid number of lines: ‘{value}’")
        count = int(value)
    return count, plus, rest


def head(args: list[str], stdin: str) -> Result:
    try:
        n, _, _ = _count_arg(args, "head")
    except ValueError as e:
        return "", str(e) + "\n", 1
    n = 10 if n is None else n
    lines = _lines(stdin)
    return _join(lines[:n] if n >= 0 else lines[:n]), "", 0


def tail(args: list[str], stdin: str) -> Result:
    try:
        n, plus, _ = _count_arg(args, "tail")
    except ValueError as e:
        return "", str(e) + "\n", 1
    lines = _lines(stdin)
    if plus:
        return _join(lines[max((n or 1) - 1, 0):]), "", 0
    n = 10 if n is None else n
    return _join(lines[-n:] if n else []), "", 0


def wc(args: list[str], stdin: str) -> Result:
    flags = "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))
    flags += "".join({"--lines": "l", "--words": "w", "--bytes": "c", "--chars": "m"}.get(a, "") for a in args)
    counts = {"l": stdin.count("\n"), "w": len(stdin.split()), "c": len(stdin.encode()), "m": len(stdin)}
    chosen = [k for k in "lwcm" if k in flags] or ["l", "w", "c"]
    if len(chosen) == 1:
        return f"{counts[chosen[0]]}\n", "", 0
    width = max(len(str(counts[k])) for k in chosen)
    width = max(width, 7) if len(chosen) > 1 else width
    return " ".join(str(counts[k]).rjust(width) for k in chosen) + "\n", "", 0


def grep(args: list[str], stdin: str, extended: bool = False) -> Result:
    """``grep [-i] [-v] [-E] [-F] [-w] [-x] [-c] [-n] [-o] [-q] [-A N] [-B N] [-C N] [-e PATTERN] PATTERN``."""
    flags: set[str] = set()
    patterns: list[str] = []
    after = before = 0
    rest: list[str] = []
    i = 0
    long = {"--ignore-case": "i", "--invert-match": "v", "--extended-regexp": "E", "--fixed-strings": "F",
            "--word-regexp": "w", "--line-regexp": "x", "--count": "c", "--line-number": "n",
            "--only-matching": "o", "--quiet": "q", "--silent": "q", "--color=never": "", "--color=auto": "",
            "--color": "", "--colour": "", "--color=always": ""}
    while i < len(args):
        a = args[i]
        if a in long:
            flags.add(long[a])
        elif a in ("-e", "--regexp") and i + 1 < len(args):
            patterns.append(args[i + 1])
            i += 1
        elif a in ("-A", "-B", "-C") and i + 1 < len(args):
            n = int(args[i + 1]) if args[i + 1].isdigit() else 0
            if a in ("-A", "-C"):
                after = n
            if a in ("-B", "-C"):
                before = n
            i += 1
        elif re.fullmatch(r"-[ABC]\d+", a):
            n = int(a[2:])
            if a[1] in "AC":
                after = n
            if a[1] in "BC":
                before = n
        elif a.startswith("-") and len(a) > 1 and not patterns and not rest:
            flags.update(a[1:])
        elif a == "--":
            rest += args[i + 1:]
            break
        else:
            rest.append(a)
        i += 1
    if not patterns:
        if not rest:
            return "", "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n", 2
        patterns = [rest.pop(0)]
    extended = extended or "E" in flags
    compiled = []
    for p in patterns:
        if "F" in flags:
            text = re.escape(p)
        elif extended:
            text = p
        else:
            # Basic regular expressions: \| \+ \? \( \) are the operators, the bare characters are literal.
            text = re.sub(r"\\([|+?(){}])|([|+?(){}])",
                          lambda m: m.group(1) if m.group(1) else "\\" + m.group(2), p)
        if "w" in flags:
            text = rf"(?<![\w])(?:{text})(?![\w])"
        if "x" in flags:
            text = rf"^(?:{text})$"
        try:
            compiled.append(re.compile(text, re.IGNORECASE if "i" in flags else 0))
        except re.error:
            return "", "grep: Unmatched ( or \\(\n" if "(" in p else "grep: Invalid regular expression\n", 2
    lines = _lines(stdin)
    hits = [i for i, line in enumerate(lines) if any(c.search(line) for c in compiled) != ("v" in flags)]
    status = 0 if hits else 1
    if "q" in flags:
        return "", "", status
    if "c" in flags:
        return f"{len(hits)}\n", "", status
    if "o" in flags and "v" not in flags:
        out = [m.group(0) for i in hits for c in compiled for m in c.finditer(lines[i])]
        return _join(out), "", status
    show: list[int] = []
    if after or before:
        chosen: set[int] = set()
        for i in hits:
            chosen.update(range(max(0, i - before), min(len(lines), i + after + 1)))
        show = sorted(chosen)
    else:
        show = hits
    out = []
    prev = None
    for i in show:
        if prev is not None and i != prev + 1 and (after or before):
            out.append("--")
        out.append(f"{i + 1}:{lines[i]}" if "n" in flags else lines[i])
        prev = i
    return _join(out), "", status


def sort(args: list[str], stdin: str) -> Result:
    flags = "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("-k") and a != "-t")
    key: int | None = None
    sep: str | None = None
    for i, a in enumerate(args):
        if a.startswith("-k"):
            spec = a[2:] or (args[i + 1] if i + 1 < len(args) else "1")
            key = int(re.match(r"\d+", spec).group(0)) if re.match(r"\d+", spec) else 1  # type: ignore[union-attr]
        if a == "-t" and i + 1 < len(args):
            sep = args[i + 1]
    lines = _lines(stdin)

    def k(line: str) -> tuple[float, str]:
        field = line
        if key is not None:
            parts = line.split(sep) if sep else line.split()
            field = parts[key - 1] if len(parts) >= key else ""
        if "n" in flags:
            m = re.match(r"\s*-?\d+(\.\d+)?", field)
            return (float(m.group(0)) if m else 0.0, "")
        return (0.0, field)
    out = sorted(lines, key=k, reverse="r" in flags)
    if "u" in flags:
        seen: list[str] = []
        for line in out:
            if not seen or seen[-1] != line:
                seen.append(line)
        out = seen
    return _join(out), "", 0


def uniq(args: list[str], stdin: str) -> Result:
    out: list[tuple[str, int]] = []
    for line in _lines(stdin):
        if out and out[-1][0] == line:
            out[-1] = (line, out[-1][1] + 1)
        else:
            out.append((line, 1))
    if "-c" in args:
        return _join([f"{n:7d} {line}" for line, n in out]), "", 0
    if "-d" in args:
        return _join([line for line, n in out if n > 1]), "", 0
    return _join([line for line, _ in out]), "", 0


def cut(args: list[str], stdin: str) -> Result:
    delim = "\t"
    fields: str | None = None
    chars: str | None = None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-d" and i + 1 < len(args):
            delim, i = args[i + 1], i + 2
            continue
        if a.startswith("-d"):
            delim = a[2:]
        elif a == "-f" and i + 1 < len(args):
            fields, i = args[i + 1], i + 2
            continue
        elif a.startswith("-f"):
            fields = a[2:]
        elif a == "-c" and i + 1 < len(args):
            chars, i = args[i + 1], i + 2
            continue
        elif a.startswith("-c"):
            chars = a[2:]
        i += 1
    spec = fields or chars
    if spec is None:
        return "", "cut: you must specify a list of bytes, characters, or fields\n", 1
    wanted: list[tuple[int, int]] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        a_, b_ = int(lo or 1), (int(hi) if hi else (10 ** 6 if "-" in part else int(lo or 1)))
        wanted.append((a_, b_))

    def pick(items: list[str]) -> list[str]:
        return [x for n, x in enumerate(items, 1) if any(lo <= n <= hi for lo, hi in wanted)]
    out = []
    for line in _lines(stdin):
        if chars is not None:
            out.append("".join(pick(list(line))))
        elif delim not in line:
            out.append(line)
        else:
            out.append(delim.join(pick(line.split(delim))))
    return _join(out), "", 0


def awk(args: list[str], stdin: str) -> Result:
    """``awk [-F SEP] '[NR>N] {print $N[, $M]}'``: the field-printing programs people pipe into."""
    sep: str | None = None
    program = None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-F" and i + 1 < len(args):
            sep, i = args[i + 1], i + 2
            continue
        if a.startswith("-F"):
            sep = a[2:]
        elif program is None:
            program = a
        i += 1
    if program is None:
        return "", "usage: awk [-F fs][-v var=value][prog | -f progfile][file ...]\n", 2
    m = re.fullmatch(r"\s*(?:(NR\s*(?:>|>=|==|!=|<|<=)\s*\d+|/[^/]*/|\$\d+\s*[!=~]=?\s*\"[^\"]*\")\s*)?"
                     r"\{\s*print\s*([^}]*)\}\s*", program)
    if not m:
        return "", f"awk: the simulator's awk prints fields only ('{{print $1}}'), not: {program}\n", 2
    cond, what = m.group(1), m.group(2).strip()
    out = []
    for nr, line in enumerate(_lines(stdin), 1):
        fields = line.split(sep) if sep else line.split()
        if cond:
            if cond.startswith("NR"):
                op, num = re.match(r"NR\s*(>=|<=|==|!=|>|<)\s*(\d+)", cond).groups()  # type: ignore[union-attr]
                if not eval(f"{nr} {op} {int(num)}"):  # noqa: S307 - digits and a comparison only
                    continue
            elif cond.startswith("/"):
                if not re.search(cond[1:-1], line):
                    continue
            else:
                fm = re.match(r"\$(\d+)\s*(==|!=|~)\s*\"([^\"]*)\"", cond)
                if fm:
                    idx, op, val = int(fm.group(1)), fm.group(2), fm.group(3)
                    got = line if idx == 0 else (fields[idx - 1] if idx <= len(fields) else "")
                    ok = got == val if op == "==" else got != val if op == "!=" else bool(re.search(val, got))
                    if not ok:
                        continue
        if not what:
            out.append(line)
            continue
        parts = []
        for item in re.split(r"\s*,\s*|\s+", what):
            if item == "$0":
                parts.append(line)
            elif item == "NF":
                parts.append(str(len(fields)))
            elif item == "$NF":
                parts.append(fields[-1] if fields else "")
            elif re.fullmatch(r"\$\d+", item):
                k = int(item[1:])
                parts.append(fields[k - 1] if k <= len(fields) else "")
            elif item.startswith('"') and item.endswith('"'):
                parts.append(item[1:-1])
        out.append(" ".join(parts))
    return _join(out), "", 0


def column(args: list[str], stdin: str) -> Result:
    rows = [line.split() for line in _lines(stdin)]
    if "-t" not in args or not rows:
        return stdin, "", 0
    widths: dict[int, int] = {}
    for r in rows:
        for j, cell in enumerate(r):
            widths[j] = max(widths.get(j, 0), len(cell))
    out = ["  ".join(c.ljust(widths[j]) if j < len(r) - 1 else c for j, c in enumerate(r)) for r in rows]
    return _join(out), "", 0


def tr(args: list[str], stdin: str) -> Result:
    words = [a for a in args if not a.startswith("-")]
    if "-d" in args and words:
        return "".join(c for c in stdin if c not in _tr_set(words[0])), "", 0
    if len(words) < 2:
        return "", "tr: missing operand\nTry 'tr --help' for more information.\n", 1
    src, dst = _tr_set(words[0]), _tr_set(words[1])
    dst = dst + dst[-1:] * (len(src) - len(dst)) if dst else dst
    table = str.maketrans(src, dst[:len(src)])
    return stdin.translate(table), "", 0


def _tr_set(spec: str) -> str:
    spec = spec.replace("\\n", "\n").replace("\\t", "\t")
    classes = {"[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "[:lower:]": "abcdefghijklmnopqrstuvwxyz",
               "[:space:]": " \t\n", "[:digit:]": "0123456789"}
    for k, v in classes.items():
        spec = spec.replace(k, v)
    out = ""
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out += "".join(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out += spec[i]
            i += 1
    return out


def base64(args: list[str], stdin: str) -> Result:
    if "-d" in args or "--decode" in args:
        try:
            return _b64.b64decode("".join(stdin.split())).decode(errors="replace"), "", 0
        except ValueError:
            return "", "base64: invalid input\n", 1
    data = _b64.b64encode(stdin.encode()).decode()
    if "-w0" in args or "-w" in args and "0" in args:
        return data, "", 0
    return _join([data[i:i + 76] for i in range(0, len(data), 76)] or [""]), "", 0


def sed_expression(expr: str) -> Callable[[str], str]:
    """A ``sed`` script of ``s/OLD/NEW/[g]`` commands (``;``-separated), or ``/RE/d``."""
    funcs: list[Callable[[str], str]] = []
    for part in [p for p in re.split(r";(?=\s*(?:s.|/))", expr) if p.strip()]:
        part = part.strip()
        if part.startswith("s") and len(part) > 1:
            d = part[1]
            pieces = re.split(r"(?<!\\)" + re.escape(d), part[2:])
            if len(pieces) < 2:
                raise ValueError(f"sed: -e expression #1, char {len(part)}: unterminated `s' command")
            old, new, flags = pieces[0], pieces[1], pieces[2] if len(pieces) > 2 else ""
            pattern = re.compile(_bre(old), re.IGNORECASE if "I" in flags or "i" in flags else 0)
            repl = re.sub(r"\\(\d)", r"\\\1", new).replace("&", r"\g<0>")
            count = 0 if "g" in flags else 1

            def sub(line: str, p: re.Pattern[str] = pattern, r: str = repl, c: int = count) -> str:
                return p.sub(r, line, count=c)
            funcs.append(sub)
        elif part.startswith("/") and part.endswith("/d"):
            rx = re.compile(_bre(part[1:-2]))

            def drop(line: str, rx: re.Pattern[str] = rx) -> str:
                return "\0" if rx.search(line) else line
            funcs.append(drop)
        else:
            raise ValueError(f"sed: the simulator's sed knows s/OLD/NEW/[g] and /RE/d, not: {part}")

    def run(line: str) -> str:
        for f in funcs:
            line = f(line)
        return line
    return run


def _bre(text: str) -> str:
    return re.sub(r"\\([|+?(){}])|([|+?(){}])", lambda m: m.group(1) if m.group(1) else "\\" + m.group(2), text)


def apply_sed(expr: str, text: str) -> str:
    f = sed_expression(expr)
    out = [f(line) for line in _lines(text)]
    return _join([line for line in out if line != "\0"])


FILTERS: dict[str, Callable[[list[str], str], Result]] = {
    "grep": grep, "egrep": lambda a, s: grep(a, s, extended=True), "fgrep": lambda a, s: grep(["-F", *a], s),
    "head": head, "tail": tail, "wc": wc, "sort": sort, "uniq": uniq, "cut": cut, "awk": awk, "column": column,
    "tr": tr, "base64": base64,
}
