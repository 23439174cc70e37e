"""The capstone (notebook 10): broken clusters whose cause is not given, and an exam sprint.

Each :class:`Incident` is the ``troubleshooting`` scenario with one thing broken, and a ticket that says what
a user sees ("the shop page times out"), never why. The learner investigates in a terminal on it
(:func:`terminal`), fixes it with commands, and :meth:`Incident.check` looks at the cluster the way the user
would: the symptom must be gone, and the fix must not break what worked (deleting a NetworkPolicy is not a
repair). :data:`METHOD` is the order to look in.

>>> incident = incident_named("selector-typo")
>>> incident.check(Session(incident.scenario())).passed
False
>>> s = Session(incident.scenario())
>>> _ = s.feed(incident.fix)
>>> incident.check(s).passed
True

The sprint (:class:`Sprint`) is a timed set of tasks with a score; its clock is a function the caller may
replace, so a test (or a classroom) controls time.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from k8snetviz.course.shell.session import Session
from k8snetviz.course.tasks import CheckResult, Task, is_commands, resulting_cluster
from k8snetviz.scenario.loader import Manifest, Scenario, read_scenario

__all__ = ["Incident", "INCIDENTS", "incident_named", "draw", "terminal", "METHOD", "Sprint", "sprint",
           "BASE", "method", "board", "task_ticket_103", "task_ticket_106", "task_ticket_107",
           "imperative_tasks"]

BASE = "troubleshooting"

METHOD = (
    ("Is the Service wired to pods?", "kubectl get svc,ep -o wide; kubectl get endpointslices; "
     "kubectl get pods --show-labels -o wide"),
    ("What does Kubernetes say about it?", "kubectl describe svc NAME; kubectl describe pod NAME (Events, Ready); "
     "kubectl get events -A"),
    ("Does DNS work from a pod?", "kubectl exec client -- nslookup NAME (or kubectl run tmp --rm -it "
     "--image=busybox:1.28 --restart=Never -- nslookup NAME); kubectl -n kube-system get pods,cm"),
    ("Does the connection work from a pod?", "kubectl exec client -- wget -qO- -T 2 http://NAME; curl -v; "
     "nc -zv HOST PORT; to a pod IP, then to the Service"),
    ("What does the node do with the packet?", "ssh NODE; ip route; ip route get IP; sysctl net.ipv4.ip_forward; "
     "iptables-save -t nat | grep NAME; crictl ps; ls /etc/cni/net.d"),
)


def method() -> str:
    """The method, one step a line: what to ask, and the commands that answer it."""
    return "\n".join(f"{i}. {q}\n   {cmds}" for i, (q, cmds) in enumerate(METHOD, 1))


# --- checks: what the user sees ------------------------------------------------------------------------

def _http(cluster: Any, source: str, url: str, headers: dict[str, str] | None = None) -> tuple[bool, str]:
    from k8snetviz.questions.connect import request

    r = request(cluster, source, url, headers)
    if r.status == 200:
        return True, f"{url} answers 200 (from {r.server})"
    if r.status is not None:
        return False, f"{url} answers {r.status} {r.reason}"
    return False, f"{url}: {r.connection.outcome} ({r.connection.reason})"


def _client_gets(name: str) -> Callable[[Any], tuple[bool, str]]:
    return lambda c: _http(c, "pod/default/client", f"http://{name}/")


def _resolves(name: str) -> Callable[[Any], tuple[bool, str]]:
    def check(c: Any) -> tuple[bool, str]:
        from k8snetviz.errors import K8sNetVizError
        from k8snetviz.questions.resolve import resolve

        try:
            r = resolve(c, "default/client", name)
        except K8sNetVizError as e:
            return False, f"{name} does not resolve from client: {e}"
        if r.ok:
            return True, f"{name} resolves to {', '.join(r.addresses)}"
        return False, f"{name} does not resolve from client ({r.error})"
    return check


def _every_web_pod(c: Any) -> tuple[bool, str]:
    from k8snetviz.questions.connect import connect

    for p in sorted(c.pods.values(), key=lambda p: p.name):
        if p.labels.get("app") == "web" and p.ip is not None:
            conn = connect(c, "pod/default/client", str(p.ip), 80)
            if not conn.ok:
                return False, f"client → {p.name} ({p.ip}:80, on {p.node_name}): {conn.outcome} ({conn.reason})"
    return _http(c, "pod/default/client", "http://web/")


def _shop_from_outside(c: Any) -> tuple[bool, str]:
    lb = c.service("ingress-nginx/ingress-nginx-controller").load_balancer_ips[0]
    return _http(c, "external", f"http://{lb}/", {"Host": "shop.example.com"})


def _node_port(node: str, port: int) -> Callable[[Any], tuple[bool, str]]:
    def check(c: Any) -> tuple[bool, str]:
        ip = c.node(node).internal_ip
        return _http(c, "external", f"http://{ip}:{port}/")
    return check


def _all(*checks: Callable[[Any], tuple[bool, str]]) -> Callable[[Any], tuple[bool, str]]:
    def check(c: Any) -> tuple[bool, str]:
        said = []
        for ch in checks:
            ok, what = ch(c)
            if not ok:
                return False, what
            said.append(what)
        return True, "; ".join(said)
    return check


def _client_isolated_from_api(c: Any) -> tuple[bool, str]:
    """The client's egress policy must still stand: client may reach web and DNS, not api."""
    from k8snetviz.questions.connect import connect

    conn = connect(c, "pod/default/client", "api", 80)
    if conn.ok:
        return False, ("client reaches api again: the policy client-egress must keep limiting the client (fix "
                       "DNS, do not remove the policy)")
    return True, "client still cannot reach api, as the policy wants"


