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
from typing import TYPE_CHECKING

import k8snetviz
from k8snetviz.api.endpointslices import selects, slices_for
from k8snetviz.course.quiz import Predict
from k8snetviz.course.tasks import CheckResult, Solution, Task
from k8snetviz.course.terminal import CommandOutput
from k8snetviz.questions.exposure import describe_address
from k8snetviz.scenario.loader import parse_text
from k8snetviz.views.kubectl_services import describe_service, get_services

if TYPE_CHECKING:
    from k8snetviz.api.services import Service
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = [
    "SERVICES", "INFLUXDB", "LAPTOP", "INFLUXDB_YAML", "NODEPORT_SOLUTION", "API_SOLUTION", "LOCAL_SOLUTION",
    "iptables_grep", "describe", "get_svc", "chain_of", "service_checker",
    "predict_icmp", "predict_target_port", "predict_second_probability", "predict_no_endpoints",
    "predict_headless", "predict_external_name", "task_fix_selector",
    "predict_nodeport_anywhere", "predict_lb_has_nodeport", "predict_cluster_client_ip", "predict_local_drop",
    "predict_health_check", "task_nodeport", "task_keep_client_ip",
    "services_predictions", "services_tasks", "exposing_predictions", "exposing_tasks",
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
                    "(IP, port/protocol), not the IP alone.",
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
                    entry_node: str = "kind-worker") -> Callable[[str], CheckResult]:
    """A checker for "write a Service that …": it applies the answer to ``scenario``, then checks type,
    nodePort, selector and, by tracing from ``source`` (through ``entry_node``'s node port for an outside
    source), that the packet reaches an ``app`` pod on ``target_port``."""

    def check(answer: str) -> CheckResult:
        body, kinds = _one_service(answer)
        if not body:
            return CheckResult.fail("your YAML holds no Service (" + (", ".join(kinds) or "no document") +
                                    "): write `kind: Service` with `apiVersion: v1`")
        cluster = k8snetviz.load(scenario, answer)
        md = body.get("metadata") or {}
        svc = cluster.service(f"{md.get('namespace') or 'default'}/{md.get('name')}")
        problems = []
        if want_type and svc.type != want_type:
            problems.append(f"the Service is type {svc.type}; it must be {want_type}")
        first = svc.ports[0] if svc.ports else None
        if first is None:
            problems.append("the Service has no ports")
        if node_port and first is not None and first.node_port != node_port:
            asked = any((p or {}).get("nodePort") for p in (body.get("spec") or {}).get("ports") or [])
            got = f"{first.node_port}" + ("" if asked else " (allocated, as none was asked for)") \
                if first.node_port else "none"
            problems.append(f"its node port is {got}, not {node_port}: set `nodePort: {node_port}` in the port")
        if port and first is not None and first.port != port:
            problems.append(f"its port is {first.port}, not {port}")
        sel = _selector_problem(cluster, svc, app)
        if sel:
            problems.append(sel)
        if problems or first is None:
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
        "Connections to the Service api are refused. Rewrite api (same name, port 80) so that it sends to the pods "
        "of the Deployment web, which listen on 8080. Write the Service's YAML; the checker applies it and traces "
        "client → api:80.",
        service_checker(SERVICES, "default/client", port=80),
        Solution(API_SOLUTION, "api's selector `app: api` matched no pod, so its EndpointSlice was empty and "
                 "kube-proxy rejected connections. `kubectl get pods --show-labels` shows the pods carry "
                 "`app: web`; with that selector the EndpointSlice fills and the REJECT rule is replaced by a "
                 "KUBE-SVC chain. On a cluster: `kubectl edit svc api`, or `kubectl get endpointslices -l "
                 "kubernetes.io/service-name=api` to check."),
        hints=["`kubectl describe svc api` shows the selector and `Endpoints: <none>`.",
               "Compare the selector with `kubectl get pods --show-labels`."],
    )


def services_predictions() -> list[Predict]:
    return [predict_icmp(), predict_target_port(), predict_second_probability(), predict_no_endpoints(),
            predict_headless(), predict_external_name()]


def services_tasks() -> list[Task]:
    return [task_fix_selector()]


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


def predict_lb_has_nodeport() -> Predict:
    c = k8snetviz.load(INFLUXDB)
    return Predict(
        "influxdb is `type: LoadBalancer` on port 8086. Does it also have a node port?",
        ["no: a LoadBalancer replaces the node port",
         "yes: a LoadBalancer is a NodePort Service plus a load balancer outside the cluster that sends to it",
         "only if you ask for one"],
        answer="yes: a LoadBalancer is a NodePort Service plus a load balancer outside the cluster that sends to it",
        explanation="PORT(S) reads 8086:3xxxx/TCP: the second number is the node port, allocated from 30000-32767 "
                    "as for a NodePort (unless `allocateLoadBalancerNodePorts: false`). A LoadBalancer is also a "
                    "ClusterIP Service: all three ways in lead to the same KUBE-SVC chain.",
        reveal=lambda: get_svc(c, "influxdb"),
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


def _keep_client_ip_check(answer: str) -> CheckResult:
    body, kinds = _one_service(answer)
    if not body or (body.get("metadata") or {}).get("name") != "influxdb":
        return CheckResult.fail("write the Service influxdb (kind: Service, metadata.name: influxdb): applying it "
                                "replaces the existing one, as kubectl apply does")
    c = k8snetviz.load(INFLUXDB, answer)
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


def task_keep_client_ip() -> Task:
    return Task(
        "Make influxdb see the client's real address",
        "influxdb logs every request with the node's address instead of the laptop's. Change the Service influxdb "
        "(write all of it) so that influxdb sees the laptop's own address, and the laptop can still reach it "
        "through the load balancer.",
        _keep_client_ip_check,
        Solution(LOCAL_SOLUTION, "`externalTrafficPolicy: Local`: nodes send external traffic only to their own "
                 "pods, so there is no second hop and no masquerade, and the load balancer's health checks on "
                 "healthCheckNodePort keep it away from nodes without a pod. On a cluster: `kubectl patch svc "
                 "influxdb -p '{\"spec\":{\"externalTrafficPolicy\":\"Local\"}}'`. The price: traffic is spread "
                 "per node, not per pod."),
        hints=["The field belongs in the Service's spec, next to `type`."],
    )


def exposing_predictions() -> list[Predict]:
    return [predict_nodeport_anywhere(), predict_lb_has_nodeport(), predict_cluster_client_ip(),
            predict_local_drop(), predict_health_check()]


def exposing_tasks() -> list[Task]:
    return [task_nodeport(), task_keep_client_ip()]
