"""Errors for bad input, worded the way the API server and kubectl word them.

A packet that is dropped is an answer, not an error. These exceptions are for input
that cannot be understood: the CLI prints ``str(error)`` on one line and exits 2,
widgets show it in place.

>>> err = FieldError.invalid("spec.ports[0].nodePort", 20000,
...     "provided port is not in the valid range. The range of valid ports is 30000-32767")
>>> print(InvalidObject("Service", "web", [err]))
The Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 20000: provided port is not \
in the valid range. The range of valid ports is 30000-32767
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "K8sNetVizError",
    "FieldError",
    "InvalidObject",
    "ScenarioError",
    "NotFound",
    "UsageError",
    "InvalidArgument",
    "require_text",
    "format_value",
    "GoLiteral",
]


class K8sNetVizError(Exception):
    """Base class: input the tool cannot understand. ``str()`` is the message for the user."""


def format_value(value: Any) -> str:
    """Format a value as the API server does in field errors: strings quoted, numbers bare."""
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, repr=False)
class GoLiteral:
    """A field error's value that the API server prints with Go's ``%#v``, shown as is (unquoted).

    >>> print(FieldError.invalid("spec.clusterIPs", GoLiteral.strings(["None", "10.96.0.5"]),
    ...     "'None' must be the first and only value"))
    spec.clusterIPs: Invalid value: []string{"None", "10.96.0.5"}: 'None' must be the first and only value
    """

    text: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    @classmethod
    def strings(cls, values: Iterable[str]) -> GoLiteral:
        """A ``[]string`` value: each element quoted as :func:`format_value` quotes a string."""
        return cls("[]string{" + ", ".join(format_value(str(v)) for v in values) + "}")


@dataclass(frozen=True)
class FieldError:
    """One field error, as ``field.ErrorList`` prints it (``path: Type: value: detail``)."""

    field: str
    type: str
    value: Any = None
    detail: str = ""
    show_value: bool = True

    @classmethod
    def invalid(cls, path: str, value: Any, detail: str) -> FieldError:
        return cls(path, "Invalid value", value, detail)

    @classmethod
    def required(cls, path: str, detail: str = "") -> FieldError:
        return cls(path, "Required value", None, detail, show_value=False)

    @classmethod
    def duplicate(cls, path: str, value: Any) -> FieldError:
        return cls(path, "Duplicate value", value)

    @classmethod
    def not_supported(cls, path: str, value: Any, supported: Iterable[Any]) -> FieldError:
        detail = "supported values: " + ", ".join(format_value(v) for v in supported)
        return cls(path, "Unsupported value", value, detail)

    @classmethod
    def not_found(cls, path: str, value: Any) -> FieldError:
        return cls(path, "Not found", value)

    @classmethod
    def forbidden(cls, path: str, detail: str) -> FieldError:
        return cls(path, "Forbidden", None, detail, show_value=False)

    def __str__(self) -> str:
        parts = [f"{self.field}: {self.type}"]
        if self.show_value:
            parts.append(format_value(self.value))
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)


@dataclass
class InvalidObject(K8sNetVizError):
    """An object the API server would refuse: ``The Service "web" is invalid: ...``."""

    kind: str
    name: str
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f'The {self.kind} "{self.name}" is invalid: '
        if len(self.errors) == 1:
            return head + str(self.errors[0])
        # kubectl lists several causes on lines of their own; here they stay on the one line of the contract.
        return head + f"{len(self.errors)} errors: " + "; ".join(str(e) for e in self.errors)


class ScenarioError(K8sNetVizError):
    """A scenario that cannot be read: a missing file, or YAML that does not parse (with its line)."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        where = ""
        if source:
            where = f"{source}:{line}: " if line else f"{source}: "
        super().__init__(where + message)
        self.source = source
        self.line = line


class NotFound(K8sNetVizError):
    """An object that does not exist, worded as kubectl: ``pods "web" not found``."""

    def __init__(self, resource: str, name: str, namespace: str | None = None) -> None:
        msg = f'{resource} "{name}" not found'
        if namespace:
            msg += f' in namespace "{namespace}"'
        super().__init__(msg)
        self.resource = resource
        self.name = name
        self.namespace = namespace


class UsageError(K8sNetVizError):
    """A malformed argument (a source, a destination, a port)."""


class InvalidArgument(UsageError):
    """A Python call's or a widget's argument it cannot take, worded as the API server words a field.

    ``call`` is what the learner wrote (``Resolver``, ``Cluster.trace``); the field error names the
    argument, the value and what would do.

    >>> print(InvalidArgument("Resolver", FieldError.not_supported("qtype", "XX", ["A", "AAAA"])))
    Resolver: qtype: Unsupported value: "XX": supported values: "A", "AAAA"
    """

    def __init__(self, call: str, error: FieldError) -> None:
        super().__init__(f"{call}: {error}")
        self.call = call
        self.error = error

    @classmethod
    def invalid(cls, call: str, argument: str, value: Any, detail: str) -> InvalidArgument:
        """``CALL: ARGUMENT: Invalid value: VALUE: DETAIL`` (a value that is not text or a number shows its type)."""
        return cls(call, FieldError.invalid(argument, _shown(value), detail))


def require_text(call: str, argument: str, value: Any, forms: str) -> str:
    """``value`` when it is text; else :class:`InvalidArgument` saying which ``forms`` the text takes.

    >>> print(require_text("Cluster.trace", "src", "default/client", "pod/NS/NAME"))
    default/client
    >>> require_text("Cluster.trace", "src", None, "pod/NS/NAME or node/NAME")
    Traceback (most recent call last):
    ...
    k8snetviz.errors.InvalidArgument: Cluster.trace: src: Invalid value: null: must be text like pod/NS/NAME or \
node/NAME
    """
    if not isinstance(value, str):
        raise InvalidArgument.invalid(call, argument, value, f"must be text like {forms}")
    return value


def _shown(value: Any) -> Any:
    """A value as a field error shows it: scalars as they are, anything else by its type (never a long repr)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return GoLiteral(type(value).__name__)
