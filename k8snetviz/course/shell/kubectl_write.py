"""The kubectl commands that change the cluster: create, run, expose, apply, replace, delete, scale, label,
annotate, patch, set, edit, rollout, cordon, uncordon, drain, taint, wait.

Each builds the object kubectl would send (its generators: ``kubectl create deployment`` labels
``app=NAME``, ``kubectl run`` labels ``run=NAME``, ``kubectl expose`` copies the selector) and stores it
through :class:`~k8snetviz.course.shell.state.ClusterState`, so the cluster is rebuilt as the API server's
controllers would update it. ``--dry-run=client -o yaml`` prints the object instead.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import TYPE_CHECKING, Any

import yaml

from k8snetviz.api.discovery import ResourceType, resource_type, type_of_kind
from k8snetviz.api.labels import valid_label_key, valid_label_value
from k8snetviz.course.shell.base import Result, not_available
from k8snetviz.course.shell.kubectl_core import find_objects, namespace_of, no_resources, not_found, pods_of, sub
from k8snetviz.course.shell.kubeflags import Flags, plural_group, resource_args
from k8snetviz.course.shell.manifests import read_manifests
from k8snetviz.course.shell.patching import json_patch, merge_patch, strategic_patch
from k8snetviz.course.shell.state import ObjectKey, key_of
from k8snetviz.errors import K8sNetVizError, UsageError
from k8snetviz.views import kubectl_get as kg

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session

__all__ = ["store", "editable", "commit"]


# --- reading manifests -----------------------------------------------------------------------------------

# --- storing ----------------------------------------------------------------------------------------------

def _type(body: dict[str, Any]) -> ResourceType:
    t = type_of_kind(str(body.get("kind", "")))
    if t is None:
        raise UsageError(f'error: resource mapping not found for name: "{(body.get("metadata") or {}).get("name")}" '
                         f'namespace: "" from "STDIN": no matches for kind "{body.get("kind")}" in version '
                         f'"{body.get("apiVersion")}"\nensure CRDs are installed first')
    return t


def _normalize(s: Session, body: dict[str, Any], ns: str) -> dict[str, Any]:
    b = copy.deepcopy(body)
    t = _type(b)
    md = b.setdefault("metadata", {})
    # What the API server sets itself (a saved `kubectl get -o yaml` carries them): it assigns its own, and a
    # stored document that still had them would read as one observed on a live cluster.
    for k in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"):
        md.pop(k, None)
    if not md.get("name"):
        if md.get("generateName"):
            from k8snetviz.agents.controllers import name_suffix

            md["name"] = md["generateName"] + name_suffix(json.dumps(b, sort_keys=True))
        else:
            raise UsageError("error: resource name may not be empty")
    if t.namespaced:
        given = md.get("namespace")
        if given and given != ns and ns != s.namespace:
            raise UsageError(f"error: the namespace from the provided object \"{given}\" does not match the namespace "
                             f"\"{ns}\". You must pass '--namespace={given}' to perform this operation.")
        md["namespace"] = given or ns
    else:
        md.pop("namespace", None)
    if t.kind != "Node":
        b.pop("status", None)  # the API server ignores status on create and update
    return b


def _check_namespace(s: Session, body: dict[str, Any], creating: set[str]) -> None:
    t = _type(body)
    ns = (body.get("metadata") or {}).get("namespace")
    if t.namespaced and ns and ns not in s.cluster.namespaces and ns not in creating:
        raise UsageError(f'Error from server (NotFound): namespaces "{ns}" not found')


def commit(s: Session, put: list[dict[str, Any]] = (), delete: list[ObjectKey] = ()) -> None:  # type: ignore[assignment]
    """Store the objects, or raise the API server's refusal (the cluster stays as it was)."""
    try:
        s.state.change(put=put, delete=delete)
    except K8sNetVizError as e:
        msg = str(e)
        if not msg.startswith(("Error from server", "error:", "The ")):
            msg = f"Error from server (Invalid): {msg}"
        raise UsageError(msg) from None


def store(s: Session, body: dict[str, Any], *, mode: str = "apply") -> str:
    """Create or change one object; the word kubectl prints (created, configured, unchanged)."""
    t = _type(body)
    md = body["metadata"]
    ns = md.get("namespace", "")
    existing = s.state.find(t.kind, ns, md["name"])
    derived = None if existing is not None else _derived(s, t, ns, md["name"])
    if existing is None and derived is None:
        if mode == "replace":
            raise not_found(t, md["name"])
        _check_namespace(s, body, {b for b in [md["name"]] if t.kind == "Namespace"})
        commit(s, [body])
        return "created"
    if mode == "create":
        raise UsageError(f'Error from server (AlreadyExists): {plural_group(t)} "{md["name"]}" already exists')
    old = existing.body if existing is not None else derived
    if old is not None and _same(old, body):
        return "unchanged"
    new = body
    if mode == "apply" and old is not None:
        # Fields the server defaulted or allocated stay (a Service keeps its clusterIP and node ports).
        new = _keep_allocated(old, body)
    commit(s, [new])
    return "configured" if mode == "apply" else "replaced"


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def clean(b: dict[str, Any]) -> dict[str, Any]:
        c = copy.deepcopy(b)
        md = c.get("metadata") or {}
        for k in ("creationTimestamp", "resourceVersion", "uid", "generation", "managedFields"):
            md.pop(k, None)
        (md.get("annotations") or {}).pop("kubectl.kubernetes.io/last-applied-configuration", None)
        if not md.get("annotations"):
            md.pop("annotations", None)
        c.pop("status", None)
        return c
    return clean(old) == clean(new)


