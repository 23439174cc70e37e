"""The truth table printed as the upstream e2e suite prints it, and verdicts in words.

Format fact: test/e2e/network/netpol truthtable.go PrettyPrint joins "-\t" and the
destination pods with tabs for the header, and each row is the source followed by
"<mark>\t" cells joined with tabs, "." for connected, "X" for blocked, "?" for unknown.
"""

from __future__ import annotations

from k8snetviz.agents.networkpolicy import PodPort, PolicyEngine, PolicyNamespace, PolicyPod
from k8snetviz.views.policytext import summary, truth_table, verdict_text


def engine(policies: list[dict]) -> PolicyEngine:
    pods = [
        PolicyPod(ns, p, {"pod": p}, f"10.244.{i}.{j + 2}", (PodPort(80, "serve-80-tcp"),))
        for i, ns in enumerate("xy")
        for j, p in enumerate("ab")
    ]
    return PolicyEngine(pods, [PolicyNamespace(ns, {"ns": ns}) for ns in "xy"], policies)


DENY_X_A = {
    "metadata": {"name": "deny-a", "namespace": "x"},
    "spec": {"podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Ingress"]},
}


def test_truth_table_reproduces_the_e2e_layout():
    text = truth_table(engine([DENY_X_A]).reachability(80))
    assert text.split("\n") == [
        "-\t\tx/a\tx/b\ty/a\ty/b",
        # x/a is isolated for ingress: only its own column blocks, except loopback
        "x/a\t.\t\t.\t\t.\t\t.\t",
        "x/b\tX\t\t.\t\t.\t\t.\t",
        "y/a\tX\t\t.\t\t.\t\t.\t",
        "y/b\tX\t\t.\t\t.\t\t.\t",
    ]


def test_truth_table_indent_and_unknown_cells():
    doc = {"pods": ["x/a", "x/b"], "allowed": {"x/a": {"x/a": True}, "x/b": {"x/a": False, "x/b": True}}}
    assert truth_table(doc, indent="  ").split("\n") == [
        "  -\t\tx/a\tx/b",
        "  x/a\t.\t\t?\t",
        "  x/b\tX\t\t.\t",
    ]


def test_aligned_truth_table_keeps_the_marks_under_their_pods():
    text = truth_table(engine([DENY_X_A]).reachability(80), aligned=True)
    lines = text.split("\n")
    header = lines[0]
    for line in lines[1:]:
        for pod in ("x/a", "x/b", "y/a", "y/b"):
            assert line[header.index(pod)] in ".X"
    assert lines[2].split() == ["x/b", "X", ".", ".", "."]


def test_summary_counts_the_matrix():
    assert summary(engine([DENY_X_A]).reachability(80)) == "TCP/80: 13 of 16 connections allowed, 3 blocked"
    assert summary(engine([]).reachability(81, "UDP")) == "UDP/81: 16 of 16 connections allowed, 0 blocked"


def test_verdict_text_names_the_deciding_rule():
    allow_b = {
        "metadata": {"name": "allow-b", "namespace": "x"},
        "spec": {
            "podSelector": {"matchLabels": {"pod": "a"}},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"pod": "b"}}}],
                    "ports": [{"port": "serve-80-tcp"}],
                }
            ],
        },
    }
    e = engine([DENY_X_A, allow_b])
    text = verdict_text(e.check("x/b", "x/a", 80))
    assert text.split("\n")[0] == "x/b -> x/a TCP/80: allowed (replies too)"
    assert "allowed by NetworkPolicy x/allow-b spec.ingress[0]: from[0], ports[0]" in text
    assert "selected by: x/deny-a, x/allow-b" in text
    denied = verdict_text(e.check("y/a", "x/a", 80))
    assert denied.split("\n")[0] == "y/a -> x/a TCP/80: denied"
    assert denied.split("\n")[2] == (
        "  ingress: DENIED: pod x/a is isolated for ingress by NetworkPolicies x/deny-a and x/allow-b, "
        "and none of their rules matches"
    )
