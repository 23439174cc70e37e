"""The NetworkPolicy engine, on the truth-table model of the upstream e2e suite.

Facts come from the NetworkPolicy API reference and concept page (kubernetes.io), the API
server's defaulting (pkg/apis/networking/v1/defaults.go) and validation
(pkg/apis/networking/validation/validation.go), and the e2e suite in
test/e2e/network/netpol: namespaces x, y, z with pods a, b, c labelled pod=<name>,
namespaces labelled ns=<name>, each pod serving ports 80 and 81 over TCP, UDP and SCTP
with container ports named serve-<port>-<protocol>.
"""

from __future__ import annotations

import random

import pytest

from k8snetviz.agents.networkpolicy import (
    LabelSelector,
    NetworkPolicy,
    PodPort,
    PolicyEngine,
    PolicyNamespace,
    PolicyPod,
    parse_network_policy,
    reachability,
    validate_network_policy,
)
from k8snetviz.errors import InvalidObject, NotFound, UsageError

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
NODE_IPS = ("172.18.0.2", "172.18.0.3", "172.18.0.4")


def e2e_pods() -> list[PolicyPod]:
    pods = []
    for n, ns in enumerate(NAMESPACES):
        for p, name in enumerate(PODS):
            ports = tuple(
                PodPort(port, f"serve-{port}-{proto.lower()}", proto)
                for port in (80, 81)
                for proto in ("TCP", "UDP", "SCTP")
            )
            pods.append(PolicyPod(ns, name, {"pod": name}, f"10.244.{p}.{n + 10}", ports, NODE_IPS[p]))
    return pods


def e2e_namespaces() -> list[PolicyNamespace]:
    return [PolicyNamespace(ns, {"ns": ns}) for ns in NAMESPACES]


ALL = [f"{ns}/{p}" for ns in NAMESPACES for p in PODS]


def policy(name: str, spec: dict, namespace: str = "x") -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def matrix(policies: list[dict], port: int = 80, protocol: str = "TCP", pods=None) -> dict:
    return reachability(pods or e2e_pods(), e2e_namespaces(), policies, port, protocol).allowed


def expected(default: bool = True) -> dict:
    return {f: {t: default for t in ALL} for f in ALL}


def loopback(table: dict) -> dict:
    # the docs: "a pod cannot block access to itself"
    for pod in ALL:
        table[pod][pod] = True
    return table


def deny_all_to(table: dict, dst: str) -> None:
    for src in ALL:
        table[src][dst] = False


def deny_all_from(table: dict, src: str) -> None:
    for dst in ALL:
        table[src][dst] = False


# --------------------------------------------------------------------------- no policy


def test_without_policies_everything_is_allowed():
    assert matrix([]) == expected(True)


def test_matrix_json_shape_is_the_policy_json_contract():
    doc = reachability(e2e_pods(), e2e_namespaces(), [], 81, "UDP").to_dict()
    assert list(doc) == ["port", "protocol", "pods", "allowed"]
    assert doc["port"] == 81 and doc["protocol"] == "UDP"
    assert doc["pods"] == ALL  # namespace-major, as the e2e suite orders them
    assert doc["allowed"]["x/a"]["z/c"] is True


# --------------------------------------------------------------------------- default deny


