"""A terminal on a simulated cluster: type the exam's commands, see what the real tools print.

A :class:`Session` keeps what a terminal keeps: where you are (the control-plane node it starts on, as on
the exam's hosts; another node after ``ssh``; a pod after ``kubectl exec -it``), your shell variables and
aliases, the files you wrote, and the cluster as your commands changed it
(:mod:`k8snetviz.course.shell.state`). ``k8snetviz shell``, the notebook
terminal and :func:`k8snetviz.course.run` all drive it.

>>> s = Session("two-node-bridge")
>>> print(s.run("kubectl get nodes").output)
NAME     STATUS   ROLES           AGE   VERSION
node-a   Ready    control-plane   5m    v1.33.1
node-b   Ready    <none>          5m    v1.33.1
>>> s.prompt
'root@node-a:~#'
>>> _ = s.run("ssh node-b")
>>> print(s.run("sysctl net.ipv4.ip_forward").output)
net.ipv4.ip_forward = 1
>>> print(s.run("kubeclt get pods").output)
not available in this simulator: kubeclt get pods (did you mean kubectl?)
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from k8snetviz.course.shell.base import Call, CommandOutput, Place, Result, not_available, suggest
from k8snetviz.course.shell.coreutils import FILTERS
from k8snetviz.course.shell.lexer import CommandList, ShellSyntaxError, parse_line, split_script
from k8snetviz.course.shell.registry import COMMANDS
from k8snetviz.course.shell.state import ClusterState
from k8snetviz.errors import K8sNetVizError
from k8snetviz.scenario.loader import Scenario, read_scenario

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["Session", "CommandOutput", "COMMANDS"]


# Commands a real exam terminal has that need a person at the keyboard; each says what to do instead.
INTERACTIVE = {
    "vi": "write files with cat <<EOF > FILE, or change them with sed -i 's/OLD/NEW/' FILE",
    "vim": "write files with cat <<EOF > FILE, or change them with sed -i 's/OLD/NEW/' FILE",
    "nano": "write files with cat <<EOF > FILE, or change them with sed -i 's/OLD/NEW/' FILE",
    "emacs": "write files with cat <<EOF > FILE",
    "less": "pipe into head or grep instead", "more": "pipe into head or grep instead",
    "top": "kubectl get pods, ps aux", "htop": "kubectl get pods, ps aux",
    "tcpdump": "trace the packet with cluster.trace(...) or the PacketWalk widget",
    # Not part of what the simulator models (the cluster's network); each says where to look instead.
    "helm": "charts are not modelled: apply their manifests with kubectl apply -f",
    "etcdctl": "etcd is not modelled; the simulator answers for the cluster's network",
    "lsmod": "kernel modules are not modelled: sysctl net.bridge.bridge-nf-call-iptables shows br_netfilter at work",
    "modprobe": "kernel modules are not modelled: sysctl net.bridge.bridge-nf-call-iptables shows br_netfilter at "
                "work",
    "ipvsadm": "kube-proxy's IPVS mode is not modelled: kubectl -n kube-system logs ds/kube-proxy names its mode; "
               "iptables-save | grep KUBE- lists its rules",
}

# `for NAME in WORDS; do BODY; done` on one line, and what follows it (`; more`, `&& more`).
_FOR = re.compile(r"^\s*for\s+([A-Za-z_][A-Za-z0-9_]*)\s+in(?:\s+(.*?))?\s*;\s*do\s+(.*?)\s*;\s*done\b\s*(.*)$",
                  re.S)
_COMPOUND = re.compile(r"^\s*(for|while|until|if|case|select)\s")
MAX_LOOP = 100

MAX_SUBSTITUTION_DEPTH = 4


class Session:
    """One terminal on one cluster. Commands change the cluster for the rest of the session."""

    def __init__(self, scenario: str | os.PathLike[str] | Scenario | Cluster, *,
                 files: dict[str, str] | None = None, namespace: str = "default", home: str | None = None) -> None:
        from k8snetviz.cluster import Cluster

        _load_commands()
        if isinstance(scenario, Cluster | Scenario):
            base: Cluster | Scenario = scenario
        else:
            base = read_scenario(scenario)
        self.state = ClusterState(base)
        # Where the terminal starts: as on the exam's hosts, the control-plane node, with kubectl and the node's
        # own tools (``home="workstation"``: a host outside the cluster with kubectl only).
        if home is None:
            nodes = self.state.cluster.nodes
            home = next((n.name for n in nodes.values() if n.role == "control-plane"), next(iter(nodes), ""))
        self.places: list[Place] = [Place("workstation") if home == "workstation" else Place("node", home)]
        self.env: dict[str, str] = {"HOME": "/root", "USER": "candidate", "KUBECONFIG": "/root/.kube/config",
                                    "?": "0"}
        self.aliases: dict[str, str] = {"k": "kubectl"}
        self.files: dict[str, str] = dict(files or {})
        self.cwd = "/root"
        self.namespace = namespace
        self.context = f"kind-{self.cluster.config.name}"
        self.history: list[CommandOutput] = []
        self.dns_log: list = []  # queries CoreDNS answered (its `log` plugin prints them)
        self.flows: list[tuple[str, tuple[str, str, str, str, str]]] = []  # (node, conntrack entry)
        self.forwards: dict[int, tuple[str, int]] = {}  # kubectl port-forward: local port -> (pod, port)
        self._depth = 0

    # --- where we are -------------------------------------------------------------------------------
    @property
    def cluster(self) -> Cluster:
        return self.state.cluster

    @property
    def place(self) -> Place:
        return self.places[-1]

    @property
    def prompt(self) -> str:
        """The prompt a real shell shows here."""
        p = self.place
        if p.kind == "node":
            return f"root@{p.name}:~#"
        if p.kind == "pod":
            return "/ #" if _busybox(p.image) else f"root@{p.name.split('/', 1)[1]}:/#"
        cwd = "~" if self.cwd == self.env.get("HOME") else self.cwd
        return f"candidate@terminal:{cwd}$"

    # --- running ------------------------------------------------------------------------------------
    def run(self, command: str, stdin: str | None = None) -> CommandOutput:
        """Run one command line (``stdin`` is the body of the heredoc it opens); never raises for bad input."""
        prompt = self.prompt
        first = command.splitlines()[0] if command.strip() else ""
        if stdin is None and "\n" in command.strip():
            # A command with its heredoc, pasted as one text.
            parts = split_script(command)
            if parts:
                first, stdin = parts[0]
        try:
            result = self._line(first, stdin)
        except Exception as e:  # noqa: BLE001 - a terminal never shows a traceback
            result = Result.error(f"k8snetviz: the simulator failed on this command ({type(e).__name__}: {e}); "
                                  "please report it", 1)
        self.env["?"] = str(result.status)
        out = CommandOutput(prompt, first, (result.err + result.out).rstrip("\n"), result.status)
        self.history.append(out)
        return out

    def feed(self, script: str) -> list[CommandOutput]:
        """Run a script: one command a line, a ``<<EOF`` heredoc continuing its command."""
        return [self.run(line, body) for line, body in split_script(script)]

    def _line(self, line: str, heredoc: str | None) -> Result:
        if not line.strip() or line.lstrip().startswith("#"):
            return Result()
        loop = _FOR.match(line)
        if loop:
            name, words, body, rest = loop.groups()
            return self._for(name, words or "", body, rest, heredoc)
        compound = _COMPOUND.match(line)
        if compound:
            return not_available(line, "of bash's compound commands the terminal runs one: "
                                 "for NAME in WORDS; do COMMANDS; done, on one line")
        try:
            parsed = parse_line(line, self.env, self._substitute)
        except ShellSyntaxError as e:
            return Result.error(f"bash: {e}", 2)
        try:
            return self._list(parsed, heredoc)
        except K8sNetVizError as e:
            return Result.error(str(e))

    def _for(self, name: str, words: str, body: str, rest: str, heredoc: str | None) -> Result:
        """``for NAME in WORDS; do BODY; done``: BODY once per word (expanded as bash does: $VAR, $(…))."""
        try:
            items = parse_line(f": {words}", self.env, self._substitute).pipelines[0][1].commands[0].words[1:] \
                if words.strip() else []
        except ShellSyntaxError as e:
            return Result.error(f"bash: {e}", 2)
        out = Result()
        for item in items[:MAX_LOOP]:
            self.env[name] = item
            r = self._line(body, heredoc)
            out.out += r.err + r.out
            out.status = r.status
        rest = rest.strip()
        if rest.startswith("|") and not rest.startswith("||"):
            try:
                return self._list(parse_line(rest[1:], self.env, self._substitute), heredoc, out.out)
            except ShellSyntaxError as e:
                return Result.error(f"bash: {e}", 2)
        if rest.startswith((";", "&&", "||")):
            joiner = rest[:2] if rest[:2] in ("&&", "||") else ";"
            tail = rest[len(joiner):]
            if (joiner == "&&" and out.status == 0) or (joiner == "||" and out.status != 0) or joiner == ";":
                r = self._line(tail, heredoc)
                out.out += r.err + r.out
                out.status = r.status
        elif rest:
            return Result.error(f"bash: syntax error near unexpected token `{rest.split()[0]}'", 2)
        return out

    def _substitute(self, inner: str) -> str:
        """``$(command)``: run it, and give its standard output."""
        if self._depth >= MAX_SUBSTITUTION_DEPTH:
            return ""
        self._depth += 1
        try:
            return self._list(parse_line(inner, self.env, self._substitute), None).out
        finally:
            self._depth -= 1

    def _list(self, parsed: CommandList, heredoc: str | None, stdin: str | None = None) -> Result:
        """Run the pipelines; ``stdin`` is what the first one reads (the output of a loop piped into it)."""
        total = Result()
        status = 0
        for n, (joiner, pipeline) in enumerate(parsed.pipelines):
            if (joiner == "&&" and status != 0) or (joiner == "||" and status == 0):
                continue
            r = self._pipeline(pipeline.commands, heredoc, stdin if n == 0 else None)
            total.out += r.err + r.out + r.late  # interleave what each part printed, in order
            status = r.status
        total.status = status
        return total

    def _pipeline(self, commands: list, heredoc: str | None, stdin: str | None = None) -> Result:
        err = ""
        last = Result()
        for cmd in commands:
            if cmd.heredoc:
                stdin = heredoc if heredoc is not None else ""
            elif cmd.stdin_file is not None:
                text = self.read_file(cmd.stdin_file)
                if text is None:
                    return Result.error(f"bash: {cmd.stdin_file}: No such file or directory")
                stdin = text
            if not cmd.words:
                self.env.update(cmd.assignments)
                last = Result()
                continue
            last = self.dispatch(self._glob(cmd.words, cmd.patterns), stdin)
            if cmd.stderr == "/dev/null":
                last.err = ""
            elif cmd.stderr == "stdout":
                last.out, last.err = last.err + last.out, ""
            elif cmd.stderr:
                self.write_file(cmd.stderr, last.err)
                last.err = ""
            if cmd.stdout is not None:
                if cmd.stdout != "/dev/null":
                    old = self.read_file(cmd.stdout) or "" if cmd.append else ""
                    self.write_file(cmd.stdout, old + last.out)
                last.out = ""
            err += last.err
            stdin = last.out
        return Result(last.out, err, last.status, last.late)

    def _glob(self, words: list[str], patterns: set[int]) -> list[str]:
        """File-name expansion: a pattern that matches files becomes their names; one that matches none stays."""
        if not patterns:
            return words
        import fnmatch

        from k8snetviz.course.shell.files import listing

        out: list[str] = []
        for i, w in enumerate(words):
            if i not in patterns or "{" in w:
                out.append(w)
                continue
            head, _, pat = w.rpartition("/")
            entries = listing(self, self.path(head or ".")) or {}
            hits = sorted(e for e in entries if fnmatch.fnmatch(e, pat) and not e.startswith("."))
            out += [f"{head}/{e}" if head or w.startswith("/") else e for e in hits] or [w]
        return out

    def dispatch(self, words: list[str], stdin: str | None = None) -> Result:
        """Run one simple command (aliases expanded)."""
        seen: set[str] = set()
        while words and words[0] in self.aliases and words[0] not in seen:
            seen.add(words[0])
            words = self.aliases[words[0]].split() + words[1:]
        if not words:
            return Result()
        name = words[0]
        line = " ".join(words)
        where = self.place.kind
        handler = COMMANDS[where].get(name) or COMMANDS["any"].get(name)
        if handler is None:
            if name in FILTERS:
                return self._filter(name, words[1:], stdin)
            if name in INTERACTIVE:
                return not_available(line, INTERACTIVE[name])
            elsewhere = [p for p in ("workstation", "node", "pod") if name in COMMANDS[p]]
            if elsewhere:
                return self._elsewhere(name, line, elsewhere)
            known = set(COMMANDS[where]) | set(COMMANDS["any"]) | set(FILTERS)
            close = suggest(name, known)
            return not_available(line, f"did you mean {close}?" if close else None)
        return handler(Call(self, words[1:], stdin, line))

    def _elsewhere(self, name: str, line: str, places: list[str]) -> Result:
        here = self.place
        if here.kind == "pod":
            return Result.error(f"sh: {name}: not found", 127)
        if "node" in places:
            return Result.error(f"{name}: command not found", 127,
                                "") if here.kind == "node" else not_available(
                line, f"{name} runs on a node: ssh NODE first (kubectl get nodes lists them)")
        return not_available(line, f"{name} runs inside a pod: kubectl exec POD -- {line}")

    def _filter(self, name: str, args: list[str], stdin: str | None) -> Result:
        if stdin is None and args and not args[-1].startswith("-"):
            # No pipe: the last word names the file to read (grep's first plain word is its pattern).
            plain = [a for a in args if not a.startswith("-")]
            is_grep = "grep" in name
            if not is_grep or len(plain) >= 2:
                content = self.read_file(args[-1])
                if content is None:
                    return Result.error(f"{name}: {args[-1]}: No such file or directory", 2 if is_grep else 1)
                stdin, args = content, args[:-1]
        out, err, status = FILTERS[name](args, stdin or "")
        return Result(out, err, status)

    # --- files ----------------------------------------------------------------------------------------
    def path(self, name: str) -> str:
        if name.startswith("~"):
            name = self.env.get("HOME", "/root") + name[1:]
        if not name.startswith("/"):
            name = f"{self.cwd.rstrip('/')}/{name}"
        parts: list[str] = []
        for part in name.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(part)
        return "/" + "/".join(parts)

    def read_file(self, name: str) -> str | None:
        """A file on the machine the terminal is on (the workstation's own, or a node's or pod's)."""
        from k8snetviz.course.shell.files import read

        if self.place.kind == "workstation" or name.startswith(("/tmp/", "/root/", "/opt/")) or \
                self.path(name) in self.files:
            found = self.files.get(self.path(name))
            if found is not None:
                return found
        return read(self, self.path(name))

    def write_file(self, name: str, text: str) -> None:
        self.files[self.path(name)] = text

    # --- moving around --------------------------------------------------------------------------------
    def enter(self, place: Place) -> None:
        self.places.append(place)

    def leave(self) -> Result:
        """``exit``: back to where the terminal was; a ``kubectl run --rm`` pod is deleted on the way."""
        if len(self.places) == 1:
            return Result.ok("logout")
        place = self.places.pop()
        if place.kind == "node":
            return Result.ok(f"logout\nConnection to {place.name} closed.")
        if place.temporary:
            from k8snetviz.course.shell.kubectl import delete_temporary_pod

            return delete_temporary_pod(self, place)
        return Result.ok("exit")


def _busybox(image: str) -> bool:
    return "busybox" in image or "alpine" in image or "netshoot" in image or not image


_LOADED = False


def _load_commands() -> None:
    """Import the command modules once; each registers its commands with :func:`command`."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import k8snetviz.course.shell.builtins
    import k8snetviz.course.shell.host
    import k8snetviz.course.shell.kubectl
    import k8snetviz.course.shell.kubectl_exec
    import k8snetviz.course.shell.kubectl_write
    import k8snetviz.course.shell.net  # noqa: F401  (each registers its commands)

