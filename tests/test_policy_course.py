"""Notebook 08's course pieces: predictions against the model, checkers against solutions and usual mistakes,
and the policy editor's Python side.

Facts pinned here come from the NetworkPolicy concept page and API reference (kubernetes.io): isolation per
direction, additive policies, selectors in one peer ANDed and separate peers ORed, named ports resolved on
the destination, replies of allowed connections; from the API server's validation
(pkg/apis/networking/validation: an ``except`` must be a strict subset of ``cidr``); and from kube-proxy
(an external client of an ``externalTrafficPolicy: Cluster`` Service is masqueraded, ``Local`` keeps it).
"""

from __future__ import annotations

import json

import pytest

import k8snetviz
from k8snetviz.course import policy_tasks as pt
from k8snetviz.widgets import PolicyEditor

# --- the scenario ----------------------------------------------------------------------------------------


def test_netpol_is_the_e2e_model_with_nothing_isolated() -> None:
    c = pt.policy_cluster()
    xyz = [p for p in c.policy(80).result.pods if p[0] in "xyz"]
    assert xyz == [f"{ns}/{p}" for ns in "xyz" for p in "abc"]
    for key in xyz:
        pod = c.pods[key]
        assert pod.labels == {"pod": key[2]}
        assert {(cp.name, cp.container_port, cp.protocol) for cp in pod.ports} == {
            ("serve-80-tcp", 80, "TCP"), ("serve-81-tcp", 81, "TCP"), ("serve-80-udp", 80, "UDP")}
    assert c.namespaces["y"].labels["ns"] == "y"
    assert pt.truth_table_of(c).count("X") == 0
    # the e2e suite names each pod's Service s-<namespace>-<pod> and probes it by name
    assert c.trace("x/a", "s-y-b.y:80").final["pod"] == "y/b"


# --- predictions: every answer is what the model computes --------------------------------------------------


def test_isolation_is_per_direction() -> None:
    c = pt.policy_cluster(pt.DENY_INGRESS_A)
    assert c.trace("x/a", "pod/y/b:80").delivered
    assert not c.trace("y/b", "pod/x/a:80").delivered
    assert pt.predict_direction().answer.startswith("yes")


def test_policies_are_additive() -> None:
    c = pt.policy_cluster(pt.DENY_INGRESS_A, pt.ALLOW_FROM_B)
    assert c.trace("x/b", "pod/x/a:80").delivered
    assert not c.trace("x/c", "pod/x/a:80").delivered
    assert pt.predict_additive().is_correct("yes: policies add up, and allow-from-b allows it")


def test_one_peer_ands_two_peers_or() -> None:
    assert pt._sources(pt.policy_cluster(pt.AND_PEER), "x/a") == ["y/b"]
    assert pt._sources(pt.policy_cluster(pt.OR_PEERS), "x/a") == ["x/b", "y/a", "y/b", "y/c"]
    assert pt.predict_and_or().answer == "only y/b"


def test_named_port_is_resolved_on_the_destination_with_its_protocol() -> None:
    c = pt.policy_cluster(pt.NAMED_PORT)
    got = {(p, proto): c.trace("y/b", f"pod/x/a:{p}", protocol=proto).delivered
           for p, proto in ((80, "TCP"), (80, "UDP"), (81, "TCP"))}
    assert got == {(80, "TCP"): True, (80, "UDP"): False, (81, "TCP"): False}
    assert pt.predict_named_port().answer == "TCP 80 only"


def test_default_deny_egress_drops_the_dns_query_after_kube_proxy_dnat() -> None:
    c = pt.policy_cluster(pt.DENY_EGRESS)
    walk = c.trace("x/a", "s-y-b.y:80")
    assert walk.verdict == "unresolved"
    drop = walk.hops[-1]
    assert drop.action == "drop" and drop.dst.endswith(":53")
    assert drop.dst.split(":")[0] != "10.96.0.10"  # judged on the CoreDNS pod, not the Service address
    assert "DNS query" in drop.detail and "x/deny-egress" in drop.detail
    assert pt.predict_dns().answer.startswith("the name does not resolve")


