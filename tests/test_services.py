"""Services: defaulting, cluster IP and node port allocation, validation messages, kube-proxy's view."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from k8snetviz.agents.endpointslice import build_endpoint_slices
from k8snetviz.agents.kubeproxy import kubeproxy_inputs
from k8snetviz.agents.kubeproxy.iptables import Proxier
from k8snetviz.api.objects import ContainerPort, Pod
from k8snetviz.api.services import (
    ClusterIPAllocator,
    NodePortAllocator,
    build_services,
)
from k8snetviz.errors import InvalidObject, K8sNetVizError
from k8snetviz.kernel.netfilter import Ruleset


def svc(name: str = "web", **spec) -> dict:
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def one(**spec):
    return build_services([svc(**spec)])[0]


def error(*manifests, **kw) -> str:
    with pytest.raises(K8sNetVizError) as e:
        build_services(list(manifests), **kw)
    return str(e.value)


# --- defaulting (SetDefaults_Service and the allocator's initIPFamilyFields) ----------------------


def test_defaults_of_a_plain_service():
    s = one(selector={"app": "web"})
    assert (s.type, s.session_affinity, s.internal_traffic_policy) == ("ClusterIP", "None", "Cluster")
    # externalTrafficPolicy is defaulted only for externally accessible services.
    assert s.external_traffic_policy is None
    p = s.ports[0]
    assert (p.protocol, p.target_port, p.node_port) == ("TCP", 80, None)
    assert (s.ip_families, s.ip_family_policy) == (["IPv4"], "SingleStack")


def test_defaults_of_external_services():
    np = one(type="NodePort")
    assert np.external_traffic_policy == "Cluster" and np.allocate_load_balancer_node_ports is None
    lb = one(type="LoadBalancer")
    assert lb.external_traffic_policy == "Cluster" and lb.allocate_load_balancer_node_ports is True


def test_client_ip_affinity_defaults_to_three_hours():
    # v1.DefaultClientIPServiceAffinitySeconds = 10800
    assert one(sessionAffinity="ClientIP").session_affinity_timeout == 10800
    s = one(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    assert s.session_affinity_timeout == 60


def test_headless_without_selector_defaults_to_dual_stack_families():
    # alloc.go initIPFamilyFields: headless + selectorless defaults to RequireDualStack, both families.
    s = one(clusterIP="None", ports=[])
    assert (s.cluster_ip, s.ip_family_policy, s.ip_families) == ("None", "RequireDualStack", ["IPv4", "IPv6"])
    t = one(clusterIP="None", selector={"app": "db"})
    assert (t.ip_family_policy, t.ip_families) == ("SingleStack", ["IPv4"])
    assert t.headless and t.ip is None


# --- cluster IPs ------------------------------------------------------------------------------------


def test_allocator_bands_for_a_slash_16():
    # ipallocator calculateRangeOffset: min(max(16, 65536/16), 256) = 256 static addresses.
    a = ClusterIPAllocator("10.96.0.0/16")
    assert a.static_band == (IPv4Address("10.96.0.1"), IPv4Address("10.96.1.0"))
    assert a.dynamic_band == (IPv4Address("10.96.1.1"), IPv4Address("10.96.255.254"))
    # A /28 is too small to split.
    assert ClusterIPAllocator("10.96.0.0/28").offset == 0


def test_requested_cluster_ip_is_honoured():
    assert one(clusterIP="10.96.0.50").cluster_ip == "10.96.0.50"
    assert one(clusterIP="10.96.0.50").cluster_ips == ["10.96.0.50"]


def test_allocated_ips_are_deterministic_and_in_the_dynamic_band():
    names = [f"svc{i}" for i in range(40)]
    first = build_services([svc(n) for n in names])
    again = build_services([svc(n) for n in names])
    assert [s.cluster_ip for s in first] == [s.cluster_ip for s in again]
    assert len({s.cluster_ip for s in first}) == 40
    assert all(IPv4Address(s.cluster_ip) >= IPv4Address("10.96.1.1") for s in first)


def test_a_requested_ip_wins_over_an_earlier_automatic_choice():
    wanted = one().cluster_ip  # where "web" lands when alone
    a, b = build_services([svc("web"), svc("other", clusterIP=wanted)])
    assert b.cluster_ip == wanted and a.cluster_ip != wanted


def test_cluster_ip_outside_the_service_cidr():
    # The ServiceCIDR meta-allocator (default since 1.33) has no range for the address.
    assert error(svc(clusterIP="10.97.0.5")) == (
        'The Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.97.0.5"}: failed to '
        "allocate IP 10.97.0.5: the provided network does not match the current range")


def test_network_address_is_not_in_the_valid_range():
    assert error(svc(clusterIP="10.96.0.0")) == (
        'The Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.0"}: failed to '
        "allocate IP 10.96.0.0: the provided IP (10.96.0.0) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/16")


def test_cluster_ip_already_taken():
    assert error(svc("a", clusterIP="10.96.0.50"), svc("b", clusterIP="10.96.0.50")) == (
        'The Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.50"}: failed to '
        "allocate IP 10.96.0.50: provided IP is already allocated")


def test_malformed_cluster_ip():
    assert error(svc(clusterIP="10.96.0.300")) == (
        'The Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid '
        "IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")


def test_other_service_cidr():
    s = build_services([svc()], service_cidr="10.100.0.0/24")[0]
    assert IPv4Address(s.cluster_ip) in ClusterIPAllocator("10.100.0.0/24").cidr
    # /24: offset min(max(16, 256/16), 256) = 16, so the dynamic band starts at .17.
    assert IPv4Address(s.cluster_ip) >= IPv4Address("10.100.0.17")


# --- node ports ---------------------------------------------------------------------------------------


def test_node_port_bands():
    # portallocator calculateRangeOffset: min(max(16, 2768/32), 128) = 86 static ports.
    assert NodePortAllocator().static_band == (30000, 30085)


def test_node_port_requested_and_allocated():
    s = one(type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080},
                                    {"name": "https", "port": 443}])
    assert s.ports[0].node_port == 30080
    assert 30086 <= s.ports[1].node_port <= 32767
    assert one(type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080},
                                       {"name": "https", "port": 443}]).ports[1] == s.ports[1]


def test_node_port_out_of_range():
    assert error(svc(type="NodePort", ports=[{"port": 80, "nodePort": 20000}])) == (
        'The Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 20000: provided port is not '
        "in the valid range. The range of valid ports is 30000-32767")


def test_same_node_port_on_two_port_numbers_is_already_allocated():
    # The allocator runs before validation (store.go: BeginCreate, then BeforeCreate), so the second
    # request for 30080 fails in the allocator.
    bad = svc(type="NodePort", ports=[{"name": "a", "port": 80, "nodePort": 30080},
                                      {"name": "b", "port": 443, "nodePort": 30080}])
    assert error(bad) == ('The Service "web" is invalid: spec.ports[1].nodePort: Invalid value: 30080: '
                          "provided port is already allocated")


def test_node_port_taken_by_another_service():
    a = svc("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    b = svc("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert error(a, b).startswith('The Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                                  "provided port is already allocated")


def test_repeated_port_and_node_port_are_duplicates_in_validation():
    bad = svc(type="NodePort", ports=[{"name": "a", "port": 80, "nodePort": 30080},
                                      {"name": "b", "port": 80, "nodePort": 30080}])
    msg = error(bad)
    # several field errors stay on one line: "N errors: a; b"
    assert msg.startswith('The Service "web" is invalid: 2 errors: spec.ports[1].nodePort: Duplicate value: 30080; '
                          'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP"')
    assert "\n" not in msg


def test_tcp_and_udp_on_one_port_share_a_node_port():
    # alloc.go initNodePorts reuses the node port of an equal port number.
    s = one(type="NodePort", ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"}])
    assert s.ports[0].node_port == s.ports[1].node_port
    t = one(type="NodePort", ports=[{"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
                                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "nodePort": 30053}])
    assert [p.node_port for p in t.ports] == [30053, 30053]


def test_node_port_forbidden_on_cluster_ip():
    assert error(svc(ports=[{"port": 80, "nodePort": 30080}])) == (
        'The Service "web" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is '
        "'ClusterIP'")


def test_load_balancer_node_ports_and_health_check():
    local = one(type="LoadBalancer", externalTrafficPolicy="Local")
    assert local.ports[0].node_port and local.health_check_node_port
    assert local.health_check_node_port != local.ports[0].node_port
    assert one(type="LoadBalancer").health_check_node_port is None
    none = one(type="LoadBalancer", allocateLoadBalancerNodePorts=False)
    assert none.ports[0].node_port is None
    assert error(svc(type="NodePort", allocateLoadBalancerNodePorts=False)) == (
        'The Service "web" is invalid: spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when '
        "`type` is 'LoadBalancer'")


# --- load balancer addresses -------------------------------------------------------------------------


def test_load_balancer_address_from_status_then_pool_then_pending():
    warnings: list[str] = []
    given = svc("given", type="LoadBalancer")
    given["status"] = {"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}
    out = build_services([svc("a", type="LoadBalancer"), given, svc("b", type="LoadBalancer")],
                         load_balancer_pool=["172.18.255.200", "172.18.255.201"], warnings=warnings)
    assert [s.load_balancer_ips for s in out] == [["172.18.255.201"], ["172.18.255.200"], []]
    assert out[1].load_balancer_ingress[0].ip_mode == "VIP"  # defaulted by the API server
    assert warnings == ["Service default/b: no load-balancer address is left in the pool; EXTERNAL-IP stays "
                        "<pending>"]


# --- validation --------------------------------------------------------------------------------------


def test_external_name():
    s = one(type="ExternalName", externalName="db.example.com.", ports=[])
    assert (s.cluster_ip, s.cluster_ips, s.internal_traffic_policy) == (None, [], None)
    assert error(svc(type="ExternalName", externalName="my_db.example.com")) == (
        'The Service "web" is invalid: spec.externalName: Invalid value: "my_db.example.com": a lowercase '
        "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
        "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    assert error(svc(type="ExternalName")) == 'The Service "web" is invalid: spec.externalName: Required value'


def test_port_names():
    assert error(svc(ports=[{"name": "http", "port": 80}, {"name": "http", "port": 443}])) == (
        'The Service "web" is invalid: spec.ports[1].name: Duplicate value: "http"')
    msg = error(svc(ports=[{"port": 80}, {"port": 443}]))
    assert msg == ('The Service "web" is invalid: 2 errors: spec.ports[0].name: Required value; '
                   "spec.ports[1].name: Required value")


def test_protocol_port_and_target_port():
    assert error(svc(ports=[{"port": 80, "protocol": "HTTP"}])) == (
        'The Service "web" is invalid: spec.ports[0].protocol: Unsupported value: "HTTP": supported values: '
        '"SCTP", "TCP", "UDP"')
    assert error(svc(ports=[{"port": 70000, "targetPort": 80}])) == (
        'The Service "web" is invalid: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, '
        "inclusive")
    # A quoted number is a port *name* (IntOrString), and a name needs a letter.
    assert error(svc(ports=[{"port": 80, "targetPort": "8080"}])) == (
        'The Service "web" is invalid: spec.ports[0].targetPort: Invalid value: "8080": must contain at least '
        "one letter (a-z)")


def test_ports_required_unless_headless():
    assert error(svc(ports=[])) == 'The Service "web" is invalid: spec.ports: Required value'


def test_wrong_type_in_yaml_is_a_decoding_error():
    assert error(svc(ports=[{"port": "80"}])) == (
        'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct '
        "field ServicePort.spec.ports.port of type int32")


def test_external_traffic_policy_needs_an_external_service():
    assert error(svc(externalTrafficPolicy="Local")) == (
        'The Service "web" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for '
        "externally-accessible services")
    assert error(svc(type="NodePort", externalTrafficPolicy="local")) == (
        'The Service "web" is invalid: spec.externalTrafficPolicy: Unsupported value: "local": supported '
        'values: "Cluster", "Local"')


def test_service_name_is_a_dns_1035_label():
    assert error(svc("Web")).startswith('The Service "Web" is invalid: metadata.name: Invalid value: "Web": '
                                        "a DNS-1035 label must consist of lower case alphanumeric characters")


def test_api_server_warnings():
    warnings: list[str] = []
    build_services([svc("h", clusterIP="None", sessionAffinity="ClientIP"), svc("e", externalIPs=["1.2.3.4"])],
                   warnings=warnings)
    assert warnings == ["spec.SessionAffinity is ignored for headless services",
                        "spec.externalIPs is deprecated and may no longer be implemented in some clusters"]


# --- what kube-proxy reads ------------------------------------------------------------------------


def test_kubeproxy_inputs_follow_the_slices():
    services = build_services([
        svc("web", type="NodePort", selector={"app": "web"},
            ports=[{"name": "http", "port": 80, "targetPort": "http"}]),
        svc("db", clusterIP="None", selector={"app": "db"}),
        svc("ext", type="ExternalName", externalName="example.com", ports=[]),
    ])
    pods = [Pod("default", "web-1", "kind-worker", IPv4Address("10.244.1.2"), {"app": "web"},
                [ContainerPort(8080, name="http")], ready=True),
            Pod("default", "web-2", "kind-worker2", IPv4Address("10.244.2.2"), {"app": "web"},
                [ContainerPort(8080, name="http")], ready=False)]
    slices = build_endpoint_slices(services, pods)
    inputs = kubeproxy_inputs(services, slices)
    assert len(inputs) == 1  # headless and ExternalName are not proxied
    port, endpoints = inputs[0]
    assert (port.service_port_name, port.cluster_ip, port.node_port) == (
        "default/web:http", services[0].cluster_ip, services[0].ports[0].node_port)
    assert [(e.ip, e.port, e.node_name, e.ready) for e in endpoints] == [
        ("10.244.1.2", 8080, "kind-worker", True), ("10.244.2.2", 8080, "kind-worker2", False)]
    rules = Ruleset.restored(Proxier("kind-worker", "172.18.0.3").sync(inputs))
    # Only the ready endpoint gets a KUBE-SEP chain that DNATs to it.
    dnat = [str(r) for r in rules.rules("nat") if "DNAT" in str(r)]
    assert len(dnat) == 1 and dnat[0].endswith("-j DNAT --to-destination 10.244.1.2:8080")


def test_kubeproxy_inputs_leave_out_proxy_mode_load_balancer_ips():
    m = svc(type="LoadBalancer")
    m["status"] = {"loadBalancer": {"ingress": [{"ip": "172.18.255.200", "ipMode": "Proxy"},
                                                {"ip": "172.18.255.201"}]}}
    (port, _), = kubeproxy_inputs(build_services([m]), [])
    assert port.load_balancer_ips == ("172.18.255.201",)


def test_invalid_object_carries_kind_and_name():
    with pytest.raises(InvalidObject) as e:
        build_services([svc("web", ports=[{"port": 0}])])
    assert (e.value.kind, e.value.name) == ("Service", "web")
    assert [x.field for x in e.value.errors] == ["spec.ports[0].port", "spec.ports[0].targetPort"]
