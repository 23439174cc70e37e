"""The capstone's broken clusters (issue 15, point 4): each fails before and passes after its intended fix, typed
as commands in a terminal; the sprint's score follows its clock, which a test controls."""

from __future__ import annotations

import pytest

from k8snetviz.course import troubleshooting as ts
from k8snetviz.course.shell import Session

# The kinds of breakage the issue asks for, by incident.
KINDS = {"selector-typo": "a selector typo", "target-port": "a wrong targetPort", "not-ready": "a pod not ready",
         "coredns-down": "CoreDNS scaled to zero", "corefile": "a broken Corefile",
         "netpol-dns": "a NetworkPolicy that blocks DNS", "missing-route": "a missing route",
         "ip-forward": "ip_forward off", "kube-proxy": "kube-proxy not running",
         "ingress-class": "a wrong ingressClassName", "nodeport-range": "a NodePort outside the range",
         "local-traffic": "externalTrafficPolicy: Local with no local endpoint"}


def test_there_are_at_least_ten_incidents_of_the_kinds_asked() -> None:
    assert len(ts.INCIDENTS) >= 10
    assert [i.id for i in ts.INCIDENTS] == list(KINDS)


@pytest.mark.parametrize("incident", ts.INCIDENTS, ids=lambda i: i.id)
def test_each_incident_fails_before_and_passes_after_its_fix(incident: ts.Incident) -> None:
    s = incident.session()
    before = incident.check(s)
    assert not before.passed
    assert before.messages[0].startswith("the user still sees it: ")
    outputs = s.feed(incident.fix)
    assert [o.command for o in outputs if o.status] == []  # every command of the fix works as typed
    after = incident.check(s)
    assert after.passed, after.messages
    assert after.messages[0].startswith("the symptom is gone: ")
    # The same fix, given as the commands themselves, is graded the same.
    assert incident.check(incident.fix).passed


@pytest.mark.parametrize("incident", ts.INCIDENTS, ids=lambda i: i.id)
def test_the_ticket_reports_a_symptom_not_its_cause(incident: ts.Incident) -> None:
    giveaways = {"selector-typo": "selector", "target-port": "targetPort", "not-ready": "probe",
                 "coredns-down": "coredns", "corefile": "Corefile", "netpol-dns": "NetworkPolicy",
                 "missing-route": "route", "ip-forward": "forward", "kube-proxy": "kube-proxy",
                 "ingress-class": "class", "nodeport-range": "range", "local-traffic": "Local"}
    assert giveaways[incident.id].lower() not in incident.ticket.lower()
    assert incident.ticket.startswith("Ticket #")


def test_a_fix_that_breaks_the_intent_is_not_a_fix() -> None:
    netpol = ts.incident_named("netpol-dns")
    r = netpol.check("kubectl delete networkpolicy client-egress")
    assert not r.passed and "do not remove the policy" in r.messages[0]


def test_the_healthy_cluster_has_no_symptom() -> None:
    healthy = Session(ts.BASE)
    for incident in ts.INCIDENTS:
        if incident.extra or incident.files:
            continue  # their symptom needs the object the incident adds
        ok, what = incident.symptom(healthy.cluster)
        assert ok, (incident.id, what)


def test_draw_is_repeatable_with_a_seed() -> None:
    assert ts.draw(7) is ts.draw(7)
    assert {ts.draw(seed).id for seed in range(40)} >= {"selector-typo", "kube-proxy"}


def test_the_sprint_scores_against_its_clock() -> None:
    now = [100.0]
    sprint = ts.sprint(seed=3, size=3, minutes=10, clock=lambda: now[0])
    assert len(sprint.tasks) == 3 and repr(sprint).startswith("Exam sprint: 3 tasks, 10 minutes.")
    sprint.start()
    now[0] = 100.0 + 61
    first = sprint.tasks[0]
    answer = first.solution().answer
    assert sprint.submit(0, answer).passed
    assert sprint.score() == "1/3 tasks, 7/21 points in 1:01 (limit 10:00)"
    now[0] = 100.0 + 11 * 60  # too late: right, but no points
    late = sprint.submit(1, sprint.tasks[1].solution().answer)
    assert late.passed and late.messages[-1] == "(after the 10 minutes: no points)"
    assert sprint.score() == "1/3 tasks, 7/21 points in 11:00 (limit 10:00)"
    assert not sprint.submit(2, "kubectl get pods").passed


def test_the_method_names_the_order_to_look_in() -> None:
    text = ts.method()
    assert text.splitlines()[0] == "1. Is the Service wired to pods?"
    assert text.index("nslookup") < text.index("wget") < text.index("ip route")


# --- the course's imperative tasks: one terminal each, graded on the cluster it leaves -------------------------

@pytest.mark.parametrize("task", ts.imperative_tasks(), ids=lambda t: t.title)
def test_each_imperative_task_starts_broken_and_its_commands_fix_it(task: object) -> None:
    from k8snetviz.course.tasks import Task, is_commands

    assert isinstance(task, Task)
    untouched = task.session()
    assert not task.check(untouched).passed, "the task's cluster must not pass before anything is done"
    answer = task.solution().answer
    assert task.check(answer).passed
    if is_commands(answer):  # typed into the task's terminal, the solution passes too
        used = task.session()
        outputs = used.feed(answer)
        assert all("not available in this simulator" not in o.output for o in outputs)
        assert task.check(used).passed


def test_every_topic_notebook_has_a_task_solved_with_commands() -> None:
    import json
    import pathlib
    import re

    from k8snetviz.course.tasks import is_commands

    notebooks = sorted(pathlib.Path(__file__).parent.parent.glob("notebooks/[01][0-9]-*.ipynb"))
    assert len(notebooks) >= 10
    for path in notebooks:
        if path.name.startswith("00-"):
            continue
        cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        aliases = {m[2]: m[1] for cell in cells for m in re.finditer(r"from k8snetviz\.course import (\w+) as (\w+)",
                                                                     cell)}
        tasks = []
        for cell in cells:
            for m in re.finditer(r"^task = (\w+)\.(\w+)\(\)", cell, re.M):
                module = __import__(f"k8snetviz.course.{aliases[m[1]]}", fromlist=[m[2]])
                tasks.append(getattr(module, m[2])())
        assert len(tasks) >= 3, path.name
        assert any(is_commands(t.solution().answer) for t in tasks), f"{path.name}: no task solved with commands"


def test_the_sprint_opens_a_terminal_on_each_task() -> None:
    from k8snetviz.course.tasks import is_commands

    sprint = ts.sprint(seed=5, size=4)
    for n, task in enumerate(sprint.tasks):
        term = sprint.terminal(n)
        assert not sprint.submit(n, term).passed, task.title  # nothing done yet: the widget is graded as it is
        if is_commands(task.solution().answer):
            term.session.feed(task.solution().answer)  # what the learner types into it
            assert sprint.submit(n, term).passed, task.title
    assert sprint.solved


def test_a_numbered_task_is_titled_as_its_ticket() -> None:
    """The guided practice shows "Ticket #103" above the task: the task's own title and its ticket agree."""
    for number, incident in enumerate(ts.INCIDENTS, 1):
        task = incident.task(number)
        assert task.title == f"Ticket #{100 + number}"
        assert incident.ticket.startswith(f"Ticket #{100 + number}:")
    assert ts.task_ticket_103().title == "Ticket #103"
