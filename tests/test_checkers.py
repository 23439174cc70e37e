"""Tasks graded on the cluster an answer leaves, as an exam's grader does (issue 15, point 3).

Each answer the prompts rule out is refused with what is still wrong; each right answer is accepted
whatever its form: YAML, commands typed at a terminal, or the terminal session itself.
"""

from __future__ import annotations

import k8snetviz
from k8snetviz.course import dns_tasks as d
from k8snetviz.course import ingress_tasks as it
from k8snetviz.course import pod_networking as pn
from k8snetviz.course import policy_tasks as pt
from k8snetviz.course import services_tasks as st
from k8snetviz.course.shell import Session
from k8snetviz.course.tasks import is_commands

OVERRIDE = """\
apiVersion: k8snetviz.dev/v1alpha1
kind: Scenario
metadata: {name: fix}
spec:
  overrides:
  - target: node/node-a
    addRoutes: ['ROUTE']
"""


# --- answers the prompts rule out ------------------------------------------------------------------------

def test_a_service_under_another_name_does_not_repair_api() -> None:
    r = st.task_fix_selector().check(st.API_SOLUTION.replace("name: api", "name: api2"))
    assert not r.passed
    assert r.messages[0].startswith("your YAML writes the Service api2, but the task is about api")
    assert r.messages[1] == "api: the selector app=api matches none of the web pods (their labels: app=web)"


def test_an_httproute_for_every_host_is_not_the_ingress_migrated() -> None:
    solution = it.migration_solution()
    for wrong, said in ((solution.replace("  hostnames:\n  - docs.example.com\n", ""), "none"),
                        (solution.replace("  - docs.example.com\n", "  - '*.example.com'\n"), "['*.example.com']")):
        r = it.migrate_task().check(wrong)
        assert not r.passed
        assert r.messages == [f"http://other.example.com/ goes to your HTTPRoute default/docs too (hostnames: "
                              f"{said if said != 'none' else 'none, so every host of the listener'}): the Ingress "
                              "serves only docs.example.com; set hostnames: [docs.example.com]"]


def test_a_stub_domain_for_one_name_is_not_the_whole_domain() -> None:
    one_name = d.STUB_DOMAIN_SOLUTION.replace("partner.example:53", "api.partner.example:53")
    r = d.task_stub_domain().check(one_name)
    assert not r.passed
    assert r.messages == ["every other name under partner.example (the task asks for all of them, not only "
                          "api.partner.example): status.partner.example. gives NXDOMAIN, not 10.160.1.6"]


def test_a_port_range_opens_more_than_5432() -> None:
    ranged = pt.ONLY_FRONTEND_SOLUTION.replace("      port: 5432\n", "      port: 5432\n      endPort: 5440\n")
    r = pt.task_only_frontend().check(ranged)
    assert not r.passed and r.messages[0].startswith("web/frontend reaches db on TCP 5433 too: only TCP 5432")
    assert "an endPort opens every port up to it" in r.messages[0]


def test_dns_egress_as_two_ored_peers_reaches_all_of_kube_system() -> None:
    # The trap notebook 09 teaches: two items (a dash before podSelector) are ORed.
    ored = pt.DEFAULT_DENY_DNS_SOLUTION.replace(
        "          kubernetes.io/metadata.name: kube-system\n      podSelector:",
        "          kubernetes.io/metadata.name: kube-system\n    - podSelector:")
    r = pt.task_default_deny_dns().check(ored)
    assert not r.passed
    assert r.messages[0].startswith("x/a may send to kube-system/metrics-agent on UDP 53 too (a pod of kube-system "
                                    "that is not CoreDNS)")
    assert "its items are ORed" in r.messages[0]
    anywhere = pt.DEFAULT_DENY + "---\n" + (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: dns, namespace: x}\nspec:\n"
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{protocol: UDP, port: 53}, "
        "{protocol: TCP, port: 53}]\n")
    r = pt.task_default_deny_dns().check(anywhere)
    assert not r.passed and "it has no `to` list, so it admits every peer" in r.messages[0]


def test_an_ipblock_rule_without_ports_opens_every_port() -> None:
    no_ports = pt.OFFICE_SOLUTION.replace("    ports:\n    - protocol: TCP\n      port: 80\n", "")
    r = pt.task_office_cidr().check(no_ports)
    assert not r.passed and r.messages[0].startswith("the office reaches x/a on TCP 81 too: only TCP 80 was asked")


def test_a_host_route_to_the_one_pod_is_not_the_podcidr() -> None:
    r = pn.task_missing_route().check(OVERRIDE.replace("ROUTE", "10.244.2.2/32 via 172.18.0.3 dev eth0"))
    assert not r.passed
    assert r.messages == ["node-a reaches web, but 10.244.2.1 (in node-b's podCIDR 10.244.2.0/24) still takes "
                          "`default via 172.18.0.1 dev eth0`: the next pod on node-b would be unreachable; route "
                          "the whole podCIDR 10.244.2.0/24 via 172.18.0.3"]
    r = pn.task_missing_route().check("ssh node-a\nip route add 10.244.2.2 via 172.18.0.3\n")
    assert not r.passed and "the next pod on node-b would be unreachable" in r.messages[0]


# --- right answers in other forms ---------------------------------------------------------------------------

def test_a_route_without_dev_is_right() -> None:
    assert pn.task_missing_route().check("ssh node-a\nip route add 10.244.2.0/24 via 172.18.0.3\n").passed
    assert pn.task_missing_route().check(OVERRIDE.replace("ROUTE", "10.244.2.0/24 via 172.18.0.3")).passed
    # A `$ ` prompt copied in front of each command is allowed.
    assert pn.task_missing_route().check("$ ssh node-a\n$ ip route add 10.244.2.0/24 via 172.18.0.3\n").passed


