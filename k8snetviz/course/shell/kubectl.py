"""``kubectl`` (and ``k``): reading the cluster — get, describe, explain, api-resources, cluster-info, config,
version, logs, events, top, auth — and the entry to the commands that change it (:mod:`.kubectl_write`)
and run things in pods (:mod:`.kubectl_exec`).

Messages are kubectl's: ``Error from server (NotFound): services "x" not found``, ``error: the server
doesn't have a resource type "x"``, ``No resources found in default namespace.``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from k8snetviz.api.discovery import RESOURCE_TYPES, resource_type, type_of_kind
from k8snetviz.course.shell.base import Call, Result, not_available, suggest
from k8snetviz.course.shell.kubectl_core import (
    SUBCOMMANDS,
    find_objects,
    namespace_of,
    no_resources,
    not_found,
    resolve_pod,
    sub,
)
from k8snetviz.course.shell.kubeflags import FlagError, Flags, parse_flags, resource_args
from k8snetviz.course.shell.registry import command
from k8snetviz.errors import K8sNetVizError, UsageError
from k8snetviz.views import kubectl_get as kg

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session

__all__ = ["kubectl", "SUBCOMMANDS", "delete_temporary_pod", "namespace_of", "find_objects", "not_found"]

# kubectl's own subcommands the simulator does not answer: they exist, so a typo check must not flag them.
REAL_BUT_NOT_MODELLED = ("certificate", "attach", "cp", "proxy", "kustomize", "plugin", "alpha", "convert",
                         "completion", "diff")


@command("kubectl")
def kubectl(c: Call) -> Result:
    args = list(c.args)
    # Global flags may come before the subcommand: kubectl -n kube-system get pods.
    lead: list[str] = []
    while args and args[0].startswith("-") and args[0] != "--":
        lead.append(args.pop(0))
        if lead[-1] in ("-n", "--namespace", "--context", "--kubeconfig", "-v", "--cluster", "--user", "-s",
                        "--server") and args:
            lead.append(args.pop(0))
    if not args:
        if any(a in ("-h", "--help") for a in lead) or not lead:
            return Result.ok(_HELP)
        return Result.error("error: unknown command", 1)
    name, rest = args[0], args[1:]
    if name in ("--help", "help"):
        return Result.ok(_HELP)
    fn = SUBCOMMANDS.get(name)
    if fn is None:
        if name in REAL_BUT_NOT_MODELLED:
            return not_available(c.line)
        close = suggest(name, SUBCOMMANDS)
        hint = f"\n\nDid you mean this?\n\t{close}\n" if close else "\n"
        return Result.error(f'error: unknown command "{name}" for "kubectl"{hint}\nRun \'kubectl --help\' for usage.')
    words = lead + rest
    try:
        flags = _parse(name, words, c.stdin)
        if flags.has("help"):
            return Result.ok(f"(kubectl {name} --help: see https://kubernetes.io/docs/reference/kubectl/)")
        result = fn(c.session, flags)
    except FlagError as e:
        return Result.error(f"{e}\nSee 'kubectl {name} --help' for usage.")
    except K8sNetVizError as e:
        return Result.error(str(e))
    return result


def _parse(name: str, words: list[str], stdin: str | None) -> Flags:
    if name == "logs":
        f = parse_flags(words, short={"p": "previous", "f": "follow"}, bool_short=frozenset("Awitpfq"))
    elif name in ("exec", "run", "debug", "attach"):
        f = parse_flags(words)
    elif name == "patch":
        f = parse_flags(words)
    else:
        f = parse_flags(words)
    if stdin is not None:
        f.values["__stdin__"] = [stdin]
    return f


# --- namespaces and finding objects ----------------------------------------------------------------------

# --- get ---------------------------------------------------------------------------------------------------

@sub("get")
def get(s: Session, flags: Flags) -> Result:
    all_ns = flags.has("all-namespaces")
    ns = None if all_ns else namespace_of(s, flags)
    output = flags.get("output")
    if output == "":
        raise UsageError("error: flag needs an argument: 'o' in -o")
    files = flags.all("filename")
    if files:
        from k8snetviz.course.shell.manifests import read_manifests

        groups_f: list[tuple[str, list[dict[str, Any]]]] = []
        for body in read_manifests(s, flags):
            t = type_of_kind(str(body.get("kind", "")))
            if t is None:
                continue
            found, missing = find_objects(s, t, (body.get("metadata") or {}).get("namespace") or ns or "default",
                                          [str((body.get("metadata") or {}).get("name", ""))])
            if missing:
                raise not_found(t, missing[0])
            groups_f.append((t.kind, found))
        return _print(s, flags, groups_f, ns, single=len(groups_f) == 1, multi=len(groups_f) > 1)
    if not flags.args:
        return Result.error("You must specify the type of resource to get. Use \"kubectl api-resources\" for a "
                            "complete list of supported resources.\n\nerror: Required resource not specified.\n"
                            "Use \"kubectl explain <resource>\" for a detailed description of that resource (e.g. "
                            "kubectl explain pods).\nSee 'kubectl get -h' for help and examples")
    wanted = resource_args(flags.args)
    if any(r.names for r in wanted) and all_ns and not any("/" in a for a in flags.args):
        raise UsageError("error: a resource cannot be retrieved by name across all namespaces")
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    errors: list[str] = []
    for r in wanted:
        found, missing = find_objects(s, r.type, ns if r.type.namespaced else None, r.names, flags)
        groups.append((r.type.kind, found))
        errors += [str(not_found(r.type, m)) for m in missing]
    multi = len(wanted) > 1 or flags.args[0] == "all"
    if errors and not any(found for _, found in groups):
        return Result("", "".join(e + "\n" for e in errors), 1)
    single = len(wanted) == 1 and len(wanted[0].names) == 1 and "/" not in flags.args[0] or (
        len(flags.args) == 1 and "/" in flags.args[0])
    scoped = ns if any(r.type.namespaced for r in wanted) else None
    result = _print(s, flags, groups, scoped, single=single and not errors, multi=multi)
    if errors:
        result.err = "".join(e + "\n" for e in errors) + result.err
        result.status = 1
    warn = ""
    if any(k == "Endpoints" for k, _ in groups):
        from k8snetviz.views.kubectl_services import ENDPOINTS_DEPRECATION_WARNING

        warn = f"Warning: {ENDPOINTS_DEPRECATION_WARNING}\n"
    if any(k == "ComponentStatus" for k, _ in groups):
        warn += "Warning: v1 ComponentStatus is deprecated in v1.19+\n"
    result.err = warn + result.err
    return result


def _print(s: Session, flags: Flags, groups: list[tuple[str, list[dict[str, Any]]]], ns: str | None, *,
           single: bool, multi: bool) -> Result:
    output = flags.get("output")
    items = [o for _, found in groups for o in found]
    if any(k == "ComponentStatus" for k, _ in groups):
        text = "NAME                 STATUS    MESSAGE   ERROR\ncontroller-manager   Healthy   ok        \n" \
               "scheduler            Healthy   ok        \netcd-0               Healthy   ok        "
        return Result.ok(text)
    if output and output != "wide":
        if flags.get("sort-by"):
            items = kg.sort_items(items, flags.get("sort-by") or "")
        if not items and output.split("=")[0] not in ("yaml", "json"):
            return Result("", "" if single else no_resources(ns) + "\n")
        return Result.ok(kg.render_output(items, output, single=single))
    if not items:
        return Result("", no_resources(ns) + "\n")
    text = kg.render_table(s.cluster, groups, wide=output == "wide", all_namespaces=ns is None,
                           show_labels=flags.has("show-labels"),
                           label_columns=[k for v in flags.all("label-columns") for k in v.split(",")],
                           no_headers=flags.has("no-headers"), show_kind=multi, sort_by=flags.get("sort-by"))
    return Result.ok(text)


# --- describe ------------------------------------------------------------------------------------------

@sub("describe")
def describe(s: Session, flags: Flags) -> Result:
    from k8snetviz.views.kubectl_describe import describe_object

    all_ns = flags.has("all-namespaces")
    ns = None if all_ns else namespace_of(s, flags)
    if not flags.args:
        return Result.error("You must specify the type of resource to describe. Use \"kubectl api-resources\" for "
                            "a complete list of supported resources.\n\nerror: Required resource not specified.")
    wanted = resource_args(flags.args)
    out: list[str] = []
    errs: list[str] = []
    for r in wanted:
        if r.names:
            found = []
            for name in r.names:
                got, missing = find_objects(s, r.type, ns if r.type.namespaced else None, [name], flags)
                if missing:
                    # describe also takes a name prefix: kubectl describe pod web
                    items, _ = find_objects(s, r.type, ns if r.type.namespaced else None, [], flags)
                    got = [o for o in items if o["metadata"]["name"].startswith(name)]
                    if not got:
                        errs.append(str(not_found(r.type, name)))
                found += got
        else:
            found, _ = find_objects(s, r.type, ns if r.type.namespaced else None, [], flags)
        out += [describe_object(s.cluster, r.type.kind, o) for o in found]
    if not out and not errs:
        return Result("", no_resources(ns) + "\n")
    return Result("\n\n\n".join(out) + ("\n" if out else ""), "".join(e + "\n" for e in errs), 1 if errs else 0)


# --- information ---------------------------------------------------------------------------------------

@sub("api-resources")
def api_resources(s: Session, flags: Flags) -> Result:
    from k8snetviz.views.table import columns

    rows = []
    namespaced = flags.get("namespaced")
    group = flags.get("api-group")
    for t in RESOURCE_TYPES:
        if namespaced is not None and str(t.namespaced).lower() != namespaced.lower():
            continue
        if group is not None and t.group != group:
            continue
        rows.append([t.plural, ",".join(t.short), t.api_version, str(t.namespaced).lower(), t.kind])
    out = flags.get("output")
    if out == "name":
        return Result.ok("\n".join(f"{r[0]}.{t.group}" if t.group else r[0] for r, t in
                                   zip(rows, [resource_type(r[0]) for r in rows], strict=True) if t))
    if flags.has("no-headers"):
        rows_text = columns(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], rows)
        return Result.ok("\n".join(rows_text.splitlines()[1:]))
    return Result.ok(columns(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], rows))


@sub("api-versions")
def api_versions(s: Session, flags: Flags) -> Result:
    versions = sorted({t.api_version for t in RESOURCE_TYPES})
    return Result.ok("\n".join(versions))


@sub("cluster-info")
def cluster_info(s: Session, flags: Flags) -> Result:
    if flags.args[:1] == ["dump"]:
        return not_available("kubectl cluster-info dump", "kubectl get all -A and kubectl describe show the same")
    cp = next((n for n in s.cluster.nodes.values() if n.role == "control-plane"), None)
    host = "127.0.0.1:41235" if cp is None else "127.0.0.1:41235"
    text = f"\x1b[0;32mKubernetes control plane\x1b[0m is running at \x1b[0;33mhttps://{host}\x1b[0m"
    if any((b.get("metadata") or {}).get("name") == "kube-dns" for b in s.cluster.documents("Service")):
        text += (f"\n\x1b[0;32mCoreDNS\x1b[0m is running at \x1b[0;33mhttps://{host}/api/v1/namespaces/kube-system/"
                 "services/kube-dns:dns/proxy\x1b[0m")
    text += "\n\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'."
    return Result.ok(_strip_colour(text))


def _strip_colour(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@sub("version")
def version(s: Session, flags: Flags) -> Result:
    from k8snetviz.views.resources import KUBERNETES_VERSION

    client = f"Client Version: {KUBERNETES_VERSION}\nKustomize Version: v5.6.0"
    if flags.has("client"):
        return Result.ok(client)
    if flags.get("output") in ("json", "yaml"):
        info = {"clientVersion": {"gitVersion": KUBERNETES_VERSION, "major": "1", "minor": "33", "platform":
                                  "linux/amd64"},
                "kustomizeVersion": "v5.6.0",
                "serverVersion": {"gitVersion": KUBERNETES_VERSION, "major": "1", "minor": "33",
                                  "platform": "linux/amd64"}}
        return Result.ok(kg.to_json(info) if flags.get("output") == "json" else kg.to_yaml(info))
    return Result.ok(f"{client}\nServer Version: {KUBERNETES_VERSION}")


@sub("explain")
def explain(s: Session, flags: Flags) -> Result:
    from k8snetviz.views.explain import explain_text

    if not flags.args:
        return Result.error("error: You must specify the type of resource to explain. Use \"kubectl api-resources\" "
                            "for a complete list of supported resources.")
    return Result.ok(explain_text(flags.args[0], recursive=flags.has("recursive")))


@sub("config")
def config(s: Session, flags: Flags) -> Result:
    what = flags.args[:1]
    ctx = s.context
    user = f"kind-{s.cluster.config.name}"
    if what == ["current-context"]:
        return Result.ok(ctx)
    if what in (["get-contexts"], ["get-context"]):
        ns = "" if s.namespace == "default" else s.namespace
        if flags.get("output") == "name":
            return Result.ok(ctx)
        return Result.ok(kg.columns(["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"],
                                    [["*", ctx, user, user, ns]]))
    if what == ["get-clusters"]:
        return Result.ok(f"NAME\n{user}")
    if what == ["get-users"]:
        return Result.ok(f"NAME\n{user}")
    if what == ["use-context"] or what == ["use"]:
        if len(flags.args) < 2:
            return Result.error("error: Unexpected args: []\nSee 'kubectl config use-context -h' for help and examples")
        # Every context of an exam terminal points at a cluster; here they all point at this one.
        s.context = str(flags.args[1])
        return Result.ok(f'Switched to context "{flags.args[1]}".')
    if what == ["set-context"]:
        new_ns = flags.get("namespace")
        if new_ns is not None:
            s.namespace = new_ns
        name = "current" if flags.has("current") else (flags.args[1] if len(flags.args) > 1 else ctx)
        return Result.ok(f'Context "{ctx if name == "current" else name}" modified.')
    if what == ["view"]:
        ns = f"\n    namespace: {s.namespace}" if s.namespace != "default" else ""
        return Result.ok(f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: DATA+OMITTED
    server: https://127.0.0.1:41235
  name: {user}
contexts:
- context:
    cluster: {user}{ns}
    user: {user}
  name: {ctx}
current-context: {ctx}
kind: Config
preferences: {{}}
users:
- name: {user}
  user:
    client-certificate-data: DATA+OMITTED
    client-key-data: DATA+OMITTED""")
    return not_available("kubectl config " + " ".join(flags.args))


