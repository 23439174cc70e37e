"""The packet walk through Services, end to end on the shipped ``services`` and ``influxdb`` scenarios.

Each test names the Kubernetes or Linux fact it pins. Sources: kube-proxy's iptables proxier
(pkg/proxy/iptables/proxier.go) and the Service docs ("Virtual IPs and Service Proxies", "Traffic
policies", "Create an External Load Balancer": preserving the client source IP).
"""

from __future__ import annotations

import math
from ipaddress import IPv4Address

import pytest

import k8snetviz
from k8snetviz.course import services_tasks as st
from k8snetviz.errors import UsageError
from k8snetviz.questions.exposure import explore, explorer_yaml

LAPTOP = "172.18.0.100"


@pytest.fixture(scope="module")
def services() -> k8snetviz.Cluster:
    return k8snetviz.load("services")


@pytest.fixture(scope="module")
def web_pods(services: k8snetviz.Cluster) -> dict[str, object]:
    return {p.key: p for p in services.pods.values() if p.labels.get("app") == "web"}


def _service(name: str, spec: str) -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n{spec}"


WEB_SELECTOR = "  selector: {app: web}\n"
NODEPORT_LOCAL = _service("web-nodeport", "  type: NodePort\n  externalTrafficPolicy: Local\n" + WEB_SELECTOR +
                          "  ports:\n  - {port: 80, targetPort: 8080, nodePort: 30100}\n")


def _hops(result, action: str):
    return [h for h in result.hops if h.action == action]


# --- ClusterIP -----------------------------------------------------------------------------------------

def test_cluster_ip_offers_every_ready_endpoint_with_probabilities_summing_to_one(services, web_pods) -> None:
    # kube-proxy's KUBE-SVC chain: rule i jumps with probability 1/(n-i), so each of n endpoints gets 1/n.
    t = services.trace("default/client", "svc/default/web:80")
    assert {c["pod"] for c in t.candidates} == set(web_pods)
    assert math.isclose(sum(c["probability"] for c in t.candidates), 1.0)
    assert all(math.isclose(c["probability"], 1 / 3) for c in t.candidates)
    # The named targetPort "http" resolves to each pod's containerPort 8080.
    assert {c["endpoint"] for c in t.candidates} == {f"{p.ip}:8080" for p in web_pods.values()}


def test_endpoint_picks_the_dnat_target_and_the_rule_says_so(services, web_pods) -> None:
    # KUBE-SEP-<hash>: -j DNAT --to-destination POD-IP:PORT; the reply is un-NATed back to the cluster IP.
    cluster_ip = services.service("web").cluster_ip
    for key, pod in web_pods.items():
        t = services.trace("default/client", "svc/default/web:80", endpoint=key)
        dnat = _hops(t, "dnat")
        assert len(dnat) == 1
        assert dnat[0].rule.endswith(f"-j DNAT --to-destination {pod.ip}:8080")
        assert any(r.startswith("-A KUBE-SERVICES ") and f"-d {cluster_ip}/32" in r for r in dnat[0].rules)
        assert t.final == {"src": f"{services.pod('default/client').ip}:40000", "dst": f"{pod.ip}:8080", "pod": key}
        back = _hops(t, "un-nat")
        assert back and back[-1].src == f"{cluster_ip}:80"


def test_endpoint_that_is_not_a_candidate_is_refused(services) -> None:
    with pytest.raises(UsageError, match="not one of the endpoints"):
        services.trace("default/client", "svc/default/web:80", endpoint="default/client")


def test_pod_to_pod_through_a_service_keeps_the_client_address(services, web_pods) -> None:
    # A pod source (inside the cluster CIDR) is not marked for masquerade: the backend sees the pod.
    t = services.trace("default/client", "svc/default/web:80", endpoint=sorted(web_pods)[0])
    assert not _hops(t, "snat")
    assert t.final["src"].startswith(str(services.pod("default/client").ip))


