"""Where the terminal's commands register, by where they run (a node, a pod, the workstation, anywhere)."""

from __future__ import annotations

from collections.abc import Callable

from k8snetviz.course.shell.base import Handler

__all__ = ["COMMANDS", "command"]

# Every command a terminal answers, by where it runs; filled by the command modules.
COMMANDS: dict[str, dict[str, Handler]] = {"workstation": {}, "node": {}, "pod": {}, "any": {}}


def command(name: str, *places: str) -> Callable[[Handler], Handler]:
    """Register a command for ``places`` (workstation, node, pod; none: everywhere)."""
    def deco(fn: Handler) -> Handler:
        for p in places or ("any",):
            COMMANDS[p][name] = fn
        return fn
    return deco
