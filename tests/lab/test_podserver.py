"""The pod server: one JSON line per connection or datagram, naming the pod and the peer it saw."""

from __future__ import annotations

import pytest

from k8snetviz.lab import podserver
from k8snetviz.lab.errors import LabError
from k8snetviz.lab.netns import Lab, _proc_start


def test_target_parsing_refuses_what_it_cannot_dial() -> None:
    assert podserver.parse_target("udp://10.96.0.10:53") == ("udp", "10.96.0.10", 53)
    for bad in ("10.0.0.1:80", "sctp://10.0.0.1:80", "tcp://10.0.0.1", "tcp://host:80"):
        with pytest.raises((LabError, ValueError)):
            podserver.parse_target(bad)


def test_client_runs_only_in_lab_namespaces() -> None:
    with pytest.raises(LabError, match="not a lab namespace"):
        podserver.ask("default", "tcp", "127.0.0.1", 80)


@pytest.mark.lab
def test_server_answers_with_pod_and_peer(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        server, client = lab.add_netns("srv"), lab.add_netns("cli")
        veth = ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", client]
        lab.run_in(server, veth)
        for ns, addr in ((server, "10.9.0.2/24"), (client, "10.9.0.3/24")):
            lab.run_in(ns, ["ip", "addr", "add", addr, "dev", "eth0"])
            lab.run_in(ns, ["ip", "link", "set", "eth0", "up"])
        proc = podserver.start(lab, server, "default/web", [80, 8080], [53])

        tcp = podserver.ask(client, "tcp", "10.9.0.2", 8080)
        assert tcp.ok and tcp.pod == "default/web" and tcp.proto == "tcp"
        assert tcp.local == "10.9.0.2:8080"
        assert tcp.peer.startswith("10.9.0.3:")
        udp = podserver.ask(client, "udp", "10.9.0.2", 53)
        assert udp.ok and udp.local == "10.9.0.2:53" and udp.peer.startswith("10.9.0.3:")

        refused = podserver.ask(client, "tcp", "10.9.0.2", 81)
        assert (refused.ok, refused.error) == (False, "connection refused")
        silent = podserver.ask(client, "tcp", "10.9.0.99", 80, timeout=0.5)  # no one has that address
        assert not silent.ok and silent.error in ("timed out", "No route to host")
        assert proc.poll() is None
    # the server is gone with the lab
    assert _proc_start(proc.pid) is None or proc.poll() is not None


@pytest.mark.lab
def test_server_exits_by_itself_after_its_lifetime(lab_id: str) -> None:
    with Lab(lab_id, keep=False) as lab:
        ns = lab.add_netns("srv")
        proc = podserver.start(lab, ns, "default/brief", [80], lifetime=0.5)
        assert proc.wait(timeout=5) == 0