def test_hairpin_a_pod_reaching_itself_through_its_service_sees_its_node(services, web_pods) -> None:
    # KUBE-SEP's first rule: -s POD-IP/32 -j KUBE-MARK-MASQ. Without SNAT the pod would answer itself
    # directly and the connection would break; with kindnet's ptp veths the MASQUERADE address is the
    # node-side veth's address, the pods' gateway (.1 of the node's podCIDR).
    me = sorted(web_pods)[0]
    pod = web_pods[me]
    t = services.trace(me, "svc/default/web:80", endpoint=me)
    assert t.delivered
    dnat = _hops(t, "dnat")[0]
    assert f"-A {dnat.rule.split()[1]} -s {pod.ip}/32" in "\n".join(dnat.rules)
    assert any("-j KUBE-MARK-MASQ" in r for r in dnat.rules)
    gateway = IPv4Address(int(services.node(pod.node_name).pod_cidr.network_address) + 1)
    assert t.final["src"] == f"{gateway}:40000"


def test_icmp_to_a_cluster_ip_gets_no_answer(services) -> None:
    # The cluster IP is on no interface and kube-proxy only matches -p tcp --dport 80: ping is routed
    # out of the default route like any unknown address, and nobody answers.
    ip = services.service("web").cluster_ip
    t = services.trace("default/client", f"{ip}:80", protocol="ICMP")
    assert not t.delivered
    assert not _hops(t, "dnat")
    assert t.verdict == "no-route"
    # TCP to another port of the same address is just as unanswered: the Service is (IP, port, protocol).
    other = services.trace("default/client", f"{ip}:8080")
    assert not other.delivered and not _hops(other, "dnat")


def test_service_without_endpoints_is_rejected(services) -> None:
    # kube-proxy: a service port with no endpoints gets "-j REJECT" in filter KUBE-SERVICES (hooked from
    # FORWARD and OUTPUT): the client gets ICMP port-unreachable, i.e. connection refused at once.
    t = services.trace("default/client", "svc/default/api:80")
    assert t.verdict == "rejected"
    reject = _hops(t, "reject")
    assert len(reject) == 1
    assert '"default/api has no endpoints"' in reject[0].rule and "-j REJECT" in reject[0].rule
    assert reject[0].at == f"node/{services.pod('default/client').node_name}"


@pytest.mark.parametrize(("service", "port", "words"), [
    ("db", 80, "CNAME to db.example.com"),
    ("web-headless", 8080, "pods' own addresses"),
])
def test_services_without_a_virtual_ip_are_unresolved(services, service, port, words) -> None:
    # ExternalName and headless Services have no cluster IP; kube-proxy writes no rule for them.
    t = services.trace("default/client", f"svc/default/{service}:{port}")
    assert t.verdict == "unresolved"
    assert words in t.reason
    assert t.hops == []
    assert f"default/{service}" not in services.iptables("kind-worker")


def test_session_affinity_records_the_client_and_checks_it_first(services) -> None:
    # sessionAffinity: ClientIP -> the KUBE-SVC chain first tries "-m recent --rcheck --seconds 10800"
    # per endpoint (the default timeout, three hours), then the random rules; the KUBE-SEP DNAT rule
    # "-m recent --set" remembers the client address for that endpoint.
    t = services.trace("default/client", "svc/default/web-sticky:80")
    dnat = _hops(t, "dnat")[0]
    sep = dnat.rule.split()[1]
    assert f"-m recent --set --name {sep} --mask 255.255.255.255 --rsource" in dnat.rule
    svc_chain = next(r.split()[1] for r in dnat.rules if r.split()[1].startswith("KUBE-SVC-"))
    lines = [ln for ln in services.iptables("kind-worker").splitlines() if ln.startswith(f"-A {svc_chain} ")]
    rcheck = [i for i, ln in enumerate(lines) if "--rcheck --seconds 10800 --reap" in ln]
    random = [i for i, ln in enumerate(lines) if "-m statistic" in ln]
    assert len(rcheck) == 3 and max(rcheck) < min(random)


def test_internal_traffic_policy_local_keeps_traffic_on_the_node(services) -> None:
    # internalTrafficPolicy: Local: in-cluster clients only reach endpoints on their own node; a node
    # with none drops ("has no local endpoints") instead of sending elsewhere.
    local = _service("web", "  internalTrafficPolicy: Local\n" + WEB_SELECTOR +
                     "  ports: [{name: http, port: 80, targetPort: http}]\n")
    c = k8snetviz.load("services", local)
    client = c.pod("default/client")
    t = c.trace("default/client", "svc/default/web:80")
    assert t.delivered and c.pod(t.final["pod"]).node_name == client.node_name
    worker = c.trace("node/kind-worker", "svc/default/web:80")
    assert {c.pod(x["pod"]).node_name for x in worker.candidates} == {"kind-worker"}
    cp = c.trace("node/kind-control-plane", "svc/default/web:80")
    assert cp.verdict == "dropped" and "has no local endpoints" in cp.reason


