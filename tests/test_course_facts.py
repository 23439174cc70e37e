"""Facts the course teaches, pinned against the model, each with its upstream source.

One section per notebook. A prediction or a paragraph that states one of these facts must stay true; the
model is what answers it.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

import k8snetviz
from k8snetviz.agents.cni import plugin

WEB_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""

NO_BRIDGE_NF = """
apiVersion: k8snetviz.dev/v1alpha1
kind: Scenario
metadata: {name: no-br-nf}
spec:
  overrides:
  - target: node/kind-worker
    bridgeNfCallIptables: false
"""


def _same_node_web(c: k8snetviz.Cluster) -> str:
    client = c.pod("default/client")
    return next(p.key for p in c.pods.values() if p.labels.get("app") == "web" and p.node_name == client.node_name)


# --- 04 Services: DNAT, SNAT, conntrack and br_netfilter ----------------------------------------------------

def test_a_bridged_reply_is_un_natted_when_bridge_nf_call_iptables_is_on() -> None:
    # Linux net/bridge/br_netfilter_hooks.c hands bridged IPv4 frames to the PREROUTING, FORWARD and POSTROUTING
    # hooks when net.bridge.bridge-nf-call-iptables = 1, so conntrack undoes the Service's DNAT on a reply that
    # is bridged from pod to pod; the Kubernetes docs (Network Plugins: "the iptables proxy ... requires
    # bridge-nf-call-iptables") and kubernetes/kubernetes#123464 say the same.
    c = k8snetviz.load("flannel-vxlan", WEB_SERVICE)
    t = c.trace("default/client", "svc/default/web:80", endpoint=_same_node_web(c))
    assert t.delivered
    reply = [h for h in t.hops if h.reply]
    un_nat = [h for h in reply if h.action == "un-nat"]
    assert [h.device for h in un_nat] == ["cni0"] and un_nat[0].src == f"{c.service('web').cluster_ip}:80"
    assert reply[-1].action == "deliver" and reply[-1].src == f"{c.service('web').cluster_ip}:80"


def test_without_bridge_nf_call_iptables_the_reply_keeps_the_pod_address_and_is_dropped() -> None:
    c = k8snetviz.load("flannel-vxlan", WEB_SERVICE + "---" + NO_BRIDGE_NF)
    web = _same_node_web(c)
    t = c.trace("default/client", "svc/default/web:80", endpoint=web)
    assert t.verdict == "dropped"
    skip = next(h for h in t.hops if h.decided_by is not None and h.decided_by.kind == "sysctl")
    assert skip.decided_by.text == "net.bridge.bridge-nf-call-iptables = 0"
    assert "scenario" == skip.decided_by.owner.component
    last = t.hops[-1]
    assert last.action == "drop" and last.src == f"{c.pod(web).ip}:80"
    assert f"connected to {c.service('web').cluster_ip}:80" in last.detail
    # across nodes the reply is routed, not bridged: the sysctl does not matter there
    other = next(p.key for p in c.pods.values() if p.labels.get("app") == "web" and p.key != web)
    assert c.trace("default/client", "svc/default/web:80", endpoint=other).delivered


def test_kindnet_masquerade_is_jumped_to_from_postrouting() -> None:
    # kind images/kindnetd/cmd/kindnetd/masq.go: "-A POSTROUTING -m addrtype ! --dst-type LOCAL -j KIND-MASQ-AGENT";
    # KUBE-POSTROUTING (kube-proxy) returns first, so the two chains are side by side, not nested.
    c = k8snetviz.load("kind-default")
    t = c.trace("default/client", "8.8.8.8:53", protocol="UDP")
    snat = next(h for h in t.hops if h.action == "snat")
    assert snat.detail.endswith("(POSTROUTING → KIND-MASQ-AGENT)")
    assert "-A KIND-MASQ-AGENT" in snat.rule


def test_the_hairpin_client_sees_the_ptp_gateway_on_the_host_veth() -> None:
    # MASQUERADE takes the address of the interface the packet leaves by (iptables-extensions(8)); kindnet's ptp
    # plugin puts the pods' gateway (.1 of the node's podCIDR) on the host end of every pod's veth
    # (containernetworking/plugins plugins/main/ptp). So a pod reaching itself through its Service sees that address.
    c = k8snetviz.load("services")
    me = sorted(p.key for p in c.pods.values() if p.labels.get("app") == "web")[0]
    t = c.trace(me, "svc/default/web:80", endpoint=me)
    seen = IPv4Address(str(t.final["src"]).rsplit(":", 1)[0])
    assert str(seen) == "10.244.1.1"  # notebook 04 names this address
    pod = c.pod(me)
    assert seen == c.node(pod.node_name).pod_cidr.network_address + 1
    snat = next(h for h in t.hops if h.action == "snat")
    host_veth = c.netns[f"node/{pod.node_name}"].interfaces[snat.device]
    assert host_veth.kind == "veth" and host_veth.primary == seen
    assert snat.detail.endswith("(POSTROUTING → KUBE-POSTROUTING)")
    dnat = next(h for h in t.hops if h.action == "dnat")
    assert dnat.detail.split("(")[1].startswith("PREROUTING → KUBE-SERVICES → KUBE-SVC-")


# --- 05 exposing Services: the two ways a LoadBalancer's traffic arrives -----------------------------------

def _dnat_path(t: object) -> str:
    hop = next(h for h in t.hops if h.action == "dnat")  # type: ignore[attr-defined]
    return hop.detail.rsplit("(", 1)[1].rstrip(")")


def test_a_packet_for_the_external_ip_is_caught_by_its_own_rule_not_a_node_port() -> None:
    # MetalLB L2/BGP and passthrough load balancers deliver the packet with the load-balancer IP as destination;
    # kube-proxy's proxier.go writes `-A KUBE-SERVICES ... "ns/svc:port loadbalancer IP" -d LB-IP --dport PORT
    # -j KUBE-EXT-...` (proxier_test.go TestOverallIPTablesRules, svc2/svc5).
    c = k8snetviz.load("influxdb")
    svc = c.service("influxdb")
    t = c.trace("external", f"{svc.load_balancer_ips[0]}:8086")
    assert t.delivered
    balance = next(h for h in t.hops if h.at.startswith("loadbalancer/"))
    assert balance.dst == f"{svc.load_balancer_ips[0]}:8086" and balance.peer.startswith("node/")
    dnat = next(h for h in t.hops if h.action == "dnat")  # it reaches the node unchanged: the node's DNAT rewrites it
    assert dnat.detail.startswith(f"PREROUTING: DNAT {svc.load_balancer_ips[0]}:8086 → ")
    path = _dnat_path(t)
    assert path.startswith("PREROUTING → KUBE-SERVICES → KUBE-EXT-") and "KUBE-NODEPORTS" not in path
    assert all(str(svc.ports[0].node_port) not in h.dst for h in t.hops)


def test_a_load_balancer_in_instance_mode_enters_through_the_node_port() -> None:
    # The API server allocates node ports for LoadBalancers unless allocateLoadBalancerNodePorts is false
    # (Service API: "defaults to true ... may be set to false if the cluster load-balancer does not rely on
    # NodePorts"); a packet to NODE-IP:nodePort goes KUBE-SERVICES → KUBE-NODEPORTS → KUBE-EXT.
    c = k8snetviz.load("influxdb")
    port = c.service("influxdb").ports[0].node_port
    assert port is not None and 30000 <= port <= 32767
    path = _dnat_path(c.trace("external", f"node/kind-worker:{port}"))
    assert path.startswith("PREROUTING → KUBE-SERVICES → KUBE-NODEPORTS → KUBE-EXT-")
    off = k8snetviz.load("influxdb", """
