"""Running things in pods: ``kubectl exec``, ``kubectl run`` (with ``--rm -it … -- CMD``), ``kubectl debug``,
``kubectl port-forward``.

A command given after ``--`` runs in the pod (its network namespace, its resolver) and its output is
printed; ``-it`` with a shell (``sh``, ``bash``) and no command opens the pod's shell in the terminal,
until ``exit``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from k8snetviz.course.shell.base import Place, Result
from k8snetviz.course.shell.kubectl_core import namespace_of, resolve_pod, sub
from k8snetviz.course.shell.kubectl_write import _dry_run, _show, commit, store
from k8snetviz.course.shell.kubeflags import Flags
from k8snetviz.course.shell.state import ObjectKey
from k8snetviz.errors import UsageError

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session

__all__: list[str] = []

SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash", "ash", "/bin/ash", "zsh", "/bin/zsh")


def run_in_pod(s: Session, pod: Any, command: list[str], stdin: str | None = None) -> Result:
    """Run ``command`` inside ``pod`` and come back."""
    if command and command[0] in SHELLS and len(command) >= 3 and command[1] == "-c":
        from k8snetviz.course.shell.lexer import parse_line

        s.places.append(Place("pod", pod.key, image=" ".join(pod.images)))
        try:
            return s._list(parse_line(command[2], s.env, s._substitute), None)
        finally:
            s.places.pop()
    s.places.append(Place("pod", pod.key, image=" ".join(pod.images)))
    try:
        if command and command[0].startswith("/") and command[0].rsplit("/", 1)[-1] in (
                "nslookup", "curl", "wget", "cat", "ip", "ping", "dig", "nc", "hostname", "env", "ls", "ps"):
            command = [command[0].rsplit("/", 1)[-1], *command[1:]]
        r = s.dispatch(command, stdin)
        if r.status == 127 and "not available in this simulator" not in r.err:
            r = Result.error(f'error: Internal error occurred: Internal error occurred: error executing command in '
                             f'container: failed to exec in container: failed to start exec: OCI runtime exec failed: '
                             f'exec failed: unable to start container process: exec: "{command[0]}": executable file '
                             f'not found in $PATH: unknown', 1)
        return r
    finally:
        s.places.pop()


@sub("exec")
def exec_(s: Session, flags: Flags) -> Result:
    ns = namespace_of(s, flags)
    if not flags.args:
        return Result.error("error: you must specify at least one command for the container\nSee 'kubectl exec -h' "
                            "for help and examples")
    if not flags.dash and len(flags.args) > 1:
        return Result.error("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] "
                            "instead\nSee 'kubectl exec -h' for help and examples")
    pod = resolve_pod(s, flags.args[0], ns)
    if not flags.command:
        return Result.error("error: you must specify at least one command for the container")
    if pod.phase != "Running":
        return Result.error(f"error: unable to upgrade connection: container not found (\"{pod.name}\")")
    container = flags.get("container")
    names = [str(c.get("name", "")) for c in (pod.raw.get("spec") or {}).get("containers") or []]
    if container is not None and container not in names:
        return Result.error(f'Error from server (BadRequest): container {container} is not valid for pod {pod.name}')
    note = ""
    if container is None and len(names) > 1:
        note = f'Defaulted container "{names[0]}" out of: {", ".join(names)}\n'
    interactive = flags.has("stdin") and flags.has("tty")
    if interactive and flags.command[0] in SHELLS and len(flags.command) == 1:
        s.enter(Place("pod", pod.key, image=" ".join(pod.images)))
        return Result("", note)
    r = run_in_pod(s, pod, flags.command, None)
    r.err = note + r.err
    if r.status and "not available in this simulator" not in r.err and "executable file not found" not in r.err:
        r.late += f"command terminated with exit code {r.status}\n"
    return r


@sub("run")
def run(s: Session, flags: Flags) -> Result:
    ns = namespace_of(s, flags)
    if not flags.args:
        return Result.error("error: NAME is required for run\nSee 'kubectl run -h' for help and examples")
    name = flags.args[0]
    image = flags.get("image")
    if not image:
        return Result.error("error: required flag(s) \"image\" not set")
    restart = flags.get("restart") or "Always"
    if restart not in ("Always", "OnFailure", "Never"):
        return Result.error(f"error: invalid restart policy: {restart}")
    labels = {"run": name}
    if flags.get("labels"):
        labels = dict(p.split("=", 1) for p in (flags.get("labels") or "").split(",") if "=" in p)
    container: dict[str, Any] = {"image": image, "name": name, "resources": {}}
    if flags.command:
        container["command" if flags.has("command") else "args"] = list(flags.command)
    if flags.get("port"):
        container["ports"] = [{"containerPort": int(flags.get("port") or 0)}]
    env = [e for e in flags.all("env")]
    if env:
        container["env"] = [{"name": k, "value": v} for e in env for k, _, v in [e.partition("=")]]
    if flags.get("image-pull-policy"):
        container["imagePullPolicy"] = flags.get("image-pull-policy")
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"creationTimestamp": None, "labels": labels, "name": name},
                            "spec": {"containers": [container], "dnsPolicy": "ClusterFirst", "restartPolicy": restart},
                            "status": {}}
    if flags.get("overrides"):
        import json

        from k8snetviz.course.shell.patching import merge_patch

        try:
            body = merge_patch(body, json.loads(flags.get("overrides") or "{}"))
        except ValueError:
            return Result.error("error: Invalid JSON Patch")
    attach = flags.has("stdin") or flags.has("attach")
    rm = flags.has("rm")
    if rm and not attach:
        return Result.error("error: --rm should only be used for attached containers")
    if _dry_run(flags):
        t_result = _show(s, flags, body, "created", _pod_type())
        return t_result
    stored = copy.deepcopy(body)
    stored["metadata"].pop("creationTimestamp", None)
    stored["metadata"]["namespace"] = ns
    stored.pop("status", None)
    store(s, stored, mode="create")
    out: list[str] = []
    if flags.has("expose"):
        if not flags.get("port"):
            return Result.error("error: --port must be set when exposing a service")
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
               "spec": {"ports": [{"port": int(flags.get("port") or 0), "protocol": "TCP",
                                   "targetPort": int(flags.get("port") or 0)}], "selector": labels}}
        store(s, svc, mode="create")
        out.append(f"service/{name} created")
    if not attach:
        out.append(f"pod/{name} created")
        return Result.ok("\n".join(out))
    pod = s.cluster.pods[f"{ns}/{name}"]
    command = flags.command
    if not command or (len(command) == 1 and command[0] in SHELLS):
        # An interactive shell in the new pod; with --rm, kubectl deletes it when the shell exits.
        s.enter(Place("pod", pod.key, temporary=rm, image=image))
        return Result("", "If you don't see a command prompt, try pressing enter.\n")
    r = run_in_pod(s, pod, command if not flags.has("command") else command)
    if rm:
        commit(s, delete=[ObjectKey("Pod", ns, name)])
        tail = f'pod "{name}" deleted' + ("" if ns == s.namespace else f" from {ns} namespace")
        r.out = r.out + ("" if r.out.endswith("\n") or not r.out else "\n") + tail + "\n"
    if r.status and rm:
        r.err += f"pod {ns}/{name} terminated (Error)\n"
    return r


def _pod_type() -> Any:
    from k8snetviz.api.discovery import type_of_kind

    return type_of_kind("Pod")


@sub("debug")
def debug(s: Session, flags: Flags) -> Result:
    ns = namespace_of(s, flags)
    if not flags.args:
        return Result.error("error: you must specify a resource: a pod or node/NAME")
    target = flags.args[0]
    image = flags.get("image") or "busybox"
    if target.startswith(("node/", "nodes/", "no/")):
        node = target.split("/", 1)[1]
        if node not in s.cluster.nodes:
            raise UsageError(f'Error from server (NotFound): nodes "{node}" not found')
        from k8snetviz.agents.controllers import name_suffix

        pod_name = f"node-debugger-{node}-{name_suffix(node + image)}"
        head = f"Creating debugging pod {pod_name} with container debugger on node {node}.\n"
        if flags.command:
            s.places.append(Place("node", node))
            try:
                r = s.dispatch(flags.command)
            finally:
                s.places.pop()
            r.err = head + r.err
            return r
        # The debugging pod runs in the node's namespaces: its shell is the node's (host files under /host).
        s.enter(Place("node", node))
        return Result("", head + "If you don't see a command prompt, try pressing enter.\n")
    pod = resolve_pod(s, target, ns)
    head = "Defaulting debug container name to debugger-x7k2p.\n"
    if flags.command:
        r = run_in_pod(s, pod, flags.command)
        r.err = head + r.err
        return r
    s.enter(Place("pod", pod.key, image=image))
    return Result("", head + "If you don't see a command prompt, try pressing enter.\n")


@sub("port-forward")
def port_forward(s: Session, flags: Flags) -> Result:
    ns = namespace_of(s, flags)
    if len(flags.args) < 2:
        return Result.error("error: TYPE/NAME and list of ports are required for port-forward")
    pod = resolve_pod(s, flags.args[0], ns)
    lines = []
    for spec in flags.args[1:]:
        local, _, remote = spec.partition(":")
        remote = remote or local
        if flags.args[0].startswith(("svc/", "service/", "services/")):
            svc_name = flags.args[0].split("/", 1)[1]
            svc = s.cluster.services.get(f"{ns}/{svc_name}")
            if svc is not None:
                port = next((p for p in svc.ports if str(p.port) == remote), None)
                if port is not None and isinstance(port.target_port, int):
                    remote = str(port.target_port)
        addr = "127.0.0.1"
        lines += [f"Forwarding from {addr}:{local or remote} -> {remote}",
                  f"Forwarding from [::1]:{local or remote} -> {remote}"]
        s.forwards[int(local or remote)] = (pod.key, int(remote))
    return Result.ok("\n".join(lines))


@sub("attach")
def attach(s: Session, flags: Flags) -> Result:
    ns = namespace_of(s, flags)
    if not flags.args:
        return Result.error("error: expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw 0")
    pod = resolve_pod(s, flags.args[0], ns)
    return Result("", f"If you don't see a command prompt, try pressing enter.\nerror: unable to upgrade connection: "
                  f"container {pod.name} not found\n", 1)
