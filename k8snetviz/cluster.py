"""The Cluster: Kubernetes objects plus the network state derived from them, and the questions to ask it.

>>> import k8snetviz
>>> c = k8snetviz.load("two-node-bridge")
>>> [n.name for n in c.nodes.values()]
['node-a', 'node-b']
>>> c.trace("default/client", "default/web:80").verdict
'delivered'
"""

from __future__ import annotations

import gc
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from k8snetviz import views as _views  # noqa: F401  (registers how results show themselves)
from k8snetviz.agents import kubeadm
from k8snetviz.agents.cni import CNIPlugin, plugin
from k8snetviz.agents.cni.detect import detect_cni
from k8snetviz.agents.kubelet.network import hostport_writes, node_writes, pod_writes
from k8snetviz.agents.kubelet.pods import build_pods
from k8snetviz.agents.outside import client_writes, load_balancer_writes
from k8snetviz.agents.overrides import override_writes
from k8snetviz.api.config import ClusterConfig, read_config
from k8snetviz.api.decode import decode_scenario
from k8snetviz.api.endpointslices import EndpointSlice
from k8snetviz.api.inference import infer_config
from k8snetviz.api.kinds import KNOWN_KINDS, QUIET_KINDS, is_custom_resource
from k8snetviz.api.namespaces import build_namespaces
from k8snetviz.api.nodes import build_nodes
from k8snetviz.api.notes import Notes, is_observed
from k8snetviz.api.objects import ExternalClient, Namespace, Node, Pod
from k8snetviz.api.refs import Ref
from k8snetviz.api.services import Service
from k8snetviz.errors import K8sNetVizError, NotFound, ScenarioError, UsageError, require_text
from k8snetviz.kernel.boot import Kernel
from k8snetviz.kernel.netns import NetNS
from k8snetviz.scenario.loader import Manifest, Scenario

if TYPE_CHECKING:
    from k8snetviz.questions.results import TraceResult

__all__ = ["Cluster", "FREEZE_AFTER"]

FREEZE_AFTER = 1_000_000  # objects made by a build (and its parse) past which they are frozen (gc.freeze)

# What each kind of argument looks like, for the one line a wrong type gets (docs/contract.md has the forms).
_SRC = "pod/NS/NAME, NS/NAME, node/NAME, external or external/IP"
_DST = "pod/NS/NAME:PORT, svc/NS/NAME:PORT, IP:PORT, node/NAME:PORT, NAME:PORT or http://HOST/PATH"
_POD = "pod/NS/NAME or NS/NAME"
_TARGET = "node/NAME or pod/NS/NAME"


def _states_cni(scenario: Scenario) -> bool:
    """Whether the scenario's own Scenario document names the CNI (then nothing is inferred)."""
    from k8snetviz.api import defaults as d

    return any(m.api_version == d.API_VERSION and isinstance(m.body.get("spec"), dict) and "cni" in m.body["spec"]
               for m in scenario.of_kind("Scenario"))