def test_default_deny_ingress_isolates_every_pod_of_the_namespace():
    # e2e "should support a 'default-deny-ingress' policy"
    got = matrix([policy("deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})])
    want = expected()
    for p in PODS:
        deny_all_to(want, f"x/{p}")
    assert got == loopback(want)


def test_default_deny_egress_isolates_sources_only():
    got = matrix([policy("deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})])
    want = expected()
    for p in PODS:
        deny_all_from(want, f"x/{p}")
    assert got == loopback(want)


def test_default_deny_all_blocks_both_directions():
    # e2e "should support a 'default-deny-all' policy"
    got = matrix([policy("deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})])
    want = expected()
    for p in PODS:
        deny_all_to(want, f"x/{p}")
        deny_all_from(want, f"x/{p}")
    assert got == loopback(want)


def test_allow_all_ingress_with_an_empty_rule():
    # an empty rule {} matches every source and port
    got = matrix(
        [
            policy("deny", {"podSelector": {}}),
            policy("allow-all", {"podSelector": {}, "ingress": [{}]}),
        ]
    )
    assert got == expected(True)


def test_empty_ingress_list_allows_nothing():
    got = matrix([policy("deny", {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": []})])
    want = expected()
    deny_all_to(want, "x/a")
    assert got == loopback(want)


# --------------------------------------------------------------------------- policyTypes defaulting


def test_policy_types_default_to_ingress_only_when_egress_is_empty():
    # defaults.go: Egress is added only when len(spec.egress) != 0
    p = parse_network_policy(policy("p", {"podSelector": {}, "egress": []}))
    assert p.policy_types == ("Ingress",)
    got = matrix([policy("p", {"podSelector": {}, "egress": []})])
    assert got["x/a"]["y/a"] is True  # egress not isolated
    assert got["y/a"]["x/a"] is False  # ingress isolated


def test_policy_types_include_egress_when_egress_rules_exist():
    spec = {"podSelector": {"matchLabels": {"pod": "a"}}, "egress": [{"to": [{"podSelector": {}}]}]}
    assert parse_network_policy(policy("p", spec)).policy_types == ("Ingress", "Egress")
    got = matrix([policy("p", spec)])
    assert got["x/a"]["x/b"] is True  # to a pod of its own namespace
    assert got["x/a"]["y/b"] is False  # podSelector alone means the policy's namespace
    assert got["y/b"]["x/a"] is False  # and it isolates ingress too (no ingress rules)


def test_explicit_egress_policy_type_ignores_ingress_rules():
    spec = {"podSelector": {}, "policyTypes": ["Egress"], "ingress": [], "egress": [{}]}
    got = matrix([policy("p", spec)])
    assert got == expected(True)


# --------------------------------------------------------------------------- peers


def test_pod_selector_within_the_policy_namespace():
    # e2e "should enforce policy to allow traffic from pods within server namespace based on PodSelector"
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}],
    }
    got = matrix([policy("allow-b", spec)])
    want = expected()
    deny_all_to(want, "x/a")
    want["x/b"]["x/a"] = True
    assert got == loopback(want)


def test_pod_and_namespace_selector_in_one_peer_are_anded():
    # e2e "should enforce policy based on PodSelector and NamespaceSelector"
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"ns": "y"}},
                        "podSelector": {"matchLabels": {"pod": "b"}},
                    }
                ]
            }
        ],
    }
    got = matrix([policy("and", spec)])
    want = expected()
    deny_all_to(want, "x/a")
    want["y/b"]["x/a"] = True
    assert got == loopback(want)


def test_pod_and_namespace_selector_in_two_peers_are_ored():
    # e2e "should enforce policy based on PodSelector or NamespaceSelector"
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [
            {
                "from": [
                    {"namespaceSelector": {"matchLabels": {"ns": "y"}}},
                    {"podSelector": {"matchLabels": {"pod": "b"}}},
                ]
            }
        ],
    }
    got = matrix([policy("or", spec)])
    want = expected()
    deny_all_to(want, "x/a")
    for src in ("y/a", "y/b", "y/c", "x/b"):
        want[src]["x/a"] = True
    assert got == loopback(want)


def test_empty_namespace_selector_means_every_namespace():
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"pod": "c"}}}]}],
    }
    got = matrix([policy("c-anywhere", spec)])
    assert [src for src in ALL if got[src]["x/a"]] == ["x/a", "x/c", "y/c", "z/c"]


def test_namespace_name_label_is_set_on_every_namespace():
    # the API server labels each namespace kubernetes.io/metadata.name=<name>
    spec = {
        "podSelector": {},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "z"}}}]}],
    }
    got = matrix([policy("from-z", spec, namespace="y")])
    assert [src for src in ALL if got[src]["y/b"]] == ["y/b", "z/a", "z/b", "z/c"]


