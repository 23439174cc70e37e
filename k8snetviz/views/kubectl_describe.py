"""``kubectl describe``, for the objects a networking exam describes: pods, nodes, workloads, endpoints,
NetworkPolicies, namespaces, ConfigMaps (Services and Ingresses: :mod:`kubectl_services`, :mod:`ingresstext`).

The layouts are kubectl's describers (``k8s.io/kubectl/pkg/describe/describe.go``): a prefix writer with
two spaces per level, aligned by Go's tabwriter (padding 2). Events are what the kubelet and the
controllers would have recorded for a five-minute-old object: a pod scheduled, pulled, created and
started, and ``Unhealthy`` while its readiness probe fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from k8snetviz.views.events import pod_events, probe_failure
from k8snetviz.views.resources import AGE
from k8snetviz.views.table import columns, tabwrite

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["describe_object", "pod_events", "events_table", "format_selector", "probe_failure"]

START = "Wed, 01 Jan 2025 11:55:00 +0000"


class _W:
    """kubectl's PrefixWriter: ``write(level, text)`` indents two spaces per level."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, level: int, text: str) -> None:
        self.lines.append("  " * level + text)

    def text(self) -> str:
        return tabwrite("\n".join(self.lines) + "\n", minwidth=0, padding=2).removesuffix("\n")


def _multiline(w: _W, level: int, title: str, values: dict[str, str] | None, sep: str = "=") -> None:
    items = sorted((values or {}).items())
    items = [(k, v) for k, v in items if k != "kubectl.kubernetes.io/last-applied-configuration"]
    if not items:
        w(level, f"{title}:\t<none>")
        return
    w(level, f"{title}:\t{items[0][0]}{sep}{items[0][1]}")
    for k, v in items[1:]:
        w(level, f"\t{k}{sep}{v}")


