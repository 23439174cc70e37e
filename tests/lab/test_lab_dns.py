"""Cluster DNS in the lab: CoreDNS pods answering through kube-proxy, the kubelet's resolv.conf in every pod,
and the queries the real glibc resolver sends compared with the simulator's plan.

Facts pinned here: ``ip netns exec`` bind-mounts /etc/netns/NAME/* over /etc (iproute2's netns.c), so
the pod's resolver reads the kubelet's file; getaddrinfo with AF_INET sends one A query per search
candidate, in the order resolv.conf's search list and ndots give (glibc res_query.c); a pod with
dnsPolicy Default asks the node's resolver, and its query leaves with the node's address (kindnet
masquerades traffic leaving the cluster).
"""

from __future__ import annotations

import subprocess

import pytest

import k8snetviz
from k8snetviz.lab import build as labbuild
from k8snetviz.lab.build import Layout, load_layout
from k8snetviz.lab.dnsverify import DNSRun, dns_clients
from k8snetviz.lab.errors import LabError
from k8snetviz.lab.netns import ETC_NETNS_DIR, down, lab_netns_on_host
from k8snetviz.lab.state import RUN_DIR
from k8snetviz.lab.verify import verify
from k8snetviz.questions.resolve import dns_server_pods, resolv_conf

SCENARIO = "dns"


def _leftovers(lab_id: str) -> list[str]:
    found = [n for n in lab_netns_on_host() if n.startswith(f"knv-{lab_id}-")]
    found += [str(p) for p in RUN_DIR.glob(f"{lab_id}*")]
    found += [str(p) for p in ETC_NETNS_DIR.glob(f"knv-{lab_id}-*")]
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    found += [line for line in ps.splitlines() if "k8snetviz.lab." in line and f"knv-{lab_id}-" in line]
    return found


def _dns_rows(report):  # noqa: ANN001, ANN202 - a test helper
    return [c for c in report.checks if c.what.startswith("DNS ")]


@pytest.mark.lab
def test_dns_scenario_up_verify_down(lab_id: str) -> None:
    cluster = k8snetviz.load(SCENARIO)
    lay = labbuild.up(SCENARIO, lab_id=lab_id)
    try:
        # a DNS server in each CoreDNS pod, and the outside world's at the gateway (legacy's nameserver)
        assert set(lay.dns) == {f"pod/{p.key}" for p in dns_server_pods(cluster)} | {"gateway"}
        assert lay.dns["gateway"]["address"] == "172.18.0.1"
        for key in ("app/client", "app/legacy", "app/custom"):
            ns = lay.netns[f"pod/{key}"]
            seen = subprocess.run(["ip", "netns", "exec", ns, "cat", "/etc/resolv.conf"], capture_output=True,
                                  text=True, check=True).stdout
            assert seen == resolv_conf(cluster, key)
        assert "pod/data/node-agent" not in lay.netns  # hostNetwork: the node's files, none written
        report = verify(cluster, lab_id)
        rows = _dns_rows(report)
        assert rows and all(c.agree for c in rows), "\n" + report.text()
        assert report.all_agree, "\n" + report.text()
        text = "\n".join(c.what for c in rows)
        for policy in ("(ClusterFirst)", "(Default)", "(None)"):
            assert policy in text
        for label in ("service, own namespace", "service, other namespace", "fully qualified", "outside name",
                      "headless service", "ExternalName"):
            assert f"[{label}]" in text
        legacy = next(c for c in rows if "app/legacy" in c.what and c.what.startswith("DNS queries"))
        assert legacy.real.endswith("from 172.18.0.3")  # the worker's address: masqueraded on the way out

        # the rows can fail: an admin edits one pod's search list behind the simulator's back
        custom = lay.netns["pod/app/custom"]
        edited = resolv_conf(cluster, "app/custom").replace(" data.svc.cluster.local", "")
        (ETC_NETNS_DIR / custom / "resolv.conf").write_text(edited)
        run = DNSRun(cluster, load_layout(lab_id))
        run.start()
        after = {c.what: c for c in run.checks()}
        moved = [w for w, c in after.items() if not c.agree]
        assert "DNS queries: pod/app/custom (None) resolves db.data [service, other namespace]" in moved
        assert all("app/custom" in w for w in moved)
    finally:
        assert down(lab_id) == []
    assert not _leftovers(lab_id)


@pytest.mark.lab
def test_a_dns_server_that_fails_leaves_nothing_behind(lab_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_wait(*args: object, **kwargs: object) -> None:
        raise LabError("injected: the DNS server did not start")

    monkeypatch.setattr(labbuild.dnsserver, "wait_ready", failing_wait)
    with pytest.raises(LabError, match="injected"):
        labbuild.up(SCENARIO, lab_id=lab_id)
    assert not _leftovers(lab_id)


# -- the plan, without root ------------------------------------------------------------------------------
def _layout(cluster, dns: dict[str, dict[str, str]]) -> Layout:  # noqa: ANN001
    netns = {f"pod/{p.key}": f"knv-x-{i}" for i, p in enumerate(cluster.pods.values()) if not p.host_network}
    return Layout("x", "s", "/opt/cni/bin", netns=netns, dns=dns)


def _coredns(cluster) -> dict[str, dict[str, str]]:  # noqa: ANN001
    return {f"pod/{p.key}": {"netns": "n", "address": str(p.ip), "role": "coredns", "log": "/dev/null"}
            for p in dns_server_pods(cluster)}


def test_the_pods_cover_every_dns_policy() -> None:
    cluster = k8snetviz.load(SCENARIO)
    pods = dns_clients(cluster, _layout(cluster, _coredns(cluster)))
    assert sorted(p.dns_policy for p in pods) == ["ClusterFirst", "Default", "None"]
    assert not any(p.host_network or p.namespace == "kube-system" for p in pods)


def test_a_lost_query_is_expected_as_the_walk_says() -> None:
    # broken-route: web's query reaches CoreDNS, the answer is lost at the gateway (no route back)
    cluster = k8snetviz.load("broken-route")
    run = DNSRun(cluster, _layout(cluster, _coredns(cluster)))
    web = [c for c in run.cases if c.pod == "default/web"]
    assert [c.name for c in web] == ["kubernetes.default.svc.cluster.local."]  # one name: each costs 10 s
    exp = run.expected[web[0]]
    assert (exp.path, exp.queries, exp.peer, exp.addresses) == (
        "reply lost", (("kubernetes.default.svc.cluster.local.", "A"),), "10.244.2.2", ())
    # ip-forward-off: node-b drops the query itself, so no server sees it
    cluster = k8snetviz.load("ip-forward-off")
    run = DNSRun(cluster, _layout(cluster, _coredns(cluster)))
    exp = next(run.expected[c] for c in run.cases if c.pod == "default/web")
    assert (exp.path, exp.queries) == ("request lost", ())


def test_a_nameserver_without_a_lab_server_is_a_note() -> None:
    cluster = k8snetviz.load(SCENARIO)
    run = DNSRun(cluster, _layout(cluster, _coredns(cluster)))  # no gateway server in this layout
    assert not any(c.pod == "app/legacy" for c in run.cases)
    assert any("app/legacy" in n and "172.18.0.1" in n for n in run.notes)
