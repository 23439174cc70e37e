"""Objects as the API server returns them: what ``kubectl get -o yaml|json|jsonpath`` prints.

The documents a scenario holds are what someone wrote; the API server returns them completed: metadata
(``uid``, ``creationTimestamp``, ``resourceVersion``), the defaults its defaulting functions fill
(``spec.dnsPolicy``, ``spec.ipFamilies``, ``spec.sessionAffinity``), what controllers wrote (a pod of a
Deployment, an EndpointSlice, a ReplicaSet) and the ``status`` the agents report (``podIP``,
``loadBalancer.ingress``, the number of ready replicas). Times are fixed, so output is reproducible.

>>> import k8snetviz
>>> svc = next(o for o in objects(k8snetviz.load("services"), "Service") if o["metadata"]["name"] == "web")
>>> svc["spec"]["clusterIP"] == svc["spec"]["clusterIPs"][0], svc["spec"]["ipFamilies"]
(True, ['IPv4'])
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from k8snetviz.api.discovery import is_namespaced, type_of_kind

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster

__all__ = ["objects", "object_of", "uid", "CREATED", "NOW", "derived_config_maps"]

# The session's clock: objects were created five minutes before "now" (AGE 5m everywhere).
CREATED = "2025-01-01T11:55:00Z"
NOW = "2025-01-01T12:00:00Z"
_NS = uuid.UUID("6f1c1a3e-8c4b-4bd0-9a4e-6b2f1c0d9e71")


def uid(kind: str, namespace: str, name: str) -> str:
    """A stable stand-in for the UID the API server gives an object."""
    return str(uuid.uuid5(_NS, f"{kind}/{namespace}/{name}"))


def _meta(kind: str, md: dict[str, Any], namespace: str) -> dict[str, Any]:
    out = copy.deepcopy(md)
    name = str(out.get("name", ""))
    out.setdefault("creationTimestamp", CREATED)
    if is_namespaced(kind):
        out["namespace"] = namespace
    else:
        out.pop("namespace", None)
    out.setdefault("resourceVersion", str(1000 + int(uid(kind, namespace, name)[:4], 16) % 9000))
    out.setdefault("uid", uid(kind, namespace, name))
    return dict(sorted(out.items()))


def _doc(body: dict[str, Any]) -> dict[str, Any]:
    kind = str(body.get("kind", ""))
    md = body.get("metadata") or {}
    ns = str(md.get("namespace") or "default")
    t = type_of_kind(kind)
    out: dict[str, Any] = {"apiVersion": body.get("apiVersion") or (t.api_version if t else "v1"), "kind": kind,
                           "metadata": _meta(kind, md, ns)}
    for k, v in body.items():
        if k not in ("apiVersion", "kind", "metadata"):
            out[k] = copy.deepcopy(v)
    return out


def _docs(cluster: Cluster, kind: str) -> list[dict[str, Any]]:
    return [_doc(b) for b in cluster.documents(kind)]


# --- pods ------------------------------------------------------------------------------------------------

def _container(c: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(c)
    image = str(out.get("image", ""))
    out.setdefault("imagePullPolicy", "Always" if image.endswith(":latest") or ":" not in image.split("/")[-1]
                   else "IfNotPresent")
    out.setdefault("resources", {})
    out.setdefault("terminationMessagePath", "/dev/termination-log")
    out.setdefault("terminationMessagePolicy", "File")
    for p in out.get("ports") or []:
        p.setdefault("protocol", "TCP")
    return dict(sorted(out.items()))


def pod_object(cluster: Cluster, pod: Pod) -> dict[str, Any]:
    raw = pod.raw
    md = dict(raw.get("metadata") or {})
    md["name"], md["labels"] = pod.name, dict(pod.labels) or md.get("labels") or {}
    if not md["labels"]:
        md.pop("labels")
    if pod.owner is not None:
        md.setdefault("generateName", pod.name.rsplit("-", 1)[0] + "-")
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                                  "kind": pod.owner.kind, "name": pod.owner.name,
                                  "uid": uid(pod.owner.kind, pod.namespace, pod.owner.name)}]
    spec = copy.deepcopy(raw.get("spec") or {})
    spec["containers"] = [_container(c) for c in spec.get("containers") or []]
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("enableServiceLinks", True)
    spec["nodeName"] = pod.node_name
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("serviceAccount", spec.get("serviceAccountName", "default"))
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("tolerations", [
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
         "tolerationSeconds": 300}])
    node = cluster.nodes.get(pod.node_name)
    ready = "True" if pod.ready else "False"
    status = copy.deepcopy(raw.get("status") or {})
    status.setdefault("conditions", [
        {"lastProbeTime": None, "lastTransitionTime": CREATED, "status": "True", "type": "PodReadyToStartContainers"},
        {"lastProbeTime": None, "lastTransitionTime": CREATED, "status": "True", "type": "Initialized"},
        {"lastProbeTime": None, "lastTransitionTime": CREATED, "status": ready, "type": "Ready"},
        {"lastProbeTime": None, "lastTransitionTime": CREATED, "status": ready, "type": "ContainersReady"},
        {"lastProbeTime": None, "lastTransitionTime": CREATED, "status": "True", "type": "PodScheduled"}])
    status.setdefault("containerStatuses", [
        {"containerID": f"containerd://{uid('container', pod.key, c.get('name', ''))}".replace("-", ""),
         "image": c.get("image", ""), "imageID": "", "lastState": {}, "name": c.get("name", ""),
         "ready": pod.ready, "restartCount": 0, "started": pod.phase == "Running",
         "state": {"running": {"startedAt": CREATED}} if pod.phase == "Running" else {"waiting": {"reason": "Pending"}}}
        for c in spec["containers"]])
    if node is not None:
        status.setdefault("hostIP", str(node.internal_ip))
        status.setdefault("hostIPs", [{"ip": str(node.internal_ip)}])
    status.setdefault("phase", pod.phase)
    if pod.ip is not None:
        status.setdefault("podIP", str(pod.ip))
        status.setdefault("podIPs", [{"ip": str(pod.ip)}])
    status.setdefault("qosClass", "BestEffort")
    status.setdefault("startTime", CREATED)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _meta("Pod", md, pod.namespace),
            "spec": dict(sorted(spec.items())), "status": dict(sorted(status.items()))}


def _pods(cluster: Cluster) -> list[dict[str, Any]]:
    return [pod_object(cluster, p) for p in cluster.pods.values()]


# --- services and endpoints ------------------------------------------------------------------------------

def _services(cluster: Cluster) -> list[dict[str, Any]]:
    out = []
    for svc in cluster.services.values():
        md = dict(svc.raw.get("metadata") or {})
        md["name"] = svc.name
        spec: dict[str, Any] = {}
        if svc.type != "ExternalName":
            spec["clusterIP"] = svc.cluster_ip
            spec["clusterIPs"] = list(svc.cluster_ips)
        if svc.external_ips:
            spec["externalIPs"] = list(svc.external_ips)
        if svc.external_name:
            spec["externalName"] = svc.external_name
        if svc.external_traffic_policy:
            spec["externalTrafficPolicy"] = svc.external_traffic_policy
        if svc.health_check_node_port:
            spec["healthCheckNodePort"] = svc.health_check_node_port
        if svc.internal_traffic_policy:
            spec["internalTrafficPolicy"] = svc.internal_traffic_policy
        if svc.ip_families:
            spec["ipFamilies"] = list(svc.ip_families)
        if svc.ip_family_policy:
            spec["ipFamilyPolicy"] = svc.ip_family_policy
        if svc.load_balancer_ip:
            spec["loadBalancerIP"] = svc.load_balancer_ip
        if svc.load_balancer_source_ranges:
            spec["loadBalancerSourceRanges"] = list(svc.load_balancer_source_ranges)
        if svc.ports:
            ports = []
            for p in svc.ports:
                port: dict[str, Any] = {}
                if p.app_protocol:
                    port["appProtocol"] = p.app_protocol
                if p.name:
                    port["name"] = p.name
                if p.node_port:
                    port["nodePort"] = p.node_port
                port.update({"port": p.port, "protocol": p.protocol, "targetPort": p.target_port})
                ports.append(port)
            spec["ports"] = ports
        if svc.publish_not_ready_addresses:
            spec["publishNotReadyAddresses"] = True
        if svc.selector is not None:
            spec["selector"] = dict(svc.selector)
        spec["sessionAffinity"] = svc.session_affinity
        if svc.session_affinity == "ClientIP":
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": svc.session_affinity_timeout or 10800}}
        spec["type"] = svc.type
        lb = [{k: v for k, v in (("ip", i.ip), ("hostname", i.hostname), ("ipMode", i.ip_mode)) if v}
              for i in svc.load_balancer_ingress]
        status: dict[str, Any] = {"loadBalancer": {"ingress": lb} if lb else {}}
        out.append({"apiVersion": "v1", "kind": "Service", "metadata": _meta("Service", md, svc.namespace),
                    "spec": spec, "status": status})
    return out


def _endpointslices(cluster: Cluster) -> list[dict[str, Any]]:
    out = []
    for es in cluster.endpointslices:
        eps = []
        for ep in es.endpoints:
            e: dict[str, Any] = {"addresses": list(ep.addresses)}
            cond = {k: v for k, v in (("ready", ep.conditions.ready), ("serving", ep.conditions.serving),
                                      ("terminating", ep.conditions.terminating)) if v is not None}
            e["conditions"] = cond
            if ep.hostname:
                e["hostname"] = ep.hostname
            if ep.node_name:
                e["nodeName"] = ep.node_name
            if ep.target_ref:
                e["targetRef"] = {"kind": ep.target_ref.kind, "name": ep.target_ref.name,
                                  "namespace": ep.target_ref.namespace,
                                  "uid": uid(ep.target_ref.kind, ep.target_ref.namespace or "", ep.target_ref.name)}
            eps.append(e)
        ports = [{k: v for k, v in (("name", p.name), ("port", p.port), ("protocol", p.protocol)) if v is not None}
                 for p in es.ports]
        md: dict[str, Any] = {"name": es.name, "labels": dict(es.labels)}
        svc_name = es.labels.get("kubernetes.io/service-name")
        if svc_name and es.labels.get("endpointslice.kubernetes.io/managed-by"):
            md["generateName"] = f"{svc_name}-"
            md["ownerReferences"] = [{"apiVersion": "v1", "blockOwnerDeletion": True, "controller": True,
                                      "kind": "Service", "name": svc_name,
                                      "uid": uid("Service", es.namespace, svc_name)}]
        out.append({"addressType": es.address_type, "apiVersion": "discovery.k8s.io/v1", "endpoints": eps,
                    "kind": "EndpointSlice", "metadata": _meta("EndpointSlice", md, es.namespace), "ports": ports})
    return out


def _endpoints(cluster: Cluster) -> list[dict[str, Any]]:
    out = []
    for e in cluster.endpoints:
        subsets = []
        for ss in e.subsets:
            s: dict[str, Any] = {}
            for field, addrs in (("addresses", ss.addresses), ("notReadyAddresses", ss.not_ready_addresses)):
                if addrs:
                    s[field] = [{k: v for k, v in (
                        ("ip", a.ip), ("hostname", a.hostname), ("nodeName", a.node_name),
                        ("targetRef", {"kind": a.target_ref.kind, "name": a.target_ref.name,
                                       "namespace": a.target_ref.namespace} if a.target_ref else None)) if v}
                        for a in addrs]
            if ss.ports:
                s["ports"] = [{k: v for k, v in (("name", p.name), ("port", p.port), ("protocol", p.protocol))
                               if v is not None} for p in ss.ports]
            subsets.append(s)
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints",
                                "metadata": _meta("Endpoints", {"name": e.name, "labels": dict(e.labels)} if e.labels
                                                  else {"name": e.name}, e.namespace)}
        if subsets:
            body["subsets"] = subsets
        out.append(body)
    return out


# --- nodes and namespaces --------------------------------------------------------------------------------

def _nodes(cluster: Cluster) -> list[dict[str, Any]]:
    from k8snetviz.views.resources import KERNEL, KUBERNETES_VERSION, OS_IMAGE, RUNTIME

    out = []
    for n in cluster.nodes.values():
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  **n.labels}
        spec: dict[str, Any] = {"podCIDR": str(n.pod_cidr), "podCIDRs": [str(n.pod_cidr)],
                                "providerID": f"kind://docker/{cluster.config.name}/{n.name}"}
        if n.taints:
            spec["taints"] = copy.deepcopy(n.taints)
        if (n.raw.get("spec") or {}).get("unschedulable"):
            spec["unschedulable"] = True
        status = {
            "addresses": [{"address": str(n.internal_ip), "type": "InternalIP"}, {"address": n.name,
                                                                                  "type": "Hostname"}],
            "allocatable": {"cpu": "8", "ephemeral-storage": "102107096Ki", "memory": "16284636Ki", "pods": "110"},
            "capacity": {"cpu": "8", "ephemeral-storage": "102107096Ki", "memory": "16284636Ki", "pods": "110"},
            "conditions": [
                {"lastHeartbeatTime": NOW, "lastTransitionTime": CREATED, "message": m, "reason": r, "status": s,
                 "type": t} for t, s, r, m in (
                    ("MemoryPressure", "False", "KubeletHasSufficientMemory",
                     "kubelet has sufficient memory available"),
                    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"))],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": "amd64", "bootID": uid("boot", "", n.name),
                         "containerRuntimeVersion": RUNTIME, "kernelVersion": KERNEL,
                         "kubeProxyVersion": "", "kubeletVersion": KUBERNETES_VERSION,
                         "machineID": uid("machine", "", n.name).replace("-", ""), "operatingSystem": "linux",
                         "osImage": OS_IMAGE, "systemUUID": uid("system", "", n.name)},
        }
        notes = {"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
                 "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                 **((n.raw.get("metadata") or {}).get("annotations") or {})}
        md: dict[str, Any] = {"annotations": notes, "labels": dict(sorted(labels.items())), "name": n.name}
        out.append({"apiVersion": "v1", "kind": "Node", "metadata": _meta("Node", md, ""), "spec": spec,
                    "status": status})
    return out


def _namespaces(cluster: Cluster) -> list[dict[str, Any]]:
    docs = {str((b.get("metadata") or {}).get("name")): b for b in cluster.documents("Namespace")}
    out = []
    for ns in cluster.namespaces.values():
        md = dict((docs.get(ns.name) or {}).get("metadata") or {})
        md["name"], md["labels"] = ns.name, dict(ns.labels)
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": _meta("Namespace", md, ""),
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    return out


# --- workloads -------------------------------------------------------------------------------------------

def _owned(cluster: Cluster, kind: str, namespace: str, name: str) -> list[Pod]:
    return [p for p in cluster.pods.values()
            if p.owner is not None and p.owner.kind == kind and p.owner.name == name and p.namespace == namespace]


def _workloads(cluster: Cluster, kind: str) -> list[dict[str, Any]]:
    from k8snetviz.agents.controllers import replica_set_name
    from k8snetviz.scenario.loader import Manifest

    out = []
    for body in cluster.documents(kind):
        obj = _doc(body)
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        spec = obj.setdefault("spec", {})
        if kind == "Deployment":
            rs = replica_set_name(Manifest(body, "", 0))
            pods = _owned(cluster, "ReplicaSet", ns, rs)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("strategy", {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                                         "type": "RollingUpdate"})
            obj["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
        elif kind == "DaemonSet":
            pods = _owned(cluster, "DaemonSet", ns, name)
        else:
            pods = _owned(cluster, kind, ns, name)
            spec.setdefault("replicas", 1)
        ready = sum(1 for p in pods if p.ready)
        if kind == "DaemonSet":
            n = len(pods)
            obj["status"] = {"currentNumberScheduled": n, "desiredNumberScheduled": n, "numberAvailable": ready,
                             "numberMisscheduled": 0, "numberReady": ready, "observedGeneration": 1,
                             "updatedNumberScheduled": n}
            if n - ready:
                obj["status"]["numberUnavailable"] = n - ready
        else:
            want = spec.get("replicas", 1)
            status: dict[str, Any] = {"observedGeneration": 1, "replicas": len(pods)}
            if ready:
                status["readyReplicas"] = ready
                status["availableReplicas"] = ready
            if kind in ("Deployment", "StatefulSet"):
                status["updatedReplicas"] = len(pods)
            if kind == "Deployment" and want - ready > 0 and pods:
                status["unavailableReplicas"] = want - ready
            if kind == "StatefulSet":
                status["currentReplicas"] = len(pods)
            obj["status"] = status
        out.append(obj)
    return out


def _replicasets(cluster: Cluster) -> list[dict[str, Any]]:
    """The ReplicaSets the scenario holds, and the one the Deployment controller made for each Deployment."""
    from k8snetviz.agents.controllers import replica_set_name
    from k8snetviz.scenario.loader import Manifest

    out = _workloads(cluster, "ReplicaSet")
    for body in cluster.documents("Deployment"):
        m = Manifest(body, "", 0)
        ns = m.namespace or "default"
        name = replica_set_name(m)
        spec = copy.deepcopy(body.get("spec") or {})
        template = spec.get("template") or {}
        h = name.rsplit("-", 1)[1]
        labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": h}
        template.setdefault("metadata", {})["labels"] = labels
        selector = {"matchLabels": {**((spec.get("selector") or {}).get("matchLabels") or {}),
                                    "pod-template-hash": h}}
        pods = _owned(cluster, "ReplicaSet", ns, name)
        ready = sum(1 for p in pods if p.ready)
        md = {"annotations": {"deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                              "deployment.kubernetes.io/max-replicas": str(spec.get("replicas", 1) + 1),
                              "deployment.kubernetes.io/revision": "1"},
              "labels": labels, "name": name,
              "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                                   "kind": "Deployment", "name": m.name, "uid": uid("Deployment", ns, m.name)}]}
        status: dict[str, Any] = {"fullyLabeledReplicas": len(pods), "observedGeneration": 1, "replicas": len(pods)}
        if ready:
            status.update(availableReplicas=ready, readyReplicas=ready)
        out.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": _meta("ReplicaSet", md, ns),
                    "spec": {"replicas": spec.get("replicas", 1), "selector": selector, "template": template},
                    "status": status})
    return out


# --- configuration ------------------------------------------------------------------------------------

def derived_config_maps(cluster: Cluster) -> list[dict[str, Any]]:
    """The ConfigMaps a kind cluster has that a scenario seldom writes: CoreDNS's Corefile, kube-proxy's and
    kubeadm's configuration, and ``kube-root-ca.crt`` in every namespace."""
    from k8snetviz.agents import kubeadm_files as kf
    from k8snetviz.questions.resolve import coredns_corefile

    cfg = cluster.config
    cp = next((n.name for n in cluster.nodes.values() if n.role == "control-plane"), next(iter(cluster.nodes)))
    out: list[dict[str, Any]] = []
    if any((b.get("metadata") or {}).get("name") == "coredns" for b in cluster.documents("Deployment")):
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "coredns", "namespace": "kube-system"},
                    "data": {"Corefile": coredns_corefile(cluster)}})
    out.append({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
                "data": {"config.conf": kf.kube_proxy_config(cfg),
                         "kubeconfig.conf": "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
                                            "    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/"
                                            f"ca.crt\n    server: https://{cp}:6443\n  name: default\n"}})
    out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config",
                                                                       "namespace": "kube-system"},
                "data": {"ClusterConfiguration": kf.kubeadm_config(cfg, cp)}})
    for ns in cluster.namespaces:
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the "
                            "kube-apiserver when using internal endpoints such as the internal service IP or "
                            "kubernetes.default.svc. No other usage is guaranteed across distributions of "
                            "Kubernetes clusters."}, "name": "kube-root-ca.crt", "namespace": ns},
            "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n(not shown)\n-----END CERTIFICATE-----\n"}})
    return out


