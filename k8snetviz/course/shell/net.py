"""The network clients: ``nslookup``, ``dig``, ``host``, ``getent``, ``curl``, ``wget``, ``nc``, ``ping``,
``telnet`` — in a pod (its resolver, its network namespace), on a node, or on the workstation (a host
outside the cluster, on the node network: the scenario's outside client).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from k8snetviz.course.shell.base import Call, Result, short_options
from k8snetviz.course.shell.registry import command
from k8snetviz.errors import K8sNetVizError
from k8snetviz.questions.connect import Connection, connect, request
from k8snetviz.views import clienttext as ct

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session

__all__ = ["source_of", "addresses_of_place", "is_busybox"]


def source_of(s: Session) -> str:
    """The trace source of where the terminal is."""
    p = s.place
    if p.kind == "pod":
        pod = s.cluster.pod(p.name)
        return f"node/{pod.node_name}" if pod.host_network else f"pod/{pod.key}"
    if p.kind == "node":
        return f"node/{p.name}"
    return "external"


def is_busybox(s: Session) -> bool:
    p = s.place
    if p.kind != "pod":
        return False
    pod = s.cluster.pods.get(p.name)
    images = " ".join(pod.images) if pod else p.image
    return any(x in images for x in ("busybox", "alpine")) or not images


def addresses_of_place(s: Session) -> list[str]:
    src = source_of(s)
    ns = s.cluster.netns.get(src if src != "external" else next(
        (k for k in s.cluster.netns if k.startswith("external/")), ""))
    if ns is None:
        return []
    return [str(a.ip) for i in ns.interfaces.values() if i.kind != "loopback" for a in i.addrs]


def dns_service_ips(s: Session) -> list[str]:
    from k8snetviz.questions.resolve import cluster_dns

    return list(cluster_dns(s.cluster).dns_service_ips)


def _pod_key(s: Session) -> str | None:
    src = source_of(s)
    return src[4:] if src.startswith("pod/") else None


def _log_query(s: Session, name: str, qtype: str, rcode: str) -> None:
    from k8snetviz.views.logs import LoggedQuery

    src = source_of(s)
    client = addresses_of_place(s)[0] if addresses_of_place(s) else "10.244.0.1"
    s.dns_log.append(LoggedQuery(f"{client}:{40000 + len(s.dns_log)}", 10000 + len(s.dns_log) * 7919 % 50000, qtype,
                                 name if name.endswith(".") else name + ".", rcode))
    _ = src


# --- DNS ---------------------------------------------------------------------------------------------------

def _ptr(s: Session, pod: str, ip: str) -> str | None:
    from k8snetviz.questions.resolve import resolve

    try:
        r = resolve(s.cluster, pod, ip, "PTR")
    except K8sNetVizError:
        return None
    names = [a.data for a in r.answers if a.type == "PTR"]
    return names[0].rstrip(".") if names else None


@command("nslookup", "pod", "node", "workstation")
def nslookup(c: Call) -> Result:
    from k8snetviz.questions.resolve import resolve
    from k8snetviz.views.dnstext import dns_nslookup

    args = [a for a in c.args if not a.startswith("-")]
    qtype = next((a.split("=", 1)[1].upper() for a in c.args if a.startswith(("-type=", "-query=", "-q="))), None)
    if not args:
        return Result.error("nslookup: the simulator answers `nslookup NAME [SERVER]`, not the interactive mode")
    name = args[0]
    s = c.session
    pod = _pod_key(s)
    if pod is None:
        return _host_nslookup(s, name)
    try:
        r = resolve(s.cluster, pod, name, qtype or "A")
    except K8sNetVizError as e:
        if "Corefile" in str(e):
            return Result.error(";; connection timed out; no servers could be reached", 1)
        raise
    if r.nameserver is not None and r.nameserver in dns_service_ips(s):
        for q in r.queries:
            _log_query(s, q.name, q.type, q.rcode)
    if is_busybox(s):
        server = r.nameserver or (r.pod_dns.resolv_conf.nameservers[0] if r.pod_dns.resolv_conf.nameservers
                                  else "")
        head = f"Server:    {server}\nAddress 1: {server}"
        if r.nameserver is None and r.queries:
            return Result(head + "\n\n", f"nslookup: can't resolve '{name}'\n", 1)
        ptr = _ptr(s, pod, server) if r.nameserver else None
        head += f" {ptr}" if ptr else ""
        if not r.ok:
            return Result(head + "\n\n", f"nslookup: can't resolve '{name}'\n", 1)
        lines = [head, "", f"Name:      {name}"]
        for i, a in enumerate(r.addresses, 1):
            own = _ptr(s, pod, a)
            lines.append(f"Address {i}: {a}" + (f" {own}" if own else ""))
        return Result.ok("\n".join(lines))
    text = dns_nslookup(r)
    return Result(text, "", 0 if r.ok else 1)


def _host_nslookup(s: Session, name: str) -> Result:
    from k8snetviz.questions.connect import lookup
    from k8snetviz.views.hostfiles import node_resolv_conf

    server = next((ln.split()[1] for ln in node_resolv_conf(s.cluster).splitlines()
                   if ln.startswith("nameserver")), "172.18.0.1")
    addrs, _, _ = lookup(s.cluster, source_of(s), name)
    head = f"Server:\t\t{server}\nAddress:\t{server}#53\n\n"
    if not addrs:
        return Result(head + f"** server can't find {name}: NXDOMAIN\n\n", "", 1)
    return Result.ok(head + "Non-authoritative answer:\n" + "\n".join(f"Name:\t{name}\nAddress: {a}" for a in addrs)
                     + "\n")


@command("dig", "pod", "node", "workstation")
def dig(c: Call) -> Result:
    from k8snetviz.questions.resolve import cluster_dns, resolve
    from k8snetviz.views.dnstext import dig_record_line, dig_text

    s = c.session
    short = "+short" in c.args
    search = "+search" in c.args
    server = next((a[1:] for a in c.args if a.startswith("@")), None)
    words = [a for a in c.args if not a.startswith(("+", "@", "-"))]
    qtype = "A"
    if "-t" in c.args:
        i = c.args.index("-t")
        qtype = c.args[i + 1].upper() if i + 1 < len(c.args) else "A"
        words = [w for w in words if w != c.args[i + 1]]
    types = {"A", "AAAA", "SRV", "PTR", "CNAME", "MX", "TXT", "NS", "SOA", "ANY"}
    if "-x" in c.args:
        i = c.args.index("-x")
        ip = c.args[i + 1] if i + 1 < len(c.args) else ""
        words = [".".join(reversed(ip.split("."))) + ".in-addr.arpa"]
        qtype = "PTR"
    for w in list(words):
        if w.upper() in types and len(words) > 1:
            qtype = w.upper()
            words.remove(w)
    name = words[0] if words else "."
    pod = _pod_key(s)
    if pod is None:
        from k8snetviz.questions.connect import lookup

        addrs, _, _ = lookup(s.cluster, source_of(s), name)
        if short:
            return Result.ok("\n".join(addrs))
        status = "NOERROR" if addrs else "NXDOMAIN"
        section = "".join(f"{name}.\t\t300\tIN\tA\t{a}\n" for a in addrs)
        return Result.ok(f"\n; <<>> DiG 9.18.33-1~deb12u2-Debian <<>> {' '.join(c.args)}\n;; global options: +cmd\n"
                         f";; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: {status}, id: 4242\n"
                         f";; flags: qr rd ra; QUERY: 1, ANSWER: {len(addrs)}, AUTHORITY: 0, ADDITIONAL: 1\n\n"
                         f";; QUESTION SECTION:\n;{name}.\t\t\tIN\tA\n\n"
                         + (f";; ANSWER SECTION:\n{section}\n" if addrs else "")
                         + ";; Query time: 4 msec\n;; SERVER: 172.18.0.1#53(172.18.0.1) (UDP)\n"
                         ";; WHEN: Wed Jan 01 12:00:00 UTC 2025\n;; MSG SIZE  rcvd: 56\n")
    dns = cluster_dns(s.cluster)
    try:
        if server is not None:
            ns = dns.nameserver(server)
            why = dns.unreachable(s.cluster, pod, server)
            if ns.lookup is None or why:
                return Result.ok(f";; communications error to {server}#53: timed out\n"
                                 f";; communications error to {server}#53: timed out\n"
                                 f";; communications error to {server}#53: timed out\n\n; <<>> DiG 9.18.33 <<>> "
                                 f"{' '.join(c.args)}\n;; global options: +cmd\n;; no servers could be reached")
            fq = name if name.endswith(".") else name + "."
            answer = ns.lookup(fq, qtype)
            used = server
        else:
            r = resolve(s.cluster, pod, name if search else (name if name.endswith(".") else name + "."), qtype)
            last = r.last_answer()
            used = r.nameserver or ""
            if last is None or r.nameserver is None:
                return Result.ok(";; communications error to 10.96.0.10#53: timed out\n"
                                 ";; communications error to 10.96.0.10#53: timed out\n"
                                 ";; communications error to 10.96.0.10#53: timed out\n\n; <<>> DiG 9.18.33 <<>> "
                                 f"{' '.join(c.args)}\n;; global options: +cmd\n;; no servers could be reached")
            answer = last
    except K8sNetVizError as e:
        if "Corefile" in str(e):
            return Result.ok(";; communications error to 10.96.0.10#53: timed out\n;; no servers could be reached")
        raise
    _log_query(s, answer.name, qtype, answer.rcode)
    if short:
        return Result.ok("\n".join(r.data for r in answer.records))
    text = dig_text(answer, server=used, args=" ".join(c.args))
    _ = dig_record_line
    return Result.ok(text.rstrip("\n"))


@command("host", "pod", "node", "workstation")
def host(c: Call) -> Result:
    from k8snetviz.questions.connect import lookup

    names = [a for a in c.args if not a.startswith("-")]
    if not names:
        return Result.error("Usage: host [-aCdilrTvVw] [-c class] [-N ndots] [-t type] [-W time]\n"
                            "            [-R number] [-m flag] [-p port] hostname [server]")
    s = c.session
    addrs, dns, _ = lookup(s.cluster, source_of(s), names[0])
    if not addrs:
        return Result.error(f"Host {names[0]} not found: 3(NXDOMAIN)")
    final = dns.final_name.rstrip(".") if dns is not None and dns.final_name else names[0]
    return Result.ok("\n".join(f"{final} has address {a}" for a in addrs))


@command("getent", "pod", "node", "workstation")
def getent(c: Call) -> Result:
    from k8snetviz.questions.connect import lookup

    if len(c.args) < 2 or c.args[0] not in ("hosts", "ahosts", "ahostsv4"):
        return Result.error("getent: the simulator answers getent hosts|ahosts|ahostsv4 NAME", 1)
    s = c.session
    addrs, dns, _ = lookup(s.cluster, source_of(s), c.args[1])
    if not addrs:
        return Result(status=2)
    name = dns.final_name.rstrip(".") if dns is not None and dns.final_name else c.args[1]
    if c.args[0] == "hosts":
        return Result.ok("\n".join(f"{a:<15} {name}" for a in addrs))
    return Result.ok("\n".join(f"{a:<15} {k} {name if k == 'STREAM' else ''}".rstrip()
                               for a in addrs for k in ("STREAM", "DGRAM", "RAW")))


# --- connections ---------------------------------------------------------------------------------------

def _url_parts(url: str) -> tuple[str, str, int, str]:
    m = re.match(r"^(?:(https?)://)?([^/:?#]+|\[[^\]]+\])(?::(\d+))?([^?#]*)?", url)
    if not m:
        raise K8sNetVizError(f"curl: (3) URL rejected: Bad hostname: {url}")
    scheme = m.group(1) or "http"
    host_ = m.group(2)
    port = int(m.group(3)) if m.group(3) else (443 if scheme == "https" else 80)
    return scheme, host_, port, m.group(4) or "/"


_CURL_VALUE = {"-o", "--output", "-w", "--write-out", "-m", "--max-time", "--connect-timeout", "-H", "--header",
               "-X", "--request", "-d", "--data", "--data-raw", "-u", "--user", "-A", "--user-agent", "--resolve",
               "-e", "--referer", "--retry", "-x", "--proxy", "--cacert", "--cert", "--key", "-T", "--upload-file",
               "-b", "--cookie", "-c", "--cookie-jar", "--interface", "-F", "--form"}


@command("curl", "pod", "node", "workstation")
def curl(c: Call) -> Result:
    opts: dict[str, Any] = {}
    headers: dict[str, str] = {}
    urls: list[str] = []
    args = list(c.args)
    i = 0
    while i < len(args):
        a = args[i]
        val = args[i + 1] if i + 1 < len(args) else ""
        if a in _CURL_VALUE or (a.startswith("-") and not a.startswith("--") and len(a) > 2 and a[1] in "owmHXdAu"
                                and a[1:2] != "-"):
            if len(a) > 2 and not a.startswith("--") and a[:2] in ("-o", "-w", "-m", "-H", "-X", "-d"):
                a, val = a[:2], a[2:]
                i -= 1
            if a in ("-o", "--output"):
                opts["output"] = val
            elif a in ("-w", "--write-out"):
                opts["write_out"] = val
            elif a in ("-m", "--max-time"):
                opts["max_time"] = val
            elif a == "--connect-timeout":
                opts["connect_timeout"] = val
            elif a in ("-H", "--header"):
                k, _, v = val.partition(":")
                headers[k.strip()] = v.strip()
            i += 2
            continue
        if a.startswith("--"):
            flag = {"--silent": "silent", "--show-error": "show_error", "--verbose": "verbose", "--head": "head",
                    "--include": "include", "--fail": "fail", "--location": "location", "--insecure": "insecure"}
            if a in flag:
                opts[flag[a]] = True
        elif a.startswith("-") and len(a) > 1:
            for ch in a[1:]:
                key = {"s": "silent", "S": "show_error", "v": "verbose", "I": "head", "i": "include", "f": "fail",
                       "L": "location", "k": "insecure", "4": "", "N": "", "q": ""}.get(ch)
                if key:
                    opts[key] = True
        else:
            urls.append(a)
        i += 1
    if not urls:
        return Result.error("curl: try 'curl --help' or 'curl --manual' for more information", 2)
    s = c.session
    out, err, code = "", "", 0
    for url in urls:
        scheme, host_, port, path = _url_parts(url)
        opts["path"] = path
        opts["host_header"] = headers.get("Host", host_ if port in (80, 443) else f"{host_}:{port}")
        resp = request(s.cluster, source_of(s), f"{scheme}://{host_}:{port}{path}", headers)
        if resp.status in (301, 308) and opts.get("location") and resp.location:
            resp = request(s.cluster, source_of(s), resp.location.replace("https://", "https://", 1), headers)
        o, e, code = ct.curl_output(s.cluster, resp, url, opts)
        if opts.get("output") and opts["output"] not in ("-", "/dev/null"):
            body, _ = ct.page_for(s.cluster, resp.server) if resp.status == 200 else ("", "")
            s.write_file(opts["output"], body)
        out += o
        err += e
    return Result(out, err, code)


@command("wget", "pod", "node", "workstation")
def wget(c: Call) -> Result:
    opts: dict[str, Any] = {}
    urls: list[str] = []
    shorts, words = short_options(list(c.args), "OoTUYPeth")
    for letter, value in shorts:
        if letter == "O":
            opts["output"] = value
        elif letter == "T":
            opts["timeout"] = value
        elif letter == "q":
            opts["quiet"] = True
    i = 0
    while i < len(words):
        a = words[i]
        if a in ("--output-document", "--timeout", "--header", "--user-agent", "--post-data") and \
                i + 1 < len(words):
            if a == "--output-document":
                opts["output"] = words[i + 1]
            elif a == "--timeout":
                opts["timeout"] = words[i + 1]
            i += 2
            continue
        if a.startswith("--timeout="):
            opts["timeout"] = a.split("=", 1)[1]
        elif a.startswith("--output-document="):
            opts["output"] = a.split("=", 1)[1]
        elif a == "--spider":
            opts["spider"] = True
        elif a.startswith("--quiet"):
            opts["quiet"] = True
        elif not a.startswith("-"):
            urls.append(a)
        i += 1
    if not urls:
        return Result.error("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: wget [-cqS] "
                            "[--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] "
                            "[-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...", 1)
    s = c.session
    out, err, code = "", "", 0
    for url in urls:
        scheme, host_, port, path = _url_parts(url)
        resp = request(s.cluster, source_of(s), f"{scheme}://{host_}:{port}{path}")
        o, e, code = ct.wget_output(s.cluster, resp, url, opts)
        target = opts.get("output")
        if code == 0 and target != "-" and not opts.get("spider"):
            body, _ = ct.page_for(s.cluster, resp.server)
            s.write_file(target or "index.html", body)
        out += o
        err += e
    return Result(out, err, code)


@command("nc", "pod", "node", "workstation")
@command("netcat", "pod", "node", "workstation")
@command("ncat", "pod", "node", "workstation")
def nc(c: Call) -> Result:
    shorts, rest = short_options(list(c.args), "IiMmOPpqsTVWwXx")
    flags = "".join(letter for letter, _ in shorts)
    words = [a for a in rest if not a.startswith("-")]
    if len(words) < 2:
        return Result.error("usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n"
                            "\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n"
                            "\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n"
                            "\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n"
                            "\t  [destination] [port]", 1)
    s = c.session
    udp = "u" in flags
    ports = words[1]
    lo, _, hi = ports.partition("-")
    if not lo.isdigit():
        return Result.error(f"nc: port number invalid: {ports}", 1)
    out, err, code = "", "", 0
    for port in range(int(lo), int(hi or lo) + 1):
        conn = connect(s.cluster, source_of(s), words[0], port, "UDP" if udp else "TCP")
        o, e, code = ct.nc_output(conn, busybox=is_busybox(s), verbose="v" in flags, udp=udp)
        out += o
        err += e
    return Result(out, err, code)


@command("telnet", "pod", "node", "workstation")
def telnet(c: Call) -> Result:
    words = [a for a in c.args if not a.startswith("-")]
    if not words:
        return Result.error("usage: telnet [-4] [-6] [-8] [-E] [-L] [-a] [-d] [-e char] [-l user] [host [port]]", 1)
    s = c.session
    port = int(words[1]) if len(words) > 1 and words[1].isdigit() else 23
    conn = connect(s.cluster, source_of(s), words[0], port)
    if conn.outcome == "open":
        return Result.ok(f"Trying {conn.address}...\nConnected to {words[0]}.\nEscape character is '^]'.\n"
                         "Connection closed by foreign host.")
    if conn.outcome == "unresolved":
        return Result.error(f"telnet: could not resolve {words[0]}/{port}: Name or service not known")
    why = "Connection refused" if conn.outcome == "refused" else "Connection timed out"
    return Result.error(f"Trying {conn.address}...\ntelnet: Unable to connect to remote host: {why}")


@command("ping", "pod", "node", "workstation")
def ping(c: Call) -> Result:
    count = 4
    words = []
    args = list(c.args)
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-c" and i + 1 < len(args) and args[i + 1].isdigit():
            count = int(args[i + 1])
            i += 2
            continue
        if a.startswith("-c") and a[2:].isdigit():
            count = int(a[2:])
        elif a in ("-W", "-w", "-i", "-s", "-t", "-I") and i + 1 < len(args):
            i += 2
            continue
        elif not a.startswith("-"):
            words.append(a)
        i += 1
    if not words:
        return Result.error("ping: usage error: Destination address required", 1)
    s = c.session
    conn = connect(s.cluster, source_of(s), words[0], None, "ICMP")
    return Result(*ct.ping_output(conn, count, busybox=is_busybox(s)))


@command("traceroute", "pod", "node", "workstation")
@command("tracepath", "pod", "node", "workstation")
def traceroute(c: Call) -> Result:
    words = [a for a in c.args if not a.startswith("-")]
    if not words:
        return Result.error("Usage: traceroute [-46dFITnreAUDV] [-f first_ttl] host", 1)
    s = c.session
    conn = connect(s.cluster, source_of(s), words[0], 33434, "UDP")
    if conn.address is None:
        return Result.error(f"{words[0]}: Name or service not known\nCannot handle \"host\" cmdline arg "
                            f"`{words[0]}' on position 1 (argc 1)", 2)
    lines = [f"traceroute to {words[0]} ({conn.address}), 30 hops max, 46 byte packets"]
    n = 0
    if conn.trace is not None:
        for h in conn.trace.request_hops:
            if h.action == "forward" and h.at.startswith("node/"):
                n += 1
                node = s.cluster.nodes.get(h.at[5:])
                lines.append(f" {n}  {node.internal_ip if node else h.at}  0.010 ms  0.008 ms  0.007 ms")
    if conn.outcome in ("open", "refused"):
        lines.append(f" {n + 1}  {conn.address}  0.012 ms  0.009 ms  0.008 ms")
    else:
        lines += [f" {k}  *  *  *" for k in range(n + 1, n + 4)]
    return Result.ok("\n".join(lines))


_ = Connection
