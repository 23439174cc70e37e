"""``kubectl apply|create|delete -f FILE``: reading manifests from a file, a directory or standard input."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from k8snetviz.course.shell.kubectl_core import stdin_of
from k8snetviz.course.shell.kubeflags import Flags
from k8snetviz.errors import UsageError

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session

__all__ = ["read_manifests"]


def read_manifests(s: Session, flags: Flags) -> list[dict[str, Any]]:
    """The objects of every ``-f FILE`` (``-`` is standard input), in order; ``List`` documents flattened."""
    out: list[dict[str, Any]] = []
    for name in flags.all("filename"):
        if name == "-":
            text = stdin_of(flags) or ""
            source = "STDIN"
        elif name.startswith(("http://", "https://")):
            raise UsageError(f'error: unable to read URL "{name}", server reported 404 Not Found, status code=404'
                             " (the simulator has no internet: write the manifest with cat <<EOF > FILE)")
        else:
            text_or_none = s.read_file(name)
            if text_or_none is None:
                from k8snetviz.course.shell.files import listing

                entries = listing(s, s.path(name))
                if entries:
                    for entry in sorted(entries):
                        if entry.endswith((".yaml", ".yml", ".json")):
                            out += _parse(s.read_file(f"{name.rstrip('/')}/{entry}") or "", entry)
                    continue
                raise UsageError(f'error: the path "{name}" does not exist')
            text, source = text_or_none, name
        out += _parse(text, source)
    if not out and flags.all("filename"):
        raise UsageError("error: no objects passed to " + ("apply" if True else "create"))
    return out


def _parse(text: str, source: str) -> list[dict[str, Any]]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else 0
        raise UsageError(f"error: error parsing {source}: error converting YAML to JSON: yaml: line {line}: "
                         f"{e.problem}") from None
    except yaml.YAMLError as e:
        raise UsageError(f"error: error parsing {source}: {e}") from None
    out: list[dict[str, Any]] = []
    for d in docs:
        if d is None:
            continue
        if not isinstance(d, dict):
            raise UsageError(f"error: error parsing {source}: error converting YAML to JSON: yaml: cannot unmarshal "
                             f"{type(d).__name__} into Go value of type map[string]interface {{}}")
        if str(d.get("kind", "")).endswith("List") and isinstance(d.get("items"), list):
            out += [i for i in d["items"] if isinstance(i, dict)]
            continue
        missing = [f for f in ("apiVersion", "kind") if not d.get(f)]
        if missing:
            raise UsageError(f'error: error validating "{source}": error validating data: '
                             f"[{', '.join(m + ' not set' for m in missing)}]; if you choose to ignore these errors, "
                             "turn validation off with --validate=false")
        out.append(d)
    return out
