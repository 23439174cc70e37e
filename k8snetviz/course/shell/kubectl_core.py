"""What the kubectl subcommands share: their registry, namespaces, finding objects, kubectl's NotFound."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from k8snetviz.api.discovery import ResourceType, resource_type
from k8snetviz.api.labels import parse_selector
from k8snetviz.course.shell.base import Result
from k8snetviz.course.shell.kubeflags import Flags, plural_group
from k8snetviz.errors import UsageError
from k8snetviz.views.apiobjects import objects

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session

__all__ = ["SUBCOMMANDS", "sub", "stdin_of", "namespace_of", "not_found", "find_objects", "no_resources",
           "resolve_pod", "pods_of"]

Sub = Callable[["Session", Flags], Result]
SUBCOMMANDS: dict[str, Sub] = {}


def sub(*names: str) -> Callable[[Sub], Sub]:
    def deco(fn: Sub) -> Sub:
        for n in names:
            SUBCOMMANDS[n] = fn
        return fn
    return deco



def stdin_of(flags: Flags) -> str | None:
    v = flags.values.get("__stdin__")
    return v[0] if v else None


def namespace_of(s: Session, flags: Flags) -> str:
    return flags.get("namespace") or s.namespace


def not_found(t: ResourceType, name: str) -> UsageError:
    return UsageError(f'Error from server (NotFound): {plural_group(t)} "{name}" not found')


def find_objects(s: Session, t: ResourceType, ns: str | None, names: list[str], flags: Flags | None = None
                 ) -> tuple[list[dict[str, Any]], list[str]]:
    """The objects of type ``t`` in ``ns`` (None: every namespace) named ``names`` (none: all, filtered by
    ``-l`` and ``--field-selector``); and the names that were not found."""
    items = objects(s.cluster, t.kind)
    if t.namespaced and ns is not None:
        items = [o for o in items if o["metadata"].get("namespace") == ns]
    missing: list[str] = []
    if names:
        by_name = {o["metadata"]["name"]: o for o in items}
        chosen = []
        for n in names:
            if n in by_name:
                chosen.append(by_name[n])
            else:
                missing.append(n)
        items = chosen
    if flags is not None:
        sel = flags.get("selector")
        if sel:
            match = parse_selector(sel)
            items = [o for o in items if match(o["metadata"].get("labels") or {})]
        fs = flags.get("field-selector")
        if fs:
            items = [o for o in items if _fields_match(o, fs, t)]
    return items, missing


_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace"),
           "status.phase": ("status", "phase"), "spec.nodeName": ("spec", "nodeName"),
           "spec.restartPolicy": ("spec", "restartPolicy"), "spec.schedulerName": ("spec", "schedulerName"),
           "spec.serviceAccountName": ("spec", "serviceAccountName"), "status.podIP": ("status", "podIP"),
           "spec.clusterIP": ("spec", "clusterIP"), "spec.type": ("spec", "type"),
           "spec.unschedulable": ("spec", "unschedulable"), "type": ("type",)}


def _fields_match(o: dict[str, Any], text: str, t: ResourceType) -> bool:
    for req in text.split(","):
        neg = "!=" in req
        key, _, want = req.replace("!=", "=").replace("==", "=").partition("=")
        path = _FIELDS.get(key.strip())
        if path is None:
            raise UsageError(f'Error from server (BadRequest): Unable to find "/{t.version}, Resource={t.plural}" '
                             f'that match label selector "", field selector "{text}": "{key.strip()}" is not a known '
                             "field selector: only \"metadata.name\", \"metadata.namespace\"")
        v: Any = o
        for p in path:
            v = (v or {}).get(p) if isinstance(v, dict) else None
        got = "" if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
        if (got == want.strip()) == neg:
            return False
    return True


def no_resources(ns: str | None) -> str:
    return "No resources found" if ns is None else f"No resources found in {ns} namespace."


def resolve_pod(s: Session, ref: str, ns: str) -> Any:
    """A pod named directly (``web-0``), or the first pod of ``deploy/web``, ``svc/web``, ``ds/x``."""
    cluster = s.cluster
    if "/" in ref:
        tname, _, name = ref.partition("/")
        t = resource_type(tname)
        if t is None:
            raise UsageError(f'error: the server doesn\'t have a resource type "{tname}"')
        if t.kind == "Pod":
            ref = name
        else:
            found, missing = find_objects(s, t, ns, [name])
            if missing:
                raise not_found(t, name)
            pods = pods_of(s, t.kind, found[0])
            if not pods:
                raise UsageError(f"error: no pods found for {t.kind.lower()} {name}" if t.kind != "Service" else
                                 f"error: cannot attach to *v1.Service: selector for service {name} has no pods")
            return pods[0]
    key = f"{ns}/{ref}"
    if key not in cluster.pods:
        raise UsageError(f'Error from server (NotFound): pods "{ref}" not found')
    return cluster.pods[key]


def pods_of(s: Session, kind: str, obj: dict[str, Any]) -> list[Any]:
    """The pods a workload or Service selects, in name order."""
    from k8snetviz.api.endpointslices import selects

    ns = obj["metadata"].get("namespace", "default")
    spec = obj.get("spec") or {}
    if kind == "Service":
        sel = spec.get("selector") or {}
        if not sel:
            return []
        return sorted((p for p in s.cluster.pods.values() if p.namespace == ns and selects(sel, p.labels)),
                      key=lambda p: p.name)
    match = (spec.get("selector") or {}).get("matchLabels") or {}
    return sorted((p for p in s.cluster.pods.values() if p.namespace == ns and match and
                   all(p.labels.get(k) == v for k, v in match.items())), key=lambda p: p.name)