def _keep_allocated(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(new)
    if out.get("kind") == "Service":
        ospec, nspec = old.get("spec") or {}, out.setdefault("spec", {})
        for k in ("clusterIP", "clusterIPs"):
            if k in ospec and k not in nspec and ospec.get("type") != "ExternalName":
                nspec[k] = ospec[k]
    return out


def _derived(s: Session, t: ResourceType, ns: str, name: str) -> dict[str, Any] | None:
    """An object the model made itself that a learner may change (a node, a namespace, CoreDNS's ConfigMap)."""
    if t.kind == "Namespace" and name in s.cluster.namespaces:
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": dict(s.cluster.namespaces[name].labels)}}
    if t.kind == "Node" and name in s.cluster.nodes:
        return _node_body(s, name)
    if t.kind == "ConfigMap":
        from k8snetviz.views.apiobjects import derived_config_maps

        for b in derived_config_maps(s.cluster):
            if b["metadata"]["name"] == name and b["metadata"].get("namespace") == ns and name != "kube-root-ca.crt":
                return b
    return None


def _node_body(s: Session, name: str) -> dict[str, Any]:
    n = s.cluster.nodes[name]
    spec: dict[str, Any] = {"podCIDR": str(n.pod_cidr)}
    if n.taints:
        spec["taints"] = copy.deepcopy(n.taints)
    if (n.raw.get("spec") or {}).get("unschedulable"):
        spec["unschedulable"] = True
    md: dict[str, Any] = {"name": name, "labels": dict(n.labels)}
    if (n.raw.get("metadata") or {}).get("annotations"):
        md["annotations"] = dict(n.raw["metadata"]["annotations"])
    return {"apiVersion": "v1", "kind": "Node", "metadata": md, "spec": spec,
            "status": {"addresses": [{"type": "InternalIP", "address": str(n.internal_ip)}]}}


def editable(s: Session, t: ResourceType, ns: str, name: str) -> dict[str, Any]:
    """A copy of the stored object to change, made a document first if the model derived it."""
    ns = ns if t.namespaced else ""
    found = s.state.find(t.kind, ns, name)
    if found is not None:
        return copy.deepcopy(found.body)
    derived = _derived(s, t, ns, name)
    if derived is not None:
        if t.kind == "Node":
            # The nodes are one list: all of them become documents, or the others would be forgotten.
            s.state.materialize_all([_node_body(s, n) for n in s.cluster.nodes])
        return derived
    items, _ = find_objects(s, t, ns if t.namespaced else None, [name])
    if items:
        owner = (items[0]["metadata"].get("ownerReferences") or [{}])[0]
        raise _not_modelled(f"changing {t.singular} {name}: its controller {owner.get('kind', 'controller')} "
                            f"{owner.get('name', '')} would make it again; change the "
                            f"{'Deployment' if owner.get('kind') == 'ReplicaSet' else owner.get('kind', 'owner')}")
    raise not_found(t, name)


class _NotModelled(UsageError):
    pass


def _not_modelled(text: str) -> _NotModelled:
    from k8snetviz.course.shell.base import NOT_AVAILABLE

    return _NotModelled(f"{NOT_AVAILABLE} {text}")


def _qualified(t: ResourceType, name: str) -> str:
    return f"{t.qualified}/{name}"


def _dry_run(flags: Flags) -> str | None:
    v = flags.get("dry-run")
    if v is None:
        return None
    if v in ("true", ""):
        return "client"
    if v not in ("none", "client", "server"):
        raise UsageError(f'error: Invalid dry-run value ({v}). Must be "none", "server", or "client".')
    return None if v == "none" else v


def _show(s: Session, flags: Flags, body: dict[str, Any], word: str, t: ResourceType) -> Result:
    """What kubectl prints after a change: the object (-o) or ``TYPE/NAME WORD``."""
    out = flags.get("output")
    dry = _dry_run(flags)
    suffix = f" ({dry} dry run)" if dry else ""
    if out:
        if out == "name":
            return Result.ok(_qualified(t, body["metadata"]["name"]))
        shown = body
        if not dry:
            from k8snetviz.views.apiobjects import object_of

            shown = object_of(s.cluster, t.kind, body["metadata"].get("namespace", ""), body["metadata"]["name"]) \
                or body
        return Result.ok(kg.render_output([shown], out, single=True))
    return Result.ok(f"{_qualified(t, body['metadata']['name'])} {word}{suffix}")


# --- apply / create -f / replace / delete -------------------------------------------------------------------

@sub("apply")
def apply(s: Session, flags: Flags) -> Result:
    if flags.args[:1] in (["edit-last-applied"], ["view-last-applied"], ["set-last-applied"]):
        return not_available("kubectl apply " + flags.args[0])
    if not flags.all("filename") and not flags.has("kustomize"):
        return Result.error("error: must specify one of -f and -k\n\nSee 'kubectl apply -h' for help and examples")
    if flags.has("kustomize"):
        return not_available("kubectl apply -k", "kustomize is not modelled: apply the files with -f")
    return _each(s, flags, "apply")


def _each(s: Session, flags: Flags, mode: str) -> Result:
    ns = namespace_of(s, flags)
    bodies = [_normalize(s, b, ns) for b in read_manifests(s, flags)]
    dry = _dry_run(flags)
    out, errs = [], []
    for b in bodies:
        t = _type(b)
        name = b["metadata"]["name"]
        if dry:
            if flags.get("output"):
                out.append(kg.render_output([b], flags.get("output") or "yaml", single=True))
            else:
                exists = s.state.find(t.kind, b["metadata"].get("namespace", ""), name) is not None
                word = ("configured" if exists else "created") if mode == "apply" else "created"
                out.append(f"{_qualified(t, name)} {word} ({dry} dry run)")
            continue
        try:
            word = store(s, b, mode=mode)
        except UsageError as e:
            msg = str(e)
            if msg.startswith("Error from server (AlreadyExists)") or msg.startswith("Error from server (NotFound)"):
                src = flags.all("filename")[0]
                src = "STDIN" if src == "-" else src
                verb = "creating" if mode != "replace" else "replacing"
                msg = msg.replace("): ", f'): error when {verb} "{src}": ', 1)
            errs.append(msg)
            continue
        if flags.get("output") == "name":
            out.append(_qualified(t, name))
        else:
            out.append(f"{_qualified(t, name)} {word}")
    return Result("".join(o + "\n" for o in out), "".join(e + "\n" for e in errs), 1 if errs else 0)


@sub("replace")
def replace(s: Session, flags: Flags) -> Result:
    if not flags.all("filename"):
        return Result.error("error: must specify --filename to replace")
    if flags.has("force"):
        ns = namespace_of(s, flags)
        for b in read_manifests(s, flags):
            b = _normalize(s, b, ns)
            t = _type(b)
            if s.state.find(t.kind, b["metadata"].get("namespace", ""), b["metadata"]["name"]) is not None:
                commit(s, delete=[key_of(b)])
        r = _each(s, flags, "create")
        r.out = r.out.replace(" created\n", " replaced\n")
        return r
    return _each(s, flags, "replace")


@sub("delete")
def delete(s: Session, flags: Flags) -> Result:
    ns = None if flags.has("all-namespaces") else namespace_of(s, flags)
    targets: list[tuple[ResourceType, dict[str, Any]]] = []
    errs: list[str] = []
    if flags.all("filename"):
        for b in read_manifests(s, flags):
            b = _normalize(s, b, ns or s.namespace)
            t = _type(b)
            found, missing = find_objects(s, t, b["metadata"].get("namespace") if t.namespaced else None,
                                          [b["metadata"]["name"]])
            if missing:
                errs.append(f'Error from server (NotFound): error when deleting "{flags.all("filename")[0]}": '
                            f'{plural_group(t)} "{missing[0]}" not found')
            targets += [(t, o) for o in found]
    else:
        if not flags.args:
            return Result.error("error: You must provide one or more resources by argument or filename.\nExample "
                                "resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                                "   '<resource> <name>'\n   '<resource>'")
        for r in resource_args(flags.args, allow_all=False):
            if not r.names and not flags.get("selector") and not flags.has("all"):
                return Result.error("error: resource(s) were provided, but no name was specified")
            found, missing = find_objects(s, r.type, ns if r.type.namespaced else None, r.names, flags)
            errs += [str(not_found(r.type, m)) for m in missing]
            targets += [(r.type, o) for o in found]
    if not targets and not errs:
        return Result("", no_resources(ns) + "\n")
    dry = _dry_run(flags)
    keys: list[ObjectKey] = []
    out: list[str] = []
    force = flags.has("force") and flags.get("grace-period") == "0" or flags.has("now") and flags.has("force")
    for t, o in targets:
        md = o["metadata"]
        key = ObjectKey(t.kind, md.get("namespace", "") if t.namespaced else "", md["name"])
        stored = s.state.find(t.kind, key.namespace, key.name)
        if stored is not None:
            keys.append(key)
            if t.kind == "Namespace":
                keys += [key_of(m.body) for m in s.state.documents() if
                         (m.body.get("metadata") or {}).get("namespace") == md["name"]]
        elif t.kind == "Namespace":
            keys += [key_of(m.body) for m in s.state.documents() if
                     (m.body.get("metadata") or {}).get("namespace") == md["name"]]
        # Objects a controller owns (a Deployment's pod, an EndpointSlice) are made again at once.
        shown = f'{t.qualified if t.group else t.singular} "{md["name"]}"'
        extra = f" from {md['namespace']} namespace" if t.namespaced and md.get("namespace") != s.namespace else ""
        out.append(f"{shown} {'force deleted' if force else 'deleted'}{extra}" + (f" ({dry} dry run)" if dry else ""))
    if keys and not dry:
        commit(s, delete=keys)
    warn = ("Warning: Immediate deletion does not wait for confirmation that the running resource has been "
            "terminated. The resource may continue to run on the cluster indefinitely.\n") if force else ""
    return Result("".join(o + "\n" for o in out), warn + "".join(e + "\n" for e in errs), 1 if errs else 0)


# --- create ------------------------------------------------------------------------------------------------

def _image_name(image: str) -> str:
    base = image.split("@")[0].rsplit("/", 1)[-1]
    return re.sub(r"[^a-z0-9-]", "-", base.split(":")[0].lower()).strip("-") or "container"


def _finish(s: Session, flags: Flags, body: dict[str, Any]) -> Result:
    """Store a generated object (or print it, with --dry-run) and say so as kubectl does."""
    t = _type(body)
    ns = namespace_of(s, flags)
    if t.namespaced:
        body["metadata"]["namespace"] = body["metadata"].get("namespace") or ns
    if _dry_run(flags):
        if t.namespaced and not flags.get("namespace"):
            body["metadata"].pop("namespace", None)
        return _show(s, flags, body, "created", t)
    stored_body = copy.deepcopy(body)
    stored_body["metadata"].pop("creationTimestamp", None)
    stored_body.pop("status", None)
    store(s, stored_body, mode="create")
    return _show(s, flags, body, "created", t)


def _deployment(name: str, image: str, replicas: int, port: str | None, command: list[str]) -> dict[str, Any]:
    container: dict[str, Any] = {"image": image, "name": _image_name(image), "resources": {}}
    if command:
        container["command"] = command
    if port:
        container["ports"] = [{"containerPort": int(port)}]
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"creationTimestamp": None, "labels": dict(labels), "name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "strategy": {},
                     "template": {"metadata": {"creationTimestamp": None, "labels": dict(labels)},
                                  "spec": {"containers": [container]}}},
            "status": {}}