# --- the broken clusters -----------------------------------------------------------------------------------

Edit = Callable[[list[dict[str, Any]]], None]


def _body(docs: list[dict[str, Any]], kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
    for d in docs:
        md = d.get("metadata") or {}
        if d.get("kind") == kind and md.get("name") == name and (md.get("namespace") or "default") == namespace:
            return d
    raise LookupError(f"{kind} {namespace}/{name}")


def _scenario_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d.get("kind") == "Scenario")["spec"]


@dataclass(frozen=True)
class Incident:
    """One broken cluster: what the user reports, how to tell it is fixed, and (hidden) why and how."""

    id: str
    ticket: str
    edit: Edit = field(repr=False)
    symptom: Callable[[Any], tuple[bool, str]] = field(repr=False)
    cause: str = ""
    fix: str = ""
    keep: Callable[[Any], tuple[bool, str]] | None = field(default=None, repr=False)
    extra: tuple[str, ...] = ()  # more documents (YAML) the broken cluster holds
    files: tuple[tuple[str, str], ...] = ()  # files on the terminal's host (a manifest someone left)

    def scenario(self) -> Scenario:
        """The broken cluster's documents: the healthy ``troubleshooting`` scenario with this one thing broken."""
        from k8snetviz.scenario.loader import parse_text

        base = read_scenario(BASE)
        docs = [copy.deepcopy(m.body) for m in base.manifests]
        self.edit(docs)
        for text in self.extra:
            docs += [m.body for m in parse_text(text).manifests]
        return Scenario(f"{BASE}/{self.id}", [Manifest(d, f"<incident {self.id}>", 0) for d in docs], base.text)

    def session(self) -> Session:
        """A terminal on the broken cluster, with the files the ticket mentions."""
        return Session(self.scenario(), files=dict(self.files))

    def check(self, answer: Any) -> CheckResult:
        """Is the symptom gone? ``answer``: the terminal session used, or the commands typed (run on the
        broken cluster)."""
        errors: list[str] = []
        if isinstance(answer, str) and is_commands(answer):
            s = self.session()
            errors = [f"`{o.command}` printed: {o.output.splitlines()[0]}" for o in s.feed(answer)
                      if o.status and o.output]
            answer = s
        outcome = resulting_cluster(self.scenario(), answer)
        outcome.errors += errors
        ok, what = self.symptom(outcome.cluster)
        if not ok:
            note = f" (your commands: {outcome.note()})" if outcome.errors else ""
            return CheckResult.fail(f"the user still sees it: {what}{note}")
        if self.keep is not None:
            kept, why = self.keep(outcome.cluster)
            if not kept:
                return CheckResult.fail(f"the symptom is gone, but {why}")
        return CheckResult.ok(f"the symptom is gone: {what}. The cause: {self.cause}")

    def task(self, number: int | None = None) -> Task:
        """The incident as a task: the ticket is the prompt; the solution reveals the cause and the fix."""
        from k8snetviz.course.tasks import Solution

        # The board numbers its tickets from #101 (the ticket's own text says so); the task's title says the same.
        title = f"Ticket #{100 + number}" if number is not None else f"Ticket {self.id}"
        return Task(title, self.ticket + " Investigate in the terminal, fix it, and check.", self.check,
                    Solution(self.fix, self.cause, language="bash"),
                    hints=[f"{q} {cmds}" for q, cmds in METHOD], start=self.session)