class Cluster:
    """A scenario, built: nodes, pods, namespaces, every network namespace with its devices and routes."""

    def __init__(self, scenario: Scenario) -> None:
        # A build makes many long-lived objects; the cyclic collector would rescan them again and again.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build(scenario)
        finally:
            if collecting:
                gc.enable()
        if gc.get_count()[0] > FREEZE_AFTER:
            # Millions of objects are waiting for their first collection, which would scan them all at the
            # next allocation (13 s at 5,000 nodes). They live as long as the cluster: move them out of
            # the collector's sight. Only after big builds: what is frozen is never collected as a cycle.
            gc.freeze()

    def _build(self, scenario: Scenario) -> None:
        # The objects, as the API server holds them once the controllers have run ...
        self.warnings: list[str] = []
        self.notes = Notes()
        scenario = decode_scenario(scenario, self.notes)
        self.scenario = scenario
        self.config: ClusterConfig = read_config(scenario)
        cfg = self.config
        infer_config(scenario, cfg, self.notes)
        self.cni_detection = None if _states_cni(scenario) else detect_cni(scenario)
        if self.cni_detection is not None:
            det = self.cni_detection
            cfg.cni = det.model
            self.notes.infer("CNI", det.found if det.found == det.model else f"{det.found} (modelled as {det.model})",
                             det.evidence)
            if det.differs:
                self.notes.approximate(f"CNI {det.found} is modelled as {det.model}: {det.differs}")
        self.cni: CNIPlugin = plugin(cfg.cni, cfg.pod_subnet, obj=("Scenario", cfg.cni_from))
        self.cni.read(scenario)
        for what in self.cni.approximations:
            self.notes.approximate(what)
        if not cfg.gateway_known:
            self.notes.approximate("the nodes' default route is shown without its gateway (the dump does not record "
                                   "it): a node's own connections to a ClusterIP need a route before kube-proxy's "
                                   "DNAT, and Calico's proxy-ARP next hop too; what leaves the node network is not "
                                   "followed")
        self.nodes: dict[str, Node] = build_nodes(scenario, cfg, self.notes)
        if any(n.startswith("nodes") or n == "nodes" for n in (i.what for i in self.notes.inferred)):
            self.warnings.append(f"{scenario.source}: the scenario has no Node: {len(self.nodes)} nodes inferred from "
                                 "its pods (see `k8snetviz inspect`)")
        self.system = kubeadm.system_manifests(cfg, self.nodes, scenario, self.notes) if cfg.system_pods else []
        addons = kubeadm.kind_manifests(cfg, self.nodes, scenario, self.cni.system_objects(), self.notes) \
            if cfg.system_pods else []
        self.pods: dict[str, Pod] = build_pods(scenario, self.nodes, [m for m in self.system if m.kind != "Service"
                                                                      and m.kind != "EndpointSlice"], self.notes,
                                               self.cni.ipam(self.nodes), addons)
        # kind's add-ons come after the scenario's objects: a session that owns them keeps that order
        self.addons: list[Manifest] = addons
        self.namespaces: dict[str, Namespace] = build_namespaces(scenario, self.pods)
        self.externals: dict[str, ExternalClient] = {n: ExternalClient(n, a) for n, a in cfg.external_clients.items()}
        self._build_services()
        self._unknown_kinds(scenario)
        self.has_network_policies = bool(scenario.of_kind("NetworkPolicy"))
        # ... then the kernel state the agents write for them.
        self.netns: dict[str, NetNS] = self._boot()
        self._index_addresses()
        # The NetworkPolicy enforcer's indexes, once per build (not at the first question that needs them).
        self._policy_engine: Any = None
        self._policy_error: K8sNetVizError | None = None
        if self.has_network_policies:
            self._build_policy_engine()

    def _build_policy_engine(self) -> None:
        from k8snetviz.questions.policy import build_engine

        try:
            self._policy_engine = build_engine(self)
        except K8sNetVizError as e:  # an invalid policy: the questions that need policies say so
            self._policy_error = e

    @property
    def policy_engine(self) -> Any:
        """The NetworkPolicy engine over this cluster's pods (:class:`~k8snetviz.agents.networkpolicy.PolicyEngine`),
        built with the cluster; a policy the API server would refuse raises its error here."""
        if self._policy_engine is None and self._policy_error is None:
            self._build_policy_engine()
        if self._policy_error is not None:
            raise self._policy_error.with_traceback(None)
        return self._policy_engine

    def _unknown_kinds(self, scenario: Scenario) -> None:
        """Kinds the model does not read: custom resources of a dump (or of a CRD in the scenario) are ignored
        quietly and listed by ``inspect``; other unknown kinds get one warning per kind (the first, and a count)."""
        unknown: dict[tuple[str, str], list[Manifest]] = {}
        custom: dict[str, list[str]] = {}
        defined = set()
        for crd in scenario.of_kind("CustomResourceDefinition"):
            spec = crd.body.get("spec")
            names = spec.get("names") if isinstance(spec, dict) else None
            if isinstance(names, dict) and isinstance(names.get("kind"), str):
                defined.add(names["kind"])
        for m in scenario.manifests:
            if m.kind in KNOWN_KINDS or m.kind in QUIET_KINDS:
                continue
            # A custom resource read back from a cluster, or defined by a CRD of the scenario, is expected there.
            if is_custom_resource(m.api_version) and (m.kind in defined or is_observed(m.body)):
                custom.setdefault(f"{m.kind} ({m.api_version})", []).append(m.name)
            else:
                unknown.setdefault((m.kind, m.api_version), []).append(m)
        for (kind, version), ms in unknown.items():
            more = f" (and {len(ms) - 1} more objects of that kind)" if len(ms) > 1 else ""
            self.warnings.append(f'{ms[0].where}: unknown kind "{kind}" (apiVersion "{version}"): ignored{more}')
            self.notes.ignore(f"objects of unknown kind {kind}", [m.name for m in ms], f"apiVersion {version}")
        for what, names in custom.items():
            self.notes.ignore(f"custom resources {what}", names, "no networking meaning in the model")

    def _boot(self) -> dict[str, NetNS]:
        from k8snetviz.agents.kubeproxy import node_rules, node_setup

        cfg = self.config
        kernel = Kernel()
        with_pods = {p.node_name for p in self.pods.values() if p.has_sandbox}
        nodes = list(self.nodes.values())
        for node in nodes:
            kernel.apply(node_writes(node, cfg.node_network, cfg.gateway if cfg.gateway_known else None, self.cni,
                                     nodes, node.name in with_pods),
                         f"node/{node.name}")
        for pod in self.pods.values():
            if pod.has_sandbox:
                kernel.apply(pod_writes(self.cni, self.nodes[pod.node_name], pod))
        for ext in self.externals.values():
            kernel.apply(client_writes(ext, cfg.node_network, cfg.gateway))
        for addr, svc in self.load_balancers.items():
            kernel.apply(load_balancer_writes(svc.key, addr, cfg.node_network))
        for o in cfg.overrides:
            self._override(kernel, o)
        self.kube_proxy_nodes = proxied = self._kube_proxy_nodes()
        for name, setup in node_setup(cfg, nodes, proxied).items():
            kernel.apply(setup, f"node/{name}")
        for name, payloads in node_rules(cfg, self.cni, nodes, self.services.values(), self.endpointslices,
                                         self.warnings, proxied).items():
            kernel.apply(payloads, f"node/{name}")
        for pod in self.pods.values():  # the chained portmap plugin: pods start once kube-proxy runs
            if any(p.host_port for p in pod.ports):  # (it does nothing for a pod without hostPorts)
                kernel.apply(hostport_writes(self.cni, self.nodes[pod.node_name], pod))
        return kernel.done()

    def _kube_proxy_nodes(self) -> set[str] | None:
        """The nodes where a kube-proxy pod runs and is ready (see :func:`kubeadm.kube_proxy_nodes`)."""
        return kubeadm.kube_proxy_nodes(self.config, self.pods, self.scenario, [*self.system, *self.addons])

    def _override(self, kernel: Kernel, o: Any) -> None:
        """A scenario's change to one namespace, with its errors worded for the Scenario document."""
        from k8snetviz.agents.writes import RouteAdd, RouteDel

        if o.target not in kernel.netns:
            known = ", ".join(n for n in kernel.netns if not n.startswith(("external/", "loadbalancer/")))
            raise ScenarioError(f'{o.where}.target: Not found: "{o.target}" (use node/NAME or pod/NS/NAME: {known})')
        writes = override_writes(o)
        deleted = added = 0
        for w in writes:
            try:
                kernel.apply([w])
            except (KeyError, ValueError) as e:
                if isinstance(w, RouteDel):
                    raise ScenarioError(f"{o.where}.deleteRoutes[{deleted}]: {o.target} has no route to {w.dst}") \
                        from None
                raise ScenarioError(f'{o.where}.addRoutes[{added}]: cannot read route "{o.add_routes[added]}": '
                                    f"{e}") from None
            except K8sNetVizError as e:
                raise ScenarioError(f'{o.where}.addRoutes[{added}]: cannot read route "{o.add_routes[added]}": '
                                    f"{e}") from None
            deleted += isinstance(w, RouteDel)
            added += isinstance(w, RouteAdd)

    def _build_services(self) -> None:
        from k8snetviz.agents.endpointslice import build_endpoint_slices, build_endpoints
        from k8snetviz.api.services import build_services

        cfg = self.config
        system = [m.body for m in self.system]
        pool = [str(a) for a in cfg.load_balancer_pool.hosts()] or [str(cfg.load_balancer_pool.network_address)]
        services = build_services(
            [b for b in system if b["kind"] == "Service"] + [m.body for m in self.scenario.of_kind("Service")],
            service_cidr=cfg.service_subnet, node_port_range=cfg.node_port_range, load_balancer_pool=pool,
            warnings=self.warnings)
        self.services: dict[str, Service] = {s.key: s for s in services}
        pods = list(self.pods.values())
        slice_docs = [b for b in system if b["kind"] == "EndpointSlice"] + \
            [m.body for m in self.scenario.of_kind("EndpointSlice")]
        endpoint_docs = [m.body for m in self.scenario.of_kind("Endpoints")]
        self.endpointslices: list[EndpointSlice] = build_endpoint_slices(
            services, pods, slice_docs, endpoint_docs, node_names=list(self.nodes), warnings=self.warnings)
        self.endpoints = build_endpoints(services, pods, endpoint_docs)
        self.load_balancers: dict[IPv4Address, Service] = {}
        for svc in services:
            for ing in svc.load_balancer_ingress:
                if ing.ip:
                    self.load_balancers[IPv4Address(ing.ip)] = svc

    def service(self, ref: str) -> Service:
        """A Service by ``svc/NS/NAME``, ``NS/NAME`` or ``NAME`` (in ``default``)."""
        r = Ref.parse(ref, "svc")
        if r.key not in self.services:
            raise NotFound("services", r.name, r.namespace)
        return self.services[r.key]

    def documents(self, kind: str) -> list[dict[str, Any]]:
        """Every object of ``kind`` as written: kubeadm's (CoreDNS, kube-dns, kubernetes) first, then the scenario's,
        then kind's add-ons (the static pods, kube-proxy, the CNI, local-path-provisioner)."""
        return [m.body for m in self.system if m.kind == kind] + [m.body for m in self.scenario.of_kind(kind)] + \
            [m.body for m in self.addons if m.kind == kind]

    def service_destinations(self) -> list[tuple[str, int]]:
        return [(s.key, p.port) for s in self.services.values() for p in s.ports]

    # --- building helpers -------------------------------------------------------------------------
    def _index_addresses(self) -> None:
        """Who holds each address, indexed once per build (by the address as an integer: an IPv4Address
        hashes in Python, an int in C, and a 150,000-pod cluster has as many addresses)."""
        self._lan: dict[int, str] = {}
        for ns in self.netns.values():
            if ns.kind in ("node", "external", "loadbalancer") and "eth0" in ns.interfaces:
                for a in ns.interfaces["eth0"].addrs:
                    self._lan[int(a.ip)] = ns.name
        # A finished pod's address may be held again by a running pod (the kubelet tore its sandbox down):
        # the running pod owns it, whichever the dump lists first.
        held = sorted((p for p in self.pods.values() if p.ip is not None and not p.host_network),
                      key=lambda p: p.has_sandbox)
        self._pod_ips: dict[int, Pod] = {int(p.ip): p for p in held if p.ip is not None}
        # owner_of's answers, by precedence: cluster and load-balancer IPs over pods over nodes and clients
        self._hosts: dict[int, str] = {int(e.ip): f"external/{e.name}" for e in self.externals.values()}
        self._hosts.update({int(n.internal_ip): f"node/{n.name}" for n in self.nodes.values()})
        self._virtual: dict[int, str] = {}
        for svc in self.services.values():
            for ip in svc.cluster_ips:
                if ip and ip != "None":
                    self._virtual[int(IPv4Address(ip))] = f"svc/{svc.key}"
        for address, svc in self.load_balancers.items():
            self._virtual[int(address)] = f"loadbalancer/{svc.key}"

    def lan_host(self, addr: IPv4Address) -> str | None:
        """The namespace whose ``eth0`` holds ``addr`` on the node network (who answers ARP for it)."""
        return self._lan.get(int(addr))

    def beyond_gateway(self, addr: IPv4Address) -> str | None:
        """The outside client at ``addr`` that sits beyond the gateway (not on the node network), if any."""
        if addr in self.config.node_network:
            return None
        for ext in self.externals.values():
            if ext.ip == addr:
                return f"external/{ext.name}"
        return None

    def external_at(self, addr: IPv4Address) -> ExternalClient:
        """The outside client at ``addr``, created on the node network or beyond the gateway if new."""
        for ext in self.externals.values():
            if ext.ip == addr:
                return ext
        if addr in self.config.pod_subnet or addr in self.config.service_subnet or int(addr) in self._lan:
            raise UsageError(f"source external/{addr}: that address belongs to the cluster")
        ext = ExternalClient(str(addr), addr)
        self.externals[ext.name] = ext
        kernel = Kernel()
        kernel.apply(client_writes(ext, self.config.node_network, self.config.gateway))
        self.netns.update(kernel.done())
        if addr in self.config.node_network:
            self._lan[int(addr)] = f"external/{ext.name}"
        return ext

    # --- lookups ------------------------------------------------------------------------------
    def node(self, ref: str) -> Node:
        """A node by name (``kind-worker`` or ``node/kind-worker``)."""
        r = Ref.parse(ref, "node")
        if r.name not in self.nodes:
            raise NotFound("nodes", r.name)
        return self.nodes[r.name]

    def pod(self, ref: str) -> Pod:
        """A pod by ``pod/NS/NAME``, ``NS/NAME`` or ``NAME`` (in ``default``)."""
        r = Ref.parse(ref, "pod")
        if r.kind != "pod":
            raise UsageError(f'"{ref}" is not a pod: use pod/NAMESPACE/NAME or NAMESPACE/NAME')
        if r.key not in self.pods:
            raise NotFound("pods", r.name, r.namespace)
        return self.pods[r.key]

    def netns_of(self, target: str) -> NetNS:
        """The network namespace of ``node/NAME``, ``pod/NS/NAME`` (or ``NS/NAME``) or ``external/NAME``."""
        if target in self.nodes:
            target = f"node/{target}"
        r = Ref.parse(target, "pod")
        if r.kind == "node":
            return self.netns[f"node/{self.node(r.name).name}"]
        if r.kind == "external":
            if r.netns in self.netns:
                return self.netns[r.netns]
            raise NotFound("external clients", r.name)
        pod = self.pod(target)
        return self.netns[f"node/{pod.node_name}" if pod.host_network else f"pod/{pod.key}"]

    def pod_in(self, netns: str, addr: IPv4Address) -> Pod | None:
        """The pod whose own namespace is ``netns`` (a hostNetwork pod shares its node's: the node receives)."""
        r = Ref.parse(netns, "pod")
        return self.pods.get(r.key) if r.kind == "pod" else None

    @property
    def pods_by_node(self) -> dict[str, list[Pod]]:
        """Each node's pods, by key (indexed once: a diagram of a 5,000-node cluster draws a few nodes)."""
        if not hasattr(self, "_pods_by_node"):
            index: dict[str, list[Pod]] = {n: [] for n in self.nodes}
            for p in sorted(self.pods.values(), key=lambda p: p.key):
                index.setdefault(p.node_name, []).append(p)
            self._pods_by_node = index
        return self._pods_by_node

    def pod_at(self, addr: IPv4Address) -> Pod | None:
        """The pod (not hostNetwork) whose address is ``addr``."""
        return self._pod_ips.get(int(addr))

    def describe_netns(self, name: str) -> str:
        return name

    def owner_of(self, addr: IPv4Address) -> str | None:
        """Who holds an address: ``pod/NS/NAME``, ``node/NAME``, ``external/NAME``, ``svc/NS/NAME``
        (a cluster IP) or ``loadbalancer/NS/NAME`` (an EXTERNAL-IP)."""
        n = int(addr)
        if n in self._virtual:
            return self._virtual[n]
        pod = self._pod_ips.get(n)
        if pod is not None:
            return f"pod/{pod.key}"
        if n in self._hosts:
            return self._hosts[n]
        for e in self.externals.values():  # clients added after the index was built
            if e.ip == addr:
                return f"external/{e.name}"
        return None

    def kube_proxy_absence(self) -> str:
        """Why kube-proxy runs on none (or not all) of the nodes, in words."""
        if self.config.kube_proxy_mode == "none":
            return "kubeProxyMode: none: kind installs no kube-proxy"
        ds = next((m for m in [*self.system, *self.scenario.manifests, *self.addons] if m.kind == "DaemonSet"
                   and (m.namespace or "default") == "kube-system" and m.name == "kube-proxy"), None)
        if ds is None:
            return "no kube-proxy pod on that node"
        spec = ((ds.body.get("spec") or {}).get("template") or {}).get("spec") or {}
        selector = spec.get("nodeSelector") or {}
        if selector and not any(all(n.labels.get(k) == str(v) for k, v in selector.items())
                                for n in self.nodes.values()):
            labels = ",".join(f"{k}={v}" for k, v in selector.items())
            return f"DaemonSet kube-system/kube-proxy has nodeSelector {labels}, which no node matches"
        return "DaemonSet kube-system/kube-proxy runs no pod on that node"

    @property
    def policy_enforcer(self) -> str:
        """The program that enforces NetworkPolicy on this cluster's nodes (the CNI's agent)."""
        return self.cni.policy_agent or self.cni.daemon or f"kubelet/{self.cni.binary}"

    @property
    def policy_enforced(self) -> bool:
        """Whether the CNI enforces NetworkPolicy (the API server stores policies whatever the CNI)."""
        return self.cni.enforces_network_policy

    # --- questions -------------------------------------------------------------------------------
    def trace(self, src: str, dst: str, *, endpoint: str | None = None, protocol: str = "TCP",
              method: str | None = None, headers: dict[str, str] | None = None) -> TraceResult:
        """Walk one packet from ``src`` to ``dst``; see docs/contract.md for the forms they take.

        To an ``http(s)://`` URL, ``method`` and ``headers`` are the request's (GET and none by default).
        """
        from k8snetviz.questions.trace import trace

        require_text("Cluster.trace", "src", src, _SRC)
        require_text("Cluster.trace", "dst", dst, _DST)
        if endpoint is not None:
            require_text("Cluster.trace", "endpoint", endpoint, _POD)
        require_text("Cluster.trace", "protocol", protocol, "TCP, UDP, SCTP or ICMP")
        if method is not None:
            require_text("Cluster.trace", "method", method, "an HTTP method such as GET or POST")
        if headers is not None and not isinstance(headers, dict):
            from k8snetviz.errors import InvalidArgument

            raise InvalidArgument.invalid("Cluster.trace", "headers", headers,
                                          "must be a dict of header names to values")
        return trace(self, src, dst, endpoint=endpoint, protocol=protocol, method=method, headers=headers)

    def ingress(self, host: str, path: str, **options: Any) -> Any:
        """Which backend the Ingress rules send ``http://HOST/PATH`` to (see :mod:`k8snetviz.questions.ingress`)."""
        from k8snetviz.questions.ingress import ingress

        require_text("Cluster.ingress", "host", host, "shop.example.com")
        require_text("Cluster.ingress", "path", path, "/api/orders")
        return ingress(self, host, path, **options)

    def http_route(self, host: str, path: str, **options: Any) -> Any:
        """Which backend the Gateway API's HTTPRoutes send a request to (see :mod:`k8snetviz.questions.gateway`)."""
        from k8snetviz.questions.gateway import http_route

        require_text("Cluster.http_route", "host", host, "shop.example.com")
        require_text("Cluster.http_route", "path", path, "/api/orders")
        return http_route(self, host, path, **options)

    def policy(self, port: int = 80, protocol: str = "TCP") -> Any:
        """The NetworkPolicy reachability matrix, pods × pods (see :mod:`k8snetviz.questions.policy`)."""
        from k8snetviz.questions.policy import matrix

        return matrix(self, port=port, protocol=protocol)

    def resolve(self, pod: str, name: str, qtype: str = "A") -> Any:
        """Resolve ``name`` as ``pod``'s resolver would (see :mod:`k8snetviz.questions.resolve`)."""
        from k8snetviz.questions.resolve import resolve

        require_text("Cluster.resolve", "pod", pod, _POD)
        require_text("Cluster.resolve", "name", name, "web, web.default or example.com.")
        require_text("Cluster.resolve", "qtype", qtype, "A, AAAA, SRV, PTR or CNAME")
        return resolve(self, pod, name, qtype=qtype)

    def iptables(self, node: str) -> Any:
        """A node's iptables rules (kube-proxy's and the CNI add-on's), printed like ``iptables-save``."""
        require_text("Cluster.iptables", "node", node, "node/NAME or NAME")
        ruleset = self.netns[f"node/{self.node(node).name}"].ruleset
        assert ruleset is not None
        return ruleset.save()

    def nft(self, node: str) -> str:
        """A node's nftables tables (kube-proxy's in nftables mode), printed like ``nft list ruleset``."""
        from k8snetviz.views.nft import nft_list_ruleset

        return nft_list_ruleset(self.netns[f"node/{self.node(node).name}"].nftables)

    def routes(self, target: str) -> Any:
        """The routing table of a node or pod, as ``ip route`` prints it."""
        from k8snetviz.views.iproute import RoutesView

        require_text("Cluster.routes", "target", target, _TARGET)
        return RoutesView(self, self.netns_of(target))

    def inspect(self) -> Any:
        """What the build found in the scenario, what it inferred and from what, what the model approximates and
        what it left out (see :mod:`k8snetviz.questions.inspect`)."""
        from k8snetviz.questions.inspect import inspect

        return inspect(self)

    def graph(self) -> Any:
        """The topology as a :class:`networkx.MultiGraph` of namespaces, devices and links
        (see :mod:`k8snetviz.questions.topology`)."""
        from k8snetviz.questions.topology import topology

        return topology(self)

    def get(self, resource: str, namespace: str | None = None, all_namespaces: bool = False,
            wide: bool = False) -> str:
        """``kubectl get RESOURCE`` as text."""
        from k8snetviz.views.kubectl import get

        require_text("Cluster.get", "resource", resource, "pods, services, endpointslices or nodes")
        if namespace is not None:
            require_text("Cluster.get", "namespace", namespace, "default or kube-system")
        return get(self, resource, namespace=namespace, all_namespaces=all_namespaces, wide=wide)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from k8snetviz.views.notebook import cluster_bundle

        return cluster_bundle(self)

    def __repr__(self) -> str:
        return (f"<Cluster {self.config.name!r}: {len(self.nodes)} nodes, {len(self.pods)} pods, "
                f"CNI {self.config.cni}>")
