"""What the terminal's changes rest on: the model honours objects the scenario holds in place of kubeadm's,
the DaemonSet controller respects a template's nodeSelector, the kernel applies a learner's iptables
commands, and the session's state rebuilds a cluster identical to the one it started from.
"""

from __future__ import annotations

import pytest

import k8snetviz
from k8snetviz.agents.writes import IptablesEdit, Owner
from k8snetviz.course.shell.state import ClusterState, ObjectKey
from k8snetviz.kernel.netfilter import Ruleset, RulesetError
from k8snetviz.questions.resolve import resolve

CORE_DNS_AT_ZERO = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 0
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers: [{name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.3}]
"""


def test_a_scenarios_own_coredns_replaces_kubeadms() -> None:
    c = k8snetviz.load("kind-default", CORE_DNS_AT_ZERO)
    assert not [p for p in c.pods.values() if p.labels.get("k8s-app") == "kube-dns"]
    assert [m.name for m in c.system if m.kind == "Deployment"] == []
    # kube-dns has no endpoints, so kube-proxy rejects the query and the name does not resolve.
    assert not resolve(c, "default/client", "kubernetes.default").ok


def test_a_daemonset_runs_only_on_nodes_its_nodeselector_matches() -> None:
    # The DaemonSet controller schedules a pod on each node the template's nodeSelector matches
    # (kubernetes.io/docs/concepts/workloads/controllers/daemonset: "Running Pods on select Nodes").
    ds = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {kubernetes.io/hostname: kind-worker2}
      containers: [{name: agent, image: busybox}]
"""
    c = k8snetviz.load("kind-default", ds)
    assert sorted(p.node_name for p in c.pods.values() if p.labels.get("app") == "agent") == ["kind-worker2"]
    none = k8snetviz.load("kind-default", ds.replace("kind-worker2", "no-such-node"))
    assert not [p for p in none.pods.values() if p.labels.get("app") == "agent"]


def test_iptables_edits_as_the_iptables_command_makes_them() -> None:
    rs = Ruleset(("filter",))
    owner = Owner("learner", node="n")
    rs.edit(IptablesEdit("", "filter", "-A", "FORWARD", ("-d", "10.0.0.0/8", "-j", "DROP"), owner=owner))
    rs.edit(IptablesEdit("", "filter", "-I", "FORWARD", ("-p", "tcp", "-j", "ACCEPT"), 1, owner))
    assert [r.line for r in rs.rules("filter", "FORWARD")] == ["-A FORWARD -p tcp -j ACCEPT",
                                                               "-A FORWARD -d 10.0.0.0/8 -j DROP"]
    assert rs.rules("filter", "FORWARD")[0].owner == owner
    # -D takes the rule as written or its number; a rule that is not there is iptables's error.
    rs.edit(IptablesEdit("", "filter", "-D", "FORWARD", ("-d", "10.0.0.0/8", "-j", "DROP")))
    with pytest.raises(RulesetError, match="Bad rule"):
        rs.edit(IptablesEdit("", "filter", "-D", "FORWARD", ("-d", "10.0.0.0/8", "-j", "DROP")))
    rs.edit(IptablesEdit("", "filter", "-N", "MINE"))
    rs.edit(IptablesEdit("", "filter", "-A", "FORWARD", ("-j", "MINE")))
    with pytest.raises(RulesetError, match="Too many links"):
        rs.edit(IptablesEdit("", "filter", "-X", "MINE"))
    rs.edit(IptablesEdit("", "filter", "-F", "FORWARD"))
    rs.edit(IptablesEdit("", "filter", "-X", "MINE"))
    rs.edit(IptablesEdit("", "filter", "-P", "FORWARD", ("DROP",)))
    assert rs.save(header=False).splitlines()[:4] == ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]",
                                                      ":OUTPUT ACCEPT [0:0]"]