def test_match_expressions_operators():
    # e2e "should enforce policy based on PodSelector with MatchExpressions" (In), and the others
    def sources(expr: dict) -> list[str]:
        spec = {
            "podSelector": {"matchLabels": {"pod": "a"}},
            "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": [expr]}}]}],
        }
        got = matrix([policy("p", spec)])
        return [src for src in ALL if got[src]["x/a"] and src != "x/a"]

    assert sources({"key": "pod", "operator": "In", "values": ["b"]}) == ["x/b", "y/b", "z/b"]
    assert sources({"key": "pod", "operator": "NotIn", "values": ["a", "b"]}) == ["x/c", "y/c", "z/c"]
    assert sources({"key": "pod", "operator": "Exists"}) == [s for s in ALL if s != "x/a"]
    assert sources({"key": "pod", "operator": "DoesNotExist"}) == []


def test_not_in_matches_pods_without_the_key():
    assert LabelSelector.from_dict(
        {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}
    ).matches({"pod": "a"})


def test_namespace_selector_with_match_expressions():
    # e2e "should enforce policy based on NamespaceSelector with MatchExpressions"
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchExpressions": [{"key": "ns", "operator": "In", "values": ["z"]}]
                        }
                    }
                ]
            }
        ],
    }
    got = matrix([policy("p", spec)])
    assert [src for src in ALL if got[src]["x/a"]] == ["x/a", "z/a", "z/b", "z/c"]


# --------------------------------------------------------------------------- unions


def test_stacked_policies_are_additive():
    # e2e "should enforce multiple, stacked policies with overlapping podSelectors"
    def allow_from(name: str, pod: str) -> dict:
        return policy(
            name,
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": pod}}}]}],
            },
        )

    got = matrix([allow_from("allow-b", "b"), allow_from("allow-c", "c")])
    assert [src for src in ALL if got[src]["x/a"]] == ["x/a", "x/b", "x/c"]


def test_allow_all_policy_takes_precedence_over_a_narrow_one():
    # e2e "should enforce multiple ingress policies with ingress allow-all policy taking precedence"
    narrow = policy(
        "only-80",
        {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{"ports": [{"port": 80}]}]},
    )
    allow_all = policy("allow-all", {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{}]})
    assert matrix([narrow], port=81)["y/b"]["x/a"] is False
    assert matrix([narrow, allow_all], port=81)["y/b"]["x/a"] is True


def test_connection_needs_egress_of_the_source_and_ingress_of_the_destination():
    # e2e "should support denying of egress traffic on the client side (even if the server
    # explicitly allows this traffic)"
    deny_egress = policy(
        "deny-egress", {"podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Egress"]}
    )
    allow_ingress = policy(
        "allow-from-x-a",
        {
            "podSelector": {"matchLabels": {"pod": "b"}},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"ns": "x"}},
                            "podSelector": {"matchLabels": {"pod": "a"}},
                        }
                    ]
                }
            ],
        },
        namespace="y",
    )
    got = matrix([deny_egress, allow_ingress])
    assert got["x/a"]["y/b"] is False
    assert got["x/b"]["y/b"] is False  # y/b only accepts x/a
    assert got["x/b"]["y/a"] is True


# --------------------------------------------------------------------------- ports and protocols


def test_ingress_on_one_named_port():
    # e2e "should allow ingress access on one named port"
    spec = {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{"ports": [{"port": "serve-81-tcp"}]}]}
    assert all(matrix([policy("p", spec)], port=81)[src]["x/a"] for src in ALL)
    assert [src for src in ALL if matrix([policy("p", spec)], port=80)[src]["x/a"]] == ["x/a"]