def _tcp_ports(specs: list[str], proto: str = "TCP") -> list[dict[str, Any]]:
    ports = []
    for spec in specs:
        for one in spec.split(","):
            port, _, target = one.partition(":")
            if not port.isdigit():
                raise UsageError(f"error: port must be a number: {port}")
            ports.append({"name": f"{port}-{target or port}", "port": int(port), "protocol": proto,
                          "targetPort": int(target) if target.isdigit() else (target or int(port))})
    return ports


@sub("create")
def create(s: Session, flags: Flags) -> Result:
    if flags.all("filename"):
        if _dry_run(flags):
            return _each(s, flags, "create")
        return _each(s, flags, "create")
    if not flags.args:
        return Result.error("error: must specify one of -f and -k")
    what, args = flags.args[0], flags.args[1:]
    name = args[0] if args else None
    if what in ("deployment", "deploy"):
        image = flags.get("image")
        if not name or not image:
            return Result.error("error: required flag(s) \"image\" not set" if name else
                                "error: exactly one NAME is required, got 0")
        body = _deployment(name, image, int(flags.get("replicas") or 1), flags.get("port"), flags.command)
        return _finish(s, flags, body)
    if what in ("service", "svc"):
        kind = args[0] if args else ""
        name = args[1] if len(args) > 1 else None
        if kind not in ("clusterip", "nodeport", "loadbalancer", "externalname"):
            return Result.error("error: Unexpected args: " + str(args) if args else
                                "error: must specify a type of service: clusterip, externalname, loadbalancer, "
                                "nodeport")
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        svc_type = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer",
                    "externalname": "ExternalName"}[kind]
        spec: dict[str, Any] = {"type": svc_type}
        if kind == "externalname":
            ext = flags.get("external-name")
            if not ext:
                return Result.error("error: required flag(s) \"external-name\" not set")
            spec["externalName"] = ext
        else:
            tcp = flags.all("tcp")
            if not tcp:
                return Result.error("error: at least one tcp port specifier must be provided")
            ports = _tcp_ports(tcp)
            if flags.get("node-port") and kind == "nodeport":
                ports[0]["nodePort"] = int(flags.get("node-port") or 0)
            spec["ports"] = ports
            spec["selector"] = {"app": name}
            if flags.get("clusterip"):
                spec["clusterIP"] = flags.get("clusterip")
        body = {"apiVersion": "v1", "kind": "Service",
                "metadata": {"creationTimestamp": None, "labels": {"app": name}, "name": name},
                "spec": dict(sorted(spec.items())), "status": {"loadBalancer": {}}}
        return _finish(s, flags, body)
    if what in ("ingress", "ing"):
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        return _finish(s, flags, _ingress(name, flags))
    if what == "secret":
        kind = args[0] if args else ""
        name = args[1] if len(args) > 1 else None
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        if kind == "tls":
            cert, key = flags.get("cert"), flags.get("key")
            if not cert or not key:
                return Result.error("error: key and cert must be specified")
            data = {}
            for field_, path in (("tls.crt", cert), ("tls.key", key)):
                text = s.read_file(path)
                if text is None:
                    return Result.error(f"error: open {path}: no such file or directory")
                data[field_] = base64.b64encode(text.encode()).decode()
            body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"creationTimestamp": None, "name": name},
                    "data": data, "type": "kubernetes.io/tls"}
        elif kind in ("generic", "docker-registry"):
            data = _literal_data(s, flags, b64=True)
            body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"creationTimestamp": None, "name": name},
                    "data": data, "type": "Opaque" if kind == "generic" else "kubernetes.io/dockerconfigjson"}
        else:
            return Result.error("error: Unknown secret type; must be one of: docker-registry, generic, tls")
        return _finish(s, flags, body)
    if what in ("configmap", "cm"):
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"creationTimestamp": None, "name": name},
                "data": _literal_data(s, flags, b64=False)}
        return _finish(s, flags, body)
    if what in ("namespace", "ns"):
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        return _finish(s, flags, {"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"creationTimestamp": None, "name": name}, "spec": {}, "status": {}})
    if what in ("serviceaccount", "sa"):
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        return _finish(s, flags, {"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"creationTimestamp": None, "name": name}})
    if what in ("role", "clusterrole"):
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        verbs = [v for x in flags.all("verb") for v in x.split(",")]
        resources = [r for x in flags.all("resource") for r in x.split(",")]
        if not verbs:
            return Result.error("error: at least one verb must be specified")
        rules = []
        for r in resources:
            t = resource_type(r.split("/")[0])
            rules.append({"apiGroups": [t.group if t else ""], "resources": [t.plural if t else r],
                          "verbs": verbs})
        kind = "Role" if what == "role" else "ClusterRole"
        return _finish(s, flags, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                                  "metadata": {"creationTimestamp": None, "name": name}, "rules": rules})
    if what in ("rolebinding", "clusterrolebinding"):
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        role, crole = flags.get("role"), flags.get("clusterrole")
        subjects = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": u} for u in flags.all("user")]
        subjects += [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}
                     for g in flags.all("group")]
        for sa in flags.all("serviceaccount"):
            sns, _, sname = sa.partition(":")
            subjects.append({"kind": "ServiceAccount", "name": sname, "namespace": sns})
        kind = "RoleBinding" if what == "rolebinding" else "ClusterRoleBinding"
        return _finish(s, flags, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
            "metadata": {"creationTimestamp": None, "name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role" if role else "ClusterRole",
                        "name": role or crole}, "subjects": subjects})
    if what in ("job", "cronjob", "cj"):
        image = flags.get("image")
        if not name or not image:
            return Result.error("error: required flag(s) \"image\" not set")
        container = {"image": image, "name": name, "resources": {}}
        if flags.command:
            container["command"] = flags.command
        pod = {"spec": {"containers": [container], "restartPolicy": "Never" if what == "job" else "OnFailure"}}
        if what == "job":
            body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"creationTimestamp": None, "name": name},
                    "spec": {"template": {"metadata": {"creationTimestamp": None}, **pod}}, "status": {}}
        else:
            body = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"creationTimestamp": None, "name": name},
                    "spec": {"jobTemplate": {"metadata": {"creationTimestamp": None, "name": name},
                                             "spec": {"template": {"metadata": {"creationTimestamp": None}, **pod}}},
                             "schedule": flags.get("schedule") or "* * * * *"}, "status": {}}
        return _finish(s, flags, body)
    if what == "token":
        return Result.ok("eyJhbGciOiJSUzI1NiIsImtpZCI6ImtuditzaW0ifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsd"
                         "Do" + (name or "default") + "In0.c2lnbmF0dXJl")
    if what in ("priorityclass", "pc", "quota", "resourcequota", "poddisruptionbudget", "pdb"):
        if not name:
            return Result.error("error: exactly one NAME is required, got 0")
        kinds = {"priorityclass": ("scheduling.k8s.io/v1", "PriorityClass"), "pc": ("scheduling.k8s.io/v1",
                                                                                      "PriorityClass"),
                 "quota": ("v1", "ResourceQuota"), "resourcequota": ("v1", "ResourceQuota"),
                 "poddisruptionbudget": ("policy/v1", "PodDisruptionBudget"), "pdb": ("policy/v1",
                                                                                      "PodDisruptionBudget")}
        api, kind = kinds[what]
        body = {"apiVersion": api, "kind": kind, "metadata": {"creationTimestamp": None, "name": name}}
        if kind == "PriorityClass":
            body["value"] = int(flags.get("value") or 0)
        return _finish(s, flags, body)
    return Result.error(f'error: unknown command "{what}" for "kubectl create"\n'
                        "Run 'kubectl create --help' for usage.")