# --- NodePort and LoadBalancer from outside -------------------------------------------------------------

def test_nodeport_cluster_policy_snats_to_the_entry_node_and_may_hop(services) -> None:
    # externalTrafficPolicy: Cluster: any node accepts, KUBE-EXT marks the packet, KUBE-POSTROUTING
    # masquerades it to the node's address, and the packet may cross to a pod on another node.
    t = services.trace("external", "node/kind-control-plane:30100")
    assert t.delivered
    snat = _hops(t, "snat")
    assert len(snat) == 1 and snat[0].at == "node/kind-control-plane"
    assert "MASQUERADE" in snat[0].rule
    assert t.final["src"] == "172.18.0.2:40000"
    assert services.pod(t.final["pod"]).node_name != "kind-control-plane"
    wire = [h for h in t.hops if h.action == "forward" and h.at == "node/kind-control-plane"]
    assert wire, "the second hop: from the entry node to the endpoint's node"


def test_nodeport_local_policy_keeps_the_client_and_drops_without_a_local_endpoint() -> None:
    # externalTrafficPolicy: Local: KUBE-SVL holds only this node's endpoints, no KUBE-MARK-MASQ for
    # external traffic; a node without one has "-j DROP" for the node port in filter KUBE-EXTERNAL-SERVICES.
    c = k8snetviz.load("services", NODEPORT_LOCAL)
    t = c.trace("external", "node/kind-worker:30100")
    assert t.delivered and not _hops(t, "snat")
    assert t.final["src"] == f"{LAPTOP}:40000"
    assert {c.pod(x["pod"]).node_name for x in t.candidates} == {"kind-worker"}
    assert any("KUBE-SVL-" in r for r in _hops(t, "dnat")[0].rules)
    dropped = c.trace("external", "node/kind-control-plane:30100")
    assert dropped.verdict == "dropped"
    assert "has no local endpoints" in _hops(dropped, "drop")[0].rule


def test_load_balancer_cluster_policy_sends_to_any_node_and_the_pod_sees_a_node() -> None:
    # The load balancer passes the packet unchanged to a node; under Cluster every node's kube-proxy
    # health check passes, the node DNATs (KUBE-EXT → KUBE-SVC) and masquerades. kubeadm's
    # exclude-from-external-load-balancers label keeps the control plane out.
    c = k8snetviz.load("influxdb")
    lb = c.service("influxdb").load_balancer_ips[0]
    t = c.trace("external", f"{lb}:8086")
    balance = next(h for h in t.hops if h.at.startswith("loadbalancer/"))
    assert "kind-control-plane: left out" in balance.detail
    assert t.final["src"] == "172.18.0.3:40000"  # kind-worker, which holds no influxdb pod
    assert t.final["pod"] == "default/influxdb"


def test_load_balancer_local_policy_health_checks_and_keeps_the_client_ip() -> None:
    # Local: the API server allocates healthCheckNodePort; kube-proxy answers 200 only where a local
    # endpoint is, so the load balancer sends to kind-worker2 only, which delivers without SNAT.
    c = k8snetviz.load("influxdb", st.LOCAL_SOLUTION)
    svc = c.service("influxdb")
    assert svc.health_check_node_port is not None and 30000 <= svc.health_check_node_port <= 32767
    t = c.trace("external", f"{svc.load_balancer_ips[0]}:8086")
    balance = next(h for h in t.hops if h.at.startswith("loadbalancer/"))
    assert "kind-worker: healthCheckNodePort" in balance.detail and "503" in balance.detail
    assert balance.peer == "node/kind-worker2#eth0"
    assert not _hops(t, "snat")
    assert t.final["src"] == f"{LAPTOP}:40000"


# --- the service explorer and the course tasks built on the walk ------------------------------------------

