"""``lab verify``'s DNS rows: the real glibc resolver in a pod against the simulator's plan.

For a few pods of the scenario (up to :data:`MAX_PODS`, chosen deterministically so that every
``dnsPolicy`` present is covered) and a few names - a Service of the pod's own namespace by its
short name, one of another namespace as ``svc.ns``, a fully qualified name with its trailing dot, an
outside name with few dots, a headless and an ExternalName Service when the scenario has them -
``getaddrinfo(NAME, AF_INET)`` runs in the pod's namespace (with the kubelet's resolv.conf that
``lab up`` wrote) and the DNS servers of the lab log every query they receive. Two rows per lookup:

- the queries, in order, with their type and the client address the server saw, against
  :func:`~k8snetviz.questions.resolve.query_plan` and the simulated walk of the first query to the
  nameserver (``final.src``);
- the addresses getaddrinfo returned against the plan's (as a set: CoreDNS's ``loadbalance``
  shuffles the records and getaddrinfo sorts them by RFC 6724).

The plan is IPv4: an ``A`` lookup, which is getaddrinfo with ``AF_INET`` (one ``A`` query per
candidate of the search list). When the simulator says the query to the nameserver is lost, the
expectation follows the walk: lost on the way there, the server logs nothing; lost on the way back,
it logs the first query (glibc's retransmissions of it folded into one); either way the name does not
resolve. A pod whose nameserver has no server in the lab is said in a note, not checked.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from k8snetviz.errors import K8sNetVizError
from k8snetviz.lab.command import in_netns, run
from k8snetviz.lab.dnsserver import LoggedQuery, read_log
from k8snetviz.lab.errors import CommandError
from k8snetviz.questions.labreport import Check

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster
    from k8snetviz.lab.build import Layout

__all__ = ["MAX_PODS", "DNSCase", "Expected", "RealLookup", "DNSRun", "dns_clients", "dns_names", "dns_cases",
           "lookup_batch"]

MAX_PODS = 3
LOOKUP_TIMEOUT = 120.0  # a lost query costs glibc timeout:5 x attempts:2, 10 s a name (measured in the lab)
DNS_PORT = 53

# Run in a UTS namespace of its own with the pod's hostname: glibc takes a default search domain from a
# hostname with dots when resolv.conf has no search line, and the kubelet gives a pod its own hostname.
_GAI_BATCH = """\
import json, socket, sys, time
if sys.argv[1]:
    socket.sethostname(sys.argv[1])
out = []
for name in sys.argv[2:]:
    t0 = time.monotonic()
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
        got = {"addresses": list(dict.fromkeys(i[4][0] for i in infos)), "error": None}
    except socket.gaierror as e:
        got = {"addresses": [], "error": e.strerror}
    out.append({"name": name, "t0": t0, "t1": time.monotonic(), **got})
print(json.dumps(out))
"""


@dataclass(frozen=True)
class DNSCase:
    """One lookup: ``name`` resolved in ``pod`` (``NS/NAME``); ``label`` says what kind of name it is."""

    pod: str
    name: str
    label: str


@dataclass(frozen=True)
class Expected:
    """The simulator's side of a lookup: the queries a lab server receives, from whom, and the result."""

    queries: tuple[tuple[str, str], ...]
    addresses: tuple[str, ...]
    peer: str  # the client address the server sees ("" when no query reaches a server)
    error: str | None
    path: str  # answered | request lost | reply lost


@dataclass(frozen=True)
class RealLookup:
    """What glibc returned in the pod, and when (CLOCK_MONOTONIC, the servers' clock too)."""

    name: str
    t0: float
    t1: float
    addresses: tuple[str, ...]
    error: str | None


# -- which pods, which names ---------------------------------------------------------------------
def _reaches_its_server(cluster: Cluster, layout: Layout, pod: Pod) -> bool:
    """Does the pod's query to its nameserver stay on devices the lab could build (see Layout.unbuilt)?"""
    from k8snetviz.questions.resolve import pod_dns

    if not layout.unbuilt:
        return True
    for ns in pod_dns(cluster, pod).resolv_conf.nameservers[:1]:
        sim = cluster.trace(f"pod/{pod.key}", f"{ns}:{DNS_PORT}", protocol="UDP")
        walks = [sim] + [cluster.trace(f"pod/{pod.key}", f"{ns}:{DNS_PORT}", protocol="UDP", endpoint=c["pod"])
                         for c in sim.candidates if "/" in str(c.get("pod", ""))]
        if any(layout.crosses_unbuilt(w.hops) for w in walks):
            return False
    return True


