"""kubectl's command line: flags (``-n NS``, ``--namespace=NS``, ``-ojson``, ``-it``), arguments, ``--``,
and the resource arguments (``pods``, ``svc,ep``, ``pod/web``, ``deploy web db``).

>>> f = parse_flags(["get", "pods", "-n", "kube-system", "-owide", "--show-labels"])
>>> f.args, f.get("namespace"), f.get("output"), f.has("show-labels")
(['get', 'pods'], 'kube-system', 'wide', True)
>>> parse_flags(["exec", "-it", "web", "--", "sh", "-c", "ls"]).command
['sh', '-c', 'ls']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from k8snetviz.api.discovery import ResourceType, resource_type
from k8snetviz.errors import UsageError

__all__ = ["Flags", "parse_flags", "ResourceArg", "resource_args", "FlagError", "plural_group"]

# Long flags that take a value (kubectl's, for the commands the simulator answers).
VALUE_FLAGS = frozenset("""
namespace output selector field-selector sort-by context cluster user kubeconfig filename image port target-port
name protocol type replicas label-columns labels restart env grace-period timeout container tail since since-time
patch for cluster-ip external-ip node-port tcp udp class rule default-backend annotation cert key from-literal
from-file from-env-file image-pull-policy requests limits session-affinity load-balancer-ip schedule serviceaccount
as as-group verb resource clusterrole role group current-replicas field-manager overrides chunk-size template
limit-bytes max-log-requests pod-running-timeout address subresource api-group profile target copy-to
generator request-timeout server token certificate-authority client-certificate client-key v vmodule
raw docker-server docker-username docker-password docker-email attach-timeout cascade wait-for
output-version allow-missing-template-keys show-managed-fields selector-columns filename-pattern
completion-mode parallelism completions active-deadline-seconds restart-policy privileged
environment external-name min max cpu-percent duration hard min-available max-unavailable value description
resource-name revision to-revision
""".split())

SHORT = {"n": "namespace", "o": "output", "l": "selector", "f": "filename", "L": "label-columns", "c": "container",
         "p": "patch", "A": "all-namespaces", "w": "watch", "i": "stdin", "t": "tty", "R": "recursive", "q": "quiet",
         "h": "help", "k": "kustomize", "v": "v"}
BOOL_SHORT = frozenset("Aw itRqh".replace(" ", ""))


class FlagError(UsageError):
    """A flag kubectl does not know or that misses its value."""


@dataclass
class Flags:
    values: dict[str, list[str]] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    dash: bool = False  # a `--` was given

    def get(self, name: str, default: str | None = None) -> str | None:
        vals = self.values.get(name)
        return vals[-1] if vals else default

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def has(self, name: str) -> bool:
        if name not in self.values:
            return False
        v = self.values[name][-1]
        return v.lower() not in ("false", "0")

    def set(self, name: str, value: str = "true") -> None:
        self.values.setdefault(name, []).append(value)


def parse_flags(words: list[str], *, short: dict[str, str] | None = None, bool_short: frozenset[str] | None = None,
                value_flags: frozenset[str] | None = None) -> Flags:
    """Split kubectl's words into flags, positional arguments and the command after ``--``."""
    shorts = {**SHORT, **(short or {})}
    bools = bool_short if bool_short is not None else BOOL_SHORT
    takes = VALUE_FLAGS | (value_flags or frozenset())
    f = Flags()
    i = 0
    while i < len(words):
        w = words[i]
        if w == "--":
            f.dash = True
            f.command = words[i + 1:]
            break
        if w.startswith("--") and len(w) > 2:
            name, eq, value = w[2:].partition("=")
            if eq:
                f.set(name, value)
            elif name in takes and not (name == "dry-run"):
                if i + 1 >= len(words):
                    raise FlagError(f"error: flag needs an argument: --{name}")
                f.set(name, words[i + 1])
                i += 1
            else:
                f.set(name)
        elif w.startswith("-") and len(w) > 1 and not w[1:].lstrip("-").isdigit():
            letters = w[1:]
            j = 0
            while j < len(letters):
                ch = letters[j]
                long = shorts.get(ch)
                if long is None:
                    raise FlagError(f"error: unknown shorthand flag: '{ch}' in {w}")
                if ch in bools or long not in takes:
                    f.set(long)
                    j += 1
                    continue
                rest = letters[j + 1:]
                if rest.startswith("="):
                    rest = rest[1:]
                if rest:
                    f.set(long, rest)
                else:
                    if i + 1 >= len(words):
                        raise FlagError(f"error: flag needs an argument: '{ch}' in -{ch}")
                    f.set(long, words[i + 1])
                    i += 1
                break
        else:
            f.args.append(w)
        i += 1
    return f


@dataclass
class ResourceArg:
    type: ResourceType
    names: list[str] = field(default_factory=list)


def plural_group(t: ResourceType) -> str:
    """How the API server names a resource in messages: ``pods``, ``deployments.apps``."""
    return f"{t.plural}.{t.group}" if t.group else t.plural


def _type(name: str) -> ResourceType:
    t = resource_type(name)
    if t is None:
        raise UsageError(f'error: the server doesn\'t have a resource type "{name}"')
    return t


def resource_args(args: list[str], *, allow_all: bool = True) -> list[ResourceArg]:
    """Read ``TYPE [NAME...]``, ``TYPE1,TYPE2``, ``TYPE/NAME ...`` (kubectl's resource builder)."""
    if not args:
        return []
    out: list[ResourceArg] = []
    if any("/" in a for a in args):
        for a in args:
            if "/" not in a:
                raise UsageError("error: there is no need to specify a resource type as a separate argument when "
                                 "passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' "
                                 "instead of 'kubectl get resource resource/<resource_name>'")
            tname, _, name = a.partition("/")
            t = _type(tname)
            prev = next((r for r in out if r.type == t), None)
            if prev is None:
                out.append(ResourceArg(t, [name]))
            else:
                prev.names.append(name)
        return out
    first, names = args[0], args[1:]
    for tname in first.split(","):
        if not tname:
            continue
        if tname == "all" and allow_all:
            from k8snetviz.api.discovery import type_of_kind
            from k8snetviz.views.kubectl_get import ALL_KINDS

            for kind in ALL_KINDS:
                found = type_of_kind(kind)
                if found is not None:
                    out.append(ResourceArg(found, list(names)))
            continue
        out.append(ResourceArg(_type(tname), list(names)))
    return out