def test_explorer_flipping_the_policy_changes_the_address_the_backend_sees() -> None:
    cluster_policy = explore("influxdb", "default/influxdb", client="external")
    local_policy = explore("influxdb", "default/influxdb", policy="Local", client="external")
    assert cluster_policy.seen_client == "172.18.0.3" and "node kind-worker's address" in cluster_policy.headline()
    assert local_policy.seen_client == LAPTOP and "its real address" in local_policy.headline()


def test_explorer_moves_the_backends_and_changes_the_type() -> None:
    text = explorer_yaml("services", "default/web", type="NodePort", endpoints_on="kind-control-plane")
    assert "type: NodePort" in text and "nodeName: kind-control-plane" in text
    ex = explore("services", "default/web", type="NodePort", policy="Local", endpoints_on="kind-worker2",
                 client="external", entry="node/kind-worker2")
    assert {ex.cluster.pod(c["pod"]).node_name for c in ex.result.candidates} <= {"kind-worker2"}
    assert ex.seen_client == LAPTOP
    # A ClusterIP Service cannot carry externalTrafficPolicy: the explorer leaves it out, not the API server's
    # error; an outside client cannot reach a cluster IP at all.
    inside = explore("services", "default/web", type="ClusterIP", policy="Local", client="external")
    assert "externalTrafficPolicy" not in inside.yaml and inside.result.verdict == "no-route"


def test_explorer_reports_an_unknown_service() -> None:
    with pytest.raises(UsageError, match="not one of the scenario's Services"):
        explore("influxdb", "default/nope")


@pytest.mark.parametrize("task", [st.task_fix_selector, st.task_nodeport, st.task_keep_client_ip, st.task_headless,
                                  st.task_affinity, st.task_no_node_ports])
def test_each_task_accepts_its_solution_and_refuses_the_placeholder(task) -> None:
    t = task()
    assert t.check(t.solution().answer).passed
    assert not t.check("...").passed


def test_task_checkers_say_what_is_wrong() -> None:
    wrong_port = st.task_nodeport().check(st.NODEPORT_SOLUTION.replace("targetPort: 8080", "targetPort: 80"))
    assert not wrong_port.passed and "listens on 8080" in wrong_port.messages[0]
    out_of_range = st.task_nodeport().check(st.NODEPORT_SOLUTION.replace("30080", "20000"))
    assert "provided port is not in the valid range" in out_of_range.messages[0]
    still_cluster = st.task_keep_client_ip().check(st.INFLUXDB_YAML)
    assert not still_cluster.passed and "172.18.0.3" in still_cluster.messages[0]


def test_predictions_answers_match_the_model() -> None:
    # The second jump of a three-endpoint KUBE-SVC chain is 1/2, as the prediction says.
    c = k8snetviz.load("services")
    lines = st.iptables_grep(c, "kind-worker", st.chain_of(c, "web")).output.splitlines()
    jumps = [ln for ln in lines if ln.startswith(f"-A {st.chain_of(c, 'web')} ") and "-j KUBE-SEP-" in ln]
    assert "--probability 0.33333333349" in jumps[0] and "--probability 0.50000000000" in jumps[1]
    assert "--probability" not in jumps[2]
    assert st.predict_second_probability().is_correct("0.50000000000")


def test_new_task_checkers_say_what_is_wrong() -> None:
    not_headless = st.task_headless().check(st.HEADLESS_SOLUTION.replace("  clusterIP: None\n", ""))
    assert not not_headless.passed and "a headless Service says `clusterIP: None`" in not_headless.messages[0]
    wrong_pods = st.task_headless().check(st.HEADLESS_SOLUTION.replace("app: web", "app: nope"))
    assert "matches none of the web pods" in wrong_pods.messages[0]
    default_timeout = st.task_affinity().check(st.AFFINITY_SOLUTION.replace(
        "  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 600\n", ""))
    assert "10800 s (three hours)" in default_timeout.messages[0]
    still_open = st.task_no_node_ports().check(st.INFLUXDB_YAML)
    assert not still_open.passed and "allocateLoadBalancerNodePorts: false" in still_open.messages[0]


def test_every_services_and_exposing_prediction_is_consistent() -> None:
    for q in st.services_predictions() + st.exposing_predictions():
        assert q.check(q.answer).startswith("✔ Correct.")
        if q.reveal is not None:
            q.reveal()