def _literal_data(s: Session, flags: Flags, *, b64: bool) -> dict[str, str]:
    data: dict[str, str] = {}
    for lit in flags.all("from-literal"):
        k, eq, v = lit.partition("=")
        if not eq:
            raise UsageError(f"error: invalid literal source {lit}, expected key=value")
        data[k] = v
    for spec in flags.all("from-file"):
        k, eq, path = spec.partition("=")
        if not eq:
            path, k = spec, spec.rsplit("/", 1)[-1]
        text = s.read_file(path)
        if text is None:
            raise UsageError(f"error: error reading {path}: no such file or directory")
        data[k] = text
    for path in flags.all("from-env-file"):
        text = s.read_file(path) or ""
        for line in text.splitlines():
            if "=" in line and not line.strip().startswith("#"):
                k, _, v = line.partition("=")
                data[k.strip()] = v.strip()
    if b64:
        return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return data


def _ingress(name: str, flags: Flags) -> dict[str, Any]:
    """``kubectl create ingress``'s generator: ``--rule=host/path=svc:port[,tls[=secret]]``; a path ending in
    ``*`` is Prefix (the ``*`` dropped), any other Exact."""
    rules: list[dict[str, Any]] = []
    tls: list[dict[str, Any]] = []
    for rule in flags.all("rule"):
        m = re.fullmatch(r"([^/=]*)(/[^=]*)?=([^:,]+):([^,]+)(?:,tls(?:=(.+))?)?", rule)
        if not m:
            raise UsageError(f"error: rule {rule} is invalid and should be in format host/path=svcname:svcport"
                             "[,tls[=secret]]")
        host, path, svc, port, secret = m.groups()
        path = path or "/"
        path_type = "Prefix" if path.endswith("*") else "Exact"
        path = path.rstrip("*") or "/"
        backend_port: dict[str, Any] = {"number": int(port)} if port.isdigit() else {"name": port}
        p = {"backend": {"service": {"name": svc, "port": backend_port}}, "path": path, "pathType": path_type}
        existing = next((r for r in rules if r.get("host", "") == host), None)
        if existing is None:
            r: dict[str, Any] = {"http": {"paths": [p]}}
            if host:
                r = {"host": host, **r}
            rules.append(r)
        else:
            existing["http"]["paths"].append(p)
        if ",tls" in rule:
            entry: dict[str, Any] = {"hosts": [host]} if host else {}
            if secret:
                entry["secretName"] = secret
            tls.append(entry)
    spec: dict[str, Any] = {}
    if flags.get("default-backend"):
        svc, _, port = (flags.get("default-backend") or "").partition(":")
        spec["defaultBackend"] = {"service": {"name": svc, "port": {"number": int(port)} if port.isdigit() else
                                              {"name": port}}}
    if flags.get("class"):
        spec["ingressClassName"] = flags.get("class")
    if rules:
        spec["rules"] = rules
    if tls:
        spec["tls"] = tls
    md: dict[str, Any] = {"creationTimestamp": None, "name": name}
    notes = {k: v for a in flags.all("annotation") for k, _, v in [a.partition("=")]}
    if notes:
        md["annotations"] = notes
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": md, "spec": spec,
            "status": {"loadBalancer": {}}}