@sub("top")
def top(s: Session, flags: Flags) -> Result:
    return Result.error("error: Metrics API not available")


@sub("auth")
def auth(s: Session, flags: Flags) -> Result:
    if flags.args[:1] == ["can-i"]:
        if flags.has("list"):
            return Result.ok("Resources   Non-Resource URLs   Resource Names   Verbs\n"
                             "*.*         []                  []"
                             "               [*]\n            [*]                 []               [*]")
        return Result.ok("yes")
    if flags.args[:1] == ["whoami"]:
        return Result.ok("ATTRIBUTE                                           VALUE\nUsername                         "
                         "                   kubernetes-admin\nGroups                                              "
                         "[kubeadm:cluster-admins system:authenticated]")
    return not_available("kubectl auth " + " ".join(flags.args))


@sub("events")
def events(s: Session, flags: Flags) -> Result:
    from k8snetviz.views.kubectl_describe import events_table

    ns = None if flags.has("all-namespaces") else namespace_of(s, flags)
    text = events_table(s.cluster, ns)
    return Result.ok(text) if text else Result("", no_resources(ns) + "\n")


@sub("logs")
def logs(s: Session, flags: Flags) -> Result:
    from k8snetviz.views.logs import pod_logs

    ns = namespace_of(s, flags)
    pods = []
    if flags.get("selector"):
        items, _ = find_objects(s, resource_type("pods"), ns, [], flags)  # type: ignore[arg-type]
        pods = [s.cluster.pods[f"{o['metadata']['namespace']}/{o['metadata']['name']}"] for o in items]
        if not pods:
            return Result("", no_resources(ns) + "\n")
    elif not flags.args:
        return Result.error("error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is "
                            "a required argument for the logs command\nSee 'kubectl logs -h' for help and examples")
    else:
        pods = [resolve_pod(s, flags.args[0], ns)]
    tail = flags.get("tail")
    out = []
    for p in pods:
        text = pod_logs(s.cluster, p, container=flags.get("container"))
        lines = text.splitlines()
        if tail is not None and tail.lstrip("-").isdigit() and int(tail) >= 0:
            lines = lines[-int(tail):] if int(tail) else []
        if flags.has("prefix"):
            lines = [f"[pod/{p.name}/{p.raw.get('spec', {}).get('containers', [{}])[0].get('name', '')}] {ln}"
                     for ln in lines]
        out += lines
    return Result.ok("\n".join(out))


