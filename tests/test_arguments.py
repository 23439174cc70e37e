"""Arguments of the Python API and the widgets: a bad one is refused in one line naming it and what would do.

Nothing is changed quietly: a port of 0 is not raised to 1, an unknown Service is not swapped for the first
one, an ``--endpoint`` that names no pod is not ignored. Every widget takes a Cluster or a scenario's name.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import k8snetviz
from k8snetviz.errors import InvalidArgument, K8sNetVizError, UsageError
from k8snetviz.widgets import NodeInspector, PacketWalk, PolicyEditor, Resolver, ServiceExplorer, URLTester

DENY_ALL = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: x}
spec: {podSelector: {}}
"""


@pytest.fixture(scope="module")
def bridge() -> k8snetviz.Cluster:
    return k8snetviz.load("two-node-bridge")


# --- widgets: the arguments they cannot take ------------------------------------------------------------

BAD_WIDGET_ARGUMENTS: list[tuple[str, Any, dict[str, Any], str]] = [
    # widget, scenario, keyword arguments, the one line expected
    ("NodeInspector", "two-node-bridge", {"target": "node/nosuch"},
     'NodeInspector: target: Unsupported value: "node/nosuch": supported values: "node/node-a", "node/node-b", '),
    ("Resolver", "two-node-bridge", {"pod": "default/nosuch"},
     'Resolver: pod: Unsupported value: "default/nosuch": supported values: "default/cache", "default/client", '),
    ("Resolver", "two-node-bridge", {"qtype": "MX"},
     'Resolver: qtype: Unsupported value: "MX": supported values: "A", "AAAA", "SRV", "PTR", "CNAME"'),
    ("Resolver", "two-node-bridge", {"compare_with": "nosuch/pod"},
     'Resolver: compare_with: Unsupported value: "nosuch/pod": supported values: '),
    ("URLTester", "ingress", {"mode": "Gateway"},
     'URLTester: mode: Unsupported value: "Gateway": supported values: "Ingress", "HTTPRoute"'),
    ("URLTester", "ingress", {"method": "FETCH"},
     'URLTester: method: Unsupported value: "FETCH": supported values: "GET", "POST", '),
    ("PolicyEditor", "netpol", {"protocol": "ICMP"},
     'PolicyEditor: protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"'),
    ("PolicyEditor", "netpol", {"port": 0},
     "PolicyEditor: port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    ("PolicyEditor", "netpol", {"port": 70000},
     "PolicyEditor: port: Invalid value: 70000: must be between 1 and 65535, inclusive"),
    ("PolicyEditor", "netpol", {"port": "80"},
     'PolicyEditor: port: Invalid value: "80": must be between 1 and 65535, inclusive'),
    ("PolicyEditor", "netpol", {"namespaces": ["x", "nope"]},
     'PolicyEditor: namespaces[1]: Unsupported value: "nope": supported values: "default", '),
    ("PolicyEditor", "netpol", {"namespaces": "x"},
     'PolicyEditor: namespaces: Invalid value: "x": must be a list like ["x", "y"]'),
    ("ServiceExplorer", "influxdb", {"type": "ExternalName"},
     'ServiceExplorer: type: Unsupported value: "ExternalName": supported values: "ClusterIP", "NodePort", '
     '"LoadBalancer"'),
    ("ServiceExplorer", "influxdb", {"policy": "Nearest"},
     'ServiceExplorer: policy: Unsupported value: "Nearest": supported values: "Cluster", "Local"'),
    ("ServiceExplorer", "influxdb", {"service": "x/y"},
     'ServiceExplorer: service: Unsupported value: "x/y": supported values: "default/influxdb"'),
    ("ServiceExplorer", "influxdb", {"endpoints_on": "kind-worker9"},
     'ServiceExplorer: endpoints_on: Unsupported value: "kind-worker9": supported values: "as scheduled", '
     '"kind-control-plane", "kind-worker", "kind-worker2"'),
    ("ServiceExplorer", "influxdb", {"client": "default/nosuch"},
     'ServiceExplorer: client: Unsupported value: "default/nosuch": supported values: "default/influxdb", '),
    ("ServiceExplorer", "influxdb", {"type": "ClusterIP", "entry": "node/kind-worker"},
     'ServiceExplorer: entry: Unsupported value: "node/kind-worker": supported values: "cluster IP"'),
    ("PacketWalk", "two-node-bridge", {"src": 5},
     "PacketWalk: src: Invalid value: 5: must be text like pod/NS/NAME, node/NAME or external"),
]