def _svc_selector(docs: list[dict[str, Any]]) -> None:
    _body(docs, "Service", "web")["spec"]["selector"] = {"app": "wbe"}


def _target_port(docs: list[dict[str, Any]]) -> None:
    _body(docs, "Service", "api")["spec"]["ports"][0]["targetPort"] = 9090


def _not_ready(docs: list[dict[str, Any]]) -> None:
    c = _body(docs, "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]
    c["readinessProbe"]["httpGet"]["port"] = 8081


def _coredns_zero(docs: list[dict[str, Any]]) -> None:
    docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
                 "spec": {"replicas": 0, "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                          "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
                                       "spec": {"nodeName": "kind-control-plane", "dnsPolicy": "Default",
                                                "containers": [{
                                                    "name": "coredns",
                                                    "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                                                    "ports": [{"name": "dns", "containerPort": 53,
                                                               "protocol": "UDP"},
                                                              {"name": "dns-tcp", "containerPort": 53,
                                                               "protocol": "TCP"},
                                                              {"name": "metrics", "containerPort": 9153,
                                                               "protocol": "TCP"}]}]}}}})


def _corefile(docs: list[dict[str, Any]]) -> None:
    from k8snetviz.agents.coredns.corefile import KUBEADM_COREFILE

    broken = KUBEADM_COREFILE.replace("kubernetes cluster.local in-addr.arpa", "kubernetes cluster.locl in-addr.arpa")
    docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": "kube-system"},
                 "data": {"Corefile": broken}})


_CLIENT_EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: client-egress
spec:
  podSelector:
    matchLabels: {app: client}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector:
        matchLabels: {app: web}
    ports:
    - port: 80
"""


def _no_edit(docs: list[dict[str, Any]]) -> None:
    return None


def _route(docs: list[dict[str, Any]]) -> None:
    _scenario_spec(docs)["overrides"] = [{"target": "node/kind-worker", "deleteRoutes": ["10.244.2.0/24"]}]


def _forwarding(docs: list[dict[str, Any]]) -> None:
    _scenario_spec(docs)["overrides"] = [{"target": "node/kind-worker2", "ipForward": False}]


def _kube_proxy(docs: list[dict[str, Any]]) -> None:
    spec = _body(docs, "DaemonSet", "kube-proxy", "kube-system")["spec"]["template"]["spec"]
    spec["nodeSelector"] = {"kubernetes.io/os": "windows"}


def _ingress_class(docs: list[dict[str, Any]]) -> None:
    _body(docs, "Ingress", "shop")["spec"]["ingressClassName"] = "nginx-internal"


_WEB_NP = """\
apiVersion: v1
kind: Service
metadata:
  name: web-np
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
    nodePort: 8080
"""

_WEB_PUBLIC = """\
apiVersion: v1
kind: Service
metadata:
  name: web-public
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
    nodePort: 30090
