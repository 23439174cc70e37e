"""The predictions, tasks, checkers and solutions of notebook 08 (cluster DNS).

Every answer is a fact the model computes from the shipped scenario ``dns``;
``tests/test_questions_resolve.py`` checks each prediction and each solution against the model, so a
model change that makes a question wrong fails the tests.

>>> task_short_name().check("db.data").passed
True
>>> print(task_short_name().check("db"))
✘ not yet: from app/client, db is asked as db.app.svc.cluster.local., db.svc.cluster.local., \
db.cluster.local., db.: every answer is NXDOMAIN, so the name does not resolve
"""

from __future__ import annotations

import textwrap
from typing import Any

import k8snetviz
from k8snetviz.agents.coredns.corefile import KUBEADM_COREFILE
from k8snetviz.agents.kubelet.resolvconf import nslookup_lookups, pod_resolv_conf
from k8snetviz.api.refs import Ref
from k8snetviz.cluster import Cluster
from k8snetviz.course.quiz import Predict
from k8snetviz.course.tasks import CheckResult, Solution, Task, resulting_cluster
from k8snetviz.course.terminal import CommandOutput
from k8snetviz.errors import UsageError
from k8snetviz.questions.resolve import DNSResult, cluster_dns, coredns_corefile, resolv_conf, resolve
from k8snetviz.scenario.loader import parse_text
from k8snetviz.views.dnstext import dns_nslookup, nslookup_text

__all__ = [
    "DNS", "DNSUTILS_IMAGE", "SHORT_NAME_SOLUTION", "STUB_DOMAIN_SOLUTION",
    "cat_resolv_conf", "nslookup", "get_corefile", "debug_nslookup",
    "predict_short_name", "predict_ndots", "predict_headless", "predict_default_policy",
    "predict_external_name", "predict_stub_domain",
    "task_short_name", "task_stub_domain", "task_pod_name", "DB_ALIAS_COMMAND", "task_db_alias",
    "dns_predictions", "dns_tasks",
]

DNS = "dns"
DNSUTILS_IMAGE = "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3"
CLIENT = "app/client"


# --- the real commands -----------------------------------------------------------------------------------

def _exec(pod: str) -> str:
    ref = Ref.parse(pod)
    ns, name = ref.namespace, ref.name
    return f"kubectl exec -n {ns or 'default'} {name} --"


def cat_resolv_conf(cluster: Cluster, pod: str) -> CommandOutput:
    """``kubectl exec POD -- cat /etc/resolv.conf``."""
    return CommandOutput("$", f"{_exec(pod)} cat /etc/resolv.conf", resolv_conf(cluster, pod).rstrip("\n"))


def nslookup(cluster: Cluster, pod: str, name: str, qtype: str | None = None) -> CommandOutput:
    """``kubectl exec POD -- nslookup [-type=T] NAME``, as BIND's nslookup prints it."""
    result = resolve(cluster, pod, name, qtype or "A")
    flag = f"-type={qtype.upper()} " if qtype else ""
    return CommandOutput("$", f"{_exec(pod)} nslookup {flag}{name}", dns_nslookup(result).rstrip("\n"))


def get_corefile(cluster: Cluster) -> CommandOutput:
    """``kubectl get configmap coredns -n kube-system -o jsonpath='{.data.Corefile}'``."""
    return CommandOutput("$", "kubectl get configmap coredns -n kube-system -o jsonpath='{.data.Corefile}'",
                         coredns_corefile(cluster).rstrip("\n"))


def debug_nslookup(cluster: Cluster, name: str = "kubernetes.default", namespace: str = "default") -> CommandOutput:
    """``kubectl run -it --rm dnsutils --image=… -- nslookup NAME``: a throwaway ClusterFirst pod's lookup."""
    cfg = cluster.config
    dns = cluster_dns(cluster)
    rc = pod_resolv_conf(namespace, cluster_domain=cfg.cluster_domain, cluster_dns=dns.dns_service_ips).resolv_conf
    server = dns.nameserver(rc.nameservers[0])
    if server.lookup is None:
        out = ";; connection timed out; no servers could be reached"
    else:
        out = nslookup_text(nslookup_lookups(name, rc, server.lookup), server=rc.nameservers[0]).rstrip("\n")
    ns = "" if namespace == "default" else f" -n {namespace}"
    return CommandOutput("$", f"kubectl run{ns} -it --rm dnsutils --restart=Never --image={DNSUTILS_IMAGE} "
                         f"-- nslookup {name}", out + '\npod "dnsutils" deleted')


# --- predictions -----------------------------------------------------------------------------------------

