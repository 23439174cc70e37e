"""The answer to "what happens to this packet?": a trace's verdict, its hops, and what the receiver sees.

``to_dict()`` is the ``trace --json`` contract; every hop carries ``decided_by``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k8snetviz.kernel.walk import Hop
from k8snetviz.questions.display import Shown

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["TraceResult", "SideBySide"]


@dataclass
class TraceResult(Shown):
    """The answer to "what happens to this packet?"."""

    source: str
    destination: str
    verdict: str
    reason: str
    hops: list[Hop] = field(default_factory=list)
    final: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    protocol: str = "TCP"
    cluster: Cluster | None = field(default=None, repr=False, compare=False)

    @property
    def delivered(self) -> bool:
        return self.verdict == "delivered"

    @property
    def request_hops(self) -> list[Hop]:
        """The hops of the request, up to where it was delivered or stopped."""
        return [h for h in self.hops if not h.reply]

    @property
    def reply_hops(self) -> list[Hop]:
        """The hops of the answer on its way back (conntrack undoing each NAT)."""
        return [h for h in self.hops if h.reply]

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "verdict": self.verdict,
            "reason": self.reason,
            "hops": [h.to_dict() for h in self.hops],
            "final": self.final,
            "candidates": self.candidates,
        }

    def __str__(self) -> str:
        return self.text()


@dataclass
class SideBySide(Shown):
    """The same commands answered by two sources (the real kernel's output beside the simulator's), or a
    note saying why there are none."""

    rows: list[tuple[str, str, str]]  # (command, kernel's output, simulator's output)
    note: str = ""

    def __repr__(self) -> str:
        return self.text()
