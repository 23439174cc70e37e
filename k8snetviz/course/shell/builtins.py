"""The shell's own commands and the file tools: ``echo``, ``export``, ``alias``, ``cd``, ``exit``, ``ssh``,
``cat``, ``ls``, ``tee``, ``sed -i``, ``cp``, ``rm``, ``history``, ``hostname``.
"""

from __future__ import annotations

import re
import shlex

from k8snetviz.course.shell.base import Call, Place, Result, not_available
from k8snetviz.course.shell.coreutils import FILTERS, apply_sed, sed_expression
from k8snetviz.course.shell.files import listing
from k8snetviz.course.shell.registry import COMMANDS, command

__all__: list[str] = []


@command("echo")
def echo(c: Call) -> Result:
    args = list(c.args)
    newline, escapes = True, False
    while args and args[0] in ("-n", "-e", "-ne", "-en", "-E"):
        flag = args.pop(0)
        newline = newline and "n" not in flag
        escapes = escapes or "e" in flag
    text = " ".join(args)
    if escapes:
        text = text.replace("\\n", "\n").replace("\\t", "\t")
    return Result(text + ("\n" if newline else ""))


@command("printf")
def printf(c: Call) -> Result:
    if not c.args:
        return Result.error("printf: usage: printf [-v var] format [arguments]", 2)
    fmt, values = c.args[0].replace("\\n", "\n").replace("\\t", "\t"), c.args[1:]
    out = re.sub(r"%[sd]", lambda _: values.pop(0) if values else "", fmt)
    return Result(out)


@command("export")
def export(c: Call) -> Result:
    for a in c.args:
        if a == "-p":
            continue
        name, eq, value = a.partition("=")
        if eq:
            c.session.env[name] = value
    return Result()


@command("unset")
def unset(c: Call) -> Result:
    for a in c.args:
        c.session.env.pop(a, None)
    return Result()


@command("alias")
def alias(c: Call) -> Result:
    if not c.args:
        return Result.ok("\n".join(f"alias {k}='{v}'" for k, v in sorted(c.session.aliases.items())))
    out = []
    for a in c.args:
        name, eq, value = a.partition("=")
        if eq:
            c.session.aliases[name] = value
        elif name in c.session.aliases:
            out.append(f"alias {name}='{c.session.aliases[name]}'")
        else:
            return Result.error(f"bash: alias: {name}: not found")
    return Result.ok("\n".join(out))


@command("unalias")
def unalias(c: Call) -> Result:
    for a in c.args:
        c.session.aliases.pop(a, None)
    return Result()


@command("source")
@command(".")
@command("complete")
@command("set")
@command("shopt")
@command("bind")
@command("true")
@command("sleep")
@command("clear")
@command("reset")
@command("wait")
@command("sync")
def quiet(c: Call) -> Result:
    """Commands that change nothing the simulator shows (completion set-up, sleep, clear)."""
    return Result()


@command("false")
def false(c: Call) -> Result:
    return Result(status=1)


@command("history")
def history(c: Call) -> Result:
    return Result.ok("\n".join(f"{i:5d}  {h.command}" for i, h in enumerate(c.session.history, 1)))


@command("pwd")
def pwd(c: Call) -> Result:
    return Result.ok(c.session.cwd if c.place.kind == "workstation" else "/")


@command("cd")
def cd(c: Call) -> Result:
    target = c.args[0] if c.args else c.session.env.get("HOME", "/root")
    c.session.cwd = c.session.path(target)
    return Result()


@command("whoami")
def whoami(c: Call) -> Result:
    return Result.ok("root" if c.place.kind != "workstation" else c.session.env.get("USER", "candidate"))


@command("id")
def id_(c: Call) -> Result:
    if c.place.kind == "workstation":
        return Result.ok("uid=1000(candidate) gid=1000(candidate) groups=1000(candidate)")
    return Result.ok("uid=0(root) gid=0(root) groups=0(root)")


