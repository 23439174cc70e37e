"""The predictions, tasks, checkers and solutions of notebooks 04 (Services) and 05 (exposing Services).

Every answer is a fact the model computes from the shipped scenarios ``services`` and ``influxdb``;
``tests/test_service_walk.py`` checks the solutions against the checkers, so a model change that makes a
question wrong fails the tests.

>>> task_nodeport().check(NODEPORT_SOLUTION).passed
True
>>> print(task_keep_client_ip().check(INFLUXDB_YAML))
✘ not yet: influxdb still sees 172.18.0.3 (node kind-worker's address) as its client, not the laptop's 172.18.0.100: \
the node that received the packet masqueraded it (externalTrafficPolicy: Cluster)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import k8snetviz
from k8snetviz.api.endpointslices import selects, slices_for
from k8snetviz.course.quiz import Predict
from k8snetviz.course.tasks import CheckResult, Solution, Task, resulting_cluster
from k8snetviz.course.terminal import CommandOutput
from k8snetviz.questions.exposure import describe_address
from k8snetviz.scenario.loader import parse_text
from k8snetviz.views.kubectl_services import describe_service, get_services

if TYPE_CHECKING:
    from k8snetviz.api.services import Service
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = [
    "SERVICES", "INFLUXDB", "LAPTOP", "INFLUXDB_YAML", "NODEPORT_SOLUTION", "API_SOLUTION", "FIX_SELECTOR_COMMAND",
    "LOCAL_SOLUTION", "KEEP_CLIENT_IP_COMMAND",
    "iptables_grep", "describe", "get_svc", "chain_of", "service_checker",
    "predict_icmp", "predict_target_port", "predict_second_probability", "predict_no_endpoints",
    "predict_headless", "predict_external_name", "task_fix_selector",
    "predict_nodeport_anywhere", "predict_lb_has_nodeport", "predict_cluster_client_ip", "predict_local_drop",
    "predict_health_check", "task_nodeport", "task_keep_client_ip",
    "services_predictions", "services_tasks", "exposing_predictions", "exposing_tasks",
    "BRIDGE_SCENARIO", "WEB_ON_A_BRIDGE", "BRIDGE_NF_OFF", "bridge_cluster", "predict_reply_source",
    "predict_bridge_nf", "predict_proxy_mode", "task_headless", "task_affinity", "HEADLESS_SOLUTION",
    "AFFINITY_SOLUTION", "predict_lb_destination", "predict_instance_mode", "task_no_node_ports",
    "NO_NODE_PORTS_SOLUTION", "predict_host_network", "predict_host_port", "predict_port_forward",
    "predict_dual_stack", "DUAL_STACK", "dual_stack_fields",
]

SERVICES = "services"
INFLUXDB = "influxdb"
LAPTOP = "172.18.0.100"


# --- real commands the notebooks show ------------------------------------------------------------------

def iptables_grep(cluster: Cluster, node: str, pattern: str, table: str = "nat") -> CommandOutput:
    """``iptables-save -t TABLE | grep PATTERN`` on ``node``: the lines of that table that contain it."""
    lines, inside = [], False
    for line in cluster.iptables(node).splitlines():
        if line.startswith("*"):
            inside = line[1:] == table
        elif inside and pattern in line:
            lines.append(line)
    return CommandOutput(f"root@{cluster.node(node).name}:/#", f"iptables-save -t {table} | grep {pattern}",
                         "\n".join(lines))


def describe(cluster: Cluster, service: str) -> CommandOutput:
    """``kubectl describe svc NAME``."""
    svc = cluster.service(service)
    return CommandOutput("$", f"kubectl describe svc {svc.name}" + ("" if svc.namespace == "default" else
                         f" -n {svc.namespace}"), describe_service(svc, slices_for(cluster.endpointslices, svc)))


def chain_of(cluster: Cluster, service: str) -> str:
    """The ``KUBE-SVC-…`` chain kube-proxy made for the service's first port (read from KUBE-SERVICES)."""
    svc = cluster.service(service)
    node = next(iter(cluster.nodes))
    for line in cluster.iptables(node).splitlines():
        if line.startswith("-A KUBE-SERVICES ") and f"-d {svc.cluster_ip}/32" in line and "-j KUBE-SVC-" in line:
            return line.rsplit("-j ", 1)[1]
    raise LookupError(f"no KUBE-SVC chain for {svc.key}")


def get_svc(cluster: Cluster, *names: str) -> CommandOutput:
    """``kubectl get svc NAME …``, as kubectl prints it."""
    svcs = [cluster.service(n) for n in names]
    return CommandOutput("$", "kubectl get svc " + " ".join(s.name for s in svcs), get_services(svcs))


# --- notebook 04: Services ------------------------------------------------------------------------------

def predict_icmp() -> Predict:
    c = k8snetviz.load(SERVICES)
    ip = c.service("web").cluster_ip
    return Predict(
        f"From the pod client, `ping {ip}` (web's cluster IP, a Service on TCP port 80 with three ready pods). "
        "What happens?",
        ["the pods answer: the Service passes the ping to one of them",
         "no answer: no interface holds the cluster IP, and kube-proxy only rewrites TCP to port 80",
         "the node answers, because kube-proxy owns the address"],
        answer="no answer: no interface holds the cluster IP, and kube-proxy only rewrites TCP to port 80",
        explanation="A cluster IP is not on any interface: it exists only as a match in kube-proxy's rules "
                    f"(`-d {ip}/32 -p tcp --dport 80`). An ICMP echo matches none of them, so it is routed like any "
                    "unknown address: out of the default route, where nobody answers. The Service is the pair "
                    "(IP, port/protocol), not the IP alone. (In kube-proxy's IPVS mode it is different: every "
                    "cluster IP sits on the node's dummy device kube-ipvs0, so the node itself answers a ping.)",
        reveal=lambda: c.trace("default/client", f"{ip}:80", protocol="ICMP"),
    )


