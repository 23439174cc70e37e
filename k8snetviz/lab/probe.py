"""The pod server's client: one connection (or datagram) to a pod server, and the JSON line it answers.

Standard library only, and run by its file path (``python -I -S …/probe.py tcp://IP:PORT``) inside a lab
namespace, so a probe starts in a few milliseconds: run as ``-m k8snetviz.lab.podserver`` it imported
the whole package first (the simulator, YAML, Graphviz), most of a second of CPU, and eight probes side
by side on a busy machine ran past their deadline. Nothing here may import from ``k8snetviz``.

>>> parse_target("tcp://10.244.1.2:80")
('tcp', '10.244.1.2', 80)
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Answer", "parse_target", "ask_here", "main", "PATH"]

PATH = Path(__file__).resolve()  # what the lab runs, by path, inside a namespace


@dataclass(frozen=True)
class Answer:
    """What a client got: the pod's reply, or why there was none (timeout, refused, ...)."""

    ok: bool
    pod: str = ""
    peer: str = ""
    local: str = ""
    proto: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_target(target: str) -> tuple[str, str, int]:
    """``tcp://IP:PORT`` or ``udp://IP:PORT`` -> (proto, ip, port); anything else is a ValueError."""
    proto, sep, rest = target.partition("://")
    host, colon, port = rest.rpartition(":")
    if not sep or proto not in ("tcp", "udp") or not colon or not port.isdigit():
        raise ValueError(f"invalid target {target!r}: want tcp://IP:PORT or udp://IP:PORT")
    ipaddress.IPv4Address(host)  # the lab speaks IPv4 only
    return proto, host, int(port)


def ask_here(proto: str, ip: str, port: int, timeout: float = 2.0) -> Answer:
    """Ask the pod server at ip:port from the current namespace."""
    try:
        if proto == "tcp":
            with socket.create_connection((ip, port), timeout=timeout) as s:
                s.settimeout(timeout)
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.connect((ip, port))  # so an ICMP port-unreachable surfaces as "refused"
                s.send(b"?\n")
                buf = s.recv(4096)
    except TimeoutError:
        return Answer(False, proto=proto, error="timed out")
    except ConnectionRefusedError:
        return Answer(False, proto=proto, error="connection refused")
    except OSError as exc:
        return Answer(False, proto=proto, error=exc.strerror or str(exc))
    try:
        doc = json.loads(buf.decode())
    except ValueError:
        return Answer(False, proto=proto, error=f"not a pod server reply: {buf[:80]!r}")
    return Answer(True, doc.get("pod", ""), doc.get("peer", ""), doc.get("local", ""), proto)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the answer as one JSON line; exit 0 when a pod server answered, 1 when none did."""
    ap = argparse.ArgumentParser(prog="python3 probe.py", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("target", metavar="tcp://IP:PORT")
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args(argv)
    try:
        proto, ip, port = parse_target(args.target)
    except ValueError as exc:
        print(f"probe: {exc}", file=sys.stderr)
        return 2
    answer = ask_here(proto, ip, port, args.timeout)
    print(json.dumps(answer.to_dict()), flush=True)
    return 0 if answer.ok else 1


if __name__ == "__main__":
    sys.exit(main())
