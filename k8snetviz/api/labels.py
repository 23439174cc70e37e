"""Label selectors as ``kubectl -l`` takes them (``k8s.io/apimachinery/pkg/labels``): ``app=web``,
``tier!=db``, ``env in (a,b)``, ``env notin (c)``, ``release`` (exists), ``!release`` (does not exist),
joined by commas, all of which must hold.

>>> sel = parse_selector("app=web,tier in (front, back),!canary")
>>> sel({"app": "web", "tier": "front"}), sel({"app": "web", "tier": "db"})
(True, False)
>>> parse_selector("app==web")({"app": "web"})
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from k8snetviz.errors import UsageError

__all__ = ["parse_selector", "Selector", "valid_label_value", "valid_label_key"]

Selector = Callable[[Mapping[str, str]], bool]

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def valid_label_key(key: str) -> bool:
    return bool(_KEY.match(key)) and len(key.split("/")[-1]) <= 63


def valid_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_VALUE.match(value))


@dataclass(frozen=True)
class _Requirement:
    key: str
    op: str  # = != in notin exists !
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = self.key in labels
        v = labels.get(self.key)
        if self.op == "=":
            return have and v in self.values
        if self.op == "!=":
            return v not in self.values
        if self.op == "in":
            return v in self.values
        if self.op == "notin":
            return v not in self.values
        return have if self.op == "exists" else not have


def _split_requirements(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_selector(text: str) -> Selector:
    """A predicate on labels; a selector kubectl cannot parse raises its error."""
    reqs: list[_Requirement] = []
    for req in _split_requirements(text):
        m = re.fullmatch(r"(!?)\s*([^\s!=()]+)\s*(?:(==|=|!=)\s*([^\s()]*)|\s+(in|notin)\s*\(([^)]*)\))?", req)
        if not m:
            raise UsageError(f"error: unable to parse requirement: <nil>: Invalid value: \"{req}\": "
                             "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                             "'.', and must start and end with an alphanumeric character")
        neg, key, op, value, setop, values = m.groups()
        if not valid_label_key(key):
            raise UsageError(f'error: unable to parse requirement: <nil>: Invalid value: "{key}": name part must '
                             "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                             "alphanumeric character")
        if neg and (op or setop):
            raise UsageError(f"error: unable to parse requirement: found '{op or setop}', expected: ',' or 'end of "
                             "string'")
        if op is not None:
            if not valid_label_value(value or ""):
                raise UsageError(f'error: unable to parse requirement: values[0][{key}]: Invalid value: "{value}": '
                                 "a valid label must be an empty string or consist of alphanumeric characters, '-', "
                                 "'_' or '.', and must start and end with an alphanumeric character")
            reqs.append(_Requirement(key, "!=" if op == "!=" else "=", frozenset([value or ""])))
        elif setop is not None:
            vals = frozenset(v.strip() for v in (values or "").split(",") if v.strip())
            reqs.append(_Requirement(key, setop, vals))
        else:
            reqs.append(_Requirement(key, "!" if neg else "exists", frozenset()))
    return lambda labels: all(r.matches(labels) for r in reqs)