"""

INCIDENTS: tuple[Incident, ...] = (
    Incident("selector-typo",
             "Ticket #101: “Since this morning every page of the shop fails inside the cluster: `wget http://web` from "
             "our test pod `client` says connection refused. Nobody touched the pods.”",
             _svc_selector, _client_gets("web"),
             cause="the Service web selects app=wbe, a typo: no pod carries that label, so its EndpointSlice is "
                   "empty and kube-proxy rejects connections to it.",
             fix="kubectl set selector svc web app=web"),
    Incident("target-port",
             "Ticket #102: “The API is unreachable: `curl http://api` from the client pod is refused, although "
             "both api pods are Running and Ready.”",
             _target_port, _client_gets("api"),
             cause="the Service api sends to targetPort 9090, but the api containers listen on 8080: the packet "
                   "reaches a pod, nothing listens there, the pod answers with a reset.",
             fix="kubectl patch svc api --type=json -p='[{\"op\":\"replace\",\"path\":\"/spec/ports/0/targetPort\","
                 "\"value\":8080}]'"),
    Incident("not-ready",
             "Ticket #103: “After this morning's change to the api Deployment, every request to http://api is "
             "refused. `kubectl get pods` shows the api pods Running.”",
             _not_ready, _client_gets("api"),
             cause="the api pods' readiness probe checks port 8081, where nothing listens: the pods stay 0/1 Ready, "
                   "the EndpointSlice lists them as not ready, and kube-proxy rejects connections to api.",
             fix="kubectl patch deployment api --type=json -p='[{\"op\":\"replace\",\"path\":\"/spec/template/spec/"
                 "containers/0/readinessProbe/httpGet/port\",\"value\":8080}]'"),
    Incident("coredns-down",
             "Ticket #104: “Pods cannot resolve any name: `nslookup web` in the client pod times out. Pod IPs "
             "still work.”",
             _coredns_zero, _all(_resolves("web"), _resolves("example.com")),
             cause="the coredns Deployment in kube-system was scaled to zero: kube-dns has no endpoints, so every "
                   "query to 10.96.0.10 is rejected.",
             fix="kubectl -n kube-system scale deployment coredns --replicas=2"),
    Incident("corefile",
             "Ticket #105: “Names of our Services stopped resolving (`nslookup web` says NXDOMAIN), but "
             "example.com still resolves from the same pod.”",
             _corefile, _all(_resolves("web"), _resolves("example.com")),
             cause="the Corefile's kubernetes plugin serves the zone cluster.locl instead of cluster.local: cluster "
                   "names fall through to `forward`, whose upstream answers NXDOMAIN.",
             fix="kubectl -n kube-system get configmap coredns -o yaml > coredns.yaml\n"
                 "sed -i 's/cluster.locl/cluster.local/' coredns.yaml\nkubectl apply -f coredns.yaml"),
    Incident("netpol-dns",
             "Ticket #106: “Our client pod may only talk to web (that is on purpose). Since the security team's "
             "change it cannot even reach web by name: `wget http://web` says bad address, while "
             "`wget http://<web's cluster IP>` works.”",
             _no_edit, _all(_resolves("web"), _client_gets("web")),
             cause="the NetworkPolicy client-egress isolates the client for egress and allows only TCP 80 to the web "
                   "pods: DNS queries to CoreDNS (UDP and TCP 53) are dropped.",
             fix="cat <<EOF | kubectl apply -f -\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                 "  name: client-dns\nspec:\n  podSelector:\n    matchLabels: {app: client}\n  policyTypes: [Egress]\n"
                 "  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n"
                 "          kubernetes.io/metadata.name: kube-system\n      podSelector:\n"
                 "        matchLabels: {k8s-app: kube-dns}\n    ports:\n    - {protocol: UDP, port: 53}\n"
                 "    - {protocol: TCP, port: 53}\nEOF",
             keep=_client_isolated_from_api, extra=(_CLIENT_EGRESS,)),
    Incident("missing-route",
             "Ticket #107: “Requests from the client pod to the web pods fail about half of the time, with a "
             "timeout. It depends on which pod answers.”",
             _route, _every_web_pod,
             cause="kind-worker lost its route to kind-worker2's podCIDR 10.244.2.0/24 (kindnet writes it): "
                   "packets for pods on kind-worker2 follow the default route out of the cluster.",
             fix="ssh kind-worker\nip route add 10.244.2.0/24 via 172.18.0.4\nexit"),
    Incident("ip-forward",
             "Ticket #108: “Every pod on kind-worker2 is unreachable from pods on other nodes (timeouts); from "
             "kind-worker2 itself they answer.”",
             _forwarding, _every_web_pod,
             cause="net.ipv4.ip_forward is 0 on kind-worker2: the node receives the packets for its pods on eth0 "
                   "but does not pass them on to the pods' veths.",
             fix="ssh kind-worker2\nsysctl -w net.ipv4.ip_forward=1\nexit"),
    Incident("kube-proxy",
             "Ticket #109: “No Service works any more, anywhere in the cluster: names do not resolve and "
             "`wget http://<a Service's cluster IP>` times out. Pod IPs answer.”",
             _kube_proxy, _all(_client_gets("web"), _resolves("web")),
             cause="the kube-proxy DaemonSet got a nodeSelector kubernetes.io/os=windows: no node runs kube-proxy, "
                   "so no node has the KUBE-SERVICES rules and a cluster IP is an address nobody owns.",
             fix="kubectl -n kube-system patch daemonset kube-proxy --type=json "
                 "-p='[{\"op\":\"replace\",\"path\":\"/spec/template/spec/nodeSelector\","
                 "\"value\":{\"kubernetes.io/os\":\"linux\"}}]'"),
    Incident("ingress-class",
             "Ticket #110: “http://shop.example.com answers 404 from outside since the Ingress was re-created. "
             "Inside the cluster http://web works.”",
             _ingress_class, _shop_from_outside,
             cause="the Ingress shop names ingressClassName nginx-internal, a class that does not exist: no "
                   "controller serves it, so ingress-nginx answers every request for the host with its 404.",
             fix="kubectl patch ingress shop -p '{\"spec\":{\"ingressClassName\":\"nginx\"}}'"),
    Incident("nodeport-range",
             "Ticket #111: “We were asked to publish web on port 30080 of every node, with the manifest "
             "/root/web-np.yaml. http://172.18.0.3:30080 is refused.”",
             _no_edit, _node_port("kind-worker", 30080),
             cause="web-np.yaml asks for nodePort 8080, outside the node-port range 30000-32767: the API server "
                   "refused the Service, so it was never created.",
             fix="sed -i 's/nodePort: 8080/nodePort: 30080/' /root/web-np.yaml\nkubectl apply -f /root/web-np.yaml",
             files=(("/root/web-np.yaml", _WEB_NP),)),
    Incident("local-traffic",
             "Ticket #112: “Our monitoring calls http://172.18.0.2:30090 (kind-control-plane) and times out, while "
             "http://172.18.0.3:30090 works. The web pods are fine.”",
             _no_edit, _all(_node_port("kind-control-plane", 30090), _node_port("kind-worker", 30090)),
             cause="the Service web-public has externalTrafficPolicy: Local: a node without a web pod "
                   "(kind-control-plane runs none) drops traffic for the node port.",
             fix="kubectl patch svc web-public -p '{\"spec\":{\"externalTrafficPolicy\":\"Cluster\"}}'",
             extra=(_WEB_PUBLIC,)),
)


class Board:
    """The incident board: every ticket, numbered, with no cause in sight."""

    def text(self) -> str:
        return "\n".join(f"{n:2}. [{i.id}] {i.ticket}" for n, i in enumerate(INCIDENTS, 1))

    def __repr__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from html import escape

        items = "".join(f"<li><code>{escape(i.id)}</code>: {escape(i.ticket)}</li>" for i in INCIDENTS)
        return {"text/plain": self.text(), "text/html": f"<ol class='knv-incident-board'>{items}</ol>"}


def board() -> Board:
    """Every ticket, numbered: pick one with ``incident_named(ID)``, or let :func:`draw` pick."""
    return Board()


def incident_named(name: str) -> Incident:
    for i in INCIDENTS:
        if i.id == name:
            return i
    raise LookupError(f"no incident {name!r}: {', '.join(i.id for i in INCIDENTS)}")


def draw(seed: int | None = None) -> Incident:
    """An incident at random (``seed`` makes the draw repeatable)."""
    return random.Random(seed).choice(INCIDENTS)


def terminal(incident: Incident, *, height: str = "24em") -> Any:
    """The notebook terminal on the incident's broken cluster; pass it to ``incident.check``."""
    from k8snetviz.course.shell.widget import terminal_widget

    return terminal_widget(incident.session(), height=height, title=f"terminal: {incident.ticket[:40]}…")