def predict_target_port() -> Predict:
    c = k8snetviz.load(SERVICES)
    return Predict(
        "web is `port: 80, targetPort: http`; the pods declare `containerPort: 8080` named http. client connects "
        "to web:80. On which port does the packet reach a pod?",
        ["80", "8080", "http is not a port: the connection fails"],
        answer="8080",
        explanation="A named targetPort is looked up in each pod's container ports: `http` is 8080, so the "
                    "endpoints are POD-IP:8080 and kube-proxy's DNAT rewrites 80 to 8080. The Service's port and the "
                    "pod's port need not be equal, and a name lets pods change the number without touching the "
                    "Service.",
        reveal=lambda: (c.get("endpointslices"), c.trace("default/client", "svc/default/web:80")),
    )


def predict_second_probability() -> Predict:
    c = k8snetviz.load(SERVICES)
    chain = chain_of(c, "web")
    return Predict(
        f"web has three endpoints. In {chain} the first jump has `--probability 0.33333333349`. What does the "
        "second jump say, so that each pod gets a third of the connections?",
        ["0.33333333349", "0.50000000000", "0.66666666651", "nothing: the last rule takes whatever is left"],
        answer="0.50000000000",
        explanation="The rules are tried in order. The first takes 1/3; of the 2/3 that fall through, the second "
                    "takes half (1/2 × 2/3 = 1/3); the third has no probability and takes the rest (1/3). With n "
                    "endpoints the probabilities are 1/n, 1/(n-1), …, 1/2, and nothing on the last.",
        wrong={"nothing: the last rule takes whatever is left": "True for the third (last) rule, but the second "
               "still needs its own probability."},
        reveal=lambda: iptables_grep(c, "kind-worker", chain),
    )


def predict_no_endpoints() -> Predict:
    c = k8snetviz.load(SERVICES)
    return Predict(
        "The Service api selects `app: api`, and no pod carries that label. What does client see when it connects "
        "to api:80?",
        ["the connection hangs until it times out",
         "it is refused at once (connection refused)",
         "it reaches a random pod in the namespace"],
        answer="it is refused at once (connection refused)",
        explanation="With no endpoints kube-proxy writes no KUBE-SVC chain; it puts a REJECT rule for the cluster "
                    "IP and port into the filter table (`has no endpoints`), which answers with ICMP "
                    "port-unreachable: the client sees connection refused at once. `kubectl get endpointslices` "
                    "shows the empty slice; check the selector against the pods' labels.",
        reveal=lambda: (c.get("endpoints"), c.trace("default/client", "svc/default/api:80")),
    )


def predict_headless() -> Predict:
    c = k8snetviz.load(SERVICES)
    return Predict(
        "web-headless has `clusterIP: None`. What does a client get when it looks up web-headless?",
        ["one virtual IP, as for any Service",
         "the ready pods' own IP addresses: there is no virtual IP and no kube-proxy rule",
         "nothing: a headless Service has no endpoints"],
        answer="the ready pods' own IP addresses: there is no virtual IP and no kube-proxy rule",
        explanation="A headless Service still has endpoints (its EndpointSlice lists the pods), but no cluster IP, "
                    "so kube-proxy writes nothing for it. Cluster DNS answers its name with one A record per ready "
                    "pod and the client picks one itself (StatefulSets rely on this for stable per-pod names).",
        reveal=lambda: (c.get("endpointslices"), c.trace("default/client", "svc/default/web-headless:8080")),
    )


def predict_external_name() -> Predict:
    c = k8snetviz.load(SERVICES)
    return Predict(
        "db is `type: ExternalName` with `externalName: db.example.com`. What does it give a client?",
        ["a cluster IP that kube-proxy forwards to db.example.com",
         "a DNS alias: looking up db returns a CNAME to db.example.com; nothing proxies the traffic",
         "an Endpoints object with db.example.com's address"],
        answer="a DNS alias: looking up db returns a CNAME to db.example.com; nothing proxies the traffic",
        explanation="ExternalName exists only in DNS: no cluster IP, no endpoints, no kube-proxy rules. The client "
                    "resolves the CNAME and connects straight to the outside name's address.",
        reveal=lambda: (get_svc(c, "db"), c.trace("default/client", "svc/default/db:80")),
    )


def _one_service(answer: str) -> tuple[dict, list[str]]:
    docs = [m.body for m in parse_text(answer, source="<your YAML>").manifests]
    return next((d for d in docs if d.get("kind") == "Service"), {}), [str(d.get("kind")) for d in docs]


def _selector_problem(cluster: Cluster, svc: Service, app: str) -> str | None:
    want = [p for p in cluster.pods.values() if p.labels.get("app") == app and p.namespace == svc.namespace]
    if svc.selector is None:
        return "the Service has no selector, so no EndpointSlice is made for it: select the pods with `app: " + \
            app + "`"
    if not any(selects(svc.selector, p.labels) for p in want):
        said = ", ".join(f"{k}={v}" for k, v in svc.selector.items())
        return f"the selector {said} matches none of the {app} pods (their labels: app={app})"
    return None


