"""What every server the lab runs inside a namespace does alike: stop on a signal, announce it is ready.

:meth:`k8snetviz.lab.netns.Lab.wait_ready` reads the ``ready`` line on the parent's side.
"""

from __future__ import annotations

import json
import signal
import threading
from typing import IO, Any

__all__ = ["StopFlag", "announce_ready"]


class StopFlag:
    """Set by SIGTERM or SIGINT (when installed from the main thread); the serve loop polls it."""

    def __init__(self) -> None:
        self.stop = False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._set)
            signal.signal(signal.SIGINT, self._set)

    def _set(self, signum: int, frame: object) -> None:
        self.stop = True

    def __bool__(self) -> bool:
        return self.stop


def announce_ready(stream: IO[str] | None, details: dict[str, Any]) -> None:
    """Write the ``ready {...}`` line the lab waits for, once every socket is bound."""
    if stream is not None:
        stream.write("ready " + json.dumps(details) + "\n")
        stream.flush()