def dns_clients(cluster: Cluster, layout: Layout) -> list[Pod]:
    """The pods to resolve from: every dnsPolicy present first, then other namespaces and nodes. A pod whose
    queries would cross a device the lab could not build is left out."""
    from k8snetviz.questions.resolve import pod_dns

    servers = {m.removeprefix("pod/") for m in layout.dns}
    pool = []
    for p in cluster.pods.values():
        if p.host_network or p.key in servers or f"pod/{p.key}" not in layout.netns:
            continue
        try:
            pod_dns(cluster, p)
        except K8sNetVizError:
            continue  # build said so: no resolv.conf
        if not _reaches_its_server(cluster, layout, p):
            continue
        pool.append(p)
    chosen: list[Pod] = []
    for policy in dict.fromkeys(p.dns_policy for p in pool):
        chosen.append(next(p for p in pool if p.dns_policy == policy))
    while len(chosen) < MAX_PODS:
        rest = [p for p in pool if p not in chosen]
        if not rest:
            break
        spaces, nodes = {p.namespace for p in chosen}, {p.node_name for p in chosen}
        chosen.append(max(rest, key=lambda p: (p.namespace not in spaces) + (p.node_name not in nodes)))
    return chosen


def _plain(svc: Any) -> bool:
    return svc.type != "ExternalName" and not svc.headless and any(ip and ip != "None" for ip in svc.cluster_ips)


def dns_names(cluster: Cluster, pod: Pod) -> list[tuple[str, str]]:
    """(label, name) for the lookups made from ``pod``."""
    services = list(cluster.services.values())
    domain = cluster.config.cluster_domain.rstrip(".")
    own = next((s for s in services if s.namespace == pod.namespace and _plain(s)), None)
    others = [s for s in services if s.namespace != pod.namespace and _plain(s)]
    other = next((s for s in others if s.namespace not in ("kube-system", "default")), None) \
        or next((s for s in others if s.namespace == "default"), None) or next(iter(others), None)
    out: list[tuple[str, str]] = []
    if own is not None:
        out.append(("service, own namespace", own.name))
    if other is not None:
        out.append(("service, other namespace", f"{other.name}.{other.namespace}"))
    fq = own or other
    if fq is not None:
        out.append(("fully qualified", f"{fq.name}.{fq.namespace}.svc.{domain}."))
    out.append(("outside name", "example.com"))
    headless = next((s for s in services if s.headless and s.type != "ExternalName"), None)
    if headless is not None:
        out.append(("headless service", f"{headless.name}.{headless.namespace}"))
    external = next((s for s in services if s.type == "ExternalName"), None)
    if external is not None:
        out.append(("ExternalName", f"{external.name}.{external.namespace}"))
    return out


def dns_cases(cluster: Cluster, layout: Layout) -> list[DNSCase]:
    """Every lookup of the suite, pod by pod."""
    return [DNSCase(p.key, name, label) for p in dns_clients(cluster, layout) for label, name in dns_names(cluster, p)]


