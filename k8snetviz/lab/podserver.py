"""A tiny server for each pod namespace: it says which pod answered and whom it saw.

Each TCP connection and each UDP datagram gets one JSON line back::

    {"pod": "default/web", "peer": "10.244.1.1:40512", "local": "10.244.2.3:80", "proto": "tcp"}

``peer`` is the source address the pod's socket sees - after any DNAT/SNAT on the way -
so the lab can compare it with the simulator's ``final.src``. Standard library only.

Server, inside a pod namespace (prints one ``ready`` line when bound, exits on SIGTERM
or after ``--lifetime`` seconds)::

    ip netns exec knv-demo-web python3 -m k8snetviz.lab.podserver --name default/web --tcp 80 --udp 53

Client, from a lab namespace: :func:`ask`, which runs :mod:`k8snetviz.lab.probe` (standard library only,
by its path, so it starts at once) there; or ``--ask tcp://10.244.1.2:80``.

>>> parse_target("tcp://10.244.1.2:80")
('tcp', '10.244.1.2', 80)
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import struct
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from k8snetviz.lab import probe
from k8snetviz.lab.command import in_netns, run
from k8snetviz.lab.errors import CommandError, LabError
from k8snetviz.lab.probe import Answer, ask_here, parse_target
from k8snetviz.lab.serving import StopFlag, announce_ready
from k8snetviz.lab.state import NETNS_PREFIX

if TYPE_CHECKING:
    import subprocess

    from k8snetviz.lab.netns import Lab

__all__ = ["Answer", "serve", "ask_here", "ask", "start", "parse_target", "main"]

DEFAULT_LIFETIME = 3600.0
_IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value when Python lacks the name


# -- server ------------------------------------------------------------------------------------
def _reply(pod: str, peer: tuple[str, int], local: tuple[str, int], proto: str) -> bytes:
    doc = {"pod": pod, "peer": f"{peer[0]}:{peer[1]}", "local": f"{local[0]}:{local[1]}", "proto": proto}
    return (json.dumps(doc) + "\n").encode()


def serve(
    name: str,
    tcp_ports: Sequence[int] = (),
    udp_ports: Sequence[int] = (),
    *,
    lifetime: float = DEFAULT_LIFETIME,
    ready: IO[str] | None = None,
) -> int:
    """Answer on the given ports until SIGTERM/SIGINT or ``lifetime`` seconds; return 0."""
    if not tcp_ports and not udp_ports:
        raise LabError("podserver needs at least one --tcp or --udp port")
    sel = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    for port in tcp_ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "tcp")
        socks.append(s)
    for port in udp_ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)  # learn each datagram's destination
        s.bind(("0.0.0.0", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "udp")
        socks.append(s)

    stop = StopFlag()
    announce_ready(ready, {"pod": name, "tcp": list(tcp_ports), "udp": list(udp_ports)})
    deadline = time.monotonic() + lifetime
    try:
        while not stop:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    if key.data == "tcp":
                        conn, peer = sock.accept()
                        with conn:
                            conn.settimeout(1.0)
                            conn.sendall(_reply(name, peer, conn.getsockname(), "tcp"))
                    else:
                        data, anc, _flags, peer = sock.recvmsg(2048, socket.CMSG_SPACE(12))
                        local_ip = "0.0.0.0"
                        for level, typ, cdata in anc:
                            if level == socket.IPPROTO_IP and typ == _IP_PKTINFO and len(cdata) >= 12:
                                # struct in_pktinfo {int ifindex; in_addr spec_dst; in_addr addr;}
                                local_ip = socket.inet_ntoa(struct.unpack("i4s4s", cdata[:12])[2])
                        local = (local_ip, sock.getsockname()[1])
                        sock.sendto(_reply(name, peer, local, "udp"), peer)
                except OSError:
                    continue  # one broken client must not stop the server
    finally:
        for s in socks:
            s.close()
        sel.close()
    return 0


# -- client ------------------------------------------------------------------------------------
def _child_env() -> dict[str, str]:
    """The environment for ``python -m k8snetviz.lab.podserver`` in a namespace."""
    root = str(Path(__file__).resolve().parents[2])  # the directory holding k8snetviz/
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _require_lab_netns(netns: str) -> None:
    # the client only runs inside the lab's own namespaces, which have no way out to the host
    if not netns.startswith(NETNS_PREFIX):
        raise LabError(f"refusing to run the pod client in {netns!r}: not a lab namespace")


def ask(netns: str, proto: str, ip: str, port: int, timeout: float = 2.0) -> Answer:
    """Ask the pod server at ip:port from inside lab namespace ``netns``."""
    _require_lab_netns(netns)
    # -I -S: no site-packages, no PYTHON* variables, not the script's folder on sys.path: the probe needs none
    argv = in_netns(netns, [sys.executable, "-I", "-S", str(probe.PATH), f"{proto}://{ip}:{port}",
                            "--timeout", str(timeout)])
    done = run(argv, check=False, timeout=timeout + 10)
    try:
        doc = json.loads(done.stdout.strip().splitlines()[-1])
        return Answer(**doc)
    except (ValueError, IndexError, TypeError):
        raise CommandError(argv, done.stderr or done.stdout, done.returncode) from None


def start(
    lab: Lab,
    netns: str,
    name: str,
    tcp_ports: Sequence[int] = (80,),
    udp_ports: Sequence[int] = (),
    *,
    lifetime: float = DEFAULT_LIFETIME,
    ready_timeout: float = 10.0,
) -> subprocess.Popen[str]:
    """Start a pod server in ``netns`` (recorded by the lab, killed on teardown); wait until bound."""
    argv = [sys.executable, "-m", "k8snetviz.lab.podserver", "--name", name, "--lifetime", str(lifetime)]
    for p in tcp_ports:
        argv += ["--tcp", str(p)]
    for p in udp_ports:
        argv += ["--udp", str(p)]
    proc = lab.spawn(netns, argv, env=_child_env())
    lab.wait_ready(proc, netns, f"pod server {name}", ready_timeout)
    return proc


# -- command line --------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m k8snetviz.lab.podserver", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--name", help="the pod, NAMESPACE/NAME, named in every reply")
    ap.add_argument("--tcp", type=int, action="append", default=[], metavar="PORT")
    ap.add_argument("--udp", type=int, action="append", default=[], metavar="PORT")
    ap.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME, help="exit after this many seconds")
    ap.add_argument("--ask", metavar="tcp://IP:PORT", help="client mode: ask a pod server, print its reply")
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args(argv)
    try:
        if args.ask:
            proto, ip, port = parse_target(args.ask)
            answer = ask_here(proto, ip, port, args.timeout)
            print(json.dumps(answer.to_dict()), flush=True)
            return 0 if answer.ok else 1
        if not args.name:
            ap.error("--name is required to serve")
        return serve(args.name, args.tcp, args.udp, lifetime=args.lifetime, ready=sys.stdout)
    except (LabError, ValueError, OSError) as exc:
        print(f"podserver: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