def delete_temporary_pod(s: Session, place: Any) -> Result:
    """Leaving a ``kubectl run --rm -it`` shell: kubectl deletes the pod."""
    from k8snetviz.course.shell.state import ObjectKey

    ns, _, name = place.name.partition("/")
    try:
        s.state.change(delete=[ObjectKey("Pod", ns, name)])
    except K8sNetVizError:
        pass
    return Result.ok(f'pod "{name}" deleted from {ns} namespace' if ns != "default" else f'pod "{name}" deleted')


_HELP = """kubectl controls the Kubernetes cluster manager.

 Find more information at: https://kubernetes.io/docs/reference/kubectl/

Basic Commands (Beginner):
  create          Create a resource from a file or from stdin
  expose          Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service
  run             Run a particular image on the cluster
  set             Set specific features on objects

Basic Commands (Intermediate):
  explain         Get documentation for a resource
  get             Display one or many resources
  edit            Edit a resource on the server
  delete          Delete resources by file names, stdin, resources and names, or by resources and label selector

Deploy Commands:
  rollout         Manage the rollout of a resource
  scale           Set a new size for a deployment, replica set, or replication controller

Cluster Management Commands:
  cluster-info    Display cluster information
  top             Display resource (CPU/memory) usage
  cordon          Mark node as unschedulable
  uncordon        Mark node as schedulable
  drain           Drain node in preparation for maintenance
  taint           Update the taints on one or more nodes

Troubleshooting and Debugging Commands:
  describe        Show details of a specific resource or group of resources
  logs            Print the logs for a container in a pod
  exec            Execute a command in a container
  port-forward    Forward one or more local ports to a pod
  debug           Create debugging sessions for troubleshooting workloads and nodes
  events          List events

Advanced Commands:
  apply           Apply a configuration to a resource by file name or stdin
  patch           Update fields of a resource
  replace         Replace a resource by file name or stdin
  wait            Experimental: Wait for a specific condition on one or many resources

Settings Commands:
  label           Update the labels on a resource
  annotate        Update the annotations on a resource

Other Commands:
  api-resources   Print the supported API resources on the server
  api-versions    Print the supported API versions on the server, in the form of "group/version"
  config          Modify kubeconfig files
  version         Print the client and server version information

Usage:
  kubectl [flags] [options]"""