def service_checker(scenario: str, source: str, *, app: str = "web", want_type: str | None = None,
                    node_port: int | None = None, port: int | None = None, target_port: int = 8080,
                    entry_node: str = "kind-worker", name: str | None = None) -> Callable[[Any], CheckResult]:
    """A checker for "make a Service that …", graded on the cluster the answer leaves (its YAML applied, or its
    commands run: ``kubectl expose``, ``kubectl create service``, ``kubectl patch``): the Service ``name`` (or,
    without one, the Service the answer added) is checked for type, nodePort and selector, and a trace from
    ``source`` (through ``entry_node``'s node port for an outside source) must reach an ``app`` pod on
    ``target_port``."""

    def check(answer: Any) -> CheckResult:
        outcome = resulting_cluster(scenario, answer)
        body: dict[str, Any] = {}
        if outcome.form == "yaml":
            body, kinds = _one_service(answer)
            if not body:
                return CheckResult.fail("your YAML holds no Service (" + (", ".join(kinds) or "no document") +
                                        "): write `kind: Service` with `apiVersion: v1`, or the kubectl commands")
        cluster = outcome.cluster
        if name is not None:
            svc = cluster.services.get(f"default/{name}")
            if svc is None:
                return CheckResult.fail(f"there is no Service {name} any more: change it, do not delete it")
            written = (body.get("metadata") or {}).get("name")
            if written and written != name:
                problems = [f"your YAML writes the Service {written}, but the task is about {name}: a Service under "
                            f"another name leaves {name} as it was (kubectl apply changes the object of the same "
                            "name)"]
                sel = _selector_problem(cluster, svc, app)
                return CheckResult.fail(*problems, *([f"{name}: {sel}"] if sel else []))
        else:
            before = set(k8snetviz.load(scenario).services)
            added = [s for k, s in cluster.services.items() if k not in before]
            if not added:
                return CheckResult.fail("no new Service: create one (kubectl expose, kubectl create service, or "
                                        "YAML)" + (f" ({outcome.note()})" if outcome.errors else ""))
            svc = next((s for s in added if want_type is None or s.type == want_type), added[0])
        problems = []
        if want_type and svc.type != want_type:
            problems.append(f"the Service is type {svc.type}; it must be {want_type}")
        first = svc.ports[0] if svc.ports else None
        if first is None:
            problems.append("the Service has no ports")
        if node_port and first is not None and first.node_port != node_port:
            asked = outcome.form != "yaml" or any((p or {}).get("nodePort")
                                                  for p in (body.get("spec") or {}).get("ports") or [])
            got = f"{first.node_port}" + ("" if asked else " (allocated, as none was asked for)") \
                if first.node_port else "none"
            problems.append(f"its node port is {got}, not {node_port}: set `nodePort: {node_port}` in the port")
        if port and first is not None and first.port != port:
            problems.append(f"its port is {first.port}, not {port}")
        sel = _selector_problem(cluster, svc, app)
        if sel:
            problems.append(sel)
        if problems or first is None:
            if outcome.errors:
                problems.append(f"(your commands: {outcome.note()})")
            return CheckResult.fail(*problems)
        outside = source.startswith("external")
        dst = f"node/{entry_node}:{first.node_port}" if outside else f"svc/{svc.key}:{first.port}"
        t = cluster.trace(source, dst)
        if not t.delivered:
            return CheckResult.fail(f"{source} → {dst} is {t.verdict}: {t.reason}", proof=t)
        pod = cluster.pods.get(t.final["pod"] or "") if t.final else None
        got_port = int(str(t.final["dst"]).rsplit(":", 1)[1]) if t.final else 0
        if pod is None or pod.labels.get("app") != app:
            return CheckResult.fail(f"the packet reached {t.final and t.final['pod']}, not a {app} pod", proof=t)
        if got_port != target_port:
            return CheckResult.fail(f"the packet reaches {pod.name} on port {got_port}, but {app} listens on "
                                    f"{target_port}: set `targetPort: {target_port}` (or the port's name, http)",
                                    proof=t)
        final = t.final or {}
        return CheckResult.ok(f"{source} → {dst} reaches {pod.name} on {final.get('dst')}; kube-proxy could pick any "
                              f"of {len(t.candidates) or 1} pods.", proof=t)

    return check


FIX_SELECTOR_COMMAND = "kubectl set selector svc api app=web"
API_SOLUTION = """\
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
"""


def task_fix_selector() -> Task:
    return Task(
        "Give api endpoints",
        "Connections to the Service api are refused. Fix api (same name, port 80) so that it sends to the pods "
        "of the Deployment web, which listen on 8080: with kubectl commands, as in the exam, or with the "
        "Service's YAML. The checker runs or applies your answer and traces client → api:80.",
        service_checker(SERVICES, "default/client", port=80, name="api"),
        Solution(FIX_SELECTOR_COMMAND, "api's selector `app: api` matched no pod, so its EndpointSlice was empty "
                 "and kube-proxy rejected connections. `kubectl get pods --show-labels` shows the pods carry "
                 "`app: web`; `kubectl set selector` replaces the selector (all of it), the EndpointSlice fills "
                 "and the REJECT rule is replaced by a KUBE-SVC chain. `kubectl edit svc api`, `kubectl patch svc "
                 "api -p '{\"spec\":{\"selector\":{\"app\":\"web\"}}}'` or applying `API_SOLUTION`'s YAML "
                 "do the same; `kubectl get endpointslices -l kubernetes.io/service-name=api` checks it.",
                 language="bash"),
        hints=["`kubectl describe svc api` shows the selector and `Endpoints: <none>`.",
               "Compare the selector with `kubectl get pods --show-labels`."],
        start=SERVICES,
    )


# --- NAT, conntrack and br_netfilter ---------------------------------------------------------------------

BRIDGE_SCENARIO = "flannel-vxlan"  # pods on a cni0 bridge, a web pod beside the client on kind-worker
WEB_ON_A_BRIDGE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
"""
BRIDGE_NF_OFF = """\
apiVersion: k8snetviz.dev/v1alpha1
kind: Scenario
metadata:
  name: bridge-nf-off
spec:
  overrides:
  - target: node/kind-worker
    bridgeNfCallIptables: false
"""


def bridge_cluster(bridge_nf_call_iptables: bool = True) -> Cluster:
    """flannel's cluster with a Service web: client and one web pod hang on kind-worker's bridge cni0."""
    extra = WEB_ON_A_BRIDGE + ("" if bridge_nf_call_iptables else "---\n" + BRIDGE_NF_OFF)
    return k8snetviz.load(BRIDGE_SCENARIO, extra)


def _neighbour_web(c: Cluster) -> str:
    """The web pod on the client's node."""
    node = c.pod("default/client").node_name
    return next(p.key for p in sorted(c.pods.values(), key=lambda p: p.key)
                if p.labels.get("app") == "web" and p.node_name == node)


