"""The decoding layer: every object of a scenario is checked against the shape the API server decodes it into
(:mod:`k8snetviz.api.schema`) before anything reads it, and converted where the API server converts.

- A wrong type is refused as the API server refuses it, with the file and line of the object:
  ``pods.yaml:3: Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct
  field ContainerPort.spec.containers.ports.containerPort of type int32``.
- A few values every later step relies on are validated in the API server's words (container ports).
- The same object listed twice (same kind, name and ``uid``, as overlapping ``kubectl get`` outputs hold it) is
  read once.
- A dual-stack cluster's objects are read as its IPv4 family (:mod:`k8snetviz.api.families`).
- An Ingress of ``extensions/v1beta1`` or ``networking.k8s.io/v1beta1`` (``serviceName``/``servicePort``) is
  converted to ``networking.k8s.io/v1``, as the API server serves old objects in the new version.

pydantic (its Rust core) checks a pod in about 10 µs: a 150,000-pod dump is decoded in a couple of seconds.
"""

from __future__ import annotations

import copy
import types
import typing
from typing import TYPE_CHECKING, Any

from k8snetviz.api.families import ipv4_view
from k8snetviz.api.notes import Notes
from k8snetviz.api.validation import PORT_NUM_ERROR
from k8snetviz.errors import FieldError, InvalidObject, K8sNetVizError, ScenarioError
from k8snetviz.scenario.loader import Manifest, Scenario, json_type

if TYPE_CHECKING:
    from k8snetviz.api import schema

__all__ = ["decode_scenario", "check", "decode_error", "convert_ingress"]

_PROTOCOLS = ("SCTP", "TCP", "UDP")


def _json_type(value: Any) -> str:
    """The JSON type Go's decoder names (a number it cannot store is shown with its value)."""
    return f"number {value:g}" if isinstance(value, float) else json_type(value)


def _go_type(annotation: Any) -> str:
    """The Go type the API server decodes a field into, from its annotation."""
    from k8snetviz.api import schema

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        for meta in args[1:]:
            if isinstance(meta, schema.GoType):
                return meta.name
        return _go_type(args[0])
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in args if a is not type(None)]
        return _go_type(rest[0]) if len(rest) == 1 else "intstr.IntOrString"
    if origin is list:
        return "[]" + _go_type(args[0])
    if origin is dict:
        return f"map[string]{_go_type(args[1])}" if args[1] is not Any else "map[string]interface {}"
    if isinstance(annotation, type) and issubclass(annotation, schema.Model):
        return f"v1.{annotation.__name__}"
    return {str: "string", bool: "bool", int: "int64"}.get(annotation, "interface {}")


def _struct(cls: type[schema.Model], kind: str) -> str:
    from k8snetviz.api import schema

    if cls is schema.WorkloadSpec:
        return f"{kind}Spec"
    if cls is schema.Deployment:
        return kind
    return cls.__name__


def decode_error(kind: str, api_version: str, model: type[schema.Model], err: dict[str, Any]) -> str:
    """One pydantic error as the API server's decoder words it (Go's ``encoding/json``)."""
    from k8snetviz.api import schema

    cls: Any = model
    annotation: Any = model
    struct, path = _struct(model, kind), []
    for part in err["loc"]:
        inner = annotation
        while True:  # peel Optional/Annotated to reach a model, list or dict
            origin = typing.get_origin(inner)
            if origin is typing.Annotated:
                inner = typing.get_args(inner)[0]
            elif origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(inner):
                inner = next(a for a in typing.get_args(inner) if a is not type(None))
            else:
                break
        origin = typing.get_origin(inner)
        if isinstance(inner, type) and issubclass(inner, schema.Model) and isinstance(part, str) \
                and part in inner.model_fields:
            cls = inner
            struct = _struct(cls, kind)
            path.append(part)
            annotation = cls.model_fields[part].annotation
            for meta in cls.model_fields[part].metadata:
                if isinstance(meta, schema.GoType):
                    annotation = typing.Annotated[annotation, meta]
        elif origin is list and isinstance(part, int):
            annotation = typing.get_args(inner)[0]
        elif origin is dict:
            annotation = typing.get_args(inner)[1] if part != "[key]" else str
        else:
            break  # inside a union's member (IntOrString): the field's own type speaks
    go_type = _go_type(annotation)
    value = err.get("input")
    what = _json_type(value)
    if err["type"] in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        what = f"number {value}"
    version = api_version.rsplit("/", 1)[-1] or "v1"
    field = ".".join(path)
    return (f'{kind} in version "{version}" cannot be handled as a {kind}: json: cannot unmarshal {what} into Go '
            f"struct field {struct}.{field} of type {go_type}")


