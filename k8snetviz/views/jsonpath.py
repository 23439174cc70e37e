"""kubectl's JSONPath templates (``-o jsonpath=…``, ``custom-columns``, ``--sort-by``).

The syntax of ``k8s.io/client-go/util/jsonpath``: text with ``{expressions}``; fields ``.a.b`` and
``['a.b']``, indexes and slices ``[0]``, ``[-1]``, ``[0:2]``, ``[*]``, recursive descent ``..name``,
filters ``[?(@.type=="InternalIP")]``, ``{range …}…{end}`` and string literals ``{"\\n"}``. Several
results of one expression are joined by a space; maps and lists print as compact JSON; a missing key
prints nothing (kubectl's ``--allow-missing-template-keys=true``).

>>> doc = {"items": [{"metadata": {"name": "a"}, "status": {"addresses": [
...     {"type": "InternalIP", "address": "172.18.0.2"}]}}, {"metadata": {"name": "b"}, "status": {}}]}
>>> render("{.items[*].metadata.name}", doc)
'a b'
>>> render('{range .items[*]}{.metadata.name}{"\\t"}{.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}',
...        doc)
'a\\t172.18.0.2\\nb\\t\\n'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["JSONPathError", "render", "evaluate", "relaxed", "format_value"]


class JSONPathError(ValueError):
    """A template kubectl cannot parse (its message is kubectl's)."""


_MISSING = object()


@dataclass
class _Node:
    kind: str  # text | expr | range | end
    value: Any


def relaxed(template: str) -> str:
    """kubectl's RelaxedJSONPathExpression: ``.metadata.name`` or ``{.metadata.name}`` → ``{.metadata.name}``."""
    t = template.strip()
    if t.startswith("{") and t.endswith("}"):
        t = t[1:-1]
    if not t.startswith("."):
        t = "." + t if not t.startswith("[") else t
    return "{" + t + "}"


def _split(template: str) -> list[_Node]:
    nodes: list[_Node] = []
    i = 0
    while i < len(template):
        start = template.find("{", i)
        if start < 0:
            nodes.append(_Node("text", template[i:]))
            break
        if start > i:
            nodes.append(_Node("text", template[i:start]))
        depth, j, quote = 0, start, ""
        while j < len(template):
            c = template[j]
            if quote:
                if c == "\\":
                    j += 2
                    continue
                if c == quote:
                    quote = ""
            elif c in "'\"":
                quote = c
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(template):
            raise JSONPathError(f"unclosed action in template: {template}")
        inner = template[start + 1:j].strip()
        if inner.startswith("range "):
            nodes.append(_Node("range", inner[6:].strip()))
        elif inner == "end":
            nodes.append(_Node("end", None))
        elif inner.startswith(('"', "'")) and inner.endswith(inner[0]):
            nodes.append(_Node("text", _unquote(inner)))
        else:
            nodes.append(_Node("expr", inner))
        i = j + 1
    return nodes


def _unquote(s: str) -> str:
    body = s[1:-1]
    return body.encode("utf-8").decode("unicode_escape") if "\\" in body else body


_TOKEN = re.compile(r"""
    \.\.(?P<rname>[A-Za-z0-9_\-$]+|\*)     # recursive descent
  | \.(?P<name>(?:\\.|[A-Za-z0-9_\-$/])*|\*)  # .field; \. is a dot inside the name (kubernetes\.io/arch)
  | \[(?P<bracket>(?:'[^']*'|"[^"]*"|\?\((?:[^()]|\([^()]*\))*\)|[^\]])*)\]
  | (?P<at>@)
""", re.VERBOSE)


def _steps(expr: str) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    pos = 0
    expr = expr.strip()
    if expr.startswith("$"):
        expr = expr[1:]
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise JSONPathError(f"unrecognized character in action: {expr[pos:]}")
        if m.group("rname") is not None:
            steps.append(("recursive", m.group("rname")))
        elif m.group("name") is not None:
            # client-go's parseField: a backslash escapes the next character, then every backslash is dropped
            name = m.group("name").replace("\\", "")
            if name:
                steps.append(("field", name))
        elif m.group("bracket") is not None:
            b = m.group("bracket").strip()
            if b.startswith("?("):
                steps.append(("filter", b[2:-1]))
            elif b == "*":
                steps.append(("all", None))
            elif b[:1] in "'\"":
                for part in re.findall(r"'([^']*)'|\"([^\"]*)\"", b):
                    steps.append(("field", part[0] or part[1]))
            elif ":" in b:
                parts = [int(x) if x.strip() else None for x in b.split(":")]
                steps.append(("slice", parts))
            elif re.fullmatch(r"-?\d+(,-?\d+)*", b):
                steps.append(("index", [int(x) for x in b.split(",")]))
            else:
                raise JSONPathError(f"invalid array index {b}")
        pos = m.end()
    return steps


def _apply(values: list[Any], step: tuple[str, Any]) -> list[Any]:
    kind, arg = step
    out: list[Any] = []
    for v in values:
        if kind == "field":
            if arg == "*":
                if isinstance(v, dict):
                    out += list(v.values())
                elif isinstance(v, list):
                    out += v
            elif isinstance(v, dict) and arg in v:
                out.append(v[arg])
        elif kind == "all":
            if isinstance(v, list):
                out += v
            elif isinstance(v, dict):
                out += list(v.values())
        elif kind == "index":
            if isinstance(v, list):
                for i in arg:
                    if -len(v) <= i < len(v):
                        out.append(v[i])
        elif kind == "slice":
            if isinstance(v, list):
                start, stop = arg[0], arg[1] if len(arg) > 1 else None
                step_ = arg[2] if len(arg) > 2 and arg[2] else 1
                out += v[start:stop:step_]
        elif kind == "filter":
            items = v if isinstance(v, list) else [v]
            out += [item for item in items if _filter(item, arg)]
        elif kind == "recursive":
            out += _descend(v, arg)
    return out


def _descend(v: Any, name: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(v, dict):
        if name == "*":
            found += list(v.values())
        elif name in v:
            found.append(v[name])
        for child in v.values():
            found += _descend(child, name)
    elif isinstance(v, list):
        for child in v:
            found += _descend(child, name)
    return found


_COMPARE = re.compile(r"^\s*(@[^=!<>~]*?)\s*(==|!=|<=|>=|<|>|=~)\s*(.+?)\s*$")


def _filter(item: Any, cond: str) -> bool:
    m = _COMPARE.match(cond)
    if not m:
        path = cond.strip()
        got = evaluate(path[1:] if path.startswith("@") else path, item)
        return bool(got)
    left, op, right = m.groups()
    got = evaluate(left[1:], item)
    if not got:
        return False
    lhs = got[0]
    if right[:1] in "'\"":
        rhs: Any = right[1:-1]
    else:
        try:
            rhs = json.loads(right)
        except ValueError:
            rhs = right
    try:
        if op == "==":
            return bool(lhs == rhs or str(lhs) == str(rhs))
        if op == "!=":
            return bool(lhs != rhs and str(lhs) != str(rhs))
        if op == "=~":
            return re.search(str(rhs), str(lhs)) is not None
        a, b = float(lhs), float(rhs)
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    except (TypeError, ValueError):
        return False


def evaluate(expr: str, data: Any) -> list[Any]:
    """Every value ``expr`` (a JSONPath without braces) selects in ``data``."""
    values = [data]
    for step in _steps(expr):
        values = _apply(values, step)
    return values


def format_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "<nil>" if False else ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), sort_keys=True)
    return str(v)