def predict_reply_source() -> Predict:
    c = k8snetviz.load(SERVICES)
    ip = c.service("web").cluster_ip
    return Predict(
        f"client connects to web's cluster IP, {ip}:80. kube-proxy's DNAT sends the packet to a pod, which answers "
        "from its own address, POD-IP:8080. From which address and port does client see the answer arrive?",
        ["POD-IP:8080, the pod's own address", f"{ip}:80, the cluster IP it connected to",
         "the node's address"],
        answer=f"{ip}:80, the cluster IP it connected to",
        explanation="conntrack keeps one entry per connection, with the tuple as sent and the tuple as rewritten. "
                    "The first packet's DNAT is recorded there; each reply is matched against the entry and "
                    "rewritten back, its source becoming the cluster IP again, without evaluating any rule. A "
                    "client that saw POD-IP:8080 would drop the answer: its socket is connected to the cluster IP.",
        wrong={"POD-IP:8080, the pod's own address": "That is what the pod sends; conntrack changes it on the way "
               "back, at the node that did the DNAT."},
        reveal=lambda: c.trace("default/client", "svc/default/web:80"),
    )


def predict_bridge_nf() -> Predict:
    on, off = bridge_cluster(True), bridge_cluster(False)
    web = _neighbour_web(on)
    return Predict(
        "flannel's set-up: client and a web pod hang on the same bridge cni0 of kind-worker. client connects to "
        "web's cluster IP, and the DNAT picks the pod beside it, so its reply is bridged from port to port, not "
        "routed. On this node `net.bridge.bridge-nf-call-iptables` is 0. What happens to the connection?",
        ["it works: conntrack undoes the DNAT wherever the reply goes",
         "it fails: the bridged reply skips iptables, keeps the pod's address, and client finds no connection "
         "for it",
         "it works, but client sees the pod's address"],
        answer="it fails: the bridged reply skips iptables, keeps the pod's address, and client finds no "
               "connection for it",
        explanation="The NAT hooks belong to the IP layer. A frame that a bridge forwards between two of its ports "
                    "never reaches them unless the br_netfilter module is loaded and "
                    "net.bridge.bridge-nf-call-iptables = 1. With 0 the reply keeps POD-IP:80 as its source, "
                    "while client's socket waits for the cluster IP: the kernel finds no connection for it. "
                    "That is why plugins that put pods on a Linux bridge (bridge, flannel) need the setting; "
                    "kubeadm checked it before v1.30. Pod to pod across nodes is routed, so it does not matter there.",
        reveal=lambda: (on.trace("default/client", "svc/default/web:80", endpoint=web),
                        off.trace("default/client", "svc/default/web:80", endpoint=web)),
    )


def predict_proxy_mode() -> Predict:
    c = k8snetviz.load(SERVICES)
    return Predict(
        "A kubeadm cluster's ConfigMap `kube-system/kube-proxy` says `mode: \"\"` in its config.conf. Which mode "
        "does kube-proxy run in on its Linux nodes?",
        ["none: kube-proxy does nothing", "iptables, the default on Linux", "nftables, the newest mode",
         "ipvs"],
        answer="iptables, the default on Linux",
        explanation="An empty mode means the default, which is iptables on Linux (nftables is GA since v1.33 but "
                    "not the default; ipvs is deprecated since v1.35). kube-proxy says which one it picked when it "
                    "starts: `kubectl -n kube-system logs ds/kube-proxy | grep Proxier` prints \"Using iptables "
                    "Proxier\", and on a node `curl -s localhost:10249/proxyMode` answers iptables.",
        reveal=lambda: c.inspect(),
    )


HEADLESS_SOLUTION = """\
apiVersion: v1
kind: Service
metadata:
  name: web-peers
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 8080
    targetPort: 8080
"""


def _headless_check(answer: str) -> CheckResult:
    body, kinds = _one_service(answer)
    if not body:
        return CheckResult.fail("your YAML holds no Service (" + (", ".join(kinds) or "no document") + ")")
    name = (body.get("metadata") or {}).get("name")
    if name != "web-peers":
        return CheckResult.fail(f"name the Service web-peers, not {name}")
    c = k8snetviz.load(SERVICES, answer)
    svc = c.service("web-peers")
    if not svc.headless:
        return CheckResult.fail(f"web-peers got the cluster IP {svc.cluster_ip}: a headless Service says "
                                "`clusterIP: None`, and only at creation (the field cannot change later)")
    sel = _selector_problem(c, svc, "web")
    if sel:
        return CheckResult.fail(sel)
    answers = c.resolve("default/client", "web-peers")
    got = sorted(a["data"] for a in answers.to_dict()["answers"] if a["type"] == "A")
    want = sorted(str(p.ip) for p in c.pods.values() if p.labels.get("app") == "web")
    if got != want:
        return CheckResult.fail(f"web-peers resolves to {', '.join(got) or 'nothing'}, not the web pods "
                                f"({', '.join(want)})", proof=answers)
    return CheckResult.ok(f"web-peers resolves to the {len(got)} web pods themselves ({', '.join(got)}): no "
                          "virtual IP, no kube-proxy rule.", proof=answers)


def task_headless() -> Task:
    return Task(
        "A headless Service for web's pods",
        "The pods of web must find each other by name: write a headless Service web-peers that selects them, port "
        "8080 (their port), so that looking up web-peers returns every web pod's own address. The checker "
        "resolves web-peers from client.",
        _headless_check,
        Solution(HEADLESS_SOLUTION, "`clusterIP: None` makes the Service headless: no virtual IP, so kube-proxy "
                 "writes nothing, and CoreDNS answers the name with one A record per ready endpoint. "
                 "`kubectl create service clusterip web-peers --clusterip=None --tcp=8080:8080` writes one, but "
                 "selects `app=web-peers`: fix the selector. `kubectl expose deployment web --name web-peers "
                 "--cluster-ip=None --port 8080` selects web's pods directly."),
        hints=["The field is `spec.clusterIP`; its value is the word None."],
    )


