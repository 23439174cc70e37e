"""``k8snetviz lab up|verify|down SCENARIO``: the real Linux lab from the command line.

The lab of a scenario is named after it (``kind-default`` -> namespaces ``knv-kind-default-*``).
Errors the lab cannot act on (not root, a missing plugin, a scenario too large, a name taken by
something else) propagate as :class:`~k8snetviz.errors.K8sNetVizError`: the CLI prints them on one
line and exits 2.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["run_lab"]


def run_lab(action: str, scenario: str, out: TextIO | None = None) -> int:
    """Run one lab action; return the exit status (verify: 0 only when every check agrees)."""
    import k8snetviz
    from k8snetviz.errors import UsageError
    from k8snetviz.lab.build import lab_id_for, up
    from k8snetviz.lab.netns import down
    from k8snetviz.lab.preflight import require_root

    out = out or sys.stdout
    lab_id = lab_id_for(scenario)
    if action == "up":
        t0 = time.monotonic()
        lay = up(scenario, lab_id=lab_id)
        for note in lay.notes:
            print(note, file=out)
        print(f"lab {lab_id} is up in {time.monotonic() - t0:.1f}s: "
              f"ip netns list | grep knv-{lab_id}-; take it down with: k8snetviz lab down {scenario}", file=out)
        return 0
    if action == "verify":
        from k8snetviz.lab.verify import verify

        require_root()
        report = verify(k8snetviz.load(scenario), lab_id)
        print(report.text(), file=out)
        return 0 if report.all_agree else 1
    if action == "down":
        warnings = down(lab_id)
        for w in warnings:
            print(f"warning: {w}", file=out)
        print(f"lab {lab_id} is down", file=out)
        return 0
    raise UsageError(f'lab action "{action}": one of up, verify, down')