# --- the exam sprint -----------------------------------------------------------------------------------

@dataclass
class Sprint:
    """A timed set of tasks, each worth ``points``; ``clock()`` gives seconds (``time.monotonic`` unless told).

    >>> t = [0.0]
    >>> s = Sprint([incident_named("selector-typo").task(1)], minutes=10, clock=lambda: t[0])
    >>> s.start()
    >>> t[0] = 125.0
    >>> s.submit(0, "kubectl set selector svc web app=web").passed
    True
    >>> print(s.score())
    1/1 tasks, 7/7 points in 2:05 (limit 10:00)
    """

    tasks: Sequence[Task]
    minutes: int = 20
    points: Sequence[int] = ()
    clock: Callable[[], float] = time.monotonic
    started: float | None = None
    solved: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.points:
            self.points = [7] * len(self.tasks)

    def start(self) -> None:
        self.started = self.clock()
        self.solved.clear()

    def elapsed(self) -> float:
        return 0.0 if self.started is None else self.clock() - self.started

    def over(self) -> bool:
        return self.elapsed() > self.minutes * 60

    def terminal(self, index: int, *, height: str = "22em") -> Any:
        """The notebook terminal on task ``index``'s cluster; submit it (or commands) with :meth:`submit`."""
        return self.tasks[index].terminal(height=height)

    def submit(self, index: int, answer: Any) -> CheckResult:
        """Check task ``index``; a right answer scores only before the time is up."""
        if self.started is None:
            self.start()
        result = self.tasks[index].check(answer)
        if result.passed and not self.over():
            self.solved.setdefault(index, self.elapsed())
        elif result.passed:
            result = CheckResult(True, [*result.messages, f"(after the {self.minutes} minutes: no points)"],
                                 result.proof)
        return result

    def score(self) -> str:
        got = sum(self.points[i] for i in self.solved)
        total = sum(self.points)
        mins, secs = divmod(int(self.elapsed()), 60)
        return (f"{len(self.solved)}/{len(self.tasks)} tasks, {got}/{total} points in {mins}:{secs:02d} "
                f"(limit {self.minutes}:00)")

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        lines = [f"Exam sprint: {len(self.tasks)} tasks, {self.minutes} minutes. Start with sprint.start(); open "
                 "task N's cluster with sprint.terminal(N); submit with sprint.submit(N, answer) (commands, or the "
                 "terminal); see sprint.score()."]
        lines += [f"{i}. [{p} points] {t.title}: {t.prompt}" for i, (t, p) in enumerate(zip(self.tasks, self.points,
                                                                                             strict=True))]
        text = "\n".join(lines)
        from html import escape

        html = "<div class='knv-sprint'><p><b>" + escape(lines[0]) + "</b></p><ol start='0'>" + "".join(
            f"<li>[{p} points] <b>{escape(t.title)}</b>: {escape(t.prompt)}</li>"
            for t, p in zip(self.tasks, self.points, strict=True)) + "</ol></div>"
        return {"text/plain": text, "text/html": html}


