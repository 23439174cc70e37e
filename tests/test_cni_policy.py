"""NetworkPolicy is the CNI's to enforce: each model says whether it does, and the walk follows it.

kubernetes.io/docs/concepts/services-networking/network-policies/ ("Prerequisites"): "Network policies
are implemented by the network plugin. To use network policies, you must be using a networking solution
which supports NetworkPolicy. Creating a NetworkPolicy resource without a controller that implements it
will have no effect."
"""

from __future__ import annotations

import json

import pytest

import k8snetviz
from k8snetviz.agents.cni import plugins
from k8snetviz.cli import main

DENY_WEB = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-web, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
"""


@pytest.mark.parametrize("name", sorted(plugins()))
def test_every_model_says_whether_it_enforces_policy_and_where_that_comes_from(name: str) -> None:
    cls = plugins()[name]
    assert isinstance(cls.enforces_network_policy, bool) and cls.policy_source
    if cls.enforces_network_policy:
        assert cls.policy_agent  # the owner of the walk's policy hops


def test_the_models_follow_their_projects() -> None:
    enforced = {name: cls.enforces_network_policy for name, cls in plugins().items()}
    # flannel-io/flannel README ("flanneld does not natively enforce Network Policies"); the reference
    # bridge plugin reads no API objects; kind >= v0.24.0 (kindnetd v20240813, kubernetes-sigs/kind commit
    # e7903573 "implement network policies") embeds kube-network-policies; Calico's Felix enforces.
    assert enforced == {"bridge": False, "calico": True, "flannel": False, "kindnet": True}
    assert plugins()["kindnet"].policy_agent == "kindnet/kube-network-policies"
    assert plugins()["calico"].policy_agent == "calico-node/felix"


def web_pod(c: k8snetviz.Cluster) -> str:
    return next(k for k in c.pods if k.startswith("default/web-"))


def test_on_flannel_the_policy_is_present_but_not_enforced() -> None:
    c = k8snetviz.load("flannel-vxlan", DENY_WEB)
    t = c.trace("default/client", f"pod/{web_pod(c)}:80")
    assert t.delivered
    hop = next(h for h in t.hops if h.action == "policy")
    assert "default/deny-web" in hop.detail and "would drop" in hop.detail and "does not enforce" in hop.detail
    assert hop.decided_by is not None and hop.decided_by.owner.component == "kube-apiserver"
    assert hop.decided_by.owner.object == "NetworkPolicy default/deny-web"
    # The matrix is what the policies say, marked as not enforced.
    m = c.policy()
    assert m.to_dict()["enforced"] is False and "not enforced" in m.text()
    assert m.to_dict()["allowed"]["default/client"][web_pod(c)] is False


def test_on_kind_the_policy_drops_and_kindnet_decides() -> None:
    c = k8snetviz.load("kind-default", DENY_WEB)
    t = c.trace("default/client", f"pod/{web_pod(c)}:80")
    assert t.verdict == "dropped"
    assert t.hops[-1].decided_by is not None
    assert t.hops[-1].decided_by.owner.component == "kindnet/kube-network-policies"
    assert c.policy().to_dict()["enforced"] is True


def test_policy_json_says_who_enforces(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "calico", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["enforced"] is True and "calico-node/felix" in doc["enforcement"]