# --- expose ------------------------------------------------------------------------------------------------

@sub("expose")
def expose(s: Session, flags: Flags) -> Result:
    ns = namespace_of(s, flags)
    if not flags.args:
        return Result.error("error: You must provide one or more resources by argument or filename.")
    targets = resource_args(flags.args, allow_all=False)
    if not targets or not targets[0].names:
        return Result.error("error: the server doesn't have a resource type \"\"" if not targets else
                            "error: resource(s) were provided, but no name was specified")
    t, name = targets[0].type, targets[0].names[0]
    if t.kind not in ("Pod", "Service", "Deployment", "ReplicaSet", "ReplicationController", "StatefulSet"):
        return Result.error(f"error: cannot expose a {t.kind}")
    found, missing = find_objects(s, t, ns, [name])
    if missing:
        raise not_found(t, name)
    obj = found[0]
    md, spec = obj["metadata"], obj.get("spec") or {}
    if flags.get("selector"):
        selector = dict(p.split("=", 1) for p in (flags.get("selector") or "").split(",") if "=" in p)
    elif t.kind == "Pod":
        selector = dict(md.get("labels") or {})
    elif t.kind == "Service":
        selector = dict(spec.get("selector") or {})
    else:
        sel = spec.get("selector") or {}
        if sel.get("matchExpressions"):
            return Result.error(f"error: couldn't convert expressions - \"{sel}\" to map: operator "
                                "\"In\" without a single value cannot be converted into the old label selector format")
        selector = dict(sel.get("matchLabels") or {})
    if not selector:
        return Result.error(f"error: couldn't retrieve selectors via --selector flag or introspection: the "
                            f"{t.kind.lower()} has no labels" if t.kind == "Pod" else
                            "error: couldn't retrieve selectors via --selector flag or introspection")
    proto = flags.get("protocol") or "TCP"
    port = flags.get("port")
    ports: list[dict[str, Any]] = []
    if port:
        target = flags.get("target-port")
        tp: Any = int(target) if target and target.isdigit() else (target or int(port))
        ports = [{"port": int(port), "protocol": proto, "targetPort": tp}]
    else:
        if t.kind == "Service":
            found_ports = [{"port": p["port"], "protocol": p.get("protocol", "TCP"),
                            "targetPort": p.get("targetPort", p["port"]), **({"name": p["name"]} if p.get("name")
                                                                              else {})}
                           for p in spec.get("ports") or []]
        else:
            pod_spec = spec if t.kind == "Pod" else (spec.get("template") or {}).get("spec") or {}
            cps = [cp for c in pod_spec.get("containers") or [] for cp in c.get("ports") or []]
            found_ports = [{"port": cp["containerPort"], "protocol": cp.get("protocol", "TCP"),
                            "targetPort": cp["containerPort"]} for cp in cps]
        if not found_ports:
            return Result.error("error: couldn't find port via --port flag or introspection\nSee 'kubectl expose -h' "
                                "for help and examples")
        if len(found_ports) > 1:
            for i, p in enumerate(found_ports, 1):
                p.setdefault("name", f"port-{i}")
        ports = found_ports
    if flags.get("target-port") and port is None and len(ports) == 1:
        tgt = flags.get("target-port") or ""
        ports[0]["targetPort"] = int(tgt) if tgt.isdigit() else tgt
    svc_name = flags.get("name") or name
    labels = dict(md.get("labels") or {}) if t.kind != "Service" else dict(md.get("labels") or {})
    if flags.get("labels"):
        labels = dict(p.split("=", 1) for p in (flags.get("labels") or "").split(",") if "=" in p)
    svc_spec: dict[str, Any] = {"ports": ports, "selector": selector}
    svc_type = flags.get("type")
    if svc_type:
        types = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer",
                 "externalname": "ExternalName"}
        if svc_type.lower() not in types:
            return Result.error(f'The Service "{svc_name}" is invalid: spec.type: Unsupported value: "{svc_type}": '
                                'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')
        svc_spec["type"] = types[svc_type.lower()]
    if flags.get("external-ip"):
        svc_spec["externalIPs"] = [flags.get("external-ip")]
    if flags.get("cluster-ip"):
        svc_spec["clusterIP"] = flags.get("cluster-ip")
    if flags.get("session-affinity"):
        svc_spec["sessionAffinity"] = flags.get("session-affinity")
    if flags.get("load-balancer-ip"):
        svc_spec["loadBalancerIP"] = flags.get("load-balancer-ip")
    body_md: dict[str, Any] = {"creationTimestamp": None, "name": svc_name}
    if labels:
        body_md["labels"] = labels
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": body_md, "spec": svc_spec,
                            "status": {"loadBalancer": {}}}
    svc_t = type_of_kind("Service")
    assert svc_t is not None
    if _dry_run(flags):
        return _show(s, flags, body, "exposed", svc_t)
    stored_body: dict[str, Any] = copy.deepcopy(body)
    stored_body["metadata"].pop("creationTimestamp", None)
    stored_body["metadata"]["namespace"] = ns
    stored_body.pop("status", None)
    store(s, stored_body, mode="create")
    return _show(s, flags, {**body, "metadata": {**body_md, "namespace": ns}}, "exposed", svc_t)