def predict_short_name() -> Predict:
    c = k8snetviz.load(DNS)
    return Predict(
        "The pod client runs in namespace app. The Service db runs in namespace data. What does "
        "`kubectl exec -n app client -- nslookup db` print?",
        ["db's cluster IP", "** server can't find db: NXDOMAIN", "the IPs of db's two pods"],
        answer="** server can't find db: NXDOMAIN",
        explanation="A short name is completed with the search domains of the pod's own namespace: "
                    "db.app.svc.cluster.local, then db.svc.cluster.local, db.cluster.local, db. None exists; "
                    "the Service is db.data.svc.cluster.local. Use `db.data` (the search domain svc.cluster.local "
                    "completes it) or the full name.",
        wrong={"db's cluster IP": "That is what a pod in namespace data would get.",
               "the IPs of db's two pods": "db has a cluster IP; only a headless Service answers with pod IPs."},
        reveal=lambda: (nslookup(c, CLIENT, "db"), resolve(c, CLIENT, "db")),
    )


def predict_ndots() -> Predict:
    c = k8snetviz.load(DNS)
    n = len(resolve(c, CLIENT, "example.com").queries)
    return Predict(
        "client runs `getent ahostsv4 example.com` (IPv4 addresses only, through glibc). Its resolv.conf has three "
        "search domains and `options ndots:5`. How many DNS queries does it send, counting the one that answers?",
        ["1", "2", "4", "8"],
        answer=str(n),
        explanation="`example.com` has one dot, fewer than ndots:5, so glibc tries every search domain first "
                    "(three NXDOMAIN answers) and the name as is last. Write `example.com.` with a trailing dot, or "
                    "lower ndots in dnsConfig, to save them. A program that asks for IPv4 and IPv6 (AF_UNSPEC) "
                    "sends an A and an AAAA query for each candidate: twice as many.",
        wrong={"1": "That is the count for `example.com.` with a trailing dot, or for a pod with dnsPolicy Default.",
               "8": "That is what a lookup of both IPv4 and IPv6 would send; ahostsv4 asks for A records only."},
        reveal=lambda: resolve(c, CLIENT, "example.com"),
    )


def predict_headless() -> Predict:
    c = k8snetviz.load(DNS)
    return Predict(
        "db-headless in namespace data has `clusterIP: None` and selects the StatefulSet's pods db-0 and db-1. "
        "What does `nslookup db-headless.data` return?",
        ["one cluster IP", "the IPs of db-0 and db-1", "NXDOMAIN: a headless Service has no DNS name"],
        answer="the IPs of db-0 and db-1",
        explanation="A headless Service has no virtual IP, so CoreDNS answers with one A record per ready "
                    "endpoint: the pods themselves. Each pod also gets its own name, "
                    "db-0.db-headless.data.svc.cluster.local, because the StatefulSet sets its hostname and its "
                    "subdomain (the Service named in serviceName).",
        reveal=lambda: (nslookup(c, CLIENT, "db-headless.data"), resolve(c, CLIENT, "db-0.db-headless.data")),
    )


def predict_default_policy() -> Predict:
    c = k8snetviz.load(DNS)
    return Predict(
        "The pod legacy has `dnsPolicy: Default`. Does `web.app.svc.cluster.local` resolve from it?",
        ["yes, to web's cluster IP", "no: its resolver is the node's, which knows no cluster names",
         "yes, but only after the search list"],
        answer="no: its resolver is the node's, which knows no cluster names",
        explanation="`Default` does not mean the default policy (that is ClusterFirst): it means \"inherit the "
                    "node's resolv.conf\". The nameserver is the node's upstream (172.18.0.1 on kind), which has "
                    "never heard of cluster.local. CoreDNS itself runs with dnsPolicy Default, which is how its "
                    "`forward . /etc/resolv.conf` reaches the internet.",
        reveal=lambda: (cat_resolv_conf(c, "app/legacy"), resolve(c, "app/legacy", "web.app.svc.cluster.local")),
    )


def predict_external_name() -> Predict:
    c = k8snetviz.load(DNS)
    return Predict(
        "payments in namespace app is `type: ExternalName` with `externalName: api.example.com`. What does "
        "`nslookup payments` show from client?",
        ["a cluster IP that kube-proxy forwards to api.example.com",
         "payments.app.svc.cluster.local is a CNAME for api.example.com, then api.example.com's address",
         "NXDOMAIN: ExternalName Services are not in DNS"],
        answer="payments.app.svc.cluster.local is a CNAME for api.example.com, then api.example.com's address",
        explanation="An ExternalName Service is only a DNS record: CoreDNS answers with a CNAME and resolves the "
                    "target through `forward`. There is no cluster IP and no kube-proxy rule; the client connects "
                    "straight to the outside address.",
        reveal=lambda: nslookup(c, CLIENT, "payments"),
    )