def test_masqueraded_client_is_not_in_the_ip_block() -> None:
    c = pt.policy_cluster(pt.OFFICE_SOLUTION, pt.ETP_CLUSTER)
    walk = c.trace("external/office", "node/kind-worker2:30080")
    assert walk.verdict == "dropped"
    assert walk.hops[-1].src.startswith("172.18.0.4:")  # kind-worker2's address, after MASQUERADE
    assert "172.18.0.4" in pt.predict_masquerade().answer


def test_replies_of_an_allowed_connection_pass() -> None:
    c = pt.policy_cluster(pt.EGRESS_DENY_B)
    assert c.trace("x/a", "pod/y/b:80").delivered
    assert not c.trace("y/b", "pod/x/a:80").delivered
    assert pt.predict_replies().answer.startswith("yes")


def test_every_prediction_reveals_without_error() -> None:
    for p in pt.policy_predictions():
        shown = p.reveal()
        assert shown
        assert p.check(p.answer).startswith("✔")


def test_get_networkpolicies_prints_like_kubectl() -> None:
    c = pt.policy_cluster(pt.DEFAULT_DENY_DNS_SOLUTION)
    out = pt.get_networkpolicies(c)
    assert out.output.splitlines() == [
        "NAMESPACE   NAME           POD-SELECTOR   AGE",
        "x           allow-dns      <none>         5m",
        "x           default-deny   <none>         5m",
    ]
    assert pt.get_networkpolicies(pt.policy_cluster(pt.ALLOW_FROM_B), "x").output.splitlines()[1].split() == [
        "allow-from-b", "pod=a", "5m"]
    assert pt.get_networkpolicies(pt.policy_cluster(), "y").output == "No resources found in y namespace."


# --- task 1: only frontend ---------------------------------------------------------------------------------

OR_FRONTEND = pt.ONLY_FRONTEND_SOLUTION.replace(
    "      podSelector:\n        matchLabels:\n          app: frontend",
    "    - podSelector:\n        matchLabels:\n          app: frontend")


def test_only_frontend_solution_passes() -> None:
    r = pt.task_only_frontend().check(pt.ONLY_FRONTEND_SOLUTION)
    assert r.passed, r.messages
    assert "spec.ingress[0].from[0]" in r.messages[0]
    assert r.proof.delivered


def test_only_frontend_or_instead_of_and_names_the_leak_and_the_dash() -> None:
    r = pt.task_only_frontend().check(OR_FRONTEND)
    assert not r.passed
    text = " ".join(r.messages)
    assert "web/admin can reach db on 5432" in text
    assert "ORed" in text and "no dash before podSelector" in text


def test_only_frontend_without_ports_opens_every_port() -> None:
    r = pt.task_only_frontend().check(pt.ONLY_FRONTEND_SOLUTION.replace(
        "    ports:\n    - protocol: TCP\n      port: 5432\n", ""))
    assert not r.passed and "9187" in r.messages[0] and "5432" in r.messages[0]


def test_only_frontend_policy_in_the_wrong_namespace() -> None:
    r = pt.task_only_frontend().check(pt.ONLY_FRONTEND_SOLUTION.replace("  namespace: data\n", ""))
    assert r.messages == ["no policy of yours is in namespace data (yours: default/db-from-frontend): a "
                          "NetworkPolicy only selects pods of its own namespace; set metadata.namespace: data"]


def test_only_frontend_selecting_the_whole_namespace_or_egress_is_collateral() -> None:
    r = pt.task_only_frontend().check(pt.ONLY_FRONTEND_SOLUTION.replace(
        "    matchLabels:\n      app: db\n", "    matchLabels: {}\n"))
    assert not r.passed and "also isolate data/backup" in r.messages[0]
    r = pt.task_only_frontend().check(pt.ONLY_FRONTEND_SOLUTION.replace("[Ingress]", "[Ingress, Egress]"))
    assert not r.passed and "isolated for egress too" in r.messages[0]


