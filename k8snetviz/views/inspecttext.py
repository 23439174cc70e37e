"""``k8snetviz inspect``: the build's account of a scenario, as text."""

from __future__ import annotations

from k8snetviz.questions.display import text_view
from k8snetviz.questions.inspect import InspectResult

__all__ = ["inspect_text"]


@text_view.register
def inspect_text(r: InspectResult) -> str:
    f = r.found
    kinds = ", ".join(f"{n} {k}" for k, n in f["objects"].items()) or "none"
    more = ", …" if f["nodes"] > len(f["node_names"]) else ""
    lines = [
        "found:",
        f"  source:         {r.source}",
        f"  objects:        {kinds}",
        f"  nodes:          {f['nodes']} ({', '.join(f['node_names'])}{more})",
        f"  pods:           {f['pods']}",
        f"  services:       {f['services']}",
        f"  CNI:            {f['cni']}",
        f"  kube-proxy:     {f['kube_proxy_mode']} mode",
        f"  service CIDR:   {f['service_cidr']} (kube-dns {f['dns_service_ip']})",
        f"  pod CIDR:       {f['pod_cidr']}",
        f"  node network:   {f['node_network']}, gateway {f['gateway'] or 'unknown'}",
        f"  cluster domain: {f['cluster_domain']}",
    ]
    for node, ranges in f["node_pod_cidrs"].items():
        lines.append(f"  podCIDR {node}: {', '.join(ranges[:4])}{' …' if len(ranges) > 4 else ''}")
    lines.append("inferred:" if r.inferred else "inferred: nothing (the scenario states it all)")
    lines += [f"  {i['what']}: {i['value']}  (from {i['from']})" for i in r.inferred]
    lines.append("approximated:" if r.approximated else "approximated: nothing")
    lines += [f"  {a}" for a in r.approximated]
    lines.append("added (absent from the scenario): " + (", ".join(r.added) or "nothing"))
    lines.append("ignored:" if r.ignored else "ignored: nothing")
    for i in r.ignored:
        ex = f" (e.g. {', '.join(i['examples'])})" if i["examples"] else ""
        lines.append(f"  {i['count']} {i['what']}: {i['why']}{ex}")
    if r.warnings:
        lines.append(f"warnings ({len(r.warnings)}):")
        lines += [f"  {w}" for w in r.warnings]
    return "\n".join(lines)