# -- the simulator's side --------------------------------------------------------------------------
def _ip(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[0] if endpoint else ""


def _lab_has_server(cluster: Cluster, layout: Layout, nameserver: str) -> bool:
    from k8snetviz.questions.resolve import cluster_dns

    kind = cluster_dns(cluster).nameserver(nameserver).kind
    if kind == "coredns":
        return any(d["role"] == "coredns" for d in layout.dns.values())
    if kind == "upstream":
        return any(d["address"] == nameserver for d in layout.dns.values())
    return True  # nothing listens there, in the model and in the lab alike


def _expect(cluster: Cluster, case: DNSCase, walks: dict[tuple[str, str], Any]) -> Expected:
    from k8snetviz.questions.resolve import query_plan

    plan = query_plan(cluster, case.pod, case.name)
    queries = tuple((q.name, q.type) for q in plan.queries)
    if plan.nameserver is None or not plan.queries:  # /etc/hosts or a numeric address: no query
        return Expected((), plan.addresses, "", plan.error, "answered")
    walk = _walk(cluster, walks, case.pod, plan.nameserver)
    if walk.delivered and any(q.rcode != "TIMEOUT" for q in plan.queries):
        return Expected(queries, plan.addresses, _ip(str(walk.final["src"])), plan.error, "answered")
    if walk.delivered:  # the address answers nothing in the model: no lab server logs a query
        return Expected((), (), "", plan.error, "no server")
    arrived = next((h for h in walk.request_hops if h.action == "deliver"), None)
    if arrived is not None:
        return Expected(queries[:1], (), _ip(str(arrived.src or "")), "TRY_AGAIN", "reply lost")
    return Expected((), (), "", "TRY_AGAIN", "request lost")


def _walk(cluster: Cluster, walks: dict[tuple[str, str], Any], pod: str, nameserver: str) -> Any:
    key = (pod, nameserver)
    if key not in walks:
        walks[key] = cluster.trace(f"pod/{pod}", f"{nameserver}:{DNS_PORT}", protocol="UDP")
    return walks[key]


# -- the kernel's side -------------------------------------------------------------------------------
def lookup_batch(netns: str, names: list[str], hostname: str = "") -> list[RealLookup]:
    """getaddrinfo(NAME, AF_INET) for each name in turn, in ``netns`` (as ``hostname``), timed around each."""
    argv = ["unshare", "--uts", sys.executable, "-c", _GAI_BATCH, hostname, *names]
    try:
        done = run(in_netns(netns, argv), check=False, timeout=LOOKUP_TIMEOUT)
    except CommandError as exc:  # a hung resolver is a row that disagrees, not a verify that stops
        return [RealLookup(n, 0.0, 0.0, (), f"getaddrinfo did not run: {exc}") for n in names]
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        err = (done.stderr or done.stdout).strip()[-300:] or f"exit status {done.returncode}"
        return [RealLookup(n, 0.0, 0.0, (), f"getaddrinfo did not run: {err}") for n in names]
    return [RealLookup(d["name"], d["t0"], d["t1"], tuple(d["addresses"]), d["error"]) for d in data]


def _fold(queries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [q for i, q in enumerate(queries) if i == 0 or q != queries[i - 1]]


class DNSRun:
    """The DNS suite of one lab: expectations made now (this thread: the model), lookups in the background."""

    def __init__(self, cluster: Cluster, layout: Layout) -> None:
        """Plan the suite: the cases, the simulator's expectations, and the notes on what is not checked."""
        self.layout = layout
        self.notes: list[str] = [n for n in layout.notes if n.startswith("no DNS server in the lab")]
        self.cases: list[DNSCase] = []
        self.expected: dict[DNSCase, Expected] = {}
        self.policy: dict[str, str] = {}
        self.hostname: dict[str, str] = {}
        self.results: dict[DNSCase, RealLookup] = {}
        self._threads: list[threading.Thread] = []
        if not layout.dns:
            self.notes.append("no DNS server in the lab: the scenario has no CoreDNS pod")
            return
        from k8snetviz.questions.resolve import query_plan

        walks: dict[tuple[str, str], Any] = {}
        for case in dns_cases(cluster, layout):
            pod = cluster.pods[case.pod]
            self.policy[case.pod] = pod.dns_policy
            self.hostname[case.pod] = (pod.hostname or pod.name)[:63]  # the kubelet's choice
            nameserver = query_plan(cluster, case.pod, case.name).nameserver
            if nameserver and not _lab_has_server(cluster, layout, nameserver):
                note = f"pod {case.pod}: no DNS server in the lab at its nameserver {nameserver}; not checked"
                if note not in self.notes:
                    self.notes.append(note)
                continue
            exp = _expect(cluster, case, walks)
            lost = [c for c in self.cases if c.pod == case.pod and self.expected[c].path != "answered"]
            if exp.path in ("request lost", "reply lost") and (lost or not case.name.endswith(".")):
                continue  # a lost query costs glibc 10 s a name: one fully qualified name says it
            self.cases.append(case)
            self.expected[case] = exp
        self._peers = {c.pod: self._peer_set(cluster, c.pod) for c in self.cases}

    def _peer_set(self, cluster: Cluster, pod: str) -> set[str]:
        p = cluster.pods[pod]
        node = cluster.nodes.get(p.node_name or "")
        ips = {str(p.ip), str(node.internal_ip) if node else ""}
        ips |= {self.expected[c].peer for c in self.cases if c.pod == pod}
        return ips - {""}

    def start(self) -> None:
        """Run the lookups: pods that a server could not tell apart one after the other, the rest side by side."""
        groups: list[tuple[set[str], list[str]]] = []
        for pod in dict.fromkeys(c.pod for c in self.cases):
            peers = set(self._peers[pod])
            joined = [g for g in groups if g[0] & peers]
            for g in joined:
                groups.remove(g)
                peers |= g[0]
            groups.append((peers, [p for g in joined for p in g[1]] + [pod]))
        for _, pods in groups:
            t = threading.Thread(target=self._run_pods, args=(pods,), daemon=True)
            t.start()
            self._threads.append(t)

    def _run_pods(self, pods: list[str]) -> None:
        for pod in pods:
            cases = [c for c in self.cases if c.pod == pod]
            real = lookup_batch(self.layout.netns[f"pod/{pod}"], [c.name for c in cases], self.hostname[pod])
            for case, r in zip(cases, real, strict=True):
                self.results[case] = r

    def checks(self) -> list[Check]:
        """Wait for the lookups; two rows per lookup: the queries the servers logged, and the addresses."""
        for t in self._threads:
            t.join()
        logs = sorted((q for d in self.layout.dns.values() for q in read_log(Path(d["log"]))), key=lambda q: q.t)
        out: list[Check] = []
        for case in self.cases:
            exp, real = self.expected[case], self.results[case]
            peers = self._peers[case.pod]
            got = [q for q in logs if q.peer in peers and real.t0 <= q.t <= real.t1]
            out += _rows(case, self.policy[case.pod], exp, real, got)
        return out


def _queries_text(queries: list[tuple[str, str]], peers: list[str]) -> str:
    if not queries:
        return "no query"
    types = "/".join(dict.fromkeys(t for _, t in queries))
    names = queries[0][0] + (f" … {queries[-1][0]}" if len(queries) > 1 else "")
    return f"{len(queries)} {types}: {names}" + (f" from {', '.join(peers)}" if peers else "")


def _rows(case: DNSCase, policy: str, exp: Expected, real: RealLookup, got: list[LoggedQuery]) -> list[Check]:
    who = f"pod/{case.pod} ({policy}) resolves {case.name}"
    wire = [(q.name, q.type) for q in got]
    fold = exp.path == "reply lost"
    if fold:
        wire = _fold(wire)  # glibc sends the unanswered query again (attempts:2)
    peers = sorted({q.peer for q in got})
    want_peers = [exp.peer] if exp.queries else []
    agree = wire == list(exp.queries) and peers == want_peers
    detail = "" if agree else (f"kernel: {[f'{n} {t}' for n, t in wire]} from {peers}; simulator: "
                               f"{[f'{n} {t}' for n, t in exp.queries]} from {want_peers} ({exp.path})")
    label = f"DNS queries{' (retransmissions folded)' if fold else ''}: {who} [{case.label}]"
    rows = [Check(label, _queries_text(wire, peers), _queries_text(list(exp.queries), want_peers), agree, detail)]

    def result(addresses: tuple[str, ...], error: str | None) -> str:
        return ", ".join(sorted(addresses)) if addresses else f"no address ({error or 'none returned'})"

    same = sorted(real.addresses) == sorted(exp.addresses)
    rows.append(Check(f"DNS answer: {who}", result(real.addresses, real.error), result(exp.addresses, exp.error),
                      same, "" if same else f"getaddrinfo: {real.addresses or real.error}; simulator: "
                      f"{exp.addresses or exp.error} ({exp.path})"))
    return rows
