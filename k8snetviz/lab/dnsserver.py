"""A DNS server for the lab: the simulated cluster DNS answering real queries on UDP and TCP port 53.

Run inside a CoreDNS pod's namespace it answers as :class:`~k8snetviz.agents.coredns.corefile.CoreDNS` does for
the scenario (``--role coredns``); ``--role upstream`` answers as the outside world of
``spec.upstreamDNS`` (the node's resolver), ``--role server:IP`` as one named server of it. Every
query is logged, before it is answered, as one JSON line ``{"name": ..., "type": ..., "proto": ...}``,
so the lab can compare the names a real resolver asks with the simulator's plan
(:func:`k8snetviz.questions.resolve.query_plan`). Wire format by dnslib (the ``lab`` extra, which the
``test`` extra includes): it is imported where packets are made, so ``lab down``, the record and the
query log work without it, and :func:`require_dnslib` refuses ``lab up`` in one line when it is missing::

    ip netns exec knv-demo-pod-kube-system-coredns-0 python3 -m k8snetviz.lab.dnsserver dns --log /tmp/q.log

:func:`glibc_queries` runs a real ``getaddrinfo`` inside a lab namespace and returns the queries the
server received for it, in order, with what glibc returned.

>>> reply = answer_packet(_example_query(), lambda name, qtype: _example_answer(name, qtype))
>>> from dnslib import DNSRecord
>>> [str(rr.rdata) for rr in DNSRecord.parse(reply).rr]
['10.96.0.20']
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from k8snetviz.agents.coredns.zone import Answer
from k8snetviz.lab.errors import LabError, MissingExtra
from k8snetviz.lab.serving import StopFlag, announce_ready
from k8snetviz.lab.state import NETNS_PREFIX

if TYPE_CHECKING:
    import subprocess

    from dnslib import RR

    from k8snetviz.lab.netns import Lab

__all__ = [
    "require_dnslib",
    "ROLES",
    "DEFAULT_LIFETIME",
    "NSSWITCH_CONF",
    "LoggedQuery",
    "GlibcLookup",
    "DNSServerProcess",
    "answer_function",
    "answer_packet",
    "serve",
    "start",
    "launch",
    "wait_ready",
    "prepare_resolver",
    "read_log",
    "glibc_queries",
    "main",
]

ROLES = ("coredns", "upstream", "server:IP")
DEFAULT_LIFETIME = 3600.0
# What a pod image has (Debian's default minus mdns): files, then DNS. The host may list mdns4_minimal
# with [NOTFOUND=return], which would stop every *.local name before DNS is asked.
NSSWITCH_CONF = "hosts: files dns\n"
_UDP_PLAIN = 512  # without EDNS0 a UDP answer must fit in 512 bytes (RFC 1035)

Lookup = Callable[[str, str], Answer]


# --- answering ---------------------------------------------------------------------------------------


def answer_function(scenario: str, role: str = "coredns") -> Lookup:
    """The lookup the server answers with: CoreDNS for the scenario, or a server outside the cluster."""
    import k8snetviz
    from k8snetviz.questions.resolve import cluster_dns

    dns = cluster_dns(k8snetviz.load(scenario))
    if role == "coredns":
        return dns.coredns.query
    if role == "upstream":
        return dns.public.lookup
    if role.startswith("server:"):
        ip = role.split(":", 1)[1]
        if ip not in dns.servers:
            known = ", ".join(sorted(dns.servers)) or "none"
            raise LabError(f"spec.upstreamDNS names no server {ip} (servers: {known})")
        return dns.servers[ip].lookup
    raise LabError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def require_dnslib() -> None:
    """Refuse, in one line saying what to install, when dnslib (the DNS servers' wire format) is missing."""
    if importlib.util.find_spec("dnslib") is None:
        raise MissingExtra("dnslib", "lab", "the lab's DNS servers")


def _rr(record: Any) -> list[RR]:
    from dnslib import RR

    return RR.fromZone(str(record))


def answer_packet(data: bytes, lookup: Lookup, *, tcp: bool = False,
                  log: Callable[[str, str], None] | None = None) -> bytes | None:
    """The reply to one query message (None for a message that is not a query)."""
    from dnslib import QTYPE, RCODE, DNSError, DNSRecord

    try:
        request = DNSRecord.parse(data)
    except (DNSError, struct.error, IndexError, ValueError):
        return None
    if request.header.qr or not request.questions:
        return None
    q = request.q
    name, qtype = str(q.qname), QTYPE.get(q.qtype)
    if log is not None:
        log(name, str(qtype))  # before answering: the client waits for the reply, so the log is complete
    reply = request.reply(ra=0, aa=0)
    try:
        result = lookup(name, str(qtype))
    except Exception:  # a query the model cannot answer is SERVFAIL, as CoreDNS's errors plugin would give
        reply.header.rcode = RCODE.SERVFAIL
        return reply.pack()
    reply.header.rcode = getattr(RCODE, result.rcode, RCODE.SERVFAIL)
    reply.header.aa = int(result.authoritative)
    reply.header.ra = int(result.recursion_available)
    for r in result.records:
        reply.rr.extend(_rr(r))
    for r in result.authority:
        reply.auth.extend(_rr(r))
    for r in result.additional:
        reply.ar.extend(_rr(r))
    packed = reply.pack()
    if not tcp:
        edns = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
        limit = max(_UDP_PLAIN, edns[0].rclass) if edns else _UDP_PLAIN
        if len(packed) > limit:
            # Truncated: the client retries over TCP (as CoreDNS does, with the answer section dropped).
            short = request.reply(ra=reply.header.ra, aa=reply.header.aa)
            short.header.rcode = reply.header.rcode
            short.header.tc = 1
            packed = short.pack()
    return packed


# --- the server ------------------------------------------------------------------------------------


class _Log:
    def __init__(self, out: IO[str] | None) -> None:
        self.out = out
        self.lock = threading.Lock()

    def write(self, proto: str, peer: str = "") -> Callable[[str, str], None]:
        def log(name: str, qtype: str) -> None:
            if self.out is None:
                return
            # the client's address and a CLOCK_MONOTONIC time (one clock for every namespace): the lab
            # tells apart the lookups of several pods and merges the logs of several servers with them
            entry = {"name": name, "type": qtype, "proto": proto, "peer": peer, "t": time.monotonic()}
            with self.lock:
                self.out.write(json.dumps(entry) + "\n")
                self.out.flush()

        return log


def _read_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def _serve_tcp(conn: socket.socket, lookup: Lookup, log: Callable[[str, str], None]) -> None:
    with conn:
        conn.settimeout(2.0)
        try:
            while True:  # a client may send several queries on one connection
                (size,) = struct.unpack("!H", _read_exact(conn, 2))
                reply = answer_packet(_read_exact(conn, size), lookup, tcp=True, log=log)
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except (OSError, ConnectionError, struct.error):
            return


def serve(lookup: Lookup, *, address: str = "0.0.0.0", port: int = 53, log: IO[str] | None = None,
          lifetime: float = DEFAULT_LIFETIME, ready: IO[str] | None = None) -> int:
    """Answer DNS on UDP and TCP ``address:port`` until SIGTERM/SIGINT or ``lifetime`` seconds.

    UDP queries are answered one at a time, in arrival order, so the log keeps the order a resolver
    sent them in (glibc sends A then AAAA on one socket).
    """
    logger = _Log(log)
    sel = selectors.DefaultSelector()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((address, port))
    udp.setblocking(False)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((address, port))
    tcp.listen(64)
    tcp.setblocking(False)
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "tcp")
    stop = StopFlag()
    announce_ready(ready, {"address": address, "port": port})
    deadline = time.monotonic() + lifetime
    try:
        while not stop:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(timeout=min(left, 0.1)):  # a SIGTERM is seen within 0.1 s
                try:
                    if key.data == "udp":
                        data, peer = udp.recvfrom(65535)
                        reply = answer_packet(data, lookup, log=logger.write("udp", peer[0]))
                        if reply is not None:
                            udp.sendto(reply, peer)
                    else:
                        conn, client = tcp.accept()
                        conn.setblocking(True)
                        threading.Thread(target=_serve_tcp, args=(conn, lookup, logger.write("tcp", client[0])),
                                         daemon=True).start()
                except OSError:
                    continue  # one broken client must not stop the server
    finally:
        sel.close()
        udp.close()
        tcp.close()
    return 0


