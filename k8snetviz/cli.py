"""The command line: ``k8snetviz trace|dns|ingress|policy|routes|iptables|nft|get|render|shell|lab|completion``.

Bad input gets one line on stderr naming what is wrong, and exit status 2; a packet that is
dropped, a name that does not resolve or an HTTP 404 is an answer, printed with exit status 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import typing
from collections.abc import Sequence
from typing import Any

from k8snetviz.errors import K8sNetVizError

__all__ = ["main", "build_parser", "one_line"]


# More warnings than this are summarised in one line that points to `inspect`.
MAX_WARNINGS = 3


def _load(args: argparse.Namespace, warn: bool = True) -> Any:
    import k8snetviz

    cluster = k8snetviz.load(args.scenario)
    if warn:
        # Said once the command has answered: a command that then fails prints its one line only.
        _PENDING.extend(warning_lines(cluster.warnings, args.scenario))
    return cluster


_PENDING: list[str] = []


def warning_lines(warnings: list[str], scenario: str) -> list[str]:
    """What the command line prints before an answer: each warning, or, past a few, two and a summary."""
    if len(warnings) <= MAX_WARNINGS:
        return [f"Warning: {w}" for w in warnings]
    return [f"Warning: {w}" for w in warnings[:MAX_WARNINGS - 1]] + [
        f"Warning: {len(warnings) - MAX_WARNINGS + 1} more warnings: see `k8snetviz inspect {scenario}`"]


def cmd_inspect(args: argparse.Namespace) -> int:
    cluster = _load(args, warn=False)
    result = cluster.inspect()
    _emit(result, args.json)
    return 0


def _emit(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.text() if hasattr(result, "text") else str(result))


def cmd_trace(args: argparse.Namespace) -> int:
    from k8snetviz.questions.ingress import parse_header

    headers: dict[str, str] = {}
    for text in args.header or []:
        name, value = parse_header(text)
        headers[name] = value
    cluster = _load(args)
    result = cluster.trace(args.src, args.to, endpoint=args.endpoint, protocol=args.protocol, method=args.method,
                           headers=headers or None)
    if args.why and not args.json:
        from k8snetviz.views.walktext import trace_text
        print(trace_text(result, why=True))
    else:
        _emit(result, args.json)
    return 0


def cmd_dns(args: argparse.Namespace) -> int:
    cluster = _load(args)
    _emit(cluster.resolve(args.pod, args.name, qtype=args.type), args.json)
    return 0


def cmd_ingress(args: argparse.Namespace) -> int:
    from k8snetviz.questions.ingress import parse_header

    headers = dict(parse_header(text) for text in args.header or [])
    cluster = _load(args)
    _emit(cluster.ingress(args.host, args.path, scheme=args.scheme, method=args.method or "GET",
                          headers=headers or None), args.json)
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    cluster = _load(args)
    _emit(cluster.policy(port=args.port, protocol=args.protocol), args.json)
    return 0


def cmd_routes(args: argparse.Namespace) -> int:
    cluster = _load(args)
    print(cluster.routes(args.target))
    return 0


def cmd_iptables(args: argparse.Namespace) -> int:
    cluster = _load(args)
    print(cluster.iptables(args.node), end="")
    return 0


def cmd_nft(args: argparse.Namespace) -> int:
    cluster = _load(args)
    print(cluster.nft(args.node), end="")
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    cluster = _load(args)
    if args.output not in (None, "wide"):
        raise K8sNetVizError(f'error: unable to match a printer suitable for the output format "{args.output}", '
                             'allowed formats are: wide')
    print(cluster.get(args.resource, namespace=args.namespace, all_namespaces=args.all_namespaces,
                      wide=args.output == "wide"))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from k8snetviz.views.dot import cluster_dot
    from k8snetviz.views.render import save

    cluster = _load(args)
    result = None
    if args.src or args.to:
        if not (args.src and args.to):
            raise K8sNetVizError("render: --from and --to go together")
        result = cluster.trace(args.src, args.to)
    save(cluster_dot(cluster, result), args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    from k8snetviz.course.shell.tty import run_shell

    return run_shell(args.scenario, sys.stdin, sys.stdout)


def cmd_lab(args: argparse.Namespace) -> int:
    from k8snetviz.lab.cli import run_lab

    return run_lab(args.action, args.scenario)


def cmd_completion(args: argparse.Namespace) -> int:
    from k8snetviz import __version__, shipped_scenarios
    from k8snetviz.completion import script

    print(script(args.shell, build_parser(), shipped_scenarios(), __version__), end="")
    return 0


# `k8snetviz --help` ends with examples and the scenarios that ship with the package.
EPILOG = """\
examples:
  k8snetviz trace two-node-bridge --from default/client --to default/web:80
  k8snetviz trace kind-default --from default/client --to svc/default/web:80 --json
  k8snetviz dns dns --from app/client db.data
  k8snetviz get kind-default pods -A -o wide
  k8snetviz routes kind-default node/kind-worker
  k8snetviz render two-node-bridge --from default/client --to default/web:80 -o walk.svg
  k8snetviz trace my-cluster.yaml --from default/client --to svc/default/web:80   # your own dump

