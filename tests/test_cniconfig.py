"""The CNI side of the model: conflists, the plugin chain, the ADD result and host-local's files.

Facts pinned here come from the real plugins run in the lab (Debian containernetworking-plugins
1.1.1, transcripts in k8snetviz/lab/groundtruth.py's output) and from the configurations kind's
kindnetd and kube-flannel.yml write.
"""

from __future__ import annotations

import json

import pytest

import k8snetviz
from k8snetviz.agents.cni import config as cc
from k8snetviz.errors import UsageError


@pytest.fixture(scope="module")
def kind() -> k8snetviz.Cluster:
    return k8snetviz.load("kind-default")


@pytest.fixture(scope="module")
def flannel() -> k8snetviz.Cluster:
    return k8snetviz.load("flannel-vxlan")


@pytest.fixture(scope="module")
def bridge() -> k8snetviz.Cluster:
    return k8snetviz.load("two-node-bridge")


def test_kindnet_file_is_kindnetds_template(kind: k8snetviz.Cluster) -> None:
    f = cc.conflist_file(kind, "kind-worker")
    assert f.path == "/etc/cni/net.d/10-kindnet.conflist"
    conf = json.loads(f.text)
    # kindnetd: cniVersion 0.3.1, ptp then portmap, host-local state on tmpfs, the node's podCIDR
    assert (conf["cniVersion"], conf["name"]) == ("0.3.1", "kindnet")
    assert [p["type"] for p in conf["plugins"]] == ["ptp", "portmap"]
    ipam = conf["plugins"][0]["ipam"]
    assert ipam["ranges"] == [[{"subnet": "10.244.1.0/24"}]]
    assert ipam["dataDir"] == "/run/cni-ipam-state"
    assert ipam["routes"] == [{"dst": "0.0.0.0/0"}]
    assert cc.conflist_file(kind, "kind-worker2").conflist["plugins"][0]["ipam"]["ranges"][0][0]["subnet"] \
        == "10.244.2.0/24"


def test_flannel_file_is_the_same_everywhere_and_the_delegate_carries_the_lease(flannel: k8snetviz.Cluster) -> None:
    files = {cc.conflist_file(flannel, n).text for n in flannel.nodes}
    assert len(files) == 1
    f = cc.conflist_file(flannel, "kind-worker")
    assert f.filename == "10-flannel.conflist"
    assert [p["type"] for p in f.conflist["plugins"]] == ["flannel", "portmap"]
    run = cc.runtime_conflist(flannel, "kind-worker")
    main = run["plugins"][0]
    # flannel's plugin: bridge with mtu from subnet.env (1450 for VXLAN), one route to FLANNEL_NETWORK
    assert (main["type"], main["mtu"], main["isGateway"]) == ("bridge", 1450, True)
    assert main["ipam"]["routes"] == [{"dst": "10.244.0.0/16"}]
    assert "FLANNEL_SUBNET=10.244.1.1/24" in cc.flannel_subnet_env("10.244.1.0/24")


def test_plugin_chain_names_who_assigns_the_address(kind: k8snetviz.Cluster, flannel: k8snetviz.Cluster) -> None:
    chain = cc.plugin_chain(kind, "kind-worker")
    ipam = [p for p in chain if p.role == "ipam"]
    assert [(p.type, p.called_by) for p in ipam] == [("host-local", "ptp")]
    assert chain[0].binary() == "/opt/cni/bin/ptp"
    assert chain[0].binary(cc.CNI_BIN_DIR_DEBIAN) == "/usr/lib/cni/ptp"
    fl = cc.plugin_chain(flannel, "kind-worker")
    assert [p.type for p in fl] == ["flannel", "bridge", "host-local", "portmap"]


def test_env_of_a_plugin_call(kind: k8snetviz.Cluster) -> None:
    env = cc.cni_env(kind, "default/client", "DEL")
    assert env["CNI_COMMAND"] == "DEL" and env["CNI_IFNAME"] == "eth0" and env["CNI_PATH"] == "/opt/cni/bin"
    assert len(env["CNI_CONTAINERID"]) == 64 and env["CNI_NETNS"].startswith("/var/run/netns/cni-")
    assert "K8S_POD_NAME=client" in env["CNI_ARGS"]
    with pytest.raises(UsageError):
        cc.cni_env(kind, "default/client", "UP")


