"""``trace --to NAME:PORT``: the lookup first, as packets, then the connection to the answer.

The pod's resolver sends each query of its search list to the nameserver in its resolv.conf
(for ``dnsPolicy: ClusterFirst`` the kube-dns ClusterIP, which kube-proxy DNATs to a CoreDNS
pod) over UDP 53. The first query is walked hop by hop; the others take the same path. If that
query cannot get through (a default-deny egress policy, say), the name does not resolve.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from k8snetviz.agents.writes import Owner
from k8snetviz.errors import UsageError
from k8snetviz.kernel.walk import DecidedBy, Hop, element_id
from k8snetviz.questions.results import TraceResult

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["trace_name"]


def trace_name(cluster: Cluster, source: str, name: str, port: int, protocol: str = "TCP",
               endpoint: str | None = None) -> TraceResult:
    from k8snetviz.questions.resolve import query_plan

    if not source.startswith("pod/"):
        raise UsageError(f"{name}:{port}: a DNS name is resolved by a pod's resolver; trace from pod/NS/NAME "
                         f"(not {source}), or give an address")
    plan = query_plan(cluster, source, name, "A")
    hops: list[Hop] = []
    dest = f"{name}:{port}"
    if plan.nameserver is not None and plan.queries:
        first = cluster.trace(source, f"{plan.nameserver}:{plan.port}", protocol=plan.protocol)
        for h in first.hops:
            hops.append(replace(h, step=len(hops) + 1,
                                detail=f"DNS query {plan.queries[0].name} {plan.queries[0].type}: {h.detail}"))
        if not first.delivered:
            return TraceResult(first.source, dest, "unresolved",
                               f"the DNS query to {plan.nameserver}:{plan.port}/{plan.protocol} is {first.verdict}: "
                               f"{first.reason}; {name} does not resolve", hops, None, [], protocol, cluster)
        answering = first.final["pod"] if first.final and first.final.get("pod") else plan.server
        for q in plan.queries:
            found = f" → {', '.join(q.addresses)}" if q.addresses else ""
            record = DecidedBy("record", element_id("record", q.name, q.type), f"{q.name} {q.type} {q.rcode}",
                               Owner("coredns", None, answering, (), "the DNS answer"))
            hops.append(Hop(len(hops) + 1, source, "eth0", "dns",
                            f"query {q.name} {q.type} to {plan.nameserver}:{plan.port}/{plan.protocol}, answered "
                            f"by {answering}: {q.rcode}{found}", first.hops[0].src,
                            f"{plan.nameserver}:{plan.port}", rule=record.text, decided_by=record))
    if not plan.addresses:
        why = plan.error or "no query of the search list got an address"
        return TraceResult(source, dest, "unresolved", f"{name} does not resolve from {source}: {why}",
                           hops, None, [], protocol, cluster)
    addr = plan.addresses[0]
    conn = cluster.trace(source, f"{addr}:{port}", endpoint=endpoint, protocol=protocol)
    for h in conn.hops:
        hops.append(replace(h, step=len(hops) + 1))
    return TraceResult(conn.source, dest, conn.verdict, f"{name} resolved to {addr}; {conn.reason}", hops,
                       conn.final, conn.candidates, protocol, cluster)
