"""References to objects as users and the CLI write them, read in one place.

``pod/NS/NAME`` (or ``NS/NAME``, or ``NAME`` in ``default``), ``svc/NS/NAME`` (``service/`` too),
``node/NAME``, ``external/NAME`` and ``loadbalancer/NS/NAME``. A network namespace is named by the
reference of what it belongs to (``node/kind-worker``, ``pod/default/web``).

>>> Ref.parse("pod/default/web")
Ref(kind='pod', name='web', namespace='default')
>>> Ref.parse("kube-system/coredns").key
'kube-system/coredns'
>>> str(Ref.parse("svc/web"))
'svc/default/web'
>>> Ref.parse("node/kind-worker").netns
'node/kind-worker'
"""

from __future__ import annotations

from dataclasses import dataclass

from k8snetviz.errors import UsageError

__all__ = ["Ref", "KINDS", "NAMESPACED"]

KINDS = ("pod", "svc", "node", "external", "loadbalancer")
NAMESPACED = ("pod", "svc", "loadbalancer")
_ALIASES = {"pods": "pod", "po": "pod", "service": "svc", "services": "svc", "nodes": "node", "no": "node"}
_WORDS = {"pod": "pod/NAMESPACE/NAME or NAMESPACE/NAME", "svc": "svc/NAMESPACE/NAME", "node": "node/NAME",
          "external": "external/NAME", "loadbalancer": "loadbalancer/NAMESPACE/NAME"}


@dataclass(frozen=True)
class Ref:
    """One object: its kind (``pod``, ``svc``, ``node``, ``external``, ``loadbalancer``), name and namespace."""

    kind: str
    name: str
    namespace: str | None = None

    @classmethod
    def parse(cls, text: str, default: str = "pod") -> Ref:
        """Read ``KIND/[NS/]NAME``; without a known kind prefix the text is a ``default`` reference."""
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f"a reference must be text like {_WORDS.get(default, 'KIND/NAME')}, not {text!r}")
        t = text.strip()
        head, sep, rest = t.partition("/")
        kind = _ALIASES.get(head, head)
        if sep and kind in KINDS:
            body = rest
        else:
            kind, body = default, t
        if kind in NAMESPACED:
            ns, _, name = body.rpartition("/")
            if "/" in ns or not name:
                raise UsageError(f'"{text}" is not a {kind}: use {_WORDS[kind]}')
            return cls(kind, name, ns or "default")
        if not body or "/" in body:
            raise UsageError(f'"{text}" is not a {kind}: use {_WORDS[kind]}')
        return cls(kind, body)

    @property
    def key(self) -> str:
        """``NS/NAME`` for a namespaced object, ``NAME`` otherwise (how the model's dictionaries are keyed)."""
        return f"{self.namespace}/{self.name}" if self.namespace is not None else self.name

    @property
    def netns(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.kind}/{self.key}"