def test_add_result_follows_the_cni_version(kind: k8snetviz.Cluster, bridge: k8snetviz.Cluster) -> None:
    r = cc.add_result(kind, "default/client")
    # ptp (0.3.1): host veth then the pod's eth0; ips carry "version": "4"; the route has no gw
    assert [i["name"] for i in r["interfaces"]][1] == "eth0" and "sandbox" in r["interfaces"][1]
    assert r["ips"] == [{"version": "4", "interface": 1, "address": "10.244.1.3/24", "gateway": "10.244.1.1"}]
    assert r["routes"] == [{"dst": "0.0.0.0/0"}]
    b = cc.add_result(bridge, "default/web")
    # bridge (1.0.0): cni0 first; 1.0.0 dropped "version"; isDefaultGateway puts the gw in the route
    assert b["interfaces"][0]["name"] == "cni0" and b["ips"][0]["interface"] == 2
    assert "version" not in b["ips"][0]
    assert b["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.244.2.1"}]


def test_host_local_files(kind: k8snetviz.Cluster) -> None:
    files = cc.host_local_files(kind, "kind-worker")
    d = "/run/cni-ipam-state/kindnet"
    assert sorted(files) == [f"{d}/10.244.1.2", f"{d}/10.244.1.3", f"{d}/last_reserved_ip.0", f"{d}/lock"]
    pod = kind.pod("default/client")
    assert files[f"{d}/10.244.1.3"] == f"{cc.container_id(pod)}\neth0"
    assert files[f"{d}/last_reserved_ip.0"] == "10.244.1.3"


def test_steps(kind: k8snetviz.Cluster, bridge: k8snetviz.Cluster) -> None:
    add = [str(s) for s in cc.add_steps(kind, "default/client")]
    assert any(s.startswith("[host-local] picks 10.244.1.3") for s in add)
    assert not any("cni0" in s for s in add)
    assert any("attaches" in str(s) and "cni0" in str(s) for s in cc.add_steps(bridge, "default/web"))
    dels = [s.plugin for s in cc.del_steps(kind, "default/client")]
    assert dels[0] == "portmap"  # DEL runs the chain in reverse
    # libcni refuses CHECK below 0.4.0 (kindnet is 0.3.1); the bridge set-up is 1.0.0
    assert "does not support the CHECK command" in cc.check_steps(kind, "default/client")[0].action
    assert cc.check_steps(bridge, "default/web")[0].plugin == "bridge"


def test_lab_demo_skips_cleanly_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # notebook 03's lab cell on Binder: a message, no error, nothing built
    from k8snetviz.lab import demo

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    shown = demo.lab_demo()
    assert shown.rows == [] and "needs root" in shown.text()
    assert "needs root" in shown._repr_mimebundle_()["text/html"]


def test_lab_demo_in_the_browser_says_so_in_one_line_and_points_to_make_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    # notebook 03's lab cell in the static site (JupyterLite, Pyodide reports emscripten): even as "root"
    # nothing is tried
    from k8snetviz.lab import demo

    monkeypatch.setattr("sys.platform", "emscripten")
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr(demo, "build", lambda *a, **k: pytest.fail("the lab was built in a browser"))
    shown = demo.lab_demo(run=True)
    assert shown.rows == [] and "cannot run in a browser" in shown.text() and "make lab" in shown.text()
    assert len(shown.text().strip().splitlines()) == 1


def test_lab_demo_is_an_explicit_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    # Run All as root must not build namespaces: without run=True nothing is built and the note says how.
    from k8snetviz.lab import demo

    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr(demo, "missing_requirements", lambda: [])
    monkeypatch.setattr(demo, "build", lambda *a, **k: pytest.fail("the lab was built without run=True"))
    shown = demo.lab_demo()
    assert shown.rows == [] and "run=True" in shown.text()


def test_course_answers_follow_the_model() -> None:
    from k8snetviz.course import cni_tasks

    conf, binary, nxt = cni_tasks.cni_tasks()[:3]  # the first three tasks of notebook 03
    assert conf.check("/etc/cni/net.d/10-kindnet.conflist").passed
    assert not conf.check("/etc/cni/net.d/10-flannel.conflist").passed
    assert binary.check("/opt/cni/bin/host-local").passed
    assert "does not assign addresses" in binary.check("/opt/cni/bin/ptp").messages[0]
    # two pods on kind-worker (.2, .3): host-local's next is .4, .1 is the gateway
    assert nxt.check("10.244.1.4").passed
    assert "gateway" in nxt.check("10.244.1.1").messages[0]
    assert "taken" in nxt.check("10.244.1.3").messages[0]
