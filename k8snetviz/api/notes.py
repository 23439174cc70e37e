"""What the build learnt about a scenario beyond what it states: what it inferred (and from what), what the
model approximates, what it left out. ``k8snetviz inspect`` shows them (:mod:`k8snetviz.questions.inspect`).

>>> n = Notes()
>>> n.infer("service CIDR", "10.96.0.0/12", "the smallest well-known range that holds every ClusterIP")
>>> n.inferred[0].what, n.inferred[0].value
('service CIDR', '10.96.0.0/12')
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Notes", "Inferred", "Ignored", "is_observed"]


@dataclass(frozen=True)
class Inferred:
    """One fact the scenario does not state: what, its value, and where it comes from."""

    what: str
    value: str
    source: str


@dataclass(frozen=True)
class Ignored:
    """Objects left out of the model, counted by why."""

    what: str
    count: int
    why: str
    examples: tuple[str, ...] = ()


@dataclass
class Notes:
    inferred: list[Inferred] = field(default_factory=list)
    approximated: list[str] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    # Objects the model added because the scenario has none of them (kubeadm's system objects), as "Kind ns/name".
    added: list[str] = field(default_factory=list)

    def infer(self, what: str, value: str, source: str) -> None:
        self.inferred.append(Inferred(what, value, source))

    def approximate(self, text: str) -> None:
        if text not in self.approximated:
            self.approximated.append(text)

    def ignore(self, what: str, names: list[str], why: str) -> None:
        if names:
            self.ignored.append(Ignored(what, len(names), why, tuple(names[:5])))


def is_observed(body: dict[str, object]) -> bool:
    """Whether an object was read back from an API server (``kubectl get``), not written by hand: the
    API server gives every object a ``uid``, a ``resourceVersion`` and a ``creationTimestamp``."""
    md = body.get("metadata")
    if not isinstance(md, dict):
        return False
    return bool(md.get("uid") or md.get("resourceVersion") or md.get("creationTimestamp"))