def test_commands_and_terminal_sessions_are_answers() -> None:
    assert pn.task_ip_forward().check("ssh node-b\nsysctl -w net.ipv4.ip_forward=1").passed
    wrong_node = pn.task_ip_forward().check("ssh node-a\nsysctl -w net.ipv4.ip_forward=1")
    assert not wrong_node.passed and "node/node-b does not forward packets" in wrong_node.messages[0]
    assert st.task_fix_selector().check("kubectl set selector svc api app=web").passed
    assert st.task_nodeport().check("kubectl create service nodeport web-np --tcp=80:8080 --node-port=30080\n"
                                    "kubectl set selector svc web-np app=web").passed
    r = st.task_nodeport().check("kubectl expose deployment web --name web-np --port 80 --target-port 8080 "
                                 "--type NodePort")
    assert not r.passed and r.messages[0].startswith("its node port is 3") and "not 30080" in r.messages[0]
    assert st.task_keep_client_ip().check(
        "kubectl patch svc influxdb -p '{\"spec\":{\"externalTrafficPolicy\":\"Local\"}}'").passed
    assert it.api_split_task().check('kubectl create ingress app --class=nginx '
                                     '--rule="app.example.com/api*=api:8080" --rule="app.example.com/*=web:80"').passed
    assert pt.task_office_cidr().check("cat <<EOF | kubectl apply -f -\n" + pt.OFFICE_SOLUTION + "EOF\n").passed
    # The terminal a learner used is graded as it stands.
    s = Session(pn.BROKEN_ROUTE)
    s.feed("ssh node-a\nip route add 10.244.2.0/24 via 172.18.0.3 dev eth0\nexit\n")
    assert pn.task_missing_route().check(s).passed
    # A failed command is reported with the verdict.
    failed = st.task_fix_selector().check("kubectl set selector svc apii app=web")
    assert not failed.passed and 'services "apii" not found' in failed.messages[-1]


def test_commands_are_told_from_yaml() -> None:
    assert is_commands("kubectl get pods") and is_commands("\n$ ssh node-a\nip route") and is_commands("k get po")
    assert not is_commands("apiVersion: v1\nkind: Service") and not is_commands("# a comment\n")
    assert not is_commands("db.data")


# --- messages that were false ---------------------------------------------------------------------------------

def test_the_vxlan_task_does_not_deny_the_right_node() -> None:
    r = pn.task_vxlan_peer().check("kind-worker2:8472")
    assert r.messages == ["kind-worker2 is the right node, but the outer header carries addresses, not names: write "
                          "its InternalIP, 172.18.0.4"]
    r = pn.task_vxlan_peer().check("172.18.0.3:8472")
    assert r.messages[0].startswith("172.18.0.3 is kind-worker's InternalIP; 10.244.2.2 runs on kind-worker2")


def test_the_pod_name_task_names_the_record_it_was_given() -> None:
    c = k8snetviz.load("dns")
    by_ip = str(c.pod("data/db-0").ip).replace(".", "-") + ".data.pod"
    r = d.task_pod_name().check(by_ip)
    assert r.passed
    assert "the A record CoreDNS makes from the address itself" in r.messages[0]
    assert "subdomain" not in r.messages[0].split("db-0.db-headless.data")[0]


# --- the imperative tasks refuse the near misses ---------------------------------------------------------------

def test_the_kindnet_task_needs_both_routes_via_the_nodes() -> None:
    from k8snetviz.course import cni_tasks as ct

    t = ct.task_kindnet_routes()
    one = t.check("ssh kind-worker2\nip route add 10.244.1.0/24 via 172.18.0.3\nexit")
    assert not one.passed and "10.244.0." in one.messages[0] and "on kind-control-plane" in one.messages[0]
    onlink = t.check("ssh kind-worker2\nip route add 10.244.0.0/16 dev eth0\nexit")  # ARPs for pod IPs: no answer
    assert not onlink.passed
    assert t.check("ssh kind-worker2\nip r add 10.244.0.0/24 via 172.18.0.2 dev eth0\n"
                   "ip r add 10.244.1.0/24 via 172.18.0.3 dev eth0 onlink\nexit").passed


def test_the_alias_task_wants_a_full_name_and_a_cname() -> None:
    t = d.task_db_alias()
    short = t.check("kubectl -n app create service externalname db-main --external-name db.data")
    assert short.messages == ["db-main is a CNAME for db.data, and app/client gets no address for it: the CNAME's "
                              "target is not completed with search domains, so it must be the full name of db's "
                              "Service"]
    elsewhere = t.check("kubectl create service externalname db-main --external-name db.data.svc.cluster.local")
    assert not elsewhere.passed and "NXDOMAIN" in elsewhere.messages[0]  # in namespace default, not app
    assert t.check("apiVersion: v1\nkind: Service\nmetadata: {name: db-main, namespace: app}\n"
                   "spec: {type: ExternalName, externalName: db.data.svc.cluster.local}").passed


def test_the_scrape_task_labels_one_namespace_and_keeps_the_policy() -> None:
    t = pt.task_scrape_metrics()
    everyone = t.check("kubectl label ns --all purpose=monitoring")
    assert not everyone.passed and everyone.messages[0].startswith("x/a, staging/frontend, web/admin reach db's")
    assert t.check("kubectl -n data delete netpol db-ingress").messages[0].startswith("the policies changed")
    pod_label = t.check("kubectl -n observability label pod prometheus purpose=monitoring")
    assert not pod_label.passed and "isolated for ingress by NetworkPolicy data/db-ingress" in pod_label.messages[0]