def format_selector(sel: dict[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``: ``app=web,tier in (a,b)``; ``<none>`` for an empty selector."""
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "", "DoesNotExist": "!"}.get(e.get("operator", ""), "")
        if op in ("in", "notin"):
            parts.append(f"{e.get('key')} {op} ({','.join(e.get('values') or [])})")
        elif op == "!":
            parts.append(f"!{e.get('key')}")
        else:
            parts.append(str(e.get("key")))
    return ",".join(parts) or "<none>"


# --- events ---------------------------------------------------------------------------------------------

def _events(w: _W, events: list[tuple[str, str, str, str, str]]) -> None:
    if not events:
        w(0, "Events:\t<none>")
        return
    w(0, "Events:")
    w(1, "Type\tReason\tAge\tFrom\tMessage")
    w(1, "----\t------\t----\t----\t-------")
    for e in events:
        w(1, "\t".join(e))


def events_table(cluster: Cluster, namespace: str | None) -> str:
    """``kubectl events`` / ``kubectl get events``: LAST SEEN TYPE REASON OBJECT MESSAGE."""
    rows = []
    for p in sorted(cluster.pods.values(), key=lambda p: (p.namespace, p.name)):
        if namespace is not None and p.namespace != namespace:
            continue
        for typ, reason, _age, _, msg in pod_events(cluster, p):
            seen = "2s" if reason == "Unhealthy" else AGE
            rows.append(([] if namespace is not None else [p.namespace]) + [seen, typ, reason, f"pod/{p.name}", msg])
    if not rows:
        return ""
    header = ([] if namespace is not None else ["NAMESPACE"]) + ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    return columns(header, rows)


# --- pods -------------------------------------------------------------------------------------------------

def _probe_text(kind: str, probe: dict[str, Any], container: dict[str, Any]) -> str:
    delay, timeout = probe.get("initialDelaySeconds", 0), probe.get("timeoutSeconds", 1)
    period, ok, bad = probe.get("periodSeconds", 10), probe.get("successThreshold", 1), probe.get("failureThreshold", 3)
    tail = f"delay={delay}s timeout={timeout}s period={period}s #success={ok} #failure={bad}"
    if probe.get("httpGet"):
        h = probe["httpGet"]
        scheme = str(h.get("scheme", "HTTP")).lower()
        return f"http-get {scheme}://{h.get('host', '')}:{h.get('port')}{h.get('path', '/')} {tail}"
    if probe.get("tcpSocket"):
        return f"tcp-socket :{probe['tcpSocket'].get('port')} {tail}"
    if probe.get("exec"):
        return f"exec [{' '.join(probe['exec'].get('command') or [])}] {tail}"
    return tail


def _describe_pod(cluster: Cluster, o: dict[str, Any]) -> str:
    md, spec, st = o["metadata"], o.get("spec") or {}, o.get("status") or {}
    pod = cluster.pods[f"{md['namespace']}/{md['name']}"]
    node = cluster.nodes.get(pod.node_name)
    w = _W()
    w(0, f"Name:\t{md['name']}")
    w(0, f"Namespace:\t{md['namespace']}")
    w(0, f"Priority:\t{spec.get('priority', 0)}")
    if spec.get("priorityClassName"):
        w(0, f"Priority Class Name:\t{spec['priorityClassName']}")
    w(0, f"Service Account:\t{spec.get('serviceAccountName', 'default')}")
    w(0, f"Node:\t{pod.node_name}/{node.internal_ip if node else ''}")
    w(0, f"Start Time:\t{START}")
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    w(0, f"Status:\t{'Terminating' if pod.terminating else st.get('phase', 'Running')}")
    w(0, f"IP:\t{st.get('podIP', '')}")
    w(0, "IPs:")
    for ip in st.get("podIPs") or []:
        w(1, f"IP:\t{ip['ip']}")
    if not st.get("podIPs"):
        w(1, "<none>")
    owners = md.get("ownerReferences") or []
    if owners:
        w(0, f"Controlled By:\t{owners[0]['kind']}/{owners[0]['name']}")
    w(0, "Containers:")
    statuses = {cs.get("name"): cs for cs in st.get("containerStatuses") or []}
    for c in spec.get("containers") or []:
        cs = statuses.get(c.get("name"), {})
        w(1, f"{c.get('name')}:")
        w(2, f"Container ID:\t{cs.get('containerID', '')}")
        w(2, f"Image:\t{c.get('image', '')}")
        w(2, f"Image ID:\t{cs.get('imageID', '')}")
        ports = c.get("ports") or []
        if ports:
            w(2, f"Port:\t{', '.join(str(p.get('containerPort')) + '/' + p.get('protocol', 'TCP') for p in ports)}")
            w(2, f"Host Port:\t{', '.join(str(p.get('hostPort', 0)) + '/' + p.get('protocol', 'TCP') for p in ports)}")
        else:
            w(2, "Port:\t<none>")
            w(2, "Host Port:\t<none>")
        if c.get("command"):
            w(2, "Command:")
            for part in c["command"]:
                w(3, str(part))
        if c.get("args"):
            w(2, "Args:")
            for part in c["args"]:
                w(3, str(part))
        if "running" in (cs.get("state") or {}):
            w(2, "State:\tRunning")
            w(3, f"Started:\t{START}")
        else:
            w(2, "State:\tWaiting")
            w(3, "Reason:\tContainerCreating")
        w(2, f"Ready:\t{str(cs.get('ready', False))}")
        w(2, "Restart Count:\t0")
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(kind):
                w(2, f"{kind[:-5].capitalize()}:\t{_probe_text(kind, c[kind], c)}")
        env = c.get("env") or []
        if env:
            w(2, "Environment:")
            for e in env:
                w(3, f"{e.get('name')}:\t{e.get('value', '')}")
        else:
            w(2, "Environment:\t<none>")
        w(2, "Mounts:")
        w(3, "/var/run/secrets/kubernetes.io/serviceaccount from kube-api-access (ro)")
    w(0, "Conditions:")
    w(1, "Type\tStatus")
    for cond in st.get("conditions") or []:
        w(1, f"{cond['type']} \t{cond['status']} ")
    w(0, "Volumes:")
    w(1, "kube-api-access:")
    w(2, "Type:\tProjected (a volume that contains injected data from multiple sources)")
    w(2, "TokenExpirationSeconds:\t3607")
    w(2, "ConfigMapName:\tkube-root-ca.crt")
    w(2, "Optional:\tfalse")
    w(2, "DownwardAPI:\ttrue")
    w(0, f"QoS Class:\t{st.get('qosClass', 'BestEffort')}")
    sel = spec.get("nodeSelector") or {}
    w(0, f"Node-Selectors:\t{','.join(f'{k}={v}' for k, v in sorted(sel.items())) or '<none>'}")
    tols = spec.get("tolerations") or []
    if tols:
        for i, t in enumerate(tols):
            key = t.get("key", "")
            eff = f":{t['effect']}" if t.get("effect") else ""
            op = " op=Exists" if t.get("operator") == "Exists" else (f"={t.get('value')}" if t.get("value") else "")
            sec = f" for {t['tolerationSeconds']}s" if t.get("tolerationSeconds") else ""
            w(0, ("Tolerations:\t" if i == 0 else "\t") + f"{key}{eff}{op}{sec}".lstrip(":") if key else
              ("Tolerations:\t" if i == 0 else "\t") + f"op=Exists{eff}")
    else:
        w(0, "Tolerations:\t<none>")
    _events(w, pod_events(cluster, pod))
    return w.text()


# --- nodes ------------------------------------------------------------------------------------------------

def _describe_node(cluster: Cluster, o: dict[str, Any]) -> str:
    md, spec, st = o["metadata"], o.get("spec") or {}, o.get("status") or {}
    n = cluster.nodes[md["name"]]
    w = _W()
    w(0, f"Name:\t{md['name']}")
    roles = ",".join(sorted(k.split("/", 1)[1] for k in (md.get("labels") or {})
                            if k.startswith("node-role.kubernetes.io/")))
    w(0, f"Roles:\t{roles or '<none>'}")
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    w(0, f"CreationTimestamp:\t{START}")
    taints = spec.get("taints") or []
    if taints:
        for i, t in enumerate(taints):
            val = f"={t['value']}" if t.get("value") else ""
            w(0, ("Taints:\t" if i == 0 else "\t") + f"{t.get('key')}{val}:{t.get('effect')}")
    else:
        w(0, "Taints:\t<none>")
    w(0, f"Unschedulable:\t{str(bool(spec.get('unschedulable'))).lower()}")
    w(0, "Lease:")
    w(1, f"HolderIdentity:\t{md['name']}")
    w(1, "AcquireTime:\t<unset>")
    w(1, "RenewTime:\tWed, 01 Jan 2025 12:00:00 +0000")
    w(0, "Conditions:")
    w(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage")
    w(1, "----\t------\t-----------------\t------------------\t------\t-------")
    for c in st.get("conditions") or []:
        w(1, f"{c['type']}\t{c['status']}\tWed, 01 Jan 2025 12:00:00 +0000\t{START}\t{c['reason']}\t{c['message']}")
    w(0, "Addresses:")
    for a in st.get("addresses") or []:
        w(1, f"{a['type']}:\t{a['address']}")
    for title in ("Capacity", "Allocatable"):
        w(0, f"{title}:")
        for k, v in sorted((st.get(title.lower()) or {}).items()):
            w(1, f"{k}:\t{v}")
    info = st.get("nodeInfo") or {}
    w(0, "System Info:")
    for label, key in (("Machine ID", "machineID"), ("System UUID", "systemUUID"), ("Boot ID", "bootID"),
                       ("Kernel Version", "kernelVersion"), ("OS Image", "osImage"),
                       ("Operating System", "operatingSystem"), ("Architecture", "architecture"),
                       ("Container Runtime Version", "containerRuntimeVersion"), ("Kubelet Version", "kubeletVersion")):
        w(1, f"{label}:\t{info.get(key, '')}")
    w(0, f"PodCIDR:\t{spec.get('podCIDR', '')}")
    w(0, f"PodCIDRs:\t{','.join(spec.get('podCIDRs') or [])}")
    w(0, f"ProviderID:\t{spec.get('providerID', '')}")
    pods = sorted((p for p in cluster.pods.values() if p.node_name == n.name), key=lambda p: (p.namespace, p.name))
    w(0, f"Non-terminated Pods:\t({len(pods)} in total)")
    w(1, "Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge")
    w(1, "---------\t----\t------------\t----------\t---------------\t-------------\t---")
    for p in pods:
        w(1, f"{p.namespace}\t{p.name}\t0 (0%)\t0 (0%)\t0 (0%)\t0 (0%)\t{AGE}")
    w(0, "Allocated resources:")
    w(1, "(Total limits may be over 100 percent, i.e., overcommitted.)")
    w(1, "Resource\tRequests\tLimits")
    w(1, "--------\t--------\t------")
    w(1, "cpu\t0 (0%)\t0 (0%)")
    w(1, "memory\t0 (0%)\t0 (0%)")
    w(0, "Events:\t<none>")
    return w.text()


# --- workloads ----------------------------------------------------------------------------------------

def _pod_template(w: _W, template: dict[str, Any]) -> None:
    w(0, "Pod Template:")
    _multiline(w, 1, "Labels", (template.get("metadata") or {}).get("labels"))
    spec = template.get("spec") or {}
    w(1, "Containers:")
    for c in spec.get("containers") or []:
        w(2, f"{c.get('name')}:")
        w(3, f"Image:\t{c.get('image', '')}")
        ports = c.get("ports") or []
        w(3, f"Port:\t{', '.join(str(p.get('containerPort')) + '/' + p.get('protocol', 'TCP') for p in ports)}"
          if ports else "Port:\t<none>")
        w(3, f"Host Port:\t{', '.join('0/' + p.get('protocol', 'TCP') for p in ports)}" if ports
          else "Host Port:\t<none>")
        for kind in ("livenessProbe", "readinessProbe"):
            if c.get(kind):
                w(3, f"{kind[:-5].capitalize()}:\t{_probe_text(kind, c[kind], c)}")
        w(3, "Environment:\t<none>")
        w(3, "Mounts:\t<none>")
    w(1, "Volumes:\t<none>")
    sel = spec.get("nodeSelector") or {}
    w(1, f"Node-Selectors:\t{','.join(f'{k}={v}' for k, v in sorted(sel.items())) or '<none>'}")
    w(1, "Tolerations:\t<none>" if not spec.get("tolerations") else
      "Tolerations:\t" + ", ".join(f"{t.get('key', '')}{':' + t['effect'] if t.get('effect') else ''}"
                                   f"{' op=Exists' if t.get('operator') == 'Exists' else ''}".strip()
                                   for t in spec["tolerations"]))


def _describe_deployment(cluster: Cluster, o: dict[str, Any]) -> str:
    from k8snetviz.agents.controllers import replica_set_name
    from k8snetviz.scenario.loader import Manifest

    md, spec, st = o["metadata"], o.get("spec") or {}, o.get("status") or {}
    w = _W()
    w(0, f"Name:\t{md['name']}")
    w(0, f"Namespace:\t{md['namespace']}")
    w(0, f"CreationTimestamp:\t{START}")
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    w(0, f"Selector:\t{format_selector(spec.get('selector'))}")
    want, ready = spec.get("replicas", 1), st.get("availableReplicas", 0)
    total = st.get("replicas", 0)
    w(0, f"Replicas:\t{want} desired | {st.get('updatedReplicas', 0)} updated | {total} total | {ready} available | "
         f"{max(want - ready, 0) if total else 0} unavailable")
    w(0, "StrategyType:\tRollingUpdate")
    w(0, "MinReadySeconds:\t0")
    w(0, "RollingUpdateStrategy:\t25% max unavailable, 25% max surge")
    _pod_template(w, spec.get("template") or {})
    w(0, "Conditions:")
    w(1, "Type\tStatus\tReason")
    w(1, "----\t------\t------")
    w(1, f"Available \t{'True' if ready >= want else 'False'} \t"
         f"{'MinimumReplicasAvailable' if ready >= want else 'MinimumReplicasUnavailable'}")
    w(1, "Progressing \tTrue \tNewReplicaSetAvailable")
    w(0, "OldReplicaSets:\t<none>")
    rs = replica_set_name(Manifest({"metadata": md, "spec": spec, "kind": "Deployment"}, "", 0))
    w(0, f"NewReplicaSet:\t{rs} ({total}/{want} replicas created)")
    w(0, "Events:")
    w(1, "Type\tReason\tAge\tFrom\tMessage")
    w(1, "----\t------\t----\t----\t-------")
    w(1, f"Normal\tScalingReplicaSet\t{AGE}\tdeployment-controller\tScaled up replica set {rs} from 0 to {want}")
    return w.text()


def _describe_replicated(cluster: Cluster, kind: str, o: dict[str, Any]) -> str:
    md, spec, st = o["metadata"], o.get("spec") or {}, o.get("status") or {}
    w = _W()
    w(0, f"Name:\t{md['name']}")
    if kind == "DaemonSet":
        w(0, f"Selector:\t{format_selector(spec.get('selector'))}")
        sel = (((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")) or {}
        w(0, f"Node-Selector:\t{','.join(f'{k}={v}' for k, v in sorted(sel.items())) or '<none>'}")
        _multiline(w, 0, "Labels", md.get("labels"))
        _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
        w(0, f"Desired Number of Nodes Scheduled: {st.get('desiredNumberScheduled', 0)}")
        w(0, f"Current Number of Nodes Scheduled: {st.get('currentNumberScheduled', 0)}")
        w(0, f"Number of Nodes Scheduled with Up-to-date Pods: {st.get('updatedNumberScheduled', 0)}")
        w(0, f"Number of Nodes Scheduled with Available Pods: {st.get('numberAvailable', 0)}")
        w(0, f"Number of Nodes Misscheduled: {st.get('numberMisscheduled', 0)}")
        w(0, f"Pods Status:\t{st.get('numberReady', 0)} Running / 0 Waiting / 0 Succeeded / 0 Failed")
    else:
        w(0, f"Namespace:\t{md['namespace']}")
        w(0, f"Selector:\t{format_selector(spec.get('selector'))}")
        _multiline(w, 0, "Labels", md.get("labels"))
        _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
        owners = md.get("ownerReferences") or []
        if owners:
            w(0, f"Controlled By:\t{owners[0]['kind']}/{owners[0]['name']}")
        w(0, f"Replicas:\t{st.get('replicas', 0)} current / {spec.get('replicas', 1)} desired")
        w(0, f"Pods Status:\t{st.get('readyReplicas', 0)} Running / 0 Waiting / 0 Succeeded / 0 Failed")
    _pod_template(w, spec.get("template") or {})
    w(0, "Events:\t<none>")
    return w.text()


# --- networking ------------------------------------------------------------------------------------------

def _describe_endpoints(cluster: Cluster, o: dict[str, Any]) -> str:
    md = o["metadata"]
    w = _W()
    w(0, f"Name:\t{md['name']}")
    w(0, f"Namespace:\t{md['namespace']}")
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    w(0, "Subsets:")
    for ss in o.get("subsets") or []:
        w(1, f"Addresses:\t{','.join(a['ip'] for a in ss.get('addresses') or []) or '<none>'}")
        w(1, f"NotReadyAddresses:\t{','.join(a['ip'] for a in ss.get('notReadyAddresses') or []) or '<none>'}")
        w(1, "Ports:")
        w(2, "Name\tPort\tProtocol")
        w(2, "----\t----\t--------")
        for p in ss.get("ports") or []:
            w(2, f"{p.get('name') or '<unset>'}\t{p.get('port')}\t{p.get('protocol', 'TCP')}")
        w(0, "")
    w(0, "Events:\t<none>")
    return w.text()


def _describe_slice(cluster: Cluster, o: dict[str, Any]) -> str:
    md = o["metadata"]
    w = _W()
    w(0, f"Name:\t{md['name']}")
    w(0, f"Namespace:\t{md['namespace']}")
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    w(0, f"AddressType:\t{o.get('addressType', 'IPv4')}")
    w(0, "Ports:")
    w(1, "Name\tPort\tProtocol")
    w(1, "----\t----\t--------")
    for p in o.get("ports") or []:
        w(1, f"{p.get('name') or '<unset>'}\t{p.get('port', '<unset>')}\t{p.get('protocol', 'TCP')}")
    w(0, "Endpoints:")
    for ep in o.get("endpoints") or []:
        w(1, f"- Addresses:\t{','.join(ep.get('addresses') or [])}")
        w(2, "Conditions:")
        cond = ep.get("conditions") or {}
        for k in ("ready", "serving", "terminating"):
            v = cond.get(k)
            w(3, f"{k.capitalize()}:\t{'<unset>' if v is None else str(v).lower()}")
        w(2, f"Hostname:\t{ep.get('hostname', '<unset>')}")
        ref = ep.get("targetRef")
        w(2, f"TargetRef:\t{ref['kind']}/{ref['name']}" if ref else "TargetRef:\t<unset>")
        w(2, f"NodeName:\t{ep.get('nodeName', '<unset>')}")
        w(2, "Zone:\t<unset>")
    w(0, "Events:\t<none>")
    return w.text()


def _port_text(p: dict[str, Any]) -> str:
    proto = p.get("protocol") or "TCP"
    port = p.get("port")
    if port is None:
        return f"<any> (traffic allowed to all ports)/{proto}"
    if p.get("endPort") is not None:
        return f"{port}-{p['endPort']}/{proto}"
    return f"{port}/{proto}"


def _peers(w: _W, rules: list[dict[str, Any]], direction: str) -> None:
    ind = "    "
    word, peer_key = ("From", "from") if direction == "ingress" else ("To", "to")
    if not rules:
        w(0, f"{ind}<none> (Selected pods are isolated for {direction} connectivity)")
        return
    for i, r in enumerate(rules):
        ports = r.get("ports") or []
        if not ports:
            w(0, f"{ind}To Port: <any> (traffic allowed to all ports)")
        for p in ports:
            w(0, f"{ind}To Port: {_port_text(p)}")
        peers = r.get(peer_key) or []
        if not peers:
            what = "source" if direction == "ingress" else "destination"
            w(0, f"{ind}{word}: <any> (traffic not restricted by {what})")
        for peer in peers:
            w(0, f"{ind}{word}:")
            if peer.get("podSelector") is not None and peer.get("namespaceSelector") is not None:
                w(1, f"{ind}NamespaceSelector: {format_selector(peer['namespaceSelector'])}")
                w(1, f"{ind}PodSelector: {format_selector(peer['podSelector'])}")
            elif peer.get("podSelector") is not None:
                w(1, f"{ind}PodSelector: {format_selector(peer['podSelector'])}")
            elif peer.get("namespaceSelector") is not None:
                w(1, f"{ind}NamespaceSelector: {format_selector(peer['namespaceSelector'])}")
            elif peer.get("ipBlock") is not None:
                w(1, f"{ind}IPBlock:")
                w(2, f"{ind}CIDR: {peer['ipBlock'].get('cidr')}")
                w(2, f"{ind}Except: {', '.join(peer['ipBlock'].get('except') or [])}")
        if i != len(rules) - 1:
            w(0, f"{ind}----------")


def _describe_netpol(cluster: Cluster, o: dict[str, Any]) -> str:
    md, spec = o["metadata"], o.get("spec") or {}
    w = _W()
    w(0, f"Name:\t{md['name']}")
    w(0, f"Namespace:\t{md['namespace']}")
    w(0, "Created on:\t2025-01-01 11:55:00 +0000 UTC")
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    w(0, "Spec:")
    sel = spec.get("podSelector") or {}
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        w(1, "PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)")
    else:
        w(1, f"PodSelector:     {format_selector(sel)}")
    types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if spec.get("egress") else []))
    if "Ingress" in types:
        w(1, "Allowing ingress traffic:")
        _peers(w, spec.get("ingress") or [], "ingress")
    else:
        w(1, "Not affecting ingress traffic")
    if "Egress" in types:
        w(1, "Allowing egress traffic:")
        _peers(w, spec.get("egress") or [], "egress")
    else:
        w(1, "Not affecting egress traffic")
    w(1, f"Policy Types: {', '.join(types)}")
    return "\n".join(w.lines)


def _describe_namespace(cluster: Cluster, o: dict[str, Any]) -> str:
    md = o["metadata"]
    w = _W()
    w(0, f"Name:\t{md['name']}")
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    w(0, "Status:\tActive")
    w(0, "")
    w(0, "No resource quota.")
    w(0, "")
    w(0, "No LimitRange resource.")
    return w.text()


def _describe_configmap(cluster: Cluster, o: dict[str, Any]) -> str:
    md = o["metadata"]
    lines = [f"Name:         {md['name']}", f"Namespace:    {md.get('namespace', '')}"]
    w = _W()
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    lines += [ln.replace("\t", "  ") for ln in tabwrite("\n".join(w.lines) + "\n", minwidth=14, padding=0)
              .splitlines()]
    lines += ["", "Data", "===="]
    for k, v in sorted((o.get("data") or {}).items()):
        lines += [f"{k}:", "----", str(v).rstrip("\n"), ""]
    lines += ["", "BinaryData", "====", "", "Events:  <none>"]
    return "\n".join(lines)


def _describe_generic(cluster: Cluster, kind: str, o: dict[str, Any]) -> str:
    from k8snetviz.views.yamltext import to_yaml

    md = o["metadata"]
    w = _W()
    w(0, f"Name:\t{md['name']}")
    if md.get("namespace"):
        w(0, f"Namespace:\t{md['namespace']}")
    _multiline(w, 0, "Labels", md.get("labels"))
    _multiline(w, 0, "Annotations", md.get("annotations"), ": ")
    w(0, f"API Version:\t{o.get('apiVersion', '')}")
    w(0, f"Kind:\t{kind}")
    body = {k: v for k, v in o.items() if k not in ("apiVersion", "kind", "metadata")}
    text = w.text()
    if body:
        text += "\n" + "\n".join(ln.replace(":", ":", 1) for ln in to_yaml(body).rstrip("\n").splitlines())
    return text + "\nEvents:  <none>"


def describe_object(cluster: Cluster, kind: str, o: dict[str, Any]) -> str:
    """``kubectl describe KIND NAME`` for one object as the API server returns it."""
    if kind == "Service":
        from k8snetviz.api.endpointslices import slices_for
        from k8snetviz.views.kubectl_services import describe_service

        svc = cluster.services[f"{o['metadata']['namespace']}/{o['metadata']['name']}"]
        return describe_service(svc, slices_for(cluster.endpointslices, svc))
    if kind == "Ingress":
        from k8snetviz.views.ingresstext import describe_ingress

        return describe_ingress(cluster, o["metadata"]["name"], o["metadata"]["namespace"])
    if kind == "Pod":
        return _describe_pod(cluster, o)
    if kind == "Node":
        return _describe_node(cluster, o)
    if kind == "Deployment":
        return _describe_deployment(cluster, o)
    if kind in ("ReplicaSet", "DaemonSet", "StatefulSet"):
        return _describe_replicated(cluster, kind, o)
    if kind == "Endpoints":
        return _describe_endpoints(cluster, o)
    if kind == "EndpointSlice":
        return _describe_slice(cluster, o)
    if kind == "NetworkPolicy":
        return _describe_netpol(cluster, o)
    if kind == "Namespace":
        return _describe_namespace(cluster, o)
    if kind == "ConfigMap":
        return _describe_configmap(cluster, o)
    return _describe_generic(cluster, kind, o)

