"""``kubectl get`` for every resource the model holds, with kubectl's output options.

Tables have kubectl's columns per resource (its printers in ``pkg/printers/internalversion``):
``--show-labels`` adds LABELS, ``-L key`` a column per label key, ``-A`` the NAMESPACE column, several
types at once (``svc,ep``, ``all``) prefix each NAME with its type (``service/web``) and leave a blank
line between tables. ``-o yaml|json|name|jsonpath=…|custom-columns=…`` print the objects as the API
server returns them (:mod:`k8snetviz.views.apiobjects`).

>>> import k8snetviz
>>> c = k8snetviz.load("services")
>>> items = [o for o in objects_of(c, "Service") if o["metadata"]["name"] in ("web", "db")]
>>> print(render_table(c, [("Service", items)]))
NAME   TYPE           CLUSTER-IP     EXTERNAL-IP      PORT(S)   AGE
db     ExternalName   <none>         db.example.com   <none>    5m
web    ClusterIP      10.96.54.115   <none>           80/TCP    5m
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from k8snetviz.api.discovery import type_of_kind
from k8snetviz.errors import UsageError
from k8snetviz.views.apiobjects import objects as objects_of
from k8snetviz.views.jsonpath import JSONPathError, evaluate, format_value, relaxed, render
from k8snetviz.views.resources import AGE
from k8snetviz.views.table import columns, tabwrite
from k8snetviz.views.yamltext import to_json, to_yaml

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["objects_of", "render_table", "render_output", "to_yaml", "to_json", "name_of", "HEADERS",
           "ALL_KINDS", "OUTPUT_FORMATS"]

Row = Callable[["Cluster", dict[str, Any], bool], list[str]]

# What `kubectl get all` lists.
ALL_KINDS = ("Pod", "Service", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob",
             "HorizontalPodAutoscaler")
OUTPUT_FORMATS = ("custom-columns", "custom-columns-file", "go-template", "go-template-file", "json", "jsonpath",
                  "jsonpath-as-json", "jsonpath-file", "kyaml", "name", "template", "templatefile", "wide", "yaml")


def _md(o: dict[str, Any]) -> dict[str, Any]:
    return o.get("metadata") or {}


def _name(o: dict[str, Any]) -> str:
    return str(_md(o).get("name", ""))


def _key(o: dict[str, Any]) -> str:
    return f"{_md(o).get('namespace', '')}/{_name(o)}"


def _containers(o: dict[str, Any]) -> tuple[str, str]:
    cs = ((((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _selector(o: dict[str, Any]) -> str:
    sel = (o.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        parts.append(f"{e.get('key')} {str(e.get('operator', '')).lower()} ({','.join(e.get('values') or [])})")
    return ",".join(parts) or "<none>"


# --- rows, per kind -----------------------------------------------------------------------------------

def _pod(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.kubectl import pod_row

    return pod_row(c.pods[_key(o)], wide)


def _node(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.kubectl import node_row

    return node_row(c.nodes[_name(o)], wide)


def _service(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.kubectl_services import service_row

    return service_row(c.services[_key(o)], wide, AGE)


def _endpoints(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.kubectl_services import endpoints_row

    e = next(e for e in c.endpoints if f"{e.namespace}/{e.name}" == _key(o))
    return endpoints_row(e, AGE)


def _slice(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.kubectl_services import endpointslice_row

    es = next(s for s in c.endpointslices if f"{s.namespace}/{s.name}" == _key(o))
    return endpointslice_row(es, AGE)


def _ingress(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.ingresstext import ingress_row

    return ingress_row(c, o, wide)


def _netpol(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.questions.policy import engine
    from k8snetviz.views.kubectl import netpol_row

    pol = next((p for p in engine(c).policies if p.key == _key(o)), None)
    if pol is None:
        return [_name(o), "<none>", AGE]
    return netpol_row(pol)


def _deployment(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    st = o.get("status") or {}
    want = (o.get("spec") or {}).get("replicas", 1)
    row = [_name(o), f"{st.get('readyReplicas', 0)}/{want}", str(st.get("updatedReplicas", 0)),
           str(st.get("availableReplicas", 0)), AGE]
    return row + (list(_containers(o)) + [_selector(o)] if wide else [])


def _replicaset(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    st = o.get("status") or {}
    row = [_name(o), str((o.get("spec") or {}).get("replicas", 1)), str(st.get("replicas", 0)),
           str(st.get("readyReplicas", 0)), AGE]
    return row + (list(_containers(o)) + [_selector(o)] if wide else [])


def _daemonset(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    st = o.get("status") or {}
    sel = (((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    row = [_name(o), str(st.get("desiredNumberScheduled", 0)), str(st.get("currentNumberScheduled", 0)),
           str(st.get("numberReady", 0)), str(st.get("updatedNumberScheduled", 0)), str(st.get("numberAvailable", 0)),
           ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "<none>", AGE]
    return row + (list(_containers(o)) + [_selector(o)] if wide else [])


def _statefulset(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    st = o.get("status") or {}
    row = [_name(o), f"{st.get('readyReplicas', 0)}/{(o.get('spec') or {}).get('replicas', 1)}", AGE]
    return row + (list(_containers(o)) if wide else [])


def _namespace(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    return [_name(o), "Active", AGE]


def _configmap(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    return [_name(o), str(len(o.get("data") or {}) + len(o.get("binaryData") or {})), AGE]


def _secret(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    return [_name(o), str(o.get("type", "Opaque")), str(len(o.get("data") or {}) + len(o.get("stringData") or {})),
            AGE]


def _serviceaccount(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    return [_name(o), str(len(o.get("secrets") or [])), AGE]


def _ingressclass(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.ingresstext import ingressclass_row

    return ingressclass_row(o)


def _gatewayclass(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.ingresstext import gatewayclass_row

    return gatewayclass_row(o)


def _gateway(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.ingresstext import gateway_row

    return gateway_row(c, o)


def _httproute(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    from k8snetviz.views.ingresstext import httproute_row

    return httproute_row(o)


def _storageclass(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    default = (_md(o).get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    return [_name(o) + (" (default)" if default else ""), str(o.get("provisioner", "")),
            str(o.get("reclaimPolicy", "Delete")), str(o.get("volumeBindingMode", "Immediate")),
            str(o.get("allowVolumeExpansion", False)).lower(), AGE]


def _role_binding(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    ref = o.get("roleRef") or {}
    return [_name(o), f"{ref.get('kind', '')}/{ref.get('name', '')}", AGE]


def _created_at(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    return [_name(o), str(_md(o).get("creationTimestamp", ""))]


def _job(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    return [_name(o), "Complete", "1/1", "5s", AGE]


def _cronjob(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    spec = o.get("spec") or {}
    return [_name(o), str(spec.get("schedule", "")), "<none>", str(spec.get("suspend", False)), "0", "<none>", AGE]


def _event(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    obj = o.get("involvedObject") or {}
    seen = "2s" if o.get("reason") == "Unhealthy" else AGE
    return [seen, str(o.get("type", "")), str(o.get("reason", "")), f"{str(obj.get('kind', '')).lower()}/"
            f"{obj.get('name', '')}", str(o.get("message", ""))]


def _generic(c: Cluster, o: dict[str, Any], wide: bool) -> list[str]:
    return [_name(o), AGE]


_DEPLOY_WIDE = ["CONTAINERS", "IMAGES", "SELECTOR"]
HEADERS: dict[str, tuple[list[str], list[str], Row]] = {
    # kind: (columns, wide extra columns, row)
    "Pod": (["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"], _pod),
    "Node": (["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
             ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"], _node),
    "Service": (["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], ["SELECTOR"], _service),
    "Endpoints": (["NAME", "ENDPOINTS", "AGE"], [], _endpoints),
    "EndpointSlice": (["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], [], _slice),
    "Ingress": (["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"], [], _ingress),
    "IngressClass": (["NAME", "CONTROLLER", "PARAMETERS", "AGE"], [], _ingressclass),
    "NetworkPolicy": (["NAME", "POD-SELECTOR", "AGE"], [], _netpol),
    "Deployment": (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], _DEPLOY_WIDE, _deployment),
    "ReplicaSet": (["NAME", "DESIRED", "CURRENT", "READY", "AGE"], _DEPLOY_WIDE, _replicaset),
    "DaemonSet": (["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
                  _DEPLOY_WIDE, _daemonset),
    "StatefulSet": (["NAME", "READY", "AGE"], ["CONTAINERS", "IMAGES"], _statefulset),
    "Namespace": (["NAME", "STATUS", "AGE"], [], _namespace),
    "ConfigMap": (["NAME", "DATA", "AGE"], [], _configmap),
    "Secret": (["NAME", "TYPE", "DATA", "AGE"], [], _secret),
    "ServiceAccount": (["NAME", "SECRETS", "AGE"], [], _serviceaccount),
    "GatewayClass": (["NAME", "CONTROLLER", "ACCEPTED", "AGE"], [], _gatewayclass),
    "Gateway": (["NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"], [], _gateway),
    "HTTPRoute": (["NAME", "HOSTNAMES", "AGE"], [], _httproute),
    "StorageClass": (["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
                     [], _storageclass),
    "RoleBinding": (["NAME", "ROLE", "AGE"], [], _role_binding),
    "ClusterRoleBinding": (["NAME", "ROLE", "AGE"], [], _role_binding),
    "Role": (["NAME", "CREATED AT"], [], _created_at),
    "ClusterRole": (["NAME", "CREATED AT"], [], _created_at),
    "Job": (["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], [], _job),
    "CronJob": (["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"], [], _cronjob),
    "Event": (["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], [], _event),
}


def _labels_cell(o: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((_md(o).get("labels") or {}).items())) or "<none>"


def render_table(cluster: Cluster, groups: Sequence[tuple[str, list[dict[str, Any]]]], *, wide: bool = False,
                 all_namespaces: bool = False, show_labels: bool = False, label_columns: Sequence[str] = (),
                 no_headers: bool = False, show_kind: bool = False, sort_by: str | None = None) -> str:
    """The tables of ``kubectl get`` for ``groups`` of (kind, objects); empty groups are left out."""
    blocks = []
    for kind, items in groups:
        if not items:
            continue
        if sort_by:
            items = sort_items(items, sort_by)
        head, extra, row_of = HEADERS.get(kind, (["NAME", "AGE"], [], _generic))
        header = list(head) + (list(extra) if wide else [])
        t = type_of_kind(kind)
        prefix = f"{t.qualified}/" if show_kind and t is not None else ""
        rows = []
        for o in items:
            row = row_of(cluster, o, wide)
            if prefix:
                row[0] = prefix + row[0]
            if all_namespaces and (t is None or t.namespaced):
                row = [str(_md(o).get("namespace", ""))] + row
            for key in label_columns:
                row.append((_md(o).get("labels") or {}).get(key, ""))
            if show_labels:
                row.append(_labels_cell(o))
            rows.append(row)
        h = (["NAMESPACE"] if all_namespaces and (t is None or t.namespaced) else []) + header
        h += [k.rsplit("/", 1)[-1].upper() for k in label_columns]
        if show_labels:
            h.append("LABELS")
        if no_headers:
            blocks.append(tabwrite("".join("\t".join(r) + "\n" for r in rows)).removesuffix("\n"))
        else:
            blocks.append(columns(h, rows))
    return "\n\n".join(blocks)


def sort_items(items: list[dict[str, Any]], expr: str) -> list[dict[str, Any]]:
    """``--sort-by=JSONPATH``: numbers by value, everything else as text; a missing field sorts first."""
    path = relaxed(expr)[1:-1]

    def key(o: dict[str, Any]) -> tuple[int, float, str]:
        try:
            got = evaluate(path, o)
        except JSONPathError:
            got = []
        if not got:
            return (0, 0.0, "")
        v = got[0]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return (1, float(v), "")
        return (2, 0.0, format_value(v))
    return sorted(items, key=key)


# --- -o FORMAT ------------------------------------------------------------------------------------------

def name_of(o: dict[str, Any]) -> str:
    """``-o name``: ``pod/web-0``, ``deployment.apps/web``."""
    t = type_of_kind(str(o.get("kind", "")))
    return f"{t.qualified if t else str(o.get('kind', '')).lower()}/{_name(o)}"


def _as_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def render_output(items: list[dict[str, Any]], fmt: str, *, single: bool) -> str:
    """``-o yaml|json|name|jsonpath=T|custom-columns=SPEC`` for ``items`` (``single``: one object was named)."""
    kind, _, arg = fmt.partition("=")
    doc: Any = items[0] if single and len(items) == 1 else _as_list(items)
    if kind == "yaml":
        return to_yaml(doc).rstrip("\n")
    if kind == "json":
        return to_json(doc)
    if kind == "name":
        return "\n".join(name_of(o) for o in items)
    if kind in ("jsonpath", "jsonpath-as-json"):
        if not arg:
            raise UsageError("error: template format specified but no template given")
        try:
            out = render(arg, doc)
        except JSONPathError as e:
            raise UsageError(f"error: error parsing jsonpath {arg}, {e}") from None
        if kind == "jsonpath-as-json":
            path = arg.strip("{}")
            return to_json(evaluate(path, doc))
        return out
    if kind == "custom-columns":
        if not arg:
            raise UsageError("error: custom-columns format specified but no custom columns given")
        cols = []
        for spec in arg.split(","):
            head, sep, path = spec.partition(":")
            if not sep:
                raise UsageError(f'error: unexpected custom-columns spec: {spec}, expected <header>:<json-path-expr>')
            cols.append((head, relaxed(path)[1:-1]))
        rows = []
        for o in items:
            row = []
            for _, path in cols:
                try:
                    got = evaluate(path, o)
                except JSONPathError as e:
                    raise UsageError(f"error: {e}") from None
                row.append(",".join(format_value(v) for v in got) if got else "<none>")
            rows.append(row)
        return columns([h for h, _ in cols], rows)
    allowed = ", ".join(OUTPUT_FORMATS)
    raise UsageError(f'error: unable to match a printer suitable for the output format "{fmt}", allowed formats '
                     f"are: {allowed}")
