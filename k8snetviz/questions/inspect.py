"""``inspect``: what the build of a scenario found in it, what it inferred and from what, what the model
approximates, and what it left out — the answer to "did it understand my cluster?".

>>> import k8snetviz
>>> r = k8snetviz.load("two-node-bridge").inspect()
>>> r.found["cni"], r.found["nodes"]
('bridge', 2)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k8snetviz.questions.display import Shown

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["InspectResult", "inspect"]


@dataclass
class InspectResult(Shown):
    """``found`` (counts per kind, nodes, CNI, kube-proxy mode, CIDRs, domain), ``inferred`` (what, value, from
    what), ``approximated`` (one sentence each), ``added`` (system objects filled in because absent), ``ignored``
    (objects left out, counted by why) and ``warnings``."""

    source: str
    found: dict[str, Any]
    inferred: list[dict[str, str]] = field(default_factory=list)
    approximated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "found": self.found, "inferred": self.inferred,
                "approximated": self.approximated, "added": self.added, "ignored": self.ignored,
                "warnings": self.warnings}


def inspect(cluster: Cluster) -> InspectResult:
    cfg = cluster.config
    kinds = Counter(m.kind for m in cluster.scenario.manifests)
    found = {
        "objects": dict(sorted(kinds.items())),
        "nodes": len(cluster.nodes),
        "node_names": list(cluster.nodes)[:20],
        "pods": len(cluster.pods),
        "services": len(cluster.services),
        "cni": cfg.cni,
        "kube_proxy_mode": cfg.kube_proxy_mode,
        "service_cidr": str(cfg.service_subnet),
        "pod_cidr": str(cfg.pod_subnet),
        "node_pod_cidrs": {n.name: [str(r) for r in n.pod_ranges] for n in list(cluster.nodes.values())[:20]},
        "node_network": str(cfg.node_network),
        "gateway": str(cfg.gateway) if cfg.gateway_known else None,
        "cluster_domain": cfg.cluster_domain,
        "dns_service_ip": str(cfg.dns_service_ip),
    }
    notes = cluster.notes
    return InspectResult(
        source=cluster.scenario.source,
        found=found,
        inferred=[{"what": i.what, "value": i.value, "from": i.source} for i in notes.inferred],
        approximated=list(notes.approximated),
        added=list(notes.added),
        ignored=[{"what": i.what, "count": i.count, "why": i.why, "examples": list(i.examples)}
                 for i in notes.ignored],
        warnings=list(cluster.warnings),
    )