apiVersion: v1
kind: Service
metadata: {name: influxdb}
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  selector: {name: influxdb}
  ports: [{port: 8086, targetPort: 8086}]
""")
    svc = off.service("influxdb")
    assert svc.ports[0].node_port is None
    assert off.trace("external", f"{svc.load_balancer_ips[0]}:8086").delivered


def test_prefer_dual_stack_on_a_single_stack_cluster_gets_one_family() -> None:
    # Kubernetes docs, IPv4/IPv6 dual-stack: PreferDualStack "falls back to single-stack if the cluster does not
    # have dual-stack enabled"; RequireDualStack is refused there.
    from k8snetviz.course import services_tasks as st
    from k8snetviz.errors import K8sNetVizError

    assert st.dual_stack_fields().output.startswith('PreferDualStack ["IPv4"] ["10.96.')
    with pytest.raises(K8sNetVizError, match="this cluster is not configured for dual-stack services"):
        st.dual_stack_fields("RequireDualStack")


def test_a_host_network_pod_has_its_node_address() -> None:
    c = k8snetviz.load("dns")
    pod = c.pod("data/node-agent")
    assert pod.host_network and pod.ip == c.node(pod.node_name).internal_ip


# --- 09 NetworkPolicy: the network plugin enforces it -------------------------------------------------------

def test_flannel_does_not_enforce_network_policy() -> None:
    # flannel-io/flannel README: "flannel does not implement network policy" (flanneld needs a policy engine such
    # as kube-network-policies, Calico (Canal) or Cilium beside it); Kubernetes docs, Network Policies:
    # "Creating a NetworkPolicy resource without a controller that implements it will have no effect".
    assert plugin("flannel", k8snetviz.load("flannel-vxlan").config.pod_subnet).enforces_network_policy is False


def test_the_network_plugin_drops_what_a_policy_denies() -> None:
    # Kubernetes docs, Network Policies: "Network policies are implemented by the network plugin"; kube-proxy reads
    # Services and EndpointSlices only. The drop is the enforcer's, on the destination pod's node.
    from k8snetviz.course import policy_tasks as pt

    c = pt.policy_cluster(pt.DENY_INGRESS_A)
    t = c.trace("x/b", "pod/x/a:80")
    drop = t.hops[-1]
    assert t.verdict == "dropped" and drop.decided_by is not None
    assert drop.decided_by.owner.component == c.policy_enforcer != "kube-proxy"
    assert pt.predict_enforcer().is_correct(pt.predict_enforcer().answer)


# --- 03 CNI: the comparison and the choice --------------------------------------------------------------------

def _comparison_rows() -> dict[str, list[str]]:
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "03-cni.ipynb").read_text(encoding="utf-8"))
    text = next("".join(c["source"]) for c in nb["cells"] if c.get("id") == "choose-00")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| **"):
            rows[cells[0].split("**")[1].lower().replace(" net", "")] = cells
    return rows


def test_the_cni_comparison_table_says_what_the_checker_knows() -> None:
    # The table in notebook 03 and CNI_FACTS (which the "choose a plugin" checker reads) must agree on the facts
    # that decide: NetworkPolicy and encryption. Sources in cni_tasks.CNI_FACTS.
    from k8snetviz.course import cni_tasks as ct

    rows = _comparison_rows()
    assert sorted(rows) == sorted(f.name for f in ct.CNI_FACTS)
    for f in ct.CNI_FACTS:
        _, between, policy, encryption, _shows = rows[f.name]
        assert policy.strip("*").startswith("yes" if f.policy else "no"), f.name
        assert (encryption == "none") == (not f.encryption), f.name
        assert ("overlay" in between) == f.overlay or f.name == "cilium", f.name  # Cilium: a tunnel by default


def test_choosing_a_cni_names_each_requirement_a_plugin_misses() -> None:
    from k8snetviz.course import cni_tasks as ct

    t = ct.task_choose_cni()
    assert t.check("calico").passed and t.check("Cilium").passed
    assert t.check("flannel").messages == ["flannel does not enforce NetworkPolicy: policies would be stored and "
                                           "ignored"]
    kindnet = t.check("kindnet").messages
    assert len(kindnet) == 2 and "you need an overlay" in kindnet[0] and "no encryption" in kindnet[1]
    assert "no longer maintained" in t.check("Weave Net").messages[0]
    assert "not one of the plugins" in t.check("ovn").messages[0]
    assert ct.task_which_cni().check("calico").passed and not ct.task_which_cni().check("flannel").passed


# --- every notebook's tasks and predictions ------------------------------------------------------------------

def _course_lists() -> tuple[list[object], list[object]]:
    from k8snetviz.course import cni_tasks as ct
    from k8snetviz.course import dns_tasks as dt
    from k8snetviz.course import pod_networking as pn
    from k8snetviz.course import policy_tasks as pt
    from k8snetviz.course import services_tasks as st

    tasks = [*pn.node_networking_tasks(), *pn.pod_networking_tasks(), *ct.cni_tasks(), *st.services_tasks(),
             *st.exposing_tasks(), *dt.dns_tasks(), *pt.policy_tasks()]
    predictions = [*pn.node_networking_predictions(), *pn.pod_networking_predictions(), *ct.cni_predictions(),
                   *st.services_predictions(), *st.exposing_predictions(), *dt.dns_predictions(),
                   *pt.policy_predictions()]
    return tasks, predictions


def test_every_task_accepts_its_solution_and_refuses_the_placeholder() -> None:
    tasks, _ = _course_lists()
    for t in tasks:
        assert t.check(t.solution().answer).passed, t.title  # type: ignore[attr-defined]
        assert not t.check("...").passed, t.title  # type: ignore[attr-defined]


def test_every_prediction_is_consistent() -> None:
    _, predictions = _course_lists()
    for q in predictions:
        assert q.check(q.answer).startswith("✔ Correct."), q.question  # type: ignore[attr-defined]