def render(template: str, data: Any) -> str:
    """The text a template prints for ``data``."""
    nodes = _split(template)
    out, _ = _run(nodes, 0, data, data)
    return out


def _run(nodes: list[_Node], i: int, current: Any, root: Any) -> tuple[str, int]:
    out: list[str] = []
    while i < len(nodes):
        n = nodes[i]
        if n.kind == "text":
            out.append(n.value)
        elif n.kind == "expr":
            expr = n.value
            base = current if expr.startswith("@") else (root if expr.startswith("$") else current)
            values = evaluate(expr.lstrip("@"), base)
            out.append(" ".join(format_value(v) for v in values))
        elif n.kind == "range":
            expr = n.value
            values = evaluate(expr.lstrip("@"), current)
            end = _matching_end(nodes, i)
            for v in values:
                text, _ = _run(nodes[i + 1:end], 0, v, root)
                out.append(text)
            i = end
        elif n.kind == "end":
            return "".join(out), i
        i += 1
    return "".join(out), i


def _matching_end(nodes: list[_Node], i: int) -> int:
    depth = 0
    for j in range(i, len(nodes)):
        if nodes[j].kind == "range":
            depth += 1
        elif nodes[j].kind == "end":
            depth -= 1
            if depth == 0:
                return j
    raise JSONPathError("not in range, nothing to end")
