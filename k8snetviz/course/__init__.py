"""The course machinery: predict-then-reveal questions, CKA-style tasks with checkers, real commands.

>>> from k8snetviz.course import pod_networking as pn
>>> task = pn.task_longest_prefix()
>>> print(task.check("default via 172.18.0.1 dev eth0"))
✘ not yet: default (0.0.0.0/0) does contain 10.244.2.7, but so does 10.244.2.0/24, which is longer (/24 beats /0): \
the longest prefix wins
"""

from __future__ import annotations

from k8snetviz.course.contents import contents
from k8snetviz.course.quiz import Predict
from k8snetviz.course.tasks import CheckResult, Solution, Task, parse_route
from k8snetviz.course.terminal import Session, run, terminal

__all__ = ["Predict", "Task", "CheckResult", "Solution", "parse_route", "run", "terminal", "Session", "contents"]
