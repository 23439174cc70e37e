"""The commands of a node (after ``ssh NODE``) and of a pod's network namespace: ``ip``, ``bridge``,
``sysctl``, ``iptables``, ``iptables-save``, ``nft``, ``conntrack``, ``crictl``, ``systemctl``,
``journalctl``, ``ps``, ``ss``/``netstat``, ``route``.

Reading commands print the namespace's kernel state as the real tools print it. Changing commands
(``ip route add|del|replace``, ``ip link set``, ``ip addr add``, ``sysctl -w``, ``iptables -A|-I|-D|-N|-F|-P``)
become writes owned by ``learner`` on that node (:meth:`ClusterState.write`), the way any program on the
node changes the kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k8snetviz.agents.writes import AddrAdd, IptablesEdit, LinkSet, NeighAdd, RouteDel, Sysctl
from k8snetviz.course.shell.base import Call, Place, Result, not_available
from k8snetviz.course.shell.registry import command
from k8snetviz.errors import K8sNetVizError
from k8snetviz.views import hosttext as ht
from k8snetviz.views import iproute as ipv
from k8snetviz.views.iptablestext import iptables_list, iptables_rules, nft_ruleset

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session
    from k8snetviz.kernel.netns import NetNS

__all__ = ["netns_here"]


def netns_here(s: Session, netns: str | None = None) -> NetNS:
    """The network namespace the terminal is in (or ``ip netns exec``'s)."""
    from k8snetviz.course.shell.net import source_of

    name = netns or source_of(s)
    if name == "external":
        raise K8sNetVizError("the workstation's own interfaces are not modelled: ssh to a node "
                             "(kubectl get nodes lists them) or kubectl exec into a pod")
    return s.cluster.netns[name]


def _node_name(s: Session) -> str:
    p = s.place
    if p.kind == "node":
        return p.name
    if p.kind == "pod":
        return s.cluster.pod(p.name).node_name
    raise K8sNetVizError("not on a node")


def _owner(s: Session, line: str):  # type: ignore[no-untyped-def]
    return s.state.owner(_node_name(s), line)


def _write(s: Session, w, line: str) -> Result:  # type: ignore[no-untyped-def]
    if s.place.kind == "pod":
        return Result.error("RTNETLINK answers: Operation not permitted", 2)
    try:
        s.state.write(w)
    except (K8sNetVizError, KeyError, ValueError) as e:
        return Result.error(_rtnetlink(e), 2)
    return Result()


def _rtnetlink(e: Exception) -> str:
    text = str(e).strip("'\"")
    if isinstance(e, KeyError):
        return "RTNETLINK answers: No such process"
    if "Nexthop has invalid gateway" in text or "not reachable" in text:
        return "Error: Nexthop has invalid gateway."
    if "File exists" in text:
        return "RTNETLINK answers: File exists"
    return f"Error: {text}"


# --- ip ------------------------------------------------------------------------------------------------

_OBJECTS = {"a": "addr", "ad": "addr", "addr": "addr", "address": "addr", "r": "route", "ro": "route",
            "route": "route", "l": "link", "li": "link", "link": "link", "n": "neigh", "ne": "neigh",
            "neigh": "neigh", "neighbor": "neigh", "neighbour": "neigh", "netns": "netns", "rule": "rule",
            "ru": "rule", "maddr": "maddr", "tunnel": "tunnel", "xfrm": "xfrm", "monitor": "monitor", "help": "help"}


@command("ip", "node", "pod")
def ip(c: Call) -> Result:
    return ip_in(c, None)


def ip_in(c: Call, netns: str | None) -> Result:
    """``ip`` in the terminal's namespace, or in ``netns`` (``ip netns exec``)."""
    s = c.session
    flags = [a for a in c.args if a.startswith("-")]
    words = [a for a in c.args if not a.startswith("-")]
    brief = any(f in ("-br", "-brief") for f in flags)
    detail = any(f in ("-d", "-details") for f in flags)
    if "-4" in flags or "-o" in flags or "-c" in flags or "-color" in flags or "-s" in flags:
        pass
    if not words:
        return Result.error("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n       ip [ -force ] -batch filename\n"
                            "where  OBJECT := { address | addrlabel | amt | fou | help | ila | ioam | l2tp | link |\n"
                            "                   macsec | maddress | monitor | mptcp | mroute | mrule |\n"
                            "                   neighbor | neighbour | netconf | netns | nexthop | ntable |\n"
                            "                   ntbl | route | rule | sr | stats | tap | tcpmetrics |\n"
                            "                   token | tunnel | tuntap | vrf | xfrm }", 255)
    obj = _OBJECTS.get(words[0])
    if obj is None:
        return Result.error(f'Object "{words[0]}" is unknown, try "ip help".', 255)
    sub = words[1:]
    line = "ip " + " ".join(c.args)
    if obj == "netns":
        return _netns(c, sub)
    ns = netns_here(s, netns)
    if obj == "addr":
        if sub[:1] in (["add"], ["a"], ["del"], ["delete"]):
            if len(sub) < 4 or "dev" not in sub:
                return Result.error('Not enough information: "dev" argument is required.', 1)
            dev = sub[sub.index("dev") + 1]
            if dev not in ns.interfaces:
                return Result.error(f'Cannot find device "{dev}"', 1)
            if sub[0] in ("del", "delete"):
                return not_available(line, "deleting addresses is not modelled")
            return _write(s, AddrAdd(ns.name, dev, sub[1], _owner(s, line)), line)
        show = [w for w in sub if w not in ("show", "list", "ls", "dev")]
        if show and show[0] not in ns.interfaces:
            return Result.error(f'Device "{show[0]}" does not exist.', 1)
        if brief:
            return Result.ok(ipv.ip_br_addr(ns) if not show else
                             "\n".join(ln for ln in ipv.ip_br_addr(ns).splitlines() if ln.split()[0].split("@")[0]
                                       == show[0]))
        return Result.ok(ht.ip_addr(ns, show[0] if show else None))
    if obj == "link":
        if sub[:1] == ["set"]:
            rest = sub[1:]
            if rest[:1] == ["dev"]:
                rest = rest[1:]
            if not rest or rest[0] not in ns.interfaces:
                return Result.error(f'Cannot find device "{rest[0] if rest else ""}"', 1)
            dev = rest[0]
            up = True if "up" in rest else False if "down" in rest else None
            master = rest[rest.index("master") + 1] if "master" in rest else ("" if "nomaster" in rest else None)
            return _write(s, LinkSet(ns.name, dev, master=master, up=up, owner=_owner(s, line)), line)
        if sub[:1] in (["add"], ["del"], ["delete"]):
            return not_available(line, "creating and deleting devices is not modelled")
        show = [w for w in sub if w not in ("show", "list", "ls", "dev")]
        if show and show[0] not in ns.interfaces:
            return Result.error(f'Device "{show[0]}" does not exist.', 1)
        if brief:
            return Result.ok(ipv.ip_br_link(ns))
        return Result.ok(ipv.ip_link(ns, show[0] if show else None, details=detail))
    if obj == "route":
        return _route(c, ns, sub, line)
    if obj == "neigh":
        if sub[:1] in (["add"], ["replace"]):
            try:
                ip_ = sub[1]
                dev = sub[sub.index("dev") + 1]
                mac = sub[sub.index("lladdr") + 1]
            except (IndexError, ValueError):
                return Result.error('Device and destination are required arguments.', 255)
            return _write(s, NeighAdd(ns.name, dev, ip_, mac, _owner(s, line)), line)
        show = [w for w in sub if w not in ("show", "list", "ls", "dev")]
        devs = [show[0]] if show else sorted(ns.neighbours)
        if show and show[0] not in ns.interfaces:
            return Result.error(f'Cannot find device "{show[0]}"', 1)
        lines = []
        for d in devs:
            text = ipv.ip_neigh(ns, d)
            if not text:
                continue
            lines += [ln if show else ln.replace(" lladdr", f" dev {d} lladdr", 1) for ln in text.splitlines()]
        return Result.ok("\n".join(lines))
    if obj == "rule":
        return Result.ok("0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default")
    return not_available(line)


def _route(c: Call, ns: NetNS, sub: list[str], line: str) -> Result:
    s = c.session
    verb = sub[0] if sub else "show"
    rest = sub[1:]
    if verb in ("show", "list", "ls", "lst", "sh"):
        if rest[:1] == ["table"] and rest[1:2] in (["local"],):
            return Result.ok("\n".join(f"local {a.ip} dev {i.name} proto kernel scope host src {a.ip}"
                                       for i in ns.interfaces.values() for a in i.addrs))
        text = ipv.ip_route(ns)
        if rest and rest[0] not in ("table", "dev"):
            return Result.ok("\n".join(ln for ln in text.splitlines() if ln.split()[0] == rest[0]))
        if "dev" in rest:
            dev = rest[rest.index("dev") + 1] if rest.index("dev") + 1 < len(rest) else ""
            return Result.ok("\n".join(ln.replace(f" dev {dev}", "") for ln in text.splitlines()
                                       if f" dev {dev}" in ln))
        return Result.ok(text)
    if verb in ("get", "g"):
        if not rest:
            return Result.error('need at least a destination address', 1)
        addr = rest[0]
        try:
            route = ns.routes.lookup(addr)
        except ValueError:
            return Result.error(f'Error: inet prefix is expected rather than "{addr}".', 1)
        if route is None:
            return Result.error("RTNETLINK answers: Network is unreachable", 2)
        if route.type != "unicast":
            why = "No route to host" if route.type == "unreachable" else "Invalid argument"
            return Result.error(f"RTNETLINK answers: {why}", 2)
        src = ns.source_address(route)
        local = ns.owner_of(_ip(addr)) is not None
        if local:
            return Result.ok(f"local {addr} dev lo table local src {addr} uid 0\n    cache <local>")
        via = f" via {route.via}" if route.via else ""
        return Result.ok(f"{addr}{via} dev {route.dev} src {src} uid 0\n    cache")
    if verb in ("add", "a", "append", "replace", "change", "prepend"):
        from k8snetviz.agents.overrides import parse_route

        if not rest:
            return Result.error('Error: "to" is missing.' if verb != "replace" else "Command line is not complete. "
                                'Try option "help"', 255)
        text = " ".join(w for w in rest if w not in ("to",))
        try:
            w = parse_route(text, ns.name, _owner(s, line))
        except K8sNetVizError as e:
            msg = str(e)
            return Result.error("Error: " + msg.split("cannot read route")[-1].split(": ", 1)[-1], 255)
        if w.dev is not None and w.dev not in ns.interfaces:
            return Result.error(f'Cannot find device "{w.dev}"', 1)
        exists = ns.routes.find(w.dst, w.metric)
        if exists is not None:
            if verb in ("add", "a", "prepend", "append"):
                return Result.error("RTNETLINK answers: File exists", 2)
            r = _write(s, RouteDel(ns.name, w.dst, w.owner), line)
            if r.status:
                return r
        elif verb == "change":
            return Result.error("RTNETLINK answers: No such file or directory", 2)
        return _write(s, w, line)
    if verb in ("del", "delete", "d"):
        if not rest:
            return Result.error('Error: "to" is missing.', 255)
        dst = rest[0] if rest[0] != "to" else (rest[1] if len(rest) > 1 else "")
        try:
            found = ns.routes.find("0.0.0.0/0" if dst == "default" else dst)
        except ValueError:
            return Result.error(f'Error: inet prefix is expected rather than "{dst}".', 1)
        if found is None:
            return Result.error("RTNETLINK answers: No such process", 2)
        return _write(s, RouteDel(ns.name, "0.0.0.0/0" if dst == "default" else dst, _owner(s, line)), line)
    if verb == "flush":
        return not_available(line, "delete the routes one by one with ip route del")
    return Result.error(f'Command "{verb}" is unknown, try "ip route help".', 255)


def _ip(text: str):  # type: ignore[no-untyped-def]
    from ipaddress import IPv4Address

    return IPv4Address(text)


def _netns(c: Call, sub: list[str]) -> Result:
    s = c.session
    if s.place.kind != "node":
        return Result.error("Cannot open network namespace: Permission denied" if s.place.kind == "pod" else
                            "ip netns runs on a node: ssh NODE first", 1)
    node = s.place.name
    pods = sorted((p for p in s.cluster.pods.values() if p.node_name == node and not p.host_network),
                  key=lambda p: ht.netns_name(p))
    if not sub or sub[0] in ("list", "ls", "show"):
        return Result.ok("\n".join(f"{ht.netns_name(p)} (id: {i})" for i, p in enumerate(pods)))
    if sub[0] == "exec" and len(sub) >= 3:
        name = sub[1]
        pod = next((p for p in pods if ht.netns_name(p) == name), None)
        if pod is None:
            return Result.error(f'Cannot open network namespace "{name}": No such file or directory', 1)
        cmd_args = c.args[c.args.index(name) + 1:]
        prev = s.places[-1]
        s.places.append(Place("pod", pod.key, image=" ".join(pod.images)))
        try:
            if cmd_args and cmd_args[0] == "ip":
                return ip_in(Call(s, cmd_args[1:], c.stdin, " ".join(cmd_args)), f"pod/{pod.key}")
            return s.dispatch(cmd_args, c.stdin)
        finally:
            s.places.pop()
            assert s.places[-1] is prev
    if sub[0] == "identify":
        return Result.ok("")
    return not_available("ip netns " + " ".join(sub))


@command("bridge", "node")
def bridge(c: Call) -> Result:
    s = c.session
    ns = netns_here(s)
    words = [a for a in c.args if not a.startswith("-")]
    if words[:1] == ["fdb"]:
        rest = [w for w in words[1:] if w not in ("show", "dev")]
        devs = rest[:1] or sorted(ns.fdb)
        lines = []
        for d in devs:
            if d not in ns.interfaces:
                return Result.error(f'Cannot find device "{d}"', 1)
            text = ipv.bridge_fdb(ns, d)
            lines += [ln.replace(" dst", f" dev {d} dst", 1) if not rest else ln for ln in text.splitlines() if ln]
        for i in sorted(ns.interfaces.values(), key=lambda i: i.ifindex):
            if i.master and (not rest or rest[0] in (i.name, i.master)):
                lines.append(f"{i.mac} dev {i.name} master {i.master} permanent")
        return Result.ok("\n".join(lines))
    if words[:1] == ["link"]:
        lines = []
        for i in sorted(ns.interfaces.values(), key=lambda i: i.ifindex):
            if i.master:
                lines.append(f"{i.ifindex}: {ipv.link_name(i)}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu {i.mtu} "
                             f"master {i.master} state forwarding priority 32 cost 2")
        return Result.ok("\n".join(lines))
    if words[:1] == ["vlan"]:
        return Result.ok("port              vlan-id")
    return Result.error(f'Object "{words[0] if words else ""}" is unknown, try "bridge help".', 255)


# --- sysctl ----------------------------------------------------------------------------------------------

_SYSCTL_FILE = {"/proc/sys/net/ipv4/ip_forward": "net.ipv4.ip_forward"}


@command("sysctl", "node", "pod")
def sysctl(c: Call) -> Result:
    from k8snetviz.kernel.netns import SYSCTL_DEFAULTS

    s = c.session
    ns = netns_here(s)
    args = list(c.args)
    write = "-w" in args
    quiet = "-q" in args or "-n" in args
    names = [a for a in args if not a.startswith("-")]
    if "-a" in args or "--all" in args:
        return Result.ok(ht.sysctl_all(ns))
    if "-p" in args or "--system" in args:
        return Result.ok("")
    if not names:
        return Result.error("sysctl: no variables specified\nTry `sysctl --help' or `sysctl --usage' for more "
                            "information.", 255)
    out = []
    for n in names:
        key, eq, value = n.partition("=")
        key = key.replace("/", ".")
        known = key in SYSCTL_DEFAULTS or key in ns.sysctls or key.startswith(("net.ipv4.conf.", "net.ipv4.",
                                                                               "net.bridge.", "net.netfilter."))
        if not known:
            return Result.error(f"sysctl: cannot stat /proc/sys/{key.replace('.', '/')}: No such file or directory",
                                255)
        if eq:
            if not write and "=" in n:
                pass
            if s.place.kind == "pod":
                return Result.error(f"sysctl: permission denied on key \"{key}\"", 255)
            r = _write(s, Sysctl(ns.name, key, value, _owner(s, "sysctl -w " + n)), "sysctl -w " + n)
            if r.status:
                return r
            out.append(value if "-n" in args else f"{key} = {value}")
        else:
            v = ns.sysctl(key)
            out.append(v if "-n" in args else f"{key} = {v}")
    return Result.ok("" if quiet and write else "\n".join(out))


# --- iptables ------------------------------------------------------------------------------------------

@command("iptables-save", "node", "pod")
@command("iptables-legacy-save", "node")
@command("iptables-nft-save", "node")
def iptables_save(c: Call) -> Result:
    ns = netns_here(c.session)
    rs = ns.ruleset
    table = None
    args = list(c.args)
    for i, a in enumerate(args):
        if a in ("-t", "--table") and i + 1 < len(args):
            table = args[i + 1]
        elif a.startswith("--table="):
            table = a.split("=", 1)[1]
    if rs is None:
        return Result()
    text = rs.save()
    if table:
        if table not in rs.tables:
            return Result.error(f"iptables-save: Unable to initialize table '{table}'" if table not in
                                ("raw", "mangle", "filter", "nat", "security") else "")
        keep, inside = [], False
        for line in text.splitlines():
            if line.startswith("# Generated"):
                block = [line]
                continue
            if line.startswith("*"):
                inside = line[1:] == table
                if inside:
                    keep += block
            if inside:
                keep.append(line)
            if line.startswith("# Completed") and keep and keep[-1] == "COMMIT":
                keep.append(line)
                inside = False
        text = "\n".join(keep) + "\n"
    return Result(text)


@command("iptables", "node", "pod")
@command("iptables-legacy", "node")
@command("iptables-nft", "node")
def iptables(c: Call) -> Result:
    s = c.session
    ns = netns_here(s)
    args = list(c.args)
    table = "filter"
    op: str | None = None
    chain = ""
    rest: list[str] = []
    verbose = line_numbers = False
    i = 0
    ops = {"-L": "-L", "--list": "-L", "-S": "-S", "--list-rules": "-S", "-A": "-A", "--append": "-A",
           "-I": "-I", "--insert": "-I", "-D": "-D", "--delete": "-D", "-N": "-N", "--new-chain": "-N",
           "-X": "-X", "--delete-chain": "-X", "-F": "-F", "--flush": "-F", "-P": "-P", "--policy": "-P",
           "-C": "-C", "--check": "-C", "-Z": "-Z", "--zero": "-Z"}
    while i < len(args):
        a = args[i]
        if a in ("-t", "--table") and i + 1 < len(args):
            table = args[i + 1]
            i += 2
            continue
        if a in ops and op is None:
            op = ops[a]
            if i + 1 < len(args) and not args[i + 1].startswith("-"):
                chain = args[i + 1]
                i += 1
            i += 1
            continue
        if a in ("-n", "--numeric", "-w", "--wait"):
            i += 1
            continue
        if a in ("-v", "--verbose"):
            verbose = True
            i += 1
            continue
        if a == "--line-numbers":
            line_numbers = True
            i += 1
            continue
        if a.startswith("-") and len(a) > 2 and not a.startswith("--") and set(a[1:]) <= set("Lnvx"):
            op = op or ("-L" if "L" in a else None)
            verbose = verbose or "v" in a
            if "L" in a and i + 1 < len(args) and not args[i + 1].startswith("-"):
                chain = args[i + 1]
                i += 1
            i += 1
            continue
        rest.append(a)
        i += 1
    if op is None:
        return Result.error("iptables v1.8.9 (nf_tables): no command specified\nTry `iptables -h' or 'iptables "
                            "--help' for more information.", 2)
    rs = ns.ruleset
    if rs is None:
        from k8snetviz.kernel.netfilter import Ruleset

        rs = Ruleset(("filter",))
    if table not in ("filter", "nat", "mangle", "raw", "security"):
        return Result.error(f"iptables v1.8.9 (nf_tables): can't initialize iptables table `{table}': Table does not "
                            "exist (do you need to insmod?)\nPerhaps iptables or your kernel needs to be upgraded.", 3)
    if op in ("-L", "-S"):
        if table not in rs.tables:
            rs = rs.copy()
            rs.table(table)
        if chain and not rs.has_chain(table, chain):
            return Result.error(f"iptables v1.8.9 (nf_tables): chain `{chain}' in table `{table}' is incompatible, "
                                "use 'nft' tool.", 1) if False else Result.error(
                "iptables: No chain/target/match by that name.", 1)
        if op == "S":
            pass
        text = iptables_list(rs, table, chain or None, verbose=verbose, line_numbers=line_numbers) if op == "-L" \
            else iptables_rules(rs, table, chain or None)
        return Result.ok(text)
    if op == "-C":
        from k8snetviz.kernel.netfilter import parse_rule

        try:
            want = parse_rule(table, chain, rest)
        except K8sNetVizError as e:
            return Result.error(f"iptables v1.8.9 (nf_tables): {e}", 2)
        found = rs.has_chain(table, chain) and any(r.line == want.line for r in rs.chain(table, chain).rules)
        return Result() if found else Result.error("iptables: Bad rule (does a matching rule exist in that chain?).",
                                                   1)
    if op == "-Z":
        return Result()
    if s.place.kind == "pod":
        return Result.error("iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied "
                            "(you must be root)", 4)
    position = None
    if op in ("-I", "-D") and rest and rest[0].isdigit():
        position = int(rest.pop(0))
    args_t = tuple(rest[1:] if op == "-P" and False else rest)
    w = IptablesEdit(ns.name, table, op, chain, args_t, position, _owner(s, "iptables " + " ".join(args)))
    try:
        s.state.write(w)
    except K8sNetVizError as e:
        msg = str(e)
        return Result.error(f"iptables v1.8.9 (nf_tables): {msg}" if "iptables:" not in msg else msg, 1)
    return Result()


@command("nft", "node")
def nft(c: Call) -> Result:
    """``nft list ruleset|tables|table [FAMILY] NAME``: iptables-nft's tables (iptables rules as nft shows them)
    and the tables programs loaded through nft themselves (kube-proxy's ``ip kube-proxy`` in nftables mode)."""
    from k8snetviz.views.nft import nft_list_ruleset, nft_list_table

    ns = netns_here(c.session)
    words = [a for a in c.args if not a.startswith("-")]
    native = ns.nftables.tables if ns.nftables is not None else {}
    if words[:2] == ["list", "ruleset"]:
        text = nft_ruleset(ns.ruleset) if ns.ruleset is not None else ""
        own = nft_list_ruleset(ns.nftables).rstrip("\n")
        return Result.ok("\n".join(t for t in (text, own) if t))
    if words[:2] == ["list", "tables"]:
        tables = [f"table ip {t}" for t in (ns.ruleset.tables if ns.ruleset is not None else [])]
        return Result.ok("\n".join(tables + [f"table {f} {n}" for f, n in native]))
    if words[:2] == ["list", "table"] and len(words) >= 3:
        name = words[-1]
        family = words[2] if len(words) >= 4 else "ip"
        if (family, name) in native:
            return Result.ok(nft_list_table(native[(family, name)]).rstrip("\n"))
        text = nft_ruleset(ns.ruleset) if ns.ruleset is not None else ""
        blocks = text.split("# Warning: ")
        hit = [b for b in blocks if b.split("\n", 1)[0].endswith(f"table ip {name} is managed by iptables-nft, "
                                                                  "do not touch!")]
        if not hit:
            line = f"list table {family} {name}"
            # nft points at the table's name
            return Result.error(f"Error: No such file or directory\n{line}\n{' ' * (len(line) - len(name))}"
                                f"{'^' * len(name)}", 1)
        return Result.ok("# Warning: " + hit[0].rstrip("\n"))
    return not_available("nft " + " ".join(c.args), "nft list ruleset, nft list tables, nft list table NAME")


@command("conntrack", "node")
def conntrack(c: Call) -> Result:
    s = c.session
    if not any(a in ("-L", "--dump", "-C", "--count") for a in c.args):
        return not_available("conntrack " + " ".join(c.args), "conntrack -L lists the flows")
    node = s.place.name
    entries = [e for n, e in s.flows if n == node]
    if "-C" in c.args or "--count" in c.args:
        return Result.ok(str(len(entries)))
    out, err = ht.conntrack_list(entries)
    return Result(out + ("\n" if out else ""), err)


@command("crictl", "node")
def crictl(c: Call) -> Result:
    s = c.session
    node = s.place.name
    words = [a for a in c.args if not a.startswith("-")]
    sub = words[0] if words else ""
    name = None
    ns_filter = None
    for i, a in enumerate(c.args):
        if a in ("--name",) and i + 1 < len(c.args):
            name = c.args[i + 1]
        if a in ("--namespace", "-n") and i + 1 < len(c.args):
            ns_filter = c.args[i + 1]
        if a.startswith("--name="):
            name = a.split("=", 1)[1]
    pods = [p for p in s.cluster.pods.values() if p.node_name == node]
    quiet = "-q" in c.args or "--quiet" in c.args
    if sub == "ps":
        if quiet:  # the same filters as the table (crictl's --name is a regular expression)
            return Result.ok("\n".join(ht.container_id(p, str(ct.get("name", "")))
                                       for p in sorted(pods, key=lambda p: (p.namespace, p.name))
                                       for ct in (p.raw.get("spec") or {}).get("containers") or []
                                       if not name or ht.name_matches(name, str(ct.get("name", "")))))
        return Result.ok(ht.crictl_ps(s.cluster, node, name=name))
    if sub == "pods":
        if quiet:
            return Result.ok("\n".join(ht.sandbox_id(p) for p in sorted(pods, key=lambda p: (p.namespace, p.name))
                                       if (not name or ht.name_matches(name, p.name))
                                       and (not ns_filter or p.namespace == ns_filter)))
        return Result.ok(ht.crictl_pods(s.cluster, node, name=name, namespace=ns_filter))
    if sub in ("inspectp", "inspect", "logs") and len(words) > 1:
        want = words[1]
        for p in pods:
            if sub == "inspectp" and ht.sandbox_id(p).startswith(want):
                return Result.ok(ht.crictl_inspectp(s.cluster, p))
            for ct in (p.raw.get("spec") or {}).get("containers") or []:
                if ht.container_id(p, str(ct.get("name", ""))).startswith(want):
                    if sub == "logs":
                        from k8snetviz.views.logs import pod_logs

                        return Result.ok(pod_logs(s.cluster, p, str(ct.get("name", "")), s.dns_log))
                    if sub == "inspect":
                        return Result.ok(ht.crictl_inspect(s.cluster, p, str(ct.get("name", ""))))
        return Result.error(f'E0101 12:00:00.000000    4242 remote_runtime.go:432] "ContainerStatus from runtime '
                            'service '
                            f'failed" err="rpc error: code = NotFound desc = an error occurred when try to find '
                            f'container \\"{want}\\": not found" containerID="{want}"\nFATA[0000] no such container '
                            f'"{want}"' if sub != "inspectp" else f"FATA[0000] getting the pod sandbox status for "
                            f'"{want}": rpc error: code = NotFound desc = an error occurred when try to find sandbox '
                            f'"{want}": not found', 1)
    if sub == "images":
        imgs = sorted({str(ct.get("image", "")) for p in pods for ct in (p.raw.get("spec") or {}).get("containers")
                       or []})
        rows = ["IMAGE                                    TAG                 IMAGE ID            SIZE"]
        for im in imgs:
            repo, _, tag = im.rpartition(":") if ":" in im.split("/")[-1] else (im, "", "latest")
            rows.append(f"{repo:<40} {tag:<19} {ht.image_id(im)[:13]:<19} 10MB")
        return Result.ok("\n".join(rows))
    if sub in ("info", "version"):
        return Result.ok("Version:  0.1.0\nRuntimeName:  containerd\nRuntimeVersion:  v1.7.18\n"
                         "RuntimeApiVersion:  v1")
    return not_available("crictl " + " ".join(c.args), "crictl ps, pods, inspect, inspectp, logs, images")


@command("systemctl", "node")
def systemctl(c: Call) -> Result:
    words = [a for a in c.args if not a.startswith("-")]
    if not words:
        return Result.error("systemctl: the simulator answers systemctl status|is-active|restart UNIT", 1)
    verb, units = words[0], [u.removesuffix(".service") for u in words[1:]]
    known = ("kubelet", "containerd")
    unknown = [u for u in units if u not in known]
    if unknown:
        return Result.error(f"Unit {unknown[0]}.service could not be found.", 4)
    node = c.session.place.name
    if verb == "status":
        return Result.ok("\n\n".join(ht.systemctl_status(c.session.cluster, node, u) for u in units or ["kubelet"]))
    if verb in ("is-active",):
        return Result.ok("\n".join("active" for _ in units))
    if verb in ("is-enabled",):
        return Result.ok("\n".join("enabled" for _ in units))
    if verb in ("restart", "start", "stop", "reload", "enable", "daemon-reload", "disable"):
        return Result()
    return not_available("systemctl " + " ".join(c.args))


@command("journalctl", "node")
def journalctl(c: Call) -> Result:
    units = [c.args[i + 1] for i, a in enumerate(c.args) if a == "-u" and i + 1 < len(c.args)]
    units += [a[2:] for a in c.args if a.startswith("-u") and len(a) > 2]
    units += [a.split("=", 1)[1] for a in c.args if a.startswith("--unit=")]
    if not units or units[0].removesuffix(".service") != "kubelet":
        return Result.ok("-- No entries --" if units else "")
    return Result.ok(ht.journalctl_kubelet(c.session.cluster, c.session.place.name))


@command("ps", "node", "pod")
def ps(c: Call) -> Result:
    s = c.session
    if s.place.kind == "pod":
        pod = s.cluster.pod(s.place.name)
        images = " ".join(pod.images)
        main = images.rsplit("/", 1)[-1].split(":")[0]
        return Result.ok(f"PID   USER     TIME  COMMAND\n    1 root      0:00 {main}")
    return Result.ok(ht.ps_aux(s.cluster, s.place.name))


@command("ss", "node", "pod")
@command("netstat", "node", "pod")
def ss(c: Call) -> Result:
    s = c.session
    if s.place.kind == "pod":
        from k8snetviz.questions.connect import IMAGE_PORTS

        pod = s.cluster.pod(s.place.name)
        ports = [(p.container_port, p.protocol) for p in pod.ports] or [
            pt for im in pod.images for k, v in IMAGE_PORTS.items() if k in im for pt in v]
        lines = ["State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess"]
        lines += [f"LISTEN 0      511          0.0.0.0:{p:<5}      0.0.0.0:*" for p, proto in ports if proto == "TCP"]
        return Result.ok("\n".join(lines))
    return Result.ok(ht.ss_listening(s.cluster, s.place.name, processes="p" in "".join(c.args)))


@command("route", "node", "pod")
def route(c: Call) -> Result:
    ns = netns_here(c.session)
    lines = ["Kernel IP routing table", "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface"]
    for r in ns.routes.sorted():
        if r.type != "unicast":
            continue
        flags = "U" + ("G" if r.via else "") + ("H" if r.dst.prefixlen == 32 else "")
        lines.append(f"{str(r.dst.network_address):<15} {str(r.via or '0.0.0.0'):<15} {str(r.dst.netmask):<15} "
                     f"{flags:<5} {r.metric or 0:<6} 0        0 {r.dev}")
    return Result.ok("\n".join(lines))


@command("arp", "node", "pod")
def arp(c: Call) -> Result:
    ns = netns_here(c.session)
    lines = ["Address                  HWtype  HWaddress           Flags Mask            Iface"]
    for dev, entries in ns.neighbours.items():
        for n in entries.values():
            lines.append(f"{str(n.ip):<24} ether   {n.lladdr:<19} CM                    {dev}")
    return Result.ok("\n".join(lines))
