"""Columns the way kubectl prints them: Go's ``text/tabwriter`` with kubectl's settings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["tabwrite", "columns", "no_resources_message"]


def tabwrite(text: str, *, minwidth: int = 6, padding: int = 3) -> str:
    """Align tab-separated cells as Go's ``text/tabwriter`` does (padding with spaces).

    A column is aligned over a block of consecutive lines that all have a tab-terminated cell in
    it; the last cell of a line is not padded. kubectl's ``get`` uses ``minwidth=6, padding=3``,
    ``describe`` uses ``minwidth=0, padding=2``.

    >>> print(tabwrite("NAME\\tAGE\\nweb\\t5m\\n"), end="")
    NAME   AGE
    web    5m
    """
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            parts = []
            for j, cell in enumerate(cells):
                parts.append(cell.ljust(widths[j]) if j < len(widths) else cell)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out)


def columns(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Align ``rows`` under ``header`` as ``kubectl get`` does (minwidth 6, padding 3).

    >>> print(columns(["NAME", "READY"], [["web", "1/1"]]))
    NAME   READY
    web    1/1
    """
    body = "".join("\t".join(r) + "\n" for r in [header, *rows])
    return tabwrite(body).removesuffix("\n")


def no_resources_message(namespace: str | None = "default", all_namespaces: bool = False) -> str:
    """What kubectl prints (on stderr) instead of an empty table."""
    if all_namespaces or not namespace:
        return "No resources found"
    return f"No resources found in {namespace} namespace."
