"""The CKA curriculum's networking items, and the notebook sections that teach each one.

The items are quoted from the current curriculum (cncf/curriculum, CKA v1.35): all of *Services &
Networking*, and the networking items of *Troubleshooting* and of *Cluster Architecture, Installation &
Configuration*. Notebook 00 shows :func:`curriculum_map` as its course map; ``tests/test_curriculum.py``
checks that every section named here exists, that every topic notebook is on the map, and that each
notebook's learning goals quote the items that name it.

>>> [i.text for i in ITEMS if i.domain == "Services & Networking"][:2]
['Understand connectivity between Pods', 'Define and enforce Network Policies']
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Item", "ITEMS", "DOMAINS", "curriculum_map", "items_for"]

CLUSTER_ARCHITECTURE = "Cluster Architecture, Installation & Configuration"
# Domain and its weight in the exam.
DOMAINS = {
    "Services & Networking": 20,
    "Troubleshooting": 30,
    "Cluster Architecture, Installation & Configuration": 25,
}


@dataclass(frozen=True)
class Item:
    """One curriculum item and where the course teaches it: (notebook file stem, section heading) pairs."""

    domain: str
    text: str
    where: tuple[tuple[str, str], ...]


ITEMS: tuple[Item, ...] = (
    Item("Services & Networking", "Understand connectivity between Pods", (
        ("01-node-networking", "4. The routing table"),
        ("02-pod-networking", "3. Across nodes: the classic figure"),
        ("02-pod-networking", "5. For contrast: flannel with VXLAN"),
        ("03-cni", "4. ADD, step by step"),
    )),
    Item("Services & Networking", "Define and enforce Network Policies", (
        ("09-network-policy", "Who enforces a NetworkPolicy?"),
        ("09-network-policy", "1. Isolation, per direction"),
        ("09-network-policy", "7. Default deny, and the DNS pitfall"),
    )),
    Item("Services & Networking", "Use ClusterIP, NodePort, LoadBalancer service types and endpoints", (
        ("04-services", "2. Endpoints: between the Service and the pods"),
        ("04-services", "4. kube-proxy's chains"),
        ("05-exposing-services", "1. NodePort: a port on every node"),
        ("05-exposing-services", "2. LoadBalancer: an address outside the cluster's ranges"),
    )),
    Item("Services & Networking", "Use the Gateway API to manage Ingress traffic", (
        ("07-gateway-api", "3. Writing a Gateway: listeners and allowedRoutes"),
        ("07-gateway-api", "6. Crossing namespaces: ReferenceGrant"),
        ("07-gateway-api", "8. From Ingress to HTTPRoute"),
    )),
    Item("Services & Networking", "Know how to use Ingress controllers and Ingress resources", (
        ("06-ingress", "2. How a URL is matched"),
        ("06-ingress", "6. TLS: HTTPS at the controller"),
        ("06-ingress", "9. Practice: `kubectl create ingress`"),
    )),
    Item("Services & Networking", "Understand and use CoreDNS", (
        ("08-cluster-dns", "1. CoreDNS behind the kube-dns Service"),
        ("08-cluster-dns", "2. A pod's resolv.conf"),
        ("08-cluster-dns", "7. Stub domains: forwarding a domain to another server"),
    )),
    Item("Troubleshooting", "Troubleshoot clusters and nodes", (
        ("01-node-networking", "6. IP forwarding"),
        ("02-pod-networking", "Task 2: add the missing route"),
        ("10-troubleshooting", "5. The incident board"),
    )),
    Item("Troubleshooting", "Troubleshoot services and networking", (
        ("04-services", "6. A Service without endpoints"),
        ("08-cluster-dns", "8. Troubleshooting with a debug pod"),
        ("09-network-policy", "7. Default deny, and the DNS pitfall"),
        ("10-troubleshooting", "1. The method"),
    )),
    Item(CLUSTER_ARCHITECTURE, "Understand extension interfaces (CNI, CSI, CRI, etc.)", (
        ("03-cni", "1. What a CNI plugin is"),
        ("03-cni", "6. Choosing a CNI plugin"),
    )),
    Item(CLUSTER_ARCHITECTURE, "Create and manage Kubernetes clusters using kubeadm", (
        ("01-node-networking", "2. Three address ranges: nodes, pods, Services"),
    )),
)


def items_for(notebook: str) -> list[Item]:
    """The items whose teaching includes ``notebook`` (a file stem such as ``04-services``)."""
    return [i for i in ITEMS if any(nb == notebook for nb, _ in i.where)]


def curriculum_map() -> str:
    """The map as a Markdown table: domain, item, and the notebook sections, each notebook a link."""
    rows = ["| Domain | Curriculum item | Where the course teaches it |", "|---|---|---|"]
    for item in ITEMS:
        where = "; ".join(f"[{nb[:2]}]({nb}.ipynb) *{section}*" for nb, section in item.where)
        rows.append(f"| {item.domain} ({DOMAINS[item.domain]}%) | {item.text} | {where} |")
    return "\n".join(rows)