WIDGETS = {"NodeInspector": NodeInspector, "Resolver": Resolver, "URLTester": URLTester, "PolicyEditor": PolicyEditor,
           "ServiceExplorer": ServiceExplorer, "PacketWalk": PacketWalk}


@pytest.mark.parametrize(("widget", "scenario", "kwargs", "message"), BAD_WIDGET_ARGUMENTS,
                         ids=[f"{w}-{'-'.join(k)}" for w, _, k, _ in BAD_WIDGET_ARGUMENTS])
def test_a_bad_widget_argument_is_refused_naming_it_and_the_allowed_values(
        widget: str, scenario: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        WIDGETS[widget](scenario, **kwargs)
    text = str(err.value)
    assert text.startswith(message), text
    assert "\n" not in text
    assert isinstance(err.value, K8sNetVizError)


@pytest.mark.parametrize("widget", sorted(WIDGETS))
def test_every_widget_takes_a_cluster_or_a_scenario_name_alike(widget: str) -> None:
    scenario = {"URLTester": "ingress", "PolicyEditor": "netpol", "ServiceExplorer": "influxdb"}.get(widget, "dns")
    by_name = WIDGETS[widget](scenario)
    by_cluster = WIDGETS[widget](k8snetviz.load(scenario))

    def shown(ui: Any) -> list[str]:  # the explorer rebuilds its cluster per exploration
        return sorted((ui.exploration.cluster if isinstance(ui, ServiceExplorer) else ui.cluster).pods)

    assert shown(by_name) == shown(by_cluster) and shown(by_name)


@pytest.mark.parametrize("widget", sorted(WIDGETS))
def test_a_widget_given_neither_cluster_nor_scenario_says_what_it_takes(widget: str) -> None:
    with pytest.raises(InvalidArgument, match=r": (cluster|scenario): Invalid value: null: must be a Cluster "
                                              r"\(k8snetviz.load\(...\)\) or a scenario: a path, or a shipped "
                                              r"scenario's name \(.*influxdb"):
        WIDGETS[widget](None)


def test_widget_arguments_that_are_good_are_taken_as_written_or_spelled_as_the_controls_list_them() -> None:
    r = Resolver("dns", pod="pod/app/client", qtype="aaaa", compare_with="app/legacy")
    assert (r.pod.value, r.type.value, r.other.value) == ("app/client", "AAAA", "app/legacy")
    ins = NodeInspector("two-node-bridge", target="default/client")
    assert ins.target.value == "pod/default/client"
    ed = PolicyEditor("netpol", port=8080, protocol="udp", namespaces=["x"])
    assert (ed.port.value, ed.protocol.value, ed.namespaces) == (8080, "UDP", ["x"])
    ui = ServiceExplorer("influxdb", service="svc/default/influxdb", type="NodePort", endpoints_on="node/kind-worker",
                         client="node/kind-worker2", entry="node/kind-worker")
    assert (ui.service.value, ui.endpoints_on.value, ui.client.value, ui.entry.value) == \
        ("default/influxdb", "kind-worker", "node/kind-worker2", "node/kind-worker")


# --- the policy editor applies the text its Apply click carries ----------------------------------------

def test_apply_click_carries_the_text_it_applies() -> None:
    # The browser sends the box's text with the click: even when the text never arrived as a state
    # update (ipywidgets may hold one back), the click applies what the learner sees.
    ed = PolicyEditor("netpol", namespaces=["x"])
    assert ed.matrix is not None and ed.matrix.to_dict()["allowed"]["x/b"]["x/a"] is True
    ed.text._handle_custom_msg({"event": "apply", "text": DENY_ALL}, [])
    assert ed.text.value == DENY_ALL
    assert ed.matrix.to_dict()["allowed"]["x/b"]["x/a"] is False
    assert "x/deny-ingress" in ed.status.value


def test_an_edit_applies_only_in_live_mode_and_an_apply_click_applies_once() -> None:
    ed = PolicyEditor("netpol", namespaces=["x"])
    ed.text._handle_custom_msg({"event": "edit", "text": DENY_ALL}, [])
    assert ed.text.value == DENY_ALL and ed.matrix.to_dict()["allowed"]["x/b"]["x/a"] is True  # not applied yet

    live = PolicyEditor("netpol", namespaces=["x"], live=True)
    applied: list[str] = []
    original = live.apply
    live.apply = lambda: applied.append(live.text.value) or original()  # type: ignore[method-assign]
    live.text._handle_custom_msg({"event": "edit", "text": DENY_ALL}, [])
    assert applied == [DENY_ALL] and live.matrix.to_dict()["allowed"]["x/b"]["x/a"] is False
    live.text._handle_custom_msg({"event": "apply", "text": ""}, [])
    assert applied == [DENY_ALL, ""], "a click applies once, also in live mode"
    live.text._handle_custom_msg({"event": "apply"}, [])  # no text: not a message of this front end
    assert applied == [DENY_ALL, ""]


# --- the Python API ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "message"), [
    (lambda c: k8snetviz.load(None), "k8snetviz.load: scenario: Invalid value: null: must be the name of a "
                                     "shipped scenario ("),
    (lambda c: k8snetviz.load(["dns"]), "k8snetviz.load: scenario: Invalid value: list: must be the name of"),
    (lambda c: k8snetviz.load("dns", None), "k8snetviz.load: extra_yaml[0]: Invalid value: null: must be text"),
    (lambda c: k8snetviz.loads(None), "k8snetviz.loads: text: Invalid value: null: must be text"),
    (lambda c: c.trace(None, "default/web:80"), "Cluster.trace: src: Invalid value: null: must be text like "
                                                "pod/NS/NAME, NS/NAME, node/NAME, external or external/IP"),
    (lambda c: c.trace("default/client", None), "Cluster.trace: dst: Invalid value: null: must be text like "
                                                "pod/NS/NAME:PORT, "),
    (lambda c: c.trace("default/client", "default/web:80", endpoint=3), "Cluster.trace: endpoint: Invalid "
                                                                         "value: 3: must be text like pod/NS/NAME"),
    (lambda c: c.trace("default/client", "default/web:80", protocol=None), "Cluster.trace: protocol: Invalid "
                                                                           "value: null"),
    (lambda c: c.routes(None), "Cluster.routes: target: Invalid value: null: must be text like node/NAME or "
                               "pod/NS/NAME"),
    (lambda c: c.iptables(None), "Cluster.iptables: node: Invalid value: null"),
    (lambda c: c.resolve("default/client", None), "Cluster.resolve: name: Invalid value: null"),
    (lambda c: c.resolve("default/client", "web", None), "Cluster.resolve: qtype: Invalid value: null"),
    (lambda c: c.ingress("shop.example.com", None), "Cluster.ingress: path: Invalid value: null"),
    (lambda c: c.http_route(None, "/"), "Cluster.http_route: host: Invalid value: null"),
    (lambda c: c.get(None), "Cluster.get: resource: Invalid value: null"),
], ids=lambda v: "" if callable(v) else v.split(":")[0] + ":" + v.split(":")[1].strip())
def test_api_calls_with_none_say_which_argument_in_one_line(bridge: k8snetviz.Cluster, call: Any,
                                                             message: str) -> None:
    with pytest.raises(K8sNetVizError) as err:
        call(bridge)
    assert isinstance(err.value, InvalidArgument)
    assert str(err.value).startswith(message) and "\n" not in str(err.value), str(err.value)