AFFINITY_SOLUTION = """\
apiVersion: v1
kind: Service
metadata:
  name: web-sticky10
spec:
  selector:
    app: web
  sessionAffinity: ClientIP
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: 600
  ports:
  - port: 80
    targetPort: 8080
"""


def _affinity_check(answer: str) -> CheckResult:
    body, _ = _one_service(answer)
    name = (body.get("metadata") or {}).get("name") if body else None
    if name != "web-sticky10":
        return CheckResult.fail("write a Service named web-sticky10")
    base = service_checker(SERVICES, "default/client", port=80)(answer)
    if not base.passed:
        return base
    c = k8snetviz.load(SERVICES, answer)
    svc = c.service("web-sticky10")
    if svc.session_affinity != "ClientIP":
        return CheckResult.fail(f"sessionAffinity is {svc.session_affinity}: set `sessionAffinity: ClientIP`")
    timeout = ((((body.get("spec") or {}).get("sessionAffinityConfig") or {}).get("clientIP") or {})
               .get("timeoutSeconds"))
    if timeout != 600:
        said = "the default, 10800 s (three hours)" if timeout is None else f"{timeout} s"
        return CheckResult.fail(f"the affinity lasts {said}, not ten minutes: set "
                                "`sessionAffinityConfig.clientIP.timeoutSeconds: 600`")
    rules = iptables_grep(c, "kind-worker", "--seconds 600")
    return CheckResult.ok("each client address keeps its pod for 600 s: kube-proxy checks `-m recent --rcheck "
                          "--seconds 600` before choosing at random.", proof=rules)


def task_affinity() -> Task:
    return Task(
        "Keep each client on one pod for ten minutes",
        "Write a Service web-sticky10 in front of web's pods (port 80 to their 8080) that sends all connections "
        "from one client address to the same pod for ten minutes. The checker traces client → web-sticky10:80 "
        "and reads kube-proxy's rules.",
        _affinity_check,
        Solution(AFFINITY_SOLUTION, "`sessionAffinity: ClientIP` makes kube-proxy remember each client address "
                 "with the `recent` match and send it to the same KUBE-SEP while the entry lives; "
                 "`sessionAffinityConfig.clientIP.timeoutSeconds` sets how long (default 10800 s, three hours). "
                 "The affinity is per node and per client address: clients behind one NAT share one pod."),
        hints=["Two fields in the Service's spec: the kind of affinity, and its timeout in seconds."],
    )


def services_predictions() -> list[Predict]:
    return [predict_icmp(), predict_target_port(), predict_reply_source(), predict_bridge_nf(),
            predict_second_probability(), predict_proxy_mode(), predict_no_endpoints(),
            predict_headless(), predict_external_name()]


def services_tasks() -> list[Task]:
    return [task_fix_selector(), task_headless(), task_affinity()]


# --- notebook 05: exposing Services ------------------------------------------------------------------------

def predict_nodeport_anywhere() -> Predict:
    c = k8snetviz.load(SERVICES)
    return Predict(
        "web-nodeport is a NodePort Service on 30100. No web pod runs on kind-control-plane. The laptop connects "
        "to kind-control-plane's address on port 30100. What happens?",
        ["refused: there is no pod on that node",
         "delivered: the node forwards it to a web pod on another node, with the node's own address as source",
         "delivered, and the pod sees the laptop's address"],
        answer="delivered: the node forwards it to a web pod on another node, with the node's own address as source",
        explanation="kube-proxy writes the node port on every node. With externalTrafficPolicy: Cluster (the "
                    "default) any node accepts, DNATs to any endpoint and, because the reply must come back through "
                    "it, masquerades the source to its own address (KUBE-MARK-MASQ, then MASQUERADE in "
                    "KUBE-POSTROUTING). The extra hop costs latency and hides the client.",
        reveal=lambda: c.trace("external", "node/kind-control-plane:30100"),
    )


def predict_lb_destination() -> Predict:
    c = k8snetviz.load(INFLUXDB)
    svc = c.service("influxdb")
    lb, node_port = svc.load_balancer_ips[0], svc.ports[0].node_port
    return Predict(
        f"MetalLB in layer 2 mode gives influxdb the EXTERNAL-IP {lb}: one node answers ARP for that address, so "
        f"the laptop's packets for {lb}:8086 reach that node unchanged. What does kube-proxy on the node match?",
        [f"the destination {lb}:8086 itself: KUBE-SERVICES has a rule for the load-balancer IP that jumps to "
         "KUBE-EXT",
         f"the node port {node_port}: KUBE-NODEPORTS",
         "nothing: MetalLB rewrites the packet to a pod address before it arrives"],
        answer=f"the destination {lb}:8086 itself: KUBE-SERVICES has a rule for the load-balancer IP that jumps to "
               "KUBE-EXT",
        explanation="kube-proxy writes one rule per load-balancer address into KUBE-SERVICES (`loadbalancer IP`), "
                    "so a node that receives the packet with that destination handles it directly: KUBE-EXT, then "
                    "the KUBE-SVC chain every Service port has. No node port is involved. MetalLB (L2 or BGP mode) "
                    "only makes the address reach a node: it is a load-balancer implementation for clusters without "
                    "a cloud, not a cloud controller, and it never touches the packet.",
        wrong={f"the node port {node_port}: KUBE-NODEPORTS": "That is the path of a cloud load balancer that "
               "targets node ports (next question). Here the destination is still the EXTERNAL-IP."},
        reveal=lambda: c.trace("external", f"{lb}:8086"),
    )


