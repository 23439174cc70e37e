"""Which CNI a dump's cluster runs, read from what runs in it, and the model that stands for it.

The models' own ``detect`` names come first (a DaemonSet or its pods: ``kindnet``, ``kube-flannel``, and any
model added later, such as ``calico-node``). A plugin the project does not model is mapped to the nearest
model, with one note naming what differs (sources: each project's docs, summarised in the CNI comparison the
course uses). Where no CNI pod runs, the distribution says: k3s embeds flannel, minikube's default is the
bridge plugin, GKE's route-based clusters use kubenet (a bridge and host-local), a pod network in docker's
172.17.0.0/16 is dockershim's docker0 bridge.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from k8snetviz.agents.cni import plugins
from k8snetviz.scenario.loader import Scenario

__all__ = ["Detection", "detect_cni", "APPROXIMATED", "NODE_ANNOTATIONS"]


@dataclass(frozen=True)
class Detection:
    """The plugin found (``found``), the model used for it (``model``), the evidence, and what differs."""

    found: str
    model: str
    evidence: str
    differs: str | None = None


# Plugins without a model of their own: the DaemonSet (or pod) names that show them, the nearest model, and
# what the model does not show.
APPROXIMATED: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("cilium", ("cilium", "anetd"), "flannel",
     "Cilium forwards with eBPF programs (no iptables rules or host routes per pod), tunnels with VXLAN or "
     "Geneve, may replace kube-proxy and enforces NetworkPolicy; the model shows a VXLAN overlay with a bridge"),
    ("weave", ("weave-net",), "flannel",
     "Weave Net joins nodes in a mesh (fast datapath VXLAN or sleeve UDP), hands out addresses from one range "
     "across nodes and enforces NetworkPolicy with weave-npc; the model shows flannel's VXLAN overlay"),
    ("kube-router", ("kube-router",), "bridge",
     "kube-router learns the routes to other nodes' podCIDRs with BGP (IPIP across subnets), names its bridge "
     "kube-bridge and enforces NetworkPolicy; the model shows the same routes, static, on a cni0 bridge"),
    ("aws-vpc-cni", ("aws-node",), "kindnet",
     "the Amazon VPC CNI gives pods VPC addresses from the node's ENIs and the VPC routes them between nodes; "
     "the model routes each node's pod addresses via its node IP and gives each pod a /32 host route"),
    ("azure-cni", ("azure-cns", "azure-vnet", "azure-npm"), "kindnet",
     "Azure CNI gives pods VNet addresses routed by the Azure SDN; the model routes them via the node IPs with "
     "a /32 host route per pod"),
    ("canal", ("canal", "rke2-canal"), "flannel",
     "Canal is flannel's VXLAN overlay with Calico's Felix enforcing NetworkPolicy; the model shows flannel"),
    ("ovn-kubernetes", ("ovnkube-node", "ovnkube-master", "ovnkube-control-plane"), "flannel",
     "OVN-Kubernetes switches pods through Open vSwitch (a logical switch per node, Geneve tunnels between nodes, "
     "Services as OVN load balancers, NetworkPolicy as ACLs); the model shows an overlay with a bridge"),
    ("openshift-sdn", ("sdn",), "flannel",
     "OpenShift SDN joins nodes with Open vSwitch VXLAN tunnels and enforces NetworkPolicy in OVS flows; the "
     "model shows flannel's VXLAN overlay"),
    ("antrea", ("antrea-agent",), "flannel",
     "Antrea switches pods through Open vSwitch (Geneve tunnels between nodes) and enforces NetworkPolicy in "
     "OVS flows; the model shows an overlay with a bridge"),
    ("kube-ovn", ("kube-ovn-cni",), "flannel",
     "Kube-OVN switches pods through OVN logical switches (Geneve tunnels); the model shows an overlay with a "
     "bridge"),
)

# Node annotations a plugin writes (for dumps that hold its Nodes but not its pods): ovn-kubernetes' per-node
# subnet allocation, ``k8s.ovn.org/node-subnets`` (ovn-kubernetes docs, "OVN-Kubernetes node annotations").
NODE_ANNOTATIONS: tuple[tuple[str, str], ...] = (
    ("k8s.ovn.org/node-subnets", "ovn-kubernetes"),
    ("projectcalico.org/IPv4Address", "calico"),
    ("flannel.alpha.coreos.com/backend-type", "flannel"),
)


def _workload_names(scenario: Scenario) -> list[tuple[str, str]]:
    """(name, where) of the DaemonSets and pods of the dump, in every namespace."""
    out = []
    for m in scenario.of_kind("DaemonSet", "Pod"):
        out.append((m.name, f"{m.kind} {m.namespace or 'default'}/{m.name}"))
    return out


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + "-")


def detect_cni(scenario: Scenario) -> Detection | None:
    """The CNI of a dump, or None when nothing in it says (a hand-written scenario)."""
    names = _workload_names(scenario)
    for model, cls in plugins().items():
        for prefix in cls.detect:
            hit = next((w for n, w in names if _matches(n, prefix)), None)
            if hit:
                return Detection(model, model, hit)
    for found, prefixes, model, differs in APPROXIMATED:
        for prefix in prefixes:
            hit = next((w for n, w in names if _matches(n, prefix)), None)
            if hit:
                return Detection(found, model if model in plugins() else "kindnet", hit, differs)
    return _from_node_annotations(scenario) or _from_distribution(scenario)


def _from_node_annotations(scenario: Scenario) -> Detection | None:
    for m in scenario.of_kind("Node"):
        annotations = m.metadata.get("annotations")
        if not isinstance(annotations, dict):
            continue
        for key, found in NODE_ANNOTATIONS:
            if key not in annotations:
                continue
            if found in plugins():
                return Detection(found, found, f"Node {m.name}: annotation {key}")
            for name, _, model, differs in APPROXIMATED:
                if name == found:
                    return Detection(found, model if model in plugins() else "kindnet",
                                     f"Node {m.name}: annotation {key}", differs)
    return None


def _from_distribution(scenario: Scenario) -> Detection | None:
    for m in scenario.of_kind("Node"):
        labels = m.metadata.get("labels")
        labels = labels if isinstance(labels, dict) else {}
        info = (m.body.get("status") or {}).get("nodeInfo") if isinstance(m.body.get("status"), dict) else None
        kubelet = str(info.get("kubeletVersion", "")) if isinstance(info, dict) else ""
        where = f"Node {m.name}"
        if "+k3s" in kubelet or labels.get("node.kubernetes.io/instance-type") == "k3s":
            return Detection("flannel", "flannel", f"{where}: k3s ({kubelet or 'instance-type k3s'}) embeds flannel")
        if any(k.startswith("minikube.k8s.io/") for k in labels):
            return Detection("bridge", "bridge", f"{where}: minikube's default CNI is the bridge plugin")
        if any(k.startswith("cloud.google.com/gke") for k in labels):
            return Detection("kubenet", "bridge", f"{where}: a GKE node without a CNI DaemonSet (kubenet)",
                             "GKE's kubenet names its bridge cbr0 and the VPC routes the nodes' podCIDRs; the model "
                             "shows the same bridge as cni0 and the routes on the nodes")
    docker0 = IPv4Network("172.17.0.0/16")
    ips = []
    for m in scenario.of_kind("Pod"):
        status = m.body.get("status")
        spec = m.body.get("spec")
        if isinstance(status, dict) and isinstance(spec, dict) and not spec.get("hostNetwork"):
            ips.append(str(status.get("podIP") or ""))
    own = [ip for ip in ips if ip]
    if own and all(ip.startswith("172.17.") for ip in own):
        return Detection("docker0", "bridge", f"{len(own)} pod addresses in docker's {docker0}: dockershim's "
                         "docker0 bridge, no CNI", "docker's bridge is docker0 and holds 172.17.0.1/16; the model "
                         "names it cni0 and gives it the node's range")
    for m in scenario.of_kind("Pod"):
        labels = m.metadata.get("labels")
        if isinstance(labels, dict) and any(str(k).startswith("minikube.k8s.io") for k in labels):
            return Detection("bridge", "bridge", f"Pod {m.namespace}/{m.name}: minikube's default CNI is the bridge "
                             "plugin")
    return None