# --- from the lab ------------------------------------------------------------------------------------


@dataclass
class DNSServerProcess:
    """A running server: its process, the namespace it serves in, and its query log."""

    netns: str
    log: Path
    process: subprocess.Popen[str] = field(repr=False)


def _child_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])  # the directory holding k8snetviz/
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def start(lab: Lab, netns: str, scenario: str, *, role: str = "coredns", address: str = "0.0.0.0",
          port: int = 53, lifetime: float = DEFAULT_LIFETIME, ready_timeout: float = 20.0) -> DNSServerProcess:
    """Start the DNS server in ``netns`` (recorded by the lab, killed on teardown); wait until it is bound."""
    server = launch(lab, netns, scenario, role=role, address=address, port=port, lifetime=lifetime)
    wait_ready(lab, server, ready_timeout)
    return server


def launch(lab: Lab, netns: str, scenario: str, *, role: str = "coredns", address: str = "0.0.0.0",
           port: int = 53, lifetime: float = DEFAULT_LIFETIME) -> DNSServerProcess:
    """Start the DNS server in ``netns`` without waiting: several servers load their model side by side."""
    log = lab.workdir / f"{netns}.dns-queries.jsonl"
    log.touch()
    argv = [sys.executable, "-m", "k8snetviz.lab.dnsserver", scenario, "--role", role, "--address", address,
            "--port", str(port), "--log", str(log), "--lifetime", str(lifetime)]
    return DNSServerProcess(netns, log, lab.spawn(netns, argv, env=_child_env()))