@command("date")
def date(c: Call) -> Result:
    return Result.ok("Wed Jan  1 12:00:00 UTC 2025")


@command("env")
@command("printenv")
def env(c: Call) -> Result:
    if c.args:
        return Result.ok(c.session.env.get(c.args[0], ""))
    return Result.ok("\n".join(f"{k}={v}" for k, v in sorted(c.session.env.items()) if k != "?"))


@command("which")
@command("type")
def which(c: Call) -> Result:
    out = []
    status = 0
    for name in c.args:
        if name in COMMANDS[c.place.kind] or name in COMMANDS["any"] or name in FILTERS:
            out.append(f"/usr/bin/{name}" if c.args[0] != "type" else f"{name} is /usr/bin/{name}")
        else:
            status = 1
    return Result("".join(o + "\n" for o in out), "", status)


@command("exit")
@command("logout")
def exit_(c: Call) -> Result:
    return c.session.leave()


@command("ssh", "workstation", "node")
def ssh(c: Call) -> Result:
    hosts = [a for a in c.args if not a.startswith("-")]
    if not hosts:
        return Result.error("usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface] destination [command]", 255)
    host = hosts[0].split("@", 1)[-1]
    cluster = c.session.cluster
    node = cluster.nodes.get(host)
    if node is None:
        node = next((n for n in cluster.nodes.values() if str(n.internal_ip) == host), None)
    if node is None:
        return Result.error(f"ssh: Could not resolve hostname {host}: Name or service not known", 255)
    rest = hosts[1:]
    if rest:
        # ssh NODE COMMAND: run it there and come back.
        c.session.enter(Place("node", node.name))
        try:
            return c.session.dispatch(shlex.split(" ".join(rest)) if len(rest) == 1 else rest, c.stdin)
        finally:
            c.session.places.pop()
    c.session.enter(Place("node", node.name))
    return Result()


@command("sudo")
def sudo(c: Call) -> Result:
    args = [a for a in c.args if a not in ("-i", "-s", "-E")]
    if not args or args[:1] in (["su"], ["bash"], ["-"]):
        return Result()
    return c.session.dispatch(args, c.stdin)


@command("su")
@command("bash")
@command("sh")
def subshell(c: Call) -> Result:
    if "-c" in c.args:
        i = c.args.index("-c")
        if i + 1 < len(c.args):
            from k8snetviz.course.shell.lexer import parse_line

            return c.session._list(parse_line(c.args[i + 1], c.session.env, c.session._substitute), None)
    return Result()


@command("watch")
def watch(c: Call) -> Result:
    args = list(c.args)
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag in ("-n", "--interval") and args:
            args.pop(0)
    if not args:
        return Result.error("Usage:\n watch [options] command", 1)
    return c.session.dispatch(shlex.split(" ".join(args)) if len(args) == 1 else args, c.stdin)


@command("time")
def time_(c: Call) -> Result:
    r = c.session.dispatch(c.args, c.stdin)
    r.err += "\nreal\t0m0.050s\nuser\t0m0.020s\nsys\t0m0.010s\n"
    return r