def test_an_endpoint_that_names_no_pod_is_refused() -> None:
    c = k8snetviz.load("services")
    with pytest.raises(UsageError, match=r'^--endpoint default/nosuch: pods "nosuch" not found in namespace '
                                         r'"default"$'):
        c.trace("default/client", "svc/default/web:80", endpoint="default/nosuch")


def test_an_endpoint_where_kube_proxy_has_no_choice_is_refused_not_ignored(bridge: k8snetviz.Cluster) -> None:
    # A packet to a pod's own address meets no Service: there is no endpoint to pick.
    with pytest.raises(UsageError, match="^--endpoint default/cache: kube-proxy has no endpoint to pick on this "
                                         "path; the packet goes to default/web$"):
        bridge.trace("default/client", "default/web:80", endpoint="default/cache")
    # ... and naming the pod the packet goes to anyway is no contradiction.
    assert bridge.trace("default/client", "default/web:80", endpoint="default/web").delivered


def test_an_endpoint_among_the_candidates_is_the_one_the_walk_takes() -> None:
    c = k8snetviz.load("services")
    first = c.trace("default/client", "svc/default/web:80")
    other = first.candidates[-1]["pod"]
    assert other != first.final["pod"]
    assert c.trace("default/client", "svc/default/web:80", endpoint=other).final["pod"] == other


def test_cli_endpoint_that_names_no_pod_exits_2_with_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "k8snetviz", "trace", "services", "--from", "default/client",
                           "--to", "svc/default/web:80", "--endpoint", "default/nosuch"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if not line.startswith("Warning:")]
    assert lines == ['k8snetviz: --endpoint default/nosuch: pods "nosuch" not found in namespace "default"']