def wait_ready(lab: Lab, server: DNSServerProcess, ready_timeout: float = 20.0) -> None:
    """Wait for a launched server's ``ready`` line; a server that does not come up is a LabError."""
    lab.wait_ready(server.process, server.netns, "DNS server", ready_timeout)


def prepare_resolver(lab: Lab, netns: str, resolv_conf: str, hosts: str = "127.0.0.1\tlocalhost\n") -> None:
    """Give ``netns`` a pod's resolver files: resolv.conf, hosts, and nsswitch.conf (``files dns``)."""
    lab.write_netns_file(netns, "resolv.conf", resolv_conf)
    lab.write_netns_file(netns, "hosts", hosts)
    lab.write_netns_file(netns, "nsswitch.conf", NSSWITCH_CONF)


@dataclass(frozen=True)
class LoggedQuery:
    """One query as the server received it: name, type, transport, client address, monotonic time."""

    name: str
    type: str
    proto: str = "udp"
    peer: str = ""
    t: float = 0.0


def read_log(path: Path, offset: int = 0) -> list[LoggedQuery]:
    """The queries logged in ``path`` from byte ``offset`` on."""
    with open(path, encoding="utf-8") as f:
        f.seek(offset)
        return [LoggedQuery(**json.loads(line)) for line in f if line.strip()]


@dataclass(frozen=True)
class GlibcLookup:
    """A real getaddrinfo: the queries the server saw for it, in order, and what glibc returned."""

    queries: tuple[LoggedQuery, ...]
    addresses: tuple[str, ...]
    error: str | None = None

    def wire(self) -> list[tuple[str, str]]:
        return [(q.name, q.type) for q in self.queries]


_GAI_SCRIPT = """\
import json, socket, sys
family = {"UNSPEC": socket.AF_UNSPEC, "INET": socket.AF_INET, "INET6": socket.AF_INET6}[sys.argv[2]]
try:
    infos = socket.getaddrinfo(sys.argv[1], None, family, socket.SOCK_STREAM)
    out = {"addresses": list(dict.fromkeys(i[4][0] for i in infos)), "error": None}
except socket.gaierror as e:
    out = {"addresses": [], "error": e.strerror}
print(json.dumps(out))
"""


def glibc_queries(lab: Lab, netns: str, name: str, server: DNSServerProcess | Path, *,
                  family: str = "UNSPEC", settle: float = 0.2) -> GlibcLookup:
    """Resolve ``name`` with glibc's getaddrinfo inside ``netns``; the queries ``server`` received, in order.

    ``family``: UNSPEC (A and AAAA per candidate, no AI_ADDRCONFIG), INET or INET6. The namespace
    needs :func:`prepare_resolver` first. Only this lookup should reach the server meanwhile.
    """
    if not netns.startswith(NETNS_PREFIX):
        raise LabError(f"refusing to resolve in {netns!r}: not a lab namespace")
    if family not in ("UNSPEC", "INET", "INET6"):
        raise LabError(f"family must be UNSPEC, INET or INET6, not {family!r}")
    log = server.log if isinstance(server, DNSServerProcess) else server
    offset = log.stat().st_size
    done = lab.run_in(netns, [sys.executable, "-c", _GAI_SCRIPT, name, family], check=False, timeout=60)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise LabError(f"getaddrinfo in {netns} failed: {(done.stderr or done.stdout).strip()[-300:]}") from None
    time.sleep(settle)  # a retransmission in flight would land now
    return GlibcLookup(tuple(read_log(log, offset)), tuple(result["addresses"]), result["error"])


# --- command line ------------------------------------------------------------------------------------


def _example_query() -> bytes:
    from dnslib import DNSRecord

    return DNSRecord.question("web.default.svc.cluster.local", "A").pack()


def _example_answer(name: str, qtype: str) -> Answer:
    from k8snetviz.agents.coredns.zone import DNSService, DNSServicePort, Zone

    web = DNSService("default", "web", cluster_ips=("10.96.0.20",), ports=(DNSServicePort("http", 80),))
    return Zone([web]).lookup(name, qtype)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m k8snetviz.lab.dnsserver",
                                 description=(__doc__ or "").splitlines()[0])
    ap.add_argument("scenario", help="the scenario whose DNS to serve (a path or a shipped name)")
    ap.add_argument("--role", default="coredns", help="coredns | upstream | server:IP (a spec.upstreamDNS server)")
    ap.add_argument("--address", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--log", help="append one JSON line per query received to this file")
    ap.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME, help="exit after this many seconds")
    args = ap.parse_args(argv)
    try:
        lookup = answer_function(args.scenario, args.role)
        log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115 - open while serving
        try:
            return serve(lookup, address=args.address, port=args.port, log=log, lifetime=args.lifetime,
                         ready=sys.stdout)
        finally:
            if log is not None:
                log.close()
    except Exception as exc:  # the one line the lab shows when the server does not come up
        print(f"dnsserver: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
