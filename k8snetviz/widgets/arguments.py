"""What a widget is given, checked in one place and refused in one wording.

Every widget takes a :class:`~k8snetviz.cluster.Cluster` or a scenario (a shipped scenario's name, a path,
a ``Scenario``) alike, and checks each option against the values its controls offer before it builds
them. A value it cannot take raises :class:`~k8snetviz.errors.InvalidArgument`: one line naming the
widget, the argument and what would do, as the API server words a field. Nothing is changed or dropped
quietly. (What a learner types into a widget's box later is shown in place instead: that is input,
not a programming mistake.)

>>> choice("Resolver", "qtype", "MX", ["A", "AAAA", "SRV"])
Traceback (most recent call last):
...
k8snetviz.errors.InvalidArgument: Resolver: qtype: Unsupported value: "MX": supported values: "A", "AAAA", "SRV"
>>> port("PolicyEditor", "port", 0)
Traceback (most recent call last):
...
k8snetviz.errors.InvalidArgument: PolicyEditor: port: Invalid value: 0: must be between 1 and 65535, inclusive
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from k8snetviz.api.refs import Ref
from k8snetviz.errors import FieldError, InvalidArgument, K8sNetVizError, format_value, require_text
from k8snetviz.scenario.loader import Scenario, shipped_scenarios

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["cluster_of", "choice", "choices", "port", "text", "optional_text", "flag", "pod_key", "netns_name",
           "SHOWN_VALUES"]

SHOWN_VALUES = 12  # a message lists this many allowed values, then says how many there are in all


def _supported(values: Sequence[Any]) -> str:
    shown = ", ".join(format_value(v) for v in values[:SHOWN_VALUES])
    more = f", … ({len(values)} in all)" if len(values) > SHOWN_VALUES else ""
    return f"supported values: {shown}{more}"


def cluster_of(widget: str, value: Any, argument: str = "cluster") -> Cluster:
    """The cluster a widget shows: ``value`` itself, or the scenario it names, built."""
    import k8snetviz
    from k8snetviz.cluster import Cluster

    if isinstance(value, Cluster):
        return value
    if isinstance(value, (str, os.PathLike, Scenario)):
        return k8snetviz.load(value)
    raise InvalidArgument.invalid(widget, argument, value, "must be a Cluster (k8snetviz.load(...)) or a "
                                  f"scenario: a path, or a shipped scenario's name ({', '.join(shipped_scenarios())})")


def text(widget: str, argument: str, value: Any, forms: str) -> str:
    """``value`` when it is text (a box's starting text): anything else is refused."""
    return require_text(widget, argument, value, forms)


def optional_text(widget: str, argument: str, value: Any, forms: str) -> str | None:
    """``value`` when it is text or None."""
    return None if value is None else require_text(widget, argument, value, forms)


def choice(widget: str, argument: str, value: Any, allowed: Iterable[str], *,
           read: Callable[[str], str] | None = None) -> str:
    """``value`` when it is one of ``allowed`` (after ``read``, which may spell it the allowed way)."""
    options = list(allowed)
    if isinstance(value, str):
        try:
            spelled = read(value) if read is not None else value
        except K8sNetVizError:
            spelled = None
        if spelled in options:
            return spelled
    if not isinstance(value, str) and value is not None and not isinstance(value, (bool, int, float)):
        raise InvalidArgument.invalid(widget, argument, value, f"must be text: {_supported(options)}")
    if not options:
        raise InvalidArgument(widget, FieldError(argument, "Unsupported value", value, "the scenario has none"))
    raise InvalidArgument(widget, FieldError(argument, "Unsupported value", value, _supported(options)))


def choices(widget: str, argument: str, values: Any, allowed: Iterable[str]) -> list[str] | None:
    """A list of values each one of ``allowed``, or None (meaning: all)."""
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidArgument.invalid(widget, argument, values, "must be a list like [\"x\", \"y\"]")
    options = list(allowed)
    return [choice(widget, f"{argument}[{i}]", v, options) for i, v in enumerate(values)]


def port(widget: str, argument: str, value: Any) -> int:
    """A TCP/UDP/SCTP port number, 1-65535 (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidArgument.invalid(widget, argument, value, "must be between 1 and 65535, inclusive")
    return value


def flag(widget: str, argument: str, value: Any) -> bool:
    """True or False, nothing else."""
    if not isinstance(value, bool):
        raise InvalidArgument.invalid(widget, argument, value, "must be True or False")
    return value


def pod_key(value: str) -> str:
    """``pod/NS/NAME`` or ``NS/NAME`` as a widget's pod list spells it: ``NS/NAME``."""
    r = Ref.parse(value, "pod")
    return r.key if r.kind == "pod" else str(r)


def netns_name(value: str) -> str:
    """``node/NAME``, ``pod/NS/NAME`` or ``NS/NAME`` as namespaces are named: ``pod/NS/NAME``, ``node/NAME``."""
    return str(Ref.parse(value, "pod"))
