"""The three patch types of ``kubectl patch``: JSON merge patch (RFC 7386), strategic merge patch (lists of
containers, ports, env merged by their keys) and JSON patch (RFC 6902).

>>> svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "web"}}}
>>> merge_patch(svc, {"spec": {"selector": {"app": "api"}}})["spec"]["selector"]
{'app': 'api'}
>>> strategic_patch(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}})["spec"]["ports"]
[{'port': 80, 'targetPort': 9090}]
>>> json_patch(svc, [{"op": "replace", "path": "/spec/ports/0/targetPort", "value": 80}])["spec"]["ports"][0]
{'port': 80, 'targetPort': 80}
"""

from __future__ import annotations

import copy
from typing import Any

from k8snetviz.errors import UsageError

__all__ = ["merge_patch", "strategic_patch", "json_patch", "MERGE_KEYS"]

# patchMergeKey of the lists a strategic merge patch merges (k8s.io/api types); other lists are replaced.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
              "volumes": "name", "volumeMounts": "mountPath", "imagePullSecrets": "name", "hostAliases": "ip",
              "conditions": "type", "ownerReferences": "uid", "finalizers": None}
_PORT_KEYS = {"containers": "containerPort", "spec": "port"}  # the parent of `ports` decides its key


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_patch(target: Any, patch: Any, parent: str = "") -> Any:
    """A strategic merge patch: like a merge patch, but lists with a merge key merge item by item
    (``$patch: delete`` in an item removes it; ``$retainKeys`` and directives other than delete are ignored)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
            continue
        key = MERGE_KEYS.get(k, "") if k != "ports" else _PORT_KEYS.get(parent, "containerPort")
        if isinstance(v, list) and key and isinstance(out.get(k), list):
            merged = [copy.deepcopy(x) for x in out[k]]
            for item in v:
                if not isinstance(item, dict) or key not in item:
                    merged.append(copy.deepcopy(item))
                    continue
                idx = next((i for i, x in enumerate(merged) if isinstance(x, dict) and x.get(key) == item[key]), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        merged.pop(idx)
                    continue
                if idx is None:
                    merged.append(strategic_patch({}, item, k))
                else:
                    merged[idx] = strategic_patch(merged[idx], item, k)
            out[k] = merged
        else:
            out[k] = strategic_patch(out.get(k), v, k) if isinstance(v, dict) else copy.deepcopy(v)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise UsageError(f'The request is invalid: the server rejected our request due to an error in our request '
                         f'(add operation does not apply: doc is missing path: "{path}")')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], path: str, op: str) -> tuple[Any, str]:
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, list):
            if not p.isdigit() or int(p) >= len(cur):
                raise _missing(op, path)
            cur = cur[int(p)]
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            raise _missing(op, path)
    return cur, parts[-1]


def _missing(op: str, path: str) -> UsageError:
    return UsageError(f'The request is invalid: the server rejected our request due to an error in our request '
                      f'({op} operation does not apply: doc is missing path: "{path}")')


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 operations: add, remove, replace, move, copy, test."""
    if not isinstance(ops, list):
        raise UsageError("error: unable to parse \"...\": json: cannot unmarshal object into Go value of type "
                         "jsonpatch.Patch")
    doc = copy.deepcopy(target)
    for op in ops:
        kind, path = op.get("op"), str(op.get("path", ""))
        parts = _pointer(path)
        if not parts:
            if kind in ("add", "replace"):
                doc = copy.deepcopy(op.get("value"))
                continue
            raise _missing(str(kind), path)
        parent, last = _walk(doc, parts, path, str(kind))
        if kind in ("add", "replace", "test"):
            value = copy.deepcopy(op.get("value"))
            if isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif last.isdigit() and int(last) <= len(parent):
                    if kind == "add":
                        parent.insert(int(last), value)
                    elif kind == "test":
                        if int(last) >= len(parent) or parent[int(last)] != value:
                            raise UsageError("error: Testing value failed")
                    elif int(last) < len(parent):
                        parent[int(last)] = value
                    else:
                        raise _missing(str(kind), path)
                else:
                    raise _missing(str(kind), path)
            elif isinstance(parent, dict):
                if kind == "replace" and last not in parent:
                    raise _missing("replace", path)
                if kind == "test":
                    if parent.get(last) != value:
                        raise UsageError("error: Testing value failed")
                else:
                    parent[last] = value
            else:
                raise _missing(str(kind), path)
        elif kind == "remove":
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                parent.pop(int(last))
            elif isinstance(parent, dict) and last in parent:
                del parent[last]
            else:
                raise _missing("remove", path)
        elif kind in ("move", "copy"):
            src = str(op.get("from", ""))
            sp, sl = _walk(doc, _pointer(src), src, str(kind))
            value = sp[int(sl)] if isinstance(sp, list) else sp.get(sl)
            if kind == "move":
                if isinstance(sp, list):
                    sp.pop(int(sl))
                else:
                    del sp[sl]
            parent, last = _walk(doc, parts, path, str(kind))
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(value))
            else:
                parent[last] = copy.deepcopy(value)
        else:
            raise UsageError(f'error: unexpected kind of operation: "{kind}"')
    return doc