def predict_lb_has_nodeport() -> Predict:
    c = k8snetviz.load(INFLUXDB)
    return Predict(
        "influxdb is `type: LoadBalancer` on port 8086. Does it also have a node port?",
        ["no: a LoadBalancer replaces the node port",
         "yes, by default: `allocateLoadBalancerNodePorts` is true, for load balancers that send to node ports",
         "only if you ask for one"],
        answer="yes, by default: `allocateLoadBalancerNodePorts` is true, for load balancers that send to node ports",
        explanation="PORT(S) reads 8086:3xxxx/TCP: the second number is a node port from 30000-32767, as for a "
                    "NodePort Service. Many cloud load balancers (in instance mode) forward to NODE-IP:nodePort, so "
                    "the API server allocates one unless `spec.allocateLoadBalancerNodePorts: false` says the "
                    "load balancer does not need it (MetalLB, or a load balancer that sends to pod IPs). A "
                    "LoadBalancer is also a ClusterIP Service: every way in leads to the same KUBE-SVC chain.",
        reveal=lambda: get_svc(c, "influxdb"),
    )


def predict_instance_mode() -> Predict:
    c = k8snetviz.load(INFLUXDB)
    svc = c.service("influxdb")
    node_port = svc.ports[0].node_port
    return Predict(
        f"Now a cloud load balancer in instance mode: it sends the laptop's connection to a node's address on "
        f"influxdb's node port, kind-worker:{node_port}. Which kube-proxy chain takes it first after KUBE-SERVICES?",
        ["KUBE-NODEPORTS, then the Service's KUBE-EXT chain", "KUBE-EXT directly, by the load-balancer IP rule",
         "KUBE-SVL: instance mode always keeps the traffic on the node"],
        answer="KUBE-NODEPORTS, then the Service's KUBE-EXT chain",
        explanation="The destination is now the node's own address, so no per-Service rule of KUBE-SERVICES "
                    "matches; its last rule sends packets for a local address to KUBE-NODEPORTS, which matches "
                    f"the port {node_port} and jumps to the same KUBE-EXT chain as before. Both ways end in one "
                    "KUBE-SVC chain; only the entry differs.",
        reveal=lambda: c.trace("external", f"node/kind-worker:{node_port}"),
    )


def predict_cluster_client_ip() -> Predict:
    c = k8snetviz.load(INFLUXDB)
    lb = c.service("influxdb").load_balancer_ips[0]
    return Predict(
        f"The laptop ({LAPTOP}) runs `curl http://{lb}:8086/ping`. Which client address does influxdb write "
        "in its log?",
        [f"{LAPTOP}, the laptop", f"{lb}, the load balancer", "172.18.0.3, a node's address",
         c.service("influxdb").cluster_ip or "the cluster IP"],
        answer="172.18.0.3, a node's address",
        explanation="The load balancer passes the packet unchanged to a node (here kind-worker, which has no "
                    "influxdb pod). kube-proxy there DNATs it to the pod on kind-worker2 and, under "
                    "externalTrafficPolicy: Cluster, masquerades it to kind-worker's address so that the reply "
                    "returns through kind-worker to be un-NATed.",
        reveal=lambda: c.trace("external", f"{lb}:8086"),
    )


def predict_local_drop() -> Predict:
    c = k8snetviz.load(SERVICES, _nodeport_local())
    return Predict(
        "web-nodeport is switched to externalTrafficPolicy: Local. web's pods run on kind-worker and kind-worker2. "
        "The laptop connects to kind-control-plane:30100. What happens?",
        ["delivered to a pod on a worker, masqueraded", "dropped on kind-control-plane: it has no local endpoint",
         "delivered, and the pod sees the laptop's address"],
        answer="dropped on kind-control-plane: it has no local endpoint",
        explanation="With Local a node sends external traffic only to its own pods, so there is no second hop and "
                    "no SNAT; a node without a local endpoint has a DROP rule for the node port (`has no local "
                    "endpoints`). That is why a load balancer in front must health-check the nodes.",
        reveal=lambda: (c.trace("external", "node/kind-control-plane:30100"),
                        c.trace("external", "node/kind-worker:30100")),
    )


def predict_health_check() -> Predict:
    c = k8snetviz.load(INFLUXDB, LOCAL_SOLUTION)
    return Predict(
        "influxdb with externalTrafficPolicy: Local; its only pod runs on kind-worker2. Where does the load "
        "balancer send the laptop's connection?",
        ["to any worker, round robin", "only to kind-worker2: its healthCheckNodePort answers 200, the others 503",
         "to the control plane, which forwards it"],
        answer="only to kind-worker2: its healthCheckNodePort answers 200, the others 503",
        explanation="With Local the API server allocates spec.healthCheckNodePort; kube-proxy serves /healthz on it "
                    "and answers 200 only on nodes with a ready local endpoint. The load balancer sends only to "
                    "healthy nodes, so nothing is dropped and the client address survives.",
        reveal=lambda: c.trace("external", f"{c.service('influxdb').load_balancer_ips[0]}:8086"),
    )


def _nodeport_local() -> str:
    return """\
apiVersion: v1
kind: Service
metadata:
  name: web-nodeport
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
    nodePort: 30100
"""


NODEPORT_SOLUTION = """\
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
    targetPort: 8080
    nodePort: 30080
"""