def test_named_port_must_match_the_protocol_too():
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"ports": [{"port": "serve-80-udp", "protocol": "UDP"}]}],
    }
    assert matrix([policy("p", spec)], port=80, protocol="UDP")["y/b"]["x/a"] is True
    assert matrix([policy("p", spec)], port=80, protocol="TCP")["y/b"]["x/a"] is False
    # the named port with the default protocol TCP finds no TCP port called serve-80-udp
    spec["ingress"][0]["ports"][0].pop("protocol")
    assert matrix([policy("p", spec)], port=80, protocol="UDP")["y/b"]["x/a"] is False


def test_egress_named_port_resolves_on_the_destination_pod():
    # e2e "should allow egress access on one named port"
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": "serve-80-tcp"}]}],
    }
    pods = e2e_pods()
    # y/c calls its port 80 "web": the name serve-80-tcp does not exist there
    pods = [
        PolicyPod(p.namespace, p.name, p.labels, p.ip, (PodPort(80, "web"),), p.node_ip)
        if p.namespace == "y" and p.name == "c"
        else p
        for p in pods
    ]
    got = matrix([policy("p", spec)], port=80, pods=pods)
    assert [dst for dst in ALL if got["x/a"][dst]] == [d for d in ALL if d != "y/c"]
    assert [dst for dst in ALL if matrix([policy("p", spec)], port=81)["x/a"][dst]] == ["x/a"]
    engine = PolicyEngine(pods, e2e_namespaces(), [policy("p", spec)])
    # an address outside the cluster has no named ports
    assert engine.check("x/a", "198.51.100.1", 80).allowed is False


def test_protocol_defaults_to_tcp_and_udp_rule_does_not_allow_tcp():
    # e2e "should not allow access by TCP when a policy specifies only UDP"
    udp_only = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"ports": [{"port": 81, "protocol": "UDP"}]}],
    }
    assert matrix([policy("p", udp_only)], port=81, protocol="UDP")["y/b"]["x/a"] is True
    assert matrix([policy("p", udp_only)], port=81, protocol="TCP")["y/b"]["x/a"] is False
    default = {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{"ports": [{"port": 81}]}]}
    assert matrix([policy("p", default)], port=81, protocol="TCP")["y/b"]["x/a"] is True
    assert matrix([policy("p", default)], port=81, protocol="SCTP")["y/b"]["x/a"] is False


def test_sctp_rule():
    # e2e "should enforce policy to allow ingress traffic for a target [Feature:SCTP]" uses SCTP 80
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"ports": [{"port": 80, "protocol": "SCTP"}]}],
    }
    assert matrix([policy("p", spec)], port=80, protocol="SCTP")["z/c"]["x/a"] is True
    assert matrix([policy("p", spec)], port=80, protocol="UDP")["z/c"]["x/a"] is False


def test_port_without_number_matches_every_port_of_its_protocol():
    spec = {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{"ports": [{"protocol": "UDP"}]}]}
    assert matrix([policy("p", spec)], port=81, protocol="UDP")["y/b"]["x/a"] is True
    assert matrix([policy("p", spec)], port=81, protocol="TCP")["y/b"]["x/a"] is False


def test_end_port_range_is_inclusive():
    # API reference: endPort "indicates that the range of ports from port to endPort if set,
    # inclusive, should be allowed"
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": 80, "endPort": 81}]}],
    }
    engine = PolicyEngine(e2e_pods(), e2e_namespaces(), [policy("p", spec)])
    assert [engine.check("x/a", "y/b", p).allowed for p in (79, 80, 81, 82)] == [False, True, True, False]


# --------------------------------------------------------------------------- ipBlock


def external_ingress_policy() -> dict:
    return policy(
        "from-internet",
        {
            "podSelector": {"matchLabels": {"pod": "a"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["203.0.113.0/24"]}}]}],
        },
    )


