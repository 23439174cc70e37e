"""The predictions, tasks, checkers and solutions of notebook 09 (NetworkPolicy).

Every answer is computed from the shipped scenario ``netpol`` (the e2e suite's namespaces x, y, z with
pods a, b, c) with the learner's YAML applied on top; ``tests/test_policy_course.py`` checks each
prediction and each solution against the model, and the usual mistakes against their messages.

>>> print(task_default_deny_dns().check(DEFAULT_DENY))
✘ not yet: x/a cannot resolve names: its DNS query (UDP 53 to kube-dns 10.96.0.10) is dropped: pod x/a is \
isolated for egress by NetworkPolicy x/default-deny, and none of its rules matches
>>> task_default_deny_dns().check(DEFAULT_DENY_DNS_SOLUTION).passed
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import k8snetviz
from k8snetviz.course.quiz import Predict
from k8snetviz.course.tasks import CheckResult, Solution, Task, resulting_cluster
from k8snetviz.course.terminal import CommandOutput
from k8snetviz.questions.policy import engine
from k8snetviz.scenario.loader import parse_text
from k8snetviz.views.policytext import truth_table, verdict_text

if TYPE_CHECKING:
    from k8snetviz.agents.networkpolicy import DirectionVerdict, NetworkPolicy, Verdict
    from k8snetviz.cluster import Cluster

__all__ = [
    "NETPOL", "SHOP", "DEFAULT_DENY", "DEFAULT_DENY_DNS_SOLUTION", "ONLY_FRONTEND_SOLUTION",
    "OFFICE_SOLUTION", "policy_cluster", "shop_cluster", "get_networkpolicies", "truth_table_of",
    "predict_direction", "predict_additive", "predict_and_or", "predict_named_port", "predict_dns",
    "predict_masquerade", "predict_replies", "predict_enforcer",
    "task_only_frontend", "task_default_deny_dns", "task_office_cidr",
    "METRICS", "SCRAPE_COMMAND", "metrics_scenario", "task_scrape_metrics",
    "policy_predictions", "policy_tasks",
]

NETPOL = "netpol"
X_PODS = ("x/a", "x/b", "x/c")

# The pods of the first task, on top of netpol: the database in namespace data, the web front end in
# namespace web, a second pod labelled app=frontend in namespace staging (the trap of an OR), an admin pod
# next to the front end, and a backup job next to the database.
SHOP = """\
apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: staging, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: data, labels: {team: shop}}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: web, labels: {app: frontend}}
spec:
  nodeName: kind-worker
  containers: [{name: web, image: nginx:1.27, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: admin, namespace: web, labels: {app: admin}}
spec:
  nodeName: kind-worker2
  containers: [{name: admin, image: nginx:1.27, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: staging, labels: {app: frontend}}
spec:
  nodeName: kind-worker2
  containers: [{name: web, image: nginx:1.27, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data, labels: {app: db}}
spec:
  nodeName: kind-worker2
  containers:
  - name: postgres
    image: postgres:16
    ports: [{name: postgres, containerPort: 5432}, {name: metrics, containerPort: 9187}]
---
apiVersion: v1
kind: Pod
metadata: {name: backup, namespace: data, labels: {app: backup}}
spec:
  nodeName: kind-worker
  containers: [{name: backup, image: postgres:16, command: [sleep, infinity]}]
"""

DB = "data/db"
FRONTEND = "web/frontend"

DEFAULT_DENY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: x
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""

DNS_EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-dns
  namespace: x
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
"""

DEFAULT_DENY_DNS_SOLUTION = DEFAULT_DENY + "---\n" + DNS_EGRESS

ONLY_FRONTEND_SOLUTION = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-frontend
  namespace: data
spec:
  podSelector:
    matchLabels:
      app: db
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: web
      podSelector:
        matchLabels:
          app: frontend
    ports:
    - protocol: TCP
      port: 5432
"""

OFFICE_SOLUTION = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-from-office
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
  policyTypes: [Ingress]
  ingress:
  - from:
    - ipBlock:
        cidr: 203.0.113.0/24
        except:
        - 203.0.113.128/25
    ports:
    - protocol: TCP
      port: 80
"""


# --- clusters and the real commands ---------------------------------------------------------------------

def policy_cluster(*yaml: str) -> Cluster:
    """The netpol scenario with ``yaml`` applied on top (``kubectl apply -f`` of each text)."""
    return k8snetviz.load(NETPOL, *yaml)


def shop_cluster(*yaml: str) -> Cluster:
    """netpol plus the namespaces web, staging and data of the first task, with ``yaml`` on top."""
    return k8snetviz.load(NETPOL, SHOP, *yaml)


def get_networkpolicies(cluster: Cluster, namespace: str | None = None) -> CommandOutput:
    """``kubectl get networkpolicy -A`` (or ``-n NS``): NAME, POD-SELECTOR and AGE, as kubectl prints them."""
    cmd = "kubectl get networkpolicy " + ("-A" if namespace is None else f"-n {namespace}")
    return CommandOutput("$", cmd, cluster.get("networkpolicies", namespace=namespace,
                                               all_namespaces=namespace is None))


def truth_table_of(cluster: Cluster, port: int = 80, protocol: str = "TCP",
                   namespaces: Sequence[str] = ("x", "y", "z")) -> str:
    """The e2e suite's truth table (``.`` allowed, ``X`` blocked) for the pods of ``namespaces``."""
    from k8snetviz.widgets.policyeditor import restrict

    return truth_table(restrict(cluster.policy(port, protocol).result, namespaces), aligned=True)


# --- predictions ------------------------------------------------------------------------------------------

def _policy(name: str, namespace: str, spec: str) -> str:
    return (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n"
            f"  namespace: {namespace}\nspec:\n{spec}")


DENY_INGRESS_A = _policy("deny-ingress-a", "x", "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Ingress]\n")


def predict_direction() -> Predict:
    c = policy_cluster(DENY_INGRESS_A)
    return Predict(
        "The policy deny-ingress-a selects x/a with `policyTypes: [Ingress]` and no rules. Can x/a still open a "
        "connection to y/b on TCP 80?",
        ["yes: x/a is isolated for ingress only", "no: x/a is isolated in both directions",
         "only if y/b has a policy that allows it"],
        answer="yes: x/a is isolated for ingress only",
        explanation="Isolation is per direction. A policy isolates the pods it selects for the directions in its "
                    "`policyTypes`; x/a is still not isolated for egress, and y/b is not isolated at all. "
                    "The reply of the connection is always allowed back.",
        wrong={"no: x/a is isolated in both directions": "Only `Egress` in policyTypes isolates egress.",
               "only if y/b has a policy that allows it": "A pod that no policy selects accepts everything."},
        reveal=lambda: (c.trace("x/a", "pod/y/b:80"), c.trace("y/b", "pod/x/a:80")),
    )


def predict_enforcer() -> Predict:
    c = policy_cluster(DENY_INGRESS_A)
    return Predict(
        "With deny-ingress-a applied, x/b connects to x/a on TCP 80 and the packet is dropped. Which program "
        "drops it?",
        ["the API server, when it accepts the policy", "kube-proxy, with its iptables rules",
         f"the network plugin's agent on x/a's node (here {c.policy_enforcer})",
         "a firewall inside the pod x/a"],
        answer=f"the network plugin's agent on x/a's node (here {c.policy_enforcer})",
        explanation="Kubernetes only stores NetworkPolicies; the network plugin implements them, on each node, for "
                    "the pods there (Calico's Felix, Cilium's agent, kindnet since kind v0.24, Weave Net's "
                    "weave-npc). A plugin without policy support (flannel alone) accepts the objects and enforces "
                    "nothing: every connection keeps working. So the first question when a policy seems to do "
                    "nothing is which plugin runs.",
        wrong={"kube-proxy, with its iptables rules": "kube-proxy implements Services only; it never reads "
               "NetworkPolicies."},
        reveal=lambda: c.trace("x/b", "pod/x/a:80"),
    )


ALLOW_FROM_B = _policy("allow-from-b", "x", "  podSelector:\n    matchLabels: {pod: a}\n  ingress:\n"
                       "  - from:\n    - podSelector:\n        matchLabels: {pod: b}\n")


def predict_additive() -> Predict:
    c = policy_cluster(DENY_INGRESS_A, ALLOW_FROM_B)
    return Predict(
        "Two policies select x/a: deny-ingress-a (no ingress rules) and allow-from-b (ingress from pods labelled "
        "pod=b in x). Can x/b reach x/a on TCP 80?",
        ["yes: policies add up, and allow-from-b allows it", "no: the deny policy wins",
         "it depends on which policy was created last"],
        answer="yes: policies add up, and allow-from-b allows it",
        explanation="NetworkPolicies are additive: there is no deny rule and no order. A pod selected by several "
                    "policies accepts the union of what their rules allow. deny-ingress-a only isolates x/a; "
                    "allow-from-b adds x/b to what it accepts. x/c is still refused.",
        reveal=lambda: (c.trace("x/b", "pod/x/a:80"), c.trace("x/c", "pod/x/a:80")),
    )


AND_PEER = _policy("and", "x", "  podSelector:\n    matchLabels: {pod: a}\n  ingress:\n  - from:\n"
                   "    - namespaceSelector:\n        matchLabels: {ns: y}\n      podSelector:\n"
                   "        matchLabels: {pod: b}\n")
OR_PEERS = _policy("or", "x", "  podSelector:\n    matchLabels: {pod: a}\n  ingress:\n  - from:\n"
                   "    - namespaceSelector:\n        matchLabels: {ns: y}\n    - podSelector:\n"
                   "        matchLabels: {pod: b}\n")


def _sources(c: Cluster, dst: str, port: int = 80) -> list[str]:
    r = c.policy(port).result
    return [src for src in r.pods if r.allowed[src][dst] and src != dst and src.split("/")[0] in "xyz"]


def predict_and_or() -> Predict:
    c_and, c_or = policy_cluster(AND_PEER), policy_cluster(OR_PEERS)
    return Predict(
        "One `from` item holds both `namespaceSelector: {matchLabels: {ns: y}}` and `podSelector: {matchLabels: "
        "{pod: b}}` (no dash before podSelector). Which pods may connect to x/a?",
        ["only y/b", "y/a, y/b, y/c and x/b", "every pod labelled pod=b, in any namespace"],
        answer="only y/b",
        explanation="Selectors in one item are ANDed: pods labelled pod=b in namespaces labelled ns=y. With a dash "
                    "before podSelector they become two items, ORed: every pod of y, plus pods labelled pod=b in "
                    "the policy's own namespace x. One dash changes the policy.",
        wrong={"y/a, y/b, y/c and x/b": "That is the policy with two items (a dash before podSelector).",
               "every pod labelled pod=b, in any namespace": "A namespaceSelector limits the namespaces; "
                                                             "`namespaceSelector: {}` would mean all of them."},
        reveal=lambda: (f"one item (AND): {', '.join(_sources(c_and, 'x/a'))}",
                        f"two items (OR): {', '.join(_sources(c_or, 'x/a'))}", c_and.policy(80)),
    )


NAMED_PORT = _policy("named-port", "x", "  podSelector:\n    matchLabels: {pod: a}\n  ingress:\n  - ports:\n"
                     "    - port: serve-80-tcp\n")


def predict_named_port() -> Predict:
    c = policy_cluster(NAMED_PORT)
    return Predict(
        "x/a's ingress allows `port: serve-80-tcp` (a container port name; no protocol given). Which connections "
        "from y/b to x/a are allowed?",
        ["TCP 80 only", "TCP 80 and UDP 80", "TCP 80 and TCP 81"],
        answer="TCP 80 only",
        explanation="A named port is resolved on the destination pod: serve-80-tcp is x/a's container port 80/TCP. "
                    "The protocol defaults to TCP, and must match too: UDP 80 is another port "
                    "(serve-80-udp), and TCP 81 is serve-81-tcp.",
        reveal=lambda: tuple(c.trace("y/b", "pod/x/a:" + p, protocol=proto)
                             for p, proto in (("80", "TCP"), ("80", "UDP"), ("81", "TCP"))),
    )


DENY_EGRESS = _policy("deny-egress", "x", "  podSelector: {}\n  policyTypes: [Egress]\n")


def predict_dns() -> Predict:
    c = policy_cluster(DENY_EGRESS)
    return Predict(
        "A policy in x isolates every pod for egress and allows nothing. In x/a, `curl http://s-y-b.y` fails. Why?",
        ["the name does not resolve: the DNS query to kube-dns is dropped",
         "y/b refuses the connection", "DNS works, only the HTTP connection is dropped"],
        answer="the name does not resolve: the DNS query to kube-dns is dropped",
        explanation="A default-deny egress policy blocks everything the pod sends, DNS included: the query goes "
                    "to the kube-dns Service (UDP 53), kube-proxy DNATs it to a CoreDNS pod, and the egress check "
                    "sees that CoreDNS pod and drops the query. Allow UDP and TCP 53 to the CoreDNS pods.",
        reveal=lambda: c.trace("x/a", "s-y-b.y:80"),
    )


ETP_CLUSTER = """\
apiVersion: v1
kind: Service
metadata: {name: s-x-a-nodeport, namespace: x}
spec:
  type: NodePort
  externalTrafficPolicy: Cluster
  selector: {pod: a}
  ports: [{name: http, port: 80, targetPort: serve-80-tcp, nodePort: 30080}]
"""


def predict_masquerade() -> Predict:
    c = policy_cluster(OFFICE_SOLUTION, ETP_CLUSTER)
    return Predict(
        "x/a accepts TCP 80 only from the ipBlock 203.0.113.0/24. Its NodePort Service is switched to "
        "`externalTrafficPolicy: Cluster`, and the office client 203.0.113.10 connects to kind-worker2:30080 "
        "(x/a runs on kind-worker). What happens?",
        ["delivered: 203.0.113.10 is in the ipBlock",
         "dropped: kind-worker2 masquerades the client, so x/a sees 172.18.0.4",
         "rejected by kube-proxy"],
        answer="dropped: kind-worker2 masquerades the client, so x/a sees 172.18.0.4",
        explanation="Policies see addresses as they arrive at the pod. With `externalTrafficPolicy: Cluster` "
                    "kube-proxy SNATs external clients to the node's address, so the ipBlock never sees "
                    "203.0.113.10. `Local` keeps the client's address (and only sends to pods on that node).",
        reveal=lambda: c.trace("external/office", "node/kind-worker2:30080"),
    )


EGRESS_DENY_B = _policy("deny-egress-b", "y", "  podSelector:\n    matchLabels: {pod: b}\n"
                        "  policyTypes: [Egress]\n")


def predict_replies() -> Predict:
    c = policy_cluster(EGRESS_DENY_B)
    return Predict(
        "y/b is isolated for egress and allows nothing out. x/a connects to y/b on TCP 80. Does x/a get y/b's "
        "answer?",
        ["yes: replies of an allowed connection always pass", "no: the answer is egress from y/b",
         "only for UDP"],
        answer="yes: replies of an allowed connection always pass",
        explanation="Policies act on connections, not packets: the CNI plugin tracks the connection, and its replies "
                    "pass whatever the policies say in the other direction. y/b cannot *open* a connection.",
        reveal=lambda: (verdict_text(engine(c).check("x/a", "y/b", 80, "TCP")), c.trace("x/a", "pod/y/b:80"),
                        c.trace("y/b", "pod/x/a:80")),
    )


def policy_predictions() -> list[Predict]:
    return [predict_enforcer(), predict_direction(), predict_additive(), predict_and_or(), predict_named_port(),
            predict_dns(), predict_masquerade(), predict_replies()]


# --- helpers for the checkers ----------------------------------------------------------------------------

def _answer_cluster(answer: Any, base: str = NETPOL, *extra: str) -> Any:
    """The cluster an answer leaves on the task's cluster (YAML, commands, or a terminal session)."""
    scenario = k8snetviz.load(base, *extra).scenario if extra else base
    return resulting_cluster(scenario, answer)


# A pod of kube-system that is not CoreDNS: DNS egress must not reach it (a namespaceSelector alone would).
DNS_PROBE = """\
apiVersion: v1
kind: Pod
metadata: {name: metrics-agent, namespace: kube-system, labels: {app: metrics-agent}}
spec:
  containers: [{name: agent, image: busybox, ports: [{containerPort: 53, protocol: UDP}]}]
"""

def _answer_policies(answer: str) -> list[tuple[str, str]]:
    docs = parse_text(answer, source="<your YAML>").manifests
    return [(m.namespace or "default", m.name) for m in docs if m.kind == "NetworkPolicy"]


def _need_policies(answer: str, want_namespace: str) -> CheckResult | None:
    pols = _answer_policies(answer)
    if not pols:
        return CheckResult.fail("your YAML has no NetworkPolicy (kind: NetworkPolicy, apiVersion: "
                                "networking.k8s.io/v1)")
    if not any(ns == want_namespace for ns, _ in pols):
        names = ", ".join(f"{ns}/{n}" for ns, n in pols)
        return CheckResult.fail(f"no policy of yours is in namespace {want_namespace} (yours: {names}): a "
                                "NetworkPolicy only selects pods of its own namespace; set metadata.namespace: "
                                f"{want_namespace}")
    return None


def _by_key(c: Cluster) -> dict[str, NetworkPolicy]:
    return {p.key: p for p in engine(c).policies}


def _allowed_by(c: Cluster, d: DirectionVerdict) -> str:
    """The rule and peer that allowed a direction, in words, with the AND/OR hint when it applies."""
    ref = d.allowed_by
    if ref is None:
        return d.reason
    pol = _by_key(c)[ref.policy]
    rule = pol.rules(ref.direction)[ref.rule]
    what = f"NetworkPolicy {ref.policy} {ref.path}"
    if ref.peer is None:
        return f"{what} (it has no `{'from' if ref.direction == 'Ingress' else 'to'}` list, so it admits every peer)"
    peer = rule.peers[ref.peer]
    text = f"{what} ({peer})"
    lone = (peer.pod_selector is None) != (peer.namespace_selector is None)
    if lone and peer.ip_block is None and len(rule.peers) > 1:
        text += ("; its items are ORed: a namespaceSelector and a podSelector meant together must be one item "
                 "(no dash before podSelector)")
    return text


def _isolated(e: Any, pod: str) -> bool:
    """Whether any policy isolates ``pod``, in either direction (judged against an outside address)."""
    outside = "198.51.100.7"
    return e.check(outside, pod, 80, "TCP").ingress.isolated or e.check(pod, outside, 80, "TCP").egress.isolated


def _why_open(c: Cluster, v: Verdict) -> str:
    """Why a connection that should be refused is allowed: the deciding side of the destination, or the source."""
    if v.ingress.allowed_by is not None:
        return "allowed by " + _allowed_by(c, v.ingress)
    return v.ingress.reason


# --- task 1: only frontend may reach db on 5432 --------------------------------------------------------------

def _only_frontend_check(answer: Any) -> CheckResult:
    outcome = _answer_cluster(answer, NETPOL, SHOP)
    if outcome.form == "yaml":
        missing = _need_policies(answer, "data")
        if missing:
            return missing
    c = outcome.cluster
    e = engine(c)
    problems: list[str] = []
    walk = c.trace(FRONTEND, f"pod/{DB}:5432")
    if not walk.delivered:
        problems.append(f"web/frontend cannot reach db on 5432: {walk.reason}")
    for src, why in (("staging/frontend", "it has the label app=frontend but runs in namespace staging"),
                     ("web/admin", "it runs in namespace web but is not the front end"),
                     ("data/backup", "it runs next to db"), ("x/a", "it is in another namespace")):
        v = e.check(src, DB, 5432, "TCP")
        if v.allowed:
            problems.append(f"{src} can reach db on 5432 too ({why}): {_why_open(c, v)}")
    other = e.check(FRONTEND, DB, 9187, "TCP")
    if other.allowed and walk.delivered:
        problems.append("web/frontend reaches db on TCP 9187 too (and on every other port): only 5432 may be open; "
                        f"add `ports: [{{protocol: TCP, port: 5432}}]` to the rule ({_allowed_by(c, other.ingress)})")
    else:
        # A range (endPort) or a second port opens more than 5432.
        for port, proto in ((5433, "TCP"), (5440, "TCP"), (5431, "TCP"), (5432, "UDP")):
            near = e.check(FRONTEND, DB, port, proto)
            if near.allowed and walk.delivered:
                problems.append(f"web/frontend reaches db on {proto} {port} too: only TCP 5432 may be open "
                                f"({_allowed_by(c, near.ingress)}; an endPort opens every port up to it)")
                break
    collateral = [p.key for p in e.pods if p.key != DB and _isolated(e, p.key)]
    if collateral:
        problems.append(f"your policies also isolate {', '.join(collateral)}: select only db "
                        "(podSelector matchLabels app: db), and only for Ingress")
    db_egress = e.check(DB, "x/a", 80, "TCP").egress
    if db_egress.isolated:
        problems.append(f"db is now isolated for egress too ({db_egress.reason}): it could no longer resolve "
                        "names or open any connection; list only Ingress in policyTypes")
    if problems:
        return CheckResult.fail(*problems, proof=walk)
    return CheckResult.ok("only web/frontend reaches db, and only on TCP 5432: "
                          f"{_allowed_by(c, e.check(FRONTEND, DB, 5432, 'TCP').ingress)}.", proof=walk)


def task_only_frontend() -> Task:
    return Task(
        "Only the front end may reach the database",
        "The database pod db (label app=db) runs in namespace data and listens on TCP 5432. Write a NetworkPolicy "
        "so that only the pod labelled app=frontend in namespace web may connect to it, and only on 5432. The pod "
        "labelled app=frontend in namespace staging must not; nothing else in the cluster may change.",
        _only_frontend_check,
        Solution(ONLY_FRONTEND_SOLUTION,
                 "The policy lives in db's namespace and selects db, which isolates db for ingress. The one `from` "
                 "item holds both selectors, so they are ANDed: pods labelled app=frontend *in* the namespace web "
                 "(every namespace carries the label kubernetes.io/metadata.name). Two items would be ORed and "
                 "admit every pod of web plus every app=frontend pod in data. The `ports` list closes the other "
                 "ports.", language="yaml"),
        hints=["`shop_cluster(answer).policy(5432)` shows the matrix with your policy applied.",
               "A podSelector alone means pods of the policy's own namespace."],
    )


# --- task 2: default deny, DNS still working ---------------------------------------------------------------

def _dns_hint(c: Cluster) -> str:
    """What is usually wrong when DNS egress is dropped despite a rule for port 53."""
    for pol in engine(c).policies:
        if pol.namespace != "x":
            continue
        for rule in pol.egress:
            if not any(p.port == 53 for p in rule.ports):
                continue
            for peer in rule.peers:
                if peer.pod_selector is not None and peer.namespace_selector is None and peer.ip_block is None:
                    return (f". NetworkPolicy {pol.key} allows port 53 to podSelector {peer.pod_selector} alone, which "
                            "means pods of x; CoreDNS runs in kube-system: add a namespaceSelector to the same item "
                            "(kubernetes.io/metadata.name: kube-system)")
                if peer.ip_block is not None:
                    return (f". NetworkPolicy {pol.key} allows port 53 to {peer}; the policy sees the CoreDNS pod "
                            "after kube-proxy's DNAT, not the Service address 10.96.0.10")
    return ""


def _default_deny_dns_check(answer: Any) -> CheckResult:
    outcome = _answer_cluster(answer)
    if outcome.form == "yaml":
        missing = _need_policies(answer, "x")
        if missing:
            return missing
    c = k8snetviz.load(outcome.cluster.scenario, DNS_PROBE)
    e = engine(c)
    problems: list[str] = []
    for src, dst, what in (("y/a", "x/b", "ingress"), ("x/a", "y/b", "egress"), ("x/a", "x/b", "egress"),
                           ("z/c", "x/c", "ingress")):
        for port, proto in ((80, "TCP"), (81, "TCP"), (80, "UDP")):
            v = e.check(src, dst, port, proto)
            if v.allowed:
                side = v.ingress if what == "ingress" else v.egress
                reason = ("allowed by " + _allowed_by(c, side)) if side.allowed_by else side.reason
                problems.append(f"{src} still reaches {dst} on {proto} {port}: {reason}")
                break
    dns = c.service("kube-system/kube-dns").cluster_ip
    proof = None
    for pod in X_PODS:
        udp = c.trace(pod, f"{dns}:53", protocol="UDP")
        tcp = c.trace(pod, f"{dns}:53", protocol="TCP")
        if not udp.delivered:
            problems.append(f"{pod} cannot resolve names: its DNS query (UDP 53 to kube-dns {dns}) is dropped: "
                            f"{udp.reason}" + _dns_hint(c))
            proof = udp
            break
        if not tcp.delivered:
            problems.append(f"UDP 53 works but TCP 53 from {pod} is dropped: {tcp.reason}. Resolvers retry over "
                            "TCP when an answer is truncated (large answers), so allow both protocols")
            proof = tcp
            break
    for src, dst in (("y/a", "y/b"), ("z/b", "y/c")):
        if not e.check(src, dst, 80, "TCP").allowed:
            problems.append(f"{src} can no longer reach {dst}: only namespace x should change")
    if not problems:
        # DNS only to CoreDNS: not to another pod of kube-system, nor to any address on port 53.
        for dst, what in (("kube-system/metrics-agent", "a pod of kube-system that is not CoreDNS"),
                          ("y/b", "a pod of another namespace")):
            leak = e.check("x/a", dst, 53, "UDP")
            if leak.allowed:
                problems.append(f"x/a may send to {dst} on UDP 53 too ({what}): "
                                f"{_allowed_by(c, leak.egress)}; allow only the CoreDNS pods (namespaceSelector "
                                "kube-system AND podSelector k8s-app=kube-dns, in one item)")
                break
    walk = c.trace("x/a", "s-y-b.y:80")
    if problems:
        return CheckResult.fail(*problems, proof=proof or walk)
    return CheckResult.ok("every pod of x is isolated in both directions and still resolves names through CoreDNS "
                          "only: the DNS query passes, the connection itself is dropped.", proof=walk)


def task_default_deny_dns() -> Task:
    return Task(
        "Default-deny a namespace and keep DNS working",
        "Isolate every pod of namespace x for ingress and egress, so that nothing gets in or out, including "
        "between the pods of x. The pods must still resolve names through CoreDNS (pods labelled "
        "k8s-app=kube-dns in namespace kube-system).",
        _default_deny_dns_check,
        Solution(DEFAULT_DENY_DNS_SOLUTION,
                 "`podSelector: {}` selects every pod of x; listing both policyTypes with no rules denies both "
                 "directions. The second policy adds (policies are additive) egress to the CoreDNS pods on UDP and "
                 "TCP 53: the namespaceSelector and podSelector are in one item, so they are ANDed. The policy sees "
                 "the CoreDNS pod, not the kube-dns address 10.96.0.10, because kube-proxy's DNAT happens first.",
                 language="yaml"),
        hints=["Two policies are easier to read than one: a default deny, then an allow for DNS.",
               "`cluster.trace(\"x/a\", \"s-y-b.y:80\")` shows the DNS query first, then the connection."],
    )


# --- task 3: an outside CIDR, except one subnet ------------------------------------------------------------

_OFFICE_ADDRESSES = (("203.0.113.10", True, "in the office network"),
                     ("203.0.113.127", True, "in the office network, below the guest subnet"),
                     ("203.0.113.128", False, "the first address of the guest subnet 203.0.113.128/25"),
                     ("203.0.113.200", False, "in the guest subnet 203.0.113.128/25"),
                     ("198.51.100.7", False, "outside the office network"))


def _office_check(answer: Any) -> CheckResult:
    outcome = _answer_cluster(answer)
    if outcome.form == "yaml":
        missing = _need_policies(answer, "x")
        if missing:
            return missing
    c = outcome.cluster
    e = engine(c)
    problems: list[str] = []
    office = c.trace("external/office", "node/kind-worker:30080")
    guest = c.trace("external/guest", "node/kind-worker:30080")
    if not office.delivered:
        problems.append(f"the office client 203.0.113.10 cannot reach x/a: {office.reason}")
    if guest.delivered:
        v = e.check("203.0.113.200", "x/a", 80, "TCP")
        problems.append(f"the guest Wi-Fi client 203.0.113.200 still reaches x/a: {_why_open(c, v)}")
    for addr, want, where in _OFFICE_ADDRESSES:
        if problems:
            break
        v = e.check(addr, "x/a", 80, "TCP")
        if v.allowed != want:
            problems.append(f"{addr} is {'allowed' if v.allowed else 'refused'}, but it is {where}: "
                            f"{_why_open(c, v) if v.allowed else v.reason}")
    if not problems:
        for port, proto in ((81, "TCP"), (80, "UDP")):
            v = e.check("203.0.113.10", "x/a", port, proto)
            if v.allowed:
                problems.append(f"the office reaches x/a on {proto} {port} too: only TCP 80 was asked ("
                                f"{_why_open(c, v)}; add `ports: [{{protocol: TCP, port: 80}}]` to the rule)")
                break
    for dst in ("x/b", "x/c"):
        v = e.check("y/a", dst, 80, "TCP")
        if not v.allowed:
            problems.append(f"{dst} is isolated too ({v.reason}): select only x/a (podSelector matchLabels pod: a)")
            break
    if problems:
        return CheckResult.fail(*problems, proof=guest if guest.delivered else office)
    return CheckResult.ok("203.0.113.0/24 reaches x/a on TCP 80, its guest half 203.0.113.128/25 does not; "
                          f"{_allowed_by(c, e.check('203.0.113.10', 'x/a', 80, 'TCP').ingress)}.", proof=guest)


def task_office_cidr() -> Task:
    return Task(
        "Allow an outside network, except one subnet",
        "x/a is published on every node's port 30080 (Service s-x-a-nodeport, `externalTrafficPolicy: Local`, "
        "so x/a sees the client's own address). Let x/a accept TCP 80 from the office network 203.0.113.0/24, "
        "except its guest Wi-Fi 203.0.113.128/25. The other pods of x must not change.",
        _office_check,
        Solution(OFFICE_SOLUTION,
                 "An ipBlock peer matches addresses: `cidr` minus each `except` range. Every `except` must lie "
                 "inside the `cidr`, or the API server refuses the policy. An ipBlock cannot share an item with a "
                 "podSelector or namespaceSelector. It works here because `externalTrafficPolicy: Local` keeps the "
                 "client address; with `Cluster`, kube-proxy masquerades it to a node's address.", language="yaml"),
        hints=["The clients are `external/office` (203.0.113.10) and `external/guest` (203.0.113.200): "
               "`cluster.trace(\"external/guest\", \"node/kind-worker:30080\")`."],
    )


# --- task 4: a policy that waits for a label (solved with one kubectl command) ------------------------------

# On top of SHOP: db's policy admits the front end on 5432 and, on 9187, every namespace labelled
# purpose=monitoring; Prometheus runs in a namespace that lacks the label.
METRICS = """\
apiVersion: v1
kind: Namespace
metadata: {name: observability}
---
apiVersion: v1
kind: Pod
metadata: {name: prometheus, namespace: observability, labels: {app: prometheus}}
spec:
  nodeName: kind-worker
  containers: [{name: prometheus, image: prom/prometheus:v2.53.0, ports: [{containerPort: 9090}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: web}}
      podSelector: {matchLabels: {app: frontend}}
    ports: [{protocol: TCP, port: 5432}]
  - from:
    - namespaceSelector: {matchLabels: {purpose: monitoring}}
    ports: [{protocol: TCP, port: 9187}]
"""
PROMETHEUS = "observability/prometheus"
SCRAPE_COMMAND = "kubectl label namespace observability purpose=monitoring"


def metrics_scenario() -> Any:
    """The cluster of the Prometheus task: netpol, SHOP and METRICS (a Scenario)."""
    return policy_cluster(SHOP, METRICS).scenario


def _policy_specs(c: Cluster) -> dict[str, Any]:
    return {f"{(d.get('metadata') or {}).get('namespace')}/{(d.get('metadata') or {}).get('name')}": d.get("spec")
            for d in c.documents("NetworkPolicy")}


def _scrape_check(answer: Any) -> CheckResult:
    outcome = _answer_cluster(answer, NETPOL, SHOP, METRICS)
    c = outcome.cluster
    note = f" (your commands: {outcome.note()})" if outcome.errors else ""
    if _policy_specs(c) != _policy_specs(policy_cluster(SHOP, METRICS)):
        return CheckResult.fail("the policies changed: leave them as they are (the security team owns them) and "
                                "change what they select")
    e = engine(c)
    walk = c.trace(PROMETHEUS, f"pod/{DB}:9187")
    if not walk.delivered:
        return CheckResult.fail(f"{PROMETHEUS} still cannot reach db's metrics on 9187: {walk.reason}{note}",
                                proof=walk)
    db = e.check(PROMETHEUS, DB, 5432, "TCP")
    if db.allowed:
        return CheckResult.fail(f"{PROMETHEUS} reaches the database port 5432 too: {_why_open(c, db)}", proof=walk)
    others = [src for src in ("x/a", "staging/frontend", "web/admin") if e.check(src, DB, 9187, "TCP").allowed]
    if others:
        return CheckResult.fail(f"{', '.join(others)} reach db's metrics too: give the label to observability "
                                "only", proof=walk)
    return CheckResult.ok(f"{PROMETHEUS} reaches db on 9187, and only there: "
                          f"{_allowed_by(c, e.check(PROMETHEUS, DB, 9187, 'TCP').ingress)}.", proof=walk)


def task_scrape_metrics() -> Task:
    """Notebook 09: satisfy a policy's namespaceSelector with kubectl label."""
    return Task(
        "Let Prometheus scrape the database",
        "In `shop_cluster(METRICS)`, Prometheus (pod prometheus, namespace observability) must read db's metrics "
        "on TCP 9187, and its scrapes time out. The NetworkPolicy data/db-ingress belongs to the security team: "
        "do not change it. Fix it with one kubectl command.",
        _scrape_check,
        Solution(SCRAPE_COMMAND, "db-ingress admits 9187 from every pod of the namespaces labelled "
                 "purpose=monitoring (a namespaceSelector alone, without a podSelector). Namespaces are objects "
                 "with labels like any other: `kubectl get ns --show-labels` shows observability lacks it, and "
                 "`kubectl label` adds it. The policy engine reads namespace labels live, so the scrape works at "
                 "once.", language="bash"),
        hints=["`kubectl -n data describe networkpolicy db-ingress` lists what each rule allows from.",
               "`kubectl get ns --show-labels`"],
        start=metrics_scenario,
    )


def policy_tasks() -> list[Task]:
    return [task_only_frontend(), task_default_deny_dns(), task_office_cidr(), task_scrape_metrics()]
