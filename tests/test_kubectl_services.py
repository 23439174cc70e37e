"""The kubectl text for services, endpoints and slices, character for character."""

from __future__ import annotations

from ipaddress import IPv4Address

from k8snetviz.agents.endpointslice import build_endpoint_slices, build_endpoints
from k8snetviz.api.objects import ContainerPort, Pod
from k8snetviz.api.services import build_services
from k8snetviz.views.kubectl_services import (
    ENDPOINTS_DEPRECATION_WARNING,
    describe_service,
    get_endpoints,
    get_endpointslices,
    get_services,
)
from k8snetviz.views.table import tabwrite


def manifests():
    def svc(name, spec, ns="default", **meta):
        return {"metadata": {"name": name, "namespace": ns, **meta}, "spec": spec}
    influx = svc("influxdb", {"type": "LoadBalancer", "clusterIP": "10.96.193.138", "selector": {"run": "influxdb"},
                              "ports": [{"port": 8086, "nodePort": 31909}]})
    return [
        influx,
        svc("web", {"type": "NodePort", "clusterIP": "10.96.100.20", "selector": {"app": "web"},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
                              {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 30443}]},
            labels={"app": "web"}),
        svc("db", {"type": "ExternalName", "externalName": "db.example.com"}),
        svc("nginx", {"clusterIP": "None", "selector": {"app": "nginx"}, "ports": [{"port": 80}]}),
        svc("kube-dns", {"clusterIP": "10.96.0.10", "selector": {"k8s-app": "kube-dns"},
                         "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                   {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}, ns="kube-system"),
    ]


def pods():
    web = [Pod("default", f"web-{i}", "kind-worker", IPv4Address(f"10.244.1.{i + 2}"), {"app": "web"},
               [ContainerPort(8080, name="http")], ready=i != 3) for i in range(5)]
    return web + [Pod("default", "influxdb", "kind-worker2", IPv4Address("10.244.2.2"), {"run": "influxdb"},
                      [ContainerPort(8086)])]


SERVICES = build_services(manifests(), load_balancer_pool=["172.18.255.200"])
SLICES = build_endpoint_slices(SERVICES, pods())
ENDPOINTS = build_endpoints(SERVICES, pods())


def test_tabwriter_pads_to_the_widest_cell_plus_padding_and_a_minimum():
    # cli-runtime printers: tabwriter.NewWriter(out, 6, 4, 3, ' ', 0); a column of short cells still
    # takes 6 characters.
    assert tabwrite("A\tB\tC\nxy\tz\tlast\n") == "A     B     C\nxy    z     last\n"
    # A column is aligned only over consecutive lines that have a cell in it (describe's Port line).
    text = "Port:\t<unset>\t8086/TCP\nTargetPort:\t8086/TCP\n"
    assert tabwrite(text, minwidth=0, padding=2) == "Port:        <unset>  8086/TCP\nTargetPort:  8086/TCP\n"


def test_get_svc():
    assert get_services(SERVICES) == "\n".join([
        "NAME       TYPE           CLUSTER-IP      EXTERNAL-IP      PORT(S)                      AGE",
        "db         ExternalName   <none>          db.example.com   <none>                       5m",
        "influxdb   LoadBalancer   10.96.193.138   172.18.255.200   8086:31909/TCP               5m",
        "nginx      ClusterIP      None            <none>           80/TCP                       5m",
        "web        NodePort       10.96.100.20    <none>           80:30080/TCP,443:30443/TCP   5m",
    ])


def test_get_svc_all_namespaces_wide():
    out = get_services(SERVICES, all_namespaces=True, wide=True, age="12d").splitlines()
    assert out[0] == ("NAMESPACE     NAME       TYPE           CLUSTER-IP      EXTERNAL-IP      PORT(S)"
                      "                      AGE   SELECTOR")
    assert out[-1] == ("kube-system   kube-dns   ClusterIP      10.96.0.10      <none>           "
                       "53/UDP,53/TCP                12d   k8s-app=kube-dns")
    assert out[2].endswith("8086:31909/TCP               12d   run=influxdb")


def test_pending_and_long_load_balancer_addresses():
    pending, named = build_services([
        {"metadata": {"name": "a"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.96.5.1",
                                             "ports": [{"port": 80, "nodePort": 30001}]}},
        {"metadata": {"name": "b"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.96.5.2",
                                             "ports": [{"port": 80, "nodePort": 30002}]},
         "status": {"loadBalancer": {"ingress": [{"hostname": "b.elb.example.com"}, {"ip": "203.0.113.9"}]}}},
    ])
    out = get_services([pending, named]).splitlines()
    # The printer sorts the addresses and cuts them to 16 characters unless -o wide.
    assert out[1].split()[3] == "<pending>"
    assert out[2].split()[3] == "203.0.113.9,b..."
    assert get_services([named], wide=True).splitlines()[1].split()[3] == "203.0.113.9,b.elb.example.com"


def test_get_endpoints_truncates_after_three_and_warns():
    warnings: list[str] = []
    assert get_endpoints(ENDPOINTS, warnings=warnings) == "\n".join([
        "NAME       ENDPOINTS                                                     AGE",
        "influxdb   10.244.2.2:8086                                               5m",
        "nginx      <none>                                                        5m",
        "web        10.244.1.2:8080,10.244.1.3:8080,10.244.1.4:8080 + 5 more...   5m",
    ])
    assert warnings == [ENDPOINTS_DEPRECATION_WARNING]


def test_get_endpointslices():
    lines = get_endpointslices(SLICES).splitlines()
    assert lines[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    rows = [line.split(None, 3) for line in lines[1:]]
    by_service = {r[0].rsplit("-", 1)[0]: r[2:] for r in rows}
    assert by_service["influxdb"] == ["8086", "10.244.2.2                                     5m"]
    # a slice's column lists every address, ready or not, and <unset> when empty
    assert by_service["web"] == ["8080,8443", "10.244.1.2,10.244.1.3,10.244.1.4 + 2 more...   5m"]
    assert by_service["nginx"] == ["<unset>", "<unset>                                        5m"]


def test_describe_load_balancer():
    influx = next(s for s in SERVICES if s.name == "influxdb")
    assert describe_service(influx, SLICES) == "\n".join([
        "Name:                     influxdb",
        "Namespace:                default",
        "Labels:                   <none>",
        "Annotations:              <none>",
        "Selector:                 run=influxdb",
        "Type:                     LoadBalancer",
        "IP Family Policy:         SingleStack",
        "IP Families:              IPv4",
        "IP:                       10.96.193.138",
        "IPs:                      10.96.193.138",
        "LoadBalancer Ingress:     172.18.255.200 (VIP)",
        "Port:                     <unset>  8086/TCP",
        "TargetPort:               8086/TCP",
        "NodePort:                 <unset>  31909/TCP",
        "Endpoints:                10.244.2.2:8086",
        "Session Affinity:         None",
        "External Traffic Policy:  Cluster",
        "Internal Traffic Policy:  Cluster",
        "Events:                   <none>",
    ])


def test_describe_counts_only_ready_endpoints_per_port():
    web = next(s for s in SERVICES if s.name == "web")
    lines = describe_service(web, SLICES).splitlines()
    assert lines[2:4] == ["Labels:                   app=web", "Annotations:              <none>"]
    endpoints = [line for line in lines if line.startswith("Endpoints:")]
    # web-3 is not ready: four ready endpoints per port.
    assert endpoints == ["Endpoints:                10.244.1.2:8080,10.244.1.3:8080,10.244.1.4:8080 + 1 more...",
                         "Endpoints:                10.244.1.2:8443,10.244.1.3:8443,10.244.1.4:8443 + 1 more..."]


def test_describe_external_name_has_no_ip():
    db = next(s for s in SERVICES if s.name == "db")
    assert describe_service(db, SLICES) == "\n".join([
        "Name:              db",
        "Namespace:         default",
        "Labels:            <none>",
        "Annotations:       <none>",
        "Selector:          <none>",
        "Type:              ExternalName",
        "IP Families:       <none>",
        "IP:                ",
        "IPs:               <none>",
        "External Name:     db.example.com",
        "Session Affinity:  None",
        "Events:            <none>",
    ])


def test_empty_lists():
    assert get_services(SERVICES, namespace="prod") == "No resources found in prod namespace."
    assert get_endpointslices([], all_namespaces=True) == "No resources found"