# --- scale, label, annotate, patch, set ----------------------------------------------------------------------

def _targets(s: Session, flags: Flags, *, need_names: bool = True) -> list[tuple[ResourceType, str, str]]:
    ns = namespace_of(s, flags)
    args = [a for a in flags.args]
    out: list[tuple[ResourceType, str, str]] = []
    if flags.all("filename"):
        for b in read_manifests(s, flags):
            b = _normalize(s, b, ns)
            out.append((_type(b), b["metadata"].get("namespace", ""), b["metadata"]["name"]))
        return out
    if not args:
        raise UsageError("error: You must provide one or more resources by argument or filename.")
    resources = resource_args(args[:1] if "/" not in args[0] else [a for a in args if "/" in a], allow_all=False)
    if "/" not in args[0]:
        r = resources[0]
        names = [a for a in args[1:] if "=" not in a and not a.endswith("-")] if need_names else args[1:2]
        if flags.get("selector") or flags.has("all"):
            items, _ = find_objects(s, r.type, ns if r.type.namespaced else None, [], flags)
            names = [o["metadata"]["name"] for o in items]
        if not names:
            raise UsageError("error: resource(s) were provided, but no name was specified")
        out += [(r.type, ns, n) for n in names]
    else:
        out += [(r.type, ns, n) for r in resources for n in r.names]
    return out


@sub("scale")
def scale(s: Session, flags: Flags) -> Result:
    replicas = flags.get("replicas")
    if replicas is None:
        return Result.error("error: required flag(s) \"replicas\" not set")
    if not replicas.isdigit():
        return Result.error(f"error: invalid argument \"{replicas}\" for \"--replicas\" flag: strconv.ParseInt: "
                            f"parsing \"{replicas}\": invalid syntax")
    out = []
    for t, ns, name in _targets(s, flags):
        if t.kind not in ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"):
            return Result.error(f"error: no objects passed to scale {t.plural}.{t.group} \"{name}\" has no scale "
                                "subresource" if t.group else f"error: cannot scale {t.kind}")
        body = editable(s, t, ns, name)
        current = flags.get("current-replicas")
        if current is not None and str((body.get("spec") or {}).get("replicas", 1)) != current:
            return Result.error(f"error: Expected replicas to be {current}, was {body['spec'].get('replicas', 1)}")
        body.setdefault("spec", {})["replicas"] = int(replicas)
        commit(s, [body])
        out.append(f"{_qualified(t, name)} scaled")
    return Result.ok("\n".join(out))