def test_ip_block_with_except_for_an_external_client():
    engine = PolicyEngine(e2e_pods(), e2e_namespaces(), [external_ingress_policy()])
    allowed = engine.check("198.51.100.7", "x/a", 80)
    assert allowed.allowed is True
    assert allowed.egress.pod is None  # the client is not a pod: only the destination's ingress counts
    assert allowed.ingress.allowed_by.path == "spec.ingress[0].from[0]"
    denied = engine.check("203.0.113.5", "x/a", 80)
    assert denied.allowed is False
    assert denied.reason == (
        "pod x/a is isolated for ingress by NetworkPolicy x/from-internet, and none of its rules matches"
    )


def test_ip_block_matches_pod_ips_too():
    # e2e "should enforce except clause while egress access to server in CIDR block":
    # cidr <x/a's IP>/4 with except <x/b's IP>/32
    pods = e2e_pods()
    ip = {p.key: p.ip for p in pods}
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": f"{ip['x/a']}/4", "except": [f"{ip['x/b']}/32"]}}]}],
    }
    got = matrix([policy("p", spec)])
    want = expected()
    want["x/a"]["x/b"] = False
    assert got == want


def test_ip_overlapping_cidr_and_except_is_allowed_by_another_peer():
    # e2e "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed"
    pods = e2e_pods()
    ip = {p.key: p.ip for p in pods}
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": [f"{ip['x/b']}/32"]}}]},
            {"to": [{"ipBlock": {"cidr": f"{ip['x/b']}/32"}}]},
        ],
    }
    assert all(matrix([policy("p", spec)])["x/a"].values())


# --------------------------------------------------------------------------- special cases


def test_replies_of_an_allowed_connection_are_allowed():
    # concept page: reply traffic of allowed connections is implicitly allowed
    deny_b_egress = policy(
        "deny-b-egress", {"podSelector": {"matchLabels": {"pod": "b"}}, "policyTypes": ["Egress"]}
    )
    engine = PolicyEngine(e2e_pods(), e2e_namespaces(), [deny_b_egress])
    a_to_b = engine.check("x/a", "x/b", 80)
    assert a_to_b.allowed and a_to_b.replies_allowed
    assert engine.check("x/b", "x/a", 80).allowed is False  # a new connection from b is not a reply