def predict_stub_domain() -> Predict:
    c = k8snetviz.load(DNS)
    return Predict(
        "The Corefile has a second server block, `corp.example:53 { forward . 10.150.0.10 }`. client looks up "
        "`intranet.corp.example.`. Who gives the answer?",
        ["CoreDNS's kubernetes plugin", "the company's DNS server 10.150.0.10, through CoreDNS",
         "the node's resolver, through `forward . /etc/resolv.conf`"],
        answer="the company's DNS server 10.150.0.10, through CoreDNS",
        explanation="CoreDNS picks the server block with the most specific zone that contains the name: "
                    "corp.example beats the root `.`. That block forwards to 10.150.0.10. The internet's resolvers "
                    "do not know corp.example: a pod with dnsPolicy Default gets NXDOMAIN.",
        reveal=lambda: (get_corefile(c), resolve(c, CLIENT, "intranet.corp.example."),
                        resolve(c, "app/legacy", "intranet.corp.example.")),
    )


def dns_predictions() -> list[Predict]:
    return [predict_short_name(), predict_ndots(), predict_headless(), predict_default_policy(),
            predict_external_name(), predict_stub_domain()]


# --- tasks -----------------------------------------------------------------------------------------------

def _wire(r: DNSResult) -> str:
    return ", ".join(q.name for q in r.queries)


def _is_yaml(answer: str) -> bool:
    return "\n" in answer.strip() or ": " in answer


SHORT_NAME_SOLUTION = """\
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: app
spec:
  dnsConfig:
    searches:
    - data.svc.cluster.local
  containers:
  - name: shell
    image: registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3
    command: [sleep, infinity]
"""


def _short_name_check(answer: str) -> CheckResult:
    base = k8snetviz.load(DNS)
    db_ip = base.service("data/db").cluster_ip
    if not _is_yaml(answer):
        name = answer.strip().strip("\"'")
        r = resolve(base, CLIENT, name)
        if not r.ok:
            return CheckResult.fail(f"from {CLIENT}, {name} is asked as {_wire(r)}: every answer is "
                                    f"{r.queries[-1].rcode if r.queries else 'missing'}, so the name does not resolve",
                                    proof=r)
        if db_ip not in r.addresses:
            return CheckResult.fail(f"{name} resolves to {', '.join(r.addresses)}, not to db's cluster IP {db_ip}",
                                    proof=r)
        if name.rstrip(".").count(".") >= 3:
            return CheckResult.fail(f"{name} works, but it is not short: write it with fewer labels", proof=r)
        return CheckResult.ok(f"`{name}` resolves to db's cluster IP {db_ip} as {r.final_name} "
                              f"(query {len(r.queries)}).", proof=r)
    docs = parse_text(answer, source="<your YAML>").manifests
    pods = [m for m in docs if m.kind == "Pod"]
    if not pods:
        return CheckResult.fail("your YAML has no Pod: write the pod client (namespace app) with the change")
    if not any(m.name == "client" and (m.namespace or "default") == "app" for m in pods):
        return CheckResult.fail("change the pod client in namespace app: your YAML names "
                                + ", ".join(f"{m.namespace or 'default'}/{m.name}" for m in pods))
    fixed = k8snetviz.load(DNS, answer)
    r = resolve(fixed, CLIENT, "db")
    if db_ip not in r.addresses:
        return CheckResult.fail(f"from {CLIENT}, db is still asked as {_wire(r)} and none of them is db's "
                                "Service: add a search domain that completes db to db.data.svc.cluster.local",
                                proof=r)
    problems = []
    if not resolve(fixed, CLIENT, "web").ok:
        problems.append("db works now, but web (in client's own namespace) no longer resolves: keep the cluster's "
                        "search domains (do not use dnsPolicy: None without them)")
    if problems:
        return CheckResult.fail(*problems, proof=r)
    return CheckResult.ok(f"db now resolves from {CLIENT} as {r.final_name} ({db_ip}), after "
                          f"{r.wasted_queries} NXDOMAIN answer(s) from the earlier search domains.", proof=r)