@pytest.mark.parametrize("scenario", k8snetviz.shipped_scenarios())
def test_the_first_change_rebuilds_the_same_cluster(scenario: str) -> None:
    """Owning kubeadm's objects (a session's first change) builds exactly the cluster it started from."""
    c = k8snetviz.load(scenario)
    st = ClusterState(c)
    again = st.change()
    assert again is not c
    assert again.get("pods", all_namespaces=True, wide=True) == c.get("pods", all_namespaces=True, wide=True)
    assert again.get("svc", all_namespaces=True, wide=True) == c.get("svc", all_namespaces=True, wide=True)
    assert all(again.iptables(n) == c.iptables(n) for n in c.nodes)
    assert all(str(again.netns[k].routes) == str(c.netns[k].routes) for k in c.netns)


def test_a_shared_cluster_is_copied_before_the_first_write() -> None:
    from k8snetviz.agents.writes import RouteDel

    c = k8snetviz.load("two-node-bridge")
    st = ClusterState(c)
    st.write(RouteDel("node/node-a", "10.244.2.0/24", Owner("learner", node="node-a")))
    assert c.netns["node/node-a"].routes.find("10.244.2.0/24") is not None  # the caller's cluster is untouched
    assert st.cluster.netns["node/node-a"].routes.find("10.244.2.0/24") is None
    # Deleting an object kubeadm made keeps it deleted across rebuilds.
    st.change(delete=[ObjectKey("Service", "kube-system", "kube-dns")])
    assert "kube-system/kube-dns" not in st.cluster.services
    st.change()
    assert "kube-system/kube-dns" not in st.cluster.services
    assert st.cluster.netns["node/node-a"].routes.find("10.244.2.0/24") is None


KUBE_PROXY = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system, labels: {k8s-app: kube-proxy}}
spec:
  selector: {matchLabels: {k8s-app: kube-proxy}}
  template:
    metadata: {labels: {k8s-app: kube-proxy}}
    spec:
      hostNetwork: true
      nodeSelector: {kubernetes.io/os: linux}
      tolerations: [{operator: Exists}]
      containers: [{name: kube-proxy, image: registry.k8s.io/kube-proxy:v1.33.1}]
"""


def test_service_rules_exist_only_where_kube_proxy_runs() -> None:
    running = k8snetviz.load("services", KUBE_PROXY)
    assert len([p for p in running.pods.values() if p.labels.get("k8s-app") == "kube-proxy"]) == 3
    assert running.trace("default/client", "svc/default/web:80").delivered
    # A nodeSelector no node matches: the DaemonSet runs no pod, so no node has kube-proxy's rules and a
    # cluster IP is just an address nothing owns.
    stopped = k8snetviz.load("services", KUBE_PROXY.replace("linux", "windows"))
    assert not [p for p in stopped.pods.values() if p.labels.get("k8s-app") == "kube-proxy"]
    assert "KUBE-SERVICES" not in stopped.iptables("kind-worker")
    t = stopped.trace("default/client", "svc/default/web:80")
    assert not t.delivered and t.verdict == "no-route"


def test_a_readiness_probe_on_a_port_the_container_does_not_listen_on_keeps_the_pod_unready() -> None:
    # The kubelet marks a container Ready only when its readiness probe succeeds; a probe to a port nothing
    # listens on fails (connection refused) and the EndpointSlice controller lists the pod as not ready
    # (kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes).
    pod = """\
apiVersion: v1
kind: Pod
metadata: {name: probe, labels: {app: probe}}
spec:
  containers:
  - name: web
    image: nginx
    ports: [{containerPort: 80, name: http}]
    readinessProbe: {httpGet: {path: /, port: PORT}}
---
apiVersion: v1
kind: Service
metadata: {name: probe}
spec:
  selector: {app: probe}
  ports: [{port: 80}]
"""
    good = k8snetviz.load("services", pod.replace("PORT", "80"))
    assert good.pod("probe").ready and good.trace("default/client", "svc/default/probe:80").delivered
    for port in ("8080", "metrics"):
        bad = k8snetviz.load("services", pod.replace("PORT", port))
        assert not bad.pod("probe").ready
        assert bad.trace("default/client", "svc/default/probe:80").verdict == "rejected"
