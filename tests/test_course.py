"""The course machinery: predictions answer what the model says, checkers pass solutions and explain mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import k8snetviz
from k8snetviz.course import CheckResult, Predict, Solution, Task, contents, parse_route, run
from k8snetviz.course import pod_networking as pn
from k8snetviz.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bridge() -> k8snetviz.Cluster:
    return k8snetviz.load("two-node-bridge")


@pytest.fixture(scope="module")
def flannel() -> k8snetviz.Cluster:
    return k8snetviz.load("flannel-vxlan")


# --- Predict ------------------------------------------------------------------------------------------

def _predict() -> Predict:
    return Predict("Which row?", ["a", "b", "c"], answer="b", explanation="Because b.",
                   wrong={"a": "a is too short."}, reveal=lambda: "proof")


def test_predict_check_right_and_wrong() -> None:
    q = _predict()
    assert q.check("b") == "✔ Correct. Because b."
    assert q.check(1) == q.check("b")
    wrong = q.check("a")
    assert wrong.startswith("✘ Not quite: you chose “a”; the answer is “b”.")
    assert "a is too short." in wrong and wrong.endswith("Because b.")
    assert "too short" not in q.check("c")  # feedback is only for the choice that earned it


def test_predict_unanswerable_choices_are_said_in_words() -> None:
    q = _predict()
    assert q.check(None) == "Pick an answer first, then press Check."
    assert q.check("d").startswith("'d' is not one of the choices (0: a; 1: b; 2: c)")
    assert q.check(7).startswith("7 is not one of the choices")
    assert not q.is_correct(True)  # a bool is not an index


def test_predict_rejects_inconsistent_questions() -> None:
    with pytest.raises(ValueError, match="not one of the choices"):
        Predict("?", ["a", "b"], answer="c", explanation="")
    with pytest.raises(ValueError, match="duplicate"):
        Predict("?", ["a", "a"], answer="a", explanation="")
    with pytest.raises(ValueError, match="do not exist"):
        Predict("?", ["a", "b"], answer="a", explanation="", wrong={"z": "no"})


def test_predict_widget_parts_carry_stable_classes() -> None:
    box = _predict().widget()
    assert "knv-predict" in box._dom_classes
    question, choices, button, out = box.children
    assert "knv-predict-question" in question._dom_classes
    assert "knv-predict-choices" in choices._dom_classes and choices.value is None
    assert "knv-predict-check" in button._dom_classes and button.description == "Check"
    assert "knv-predict-reveal" in out._dom_classes
    choices.value = "a"
    button.click()  # outside a kernel the reveal prints; it must not raise


# --- the predictions of notebooks 01 and 02 are facts about the model -------------------------------

def test_every_prediction_is_consistent_and_reveals() -> None:
    for q in pn.node_networking_predictions() + pn.pod_networking_predictions():
        assert q.check(q.answer).startswith("✔ Correct.")
        assert q.reveal is not None
        shown = q.reveal()
        for item in shown if isinstance(shown, tuple) else (shown,):
            assert hasattr(item, "_repr_mimebundle_")


def test_node_to_node_uses_the_connected_route(bridge: k8snetviz.Cluster) -> None:
    row = str(bridge.netns_of("node-a").routes.lookup("172.18.0.3"))
    assert pn.predict_node_to_node().is_correct(row)
    t = bridge.trace("node/node-a", "node/node-b:10250")
    assert t.delivered and {h.at for h in t.hops} == {"node/node-a", "node/node-b"}


def test_outside_goes_to_the_gateway(bridge: k8snetviz.Cluster) -> None:
    t = bridge.trace("node/node-a", "8.8.8.8:53", protocol="UDP")
    assert t.hops[0].rule == "default via 172.18.0.1 dev eth0"
    assert pn.predict_outside().is_correct("to the gateway 172.18.0.1, by the default route")


def test_longest_prefix_prediction(bridge: k8snetviz.Cluster) -> None:
    row = str(bridge.netns_of("node-a").routes.lookup("10.244.2.7"))
    assert row == "10.244.2.0/24 via 172.18.0.3 dev eth0"
    assert pn.predict_longest_prefix().is_correct(row + ", because its prefix is longer")


def test_ip_forward_predictions() -> None:
    # Linux forwards between interfaces only with net.ipv4.ip_forward = 1; local delivery needs no forwarding.
    broken = k8snetviz.load("ip-forward-off")
    t = broken.trace("default/client", "default/web:80")
    assert t.verdict == "dropped" and t.hops[-1].at == "node/node-b" and t.hops[-1].device == "eth0"
    assert pn.predict_ip_forward().is_correct(
        "node-b receives it on eth0 but drops it: passing it on to cni0 is forwarding")
    assert broken.trace("node/node-a", "node/node-b:10250").delivered
    assert pn.predict_forward_to_self().is_correct("yes: the packet is for node-b itself, so nothing is forwarded")


def test_same_node_traffic_is_bridged(bridge: k8snetviz.Cluster) -> None:
    t = bridge.trace("default/client", "default/cache:6379")
    assert t.delivered
    assert not [h for h in t.hops if h.at == "node/node-a" and h.action == "route"]
    assert "bridge" in {h.action for h in t.hops}
    assert pn.predict_same_node().is_correct(
        "through cni0 only: the bridge passes the frame from client's veth to cache's veth")


def test_pods_see_each_other_without_nat(bridge: k8snetviz.Cluster) -> None:
    t = bridge.trace("default/client", "default/web:80")
    assert t.final is not None and t.final["src"].split(":")[0] == str(bridge.pod("default/client").ip) == "10.244.1.4"
    assert pn.predict_source_address().is_correct("10.244.1.4, the client pod's own address")


def test_pod_gateway_is_the_bridge(bridge: k8snetviz.Cluster) -> None:
    from ipaddress import IPv4Address

    assert bridge.netns_of("node-a").interfaces["cni0"].owns(IPv4Address("10.244.1.1"))
    assert pn.predict_pod_gateway().is_correct("node-a's cni0 bridge")


def test_kindnet_routes_same_node_traffic() -> None:
    kind = k8snetviz.load("kind-default")
    t = kind.trace("default/client", "10.244.1.2:80")
    assert t.delivered and "bridge" not in {h.action for h in t.hops}
    assert any(h.rule.startswith("10.244.1.2 dev veth") for h in t.hops)
    assert pn.predict_kindnet_same_node().is_correct("no bridge: the node's /32 host route sends it into web's veth")


def test_vxlan_predictions(flannel: k8snetviz.Cluster) -> None:
    t = flannel.trace("default/client", "10.244.2.2:80")
    encap = next(h for h in t.hops if h.action == "encap")
    assert "→ 172.18.0.4:8472" in encap.outer
    assert pn.predict_vxlan_outer().is_correct(
        "an outer UDP packet to 172.18.0.4:8472 wrapping the inner packet to 10.244.2.2:80")
    node = flannel.netns_of("kind-worker")
    # VXLAN over IPv4: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 bytes must fit in eth0's MTU.
    assert node.interfaces["eth0"].mtu - node.interfaces["flannel.1"].mtu == 20 + 8 + 8 + 14
    assert pn.predict_vxlan_mtu().is_correct("the VXLAN wrapping adds 50 bytes that must fit in eth0's 1500")


# --- Task and CheckResult -----------------------------------------------------------------------------

def test_unfinished_answers_are_named() -> None:
    t = pn.task_warm_up()
    assert t.check(None).messages[0].startswith("there is no answer yet")
    assert t.check("   ").messages[0].startswith("the answer is empty")
    assert t.check("...").messages[0].startswith("the answer still contains the placeholder")
    assert t.check(42).messages == ["write the answer as text (a Python string), not a int"]


def test_check_result_text_and_display() -> None:
    ok = CheckResult.ok("it works.")
    assert ok.passed and str(ok) == "✔ correct: it works."
    bad = CheckResult.fail("one", "two")
    assert not bad.passed and str(bad) == "✘ not yet:\n  - one\n  - two"
    html = bad._repr_mimebundle_()["text/html"]
    assert "<li>one</li><li>two</li>" in html and 'class="knv-task-result"' in html


def test_solution_is_shown_only_when_asked() -> None:
    t = pn.task_longest_prefix()
    assert "10.244.2.0/24 via 172.18.0.3" not in t.text()
    assert t.solution().answer == "10.244.2.0/24 via 172.18.0.3 dev eth0"
    box = t.widget()
    assert "knv-task" in box._dom_classes
    head, button, _ = box.children
    assert "10.244.2.0/24 via 172.18.0.3" not in head.value
    assert "knv-task-solution-button" in button._dom_classes
    button.click()
    assert button.description == "Hide solution"
    button.click()
    assert button.description == "Show solution"


def test_every_solution_passes_and_the_placeholder_fails() -> None:
    for t in [pn.task_warm_up()] + pn.node_networking_tasks() + pn.pod_networking_tasks():
        result = t.check(t.solution().answer)
        assert result.passed, (t.title, result.messages)
        assert not t.check("...").passed


def test_indented_yaml_in_a_string_is_read() -> None:
    indented = "\n".join("    " + line for line in pn.task_ip_forward().solution().answer.splitlines())
    assert pn.task_ip_forward().check(indented).passed


def test_warm_up_messages() -> None:
    t = pn.task_warm_up()
    assert t.check("node/node-b").passed
    assert t.check("node-a").messages == ["node-a holds cache, client, but not web"]
    assert t.check("kind-worker").messages == ['there is no node "kind-worker": the nodes are node-a, node-b']


def test_internal_ip_messages() -> None:
    t = pn.task_internal_ip()
    assert t.check("172.18.0.2").messages == ["172.18.0.2 is the InternalIP of node-a, not of node-b"]
    assert "pod subnet 10.244.0.0/16" in t.check("10.244.2.2").messages[0]
    assert "gateway" in t.check("172.18.0.1").messages[0]
    assert t.check("node-b").messages == ['"node-b" is not an IP address: copy the INTERNAL-IP column']


@pytest.mark.parametrize("answer, message", [
    ("default via 172.18.0.1 dev eth0", "but so does 10.244.2.0/24, which is longer (/24 beats /0)"),
    ("172.18.0.0/16 dev eth0", "10.244.2.7 is not inside 172.18.0.0/16"),
    ("10.244.2.0/24 via 172.18.0.2 dev eth0", "goes via 172.18.0.3, not via 172.18.0.2"),
    ("10.244.2.0/24 via 172.18.0.3 dev cni0", "leaves through dev eth0, not dev cni0"),
    ("10.0.0.0/8 via 172.18.0.3 dev eth0", "node/node-a has no row for 10.0.0.0/8"),
    ("10.244.2.0/24 vai 172.18.0.3", 'Error: either "to" is duplicate, or "vai" is a garbage.'),
    ("10.244.2.0/33 dev eth0", 'Error: inet prefix is expected rather than "10.244.2.0/33".'),
    ("10.244.2.0/24 dev eth0\ndefault via 172.18.0.1 dev eth0", "write exactly one row"),
])
def test_longest_prefix_wrong_answers(answer: str, message: str) -> None:
    result = pn.task_longest_prefix().check(answer)
    assert not result.passed
    assert any(message in m for m in result.messages), result.messages


def test_longest_prefix_accepts_the_forms_people_write() -> None:
    t = pn.task_longest_prefix()
    for answer in ["10.244.2.0/24 via 172.18.0.3", "ip route add 10.244.2.0/24 via 172.18.0.3 dev eth0",
                   "$ ip r 10.244.2.0/24 via 172.18.0.3 dev eth0 proto static"]:
        assert t.check(answer).passed, answer


def test_route_back_on_node_b() -> None:
    t = pn.task_route_on_node_b()
    assert "10.244.1.4 is not inside 10.244.2.0/24" in t.check("10.244.2.0/24 dev cni0").messages[0]
    passed = t.check("10.244.1.0/24 via 172.18.0.2 dev eth0")
    assert passed.passed and passed.proof.delivered  # the proof is the reply's walk


SCENARIO_HEAD = "apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: {name}\nspec:\n  overrides:\n"


def _override(body: str, name: str = "fix") -> str:
    return SCENARIO_HEAD.format(name=name) + body


def test_ip_forward_fix_messages() -> None:
    t = pn.task_ip_forward()
    wrong_node = t.check(_override("  - target: node/node-a\n    ipForward: true\n"))
    assert not wrong_node.passed
    assert wrong_node.messages[0] == ("pod/default/client → default/web:80 is still dropped: node/node-b does not "
                                      "forward packets (net.ipv4.ip_forward = 0)")
    assert wrong_node.proof is not None and wrong_node.proof.verdict == "dropped"
    same_name = t.check(_override("  - target: node/node-b\n    ipForward: true\n", name="ip-forward-off"))
    assert 'named "ip-forward-off", like the scenario\'s own, so it replaces it' in same_name.messages[0]
    unknown = t.check(_override("  - target: node/node-c\n    ipForward: true\n"))
    # The message names the learner's own document and the field, API-server style.
    assert unknown.messages[0].startswith('Scenario "fix": spec.overrides[0].target: Not found: "node/node-c"')


def test_moving_a_pod_is_not_a_repair() -> None:
    moved = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  nodeName: node-a\n  containers:\n"
             "  - name: nginx\n    image: nginx:1.27\n")
    result = pn.task_ip_forward().check(moved)
    assert not result.passed
    assert any(m.startswith("default/web moved from node-b") for m in result.messages)


def test_bad_yaml_gives_the_package_message_not_a_traceback() -> None:
    result = pn.task_missing_route().check("apiVersion: v1\nkind: [Scenario\n")
    assert not result.passed
    assert result.messages[0].startswith("<your YAML>:") and "YAML does not parse" in result.messages[0]
    half_route = _override("  - target: node/node-a\n    addRoutes: ['10.244.2.0/24 via']\n")
    invalid = pn.task_missing_route().check(half_route)
    assert invalid.messages[0].startswith('Scenario "fix": spec.overrides[0].addRoutes[0]: '
                                          'cannot read route "10.244.2.0/24 via"')
    garbage = _override("  - target: node/node-a\n    addRoutes: ['10.244.2.0/24 vai 172.18.0.3 dev eth0']\n")
    assert pn.task_missing_route().check(garbage).messages[0].endswith(
        'either "to" is duplicate, or "vai" is a garbage.')
    assert pn.task_missing_route().check("# just a comment\n").messages[0].startswith("your YAML holds no document")


def test_missing_route_wrong_fixes() -> None:
    t = pn.task_missing_route()
    loop = t.check(_override("  - target: node/node-a\n    addRoutes: ['10.244.2.0/24 via 172.18.0.2 dev eth0']\n"))
    assert any("looped" in m for m in loop.messages)
    other_node = t.check(_override("  - target: node/node-b\n"
                                   "    addRoutes: ['10.244.2.0/24 via 172.18.0.3 dev eth0']\n"))
    assert any("is still no-route: 10.244.2.2 is not routable outside the cluster" in m for m in other_node.messages)


def test_broken_scenarios_differ_from_the_classic_one_only_where_they_say() -> None:
    base = k8snetviz.load("two-node-bridge")
    broken = k8snetviz.load("broken-route")
    for name, ns in base.netns.items():
        missing = {str(r) for r in ns.routes} - {str(r) for r in broken.netns[name].routes}
        assert missing == ({"10.244.2.0/24 via 172.18.0.3 dev eth0"} if name == "node/node-a" else set())
    off = k8snetviz.load("ip-forward-off")
    assert {n for n, ns in base.netns.items() if ns.ip_forward != off.netns[n].ip_forward} == {"node/node-b"}


def test_vxlan_peer_messages() -> None:
    t = pn.task_vxlan_peer()
    inner = t.check("10.244.2.2:80").messages
    assert "10.244.2.2 is an inner (pod network) address" in inner[0] and "80 is the inner packet's port" in inner[1]
    assert "4789 is VXLAN's IANA port, but flannel uses" in t.check("172.18.0.4:4789").messages[0]
    assert t.check("172.18.0.4").messages == ["write it as IP:PORT, e.g. 192.0.2.1:1234"]


def test_task_framework_turns_package_errors_into_messages() -> None:
    def checker(answer: str) -> CheckResult:
        k8snetviz.load("two-node-bridge").pod("default/nope")
        return CheckResult.ok("unreachable")

    t = Task("t", "p", checker, Solution("x"))
    assert t.check("x").messages == ['pods "nope" not found in namespace "default"']


# --- parse_route and run ------------------------------------------------------------------------------

def test_parse_route() -> None:
    r = parse_route("# ip route replace default via 172.18.0.1")
    assert str(r) == "default via 172.18.0.1" and r.dev is None
    assert str(parse_route("10.244.1.2 dev veth1 scope host")) == "10.244.1.2 dev veth1"
    with pytest.raises(UsageError, match='duplicate "dev"'):
        parse_route("10.0.0.0/8 dev a dev b")
    with pytest.raises(UsageError, match='inet address is expected rather than "x"'):
        parse_route("10.0.0.0/8 via x")


def test_run_ip_commands(bridge: k8snetviz.Cluster, flannel: k8snetviz.Cluster) -> None:
    # `ip route get` prints the chosen next hop and the source address the kernel would pick.
    assert run(bridge, "ip route get 172.18.0.3", on="node-a").output == \
        "172.18.0.3 dev eth0 src 172.18.0.2 uid 0\n    cache"
    assert run(bridge, "ip route", on="node-b").output == str(bridge.netns_of("node-b").routes)
    pod = run(bridge, "ip route", on="default/client")
    assert str(pod).startswith("$ kubectl exec -n default client -- ip route\ndefault via 10.244.1.1 dev eth0")
    # `ip link` shows VXLAN parameters only with -d.
    assert "vxlan id 1" not in run(flannel, "ip link show flannel.1", on="kind-worker").output
    detail = run(flannel, "ip -d link show flannel.1", on="kind-worker").output
    assert detail.startswith("3: flannel.1:") and "dstport 8472" in detail and "mtu 1450" in detail
    fdb = run(flannel, "bridge fdb show dev flannel.1", on="kind-worker").output.splitlines()
    assert sorted(line.split(" dst ")[1] for line in fdb) == ["172.18.0.2 self permanent", "172.18.0.4 self permanent"]
    assert run(k8snetviz.load("ip-forward-off"), "sysctl net.ipv4.ip_forward", on="node-b").output == \
        "net.ipv4.ip_forward = 0"


def test_run_errors(bridge: k8snetviz.Cluster) -> None:
    assert run(bridge, "kubectl get nodes -o wide").output == bridge.get("nodes", wide=True)
    with pytest.raises(UsageError, match="runs on a node or in a pod"):
        run(bridge, "ip route")
    with pytest.raises(UsageError, match='Device "flannel.1" does not exist.'):
        run(bridge, "ip -d link show flannel.1", on="node-a")
    # iptables -L is answered now (issue 15); a command the simulator does not know is refused in one line.
    assert run(bridge, "iptables -L", on="node-a").output.startswith("Chain INPUT (policy ACCEPT)")
    with pytest.raises(UsageError, match="^not available in this simulator: tcpdump -i eth0"):
        run(bridge, "tcpdump -i eth0", on="node-a")


# --- the notebooks ------------------------------------------------------------------------------------

def test_contents_lists_notebooks_in_order(tmp_path: Path) -> None:
    def nb(title: str) -> str:
        cell = {"cell_type": "markdown", "metadata": {}, "source": f"# {title}\n\nWhat it teaches.\n\nMore."}
        return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})

    (tmp_path / "01-b.ipynb").write_text(nb("Second"))
    (tmp_path / "00-a.ipynb").write_text(nb("First"))
    (tmp_path / "scratch.ipynb").write_text(nb("Not a lesson"))
    c = contents(tmp_path)
    assert [(lesson.file, lesson.title, lesson.summary) for lesson in c.lessons] == [
        ("00-a.ipynb", "First", "What it teaches."), ("01-b.ipynb", "Second", "What it teaches.")]
    assert c._repr_mimebundle_()["text/markdown"].splitlines()[0] == "1. [First](00-a.ipynb): What it teaches."


def test_contents_finds_the_notebooks_where_the_kernel_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed package (a hub image, Colab) has no notebooks beside it: a kernel started in the
    notebooks' folder (nbgitpuller's copy, the instructor's copies) lists that folder."""
    from k8snetviz.course.contents import notebooks_dir

    monkeypatch.delenv("K8SNETVIZ_NOTEBOOKS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert notebooks_dir() == ROOT / "notebooks"  # nothing here: the checkout's notebooks
    (tmp_path / "00-a.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                     "nbformat_minor": 5}))
    assert notebooks_dir() == tmp_path
    monkeypatch.setenv("K8SNETVIZ_NOTEBOOKS", str(ROOT / "notebooks"))
    assert notebooks_dir() == ROOT / "notebooks"


def test_notebooks_are_committed_without_outputs() -> None:
    files = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert [f.name for f in files][:3] == ["00-start-here.ipynb", "01-node-networking.ipynb",
                                          "02-pod-networking.ipynb"]
    for f in files:
        for cell in json.loads(f.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, f.name


def test_kubectl_get_by_name_and_describe_svc() -> None:
    c = k8snetviz.load("influxdb")
    got = run(c, "kubectl get svc influxdb").output.splitlines()
    assert got[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert got[1].startswith("influxdb   LoadBalancer   10.96.") and len(got) == 2
    assert "External Traffic Policy:  Cluster" in run(c, "kubectl describe svc influxdb").output
    with pytest.raises(UsageError, match=r'services "nope" not found'):
        run(c, "kubectl get svc nope")
    with pytest.raises(UsageError, match="cannot be retrieved by name across all namespaces"):
        run(c, "kubectl get pods -A influxdb")