def task_nodeport() -> Task:
    return Task(
        "Expose web on NodePort 30080",
        "Expose the Deployment web (its pods listen on 8080) as a NodePort Service on port 80 with node port "
        "30080, so that the laptop reaches it at any node's address on 30080. Write the Service's YAML (any "
        "name but the existing ones, e.g. web-np). The checker traces laptop → kind-worker:30080.",
        service_checker(SERVICES, "external", want_type="NodePort", node_port=30080, port=80),
        Solution(NODEPORT_SOLUTION, "`kubectl expose deployment web --name web-np --port 80 --target-port 8080 "
                 "--type NodePort` writes the same Service, but lets the API server pick the node port; to fix it "
                 "at 30080 add `nodePort: 30080` (`kubectl create service nodeport web-np --tcp=80:8080 "
                 "--node-port=30080` does, but selects `app=web-np`: fix the selector). The port must lie in "
                 "the node-port range 30000-32767."),
        hints=["`kubectl expose deployment web --port 80 --target-port 8080 --type NodePort --dry-run=client -o "
               "yaml` prints a starting point.", "The node port goes in `spec.ports[].nodePort`."],
        start=SERVICES,
    )


INFLUXDB_YAML = """\
apiVersion: v1
kind: Service
metadata:
  name: influxdb
spec:
  type: LoadBalancer
  selector:
    name: influxdb
  ports:
  - port: 8086
    targetPort: 8086
"""

LOCAL_SOLUTION = INFLUXDB_YAML.replace("  type: LoadBalancer\n",
                                       "  type: LoadBalancer\n  externalTrafficPolicy: Local\n")


def _keep_client_ip_check(answer: Any) -> CheckResult:
    outcome = resulting_cluster(INFLUXDB, answer)
    if outcome.form == "yaml":
        body, kinds = _one_service(answer)
        if not body or (body.get("metadata") or {}).get("name") != "influxdb":
            return CheckResult.fail("write the Service influxdb (kind: Service, metadata.name: influxdb): applying "
                                    "it replaces the existing one, as kubectl apply does (or change it with "
                                    "kubectl patch)")
    c = outcome.cluster
    svc = c.service("influxdb")
    if svc.type != "LoadBalancer" or not svc.load_balancer_ips:
        return CheckResult.fail(f"influxdb is now type {svc.type}: keep it a LoadBalancer, the laptop connects to "
                                "its EXTERNAL-IP")
    port = next((p.port for p in svc.ports), 8086)
    t: TraceResult = c.trace("external", f"{svc.load_balancer_ips[0]}:{port}")
    if not t.delivered or not t.final:
        return CheckResult.fail(f"the laptop's connection is {t.verdict}: {t.reason}", proof=t)
    seen = str(t.final["src"]).rsplit(":", 1)[0]
    if seen != LAPTOP:
        why = " (externalTrafficPolicy: Cluster)" if svc.external_traffic_policy == "Cluster" else ""
        return CheckResult.fail(f"influxdb still sees {seen} ({describe_address(c, seen)}) as its client, not the "
                                f"laptop's {LAPTOP}: the node that received the packet masqueraded it{why}", proof=t)
    return CheckResult.ok(f"influxdb sees the laptop's own address {LAPTOP}: the load balancer sends only to "
                          "kind-worker2 (health check), which delivers to its local pod without SNAT.", proof=t)


KEEP_CLIENT_IP_COMMAND = "kubectl patch svc influxdb -p '{\"spec\":{\"externalTrafficPolicy\":\"Local\"}}'"


def task_keep_client_ip() -> Task:
    return Task(
        "Make influxdb see the client's real address",
        "influxdb logs every request with the node's address instead of the laptop's. Change the Service influxdb "
        "(with kubectl, or write all of it) so that influxdb sees the laptop's own address, and the laptop can "
        "still reach it through the load balancer.",
        _keep_client_ip_check,
        Solution(KEEP_CLIENT_IP_COMMAND, "`externalTrafficPolicy: Local`: nodes send external traffic only to their "
                 "own pods, so there is no second hop and no masquerade, and the load balancer's health checks on "
                 "healthCheckNodePort keep it away from nodes without a pod. The same field in YAML is "
                 "`LOCAL_SOLUTION`. The price: traffic is spread per node, not per pod.", language="bash"),
        hints=["The field belongs in the Service's spec, next to `type`.",
               "`kubectl explain service.spec.externalTrafficPolicy`"],
        start=INFLUXDB,
    )


NO_NODE_PORTS_SOLUTION = INFLUXDB_YAML.replace("  type: LoadBalancer\n",
                                               "  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n")


def _no_node_ports_check(answer: str) -> CheckResult:
    body, _ = _one_service(answer)
    if not body or (body.get("metadata") or {}).get("name") != "influxdb":
        return CheckResult.fail("write the Service influxdb (kind: Service, metadata.name: influxdb)")
    c = k8snetviz.load(INFLUXDB, answer)
    svc = c.service("influxdb")
    if svc.type != "LoadBalancer" or not svc.load_balancer_ips:
        return CheckResult.fail(f"influxdb is type {svc.type}: keep it a LoadBalancer, MetalLB still gives it its "
                                "EXTERNAL-IP")
    taken = [str(p.node_port) for p in svc.ports if p.node_port]
    if taken:
        return CheckResult.fail(f"influxdb still holds the node port {', '.join(taken)}: set "
                                "`allocateLoadBalancerNodePorts: false` (and write no `nodePort`)",
                                proof=get_svc(c, "influxdb"))
    t = c.trace("external", f"{svc.load_balancer_ips[0]}:{svc.ports[0].port}")
    if not t.delivered:
        return CheckResult.fail(f"the laptop's connection is {t.verdict}: {t.reason}", proof=t)
    return CheckResult.ok("PORT(S) shows 8086/TCP, with no node port, and the laptop still reaches influxdb through "
                          "its EXTERNAL-IP: kube-proxy's rule for that address is all it needs.", proof=t)