@command("xargs")
def xargs(c: Call) -> Result:
    """``xargs [-r] [-n N] [-I TOKEN] [-0] [-t] COMMAND``: run COMMAND with the words read from its input."""
    args = list(c.args)
    per: int | None = None
    token: str | None = None
    skip_empty = False
    while args and args[0].startswith("-") and args[0] != "--":
        a = args.pop(0)
        if a in ("-r", "--no-run-if-empty"):
            skip_empty = True
        elif a in ("-0", "--null", "-t", "--verbose", "-x"):
            continue
        elif a in ("-n", "-L", "-P", "--max-args", "--max-procs") and args:
            value = args.pop(0)
            per = int(value) if a != "-P" and value.isdigit() else per
        elif a.startswith(("-n", "-L")) and a[2:].isdigit():
            per = int(a[2:])
        elif a == "-I" and args:
            token = args.pop(0)
        elif a.startswith("-I"):
            token = a[2:]
        elif a.startswith("-P"):
            continue
        else:
            return Result.error(f"xargs: invalid option -- '{a.lstrip('-')[:1]}'", 1)
    if args[:1] == ["--"]:
        args = args[1:]
    tmpl = args or ["echo"]
    if token is not None:
        groups = [[ln.strip()] for ln in (c.stdin or "").splitlines() if ln.strip()]
    else:
        words = (c.stdin or "").split()
        if not words and skip_empty:
            return Result()
        step = per or max(len(words), 1)
        groups = [words[i:i + step] for i in range(0, len(words), step)] or [[]]
    out = Result()
    for g in groups:
        cmd = [a.replace(token, g[0]) for a in tmpl] if token is not None else tmpl + g
        r = c.session.dispatch(cmd)
        out.out += r.out
        out.err += r.err
        out.status = r.status or out.status
    return out


@command("seq")
def seq(c: Call) -> Result:
    """``seq [FIRST [STEP]] LAST``."""
    try:
        nums = [int(a) for a in c.args]
    except ValueError:
        bad = next(a for a in c.args if not a.lstrip("-").isdigit())
        return Result.error(f"seq: invalid floating point argument: ‘{bad}’\nTry 'seq --help' for more "
                            "information.", 1)
    if not nums or len(nums) > 3:
        return Result.error("seq: missing operand\nTry 'seq --help' for more information.", 1)
    first, step, last = (1, 1, nums[0]) if len(nums) == 1 else (nums[0], 1, nums[1]) if len(nums) == 2 else nums
    if step == 0:
        return Result.error("seq: invalid Zero increment value: ‘0’", 1)
    values = list(range(first, last + (1 if step > 0 else -1), step))[:10000]
    return Result("".join(f"{v}\n" for v in values))


# --- files -------------------------------------------------------------------------------------------------

@command("cat")
def cat(c: Call) -> Result:
    names = [a for a in c.args if not a.startswith("-") or a == "-"]
    if not names:
        return Result(c.stdin or "")
    out, err = [], []
    status = 0
    for name in names:
        if name == "-":
            out.append(c.stdin or "")
            continue
        text = c.session.read_file(name)
        if text is None:
            kind = "Is a directory" if listing(c.session, c.session.path(name)) is not None else \
                "No such file or directory"
            err.append(f"cat: {name}: {kind}\n")
            status = 1
        else:
            out.append(text)
    return Result("".join(out), "".join(err), status)


@command("ls")
def ls(c: Call) -> Result:
    flags = "".join(a[1:] for a in c.args if a.startswith("-") and not a.startswith("--"))
    names = [a for a in c.args if not a.startswith("-")] or ["."]
    out, err = [], []
    status = 0
    for name in names:
        path = c.session.path(name)
        entries = listing(c.session, path)
        if entries is None:
            if c.session.read_file(name) is not None:
                entries = {name: len(c.session.read_file(name) or "")}
            else:
                err.append(f"ls: cannot access '{name}': No such file or directory\n")
                status = 2
                continue
        if len(names) > 1:
            out.append(f"{name}:\n")
        if "l" in flags:
            out.append(f"total {sum(max(4, (s + 1023) // 1024 * 4) for s in entries.values() if s >= 0)}\n")
            for entry, size in sorted(entries.items()):
                if size < 0:
                    out.append(f"drwxr-xr-x 2 root root 4096 Jan  1 12:00 {entry}\n")
                else:
                    mode = "-rwxr-xr-x" if path.startswith("/opt/cni/bin") else "-rw-------" \
                        if entry.endswith(".conf") and path == "/etc/kubernetes" else "-rw-r--r--"
                    out.append(f"{mode} 1 root root {size:>8} Jan  1 12:00 {entry}\n")
        elif entries:
            out.append("\n".join(sorted(entries)) + "\n")
    return Result("".join(out), "".join(err), status)


