"""EndpointSlices and Endpoints as kube-controller-manager derives them from Services and pods."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from k8snetviz.agents.endpointslice import (
    build_endpoint_slices,
    build_endpoints,
    controller_endpoints,
    controller_slices,
)
from k8snetviz.api.endpointslices import (
    CONTROLLER_NAME,
    LABEL_HEADLESS,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    MIRRORING_CONTROLLER_NAME,
    EndpointConditions,
    TargetRef,
    parse_endpoint_slice,
)
from k8snetviz.api.objects import ContainerPort, Pod
from k8snetviz.api.services import build_services
from k8snetviz.errors import InvalidObject


def service(name="web", **spec):
    spec.setdefault("ports", [{"port": 80, "targetPort": 8080}])
    return build_services([{"metadata": {"name": name, "labels": {"tier": "front"}}, "spec": spec}])[0]


HTTP_8080 = (ContainerPort(8080, name="http"),)


def pod(name, ip, *, labels=None, node="kind-worker", ports=HTTP_8080, **kw):
    return Pod("default", name, node, IPv4Address(ip) if ip else None, labels or {"app": "web"}, list(ports), **kw)


def test_one_slice_per_service_with_the_controller_labels():
    svc = service(selector={"app": "web"})
    s, = controller_slices(svc, [pod("web-1", "10.244.1.2"), pod("web-2", "10.244.2.2", node="kind-worker2")])
    assert s.name.startswith("web-") and len(s.name) == len("web-") + 5
    assert s.labels == {"tier": "front", LABEL_SERVICE_NAME: "web", LABEL_MANAGED_BY: CONTROLLER_NAME}
    assert s.address_type == "IPv4"
    assert [(p.name, p.port, p.protocol) for p in s.ports] == [("", 8080, "TCP")]
    e1, e2 = s.endpoints
    assert (e1.addresses, e1.node_name, e1.target_ref) == (["10.244.1.2"], "kind-worker",
                                                           TargetRef("Pod", "web-1", "default"))
    assert e2.node_name == "kind-worker2"
    assert e1.conditions == EndpointConditions(ready=True, serving=True, terminating=False)


def test_selector_matches_only_its_namespace_and_labels():
    svc = service(selector={"app": "web"})
    other_ns = Pod("prod", "web-9", "kind-worker", IPv4Address("10.244.1.9"), {"app": "web"})
    s, = controller_slices(svc, [pod("db", "10.244.1.3", labels={"app": "db"}), other_ns])
    assert s.endpoints == []
    # An empty selector (not a missing one) selects every pod of the namespace.
    everything, = controller_slices(service(selector={}), [pod("db", "10.244.1.3", labels={"app": "db"})])
    assert [e.addresses for e in everything.endpoints] == [["10.244.1.3"]]


def test_readiness_and_terminating_conditions():
    # endpointslice utils podToEndpoint: serving = pod Ready, terminating = deletionTimestamp set,
    # ready = serving and not terminating.
    svc = service(selector={"app": "web"})
    pods = [pod("ready", "10.244.1.2"), pod("unready", "10.244.1.3", ready=False),
            pod("leaving", "10.244.1.4", terminating=True),
            pod("leaving-unready", "10.244.1.5", terminating=True, ready=False)]
    s, = controller_slices(svc, pods)
    assert [e.conditions for e in s.endpoints] == [
        EndpointConditions(True, True, False), EndpointConditions(False, False, False),
        EndpointConditions(False, True, True), EndpointConditions(False, False, True)]


def test_publish_not_ready_addresses_makes_every_endpoint_ready():
    svc = service(selector={"app": "web"}, publishNotReadyAddresses=True)
    s, = controller_slices(svc, [pod("unready", "10.244.1.3", ready=False),
                                 pod("leaving", "10.244.1.4", terminating=True)])
    assert [e.conditions for e in s.endpoints] == [EndpointConditions(True, False, False),
                                                   EndpointConditions(True, True, True)]


def test_pods_without_ip_or_finished_are_left_out():
    svc = service(selector={"app": "web"})
    s, = controller_slices(svc, [pod("pending", None), pod("done", "10.244.1.7", phase="Succeeded"),
                                 pod("ok", "10.244.1.8")])
    assert [e.target_ref.name for e in s.endpoints] == ["ok"]


def test_named_target_port_is_resolved_per_pod_and_groups_slices():
    svc = service(selector={"app": "web"}, ports=[{"name": "http", "port": 80, "targetPort": "http"},
                                                   {"name": "metrics", "port": 9090, "targetPort": 9090}])
    warnings: list[str] = []
    pods = [pod("a", "10.244.1.2"), pod("b", "10.244.1.3", ports=[ContainerPort(9376, name="http")]),
            pod("c", "10.244.1.4", ports=[ContainerPort(8080, name="web")]),
            pod("d", "10.244.1.5")]
    slices = controller_slices(svc, pods, warnings=warnings)
    got = {tuple((p.name, p.port) for p in s.ports): [e.target_ref.name for e in s.endpoints] for s in slices}
    assert got == {(("http", 8080), ("metrics", 9090)): ["a", "d"],
                   (("http", 9376), ("metrics", 9090)): ["b"],
                   (("metrics", 9090),): ["c"]}
    assert len({s.name for s in slices}) == 3
    assert warnings == ['Service default/web: pod default/c declares no TCP container port named "http"; '
                        'it is left out of port "http"']


def test_named_target_port_must_match_the_protocol():
    # podutil.FindPort compares the container port's protocol with the Service port's.
    svc = service(selector={"app": "dns"}, ports=[{"name": "dns", "port": 53, "protocol": "UDP",
                                                   "targetPort": "dns"}])
    coredns = pod("coredns", "10.244.0.2", labels={"app": "dns"}, ports=[ContainerPort(53, "TCP", "dns")])
    warnings: list[str] = []
    s, = controller_slices(svc, [coredns], warnings=warnings)
    assert s.ports == [] and len(s.endpoints) == 1
    assert warnings == ['Service default/web: no selected pod declares a UDP container port named "dns"; '
                        'port "dns" has no endpoints']


def test_no_matching_pod_gives_a_placeholder_slice_and_a_warning():
    warnings: list[str] = []
    s, = controller_slices(service(selector={"app": "nope"}), [pod("a", "10.244.1.2")], warnings=warnings)
    assert (s.ports, s.endpoints) == ([], [])
    assert warnings == ["Service default/web: selector app=nope matches no pods; the Service has no endpoints"]


def test_hostname_set_when_subdomain_names_the_service():
    svc = service("nginx", selector={"app": "web"}, clusterIP="None")
    s, = controller_slices(svc, [pod("nginx-0", "10.244.1.2", hostname="nginx-0", subdomain="nginx"),
                                 pod("other", "10.244.1.3", hostname="other", subdomain="elsewhere")])
    assert [e.hostname for e in s.endpoints] == ["nginx-0", None]
    assert s.labels[LABEL_HEADLESS] == ""


def test_pod_on_unknown_node_is_skipped():
    svc = service(selector={"app": "web"})
    s, = controller_slices(svc, [pod("a", "10.244.1.2", node="gone")], node_names=["kind-worker"])
    assert s.endpoints == []


def test_at_most_100_endpoints_per_slice():
    svc = service(selector={"app": "web"})
    pods = [pod(f"p{i}", f"10.244.{i // 200}.{i % 200 + 2}") for i in range(250)]
    slices = controller_slices(svc, pods)
    assert [len(s.endpoints) for s in slices] == [100, 100, 50]


def test_external_name_and_selectorless_services_get_no_controller_slices():
    ext = service(type="ExternalName", externalName="db.example.com", ports=[])
    bare = service("bare")
    assert controller_slices(ext, [pod("a", "10.244.1.2")]) == []
    assert controller_slices(bare, [pod("a", "10.244.1.2")]) == []


def test_hand_written_slices_and_mirrored_endpoints_for_selectorless_services():
    bare = service("bare", ports=[{"name": "pg", "port": 5432}])
    other = service("other", ports=[{"port": 80}])
    manual = {"metadata": {"name": "bare-1", "labels": {LABEL_SERVICE_NAME: "bare"}}, "addressType": "IPv4",
              "endpoints": [{"addresses": ["192.168.1.50"]}], "ports": [{"name": "pg", "port": 5432}]}
    legacy = {"metadata": {"name": "other"}, "subsets": [{"addresses": [{"ip": "192.168.1.60"}],
                                                          "notReadyAddresses": [{"ip": "192.168.1.61"}],
                                                          "ports": [{"port": 80}]}]}
    slices = build_endpoint_slices([bare, other], [], [manual], [legacy])
    by = {s.service_name: s for s in slices}
    assert by["bare"].name == "bare-1" and by["bare"].endpoints[0].is_ready  # unset ready reads as ready
    mirrored = by["other"]
    assert mirrored.labels[LABEL_MANAGED_BY] == MIRRORING_CONTROLLER_NAME
    assert [(e.addresses[0], e.conditions.ready) for e in mirrored.endpoints] == [
        ("192.168.1.60", True), ("192.168.1.61", False)]


def test_hand_written_slice_is_validated():
    bad = {"metadata": {"name": "s"}, "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.1"]},
                                                                           {"addresses": []}]}
    with pytest.raises(InvalidObject) as e:
        parse_endpoint_slice(bad)
    assert [str(x) for x in e.value.errors] == [
        'endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range '
        "(127.0.0.0/8, ::1/128)",
        "endpoints[1].addresses: Required value: must contain at least 1 address"]
    with pytest.raises(InvalidObject, match='addressType: Unsupported value: "IP"'):
        parse_endpoint_slice({"metadata": {"name": "s"}, "addressType": "IP"})


def test_legacy_endpoints_subsets():
    # endpoints controller: terminating pods only with publishNotReadyAddresses; unready ones go to
    # notReadyAddresses; RepackSubsets groups addresses offering the same ports.
    svc = service(selector={"app": "web"}, ports=[{"name": "http", "port": 80, "targetPort": "http"}])
    pods = [pod("a", "10.244.1.10"), pod("b", "10.244.1.2"), pod("c", "10.244.1.3", ready=False),
            pod("d", "10.244.1.4", terminating=True), pod("e", "10.244.1.5", ports=[])]
    ep = controller_endpoints(svc, pods)
    ss, = ep.subsets
    assert [a.ip for a in ss.addresses] == ["10.244.1.10", "10.244.1.2"]  # sorted as text, as Go does
    assert [a.ip for a in ss.not_ready_addresses] == ["10.244.1.3"]
    assert [(p.name, p.port) for p in ss.ports] == [("http", 8080)]
    assert ep.labels == {"tier": "front"}


def test_build_endpoints_skips_external_name_and_keeps_hand_written():
    ext = service("ext", type="ExternalName", externalName="example.com", ports=[])
    bare = service("bare")
    empty = service("empty", selector={"app": "none"})
    legacy = {"metadata": {"name": "bare"}, "subsets": [{"addresses": [{"ip": "192.168.1.60"}],
                                                         "ports": [{"port": 80}]}]}
    eps = build_endpoints([ext, bare, empty], [], [legacy])
    assert [(e.name, len(e.subsets)) for e in eps] == [("bare", 1), ("empty", 0)]