def test_traffic_from_the_pods_own_node_is_always_allowed():
    # concept page: "traffic to and from the node where a Pod is running is always allowed"
    engine = PolicyEngine(
        e2e_pods(),
        e2e_namespaces(),
        [policy("deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})],
    )
    node_of_x_a = NODE_IPS[0]
    verdict = engine.check(node_of_x_a, "x/a", 80)
    assert verdict.allowed and "own node" in verdict.ingress.reason
    assert engine.check(NODE_IPS[1], "x/a", 80).allowed is False  # another node gets no exception
    assert engine.check("x/a", node_of_x_a, 10250).allowed is True


def test_policies_do_not_select_host_network_pods():
    pods = e2e_pods() + [PolicyPod("x", "kube-proxy", {"pod": "a"}, NODE_IPS[0], (), NODE_IPS[0], True)]
    deny = policy("deny", {"podSelector": {"matchLabels": {"pod": "a"}}})
    engine = PolicyEngine(pods, e2e_namespaces(), [deny])
    assert engine.check("y/b", "x/kube-proxy", 80).allowed is True
    assert engine.check("y/b", "x/a", 80).allowed is False
    got = engine.reachability(80)
    assert got.allowed["y/b"]["x/kube-proxy"] is True
    assert got.allowed["x/kube-proxy"]["x/a"] is True  # from x/a's own node


# --------------------------------------------------------------------------- provenance


def test_verdict_names_the_policy_rule_peer_and_port_that_allowed():
    spec = {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": {"pod": "c"}}}]},
            {
                "from": [
                    {"podSelector": {"matchLabels": {"pod": "c"}}},
                    {"namespaceSelector": {"matchLabels": {"ns": "y"}}},
                ],
                "ports": [{"port": 81}, {"port": 80}],
            },
        ],
    }
    engine = PolicyEngine(e2e_pods(), e2e_namespaces(), [policy("web", spec)])
    verdict = engine.check("pod/y/b", "x/a", 80)
    assert verdict.allowed
    ref = verdict.ingress.allowed_by
    assert (ref.policy, ref.rule, ref.peer, ref.port) == ("x/web", 1, 1, 1)
    assert ref.path == "spec.ingress[1].from[1].ports[1]"
    doc = verdict.to_dict()
    assert doc["ingress"]["isolated"] is True and doc["ingress"]["selected_by"] == ["x/web"]
    assert doc["egress"]["isolated"] is False
    assert "not isolated for egress" in doc["egress"]["reason"]


def test_denial_lists_every_policy_isolating_the_pod():
    p1 = policy("deny", {"podSelector": {}})
    p2 = policy(
        "allow-b",
        {
            "podSelector": {"matchLabels": {"pod": "a"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}],
        },
    )
    engine = PolicyEngine(e2e_pods(), e2e_namespaces(), [p1, p2])
    verdict = engine.check("10.244.2.10", "x/a", 80)  # x/c's pod IP means x/c
    assert verdict.src == "x/c"
    assert not verdict.allowed
    assert verdict.ingress.selected_by == ("x/deny", "x/allow-b")
    assert verdict.reason == (
        "pod x/a is isolated for ingress by NetworkPolicies x/deny and x/allow-b, "
        "and none of their rules matches"
    )


def test_a_pod_cannot_block_access_to_itself():
    engine = PolicyEngine(
        e2e_pods(),
        e2e_namespaces(),
        [policy("deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})],
    )
    verdict = engine.check("x/a", "x/a", 80)
    assert verdict.allowed and "cannot block access to itself" in verdict.ingress.reason


# --------------------------------------------------------------------------- the DNS pitfall


def dns_cluster() -> tuple[list[PolicyPod], list[PolicyNamespace]]:
    coredns = PolicyPod(
        "kube-system",
        "coredns-5d78c9869d-abcde",
        {"k8s-app": "kube-dns"},
        "10.244.0.2",
        (PodPort(53, "dns", "UDP"), PodPort(53, "dns-tcp", "TCP"), PodPort(9153, "metrics", "TCP")),
        "172.18.0.2",
    )
    return e2e_pods() + [coredns], e2e_namespaces() + [PolicyNamespace("kube-system")]


DEFAULT_DENY_EGRESS = policy("default-deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})
ALLOW_DNS = policy(
    "allow-dns",
    {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
            }
        ],
    },
)
COREDNS = "kube-system/coredns-5d78c9869d-abcde"


def test_default_deny_egress_breaks_dns():
    pods, namespaces = dns_cluster()
    engine = PolicyEngine(pods, namespaces, [DEFAULT_DENY_EGRESS])
    verdict = engine.check("x/a", COREDNS, 53, "UDP")
    assert not verdict.allowed
    assert verdict.reason == (
        "pod x/a is isolated for egress by NetworkPolicy x/default-deny-egress, and none of its rules matches"
    )
    assert engine.check("y/a", COREDNS, 53, "UDP").allowed  # other namespaces unaffected


def test_allowing_udp_and_tcp_53_to_coredns_fixes_dns():
    pods, namespaces = dns_cluster()
    engine = PolicyEngine(pods, namespaces, [DEFAULT_DENY_EGRESS, ALLOW_DNS])
    udp = engine.check("x/a", COREDNS, 53, "UDP")
    assert udp.allowed
    assert udp.egress.allowed_by.path == "spec.egress[0].to[0].ports[0]"
    assert engine.check("x/a", COREDNS, 53, "TCP").egress.allowed_by.port == 1  # large answers use TCP
    assert not engine.check("x/a", COREDNS, 9153).allowed
    assert not engine.check("x/a", "x/b", 80).allowed  # everything else still denied
    assert not engine.check("x/a", "8.8.8.8", 53, "UDP").allowed  # only the cluster DNS


# --------------------------------------------------------------------------- bad input


def invalid(spec: dict) -> str:
    with pytest.raises(InvalidObject) as exc:
        parse_network_policy(policy("bad", spec))
    return str(exc.value)


def test_ip_block_with_a_selector_in_one_peer_is_forbidden():
    msg = invalid({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": {}}]}]})
    assert msg == (
        'The NetworkPolicy "bad" is invalid: spec.ingress[0].from[0]: Forbidden: '
        "may not specify both ipBlock and another peer"
    )


def test_except_outside_its_cidr():
    msg = invalid({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}]}]})
    assert msg == (
        'The NetworkPolicy "bad" is invalid: spec.egress[0].to[0].ipBlock.except[0]: '
        'Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`'
    )
    # an except equal to the cidr is not a strict subset either
    assert "strict subset" in invalid(
        {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16"]}}]}]}
    )


def test_bad_cidr():
    msg = invalid({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.300/8"}}]}]})
    assert msg.endswith(
        'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.300/8": '
        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    )
    assert invalid({"ingress": [{"from": [{"ipBlock": {}}]}]}).endswith(
        "spec.ingress[0].from[0].ipBlock.cidr: Required value"
    )


def test_end_port_below_port_reports_the_port_value():
    # validation.go passes port.Port.IntVal as the bad value of endPort
    msg = invalid({"ingress": [{"ports": [{"port": 8080, "endPort": 8000}]}]})
    assert msg.endswith(
        "spec.ingress[0].ports[0].endPort: Invalid value: 8080: must be greater than or equal to `port`"
    )


def test_end_port_with_a_named_port_or_without_port():
    msg = invalid({"ingress": [{"ports": [{"port": "http", "endPort": 8000}]}]})
    assert msg.endswith(
        "spec.ingress[0].ports[0].endPort: Invalid value: 8000: "
        "may not be specified when `port` is non-numeric"
    )
    msg = invalid({"egress": [{"ports": [{"endPort": 8000}]}]})
    assert msg.endswith(
        "spec.egress[0].ports[0].endPort: Invalid value: 8000: "
        "may not be specified when `port` is not specified"
    )


def test_unsupported_protocol_lists_the_values_in_the_api_server_order():
    # validation.go builds the list as TCP, UDP, SCTP and field.NotSupported keeps that order
    msg = invalid({"ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]})
    assert msg.endswith(
        'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"'
    )


def test_more_errors_are_all_reported_in_field_order():
    errs = validate_network_policy(
        policy(
            "bad",
            {
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]},
                "ingress": [{"from": [{}], "ports": [{"port": 70000}, {"port": "Web_Port"}]}],
                "policyTypes": ["ingress"],
            },
        )
    )
    assert [str(e) for e in errs] == [
        "spec.podSelector.matchExpressions[0].values: Required value: "
        "must be specified when `operator` is 'In' or 'NotIn'",
        "spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.ingress[0].ports[1].port: Invalid value: "Web_Port": '
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        "spec.ingress[0].from[0]: Required value: must specify a peer",
        'spec.policyTypes[0]: Unsupported value: "ingress": supported values: "Ingress", "Egress"',
    ]


def test_bad_label_selector_values():
    errs = validate_network_policy(
        policy(
            "bad",
            {
                "podSelector": {
                    "matchLabels": {"app": "web server"},
                    "matchExpressions": [
                        {"key": "app", "operator": "Exists", "values": ["x"]},
                        {"key": "app", "operator": "Equals"},
                    ],
                }
            },
        )
    )
    assert [e.field for e in errs] == [
        "spec.podSelector.matchLabels",
        "spec.podSelector.matchExpressions[0].values",
        "spec.podSelector.matchExpressions[1].operator",
    ]
    assert str(errs[1]).endswith(
        "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
    )
    assert str(errs[2]) == (
        'spec.podSelector.matchExpressions[1].operator: Invalid value: "Equals": '
        "not a valid selector operator"
    )


def test_wrong_shapes_are_errors_not_tracebacks():
    assert invalid({"ingress": "everything"}).startswith('The NetworkPolicy "bad" is invalid: spec.ingress:')
    assert "metadata.name: Required value" in str(
        pytest.raises(InvalidObject, parse_network_policy, {"spec": {}}).value
    )


def test_bad_arguments_to_the_engine():
    engine = PolicyEngine(e2e_pods(), e2e_namespaces(), [])
    with pytest.raises(UsageError, match='unsupported protocol "ICMP"'):
        engine.reachability(80, "ICMP")
    with pytest.raises(UsageError):
        engine.reachability(0)
    with pytest.raises(NotFound, match='pods "d" not found in namespace "x"'):
        engine.check("x/d", "x/a", 80)
    with pytest.raises(UsageError):
        engine.check("x/a", "not-an-address", 80)


def test_parsed_policies_are_accepted_too():
    parsed = parse_network_policy(policy("deny", {"podSelector": {}}))
    assert isinstance(parsed, NetworkPolicy)
    assert matrix([parsed]) == matrix([policy("deny", {"podSelector": {}})])


# --------------------------------------------------------------------------- matrix == verdicts


def random_cluster(seed: int):
    rng = random.Random(seed)
    namespaces = [PolicyNamespace(f"n{i}", {"env": rng.choice(["prod", "dev"])}) for i in range(4)]
    pods = []
    for i in range(40):
        ns = namespaces[i % 4].name
        ports = (PodPort(80, "http"), PodPort(53, "dns", "UDP"), PodPort(rng.choice([80, 81]), "alt"))
        pods.append(
            PolicyPod(
                ns,
                f"p{i}",
                {"app": rng.choice("abc"), "tier": rng.choice(["web", "db"])},
                f"10.244.{i % 3}.{i + 2}",
                ports,
                f"172.18.0.{i % 3 + 2}",
                i == 39,
            )
        )
    selectors = [
        {},
        {"matchLabels": {"app": "a"}},
        {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]},
        {"matchExpressions": [{"key": "app", "operator": "In", "values": ["b", "c"]}]},
    ]
    peers = [{"podSelector": rng.choice(selectors)} for _ in range(3)] + [
        {"namespaceSelector": {"matchLabels": {"env": "prod"}}},
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"tier": "db"}}},
        {"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.1.0/24"]}},
        {"ipBlock": {"cidr": "172.18.0.0/16"}},
    ]
    ports = [
        {"port": 80},
        {"port": "http"},
        {"port": "alt"},
        {"port": 53, "protocol": "UDP"},
        {"port": 80, "endPort": 90},
        {"protocol": "UDP"},
    ]
    policies = []
    for k in range(12):
        spec: dict = {"podSelector": rng.choice(selectors)}
        for direction, key in (("ingress", "from"), ("egress", "to")):
            if rng.random() < 0.7:
                spec[direction] = [
                    {key: rng.sample(peers, rng.randint(0, 2)), "ports": rng.sample(ports, rng.randint(0, 2))}
                    for _ in range(rng.randint(0, 2))
                ]
        if rng.random() < 0.5:
            spec["policyTypes"] = rng.choice([["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        policies.append(policy(f"p{k}", spec, namespace=namespaces[k % 4].name))
    return pods, namespaces, policies


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matrix_agrees_with_single_verdicts(seed):
    # two independent paths: bitsets for the matrix, rule-by-rule walks for verdicts
    pods, namespaces, policies = random_cluster(seed)
    engine = PolicyEngine(pods, namespaces, policies)
    for port, protocol in ((80, "TCP"), (81, "TCP"), (53, "UDP")):
        table = engine.reachability(port, protocol).allowed
        for src in table:
            for dst in table:
                assert table[src][dst] == engine.check(src, dst, port, protocol).allowed, (src, dst, port)
    assert any(not v for row in table.values() for v in row.values())  # the policies do deny something
