"""What ``lab verify`` reports: one check per comparison of the kernel with the simulator (printed by
:mod:`k8snetviz.views.labreport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8snetviz.questions.display import Shown

__all__ = ["Check", "Report"]


@dataclass
class Check:
    """One comparison: what the kernel did, what the simulator said, and whether they agree."""

    what: str
    real: str
    sim: str
    agree: bool
    detail: str = ""


@dataclass
class Report(Shown):
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the lab could not check, and why

    @property
    def agreed(self) -> int:
        return sum(c.agree for c in self.checks)

    @property
    def disagreed(self) -> int:
        return len(self.checks) - self.agreed

    @property
    def all_agree(self) -> bool:
        return bool(self.checks) and self.disagreed == 0

    def to_dict(self) -> dict[str, Any]:
        return {"agree": self.agreed, "disagree": self.disagreed,
                "checks": [c.__dict__ for c in self.checks], "notes": list(self.notes)}