def task_short_name() -> Task:
    return Task(
        "Reach db from another namespace by a short name",
        "The pod client runs in namespace app; the Service db runs in namespace data. `db` does not resolve from "
        "client. Either write the shortest name that does (as a string, e.g. `answer = \"…\"`), or write the pod "
        "client's YAML with a `dnsConfig` that makes plain `db` work.",
        _short_name_check,
        Solution(SHORT_NAME_SOLUTION,
                 "The name `db.data` works as it is: its second candidate, db.data.svc.cluster.local, exists. To make "
                 "plain `db` work, `dnsConfig.searches` appends data.svc.cluster.local to the pod's search list "
                 "(dnsPolicy stays ClusterFirst, so the cluster's own search domains and nameserver stay).",
                 language="yaml"),
        hints=["`cluster.resolve(\"app/client\", \"db\")` shows every name the resolver tries.",
               "dnsConfig is merged into what dnsPolicy gives: searches are appended, nameservers too."],
    )


# The kubeadm Corefile kept as it is, with a server block per stub domain after it.
STUB_DOMAIN_SOLUTION = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
data:
  Corefile: |
""" + textwrap.indent(KUBEADM_COREFILE + """\
corp.example:53 {
    errors
    cache 30
    forward . 10.150.0.10
}
partner.example:53 {
    errors
    cache 30
    forward . 10.160.0.10
}
""", "    ")

_STUB_CHECKS = (
    ("api.partner.example.", "10.160.1.5", "the partner's API (partner.example, served by 10.160.0.10)"),
    ("status.partner.example.", "10.160.1.6", "every other name under partner.example (the task asks for all of "
     "them, not only api.partner.example)"),
    ("web.app.svc.cluster.local.", None, "the cluster's own names"),
    ("intranet.corp.example.", "10.150.0.20", "the company's names (corp.example, served by 10.150.0.10)"),
    ("example.com.", "93.184.216.34", "the internet's names (forward . /etc/resolv.conf)"),
)


def _stub_domain_check(answer: Any) -> CheckResult:
    outcome = resulting_cluster(DNS, answer)
    if outcome.form == "yaml":
        docs = parse_text(answer, source="<your YAML>").manifests
        maps = [m for m in docs if m.kind == "ConfigMap" and m.name == "coredns"
                and (m.namespace or "default") == "kube-system"]
        if not maps:
            return CheckResult.fail("write the ConfigMap coredns in namespace kube-system, with the whole Corefile "
                                    "under data.Corefile")
    fixed = outcome.cluster
    problems = []
    proof = None
    for name, want, what in _STUB_CHECKS:
        r = resolve(fixed, CLIENT, name)
        expected = want or fixed.service("app/web").cluster_ip
        if expected not in r.addresses:
            got = ", ".join(r.addresses) if r.ok else (r.queries[-1].rcode if r.queries else "no answer")
            problems.append(f"{what}: {name} gives {got}, not {expected}")
            proof = proof or r
    if problems:
        return CheckResult.fail(*problems, proof=proof)
    r = resolve(fixed, CLIENT, "api.partner.example.")
    return CheckResult.ok("partner.example goes to 10.160.0.10 and everything else still resolves: "
                          f"{r.queries[0].answer.source}.", proof=r)


def task_stub_domain() -> Task:
    return Task(
        "Forward a domain to an internal DNS server",
        "The partner's API `api.partner.example` is only known to the partner's DNS server at 10.160.0.10 "
        "(reachable over the VPN). Make pods resolve every name under partner.example there, and keep everything "
        "else working. Write the ConfigMap kube-system/coredns with the new Corefile.",
        _stub_domain_check,
        Solution(STUB_DOMAIN_SOLUTION,
                 "A stub domain is a server block of its own, `partner.example:53 { forward . 10.160.0.10 }`: CoreDNS "
                 "picks the block with the most specific zone, so only names under partner.example go there. "
                 "Changing the `forward .` line of the main block instead would send the internet's names to a "
                 "server that does not know them. CoreDNS's reload plugin picks up the edited ConfigMap by itself "
                 "(within about two minutes).",
                 language="yaml"),
        hints=["`get_corefile(cluster)` shows the current Corefile; copy it whole and add a block.",
               "`kubectl -n kube-system edit configmap coredns` is where you would do it on a real cluster."],
    )


def _pod_name_check(answer: str) -> CheckResult:
    c = k8snetviz.load(DNS)
    name = answer.strip().strip("\"'")
    if _is_yaml(name) or " " in name:
        raise UsageError(f'"{name}" is not one name: write just the DNS name, e.g. "something.data"')
    db0 = str(c.pod("data/db-0").ip)
    r = resolve(c, CLIENT, name)
    if not r.ok:
        return CheckResult.fail(f"{name} does not resolve from {CLIENT} (asked as {_wire(r)})", proof=r)
    if r.addresses != (db0,):
        return CheckResult.fail(f"{name} gives {', '.join(r.addresses)}: the name must give db-0's address "
                                f"{db0} and nothing else", proof=r)
    final = (r.final_name or name).rstrip(".")
    if ".pod." in f".{final}.":
        # CoreDNS's `pods insecure` record: the address with dashes, the namespace, `pod` — no pod name in it.
        return CheckResult.ok(f"{name} gives db-0's address {db0}, but it is the A record CoreDNS makes from the "
                              "address itself (dashes for dots, then the namespace and `pod`): it names the address, "
                              "not db-0, and a restarted db-0 with a new address is not found by it. "
                              "db-0.db-headless.data (hostname db-0 in the subdomain db-headless) follows the pod.",
                              proof=r)
    return CheckResult.ok(f"{name} is db-0 ({db0}): hostname db-0 in the subdomain db-headless (the headless "
                          "Service of the StatefulSet), namespace data.", proof=r)


def task_pod_name() -> Task:
    return Task(
        "One pod of a StatefulSet by name",
        "The database's primary is the pod db-0 (StatefulSet db, serviceName db-headless, namespace data). Write a "
        "name that resolves, from client, to db-0's address only.",
        _pod_name_check,
        Solution("db-0.db-headless.data", "HOSTNAME.SUBDOMAIN.NAMESPACE: the StatefulSet gives each pod its name "
                 "as hostname and the headless Service as subdomain, so CoreDNS serves "
                 "db-0.db-headless.data.svc.cluster.local. The search domain svc.cluster.local completes the short "
                 "form.", language="text"),
        hints=["`cluster.resolve(\"app/client\", \"db-headless.data\")` lists both pods."],
    )


DB_ALIAS_COMMAND = "kubectl -n app create service externalname db-main --external-name db.data.svc.cluster.local"


def _db_alias_check(answer: Any) -> CheckResult:
    outcome = resulting_cluster(DNS, answer)
    c = outcome.cluster
    note = f" (your commands: {outcome.note()})" if outcome.errors else ""
    db_ip = c.service("data/db").cluster_ip
    r = resolve(c, CLIENT, "db-main")
    alias = c.services.get("app/db-main")
    if db_ip not in r.addresses and alias is not None and alias.type == "ExternalName":
        return CheckResult.fail(f"db-main is a CNAME for {alias.external_name}, and {CLIENT} gets no address for "
                                "it: the CNAME's target is not completed with search domains, so it must be the "
                                f"full name of db's Service{note}", proof=r)
    if db_ip not in r.addresses:
        got = ", ".join(r.addresses) or (r.queries[-1].rcode if r.queries else "no answer")
        return CheckResult.fail(f"from {CLIENT}, db-main gives {got} (asked as {_wire(r)}), not db's cluster IP "
                                f"{db_ip}{note}", proof=r)
    svc = c.services.get("app/db-main")
    if svc is None or svc.type != "ExternalName":
        return CheckResult.fail(f"db-main gives {db_ip}, but as a copy of the address: when db is re-created with "
                                "another cluster IP, db-main still gives the old one. Make db-main a name for db "
                                "(a CNAME).", proof=r)
    return CheckResult.ok(f"db-main is a CNAME for {svc.external_name}: CoreDNS answers it with db's cluster IP "
                          f"{db_ip}, and follows db if its address changes.", proof=r)


def task_db_alias() -> Task:
    """Notebook 08: an ExternalName Service made with one kubectl command."""
    return Task(
        "Keep an old name working",
        "The database moved to the Service db in namespace data, but the applications in namespace app still "
        "connect to `db-main`. Make `db-main` resolve, from the pods of namespace app, to db's cluster IP, as a "
        "name that follows db (no address copied). One kubectl command does it.",
        _db_alias_check,
        Solution(DB_ALIAS_COMMAND, "An ExternalName Service is only a DNS record: CoreDNS answers db-main.app with "
                 "a CNAME to the name in externalName, and because that name is in the cluster's own zone it adds "
                 "db's A record to the answer. The target must be the full name ending in the cluster domain: "
                 "the CNAME is not completed with search domains, so `db.data` would point nowhere.",
                 language="bash"),
        hints=["`kubectl create service --help` lists the types; one of them takes `--external-name`.",
               "Check with `kubectl -n app exec client -- nslookup db-main`."],
        start=DNS,
    )


def dns_tasks() -> list[Task]:
    return [task_short_name(), task_stub_domain(), task_pod_name(), task_db_alias()]
