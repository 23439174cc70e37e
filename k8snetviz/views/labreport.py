"""``lab verify``'s report as text: one row per check (ok or DIFF), the differences, the notes, the total."""

from __future__ import annotations

from k8snetviz.questions.display import text_view
from k8snetviz.questions.labreport import Report

__all__ = ["report_total", "report_table"]


def report_total(report: Report) -> str:
    return f"{report.agreed} agree, {report.disagreed} disagree"


def report_table(report: Report) -> str:
    rows = [("", "check", "kernel", "simulator")]
    for c in report.checks:
        rows.append(("ok" if c.agree else "DIFF", c.what, c.real, c.sim))
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d}".rstrip() for a, b, c, d in rows]
    for c in report.checks:
        if not c.agree and c.detail:
            lines.append(f"  DIFF {c.what}: {c.detail}")
    lines += [f"note: {n}" for n in report.notes]
    lines.append(report_total(report))
    return "\n".join(lines)


@text_view.register
def _(report: Report) -> str:
    return report_table(report)