def task_no_node_ports() -> Task:
    return Task(
        "A LoadBalancer without node ports",
        "The cluster runs MetalLB in layer 2 mode, which needs no node ports, and the security team wants none "
        "open. Rewrite the Service influxdb (all of it) so that it stays a LoadBalancer but holds no node port.",
        _no_node_ports_check,
        Solution(NO_NODE_PORTS_SOLUTION, "`spec.allocateLoadBalancerNodePorts: false` (GA since v1.24) tells the API "
                 "server not to allocate node ports for a LoadBalancer. Setting it on an existing Service does not "
                 "free ports already allocated: remove each `nodePort` too. Only do it when the load balancer sends "
                 "to the EXTERNAL-IP or to pod IPs, never with one that targets node ports."),
        hints=["The field sits in the Service's spec, next to `type`."],
    )


# --- more ways in: hostNetwork, hostPort, kubectl port-forward; dual stack ---------------------------------

def predict_host_network() -> Predict:
    c = k8snetviz.load("dns")
    return Predict(
        "The pod data/node-agent runs with `hostNetwork: true` on kind-worker2 (InternalIP 172.18.0.4). What does "
        "`kubectl get pods -o wide` show as its IP?",
        ["an address from kind-worker2's podCIDR, as for any pod", "172.18.0.4, the node's own address",
         "none: host-network pods have no IP"],
        answer="172.18.0.4, the node's own address",
        explanation="A host-network pod shares its node's network namespace: no veth, no CNI ADD, no address of its "
                    "own. It listens on the node's addresses directly, so two such pods on one node cannot use the "
                    "same port. The kubelet, kube-proxy and most CNI agents run this way. (Its DNS also falls back "
                    "to the node's unless `dnsPolicy: ClusterFirstWithHostNet`.)",
        reveal=lambda: c.get("pods", namespace="data", wide=True),
    )


def predict_host_port() -> Predict:
    return Predict(
        "A pod on kind-worker declares `containerPort: 80, hostPort: 8080`. Where does a client outside reach it?",
        ["on port 8080 of every node, like a node port", "on kind-worker's address, port 8080, and nowhere else",
         "on the pod's IP, port 8080"],
        answer="on kind-worker's address, port 8080, and nowhere else",
        explanation="hostPort is done by the CNI `portmap` plugin on the pod's node only: it adds a DNAT rule "
                    "(chain CNI-HOSTPORT-DNAT, then CNI-DN-…) from NODE-IP:8080 to POD-IP:80. Unlike a NodePort "
                    "there is no rule on the other nodes, and the scheduler places at most one pod with a given "
                    "hostPort (and protocol and hostIP) per node. The pod itself keeps its own address and port 80.",
    )


def predict_port_forward() -> Predict:
    return Predict(
        "`kubectl port-forward svc/web 8080:80` on your laptop, then `curl localhost:8080`. How does the "
        "connection reach a web pod?",
        ["through the cluster IP: kube-proxy picks a pod for every connection",
         "kubectl picks one pod of the Service; the API server and that pod's kubelet stream the connection into "
         "the pod's network namespace, to its target port 8080",
         "through the node port of the Service"],
        answer="kubectl picks one pod of the Service; the API server and that pod's kubelet stream the connection "
               "into the pod's network namespace, to its target port 8080",
        explanation="port-forward is a tunnel over the API: kubectl resolves `svc/web` to one pod (and the Service "
                    "port 80 to that pod's target port), then the kubelet's container runtime opens the connection "
                    "inside the pod, from localhost. No cluster IP, no kube-proxy, no node port, and no "
                    "NetworkPolicy on the way; every connection goes to that one pod until the command ends.",
    )


DUAL_STACK = """\
apiVersion: v1
kind: Service
metadata:
  name: web-dual
spec:
  ipFamilyPolicy: {policy}
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
"""


def dual_stack_fields(policy: str = "PreferDualStack") -> CommandOutput:
    """A Service web-dual with ``ipFamilyPolicy: POLICY`` applied to ``services``: the fields the API server set."""
    c = k8snetviz.load(SERVICES, DUAL_STACK.format(policy=policy))
    svc = c.service("web-dual")
    jsonpath = "{.spec.ipFamilyPolicy} {.spec.ipFamilies} {.spec.clusterIPs}"
    shown = f"{svc.ip_family_policy} {_go_list(svc.ip_families)} {_go_list(svc.cluster_ips)}"
    return CommandOutput("$", f"kubectl get svc web-dual -o jsonpath='{jsonpath}'", shown)


def _go_list(items: list[str]) -> str:
    return "[" + ",".join(f'"{i}"' for i in items) + "]"


def predict_dual_stack() -> Predict:
    return Predict(
        "kind's default cluster is IPv4 only. You apply a Service with `ipFamilyPolicy: PreferDualStack`. What "
        "does the API server do?",
        ["refuses it: the cluster has no IPv6 service range",
         "accepts it with one IPv4 cluster IP: `ipFamilies: [IPv4]`",
         "accepts it with an IPv4 and an IPv6 cluster IP"],
        answer="accepts it with one IPv4 cluster IP: `ipFamilies: [IPv4]`",
        explanation="A dual-stack Service lists its families in `spec.ipFamilies` and its addresses in "
                    "`spec.clusterIPs` (clusterIP is the first). `SingleStack` (the default) takes one family, "
                    "`PreferDualStack` takes two where the cluster has two service ranges and one otherwise, "
                    "`RequireDualStack` takes two or is refused. The API server's `--service-cluster-ip-range` "
                    "decides: on a dual-stack cluster it holds an IPv4 and an IPv6 range.",
        wrong={"refuses it: the cluster has no IPv6 service range": "That is what RequireDualStack gets."},
        reveal=lambda: dual_stack_fields("PreferDualStack"),
    )


def exposing_predictions() -> list[Predict]:
    return [predict_nodeport_anywhere(), predict_lb_destination(), predict_lb_has_nodeport(),
            predict_instance_mode(), predict_cluster_client_ip(), predict_local_drop(), predict_health_check(),
            predict_host_network(), predict_host_port(), predict_port_forward(), predict_dual_stack()]


def exposing_tasks() -> list[Task]:
    return [task_nodeport(), task_keep_client_ip(), task_no_node_ports()]