def _kv_changes(words: list[str], what: str) -> tuple[dict[str, str], list[str]]:
    sets: dict[str, str] = {}
    removes: list[str] = []
    for w in words:
        if w.endswith("-") and "=" not in w:
            removes.append(w[:-1])
        elif "=" in w:
            k, _, v = w.partition("=")
            if what == "labels" and (not valid_label_key(k) or not valid_label_value(v)):
                raise UsageError(f"error: invalid label value: \"{w}\": a valid label must be an empty string or "
                                 "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                 "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                                 "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
            sets[k] = v
    return sets, removes


def _label_like(s: Session, flags: Flags, field: str, word: str) -> Result:
    resource_words = [a for a in flags.args if not ("=" in a or (a.endswith("-") and len(a) > 1))]
    change_words = [a for a in flags.args if a not in resource_words]
    if not change_words and not flags.has("list"):
        return Result.error(f"error: at least one {field[:-1]} update is required")
    sets, removes = _kv_changes(change_words, field)
    f2 = Flags(dict(flags.values), resource_words, flags.command, flags.dash)
    out = []
    for t, ns, name in _targets(s, f2):
        body = editable(s, t, ns, name)
        md = body.setdefault("metadata", {})
        cur = dict(md.get(field) or {})
        for k, v in sets.items():
            if k in cur and cur[k] != v and not flags.has("overwrite"):
                return Result.error(f"error: '{k}' already has a value ({cur[k]}), and --overwrite is false")
        new = {**cur, **sets}
        for k in removes:
            new.pop(k, None)
        if new == cur:
            out.append(f"{_qualified(t, name)} not {word}")
            continue
        md[field] = new
        if not new:
            md.pop(field)
        if not _dry_run(flags):
            commit(s, [body])
        verb = word if sets or not removes else "un" + word
        out.append(f"{_qualified(t, name)} {verb}")
    return Result.ok("\n".join(out))


@sub("label")
def label(s: Session, flags: Flags) -> Result:
    return _label_like(s, flags, "labels", "labeled")


@sub("annotate")
def annotate(s: Session, flags: Flags) -> Result:
    return _label_like(s, flags, "annotations", "annotated")


def _load_patch(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UsageError(f"error: unable to parse \"{text}\": yaml: {e}") from None


@sub("patch")
def patch(s: Session, flags: Flags) -> Result:
    text = flags.get("patch")
    if text is None and flags.get("patch-file"):
        text = s.read_file(flags.get("patch-file") or "")
    if text is None:
        return Result.error("error: must specify --patch or --patch-file containing the contents of the patch")
    kind = (flags.get("type") or "strategic").lower()
    if kind not in ("json", "merge", "strategic"):
        return Result.error(f"error: --type must be one of [json merge strategic], not \"{kind}\"")
    doc = _load_patch(text)
    out = []
    for t, ns, name in _targets(s, flags):
        body = editable(s, t, ns, name)
        if kind == "json":
            new = json_patch(body, doc)
        elif kind == "merge":
            new = merge_patch(body, doc)
        else:
            if t.group not in ("", "apps", "networking.k8s.io", "batch", "discovery.k8s.io", "policy",
                               "rbac.authorization.k8s.io"):
                return Result.error(f"error: application/strategic-merge-patch+json is not supported by "
                                    f"{t.group}/{t.version}, Kind={t.kind}: the body of the request was in an "
                                    "unknown format - accepted media types include: application/json-patch+json, "
                                    "application/merge-patch+json, application/apply-patch+yaml")
            new = strategic_patch(body, doc, "")
        if _same(body, new):
            out.append(f"{_qualified(t, name)} patched (no change)")
            continue
        if not _dry_run(flags):
            commit(s, [new])
        out.append(f"{_qualified(t, name)} patched")
    if flags.get("output"):
        from k8snetviz.views.apiobjects import object_of

        objs = [object_of(s.cluster, t.kind, ns, name) for t, ns, name in _targets(s, flags)]
        return Result.ok(kg.render_output([o for o in objs if o], flags.get("output") or "yaml", single=True))
    return Result.ok("\n".join(out))


@sub("set")
def set_(s: Session, flags: Flags) -> Result:
    if not flags.args:
        return Result.error("error: Unexpected args: []")
    what = flags.args[0]
    rest = Flags(dict(flags.values), flags.args[1:], flags.command, flags.dash)
    if what == "selector":
        if len(rest.args) < 2 and "/" not in (rest.args[0] if rest.args else ""):
            return Result.error("error: one selector is required")
        if "/" in rest.args[0]:
            tgt, expr = rest.args[0], rest.args[1] if len(rest.args) > 1 else ""
        else:
            tgt, expr = f"{rest.args[0]}/{rest.args[1]}", rest.args[2] if len(rest.args) > 2 else ""
        selector = dict(p.split("=", 1) for p in expr.split(",") if "=" in p)
        out = []
        for t, ns, name in _targets(s, Flags(dict(flags.values), [tgt], [], False)):
            if t.kind != "Service":
                return Result.error(f"error: the {t.kind} {name} cannot have its selector changed: only Services")
            body = editable(s, t, ns, name)
            body.setdefault("spec", {})["selector"] = selector
            commit(s, [body])
            out.append(f"{_qualified(t, name)} selector updated")
        return Result.ok("\n".join(out))
    if what in ("image", "env", "resources", "serviceaccount", "sa"):
        changes = [a for a in rest.args if "=" in a or a.endswith("-")]
        res_words = [a for a in rest.args if a not in changes]
        out = []
        for t, ns, name in _targets(s, Flags(dict(flags.values), res_words, [], False)):
            body = editable(s, t, ns, name)
            pod_spec = body["spec"] if t.kind == "Pod" else body.setdefault("spec", {}).setdefault(
                "template", {}).setdefault("spec", {})
            containers = pod_spec.get("containers") or []
            if what == "image":
                for ch in changes:
                    cname, _, image = ch.partition("=")
                    hit = [c for c in containers if cname in ("*", c.get("name"))]
                    if not hit:
                        return Result.error(f'error: unable to find container named "{cname}"')
                    for c in hit:
                        c["image"] = image
                word = "image updated"
            elif what == "env":
                for c in containers:
                    env = c.setdefault("env", [])
                    for ch in changes:
                        k, eq, v = ch.partition("=")
                        if not eq:
                            c["env"] = [e for e in env if e.get("name") != k.rstrip("-")]
                            continue
                        env[:] = [e for e in env if e.get("name") != k] + [{"name": k, "value": v}]
                word = "env updated"
            elif what in ("serviceaccount", "sa"):
                pod_spec["serviceAccountName"] = rest.args[-1]
                word = "serviceaccount updated"
            else:
                word = "resource requirements updated"
            commit(s, [body])
            out.append(f"{_qualified(t, name)} {word}")
        return Result.ok("\n".join(out))
    return not_available("kubectl set " + " ".join(flags.args))


@sub("edit")
def edit(s: Session, flags: Flags) -> Result:
    if not flags.args and not flags.all("filename"):
        return Result.error("error: You must provide one or more resources by argument or filename.")
    for t, ns, name in _targets(s, flags):
        found, missing = find_objects(s, t, ns if t.namespaced else None, [name])
        if missing:
            raise not_found(t, name)
    # An editor needs a person at the keyboard; closing it unchanged is what a script sees.
    return Result.ok("Edit cancelled, no changes made.")


# --- rollout, nodes, wait ----------------------------------------------------------------------------------

@sub("rollout")
def rollout(s: Session, flags: Flags) -> Result:
    if not flags.args:
        return Result.error("error: Required resource not specified.")
    what = flags.args[0]
    rest = Flags(dict(flags.values), flags.args[1:], [], False)
    out = []
    for t, ns, name in _targets(s, rest):
        found, missing = find_objects(s, t, ns, [name])
        if missing:
            raise not_found(t, name)
        q = _qualified(t, name)
        if what == "status":
            if t.kind == "Deployment":
                st = found[0].get("status") or {}
                want = (found[0].get("spec") or {}).get("replicas", 1)
                if st.get("availableReplicas", 0) < want:
                    out.append(f'Waiting for deployment "{name}" rollout to finish: {st.get("availableReplicas", 0)} '
                               f"of {want} updated replicas are available...")
                    out.append("error: timed out waiting for the condition")
                    return Result.error("\n".join(out[:-1]) + "\n" + out[-1])
                out.append(f'deployment "{name}" successfully rolled out')
            else:
                out.append(f'{"daemon set" if t.kind == "DaemonSet" else "partitioned roll out complete"} '
                           f'"{name}" successfully rolled out' if t.kind == "DaemonSet" else
                           f"partitioned roll out complete: {found[0].get('status', {}).get('readyReplicas', 0)} new "
                           "pods have been updated...")
        elif what == "restart":
            body = editable(s, t, ns, name)
            tmpl_md = body.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
            tmpl_md.setdefault("annotations", {})["kubectl.kubernetes.io/restartedAt"] = "2025-01-01T12:00:00Z"
            commit(s, [body])
            out.append(f"{q} restarted")
        elif what == "history":
            out.append(f"{q} \nREVISION  CHANGE-CAUSE\n1         <none>\n")
        elif what == "undo":
            out.append(f"{q} rolled back" if False else f"error: no rollout history found for {t.kind.lower()} "
                       f"\"{name}\"")
        elif what in ("pause", "resume"):
            out.append(f"{q} {what}d")
        else:
            return Result.error(f'error: unknown command "{what}" for "kubectl rollout"')
    return Result.ok("\n".join(out))


def _node_change(s: Session, names: list[str], fn: Any) -> list[str]:
    t = type_of_kind("Node")
    assert t is not None
    bodies = []
    for n in names:
        if n not in s.cluster.nodes:
            raise not_found(t, n)
        s.state.materialize_all([_node_body(s, x) for x in s.cluster.nodes])
        body = editable(s, t, "", n)
        bodies.append(fn(body))
    commit(s, [b for b in bodies if b is not None])
    return names


_UNSCHEDULABLE = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def _cordon(body: dict[str, Any], on: bool) -> dict[str, Any]:
    spec = body.setdefault("spec", {})
    taints = [t for t in spec.get("taints") or [] if t.get("key") != _UNSCHEDULABLE["key"]]
    if on:
        spec["unschedulable"] = True
        taints.append(dict(_UNSCHEDULABLE))  # the node controller's taint for an unschedulable node
    else:
        spec.pop("unschedulable", None)
    spec["taints"] = taints
    if not taints:
        spec.pop("taints")
    return body


@sub("cordon")
def cordon(s: Session, flags: Flags) -> Result:
    names = flags.args
    was = {n for n in names if n in s.cluster.nodes and (s.cluster.nodes[n].raw.get("spec") or {}).get("unschedulable")}
    _node_change(s, names, lambda b: _cordon(b, True))
    return Result.ok("\n".join(f"node/{n} {'already cordoned' if n in was else 'cordoned'}" for n in names))


@sub("uncordon")
def uncordon(s: Session, flags: Flags) -> Result:
    names = flags.args
    was = {n for n in names if n in s.cluster.nodes and
           not (s.cluster.nodes[n].raw.get("spec") or {}).get("unschedulable")}
    _node_change(s, names, lambda b: _cordon(b, False))
    return Result.ok("\n".join(f"node/{n} {'already uncordoned' if n in was else 'uncordoned'}" for n in names))


@sub("drain")
def drain(s: Session, flags: Flags) -> Result:
    names = flags.args
    if not names:
        return Result.error("error: USAGE: drain NODE [flags]")
    out = []
    for n in names:
        pods = [p for p in s.cluster.pods.values() if p.node_name == n]
        ds = [p for p in pods if p.owner is not None and p.owner.kind == "DaemonSet"]
        bare = [p for p in pods if p.owner is None and not p.host_network]
        if ds and not flags.has("ignore-daemonsets"):
            return Result.error(f"node/{n} cordoned\nerror: unable to drain node \"{n}\" due to error: cannot delete "
                                f"DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
                                + ", ".join(p.key for p in ds) + ", continuing command...\nThere are pending nodes to "
                                "be drained:\n " + n)
        if bare and not flags.has("force"):
            return Result.error(f"node/{n} cordoned\nerror: unable to drain node \"{n}\" due to error: cannot delete "
                                "cannot delete Pods that declare no controller (use --force to override): "
                                + ", ".join(p.key for p in bare))
        _node_change(s, [n], lambda b: _cordon(b, True))
        out.append(f"node/{n} cordoned")
        if ds:
            out.append("Warning: ignoring DaemonSet-managed Pods: " + ", ".join(p.key for p in ds))
        evicted = [p for p in pods if p not in ds and not p.raw.get("spec", {}).get("nodeName")]
        for p in evicted:
            out.append(f"evicting pod {p.key}")
        for p in evicted:
            out.append(f'pod/{p.name} evicted')
        if bare:
            commit(s, delete=[ObjectKey("Pod", p.namespace, p.name) for p in bare])
        out.append(f"node/{n} drained")
    return Result.ok("\n".join(out))


@sub("taint")
def taint(s: Session, flags: Flags) -> Result:
    args = list(flags.args)
    if args and args[0] in ("node", "nodes", "no"):
        args = args[1:]
    if len(args) < 2:
        return Result.error("error: at least one taint update is required")
    names, specs = [a for a in args if ":" not in a and "=" not in a], [a for a in args if ":" in a or "=" in a]

    def change(body: dict[str, Any]) -> dict[str, Any]:
        spec = body.setdefault("spec", {})
        taints = list(spec.get("taints") or [])
        for sp in specs:
            remove = sp.endswith("-")
            sp = sp.rstrip("-")
            kv, _, effect = sp.partition(":")
            key, _, value = kv.partition("=")
            taints = [t for t in taints if not (t.get("key") == key and (not effect or t.get("effect") == effect))]
            if not remove:
                t: dict[str, Any] = {"effect": effect, "key": key}
                if value:
                    t["value"] = value
                taints.append(t)
        spec["taints"] = taints
        if not taints:
            spec.pop("taints")
        return body
    _node_change(s, names, change)
    word = "untainted" if all(sp.endswith("-") for sp in specs) else "tainted"
    return Result.ok("\n".join(f"node/{n} {word}" for n in names))


@sub("wait")
def wait(s: Session, flags: Flags) -> Result:
    cond = flags.get("for") or ""
    out = []
    for t, ns, name in _targets(s, flags):
        found, missing = find_objects(s, t, ns, [name])
        if cond == "delete":
            out.append(f"{_qualified(t, name)} condition met")
            continue
        if missing:
            raise not_found(t, name)
        if t.kind == "Pod" and cond.lower() == "condition=ready":
            pod = s.cluster.pods[f"{ns}/{name}"]
            if not pod.ready:
                return Result.error(f"error: timed out waiting for the condition on pods/{name}")
        out.append(f"{_qualified(t, name)} condition met")
    return Result.ok("\n".join(out))


_ = pods_of