def _config_maps(cluster: Cluster) -> list[dict[str, Any]]:
    own = _docs(cluster, "ConfigMap")
    keys = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in own}
    derived = [_doc(b) for b in derived_config_maps(cluster)
               if ((b["metadata"].get("namespace") or "default"), b["metadata"]["name"]) not in keys]
    return own + derived


def _service_accounts(cluster: Cluster) -> list[dict[str, Any]]:
    own = _docs(cluster, "ServiceAccount")
    keys = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in own}
    derived = [_doc({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}})
               for ns in cluster.namespaces if (ns, "default") not in keys]
    return own + derived


def _storage_classes(cluster: Cluster) -> list[dict[str, Any]]:
    own = _docs(cluster, "StorageClass")
    if own:
        return own
    return [_doc({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                  "metadata": {"annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                               "name": "standard"},
                  "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
                  "volumeBindingMode": "WaitForFirstConsumer"})]


def _events(cluster: Cluster) -> list[dict[str, Any]]:
    """What the scheduler and the kubelets recorded for each pod (see :func:`kubectl_describe.pod_events`)."""
    from k8snetviz.views.events import pod_events

    out = []
    for p in cluster.pods.values():
        for i, (typ, reason, _age, source, msg) in enumerate(pod_events(cluster, p)):
            name = f"{p.name}.{uid('Event', p.key, str(i))[:16].replace('-', '')}"
            out.append({"apiVersion": "v1", "kind": "Event", "count": 31 if reason == "Unhealthy" else 1,
                        "firstTimestamp": CREATED, "lastTimestamp": NOW if reason == "Unhealthy" else CREATED,
                        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": p.name,
                                           "namespace": p.namespace},
                        "message": msg, "metadata": _meta("Event", {"name": name}, p.namespace), "reason": reason,
                        "source": {"component": source.split()[0], **({"host": p.node_name}
                                                                       if source == "kubelet" else {})},
                        "type": typ})
    return out


_BUILDERS = {
    "Pod": _pods, "Service": _services, "EndpointSlice": _endpointslices, "Endpoints": _endpoints, "Node": _nodes,
    "Namespace": _namespaces, "ConfigMap": _config_maps, "ServiceAccount": _service_accounts,
    "StorageClass": _storage_classes, "ReplicaSet": _replicasets,
    "Deployment": lambda c: _workloads(c, "Deployment"), "DaemonSet": lambda c: _workloads(c, "DaemonSet"),
    "StatefulSet": lambda c: _workloads(c, "StatefulSet"), "Event": _events,
}


def objects(cluster: Cluster, kind: str) -> list[dict[str, Any]]:
    """Every object of ``kind``, as the API server returns it, in its order (namespace, then name)."""
    build = _BUILDERS.get(kind)
    items = build(cluster) if build is not None else _docs(cluster, kind)
    return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"].get("name", "")))


def object_of(cluster: Cluster, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    for o in objects(cluster, kind):
        md = o["metadata"]
        if md.get("name") == name and (md.get("namespace", "") == namespace or not is_namespaced(kind)):
            return o
    return None
