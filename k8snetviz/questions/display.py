"""How a result shows itself is the views' business: questions never format.

A result class mixes in :class:`Shown`; its ``text()``, ``str()`` and notebook display are looked up by
the result's type in two registries that the views fill when they are imported (``functools.singledispatch``,
the way the ``graphviz`` package keeps building DOT apart from rendering it). ``import k8snetviz`` imports
the views, so every result a user holds can show itself.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

__all__ = ["Shown", "text_view", "rich_view"]


@singledispatch
def text_view(result: object) -> str:
    """The result as text, as the real tools print it (registered per result type by the views)."""
    raise TypeError(f"no text view is registered for {type(result).__name__}: import k8snetviz.views")


@singledispatch
def rich_view(result: object) -> dict[str, str]:
    """The notebook's MIME bundle for a result; by default its text."""
    return {"text/plain": text_view(result)}


class Shown:
    """A result with a text form and a rich notebook display, both found by type in the views."""

    def text(self) -> str:
        return text_view(self)

    def __str__(self) -> str:
        return text_view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return rich_view(self)