def sprint(*, minutes: int = 20, seed: int | None = None, size: int = 5,
           clock: Callable[[], float] = time.monotonic) -> Sprint:
    """The exam sprint: ``size`` tasks at random (repeatable with ``seed``): incidents and the course's imperative
    tasks, as the exam mixes them."""
    rng = random.Random(seed)
    pool: list[Task] = [i.task(n) for n, i in enumerate(INCIDENTS, 1)] + imperative_tasks()
    chosen = rng.sample(pool, min(size, len(pool)))
    return Sprint(chosen, minutes=minutes, clock=clock)


def imperative_tasks() -> list[Task]:
    """The course's tasks solved with commands, one terminal each (the sprint draws from them)."""
    from k8snetviz.course import cni_tasks as ct
    from k8snetviz.course import dns_tasks as dt
    from k8snetviz.course import ingress_tasks as it
    from k8snetviz.course import pod_networking as pn
    from k8snetviz.course import policy_tasks as pt
    from k8snetviz.course import services_tasks as st

    return [pn.task_ip_forward(), pn.task_missing_route(), ct.task_kindnet_routes(), st.task_fix_selector(),
            st.task_nodeport(), st.task_keep_client_ip(), it.task_api_ingress(), it.task_serve_legacy(),
            it.task_admit_preview(), it.task_canary_half(), dt.task_db_alias(), pt.task_scrape_metrics()]


def _numbered(name: str) -> Task:
    i = next(n for n, inc in enumerate(INCIDENTS, 1) if inc.id == name)
    return INCIDENTS[i - 1].task(i)


def task_ticket_103() -> Task:
    """Guided practice: a workload's pods are not ready."""
    return _numbered("not-ready")


def task_ticket_106() -> Task:
    """Guided practice: names do not resolve from one pod."""
    return _numbered("netpol-dns")


def task_ticket_107() -> Task:
    """Guided practice: some connections time out, depending on the pod."""
    return _numbered("missing-route")
