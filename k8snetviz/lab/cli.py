"""``k8snetviz lab up|verify|down SCENARIO``: the real Linux lab from the command line.

The lab of a scenario is named after it (``kind-default`` -> namespaces ``knv-kind-default-*``).
Errors the lab cannot act on (not root, a missing plugin, a scenario too large, a name taken by
something else) propagate as :class:`~k8snetviz.errors.K8sNetVizError`: the CLI prints them on one
line and exits 2.

SIGINT and SIGTERM end every phase of every action the same way: what was being built is torn down
(a teardown under way finishes first), one line says what state the interrupt left, and the exit
status is 128 + the signal's number (130 for Ctrl-C), as a shell reports a command a signal ended.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import TextIO

__all__ = ["run_lab", "Interrupts"]


class Interrupts:
    """While active (``with``), SIGINT and SIGTERM raise :class:`~k8snetviz.lab.errors.LabInterrupted`
    saying ``outcome``: what the interrupt leaves behind at this point of the action."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self._old: dict[int, object] = {}

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        from k8snetviz.lab.errors import LabInterrupted

        raise LabInterrupted(signum, self.outcome)

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():  # signal.signal() works there only
            self._old = {s: signal.signal(s, self._raise) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)  # type: ignore[arg-type]
        self._old.clear()


@contextlib.contextmanager
def _reported(err: TextIO, codes: list[int]) -> Iterator[None]:
    """An interrupt, whichever way it came, as one line on ``err`` and its exit status in ``codes``."""
    from k8snetviz.lab.errors import LabInterrupted

    try:
        yield
    except LabInterrupted as e:
        print(f"k8snetviz: {e}", file=err)
        codes.append(e.exit_status)
    except KeyboardInterrupt:  # SIGINT before the handlers were in place
        print("k8snetviz: interrupted by SIGINT", file=err)
        codes.append(128 + signal.SIGINT)


def run_lab(action: str, scenario: str, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one lab action; return the exit status (verify: 0 only when every check agrees)."""
    out = out or sys.stdout
    err = err or sys.stderr
    codes: list[int] = []
    with _reported(err, codes), Interrupts("nothing was changed") as interrupts:
        return _run(action, scenario, out, interrupts)
    return codes[0]


def _run(action: str, scenario: str, out: TextIO, interrupts: Interrupts) -> int:
    import k8snetviz
    from k8snetviz.errors import UsageError
    from k8snetviz.lab.build import lab_id_for, up
    from k8snetviz.lab.netns import down
    from k8snetviz.lab.preflight import require_root

    lab_id = lab_id_for(scenario)
    if action == "up":
        t0 = time.monotonic()
        interrupts.outcome = "nothing was built"  # inside the build the lab's own handler tears it down
        lay = up(scenario, lab_id=lab_id)
        interrupts.outcome = f"lab {lab_id} is up; take it down with: k8snetviz lab down {scenario}"
        for note in lay.notes:
            print(note, file=out)
        print(f"lab {lab_id} is up in {time.monotonic() - t0:.1f}s: "
              f"ip netns list | grep knv-{lab_id}-; take it down with: k8snetviz lab down {scenario}", file=out)
        return 0
    if action == "verify":
        from k8snetviz.lab.verify import verify

        require_root()
        interrupts.outcome = f"verify stopped; lab {lab_id} is still up (k8snetviz lab down {scenario} takes it down)"
        report = verify(k8snetviz.load(scenario), lab_id)
        print(report.text(), file=out)
        return 0 if report.all_agree else 1
    if action == "down":
        interrupts.outcome = f"lab {lab_id} was not taken down; run k8snetviz lab down {scenario} again"
        warnings = down(lab_id)  # once the teardown starts it finishes; an interrupt then says so
        interrupts.outcome = f"lab {lab_id} is down"
        for w in warnings:
            print(f"warning: {w}", file=out)
        print(f"lab {lab_id} is down", file=out)
        return 0
    raise UsageError(f'lab action "{action}": one of up, verify, down')