def check(body: dict[str, Any]) -> str | None:
    """The API server's decoding error for an object, or None when its shape is right."""
    from pydantic import ValidationError

    from k8snetviz.api import schema  # pydantic's models: imported when a document is checked

    raw_kind = body.get("kind")
    kind = raw_kind if isinstance(raw_kind, str) else ""
    model = schema.MODELS.get(kind, schema.Other)
    try:
        model.model_validate(body)
    except ValidationError as e:
        api_version = body.get("apiVersion")
        return decode_error(kind, api_version if isinstance(api_version, str) else "v1", model, dict(e.errors()[0]))
    return None


def _container_errors(spec: dict[str, Any], prefix: str) -> list[FieldError]:
    """``validateContainerPorts``: what every later step relies on (a port number, a known protocol)."""
    errs: list[FieldError] = []
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            for j, p in enumerate((c or {}).get("ports") or []):
                path = f"{prefix}{group}[{i}].ports[{j}]"
                port = p.get("containerPort")
                if port is None:
                    errs.append(FieldError.required(f"{path}.containerPort"))
                elif not 1 <= port <= 65535:
                    errs.append(FieldError.invalid(f"{path}.containerPort", port, PORT_NUM_ERROR))
                host = p.get("hostPort")
                if host is not None and host != 0 and not 1 <= host <= 65535:
                    errs.append(FieldError.invalid(f"{path}.hostPort", host, PORT_NUM_ERROR))
                proto = p.get("protocol")
                if proto is not None and proto not in _PROTOCOLS:
                    errs.append(FieldError.not_supported(f"{path}.protocol", proto, _PROTOCOLS))
    return errs


def _validate(m: Manifest) -> None:
    spec = m.body.get("spec")
    if not isinstance(spec, dict):
        return
    if m.kind == "Pod":
        errs = _container_errors(spec, "spec.")
    elif m.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        template = spec.get("template") or {}
        errs = _container_errors(template.get("spec") or {}, "spec.template.spec.")
    else:
        return
    if errs:
        raise InvalidObject(m.kind, m.name, errs)


def convert_ingress(body: dict[str, Any]) -> dict[str, Any]:
    """An ``extensions/v1beta1`` or ``networking.k8s.io/v1beta1`` Ingress as ``networking.k8s.io/v1`` serves it:
    ``serviceName``/``servicePort`` become ``service.name``/``service.port.number`` (or ``.name``), ``backend``
    becomes ``defaultBackend``, a path without ``pathType`` gets ``ImplementationSpecific`` (the v1beta1 default).
    """
    out = copy.deepcopy(body)
    out["apiVersion"] = "networking.k8s.io/v1"
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out

    def backend(b: Any) -> Any:
        if not isinstance(b, dict) or "serviceName" not in b:
            return b
        port = b.get("servicePort")
        new: dict[str, Any] = {"service": {"name": b.get("serviceName"),
                                           "port": {"name": port} if isinstance(port, str) else {"number": port}}}
        if "resource" in b:
            new["resource"] = b["resource"]
        return new

    if "backend" in spec:
        spec["defaultBackend"] = backend(spec.pop("backend"))
    for rule in spec.get("rules") or []:
        http = rule.get("http") if isinstance(rule, dict) else None
        for p in (http.get("paths") or []) if isinstance(http, dict) else []:
            if isinstance(p, dict):
                p["backend"] = backend(p.get("backend"))
                p.setdefault("pathType", "ImplementationSpecific")
    return out


def decode_scenario(scenario: Scenario, notes: Notes | None = None) -> Scenario:
    """Every manifest decoded and checked; the scenario as the API server would serve it back."""
    notes = notes if notes is not None else Notes()
    out: list[Manifest] = []
    seen: dict[str, Manifest] = {}
    copies: list[str] = []
    converted = 0
    for m in scenario.manifests:
        # the package's own scenarios are checked by its tests (test_decode): pydantic is not even imported
        problem = None if m.shipped else check(m.body)
        if problem is not None:
            raise ScenarioError(problem, source=m.source, line=m.line)
        uid = m.metadata.get("uid")
        if isinstance(uid, str) and uid:
            same = f"{m.kind}/{m.namespace or 'default'}/{m.name}/{uid}"
            if same in seen:
                copies.append(f"{m.kind} {m.namespace or 'default'}/{m.name}")
                continue
            seen[same] = m
        try:
            _validate(m)
        except K8sNetVizError as e:
            raise ScenarioError(str(e), source=m.source, line=m.line) from None
        if m.kind == "Ingress" and m.api_version in ("extensions/v1beta1", "networking.k8s.io/v1beta1"):
            m = Manifest(convert_ingress(m.body), m.source, m.line)
            converted += 1
        out.append(m)
    notes.ignore("files", scenario.skipped, "hold no Kubernetes object (a support bundle's other data): skipped")
    notes.ignore("objects", copies, "listed twice (the same uid): read once")
    if converted:
        notes.infer("Ingress", f"{converted} converted to networking.k8s.io/v1",
                    "apiVersion extensions/v1beta1 or networking.k8s.io/v1beta1 (serviceName/servicePort)")
    return ipv4_view(Scenario(scenario.source, out, scenario.text), notes)