def test_only_frontend_pod_selector_alone_blocks_the_frontend() -> None:
    alone = pt.ONLY_FRONTEND_SOLUTION.replace(
        "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: web\n"
        "      podSelector:", "    - podSelector:")
    r = pt.task_only_frontend().check(alone)
    assert not r.passed
    assert r.messages[0].startswith("web/frontend cannot reach db on 5432: pod data/db is isolated for ingress")


# --- task 2: default deny, DNS kept ------------------------------------------------------------------------


def test_default_deny_dns_solution_passes_and_the_walk_resolves_then_drops() -> None:
    r = pt.task_default_deny_dns().check(pt.DEFAULT_DENY_DNS_SOLUTION)
    assert r.passed, r.messages
    assert r.proof.verdict == "dropped"
    assert any(h.action == "dns" for h in r.proof.hops)


def test_default_deny_alone_breaks_dns() -> None:
    r = pt.task_default_deny_dns().check(pt.DEFAULT_DENY)
    assert not r.passed and "cannot resolve names" in r.messages[0] and "UDP 53" in r.messages[0]
    assert r.proof.verdict == "dropped"


def test_default_deny_forgetting_tcp_53() -> None:
    r = pt.task_default_deny_dns().check(pt.DEFAULT_DENY_DNS_SOLUTION.replace(
        "    - protocol: TCP\n      port: 53\n", ""))
    assert not r.passed
    assert r.messages[0].startswith("UDP 53 works but TCP 53 from x/a is dropped")
    assert "truncated" in r.messages[0]


def test_default_deny_dns_peer_without_namespace_selector() -> None:
    r = pt.task_default_deny_dns().check(pt.DEFAULT_DENY_DNS_SOLUTION.replace(
        "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n"
        "      podSelector:", "    - podSelector:"))
    assert not r.passed
    assert "which means pods of x; CoreDNS runs in kube-system" in r.messages[0]


def test_default_deny_without_egress_type_leaves_traffic_out() -> None:
    r = pt.task_default_deny_dns().check(
        pt.DEFAULT_DENY.replace("[Ingress, Egress]", "[Ingress]") + "---\n" + pt.DNS_EGRESS)
    # allow-dns isolates every pod of x for egress by itself, so the pair still denies both directions
    assert r.passed
    r = pt.task_default_deny_dns().check(pt.DEFAULT_DENY.replace("[Ingress, Egress]", "[Ingress]"))
    assert not r.passed and "x/a still reaches y/b" in r.messages[0]
    assert "not isolated for egress" in r.messages[0]


# --- task 3: an outside CIDR except a subnet --------------------------------------------------------------


def test_office_solution_passes() -> None:
    r = pt.task_office_cidr().check(pt.OFFICE_SOLUTION)
    assert r.passed, r.messages
    assert r.proof.verdict == "dropped"  # the guest's walk


def test_office_except_outside_the_cidr_is_the_api_servers_message() -> None:
    r = pt.task_office_cidr().check(pt.OFFICE_SOLUTION.replace("203.0.113.128/25", "198.51.100.0/24"))
    assert r.messages == ['The NetworkPolicy "a-from-office" is invalid: spec.ingress[0].from[0].ipBlock.except[0]: '
                          'Invalid value: "198.51.100.0/24": must be a strict subset of `cidr`']


def test_office_without_except_lets_the_guest_in() -> None:
    r = pt.task_office_cidr().check(pt.OFFICE_SOLUTION.replace("        except:\n        - 203.0.113.128/25\n", ""))
    assert not r.passed and r.messages[0].startswith("the guest Wi-Fi client 203.0.113.200 still reaches x/a")


def test_office_except_only_the_guest_address_is_too_narrow() -> None:
    r = pt.task_office_cidr().check(pt.OFFICE_SOLUTION.replace("203.0.113.128/25", "203.0.113.200/32"))
    assert not r.passed and r.messages[0].startswith("203.0.113.128 is allowed, but it is the first address")


def test_office_bad_yaml_is_a_failed_check_not_a_traceback() -> None:
    r = pt.task_office_cidr().check("spec: [")
    assert not r.passed and "YAML does not parse" in r.messages[0]


# --- the policy editor's Python side ----------------------------------------------------------------------


