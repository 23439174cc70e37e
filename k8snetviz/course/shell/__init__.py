"""The simulated cluster terminal: the engine behind ``k8snetviz shell``, the notebook terminal and
:func:`k8snetviz.course.run`.

>>> s = Session("services")
>>> print(s.run("kubectl exec client -- curl -s -o /dev/null -w '%{http_code}' web").output)
200
"""

from __future__ import annotations

from k8snetviz.course.shell.base import CommandOutput
from k8snetviz.course.shell.session import Session

__all__ = ["Session", "CommandOutput"]