shipped scenarios (use the name instead of a path):
{scenarios}

'k8snetviz COMMAND --help' describes a command. Shell completion:
  bash: k8snetviz completion bash > ~/.local/share/bash-completion/completions/k8snetviz
  zsh:  k8snetviz completion zsh > ~/.zfunc/_k8snetviz   (with fpath+=(~/.zfunc) before compinit in ~/.zshrc)
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (the contract: one line, exit status 2) that points to --help."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from k8snetviz import __version__, shipped_scenarios

    names = "\n".join(textwrap.wrap(", ".join(shipped_scenarios()), 100, break_on_hyphens=False, initial_indent="  ",
                                    subsequent_indent="  "))
    p = _Parser(prog="k8snetviz", description="See how a packet crosses a Kubernetes cluster.",
                                epilog=EPILOG.format(scenarios=names),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, fn: Any, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("scenario", metavar="SCENARIO", help="a scenario file, or the name of a shipped scenario")
        sp.set_defaults(fn=fn)
        return sp

    t = command("trace", cmd_trace, "walk one packet from a source to a destination")
    t.add_argument("--from", dest="src", required=True, metavar="SRC",
                   help="pod/NS/NAME, NS/NAME, node/NAME, external or external/IP")
    t.add_argument("--to", required=True, metavar="DST",
                   help="pod/NS/NAME:PORT, svc/NS/NAME:PORT, IP:PORT, node/NAME:PORT, NAME:PORT or http://HOST/PATH")
    t.add_argument("--endpoint", metavar="POD", help="the endpoint kube-proxy picks (pod/NS/NAME or NS/NAME)")
    t.add_argument("--protocol", default="TCP", type=str.upper, choices=["TCP", "UDP", "SCTP", "ICMP"])
    t.add_argument("--method", metavar="M", help="the HTTP request's method (with an http:// destination; GET)")
    t.add_argument("--header", action="append", metavar="'K: V'",
                   help="an HTTP request header, as curl -H takes it (repeatable)")
    t.add_argument("--json", action="store_true", help="print the result as JSON")
    t.add_argument("--why", action="store_true",
                   help="open each hop's decision to its why-chain: the row, who wrote it, for which object, why")

    d = command("dns", cmd_dns, "resolve a name as a pod's resolver would")
    d.add_argument("--from", dest="pod", required=True, metavar="POD")
    d.add_argument("name", metavar="NAME")
    d.add_argument("--type", default="A", type=str.upper, choices=["A", "AAAA", "SRV", "PTR", "CNAME"])
    d.add_argument("--json", action="store_true")

    i = command("ingress", cmd_ingress, "which backend an Ingress sends a request to")
    i.add_argument("--host", required=True)
    i.add_argument("--path", required=True)
    i.add_argument("--scheme", default="http", choices=["http", "https"],
                   help="the request's scheme (https: TLS at the controller; http may be redirected, 308)")
    i.add_argument("--method", metavar="M", help="the HTTP request's method (GET)")
    i.add_argument("--header", action="append", metavar="'K: V'",
                   help="an HTTP request header, as curl -H takes it (repeatable)")
    i.add_argument("--json", action="store_true")

    pol = command("policy", cmd_policy, "the NetworkPolicy reachability matrix")
    pol.add_argument("--port", type=int, default=80)
    pol.add_argument("--protocol", default="TCP", type=str.upper, choices=["TCP", "UDP", "SCTP"])
    pol.add_argument("--json", action="store_true")

    r = command("routes", cmd_routes, "a node's or pod's routing table, as `ip route` prints it")
    r.add_argument("target", metavar="TARGET", help="node/NAME or pod/NS/NAME")

    ipt = command("iptables", cmd_iptables, "a node's iptables rules, as `iptables-save` prints them")
    ipt.add_argument("node", metavar="NODE")

    nf = command("nft", cmd_nft, "a node's nftables tables (kube-proxy's nftables mode), as `nft list ruleset` "
                                 "prints them")
    nf.add_argument("node", metavar="NODE")

    g = command("get", cmd_get, "kubectl get, for the scenario's objects")
    g.add_argument("resource", metavar="RESOURCE")
    g.add_argument("-n", "--namespace")
    g.add_argument("-A", "--all-namespaces", action="store_true")
    g.add_argument("-o", "--output")

    rd = command("render", cmd_render, "draw the cluster (and a trace) with Graphviz")
    rd.add_argument("--from", dest="src", metavar="SRC")
    rd.add_argument("--to", metavar="DST")
    rd.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.svg, FILE.png or FILE.dot")

    ins = command("inspect", cmd_inspect, "what was found in the scenario, inferred, approximated and ignored")
    ins.add_argument("--json", action="store_true", help="print the result as JSON")

    command("shell", cmd_shell, "a terminal on the simulated cluster: kubectl, ssh NODE, ip, iptables, nslookup, …")

    lab = sub.add_parser("lab", help="build the scenario in real network namespaces (needs root)")
    lab.add_argument("action", choices=["up", "verify", "down"])
    lab.add_argument("scenario", metavar="SCENARIO")
    lab.set_defaults(fn=cmd_lab)

    comp = sub.add_parser("completion", help="print a shell completion script (see the end of --help)",
                          description="Print a completion script for SHELL on standard output.")
    comp.add_argument("shell", choices=["bash", "zsh"], metavar="SHELL", help="bash or zsh")
    comp.set_defaults(fn=cmd_completion)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _PENDING.clear()
    try:
        code = int(args.fn(args))
        for line in _PENDING:
            print(line, file=sys.stderr)
        return code
    except K8sNetVizError as e:
        print(one_line(e), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("k8snetviz: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("k8snetviz: out of memory: the scenario is too large to model on this machine", file=sys.stderr)
        return 2
    except RecursionError:
        print("k8snetviz: the input is nested too deeply to model", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001  (a bug: still one line, never a traceback; the fuzz test hunts these)
        print(f"k8snetviz: internal error (a bug in k8snetviz, please report it): {type(e).__name__}: "
              f"{one_line(e).removeprefix('k8snetviz: ')[:300]}", file=sys.stderr)
        return 2


def one_line(error: BaseException) -> str:
    """The message of an error as the command line prints it: one line, prefixed unless it speaks for itself."""
    text = str(error)
    if "\n" in text or "\r" in text:
        text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return text if text.startswith(("error:", "The ", "Error")) else f"k8snetviz: {text}"


if __name__ == "__main__":
    sys.exit(main())