@command("tee")
def tee(c: Call) -> Result:
    append = "-a" in c.args
    for name in (a for a in c.args if not a.startswith("-")):
        old = (c.session.read_file(name) or "") if append else ""
        c.session.write_file(name, old + (c.stdin or ""))
    return Result(c.stdin or "")


@command("touch")
def touch(c: Call) -> Result:
    for name in (a for a in c.args if not a.startswith("-")):
        if c.session.read_file(name) is None:
            c.session.write_file(name, "")
    return Result()


@command("mkdir")
def mkdir(c: Call) -> Result:
    return Result()


@command("rm")
def rm(c: Call) -> Result:
    force = any(a.startswith("-") and "f" in a for a in c.args)
    for name in (a for a in c.args if not a.startswith("-")):
        path = c.session.path(name)
        if path in c.session.files:
            del c.session.files[path]
        elif not force:
            return Result.error(f"rm: cannot remove '{name}': No such file or directory")
    return Result()


@command("cp")
@command("mv")
def cp(c: Call) -> Result:
    names = [a for a in c.args if not a.startswith("-")]
    tool = c.line.split()[0]
    if len(names) != 2:
        return Result.error(f"{tool}: missing destination file operand after '{names[0] if names else ''}'")
    text = c.session.read_file(names[0])
    if text is None:
        return Result.error(f"{tool}: cannot stat '{names[0]}': No such file or directory")
    c.session.write_file(names[1], text)
    if tool == "mv":
        c.session.files.pop(c.session.path(names[0]), None)
    return Result()


@command("sed")
def sed(c: Call) -> Result:
    in_place = False
    scripts: list[str] = []
    files: list[str] = []
    args = list(c.args)
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-i"):
            in_place = True
        elif a == "-e" and i + 1 < len(args):
            scripts.append(args[i + 1])
            i += 1
        elif a in ("-E", "-r", "-n"):
            pass
        elif not scripts:
            scripts.append(a)
        else:
            files.append(a)
        i += 1
    if not scripts:
        return Result.error("Usage: sed [OPTION]... {script-only-if-no-other-script} [input-file]...", 1)
    script = ";".join(scripts)
    try:
        sed_expression(script)
    except ValueError as e:
        return Result.error(str(e))
    if not files:
        return Result(apply_sed(script, c.stdin or ""))
    out = []
    for name in files:
        text = c.session.read_file(name)
        if text is None:
            return Result.error(f"sed: can't read {name}: No such file or directory", 2)
        new = apply_sed(script, text)
        if in_place:
            c.session.write_file(name, new)
        else:
            out.append(new)
    return Result("".join(out))


@command("hostname")
def hostname(c: Call) -> Result:
    from k8snetviz.course.shell.net import addresses_of_place

    p = c.place
    if "-i" in c.args or "-I" in c.args:
        return Result.ok(" ".join(addresses_of_place(c.session)) + (" " if "-I" in c.args else ""))
    if p.kind == "node":
        return Result.ok(p.name)
    if p.kind == "pod":
        pod = c.session.cluster.pod(p.name)
        return Result.ok(pod.hostname or pod.name)
    return Result.ok("terminal")


@command("uname")
def uname(c: Call) -> Result:
    from k8snetviz.views.resources import KERNEL

    if "-r" in c.args:
        return Result.ok(KERNEL)
    if "-a" in c.args:
        host = c.place.name.split("/")[-1] if c.place.kind != "workstation" else "terminal"
        return Result.ok(f"Linux {host} {KERNEL} #1 SMP x86_64 GNU/Linux")
    return Result.ok("Linux")


@command("man")
@command("help")
def man(c: Call) -> Result:
    return not_available(c.line, "try COMMAND --help, or kubectl explain")
