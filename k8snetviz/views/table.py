"""Columns the way kubectl prints them: left-aligned, three spaces between columns."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["columns"]


def columns(header: Sequence[str], rows: Sequence[Sequence[str]], gap: int = 3) -> str:
    """Align ``rows`` under ``header`` as kubectl's tabwriter does (no padding after the last column).

    >>> print(columns(["NAME", "READY"], [["web", "1/1"]]))
    NAME   READY
    web    1/1
    """
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for r in table:
        cells = [c.ljust(widths[i] + gap) for i, c in enumerate(r[:-1])] + [r[-1]]
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)