def test_editor_apply_changes_the_matrix_and_the_grid() -> None:
    ed = PolicyEditor(pt.policy_cluster(), namespaces=["x", "y", "z"])
    assert ed.matrix.to_dict()["allowed"]["y/a"]["x/b"] is True
    assert 'data-from="y/a" data-to="x/b"' in ed.grid.html
    assert "kube-system" not in ed.grid.html  # only the chosen namespaces are drawn
    ed.text.value = pt.DEFAULT_DENY
    m = ed.apply()
    assert m is not None and m.to_dict()["allowed"]["y/a"]["x/b"] is False
    cell = ed.grid.html.split('data-from="y/a" data-to="x/b"')[1]
    assert "✘" in cell.split("</td>")[0]
    assert "x/default-deny" in ed.status.value


def test_editor_clicking_a_cell_shows_the_walk_and_the_policy_hop() -> None:
    ed = PolicyEditor(pt.policy_cluster(), pt.DEFAULT_DENY)
    ed.grid.selected = ["y/a", "x/b"]  # what the browser sends on a click
    assert ed.walk is not None and ed.walk.verdict == "dropped"
    assert "isolated for ingress by NetworkPolicy x/default-deny" in ed.pair.value
    assert "knv-policy-hops" in ed.pair.value
    ed.protocol.value = "UDP"  # the selected pair is walked again on the new protocol
    assert ed.walk.protocol == "UDP"


def test_editor_bad_input_keeps_the_text_and_marks_the_matrix_stale() -> None:
    ed = PolicyEditor(pt.policy_cluster(), pt.DEFAULT_DENY)
    before = ed.grid.html
    bad = pt.OFFICE_SOLUTION.replace("203.0.113.128/25", "10.0.0.0/8")
    ed.text.value = bad
    assert ed.apply() is None
    assert ed.text.value == bad
    assert "must be a strict subset of `cidr`" in ed.error.value
    assert ed.grid.stale and ed.grid.html == before
    ed.port.value = 81  # the stale mark stays until the text applies
    assert ed.grid.stale and "strict subset" in ed.error.value
    ed.text.value = "kind: NetworkPolicy\nmetadata: {name: p\n"
    assert ed.apply() is None and "does not parse" in ed.error.value
    ed.text.value = pt.OFFICE_SOLUTION
    assert ed.apply() is not None
    assert not ed.grid.stale and ed.error.value == ""


def test_editor_live_mode_applies_on_edit() -> None:
    ed = PolicyEditor("netpol", live=True, namespaces=["x"])
    ed.text.value = pt.DEFAULT_DENY
    assert ed.matrix.to_dict()["allowed"]["x/a"]["x/b"] is False


@pytest.mark.parametrize("protocol", ["TCP", "UDP", "SCTP"])
def test_editor_matrix_is_the_policy_json(protocol: str) -> None:
    ed = PolicyEditor("netpol", pt.NAMED_PORT, protocol=protocol)
    doc = json.loads(json.dumps(ed.matrix.to_dict()))
    assert doc["protocol"] == protocol and doc["port"] == 80
    # the named port serve-80-tcp opens only TCP 80
    assert doc["allowed"]["y/b"]["x/a"] is (protocol == "TCP")


def test_masqueraded_traffic_from_the_pods_own_node_is_allowed() -> None:
    # NetworkPolicy docs: traffic to and from the node a pod runs on is always allowed, whatever the
    # address; kube-proxy's MASQUERADE to a local pod uses the node's 10.244.N.1, not its InternalIP.
    c = k8snetviz.load("netpol", pt.OFFICE_SOLUTION, pt.ETP_CLUSTER)
    t = c.trace("external/office", "node/kind-worker:30080")
    assert t.final is not None and t.final["src"].startswith("10.244.1.1:")
    assert t.delivered


def test_kubectl_get_networkpolicy() -> None:
    c = k8snetviz.load("netpol", pt.OFFICE_SOLUTION)
    assert c.get("netpol", namespace="x").splitlines() == [
        "NAME            POD-SELECTOR   AGE",
        "a-from-office   pod=a          5m",
    ]
